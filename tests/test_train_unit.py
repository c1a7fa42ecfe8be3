"""Fast tests of seedfactory.train: data rows, scorers, argument checks, adapter publishing.

No model is loaded here; tests/test_train_slow.py trains the real SmolLM2-135M.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_train_unit.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from factories import make_example

from seedfactory.schemas import Example, PreferencePair
from seedfactory.schemas.config import TrainConfig
from seedfactory.train.common import loss_stats, staged_adapter
from seedfactory.train.data import dpo_order, dpo_records, sft_records
from seedfactory.train.dpo import train_preference
from seedfactory.train.evaluate import first_json_object, score_json
from seedfactory.train.sft import train_sft

SCHEMA = {
    "type": "object",
    "properties": {"vendor": {"type": "string"}, "total": {"type": "number"}, "currency": {"type": "string"}},
    "required": ["vendor", "total", "currency"],
    "additionalProperties": False,
}
REF = {"vendor": "Acme Corp", "total": 12.5, "currency": "EUR"}


def example(output, input="") -> Example:
    return make_example("e1", "Extract the fields.", input=input, output=output, prompt_id="p1")


# ---- data -------------------------------------------------------------------------------------

def test_sft_records_are_conversational_prompt_completion():
    rows = sft_records([example(REF, input="Invoice from Acme"), example("plain text")])
    assert rows[0] == {
        "id": "e1",
        "prompt": [{"role": "user", "content": "Extract the fields.\n\nInvoice from Acme"}],
        "completion": [{"role": "assistant", "content": json.dumps(REF, ensure_ascii=False)}],
    }
    assert rows[1]["prompt"][0]["content"] == "Extract the fields."
    assert rows[1]["completion"][0]["content"] == "plain text"


def test_dpo_records_are_conversational_preferences():
    pair = PreferencePair(id="x", prompt_id="p1", prompt="Q?", chosen="good", rejected="bad", chosen_id="a",
                          rejected_id="b", margin=2.0, source="panel")
    assert dpo_records([pair]) == [{
        "prompt": [{"role": "user", "content": "Q?"}],
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
    }]


# ---- score_json -------------------------------------------------------------------------------

def test_dpo_order_puts_review_pairs_first_then_a_seeded_shuffle():
    pairs = [PreferencePair(id=f"p{i}", prompt_id="x", prompt="q", chosen="a", rejected="b", chosen_id=f"c{i}",
                            rejected_id=f"r{i}", margin=1.0, source="review" if i in (3, 7) else "panel")
             for i in range(10)]
    ordered = dpo_order(pairs, seed=0)
    assert [p.id for p in ordered[:2]] == ["p3", "p7"]
    assert sorted(p.id for p in ordered) == sorted(p.id for p in pairs)
    assert [p.id for p in ordered] == [p.id for p in dpo_order(pairs, seed=0)]
    assert [p.id for p in dpo_order(pairs, seed=1)[2:]] != [p.id for p in ordered[2:]]  # the seed shuffles


def test_first_json_object_skips_text_fences_and_broken_braces():
    assert first_json_object('Sure! ```json\n{"a": 1}\n``` done') == {"a": 1}
    assert first_json_object('{broken {"a": {"b": 2}}') == {"a": {"b": 2}}
    assert first_json_object("[1, 2] no object") is None


def test_score_json_exact_figures():
    answers = [
        # 3/3 and valid: text and a code fence around it, spaces and case in a string
        'Here you go:\n```json\n{"vendor": " acme corp ", "total": 12.50, "currency": "EUR"}\n```',
        '{"vendor": "Acme Corp", "total": "12.5", "currency": "USD"}',  # 1/3: string total, wrong currency
        '{"vendor": "Acme Corp", "total": 12.5, "currency": "EUR",}',  # trailing comma: not JSON
        'The vendor is Acme Corp.',  # no object
    ]
    report = score_json(answers, [REF] * 4, SCHEMA)
    assert report["metric"] == "field_exact_match"
    assert report["n"] == 4
    assert [p["field_match"] for p in report["per_example"]] == [1.0, pytest.approx(1 / 3), 0.0, 0.0]
    assert report["value"] == pytest.approx((1 + 1 / 3) / 4)
    assert report["parsed"] == 0.5
    assert report["schema_valid"] == 0.25  # the second parses but its total is a string
    second = report["per_example"][1]
    assert second["fields"] == {"vendor": True, "total": False, "currency": False}
    assert "is not of type 'number'" in second["error"]
    assert report["per_example"][3]["error"] == "no JSON object in the answer"


def test_score_json_integer_equals_float_and_missing_field_misses():
    report = score_json(['{"vendor": "X", "total": 12}', '{"vendor": "X"}'],
                        [{"vendor": "x", "total": 12.0}] * 2, SCHEMA)
    assert [p["field_match"] for p in report["per_example"]] == [1.0, 0.5]


def test_score_json_booleans_match_booleans_never_numbers():
    schema = {"type": "object"}
    report = score_json(['{"paid": true, "n": 1, "flags": [false]}', '{"paid": 1, "n": true, "flags": [0]}'],
                        [{"paid": True, "n": 1.0, "flags": [False]}] * 2, schema)
    assert [p["fields"] for p in report["per_example"]] == [
        {"paid": True, "n": True, "flags": True}, {"paid": False, "n": False, "flags": False}]


def test_score_json_rejects_mismatched_lengths_and_non_object_references():
    with pytest.raises(ValueError, match="2 answers for 1 references"):
        score_json(["{}", "{}"], [REF], SCHEMA)
    with pytest.raises(ValueError, match="reference 0 is a str"):
        score_json(["{}"], ["text"], SCHEMA)


# ---- trainer argument checks (raised before any model is loaded) -------------------------------

def test_train_preference_refuses_nothing_to_do(tmp_path: Path):
    rows = [{"prompt": [], "chosen": [], "rejected": []}]
    with pytest.raises(ValueError, match="dpo_steps is 0"):
        train_preference(tmp_path, tmp_path, rows, tmp_path / "out", TrainConfig(dpo_steps=0), seed=0)
    with pytest.raises(ValueError, match="no preference pairs"):
        train_preference(tmp_path, tmp_path, [], tmp_path / "out", TrainConfig(), seed=0)
    with pytest.raises(ValueError, match="not an SFT adapter folder"):
        train_preference(tmp_path, tmp_path / "missing", rows, tmp_path / "out", TrainConfig(), seed=0)


def test_train_sft_refuses_no_rows(tmp_path: Path):
    with pytest.raises(ValueError, match="no SFT rows"):
        train_sft(tmp_path, [], tmp_path / "out", TrainConfig(), seed=0)


# ---- publishing ----------------------------------------------------------------------------------

def _fake_adapter(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_model.safetensors").write_text(text)
    (folder / "adapter_config.json").write_text("{}")


def test_staged_adapter_replaces_out_dir_and_leaves_no_scratch(tmp_path: Path):
    out = tmp_path / "adapter"
    _fake_adapter(out, "old")
    with staged_adapter(out) as (work, adapter):
        (work / "trainer").mkdir()  # trainer output_dir: must not survive
        _fake_adapter(adapter, "new")
    assert (out / "adapter_model.safetensors").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]


def test_staged_adapter_keeps_old_result_when_training_fails(tmp_path: Path):
    out = tmp_path / "adapter"
    _fake_adapter(out, "old")
    with pytest.raises(RuntimeError, match="boom"):
        with staged_adapter(out) as (work, adapter):
            _fake_adapter(adapter, "new")
            raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="missing adapter_model.safetensors"):
        with staged_adapter(out) as (work, adapter):
            pass  # a save that wrote nothing
    assert (out / "adapter_model.safetensors").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]


def test_loss_stats_reads_trl_log_and_refuses_nan():
    history = [{"loss": 1.5, "learning_rate": 1e-4}, {"loss": 0.5}, {"train_loss": 1.0}]
    assert loss_stats(history) == {"first_loss": 1.5, "last_loss": 0.5}
    assert loss_stats([]) == {"first_loss": None, "last_loss": None}
    with pytest.raises(FloatingPointError):
        loss_stats([{"loss": math.nan}])


@pytest.mark.slow  # builds trl's trainer arguments: imports torch, transformers and trl (~30 s here)
def test_trainer_runs_on_the_gpu_whenever_cuda_is_present_lora_or_qlora(monkeypatch):
    import torch

    from seedfactory.train.common import trainer_args
    from seedfactory.util.progress import NO_PROGRESS

    for cuda in (True, False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
        for qlora in (True, False):
            args = trainer_args(TrainConfig(qlora=qlora), seed=0, steps=1, output_dir=Path("x"), progress=NO_PROGRESS)
            assert args["use_cpu"] is (not cuda)
            assert args["gradient_checkpointing"] is False


@pytest.mark.slow  # a transformers model (2 layers, built from a config)
def test_padding_free_batches_give_the_padded_loss_and_gradients():
    """One flattened sequence per batch (train.padding_free) must train exactly as padded rows do:
    transformers masks attention across rows by the restarting position_ids (sdpa here)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from seedfactory.train.common import padding_free_collator

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, attn_implementation="sdpa"))
    rows = []
    for n, prompt in ((9, 4), (3, 1), (14, 6), (6, 2)):  # lengths differ, so the padded batch pads
        ids = torch.randint(1, 64, (n,)).tolist()
        rows.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})

    def loss_and_grads(batch):
        model.zero_grad()
        # use_cache=False as SFTTrainer's compute_loss passes it: with a cache transformers does
        # not look for packed rows, and rows would attend to earlier rows.
        loss = model(**{k: v for k, v in batch.items() if k in ("input_ids", "labels", "attention_mask",
                                                                 "position_ids")}, use_cache=False).loss
        loss.backward()
        return loss.item(), [p.grad.clone() for p in model.parameters()]

    padded = DataCollatorForLanguageModeling(pad_token_id=0)(rows)
    flat = padding_free_collator(type("Tok", (), {"pad_token_id": 0})())(rows)
    assert flat["input_ids"].shape == (1, 32) and padded["input_ids"].shape == (4, 14)
    (lp, gp), (lf, gf) = loss_and_grads(padded), loss_and_grads(flat)
    assert abs(lp - lf) < 1e-5
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(gp, gf))


