"""Benchmark: raw text to near-duplicate clusters, this project (numpy bulk MinHash-LSH) against
datasketch `MinHash.update`, datasketch `MinHash.bulk` and rensa, in one process on one corpus,
the same word 3-shingles and the same true-Jaccard verification of LSH candidates for all; then
precision/recall against all-pairs true Jaccard on a smaller corpus, and the cost curve (seconds,
peak RSS) of this project alone at larger sizes, each size in its own process (its cold start,
importing and loading the compiled kernels, timed apart). Contenders run once untimed on a slice first; each timed
figure is the best of --repeat runs.

The corpus is built from the Self-Instruct seed instructions: "originals" splice the start of
one seed onto the end of another (so many share half their words: hard negatives), and planted
variants copy an earlier prompt with a few word edits (swap, insert, substitute, delete), which
lands them on both sides of the threshold. Brute force gives the true pairs; LSH recall and
precision are measured against them. Progress goes to stdout; the last line is one JSON object.

    .venv/bin/python -m bench.dedup [--n 20000] [--pr-n 3000] [--curve 10000,100000]
    .venv/bin/python -m bench.dedup --only-project --n 1000000     # one cost-curve point
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from seedfactory.validators.dedup import near_duplicate_clusters
from seedfactory.validators.lsh import RECALL_WEIGHTS, ShingleIndex, lsh_params
from seedfactory.validators.similarity import jaccard, shingles

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


def true_pairs(sets: list[frozenset[str]], threshold: float) -> set[tuple[int, int]]:
    """All pairs at or above the threshold by exact Jaccard (a sparse matrix product)."""
    from scipy import sparse

    vocab: dict[str, int] = {}
    rows = [i for i, s in enumerate(sets) for _ in s]
    cols = [vocab.setdefault(x, len(vocab)) for s in sets for x in s]
    m = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(sets), len(vocab)))
    inter = sparse.triu(m @ m.T, k=1).tocoo()
    sizes = np.array([len(s) for s in sets])
    jac = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    hit = jac >= threshold
    return set(zip(inter.row[hit].tolist(), inter.col[hit].tolist()))


def clusters_from_pairs(n: int, pairs) -> list[list[int]]:
    """Connected components, as the project computes them (scipy), for every contender."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    p = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    _, labels = connected_components(coo_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n)),
                                     directed=False)
    out: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        out.setdefault(lab, []).append(i)
    return sorted(m for m in out.values() if len(m) > 1)


def verified(sets, candidates, threshold):
    return [(i, j) for i, j in candidates if jaccard(sets[i], sets[j]) >= threshold]


def run_project(corpus, threshold, num_perm):
    index = ShingleIndex(corpus, threshold=threshold, num_perm=num_perm)
    return sorted(near_duplicate_clusters(index)), index


def run_datasketch(corpus, threshold, num_perm, bulk: bool):
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    sets = [shingles(t) for t in corpus]
    shingle_s = time.perf_counter() - t0
    if bulk:
        mhs = MinHash.bulk([[s.encode("utf-8") for s in x] for x in sets], num_perm=num_perm)
    else:
        template = MinHash(num_perm=num_perm)
        mhs = []
        for x in sets:
            m = template.copy()
            for s in x:
                m.update(s.encode("utf-8"))
            mhs.append(m)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=RECALL_WEIGHTS)
    with lsh.insertion_session() as session:
        for i, m in enumerate(mhs):
            session.insert(i, m, check_duplication=False)
    cands = {(i, j) for i, m in enumerate(mhs) for j in lsh.query(m) if j > i}
    return clusters_from_pairs(len(sets), verified(sets, cands, threshold)), mhs, shingle_s


def run_rensa(corpus, threshold, bands, rows):
    """rensa's LSH needs bands dividing num_perm: bands x rows permutations, our bands and rows."""
    import rensa

    t0 = time.perf_counter()
    sets = [shingles(t) for t in corpus]
    shingle_s = time.perf_counter() - t0
    mhs = rensa.RMinHash.from_token_sets([list(x) for x in sets], bands * rows, 1)
    lsh = rensa.RMinHashLSH(threshold, bands * rows, bands)
    lsh.insert_many(mhs)
    cands = {(i, j) for i, found in enumerate(lsh.query_all(mhs)) for j in found if j > i}
    return clusters_from_pairs(len(sets), verified(sets, cands, threshold)), shingle_s


