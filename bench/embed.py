"""Benchmark: the project's MiniLM embedder against the sentence-transformers default (float32),
in one process on the same sentences, and greedy diversity selection on many rows.

Sentences are the Self-Instruct seed tasks (instruction + first input), repeated with a
numbered suffix to reach --n. Each contender runs --rounds times, alternating, and its best
round counts (the machine is shared). Then `greedy_select` over --diversity-n random unit
vectors, half of them near copies, times the blocked selection (no n x n matrix). Last line JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.embed [--n 512] [--rounds 2] [--diversity-n 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from seedfactory.validators.diversity import greedy_select
from seedfactory.validators.embedders import MiniLMEmbedder

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "self-instruct" / "seed_tasks.jsonl"


def sentences(path: Path, n: int) -> list[str]:
    with path.open() as f:
        tasks = [json.loads(line) for line in f if line.strip()]
    base = [f"{t['instruction']} {t['instances'][0]['input']}".strip() for t in tasks]
    return [f"{base[i % len(base)]} ({i})" for i in range(n)]


def default_encode(model, texts: list[str]) -> np.ndarray:
    """sentence-transformers' defaults: float32, batch 32, normalised."""
    return model.encode(texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)


def diversity(n: int, dim: int = 384, threshold: float = 0.92) -> dict:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    half = n // 2
    vecs[half:] = vecs[:n - half] + 0.2 * rng.normal(size=(n - half, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    t0 = time.perf_counter()
    nearest, _ = greedy_select(vecs, 0, threshold)
    secs = time.perf_counter() - t0
    return {"diversity_rows": n, "diversity_seconds": round(secs, 2), "diversity_dropped": int((nearest >= 0).sum()),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=512, help="sentences embedded per round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--diversity-n", type=int, default=100_000, help="rows for greedy diversity selection")
    p.add_argument("--seeds-file", type=Path, default=SEEDS)
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # a shared 2-core machine: one thread each, as in the pipeline
    texts = sentences(args.seeds_file, args.n)
    from sentence_transformers import SentenceTransformer

    from seedfactory.validators.embedders import minilm_model_dir

    ours = MiniLMEmbedder()
    default = SentenceTransformer(str(minilm_model_dir()), device="cpu", local_files_only=True)
    default_encode(default, texts[:32])
    ours.embed(texts[:32])  # warm-up
    best = {"default": float("inf"), "project": float("inf")}
    for r in range(args.rounds):
        for name, fn in (("default", lambda: default_encode(default, texts)), ("project", lambda: ours.embed(texts))):
            t0 = time.perf_counter()
            vecs = fn()
            best[name] = min(best[name], time.perf_counter() - t0)
            if name == "default":
                ref = vecs
            else:
                mine = vecs
        print(f"round {r + 1}: default {args.n / best['default']:.1f}/s, project {args.n / best['project']:.1f}/s "
              f"(bf16 weights: {ours.bf16}, batch {ours.batch_size})", flush=True)
    cos = np.einsum("ij,ij->i", ref, mine)
    result = {"sentences": args.n, "sentences_per_s": round(args.n / best["project"], 1),
              "default_sentences_per_s": round(args.n / best["default"], 1),
              "ratio_vs_default": round(best["default"] / best["project"], 2),
              "min_cosine_vs_default": round(float(cos.min()), 5), "bf16_weights": ours.bf16,
              "batch_size": ours.batch_size}
    if args.diversity_n:
        result |= diversity(args.diversity_n)
        print(f"diversity: {result['diversity_rows']} rows in {result['diversity_seconds']}s", flush=True)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