# ---- padding-free DPO (seedfactory.train.packed) ---------------------------------------------------

def _tiny_llama(vocab: int = 64):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, attn_implementation="sdpa",
                                        pad_token_id=0))


@pytest.mark.slow  # a transformers model (2 layers, built from a config)
def test_packed_fused_forward_gives_the_padded_log_probs(monkeypatch):
    """Rows of different lengths, right-padded as trl's DPO collator pads them: packed into one row,
    the per-token log-probs (and entropy, top-1) scattered back equal trl's padded forward's."""
    import torch
    from trl.trainer.utils import add_fused_lm_head

    from seedfactory.train.packed import pack_fused_forward, use_segment_attention

    model = _tiny_llama()
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    lengths, prompts = (9, 3, 14, 6), (4, 1, 6, 2)
    ids = torch.zeros(4, 14, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, :n], mask[i, :n] = torch.randint(1, 64, (n,)), 1
    labels = ids.masked_fill(mask == 0, -100)
    for i, p in enumerate(prompts):
        labels[i, :p] = -100

    def run():
        model.zero_grad()
        out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
        out.log_probs.sum().backward()
        return out, [p.grad.clone() for p in model.parameters()]

    padded, padded_grads = run()
    shapes = []
    model.model.register_forward_hook(lambda m, args, kwargs, out: shapes.append(tuple(kwargs["input_ids"].shape)),
                                      with_kwargs=True)
    assert pack_fused_forward(model)
    packed, packed_grads = run()
    assert shapes == [(1, sum(lengths))]  # one packed row of the real tokens, no padding computed
    assert packed.log_probs.shape == padded.log_probs.shape == (4, 13)
    sums_padded, sums_packed = padded.log_probs.sum(1), packed.log_probs.sum(1)
    assert torch.allclose(sums_packed, sums_padded, atol=1e-4), (sums_packed, sums_padded)
    assert (packed.log_probs[labels[:, 1:] == -100] == 0).all()
    assert torch.allclose(packed.entropy, padded.entropy, atol=1e-4)
    assert torch.equal(packed.is_top1, padded.is_top1) and torch.equal(packed.label_mask, padded.label_mask)
    assert abs(packed.loss.item() - padded.loss.item()) < 1e-5
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(padded_grads, packed_grads))

    # Attention per packed row (causal, no [T, T] mask): the same again, one sdpa call per row and layer
    calls, sdpa = [], torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention",
                        lambda *a, **k: calls.append(a[0].shape[2]) or sdpa(*a, **k))
    assert use_segment_attention(model)
    segmented, segmented_grads = run()
    assert calls == list(lengths) * 2  # 2 layers
    assert torch.allclose(segmented.log_probs, padded.log_probs, atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(padded_grads, segmented_grads))


