"""Benchmark: why the teacher runs as a batched in-process vLLM engine.

Same N chat prompts, same model (SmolLM2-135M-Instruct), same max_tokens, in one script:
  1. vLLM in-process, all N requests in one batch (what `seedfactory run` does);
  2. vLLM in-process, one request at a time (what a naive loop over an engine does);
  3. transformers `generate`, one request at a time (the no-engine baseline);
  4. the request cache replaying run 1 (what a resumed run pays).
Throughput is completion tokens per second; ratios are against the sequential vLLM loop.
Progress lines go to stderr; the last line on stdout is one JSON object.

    .venv/bin/python -m bench.generation [--n 24] [--max-tokens 96]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from seedfactory.generators.cache import CachedBackend
from seedfactory.schemas import GenerationRequest, Message, Sampling, load_seeds
from seedfactory.schemas.config import ModelConfig
from seedfactory.seeds import resolve_seed_path


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def requests(n: int, max_tokens: int) -> list[GenerationRequest]:
    seeds = load_seeds(resolve_seed_path("support-bikeshop"))
    return [GenerationRequest(model="smollm2-135m",
                              messages=[Message(role="user", content=seeds[i % len(seeds)].prompt)],
                              sampling=Sampling(temperature=0.0, max_tokens=max_tokens, seed=i))
            for i in range(n)]


def timed(label: str, fn) -> tuple[float, int]:
    t0 = time.monotonic()
    tokens = fn()
    dt = time.monotonic() - t0
    log(f"{label}: {tokens} tokens in {dt:.1f} s ({tokens / dt:.1f} tok/s)")
    return dt, tokens


def hf_sequential(model_dir: Path, reqs: list[GenerationRequest]) -> int:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    total = 0
    for r in reqs:
        ids = tok.apply_chat_template([m.model_dump() for m in r.messages], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=r.sampling.max_tokens, do_sample=False,
                                 pad_token_id=tok.eos_token_id)
        total += out.shape[1] - ids["input_ids"].shape[1]
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--max-tokens", type=int, default=96)
    args = p.parse_args()
    from seedfactory.generators.vllm_engine import VLLMBackend
    from seedfactory.util.models import resolve_model

    reqs = requests(args.n, args.max_tokens)
    log("loading the vLLM engine ...")
    cfg = ModelConfig(max_model_len=1024)
    engine = VLLMBackend(cfg, resolve_model(cfg.model))
    try:
        engine.generate(reqs[:2])  # warm-up
        with tempfile.TemporaryDirectory() as tmp:
            cached = CachedBackend(engine, Path(tmp) / "cache.sqlite")
            batched = timed("vllm batched", lambda: sum(r.completion_tokens for r in cached.generate(reqs)))
            seq = timed("vllm one at a time", lambda: sum(engine.generate([r])[0].completion_tokens for r in reqs))
            replay = timed("cache replay", lambda: sum(r.completion_tokens for r in cached.generate(reqs)))
            cached.db.close()
        model_dir = engine.model_dir
    finally:
        engine.close()
    hf = timed("transformers one at a time", lambda: hf_sequential(model_dir, reqs))

    def tps(x):
        return x[1] / x[0]

    print(json.dumps({
        "n": args.n, "max_tokens": args.max_tokens,
        "tok_per_s": {"vllm_batched": round(tps(batched), 1), "vllm_sequential": round(tps(seq), 1),
                      "transformers_sequential": round(tps(hf), 1)},
        "seconds": {"vllm_batched": round(batched[0], 2), "vllm_sequential": round(seq[0], 2),
                    "transformers_sequential": round(hf[0], 2), "cache_replay": round(replay[0], 3)},
        "speedup_batched_vs_sequential_vllm": round(tps(batched) / tps(seq), 2),
        "speedup_batched_vs_transformers": round(tps(batched) / tps(hf), 2),
        "speedup_cache_replay_vs_batched": round(batched[0] / max(replay[0], 1e-6), 1),
    }))


if __name__ == "__main__":
    main()
