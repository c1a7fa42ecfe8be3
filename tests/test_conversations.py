"""Multi-turn seeds kept whole: read with every turn (errors name file, line and turn), extended and
varied by the conversation strategy with the fake teacher, published with all their turns, trained
with the loss on every assistant turn and only there, and evaluated on the last turn given the rest."""

from __future__ import annotations

import json

import pytest
from datasets import load_from_disk

from seedfactory.generators.answers import response_requests
from seedfactory.generators.conversation import seed_turns, write_tasks
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.plan import Env, Plan
from seedfactory.schemas import PreferencePair, RejectLog, SeedFileError, load_seeds
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.seeds import bundled_sets
from seedfactory.train.chat import conversation_tokens, tokenized_records
from seedfactory.train.data import dpo_records, sft_records

SYSTEM = {"role": "system", "content": "You are a terse helper."}
THREE = [SYSTEM, {"role": "user", "content": "Hi, my order has not arrived."},
         {"role": "assistant", "content": "Sorry! What is the order number?"},
         {"role": "user", "content": "It is 4471."},
         {"role": "assistant", "content": "Order 4471 left the depot today."},
         {"role": "user", "content": "When will it arrive?"},
         {"role": "assistant", "content": "Tomorrow before noon."}]


def _write(tmp_path, *records, name="chats.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_three_turn_seed_is_read_whole(tmp_path):
    seed, = load_seeds(_write(tmp_path, {"id": "c1", "topic": "delivery", "messages": THREE}))
    assert [(t.role, t.content) for t in seed.history] == [(m["role"], m["content"]) for m in THREE[:-2]]
    assert seed.instruction == "When will it arrive?" and seed.output == "Tomorrow before noon."
    # what the student is asked: every earlier turn, then the last user turn
    assert seed.student_prompt == THREE[:-1]
    assert [t.model_dump(exclude_none=True) for t in seed_turns(seed)] == THREE


def test_tool_turns_and_calls_are_kept(tmp_path):
    call = {"id": "c9", "type": "function", "function": {"name": "track", "arguments": "{\"order\": \"4471\"}"}}
    msgs = [{"role": "user", "content": "Where is 4471?"}, {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c9", "content": "{\"status\": \"in transit\"}"},
            {"role": "assistant", "content": "It is in transit."},
            {"role": "user", "content": "And 4472?"},
            {"role": "assistant", "tool_calls": [{"name": "track", "arguments": {"order": "4472"}}]}]
    seed, = load_seeds(_write(tmp_path, {"id": "t1", "messages": msgs}))
    assert seed.output == {"tool_calls": [{"name": "track", "arguments": {"order": "4472"}}]}
    assert [t.role for t in seed.history] == ["user", "assistant", "tool", "assistant"]
    # the student reads the earlier call as its JSON, the tool's result as a tool turn
    assert seed.student_prompt[1] == {"role": "assistant",
                                      "content": '{"tool_calls": [{"name": "track", "arguments": {"order": "4471"}}]}'}
    assert seed.student_prompt[2] == {"role": "tool", "content": "{\"status\": \"in transit\"}"}


@pytest.mark.parametrize("turns, message", [
    ([{"role": "narrator", "content": "x"}, *THREE[-2:]], r"messages\[0\]\.role: Input should be 'system'"),
    ([{"role": "user", "content": "x", "tool_calls": []}, *THREE[-2:]], r"messages\[0\]: .*only an assistant"),
    ([*THREE[-2:], {"role": "tool", "content": "x"}], r"must end with a user turn followed by an assistant turn"),
])
def test_a_turn_that_cannot_be_read_names_file_line_and_turn(tmp_path, turns, message):
    path = _write(tmp_path, {"id": "ok", "messages": THREE}, {"id": "bad", "messages": turns})
    with pytest.raises(SeedFileError, match=rf"chats.jsonl:2: field '\(record\)': .*{message}"):
        load_seeds(path)


def test_conversation_strategy_extends_and_varies_with_the_fake_teacher(tmp_path):
    seeds = load_seeds(bundled_sets()["support-chat"])
    backend = FakeBackend()
    env = Env(backend.generate, ModelConfig(), GenerateConfig(num_tasks=16), 0, RejectLog("generate"))
    env.personas = ["a night-shift nurse"]
    tasks = write_tasks(seeds, Plan("conversation", 16), env)
    assert len(tasks) == 16 and {t.strategy for t in tasks} == {"conversation:extend", "conversation:vary"}
    by_id = {s.id: s for s in seeds}
    for t in tasks:
        lead = by_id[t.seed_ids[0]]
        # extend: the lead's whole conversation comes before the new turn; vary: its turns before its last
        expected = seed_turns(lead) if t.strategy.endswith("extend") else lead.history
        assert t.history == expected and t.instruction and t.persona == "a night-shift nurse"
    # the teacher saw the conversation and the seeds' own user turns as the style to follow
    asked = backend.calls[0].messages[-1].content
    assert "The chat so far:" in asked and "User messages in this dataset look like these:" in asked
    # the answer request carries the conversation's turns after the few-shot seeds, then the new turn
    req, draft = response_requests(tasks[:1], seeds, ModelConfig(), GenerateConfig(responses_per_prompt=1), None, 0)[0]
    tail = [(m.role, m.content) for m in req.messages[-len(draft.history) - 1:]]
    assert tail == [(h.role, h.text()) for h in draft.history] + [("user", draft.instruction)]


def test_three_turn_seeds_reach_the_published_dataset_with_all_turns(published_run):
    run = published_run("seeds.path=support-chat", "judge.min_consensus=0", "generate.num_tasks=16")
    seeds = {s.id: s for s in load_seeds(bundled_sets()["support-chat"])}
    rows = load_from_disk(str(run / "dataset"))["sft"]
    extended = [r for r in rows if r["strategy"] == "conversation:extend"
                and len(seeds[r["seed_ids"][0]].history) == 5]  # a seed with three user turns
    assert extended, "no row extends a three-turn seed"
    for r in extended:
        whole = [t.model_dump(exclude_none=True) for t in seed_turns(seeds[r["seed_ids"][0]])]
        assert sum(m["role"] == "user" for m in whole) == 3
        assert r["messages"][:len(whole)] == [{"role": m["role"], "content": m["content"]} for m in whole]
        assert r["messages"][len(whole)] == {"role": "user", "content": r["instruction"]}
        assert r["messages"][-1] == {"role": "assistant", "content": r["output"]}
        assert len(r["messages"]) == len(whole) + 2


def test_sft_records_put_a_conversation_in_one_messages_row(tmp_path):
    from factories import make_example

    seed, = load_seeds(_write(tmp_path, {"id": "c1", "messages": THREE}))
    conv = make_example("r1", seed.instruction, output="Tomorrow.").model_copy(update={"history": seed.history})
    single = make_example("r2", "Say hi.", output="hi")
    a, b = sft_records([conv, single])
    assert a == {"id": "r1", "messages": [*THREE[:-1], {"role": "assistant", "content": "Tomorrow."}]}
    assert b == {"id": "r2", "prompt": [{"role": "user", "content": "Say hi."}],
                 "completion": [{"role": "assistant", "content": "hi"}]}
    # a preference pair on a conversation: DPO reads its earlier turns before the prompt
    pair = PreferencePair(id="p", prompt_id="p", prompt=seed.prompt, chosen="Tomorrow.", rejected="No idea.",
                          chosen_id="r1", rejected_id="r3", margin=1.0, source="panel", history=seed.history)
    row, = dpo_records([pair])
    assert row["prompt"] == THREE[:-1] and row["chosen"] == [{"role": "assistant", "content": "Tomorrow."}]
    assert dpo_records([pair.model_copy(update={"history": []})])[0]["prompt"] == THREE[-2:-1]


@pytest.mark.slow
def test_the_mask_covers_exactly_the_assistant_tokens_on_the_student_tokenizer(student_dir):
    """On SmolLM2's own tokenizer and chat template: the masked tokens are, run by run, each assistant
    turn's words and its end-of-turn marker; nothing of a system or user turn is masked."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(student_dir)
    row = conversation_tokens(tok, THREE)
    ids, mask = row["input_ids"], row["completion_mask"]
    assert tok.decode(ids) == tok.apply_chat_template(THREE, tokenize=False)  # the whole conversation, in order
    runs, current = [], []
    for i, bit in zip(ids, mask):
        if bit:
            current.append(i)
        elif current:
            runs, current = runs + [current], []
    runs += [current] if current else []
    answers = [m["content"] for m in THREE if m["role"] == "assistant"]
    assert [tok.decode(r) for r in runs] == [f"{a}<|im_end|>\n" for a in answers]
    unmasked = tok.decode([i for i, bit in zip(ids, mask) if not bit])
    assert all(m["content"] in unmasked for m in THREE if m["role"] != "assistant")
    assert not any(a in unmasked for a in answers)
    # a prompt-completion record gets the mask trl gives it: the completion's tokens only
    single = tokenized_records(tok, [{"id": "x", "prompt": THREE[1:2], "completion": THREE[2:3]}])[0]
    masked = tok.decode([i for i, bit in zip(single["input_ids"], single["completion_mask"]) if bit])
    assert masked == "Sorry! What is the order number?<|im_end|>\n" and single["id"] == "x"


def test_the_judge_reads_the_conversation_and_a_single_turn_prompt_is_unchanged(tmp_path):
    from factories import make_example

    from seedfactory.judges.rubric import rubric_request

    seed, = load_seeds(_write(tmp_path, {"id": "c1", "messages": THREE}))
    conv = make_example("r1", seed.instruction, output="Tomorrow.").model_copy(update={"history": seed.history})
    asked = rubric_request(conv, ModelConfig()).messages[-1].content
    assert "[user] It is 4471." in asked and "[assistant] Order 4471 left the depot today." in asked
    assert asked.index("It is 4471.") < asked.index("When will it arrive?")
    assert "You are a terse helper." not in asked  # the system turn instructs the assistant, not the judge
    single = make_example("r2", "When will it arrive?", output="Tomorrow.")
    assert "Conversation so far" not in rubric_request(single, ModelConfig()).messages[-1].content


@pytest.mark.slow
def test_sft_trains_on_conversations_with_the_real_student(tmp_path, student_dir):
    """One real SFT step on two conversations: a finite loss, both rows drawn, the adapter saved."""
    import math

    import torch
    from factories import make_example

    from seedfactory.schemas.config import TrainConfig
    from seedfactory.train.sft import train_sft

    torch.set_num_threads(1)
    seeds = load_seeds(bundled_sets()["support-chat"])[:2]
    rows = [make_example(s.id, s.instruction, output=s.output).model_copy(update={"history": s.history})
            for s in seeds]
    cfg = TrainConfig(sft_steps=1, dpo_steps=0, batch_size=2, max_length=256, threads=1, lora_r=4, lora_alpha=8)
    stats = train_sft(student_dir, sft_records(rows), tmp_path / "adapter", cfg, seed=0)
    assert stats["steps"] == 1 and math.isfinite(stats["losses"][0]) and stats["losses"][0] > 0
    assert sorted(stats["batches"][0]) == sorted(s.id for s in seeds)
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