@pytest.mark.slow  # a transformers model and trl's DPOTrainer
def test_packed_dpo_loss_and_gradients_equal_trl_padded(tmp_path: Path):
    """DPOTrainer's loss on one batch, with the policy moved away from its "ref" copy so the loss is
    not ln 2: the same, and the same gradients, with the packed forward as with trl's padded one."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit
    from transformers import PreTrainedTokenizerFast
    from trl import DPOConfig, DPOTrainer

    from seedfactory.train.packed import pack_fused_forward

    words = ["<pad>", "</s>", "<unk>"] + [f"w{i}" for i in range(61)]
    wordlevel = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    wordlevel.pre_tokenizer = WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=wordlevel, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    gen = torch.Generator().manual_seed(1)
    text = lambda n: " ".join(f"w{int(i)}" for i in torch.randint(0, 61, (n,), generator=gen))  # noqa: E731
    rows = [{"prompt": text(p), "chosen": " " + text(c), "rejected": " " + text(r)}
            for p, c, r in ((5, 3, 8), (2, 9, 1), (7, 4, 4), (3, 1, 6))]
    model = get_peft_model(_tiny_llama(), LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
    args = DPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=1, use_cpu=True, bf16=False,
                     report_to=[], save_strategy="no", beta=10.0)
    trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=tok)
    with torch.no_grad():
        for name, p in trainer.model.named_parameters():
            if ".default." in name:
                p.add_(0.3 * torch.randn(p.shape, generator=gen))
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    assert batch["attention_mask"].sum() < batch["attention_mask"].numel()  # the padded batch does pad

    def loss_and_grads():
        trainer.model.zero_grad()
        loss = trainer.compute_loss(trainer.model, dict(batch))
        loss.backward()
        return loss.item(), [p.grad.clone() for p in trainer.model.parameters() if p.requires_grad]

    padded, padded_grads = loss_and_grads()
    assert pack_fused_forward(trainer.model)
    packed, packed_grads = loss_and_grads()
    assert abs(padded - math.log(2)) > 0.5  # policy and reference differ
    assert abs(packed - padded) < 1e-4, (packed, padded)
    # float32 sums in another order: within 1e-4 of each gradient's scale (seen: 4e-6)
    assert all((a - b).abs().max() <= 1e-4 * a.abs().max() for a, b in zip(padded_grads, packed_grads))
