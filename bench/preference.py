"""Benchmark: SFT alone against SFT then each preference method, on the same SFT adapter.

For each domain (a bundled seed set with a schema) and seed: a run on the fake teacher up to
publish (no vLLM teacher needed), one LoRA SFT adapter on its sft split, then from that same
adapter each method with the same steps and seed:
  dpo         offline DPO on the run's judged pairs (train.preference=dpo)
  online_dpo  the student's best vs worst of k samples, ranked by the run's checks (seedfactory.train.rl)
  grpo        trl's GRPO with the same rewards (seedfactory.train.rewards)
Every adapter answers the domain's evaluation file (its first --eval-cases cases, greedy) and is
scored: field match (the evaluate stage's exact match), schema-valid share, invented share (the
share of answer span values the input does not state, `rewards.invented_share`). Each method's
field match is paired with SFT's over every case of every domain and seed (95% bootstrap
interval, `seedfactory.util.stats.paired_difference`); CPU seconds are this process's, per method.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python -m bench.preference --domains invoice-fields \\
        --seeds 0 --sft-steps 12 --steps 2 --eval-cases 12 [--methods dpo,online_dpo,grpo] [--set k=v ...]

Progress lines go to stderr; the last stdout line is one JSON object with best_method,
best_minus_sft, ci_low, ci_high, invented_sft, invented_best and methods {name: figures}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

METHODS = ("dpo", "online_dpo", "grpo")
FAKE = ("teacher.backend=fake", "validate.embedder=hash", "generate.responses_per_prompt=3", "review.sample_size=0",
        "validate.label_check=false", "train.curve=false")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def published(domain: str, seed: int, tasks: int, work: Path, extra: list[str]):
    """A fake-teacher run of the domain up to publish; (config, run context, data)."""
    from seedfactory.context import RunContext
    from seedfactory.pipeline import run
    from seedfactory.schemas import load_config
    from seedfactory.train.recipe import RunPaths, read_published

    cfg = load_config(None, [*FAKE, f"seeds.path={domain}", f"seed={seed}", f"generate.num_tasks={tasks}", *extra])
    out = work / f"{domain}-{seed}"
    run(cfg, out, progress=False, until="publish", log=lambda m: None)
    return cfg, RunContext(cfg, out, progress=False), read_published(RunPaths(out), cfg)


def evaluate(model_dir: Path, adapter: Path, cases: list, schema: dict, reward_ctx, max_new_tokens: int) -> dict:
    from seedfactory.train.evaluate import generate_answers, score_json
    from seedfactory.train.rewards import invented_share

    answers = generate_answers(model_dir, adapter, [c.prompt for c in cases], max_new_tokens, batch_size=16)
    report = score_json(answers, [c.output for c in cases], schema)
    return {"field_match": [p["field_match"] for p in report["per_example"]],
            "schema_valid": [float(p["schema_valid"]) for p in report["per_example"]],
            "invented": invented_share(answers, [c.input or c.prompt for c in cases], reward_ctx),
            "answers": answers}


def train_method(method: str, model_dir: Path, sft: Path, out: Path, cfg, data, reward_ctx) -> dict:
    from seedfactory.train.data import dpo_records, rl_records
    from seedfactory.train.dpo import train_preference
    from seedfactory.train.rl import train_grpo, train_online_dpo

    t = cfg.train.model_copy(update={"preference": method})
    if method == "dpo":
        if not data.pairs:
            return {"skipped": "no judged pairs"}
        return train_preference(model_dir, sft, dpo_records(data.pairs), out, t, cfg.seed)
    train = train_grpo if method == "grpo" else train_online_dpo
    return train(model_dir, sft, rl_records(data.sft), out, t, cfg.seed, reward_ctx)


def one(domain: str, seed: int, args, work: Path) -> dict:
    from seedfactory.train.data import sft_records
    from seedfactory.train.rewards import reward_context
    from seedfactory.train.sft import train_sft
    from seedfactory.util.models import resolve_model

    overrides = [f"train.sft_steps={args.sft_steps}", f"train.dpo_steps={args.steps}", *args.set]
    cfg, ctx, data = published(domain, seed, args.tasks, work, overrides)
    schema, cases = ctx.output_schema, ctx.eval_cases[: args.eval_cases or None]
    reward_ctx = reward_context(schema, ctx.kinds, [r.output for r in data.sft if isinstance(r.output, dict)])
    model_dir = resolve_model(cfg.train.student)
    log(f"{domain} seed {seed}: {len(data.sft)} sft rows, {len(data.pairs)} pairs, {len(cases)} eval cases")
    run = work / f"{domain}-{seed}"
    cpu = time.process_time()
    if not (run / "adapter_sft").is_dir():  # --work keeps what a killed bench finished
        train_sft(model_dir, sft_records(data.sft), run / "adapter_sft", cfg.train, seed)
    out = {"sft": {"cpu_seconds": round(time.process_time() - cpu, 1),
                   **evaluate(model_dir, run / "adapter_sft", cases, schema, reward_ctx, args.max_new_tokens)}}
    for method in args.methods:
        cpu, kept = time.process_time(), run / f"stats_{method}.json"
        if (run / f"adapter_{method}").is_dir() and kept.is_file():
            stats = json.loads(kept.read_text())
        else:
            stats = train_method(method, model_dir, run / "adapter_sft", run / f"adapter_{method}", cfg, data,
                                 reward_ctx)
            stats["bench_cpu_seconds"] = round(time.process_time() - cpu, 1)
            kept.write_text(json.dumps(stats))
        seconds = stats["bench_cpu_seconds"]
        if "skipped" in stats:
            log(f"  {method}: skipped ({stats['skipped']})")
            continue
        out[method] = {"cpu_seconds": seconds, "curve": stats.get("curve", []),
                       **evaluate(model_dir, run / f"adapter_{method}", cases, schema, reward_ctx,
                                  args.max_new_tokens)}
        fm = out[method]["field_match"]
        sft_fm = sum(out["sft"]["field_match"]) / len(fm)
        log(f"  {method}: field match {sum(fm) / len(fm):.3f} (sft {sft_fm:.3f}), invented "
            f"{out[method]['invented']} (sft {out['sft']['invented']}), {seconds} CPU s")
    out["inputs"] = [c.input or c.prompt for c in cases]
    return out


def summary(results: list[dict], methods: list[str], resamples: int = 2000) -> dict:
    """Per method: field match (mean over cases of every domain and seed), paired difference with
    SFT and its interval, schema-valid share, invented share (mean over runs), CPU seconds."""
    from seedfactory.util.stats import paired_difference

    def mean(xs):  # None: not measured (a method trained by an earlier, killed bench run)
        xs = [x for x in xs if x is not None]
        return round(sum(xs) / len(xs), 4) if xs else None

    table = {}
    for m in ["sft", *methods]:
        runs = [r for r in results if m in r]
        if not runs:
            continue
        fm = [x for r in runs for x in r[m]["field_match"]]
        row = {"field_match": mean(fm), "schema_valid": mean([x for r in runs for x in r[m]["schema_valid"]]),
               "invented": mean([r[m]["invented"] for r in runs]),
               "cpu_seconds": mean([r[m]["cpu_seconds"] for r in runs]), "runs": len(runs)}
        if m != "sft":
            diff = paired_difference(fm, [x for r in runs for x in r["sft"]["field_match"]], resamples)
            row |= {"minus_sft": diff["value"], "ci95": diff["ci95"], "n": diff["n"],
                    "invented_sft": mean([r["sft"]["invented"] for r in runs])}
        table[m] = row
    trained = [m for m in methods if m in table]
    best = max(trained, key=lambda m: table[m]["minus_sft"]) if trained else None
    return {"best_method": best,
            "best_minus_sft": table[best]["minus_sft"] if best else None,
            "ci_low": table[best]["ci95"][0] if best else None, "ci_high": table[best]["ci95"][1] if best else None,
            "invented_sft": table["sft"]["invented"] if "sft" in table else None,
            "invented_best": table[best]["invented"] if best else None, "methods": table}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--domains", default="invoice-fields,contact-details,appointment-requests")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--tasks", type=int, default=16, help="generate.num_tasks of each fake run")
    ap.add_argument("--sft-steps", type=int, default=32)
    ap.add_argument("--steps", type=int, default=8, help="train.dpo_steps: each method's optimiser steps")
    ap.add_argument("--eval-cases", type=int, default=0, help="the evaluation file's first N cases (0: all)")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--examples", type=int, default=5, help="answers of SFT and the best method shown side by side")
    ap.add_argument("--work", default=None, help="folder for the runs, kept: a rerun reuses finished runs, adapters "
                    "and method stats (default: a temporary one, removed)")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="more config overrides")
    args = ap.parse_args(argv)
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        ap.error(f"--methods: unknown {', '.join(unknown)}; one of {', '.join(METHODS)}")
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    with tempfile.TemporaryDirectory(prefix="bench-preference-") as tmp:
        work = Path(args.work or tmp)
        started, results = time.monotonic(), []
        for domain in [d for d in args.domains.split(",") if d]:
            for seed in [int(s) for s in args.seeds.split(",") if s]:
                results.append(one(domain, seed, args, work) | {"domain": domain, "seed": seed})
    out = summary(results, args.methods)
    best = out["best_method"]
    if best:  # unseen inputs: the first run's first cases, SFT's answer beside the best method's
        r = next(r for r in results if best in r)
        out["side_by_side"] = [{"input": r["inputs"][i][:160], "sft": r["sft"]["answers"][i],
                                best: r[best]["answers"][i]} for i in range(min(args.examples, len(r["inputs"])))]
    out["curves"] = {f"{r['domain']}-{r['seed']}": r["grpo"]["curve"] for r in results if "grpo" in r}
    out["settings"] = {"domains": args.domains, "seeds": args.seeds, "tasks": args.tasks, "sft_steps": args.sft_steps,
                       "steps": args.steps, "eval_cases": args.eval_cases, "max_new_tokens": args.max_new_tokens,
                       "set": args.set, "teacher": "fake", "wall_seconds": round(time.monotonic() - started, 1)}
    for m, row in out["methods"].items():
        diff = "" if m == "sft" else f"(- sft {row['minus_sft']} {row['ci95']}) "
        log(f"{m:>10}: field match {row['field_match']} {diff}schema-valid {row['schema_valid']} "
            f"invented {row['invented']} CPU s {row['cpu_seconds']}")
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