def timed(fn, *args, repeat: int = 1, **kw):
    """fn's result and its best wall time over `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t0)
    return out, best


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM (ru_maxrss can carry a parent's peak across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cost_point(n: int, args) -> dict:
    """This project alone on n documents, in a fresh process (so peak RSS is its own)."""
    cmd = [sys.executable, "-m", "bench.dedup", "--only-project", "--n", str(n), "--seed", str(args.seed),
           "--threshold", str(args.threshold), "--num-perm", str(args.num_perm), "--seeds-file", str(args.seeds_file)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def only_project(args, corpus) -> dict:
    """One cost-curve point: the cold start (import and load the compiled kernels, on 100
    documents) and then the whole corpus, timed apart."""
    _, cold = timed(run_project, corpus[:100], args.threshold, args.num_perm)
    base = peak_rss_mb()
    (clusters, _), secs = timed(run_project, corpus, args.threshold, args.num_perm)
    result = {"docs": len(corpus), "seconds": round(secs, 2), "docs_per_s": round(len(corpus) / secs),
              "cold_start_seconds": round(cold, 2), "clusters": len(clusters), "peak_rss_mb": peak_rss_mb(),
              "rss_before_mb": base}
    print(json.dumps(result), flush=True)
    return result


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000, help="documents in the speed corpus")
    p.add_argument("--pr-n", type=int, default=3000, help="documents in the precision/recall corpus")
    p.add_argument("--curve", default="10000,100000", help="cost-curve sizes, comma-separated ('' for none)")
    p.add_argument("--only-project", action="store_true", help="time this project alone (one curve point)")
    p.add_argument("--threshold", type=float, default=0.7, help="Jaccard of a near-duplicate pair")
    p.add_argument("--num-perm", type=int, default=128, help="MinHash permutations")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per contender; the best counts")
    p.add_argument("--warmup", type=int, default=1000, help="documents each contender runs on once, untimed, first")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds-file", type=Path, default=SEEDS, help="Self-Instruct seed_tasks.jsonl")
    args = p.parse_args(argv)

    bases = load_bases(args.seeds_file)
    corpus = build_corpus(args.n, bases, random.Random(args.seed))
    if args.only_project:
        return only_project(args, corpus)
    print(f"corpus: {len(corpus)} prompts from {len(bases)} seed instructions", flush=True)
    bands, rows = lsh_params(args.threshold, args.num_perm, RECALL_WEIGHTS)  # cached for everyone
    # Every contender runs once untimed (imports, compiled-kernel cache loads); the project's cold
    # first call is reported apart.
    warm = corpus[: args.warmup]
    _, cold_s = timed(run_project, warm, args.threshold, args.num_perm)
    run_datasketch(warm, args.threshold, args.num_perm, bulk=True)
    run_datasketch(warm, args.threshold, args.num_perm, bulk=False)
    run_rensa(warm, args.threshold, bands, rows)
    print(f"warm-up on {len(warm)}: project's cold first call {cold_s:.2f}s", flush=True)
    rep = args.repeat
    (ours, index), ours_s = timed(run_project, corpus, args.threshold, args.num_perm, repeat=rep)
    print(f"project: {ours_s:.2f}s, {len(ours)} clusters (b={bands}, r={rows})", flush=True)
    (ds_bulk, _, bulk_sh), bulk_s = timed(run_datasketch, corpus, args.threshold, args.num_perm, bulk=True, repeat=rep)
    print(f"datasketch bulk: {bulk_s:.2f}s (shingling {bulk_sh:.2f}s), {len(ds_bulk)} clusters", flush=True)
    (ds_upd, mhs, upd_sh), upd_s = timed(run_datasketch, corpus, args.threshold, args.num_perm, bulk=False, repeat=rep)
    print(f"datasketch update: {upd_s:.2f}s (shingling {upd_sh:.2f}s), {len(ds_upd)} clusters", flush=True)
    (rn, rn_sh), rn_s = timed(run_rensa, corpus, args.threshold, bands, rows, repeat=rep)
    print(f"rensa ({bands * rows} perms, {bands} bands): {rn_s:.2f}s (shingling {rn_sh:.2f}s), "
          f"{len(rn)} clusters", flush=True)
    identical = bool(np.array_equal(index.table.signatures, np.stack([m.hashvalues for m in mhs])))

    pr_corpus = corpus[: args.pr_n]
    truth = true_pairs([shingles(t) for t in pr_corpus], args.threshold)
    found = {(i, j) for i, j, _ in ShingleIndex(pr_corpus, threshold=args.threshold,
                                                 num_perm=args.num_perm).similar_pairs()}
    print(f"precision/recall on {len(pr_corpus)}: {len(truth)} true pairs, {len(found)} found", flush=True)

    curve = [cost_point(int(n), args) for n in args.curve.split(",") if n]
    for c in curve:
        print(f"cost curve: {c['docs']} docs {c['seconds']}s, peak RSS {c['peak_rss_mb']} MB", flush=True)
    result = {
        "docs": len(corpus), "docs_per_s": round(len(corpus) / ours_s), "seconds": round(ours_s, 3),
        "datasketch_update_seconds": round(upd_s, 3), "datasketch_bulk_seconds": round(bulk_s, 3),
        "rensa_seconds": round(rn_s, 3), "repeat": rep,
        "project_cold_first_call_seconds": round(cold_s, 3), "contender_shingling_seconds": round(rn_sh, 3),
        "ratio_vs_datasketch_update": round(upd_s / ours_s, 1), "ratio_vs_datasketch_bulk": round(bulk_s / ours_s, 1),
        "ratio_vs_rensa": round(rn_s / ours_s, 2),
        "ratio_vs_rensa_without_its_shingling": round((rn_s - rn_sh) / ours_s, 2),
        "same_clusters_as_datasketch": ours == ds_upd == ds_bulk, "clusters": len(ours),
        "signatures_identical_to_datasketch": identical,
        "pr_docs": len(pr_corpus), "true_pairs": len(truth),
        "precision": round(len(truth & found) / len(found), 4) if found else 1.0,
        "recall": round(len(truth & found) / len(truth), 4) if truth else 1.0,
        "cost_curve": curve, "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
