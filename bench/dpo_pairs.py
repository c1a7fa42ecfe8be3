"""Benchmark: which preference pairs and loss make DPO help, on finished runs of a JSON seed set.

For each run directory (a finished `seedfactory run`: its SFT adapter, judge/pairs.jsonl, split/
and evaluate/answers.jsonl are read, nothing in it is written) DPO continues the run's SFT adapter
with one variant at a time and the result is scored on the run's evaluation cases, field by field,
beside the run's own SFT and DPO figures (paired bootstrap interval of new DPO - SFT):

  judge         the run's pairs (teacher answers ranked by the panel), the run's train settings
  judge_rpo     the same pairs, 16 steps at 2e-4, with trl's "sft" loss beside "sigmoid" (RPO,
                Pang et al. 2024: the chosen answer's NLL keeps the policy on it)
  onpolicy      the SFT student's own answers on its training prompts (the SFT rows and the train
                seeds; k sampled at temperature 1) that miss a field or the schema, as rejected,
                the validated target as chosen (on-policy pairs), same settings as judge_rpo
  onpolicy_dpo  the on-policy pairs with plain DPO (no "sft" term), 16 steps at 2e-4
  minimal       minimal-edit pairs (judges.pairs.minimal_edit_pairs): chosen the validated answer of
                each SFT row and train seed, rejected the same answer with one field corrupted the
                way the student slips (a date or number altered, the currency swapped, a key
                misspelled or with a leading space, a field dropped; up to 3 kinds per prompt), each
                rejected by the schema or grounding check; the run's train settings
  minimal_strong the same pairs, 16 steps at 2e-4 (twice the steps, four times the learning rate)
  minimal_rpo   minimal_strong with trl's "sft" loss beside "sigmoid" (RPO)

With --heldout each variant (and the run's SFT adapter) is also scored on the run's held-out seeds
(split/heldout.jsonl), so settings can be chosen without looking at the evaluation cases.

The run's pairs differ from their chosen answer in three or four fields (another teacher sample);
the student's own slips are one field or a malformed key, which is what on-policy and minimal-edit
pairs target. Neither helped on invoice-fields (three runs): the minimal pairs at the run's settings
move the policy little (field match -0.003, -0.010, +0.017 against SFT); trained harder, every token
after the edit in the rejected answer, its closing brace and end of answer included, is pushed
down too, and the student stops closing its object or repeats it (schema-valid 0.86 to 0.20).

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python -m bench.dpo_pairs RUN [RUN ...] \\
        [--variants judge,onpolicy,minimal] [--work DIR] [--k 2] [--heldout]

Progress lines go to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

RPO = {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 1.0]}
STRONGER = {"dpo_steps": 16, "dpo_learning_rate": 2e-4}
VARIANTS = {  # name: (pair source, train overrides, extra trainer settings)
    "judge": ("judge", {}, None),
    "judge_rpo": ("judge", STRONGER, RPO),
    "onpolicy": ("onpolicy", STRONGER, RPO),
    "onpolicy_dpo": ("onpolicy", STRONGER, None),
    "minimal": ("minimal", {}, None),
    "minimal_strong": ("minimal", STRONGER, None),
    "minimal_rpo": ("minimal", STRONGER, RPO),
}
PER_PROMPT = 3  # minimal-edit pairs per prompt, of different kinds


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def sample(model_dir: Path, adapter: Path, prompts: list[str], k: int, seed: int, max_new_tokens: int = 160,
           batch_size: int = 8) -> list[list[str]]:
    """k answers per prompt from the student with its adapter, sampled at temperature 1."""
    import torch

    from seedfactory.train.common import load_student
    from seedfactory.train.evaluate import with_adapter

    torch.manual_seed(seed)
    model, tok = load_student(model_dir)
    model = with_adapter(model, adapter).eval()
    tok.padding_side = "left"
    texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
             for p in prompts]
    out: list[list[str]] = []
    for i in range(0, len(texts), batch_size):
        enc = tok(texts[i:i + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=True, temperature=1.0, top_p=1.0,
                                 num_return_sequences=k, pad_token_id=tok.pad_token_id)
        dec = [d.strip() for d in tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)]
        out += [dec[j * k:(j + 1) * k] for j in range(len(dec) // k)]
        log(f"sampled {len(out)}/{len(prompts)}")
    return out


def onpolicy_pairs(run: Path, model_dir: Path, schema: dict, k: int, seed: int) -> dict:
    """Pairs of (validated target, the student's worst sampled answer) where that answer is wrong."""
    from seedfactory.schemas import Example, SeedExample, output_text
    from seedfactory.train.evaluate import score_json

    items = [(e.prompt, e.output) for e in map(Example.model_validate_json, lines(run / "judge" / "sft.jsonl"))]
    items += [(s.prompt, s.output) for s in map(SeedExample.model_validate_json, lines(run / "split" / "train.jsonl"))]
    started = time.monotonic()
    answers = sample(model_dir, run / "adapter_sft", [p for p, _ in items], k, seed)
    pairs = []
    for (prompt, target), got in zip(items, answers):
        sc = score_json(got, [target] * len(got), schema)["per_example"]
        worst = min(range(len(got)), key=lambda i: (sc[i]["field_match"] + sc[i]["schema_valid"], i))
        if sc[worst]["field_match"] < 1.0 or not sc[worst]["schema_valid"]:
            pairs.append({"prompt": prompt, "chosen": output_text(target), "rejected": got[worst],
                          "field_match": sc[worst]["field_match"], "schema_valid": sc[worst]["schema_valid"]})
    return {"asked": len(items), "k": k, "seconds": round(time.monotonic() - started, 1), "pairs": pairs}


def minimal_pairs(run: Path, schema: dict, seed: int) -> list:
    """Minimal-edit pairs from the run's SFT rows and train seeds, in DPO's order."""
    import random as _random

    from seedfactory.judges.pairs import minimal_edit_pairs
    from seedfactory.schemas import Example, SeedExample
    from seedfactory.train.data import dpo_order
    from seedfactory.validators.values import is_stated

    rows = [Example.model_validate_json(j) for j in lines(run / "judge" / "sft.jsonl")]
    rows += [SeedExample.model_validate_json(j) for j in lines(run / "split" / "train.jsonl")]
    return dpo_order(minimal_edit_pairs(rows, schema, _random.Random(seed), PER_PROMPT, is_stated), seed)


def as_records(pairs: list[dict]) -> list[dict]:
    return [{"prompt": [{"role": "user", "content": p["prompt"]}],
             "chosen": [{"role": "assistant", "content": p["chosen"]}],
             "rejected": [{"role": "assistant", "content": p["rejected"]}]} for p in pairs]


def heldout_score(model_dir: Path, adapter: Path, cases: list, schema: dict) -> float | None:
    from seedfactory.train.evaluate import generate_answers, score_json

    if not cases:
        return None
    answers = generate_answers(model_dir, adapter, [c.prompt for c in cases], 160, 16)
    return round(score_json(answers, [c.output for c in cases], schema)["value"], 4)


def one_run(run: Path, variants: list[str], work: Path, k: int, heldout: bool = False) -> dict:
    import yaml

    from seedfactory.schemas import PreferencePair, SeedExample
    from seedfactory.schemas.config import TrainConfig
    from seedfactory.train.data import dpo_order, dpo_records
    from seedfactory.train.dpo import train_preference
    from seedfactory.train.evaluate import generate_answers, score_json
    from seedfactory.util.models import resolve_model
    from seedfactory.util.stats import paired_difference

    conf = yaml.safe_load((run / "config.yaml").read_text())
    seed, schema = conf["seed"], json.loads((run / "split" / "schema.json").read_text())
    model_dir = resolve_model(conf["train"]["student"])
    judged = dpo_order([PreferencePair.model_validate_json(j) for j in lines(run / "judge" / "pairs.jsonl")], seed)
    old = json.loads((run / "eval.json").read_text())
    sft_case = [json.loads(j)["sft_score"]["field_match"] for j in lines(run / "evaluate" / "answers.jsonl")]
    cases = [SeedExample.model_validate_json(j) for j in lines(run / "split" / "eval.jsonl")]
    report: dict = {"run": str(run), "seed": seed, "sft": old["sft"]["value"], "dpo_old": old["dpo"]["value"],
                    "judge_pairs": len(judged), "variants": {},
                    "five_judge_pairs": [{"chosen": p.chosen, "rejected": p.rejected[:300]} for p in judged[:5]]}
    held = [SeedExample.model_validate_json(j) for j in lines(run / "split" / "heldout.jsonl")] if heldout else []
    if held:
        report["heldout_sft"] = heldout_score(model_dir, run / "adapter_sft", held, schema)
        report["heldout_n"] = len(held)
        log(f"seed {seed} SFT on {len(held)} held-out seeds: {report['heldout_sft']}")
    onpolicy, minimal = None, None
    for name in variants:
        source, over, extra = VARIANTS[name]
        if source == "onpolicy" and onpolicy is None:
            cached = work / f"onpolicy-seed{seed}.json"
            if cached.is_file():
                onpolicy = json.loads(cached.read_text())
            else:
                onpolicy = onpolicy_pairs(run, model_dir, schema, k, seed)
                cached.write_text(json.dumps(onpolicy, ensure_ascii=False, indent=1))
            report["onpolicy"] = {k2: onpolicy[k2] for k2 in ("asked", "k", "seconds")} | {
                "pairs": len(onpolicy["pairs"]), "five_pairs": onpolicy["pairs"][:5]}
        if source == "minimal" and minimal is None:
            minimal = minimal_pairs(run, schema, seed)
            report["minimal"] = {"pairs": len(minimal), "kinds": dict(sorted(
                Counter(p.rejected_id.rsplit(":", 1)[1] for p in minimal).items())),
                "five_pairs": [{"chosen": p.chosen, "rejected": p.rejected} for p in minimal[:5]]}
        if source == "onpolicy":
            records = as_records(onpolicy["pairs"])
            random.Random(seed).shuffle(records)
        else:
            records = dpo_records(minimal if source == "minimal" else judged)
        cfg = TrainConfig(**{**conf["train"], **over, "threads": 1})
        adapter = work / f"seed{seed}-{name}"
        log(f"seed {seed} {name}: DPO on {len(records)} pairs ...")
        stats = train_preference(model_dir, run / "adapter_sft", records, adapter, cfg, seed, extra=extra)
        sc = score_json(generate_answers(model_dir, adapter, [c.prompt for c in cases], 160, 16),
                        [c.output for c in cases], schema)
        new_case = [p["field_match"] for p in sc["per_example"]]
        report["variants"][name] = {
            "dpo_new": round(sc["value"], 4), "schema_valid": round(sc["schema_valid"], 4),
            "new_minus_sft": paired_difference(new_case, sft_case, 2000, seed),
            "pairs": len(records), "steps": cfg.dpo_steps, "train_seconds": stats["seconds"],
            "last_loss": stats.get("last_loss"), "rewards_margin_last": stats.get("rewards_margin_last")}
        if held:
            report["variants"][name]["heldout"] = heldout_score(model_dir, adapter, held, schema)
        log(f"seed {seed} {name}: {json.dumps(report['variants'][name])}")
        (work / f"seed{seed}-report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="finished run directories (read only)")
    p.add_argument("--variants", default="judge,onpolicy", help=f"comma-separated, of {', '.join(VARIANTS)}")
    p.add_argument("--work", type=Path, default=None, help="where adapters and sampled pairs go (default: a temp dir)")
    p.add_argument("--heldout", action="store_true", help="also score the run's held-out seeds (for choosing settings)")
    p.add_argument("--k", type=int, default=2, help="answers sampled per training prompt for on-policy pairs")
    args = p.parse_args()
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        p.error(f"--variants: unknown {unknown}; choose from {list(VARIANTS)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="dpo-pairs-"))
    work.mkdir(parents=True, exist_ok=True)
    reports = [one_run(r, variants, work, args.k, args.heldout) for r in args.runs]
    mean = {v: round(sum(r["variants"][v]["dpo_new"] - r["sft"] for r in reports) / len(reports), 4) for v in variants}
    old = round(sum(r["dpo_old"] - r["sft"] for r in reports) / len(reports), 4)
    print(json.dumps({"runs": reports, "mean_dpo_minus_sft": mean, "mean_old_dpo_minus_sft": old}))


if __name__ == "__main__":
    main()
