"""Turn the pipeline's records into trl's conversational dataset rows.

SFT rows are prompt-completion pairs, so trl computes the loss on the completion only: SmolLM2's
chat template has no `{% generation %}` markers, which `assistant_only_loss` would need. A
conversation is a `messages` row, tokenized with a mask on every assistant turn (train/chat.py). DPO rows
are prompt/chosen/rejected with the answers as single assistant turns. The student sees the same
user turn here as at evaluation time (`Example.prompt` / `render_prompt`).

    from seedfactory.train.data import sft_records, dpo_records
    rows = sft_records(examples)      # -> train_sft(model_dir, rows, ...)
    pairs = dpo_records(preference_pairs)  # -> train_preference(model_dir, adapter, pairs, ...)
"""

from __future__ import annotations

import random

from seedfactory.schemas import Example, PreferencePair, student_turns


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def sft_records(examples: list[Example]) -> list[dict]:
    """One conversational prompt-completion row per example (JSON outputs as compact text); the
    example's id rides along for the record of which rows each batch held. An example with earlier
    turns is one `messages` row, every assistant turn of it trained (train/chat.py)."""
    return [{"id": ex.id, "messages": [*student_turns(ex.history, ex.prompt), *_assistant(ex.output_text)]}
            if ex.history else
            {"id": ex.id, "prompt": _user(ex.prompt), "completion": _assistant(ex.output_text)} for ex in examples]


def dpo_records(pairs: list[PreferencePair]) -> list[dict]:
    """One conversational preference row per pair; the prompt is the rendered user turn, after a
    conversation's earlier turns where it has them."""
    return [
        {"prompt": student_turns(p.history, p.prompt), "chosen": _assistant(p.chosen),
         "rejected": _assistant(p.rejected)} for p in pairs
    ]


def dpo_order(pairs: list[PreferencePair], seed: int) -> list[PreferencePair]:
    """Reviewers' edits first (DPO reads its rows in order, so a short run trains on them), then the
    judge's pairs in a seeded shuffle."""
    judged = [p for p in pairs if p.source != "review"]
    random.Random(seed).shuffle(judged)
    return [p for p in pairs if p.source == "review"] + judged


def kto_records(rows: list[dict]) -> list[dict]:
    """KTO's unpaired rows from preference rows: the chosen answer labelled desirable, the
    rejected one undesirable, interleaved so every batch of two sees both labels."""
    out = []
    for r in rows:
        out.append({"prompt": r["prompt"], "completion": r["chosen"], "label": True})
        out.append({"prompt": r["prompt"], "completion": r["rejected"], "label": False})
    return out


def target_from(ex: Example) -> str:
    """Who wrote a row's output: "review" (a reviewer's edit), "target" (the output the input was
    written for, output-first) or "teacher" (the teacher's consensus answer)."""
    if ex.lineage.original_output is not None:
        return "review"
    return "target" if ex.lineage.label == "target" else "teacher"


def rl_records(examples: list[Example]) -> list[dict]:
    """Prompt rows for online RL (`seedfactory.train.rewards` reads the other columns): the user
    turn, the input the answer must be grounded in, the row's output as the target and who wrote it."""
    return [{"prompt": _user(ex.prompt), "prompt_text": ex.prompt, "input_text": ex.input or ex.prompt,
             "target": ex.output_text if isinstance(ex.output, dict) else "", "target_from": target_from(ex)}
            for ex in examples]
