"""Benchmark: why the teacher runs as a batched in-process vLLM engine, and what N requests in
flight buy against a vLLM server.

Same chat prompts, same model (SmolLM2-135M-Instruct), same max_tokens, greedy, in one script:
  1. vLLM in-process, all N requests in one batch (what the generate stage does);
  2. vLLM in-process, one request at a time (a naive loop over an engine), on the first --seq-n
     prompts (a rate: each request costs the same alone, so fewer of them measure it);
  3. the request cache replaying run 1 (what a resumed run pays);
  4. vLLM's OpenAI-compatible server on 127.0.0.1 (one thread, as in the tests) through the openai
     backend: N requests with --concurrency in flight, then --seq-n requests one at a time;
  5. optionally (--transformers) transformers `generate`, one request at a time.
Rows are completed requests. Progress lines go to stderr; the last stdout line is one JSON object
with rows_per_s, sequential_rows_per_s, ratio_vs_sequential and server_requests_per_s.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m bench.generation [--n 64] [--max-tokens 48]
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
                              messages=[Message(role="user", content=f"({i}) " + seeds[i % len(seeds)].prompt)],
                              sampling=Sampling(temperature=0.0, max_tokens=max_tokens, seed=i))
            for i in range(n)]


def timed(label: str, fn, n: int) -> dict:
    t0 = time.monotonic()
    results = fn()
    dt = time.monotonic() - t0
    tokens = sum(r.completion_tokens for r in results)
    errors = sum(r.error is not None for r in results)
    log(f"{label}: {n} requests, {tokens} tokens in {dt:.1f} s ({n / dt:.2f} rows/s, {tokens / dt:.1f} tok/s)"
        + (f", {errors} errors" if errors else ""))
    return {"seconds": round(dt, 2), "rows_per_s": round(n / dt, 3), "tok_per_s": round(tokens / dt, 1),
            "errors": errors}


def hf_sequential(model_dir: Path, reqs: list[GenerationRequest]):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from seedfactory.schemas import GenerationResult

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    out = []
    for r in reqs:
        ids = tok.apply_chat_template([m.model_dump() for m in r.messages], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)
        with torch.no_grad():
            gen = model.generate(**ids, max_new_tokens=r.sampling.max_tokens, do_sample=False,
                                 pad_token_id=tok.eos_token_id)
        out.append(GenerationResult(request_key=r.key, model="hf", prompt_hash=r.prompt_hash, sampling=r.sampling,
                                    completion_tokens=gen.shape[1] - ids["input_ids"].shape[1]))
    return out


def embedded(reqs, seq_n: int) -> tuple[dict, Path]:
    from seedfactory.generators.vllm_engine import VLLMBackend
    from seedfactory.util.models import resolve_model

    log("loading the vLLM engine ...")
    cfg = ModelConfig(max_model_len=1024)
    engine = VLLMBackend(cfg, resolve_model(cfg.model))
    try:
        engine.generate(reqs[:2])  # warm-up
        with tempfile.TemporaryDirectory() as tmp:
            cached = CachedBackend(engine, Path(tmp) / "cache.sqlite")
            batched = timed("vllm batched", lambda: cached.generate(reqs), len(reqs))
            seq = timed("vllm one at a time", lambda: [engine.generate([r])[0] for r in reqs[:seq_n]], seq_n)
            replay = timed("cache replay", lambda: cached.generate(reqs), len(reqs))
            cached.db.close()
        return {"batched": batched, "sequential": seq, "cache_replay": replay}, engine.model_dir
    finally:
        engine.close()


def served(model_dir: Path, reqs, seq_n: int, concurrency: int) -> dict:
    from seedfactory.generators.openai_backend import OpenAIBackend
    from seedfactory.generators.vllm_server import VLLMServer

    log("starting the vLLM server ...")
    with VLLMServer(model_dir, "smollm2-135m") as srv:
        def backend(c):
            return OpenAIBackend(ModelConfig(backend="openai", base_url=srv.url, concurrency=c, timeout=600))

        backend(2).generate(reqs[:2])  # warm-up
        many = timed(f"server, {concurrency} in flight", lambda: backend(concurrency).generate(reqs), len(reqs))
        one = timed("server, one at a time", lambda: backend(1).generate(reqs[:seq_n]), seq_n)
    return {"in_flight": many, "one_at_a_time": one}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64, help="requests in the batched / in-flight runs")
    p.add_argument("--seq-n", type=int, default=12, help="requests in the one-at-a-time runs")
    p.add_argument("--max-tokens", type=int, default=48)
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight against the server")
    p.add_argument("--no-server", action="store_true", help="skip the server runs")
    p.add_argument("--transformers", action="store_true", help="also time transformers generate, one at a time")
    args = p.parse_args()
    reqs = requests(args.n, args.max_tokens)
    engine, model_dir = embedded(reqs, args.seq_n)
    report = {"n": args.n, "seq_n": args.seq_n, "max_tokens": args.max_tokens, "engine": engine,
              "rows_per_s": engine["batched"]["rows_per_s"],
              "sequential_rows_per_s": engine["sequential"]["rows_per_s"],
              "ratio_vs_sequential": round(engine["batched"]["rows_per_s"] / engine["sequential"]["rows_per_s"], 2)}
    if args.transformers:
        report["transformers_sequential"] = timed("transformers one at a time",
                                                  lambda: hf_sequential(model_dir, reqs[:args.seq_n]), args.seq_n)
    if not args.no_server:
        server = served(model_dir, reqs, args.seq_n, args.concurrency)
        report |= {"server": server, "concurrency": args.concurrency,
                   "server_requests_per_s": server["in_flight"]["rows_per_s"],
                   "server_sequential_requests_per_s": server["one_at_a_time"]["rows_per_s"],
                   "server_ratio": round(server["in_flight"]["rows_per_s"] / server["one_at_a_time"]["rows_per_s"], 2)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
