"""Benchmark: the evaluation's student answers (base, SFT, final adapter) the old way against the new,
side by side in one process, on the same prompts, adapters and token budget.

"old" is `eval.engine=merged` (the default): each system loads the base, merges its adapter and
answers in batches of `eval.batch_size` sorted by length. "new" is `eval.engine=transformers`: one
base with both adapters loaded, every system's prompts in one pass of peft mixed-adapter batches.
Measured on a loaded 2-core machine (12 cases, 48 tokens, batch 8): identical answers, 1.16x by wall
time but 0.92x by CPU time (the unmerged LoRA layers cost more per token than the loads saved), so
merged stays the default. Both are greedy float32; `identical` says whether every answer of
every system is the same. Prompts are the default seed set's eval cases (the first `--cases`); the
adapters are a run's (`--run RUN_DIR`: adapter_sft/ and adapter/) or LoRA adapters with random
non-zero factors (r=8, all linear layers, like the run's). Ratios are given by wall time and by this
process's CPU time (one thread: the CPU-time ratio is what survives a shared, loaded machine).
The order alternates over `--rounds` (old, new, new, old, ...) so neither side gets the quieter
minutes. Last line JSON.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python -m bench.eval_speed [--cases 16] [--run runs/default]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from seedfactory.evaluation import student_answers  # noqa: E402
from seedfactory.schemas import load_config  # noqa: E402
from seedfactory.schemas.config import EvalConfig  # noqa: E402
from seedfactory.seedset import read_seed_set  # noqa: E402
from seedfactory.util.models import resolve_model  # noqa: E402


def random_adapters(base_dir: Path, root: Path) -> dict[str, Path]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = {}
    for seed, name in enumerate(["sft", "dpo"]):
        torch.manual_seed(seed)
        lora = LoraConfig(r=8, lora_alpha=8, target_modules="all-linear", init_lora_weights=False,
                          task_type="CAUSAL_LM")
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        get_peft_model(model, lora).save_pretrained(root / name, safe_serialization=True)
        out[name] = root / name
    return out


def timed(fn):
    t0, c0 = time.monotonic(), time.process_time()
    out = fn()
    return out, {"seconds": round(time.monotonic() - t0, 2), "cpu_seconds": round(time.process_time() - c0, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=16, help="eval cases (the first N of the default seed set's)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default: eval.max_new_tokens")
    p.add_argument("--batch-size", type=int, default=None, help="default: eval.batch_size")
    p.add_argument("--run", type=Path, default=None, help="a run directory whose adapters to use")
    p.add_argument("--rounds", type=int, default=1, help="old/new pairs, order alternating")
    args = p.parse_args()

    cfg = load_config(None, [])
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    cases = read_seed_set(cfg).eval_cases[: args.cases]
    prompts = [c.prompt for c in cases]
    base_dir = resolve_model(cfg.train.student)
    e = cfg.eval.model_copy(update={k: v for k, v in {"max_new_tokens": args.max_new_tokens,
                                                       "batch_size": args.batch_size}.items() if v})
    with tempfile.TemporaryDirectory() as tmp:
        paths = ({"sft": args.run / "adapter_sft", "dpo": args.run / "adapter"} if args.run
                 else random_adapters(base_dir, Path(tmp)))
        systems = {"base": None, **paths}
        runs: dict[str, list[dict]] = {"old": [], "new": []}
        answers = {}
        for r in range(args.rounds):
            for side in (("old", "new") if r % 2 == 0 else ("new", "old")):
                engine = "merged" if side == "old" else "transformers"
                ec = EvalConfig.model_validate(e.model_dump() | {"engine": engine})
                (answers[side], _), t = timed(lambda ec=ec: student_answers(base_dir, systems, prompts, ec))
                runs[side].append(t)
                print(side, t, flush=True)
    best = {side: {k: min(t[k] for t in ts) for k in ("seconds", "cpu_seconds")} for side, ts in runs.items()}
    result = {"bench": "eval_speed", "cases": len(prompts), "systems": list(systems),
              "max_new_tokens": e.max_new_tokens, "batch_size": e.batch_size,
              "adapters": str(args.run) if args.run else "random LoRA r=8", "threads": torch.get_num_threads(),
              "old": best["old"], "new": best["new"],
              "speedup_wall": round(best["old"]["seconds"] / best["new"]["seconds"], 2),
              "speedup_cpu": round(best["old"]["cpu_seconds"] / best["new"]["cpu_seconds"], 2),
              "identical": answers["old"] == answers["new"],
              "differing_answers": sum(a != b for n in systems for a, b in zip(answers["old"][n], answers["new"][n]))}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
