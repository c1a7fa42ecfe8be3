"""Evaluate the student on held-out prompts: generate answers, then score them.

`generate_answers` runs greedy transformers generation with the chat template (the same user turn
the student was trained on), optionally with a LoRA adapter merged in. `score_json` scores JSON
tasks with reference objects: it parses the first JSON object in each answer (surrounding text and
code fences are tolerated), checks it against the schema, and counts the reference's top-level
fields the answer reproduces exactly. Free-text tasks are scored by a pairwise judge in both
orders (`seedfactory.judges.win_rate`).

    answers = generate_answers(model_dir, adapter_dir, prompts, max_new_tokens=192, batch_size=8)
    report = score_json(answers, [seed.output for seed in heldout], schema)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seedfactory.util.progress import NO_PROGRESS, Progress


def generate_answers(model_dir: Path, adapter_dir: Path | None, prompts: list[str], max_new_tokens: int,
                     batch_size: int, progress: Progress = NO_PROGRESS, cost: dict | None = None) -> list[str]:
    """One greedy answer per prompt, in order; only the new tokens are decoded. `cost`, when
    given, receives the generation's tokens/s and the model's weight memory (`generate_with`)."""
    if not prompts:
        return []
    from seedfactory.train.common import load_student

    model, tokenizer = load_student(Path(model_dir))
    model = with_adapter(model, adapter_dir)
    return generate_with(model, tokenizer, prompts, max_new_tokens, batch_size, progress, cost)


def with_adapter(model, adapter_dir: Path | None):
    """The model with an adapter applied: LoRA merged into the weights (once, instead of on every
    decoding step); prefix/prompt tuning kept as a PeftModel, which prepends its virtual tokens."""
    if adapter_dir is None:
        return model
    from peft import PeftModel

    model = PeftModel.from_pretrained(model, Path(adapter_dir))
    return model if model.peft_config["default"].is_prompt_learning else model.merge_and_unload()


def generate_with(model, tokenizer, prompts: list[str] | list[list[dict]], max_new_tokens: int, batch_size: int,
                  progress: Progress = NO_PROGRESS, cost: dict | None = None,
                  adapter_names: list[str] | None = None) -> list[str]:
    """`generate_answers` for a model already loaded (a merged folder, a GGUF read back, a PeftModel
    holding several adapters). A prompt is the user turn's text or a whole conversation (messages).
    `adapter_names` (a PeftModel's LoRA adapters, "__base__" for none): the adapter that answers
    each prompt, so that one batch holds several systems (peft's mixed-adapter batches); prompts
    are then batched by adapter, then by length.

    `cost` gets new_tokens (EOS and padding not counted), seconds (generation only),
    tokens_per_s, and weights_mb (`get_memory_footprint`: the loaded weights, not the process)."""
    import time

    import torch

    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # a decoder-only model continues from the last position of every row
    texts = [tokenizer.apply_chat_template(p if isinstance(p, list) else [{"role": "user", "content": p}],
                                           tokenize=False, add_generation_prompt=True) for p in prompts]
    # Batch prompts of similar length together so little compute goes to padding; answers are put
    # back in the caller's order at the end.
    order = sorted(range(len(texts)), key=lambda i: (adapter_names[i] if adapter_names else "", len(texts[i])))
    answers: dict[int, str] = {}
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    new_tokens, started = 0, time.perf_counter()
    for batch in progress(batches, desc="evaluate: generate"):
        # The chat template already starts with <|im_start|>; no extra special tokens.
        enc = tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True,
                        add_special_tokens=False)
        mixed = {"adapter_names": [adapter_names[i] for i in batch]} if adapter_names else {}
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, **mixed)
        new = out[:, enc["input_ids"].shape[1]:]
        new_tokens += int((new != tokenizer.pad_token_id).sum())
        for i, text in zip(batch, tokenizer.batch_decode(new, skip_special_tokens=True)):
            answers[i] = text.strip()
    if cost is not None:
        seconds = time.perf_counter() - started
        cost.update(new_tokens=new_tokens, seconds=round(seconds, 3),
                    tokens_per_s=round(new_tokens / seconds, 2) if seconds > 0 else None,
                    weights_mb=round(model.get_memory_footprint() / 2**20, 1))
    return [answers[i] for i in range(len(prompts))]


# ---- JSON field match -------------------------------------------------------------------------

def first_json_object(text: str) -> dict | None:
    """The first `{...}` in the text that parses as a JSON object, or None."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            return obj
        start = text.find("{", start + 1)
    return None


def normalise(value: Any) -> Any:
    """Strings stripped and casefolded, numbers as floats, recursively. A bool becomes ("bool", b):
    in Python `True == 1.0`, and an answer of `true` must not match a reference of `1`."""
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, bool):
        return ("bool", value)
    if value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def score_json(answers: list[str], references: list[dict], schema: dict) -> dict:
    """Field-level exact match of JSON answers against reference objects, plus parse and schema rates.

    An answer with no parseable object scores 0 on every field. A reference without fields scores 1
    when the answer parsed. `value` is the mean field match over answers.
    """
    import jsonschema

    if len(answers) != len(references):
        raise ValueError(f"score_json: {len(answers)} answers for {len(references)} references")
    validator = jsonschema.validators.validator_for(schema)(schema)
    per_example = []
    for i, (answer, ref) in enumerate(zip(answers, references)):
        if not isinstance(ref, dict):
            raise ValueError(f"score_json: reference {i} is a {type(ref).__name__}, not a JSON object")
        obj = first_json_object(answer)
        if obj is None:
            per_example.append({"parsed": False, "schema_valid": False, "field_match": 0.0,
                                "fields": {k: False for k in ref}, "error": "no JSON object in the answer"})
            continue
        errors = [e.message for e in validator.iter_errors(obj)]
        fields = {k: k in obj and normalise(obj[k]) == normalise(v) for k, v in ref.items()}
        match = sum(fields.values()) / len(fields) if fields else 1.0
        per_example.append({"parsed": True, "schema_valid": not errors, "field_match": match,
                            "fields": fields, "error": "; ".join(errors[:3]) or None})
    n = len(per_example)

    def mean(key: str) -> float:
        return sum(float(p[key]) for p in per_example) / n if n else 0.0

    return {"metric": "field_exact_match", "value": mean("field_match"), "n": n,
            "schema_valid": mean("schema_valid"), "parsed": mean("parsed"), "per_example": per_example}


def reference_loss(model_dir: Path, adapter_dir: Path | None, prompts: list[str] | list[list[dict]],
                   references: list[str]) -> dict:
    """Mean per-token negative log-likelihood of the reference answers (lower is better): a cheap
    held-out score for free-text tasks, where the real metric needs a judge."""
    import torch

    from seedfactory.train.common import load_student

    model, tokenizer = load_student(Path(model_dir))
    model = with_adapter(model, adapter_dir)
    model.eval()
    total, tokens = 0.0, 0
    for prompt, ref in zip(prompts, references):
        user = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        head = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": ref}], tokenize=False)
        ids = tokenizer(full, return_tensors="pt", add_special_tokens=False)["input_ids"]
        n_head = len(tokenizer(head, add_special_tokens=False)["input_ids"])
        labels = ids.clone()
        labels[:, :n_head] = -100  # only the answer's tokens count
        with torch.inference_mode():
            loss = model(input_ids=ids, labels=labels).loss
        n = int((labels[:, 1:] != -100).sum())
        total, tokens = total + float(loss) * n, tokens + n
    return {"metric": "reference_nll", "value": total / tokens if tokens else 0.0, "n": len(prompts)}
