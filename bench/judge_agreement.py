"""Benchmark: how often the embedded judge agrees with human/gold preference labels.

LLMBar (Natural, and the Adversarial Neighbor subset) from ../shared/data: each record is an
instruction, two outputs and the better one's label. Three ways of reading the same judge model
are measured side by side in this script:
  1. pairwise, one order only (A = output_1): what a naive judge does;
  2. pairwise, both orders, a flip counted as a tie (what `seedfactory.judges.pairwise` does);
  3. rubric scores (probability-weighted 1-5) for each output, the higher one preferred (what the
     judge stage uses to build preference pairs).
Accuracy counts a tie or an error as half right (a coin toss), so 0.5 is chance for every mode.
Progress lines go to stderr; the last line on stdout is one JSON object.

    .venv/bin/python -m bench.judge_agreement [--n 50] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seedfactory.judges.pairwise import judge_both_orders
from seedfactory.judges.rubric import judge_rows
from seedfactory.schemas import Example, Lineage, Sampling
from seedfactory.schemas.config import ModelConfig

LLMBAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "llmbar" / "Dataset" / "LLMBar"
SUBSETS = {"natural": LLMBAR / "Natural" / "dataset.json",
           "neighbor": LLMBAR / "Adversarial" / "Neighbor" / "dataset.json"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def accuracy(verdicts: list[str | None], gold: list[str]) -> dict:
    right = sum(1.0 if v == g else 0.5 if v in ("tie", None) else 0.0 for v, g in zip(verdicts, gold))
    return {"accuracy": round(right / len(gold), 3), "ties": sum(v == "tie" for v in verdicts),
            "errors": sum(v is None for v in verdicts), "n": len(gold)}


def as_row(i: int, side: str, instruction: str, output: str) -> Example:
    return Example(id=f"{i}{side}", prompt_id=str(i), instruction=instruction, output=output,
                   lineage=Lineage(seed_ids=[], strategy="bench", teacher="llmbar", prompt_hash="", request_key="",
                                   raw="", sampling=Sampling()))


def measure(records: list[dict], backend, judge: ModelConfig) -> dict:
    gold = ["a" if r["label"] == 1 else "b" for r in records]
    verdicts2 = judge_both_orders([(r["input"], r["output_1"], r["output_2"]) for r in records], backend, judge)
    forward = [v.forward for v in verdicts2]
    both = [v.winner for v in verdicts2]
    rows = [as_row(i, s, r["input"], r[f"output_{k}"]) for i, r in enumerate(records) for s, k in (("a", 1), ("b", 2))]
    verdicts = judge_rows(rows, backend, judge)
    rubric = []
    for i in range(len(records)):
        a, b = verdicts[2 * i].score, verdicts[2 * i + 1].score
        rubric.append(None if a is None or b is None else "a" if a > b else "b" if b > a else "tie")
    return {"pairwise_one_order": accuracy(forward, gold), "pairwise_both_orders": accuracy(both, gold),
            "rubric_scores": accuracy(rubric, gold),
            "position_bias_first": round(sum(v == "a" for v in forward) / len(records), 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50, help="pairs per subset")
    p.add_argument("--model", default="smollm2-135m")
    args = p.parse_args()
    from seedfactory.generators.vllm_engine import VLLMBackend
    from seedfactory.util.models import resolve_model

    judge = ModelConfig(model=args.model, temperature=0.0, max_tokens=160, max_model_len=2048)
    log(f"loading the vLLM engine for {args.model} ...")
    backend = VLLMBackend(judge, resolve_model(args.model))
    out = {"model": args.model}
    try:
        for name, path in SUBSETS.items():
            records = [r for r in json.loads(path.read_text()) if len(r["input"]) + len(r["output_1"])
                       + len(r["output_2"]) < 3000][: args.n]
            log(f"{name}: {len(records)} pairs ...")
            out[name] = measure(records, backend, judge)
            log(f"{name}: {json.dumps(out[name])}")
    finally:
        backend.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
