"""Benchmark: near-duplicate prompt detection, MinHash-LSH (seedfactory.validators) against
brute-force all-pairs true Jaccard on the same word 3-shingles.

The corpus is built from the Self-Instruct seed instructions: "originals" splice the start of
one seed onto the end of another (so many share half their words: hard negatives), and planted
variants copy an earlier prompt with a few word edits (swap, insert, substitute, delete), which
lands them on both sides of the threshold. Brute force gives the true pairs; LSH recall and
precision are measured against them. Progress goes to stdout; the last line is one JSON object.

    .venv/bin/python -m bench.dedup [--n 3000] [--threshold 0.7] [--num-perm 128] [--fn-weight 0.9]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from seedfactory.validators.similarity import RECALL_WEIGHTS, ShingleIndex, jaccard, shingles

# ../shared beside the repository, where developers and CI have it
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "self-instruct" / "seed_tasks.jsonl"
FILLERS = ["please", "briefly", "also", "really", "the", "simple", "new", "carefully", "short", "each"]


def load_bases(path: Path) -> list[list[str]]:
    with path.open() as f:
        return [json.loads(line)["instruction"].split() for line in f if line.strip()]


def edit(words: list[str], rng: random.Random, vocab: list[str]) -> list[str]:
    """One to three word edits of a prompt: the planted near-duplicate."""
    w = list(words)
    for _ in range(rng.randint(1, 3)):
        op, i = rng.random(), rng.randrange(len(w))
        if op < 0.3 and len(w) > 1:
            j = min(i + 1, len(w) - 1)
            w[i], w[j] = w[j], w[i]
        elif op < 0.6:
            w.insert(i, rng.choice(FILLERS))
        elif op < 0.85:
            w[i] = rng.choice(vocab)
        elif len(w) > 3:
            del w[i]
    return w


def build_corpus(n: int, bases: list[list[str]], rng: random.Random, planted: float = 0.3) -> list[str]:
    vocab = sorted({w for b in bases for w in b})
    prompts: list[list[str]] = []
    for _ in range(n):
        if prompts and rng.random() < planted:
            prompts.append(edit(rng.choice(prompts), rng, vocab))
        else:
            a, b = rng.sample(bases, 2)
            prompts.append(a[: max(1, len(a) // 2)] + b[len(b) // 2:])
    return [" ".join(p) for p in prompts]


def brute_force_pairs(sets: list[frozenset[str]], threshold: float) -> set[tuple[int, int]]:
    pairs, n, step = set(), len(sets), max(1, len(sets) // 6)
    for i in range(n):
        a = sets[i]
        for j in range(i + 1, n):
            if jaccard(a, sets[j]) >= threshold:
                pairs.add((i, j))
        if (i + 1) % step == 0:
            print(f"  brute force: {i + 1}/{n} rows", flush=True)
    return pairs


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=3000, help="prompts in the corpus")
    p.add_argument("--threshold", type=float, default=0.7, help="Jaccard of a near-duplicate pair")
    p.add_argument("--num-perm", type=int, default=128, help="MinHash permutations")
    p.add_argument("--fn-weight", type=float, default=RECALL_WEIGHTS[1],
                   help="weight of false negatives in the LSH band choice (0.5: datasketch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds-file", type=Path, default=SEEDS, help="Self-Instruct seed_tasks.jsonl")
    args = p.parse_args(argv)

    bases = load_bases(args.seeds_file)
    corpus = build_corpus(args.n, bases, random.Random(args.seed))
    print(f"corpus: {len(corpus)} prompts from {len(bases)} seed instructions", flush=True)

    t0 = time.perf_counter()
    sets = [shingles(t) for t in corpus]
    weights = (round(1 - args.fn_weight, 6), args.fn_weight)
    index = ShingleIndex(sets, threshold=args.threshold, num_perm=args.num_perm, weights=weights)
    candidates = index.candidate_pairs()
    lsh = {(i, j) for i, j, _ in index.similar_pairs()}
    lsh_s = time.perf_counter() - t0
    print(f"lsh (b={index.lsh.b}, r={index.lsh.r}): {lsh_s:.2f}s, {len(candidates)} candidates, "
          f"{len(lsh)} verified pairs", flush=True)

    t0 = time.perf_counter()
    truth = brute_force_pairs([shingles(t) for t in corpus], args.threshold)
    brute_s = time.perf_counter() - t0
    print(f"brute force: {brute_s:.2f}s, {len(truth)} pairs", flush=True)

    missed = truth - lsh
    near_edge = sum(1 for i, j in missed if jaccard(sets[i], sets[j]) < args.threshold + 0.1)
    print(f"missed by lsh: {len(missed)} ({near_edge} within 0.1 of the threshold)", flush=True)
    result = {
        "n": len(corpus), "threshold": args.threshold, "num_perm": args.num_perm,
        "lsh_bands": index.lsh.b, "lsh_rows": index.lsh.r,
        "lsh_seconds": round(lsh_s, 3), "brute_force_seconds": round(brute_s, 3),
        "speedup": round(brute_s / lsh_s, 1),
        "true_pairs": len(truth), "lsh_candidates": len(candidates), "lsh_pairs": len(lsh),
        "recall": round(len(truth & lsh) / len(truth), 4) if truth else 1.0,
        "precision": round(len(truth & lsh) / len(lsh), 4) if lsh else 1.0,
        "candidate_precision": round(len(truth & candidates) / len(candidates), 4) if candidates else 1.0,
    }
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
