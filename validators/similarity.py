"""Text similarity shared by the validators: normalisation, word shingles, true Jaccard, and a
MinHash-LSH index whose candidates are always verified by true Jaccard on the shingle sets.

LSH only proposes pairs (it has false positives and, near the threshold, false negatives); a
pair is a near-duplicate only when the exact Jaccard of its shingle sets reaches the threshold.
`python -m bench.dedup` measures the index against brute-force all-pairs Jaccard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from seedfactory.schemas import Example

if TYPE_CHECKING:
    from datasketch import MinHash

_WORD = re.compile(r"\w+")
SHINGLE_WORDS = 3
# (false positive, false negative) weights for datasketch's choice of bands and rows. Every
# candidate is verified exactly, so a false positive costs one set intersection while a false
# negative is a duplicate that survives: lean hard towards recall. At threshold 0.7 and 128
# permutations this picks 20 bands of 6 rows, which finds a pair sitting exactly at the
# threshold 92% of the time (the even default, 14 x 9, finds it 44% of the time).
RECALL_WEIGHTS = (0.1, 0.9)


def normalise(text: str) -> str:
    """Lowercase with runs of whitespace collapsed to one space: the key exact matching uses."""
    return " ".join(text.lower().split())


def words(text: str) -> list[str]:
    """Lowercase word tokens. Punctuation is dropped so it never makes two prompts differ."""
    return _WORD.findall(text.lower())


def shingles(text: str, n: int = SHINGLE_WORDS) -> frozenset[str]:
    """Word n-grams of the normalised text.

    A text under n words falls back to its word set (a 2-word prompt still has something to
    compare); a text with no word characters at all ("???") is its own single shingle. Word
    sets and n-grams never collide, since every n-gram contains a space and a word does not.
    """
    toks = words(text)
    if len(toks) >= n:
        return frozenset(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
    if toks:
        return frozenset(toks)
    norm = normalise(text)
    return frozenset([norm]) if norm else frozenset()


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a & b| / |a | b|; two empty sets share nothing we can measure, so 0."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def prompt_groups(rows: Iterable[Example]) -> dict[str, list[Example]]:
    """Rows by prompt_id, groups in order of first appearance (dicts keep insertion order).

    Rows sharing a prompt_id are responses to one prompt, so they are compared as one prompt:
    the group's first row carries the prompt text.
    """
    groups: dict[str, list[Example]] = {}
    for row in rows:
        groups.setdefault(row.prompt_id, []).append(row)
    return groups


class ShingleIndex:
    """MinHash-LSH over a list of shingle sets, addressed by list position.

    `matches` and `similar_pairs` verify every LSH candidate by true Jaccard, so callers
    only ever see pairs at or above `threshold`.
    """

    def __init__(self, sets: list[frozenset[str]], *, threshold: float, num_perm: int,
                 weights: tuple[float, float] = RECALL_WEIGHTS):
        # datasketch pulls in scipy (~0.5 s); import it when an index is built, not when
        # seedfactory.validators is imported.
        from datasketch import MinHash, MinHashLSH

        if num_perm < 2:
            raise ValueError(f"validate.num_perm must be at least 2 for MinHash-LSH, got {num_perm}")
        self.sets = sets
        self.threshold = threshold
        self.num_perm = num_perm
        self._template = MinHash(num_perm=num_perm)
        self.minhashes = [self.minhash(s) for s in sets]
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)
        with self.lsh.insertion_session() as session:
            for i, m in enumerate(self.minhashes):
                session.insert(i, m, check_duplication=False)

    def minhash(self, shingle_set: frozenset[str]) -> MinHash:
        # Copying one template reuses its permutations instead of drawing them per set.
        m = self._template.copy()
        m.update_batch([s.encode("utf-8") for s in shingle_set])
        return m

    def candidates(self, query: frozenset[str]) -> list[int]:
        """Positions LSH proposes for a query set (unverified; may include false positives)."""
        return sorted(self.lsh.query(self.minhash(query)))

    def matches(self, query: frozenset[str]) -> list[tuple[int, float]]:
        """Verified (position, Jaccard) at or above the threshold, best first, ties by position."""
        found = [(i, jaccard(query, self.sets[i])) for i in self.candidates(query)]
        return sorted([(i, j) for i, j in found if j >= self.threshold], key=lambda p: (-p[1], p[0]))

    def candidate_pairs(self) -> set[tuple[int, int]]:
        """Every unordered pair (i < j) LSH proposes among the indexed sets (unverified)."""
        pairs = set()
        for i, m in enumerate(self.minhashes):
            pairs.update((i, j) for j in self.lsh.query(m) if j > i)
        return pairs

    def similar_pairs(self) -> list[tuple[int, int, float]]:
        """Verified pairs (i < j, Jaccard) at or above the threshold, in position order."""
        out = []
        for i, j in sorted(self.candidate_pairs()):
            sim = jaccard(self.sets[i], self.sets[j])
            if sim >= self.threshold:
                out.append((i, j, sim))
        return out
