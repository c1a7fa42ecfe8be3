"""Benchmark: the whole run on the defaults, timed per stage (the issue's bar: `make run` within
600 s on 2 cores). Runs `seedfactory run` in-process into a fresh folder (so nothing resumes), then
prints each stage's seconds and share of the run, the parts of train and evaluate, and, as the last
line, the stage table as JSON.

`--fake` is the quick check: the fake teacher and judge, the hashing embedder, 12 tasks and a few
training steps (the student is still the real one, trained and evaluated), so the table's shape
and the non-teacher stages can be looked at in a few minutes. `key=value` overrides go on top.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.run_time                      # the defaults (real teacher)
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.run_time --fake eval.max_new_tokens=48
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.run_time --out runs/timed   # keep the run folder
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from seedfactory.pipeline import run  # noqa: E402
from seedfactory.schemas import load_config  # noqa: E402
from seedfactory.timing import stage_times  # noqa: E402

FAKE = ["teacher.backend=fake", "validate.embedder=hash", "validate.label_check=false", "generate.num_tasks=12",
        "train.sft_steps=4", "train.dpo_steps=2", "train.save_steps=2", "eval.max_new_tokens=48"]
BAR_SECONDS = 600  # the budget for `make run` on the defaults


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fake", action="store_true", help="fake teacher and judge, a short training: a quick check")
    p.add_argument("--out", type=Path, default=None, help="run folder to keep (must not hold a run); default: a "
                   "temporary one, removed after")
    p.add_argument("overrides", nargs="*", help="key=value config overrides")
    args = p.parse_args()

    overrides = (FAKE if args.fake else []) + args.overrides
    cfg = load_config(None, overrides)
    if args.out is not None and (args.out / "config.yaml").exists():
        raise SystemExit(f"{args.out}: already holds a run (it would resume, not be timed); pick a new folder")
    tmp = None if args.out is not None else tempfile.mkdtemp(prefix="run_time-")
    out = args.out or Path(tmp) / "run"
    started = time.monotonic()
    try:
        stats = run(cfg, out, progress=False)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    wall = round(time.monotonic() - started, 1)
    rows = stage_times(stats)
    for r in sorted(rows, key=lambda r: -r["seconds"]):
        parts = ", ".join(f"{k} {v} s" for k, v in r.get("parts", {}).items())
        print(f"{r['stage']:<10}{r['seconds']:>8} s {r['share']:>6.0%}  {parts}", flush=True)
    total = round(sum(r["seconds"] for r in rows), 1)
    print(json.dumps({"bench": "run_time", "mode": "fake" if args.fake else "defaults", "overrides": overrides,
                      "stages_seconds": total, "wall_seconds": wall, "bar_seconds": BAR_SECONDS,
                      "within_bar": wall <= BAR_SECONDS, "cpus": os.cpu_count(), "stages": rows}), flush=True)


if __name__ == "__main__":
    main()
