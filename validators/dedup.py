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
from seedfactory.validators.quality import grounding_failures
from seedfactory.validators.similarity import normalise, prompt_groups, template_shingles

# Clusters larger than this skip the all-pairs centrality (keep-best falls back to the order seen).
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


# How an output-first input was written (the suffix of lineage.strategy, generators/output_first.py):
# by code (the seed's own layout filled with the target's values, or a teacher rewrite of that
# layout filled the same way) states exactly the target's values; a teacher text was only checked.
CODE_WRITTEN = ("template", "rewrite")


def group_signals(group: list[Example]) -> tuple[int, int, float, int, int]:
    """What is known of a prompt group when validation runs (before any judge or consensus score),
    larger is better, in rank order:

    1. its output is right by construction: the group holds an output-first target row
       (lineage.label == "target": the input was written for that output);
    2. its input was written by code, not by the teacher (CODE_WRITTEN);
    3. the share of its rows' output values stated in the input (every field of a dict output,
       not only those the grounding check applies to; 0 for text outputs, so it never decides there);
    4. the answers that survived validation (more answers give consensus more to choose from);
    5. the distinct words of its prompt (of near-duplicates, the one with more to say).
    """
    target = any(r.lineage.label == "target" for r in group)
    code = any(r.lineage.strategy.rpartition(":")[2] in CODE_WRITTEN for r in group)
    stated = [grounded_share(r) for r in group]
    words = len(set(normalise(group[0].prompt).split()))
    return int(target), int(code), sum(stated) / len(stated), len(group), words


def grounded_share(row: Example) -> float:
    """Share of a dict output's non-null values that its input states; 0.0 for anything else."""
    if not isinstance(row.output, dict):
        return 0.0
    fields = [f for f, v in row.output.items() if v is not None]
    if not fields:
        return 0.0
    return 1 - len(grounding_failures(row, fields)) / len(fields)


def centrality(index: ShingleIndex, members: list[int]) -> list[float]:
    """Sum of each member's Jaccard to the others: the highest is the cluster's medoid."""
    if len(members) > MEDOID_MAX:
        return [0.0] * len(members)  # pragma: no mutate (every member gets the same centrality)
    m = np.asarray(members)
    ii, jj = np.triu_indices(len(m), k=1)  # pragma: no mutate (k=0 adds the same to every member)
    sims = pair_jaccard(index.table, np.stack([m[ii], m[jj]], axis=1))
    return (np.bincount(ii, sims, len(m)) + np.bincount(jj, sims, len(m))).tolist()


def keep_best(index: ShingleIndex, groups: list[list[Example]], members: list[int]) -> int:
    """The cluster member to keep: the best `group_signals`, then the medoid (most similar to the
    rest), then the one seen first.

    Not a judge score: validation runs before judging, so no row has one here (ranking by it fell
    back to the next key every time).
    """
    central = centrality(index, members)
    signals = [group_signals(groups[i]) for i in members]
    ranked = sorted(range(len(members)), key=lambda k: (
        tuple(-x for x in signals[k]), -central[k], members[k]))
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
