"""Duplicate removal: exact duplicates, near-duplicate prompts (MinHash-LSH, verified by true
Jaccard), and decontamination against the held-out seeds.

Near-duplicates are judged on the prompt (instruction + input) of a prompt group: rows sharing
`prompt_id` answer one prompt, so they are never near-duplicates of each other, and when two
prompts collide the whole losing group goes. Every reject names the kept row (or held-out seed)
in dup_of with the similarity the decision was made on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from seedfactory.schemas import Example
from seedfactory.validators.base import ValidationEnv
from seedfactory.validators.similarity import (
    ShingleIndex,
    jaccard,
    normalise,
    prompt_groups,
    shingles,
)


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


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]  # path halving keeps chains short
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def near_duplicate_clusters(sets: list[frozenset[str]], *, threshold: float,
                            num_perm: int) -> list[list[int]]:
    """Clusters (of 2 or more positions, ascending) joined by verified near-duplicate pairs.

    Union-find makes the relation transitive: if a~b and b~c, all three are one cluster even
    when a and c are below the threshold, so at most one of them survives.
    """
    uf = _UnionFind(len(sets))
    for i, j, _ in ShingleIndex(sets, threshold=threshold, num_perm=num_perm).similar_pairs():
        uf.union(i, j)
    clusters: dict[int, list[int]] = {}
    for i in range(len(sets)):
        clusters.setdefault(uf.find(i), []).append(i)
    return [members for members in clusters.values() if len(members) > 1]


def near_dedup(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Drop prompt groups whose prompt is a near-duplicate of a better group's prompt.

    In each cluster the group with the most rows is kept (ties: the one seen first); every row
    of the other groups is rejected as "near_duplicate", dup_of the kept group's first row,
    similarity the true Jaccard to the kept prompt. Holds all rows in memory.
    """
    cfg = env.cfg
    rows = list(rows)
    groups = list(prompt_groups(rows).values())  # in order of first appearance
    sets = [shingles(g[0].prompt) for g in groups]
    dropped: dict[str, tuple[str, float]] = {}  # prompt_id -> (kept row id, similarity)
    for members in near_duplicate_clusters(sets, threshold=cfg.near_dup_threshold, num_perm=cfg.num_perm):
        keep = min(members, key=lambda i: (-len(groups[i]), i))
        for i in members:
            if i != keep:
                dropped[groups[i][0].prompt_id] = (groups[keep][0].id, jaccard(sets[keep], sets[i]))
    for row in rows:
        if row.prompt_id in dropped:
            kept_id, sim = dropped[row.prompt_id]
            env.reject(row, "near_duplicate", dup_of=kept_id, similarity=sim)
        else:
            yield row


def decontaminate(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Drop rows whose prompt is too close to a held-out seed's prompt (the evaluation set).

    A MinHash-LSH over the held-out prompts proposes seeds; true Jaccard on the same shingles
    decides. Rejected as "contaminated", dup_of the most similar held-out seed. Streams.
    """
    cfg = env.cfg
    heldout = env.heldout
    if not heldout:
        yield from rows
        return
    index = ShingleIndex([shingles(s.prompt) for s in heldout],
                         threshold=cfg.decontam_threshold, num_perm=cfg.num_perm)
    verdicts: dict[str, tuple[str, float] | None] = {}  # per prompt group: best seed match or None
    for row in rows:
        if row.prompt_id not in verdicts:
            best = index.matches(shingles(row.prompt))[:1]
            verdicts[row.prompt_id] = (heldout[best[0][0]].id, best[0][1]) if best else None
        hit = verdicts[row.prompt_id]
        if hit is None:
            yield row
        else:
            env.reject(row, "contaminated", dup_of=hit[0], similarity=hit[1])
