"""Duplicate removal: exact duplicates, near-duplicate prompts (MinHash-LSH, verified by true
Jaccard), and decontamination against the held-out seeds.

Near-duplicates are judged on the prompt (instruction + input) of a prompt group: rows sharing
`prompt_id` answer one prompt, so they are never near-duplicates of each other, and when two
prompts collide the whole losing group goes. Every reject names the kept row (or held-out seed)
in dup_of with the similarity the decision was made on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from seedfactory.schemas import Example
from seedfactory.validators.base import ValidationEnv
from seedfactory.validators.lsh import ShingleIndex
from seedfactory.validators.minhash import pair_jaccard
from seedfactory.validators.similarity import normalise, prompt_groups, template_shingles

# Clusters larger than this skip the all-pairs centrality (keep-best falls back to size, order).
MEDOID_MAX = 64


def exact_key(row: Example) -> tuple[str, str, str]:
    return normalise(row.instruction), normalise(row.input), normalise(row.output_text)


def exact_dedup(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Keep the first row of each (instruction, input, output) after lowercasing and collapsing
    whitespace; later copies are rejected as "exact_duplicate" naming the first."""
    first: dict[tuple[str, str, str], str] = {}
    for row in rows:
        key = exact_key(row)
        if key in first:
            env.reject(row, "exact_duplicate", dup_of=first[key], similarity=1.0)
            continue
        first[key] = row.id
        yield row


def near_duplicate_clusters(index: ShingleIndex) -> list[list[int]]:
    """Clusters (of 2 or more positions, ascending; clusters by first member) joined by verified
    near-duplicate pairs.

    Connected components make the relation transitive: if a~b and b~c, all three are one cluster
    even when a and c are below the threshold, so at most one of them survives.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs, _ = index.cluster_edges()
    n = len(index)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)  # pragma: no mutate (scipy's weak components are the same)
    members = np.flatnonzero(np.bincount(labels)[labels] > 1)  # singletons are most of the labels
    order = members[np.argsort(labels[members], kind="stable")]
    bounds = [0, *(np.flatnonzero(np.diff(labels[order])) + 1).tolist(), len(order)]
    flat = order.tolist()  # one conversion, then list slices: np.split + tolist per cluster is slower
    return sorted(flat[a:b] for a, b in zip(bounds, bounds[1:])) if flat else []


def group_score(group: list[Example]) -> float | None:
    """Mean judge (else consensus) score of a prompt group's rows, None when none is scored."""
    vals = [r.scores.get("judge", r.scores.get("consensus")) for r in group]
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def centrality(index: ShingleIndex, members: list[int]) -> list[float]:
    """Sum of each member's Jaccard to the others: the highest is the cluster's medoid."""
    if len(members) > MEDOID_MAX:
        return [0.0] * len(members)  # pragma: no mutate (every member gets the same centrality)
    m = np.asarray(members)
    ii, jj = np.triu_indices(len(m), k=1)  # pragma: no mutate (k=0 adds the same to every member)
    sims = pair_jaccard(index.table, np.stack([m[ii], m[jj]], axis=1))
    return (np.bincount(ii, sims, len(m)) + np.bincount(jj, sims, len(m))).tolist()


def keep_best(index: ShingleIndex, groups: list[list[Example]], members: list[int]) -> int:
    """The cluster member to keep: best judge/consensus score where known, then the most rows,
    then the medoid (most similar to the rest), then the one seen first."""
    central = centrality(index, members)
    scores = [group_score(groups[i]) for i in members]
    ranked = sorted(range(len(members)), key=lambda k: (
        -(scores[k] if scores[k] is not None else float("-inf")), -len(groups[members[k]]), -central[k], members[k]))
    return members[ranked[0]]


def near_dedup(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Drop prompt groups whose prompt is a near-duplicate of a better group's prompt.

    Shingles every seed shares (a template) are left out. In each cluster one group is kept
    (see keep_best); every row of the others is rejected as "near_duplicate", dup_of the kept
    group's first row, similarity the true Jaccard to the kept prompt. Holds all rows in memory.
    """
    cfg = env.cfg
    rows = list(rows)
    groups = list(prompt_groups(rows).values())  # in order of first appearance
    index = ShingleIndex([g[0].prompt for g in groups],  # pragma: no mutate (a group shares its prompt)
                         threshold=cfg.near_dup_threshold, num_perm=cfg.num_perm,
                         exclude=template_shingles(s.prompt for s in env.seeds), workers=cfg.workers)
    dropped: dict[str, tuple[str, float]] = {}  # prompt_id -> (kept row id, similarity)
    for members in near_duplicate_clusters(index):
        keep = keep_best(index, groups, members)
        others = [i for i in members if i != keep]
        sims = pair_jaccard(index.table, np.array([[keep, i] for i in others])).tolist()
        for i, sim in zip(others, sims):
            # no mutate: a prompt group shares its prompt_id
            dropped[groups[i][0].prompt_id] = (groups[keep][0].id, sim)  # pragma: no mutate
    for row in rows:
        if row.prompt_id in dropped:
            kept_id, sim = dropped[row.prompt_id]
            env.reject(row, "near_duplicate", dup_of=kept_id, similarity=sim)
        else:
            yield row


def decontaminate(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Drop rows whose prompt is too close to a held-out seed's prompt (the evaluation set).

    A MinHash-LSH over the held-out prompts proposes seeds; true Jaccard on the same shingles
    (less the seeds' shared template) decides. Rejected as "contaminated", dup_of the most
    similar held-out seed. Streams.
    """
    cfg = env.cfg
    heldout = env.heldout
    if not heldout:
        yield from rows
        return
    index = ShingleIndex([s.prompt for s in heldout], threshold=cfg.decontam_threshold, num_perm=cfg.num_perm,
                         exclude=template_shingles(s.prompt for s in env.seeds))
    verdicts: dict[str, tuple[str, float] | None] = {}  # per prompt group: best seed match or None
    for row in rows:
        if row.prompt_id not in verdicts:
            best = index.matches(row.prompt)[:1]  # pragma: no mutate (only best[0] is read)
            # no mutate: best holds one match
            verdicts[row.prompt_id] = (heldout[best[0][0]].id, best[0][1]) if best else None  # pragma: no mutate
        hit = verdicts[row.prompt_id]
        if hit is None:
            yield row
        else:
            env.reject(row, "contaminated", dup_of=hit[0], similarity=hit[1])
