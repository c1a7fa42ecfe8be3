"""Benchmark: a bundled schema domain from its seeds alone against its seeds plus the bundled
unlabelled pool (seeds/pools/<domain>/), labelled by the teacher (generate.strategy label_pool), and
the same pool masked (pool.pii=mask). Per run, from its directory (bench/domains.py `measure`):
rows published, valid and grounded shares, distinct layouts, labels supported; the pool's funnel and
personal data; with --train, the student's base / SFT / DPO field match with 95% intervals.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m bench.pool [--domain appointment-requests] [--tasks 240]
        [--teacher fake|vllm] [--train] [--set KEY=VALUE ...]

The fake teacher (the default) answers a schema request by copying words, numbers and dates of the
input into the fields and labels at random: its figures test the plumbing, not the idea. Last stdout
line: one JSON object {"runs": {NAME: {...}}, "settings": {...}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.domains import log, measure

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--domain", default="appointment-requests")
    ap.add_argument("--tasks", type=int, default=240, help="generate.num_tasks of every run (the pool run labels "
                                                           "this many pool inputs)")
    ap.add_argument("--teacher", choices=["fake", "vllm"], default="fake")
    ap.add_argument("--train", action="store_true", help="train and evaluate the student (slow on a CPU)")
    ap.add_argument("--out", default="runs/bench-pool")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    from seedfactory.pipeline import run
    from seedfactory.schemas import load_config
    from seedfactory.util.files import read_json

    pool = ROOT / "seeds" / "pools" / args.domain
    base = [f"seeds.path={args.domain}", f"generate.num_tasks={args.tasks}", f"teacher.backend={args.teacher}",
            *(["validate.embedder=hash"] if args.teacher == "fake" else []), *args.set]
    runs = {"seeds_only": base, "seeds_pool": base + [f"seeds.pool={pool}"],
            "seeds_pool_masked": base + [f"seeds.pool={pool}", "pool.pii=mask"]}
    table = {}
    for name, overrides in runs.items():
        out, t0 = Path(args.out) / name, time.monotonic()
        log(f"bench.pool: {name} ...")
        run(load_config(None, overrides), out, progress=False, until="evaluate" if args.train else "judge",
            log=lambda m, name=name: log(f"  {name}: {m}"))
        stages = read_json(out / "stats.json")["stages"]
        got = measure(out, args.domain)
        table[name] = {k: got[k] for k in ("rows", "valid_share", "grounded_share", "labels_supported",
                                           "distinct_layouts", "top_layout_share", "wording_not_seed",
                                           "base", "sft", "dpo")} | {
            "candidates": stages["generate"]["out"], "kept_after_validate": stages["validate"]["out"],
            "validate_grounded_share": stages["validate"]["quality"].get("grounded_share"),
            "pool": {k: stages["pool"].get(k) for k in ("files_read", "files_skipped", "units", "out", "pii")},
            "seconds": round(time.monotonic() - t0, 1)}
        t = table[name]
        log(f"{name}: candidates {t['candidates']} validated {t['kept_after_validate']} rows {t['rows']} "
            f"valid {t['valid_share']} grounded {t['grounded_share']} labels {t['labels_supported']} "
            f"layouts {t['distinct_layouts']} (top {t['top_layout_share']}) base {t['base']} sft {t['sft']}")
    out = {"runs": table, "settings": {"domain": args.domain, "tasks": args.tasks, "teacher": args.teacher,
                                       "train": args.train, "set": args.set}}
    print(json.dumps(out, ensure_ascii=False))
    return out


if __name__ == "__main__":
    main()
    sys.exit(0)
