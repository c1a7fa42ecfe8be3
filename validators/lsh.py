"""MinHash-LSH over texts, addressed by list position; every candidate is verified by true Jaccard.

LSH only proposes pairs (it has false positives and, near the threshold, false negatives); a pair
is a near-duplicate only when the exact Jaccard of its shingle sets reaches the threshold. Bands
and rows are datasketch's choice for the same threshold and weights; signatures, banding and
verification run in bulk with numpy (validators/minhash.py).

    index = ShingleIndex(texts, threshold=0.7, num_perm=128)
    index.similar_pairs()        # [(i, j, jaccard), ...] i < j, verified
    index.matches("a new text")  # [(i, jaccard), ...] best first, verified
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from seedfactory.validators.minhash import ShingleTable, band_keys, band_pairs, pair_jaccard, shingle_table

# (false positive, false negative) weights for the choice of bands and rows. Every candidate is
# verified exactly, so a false positive costs one set intersection while a false negative is a
# duplicate that survives: lean hard towards recall. At threshold 0.7 and 128 permutations this
# picks 20 bands of 6 rows, which finds a pair sitting exactly at the threshold 92% of the time
# (the even default, 14 x 9, finds it 44% of the time).
RECALL_WEIGHTS = (0.1, 0.9)


@lru_cache(maxsize=32)  # pragma: no mutate (the cache size changes speed only)
def lsh_params(threshold: float, num_perm: int, weights: tuple[float, float] = RECALL_WEIGHTS) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and negative rates, as datasketch
    picks them (its own routine, so the two indexes band alike)."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, *weights)


def identical_sets(table: ShingleTable) -> np.ndarray:
    """For each text, the first text with the same non-empty shingle set (itself if none).

    Sets are grouped by an order-free 64-bit hash, then each grouping is confirmed by Jaccard
    1.0, so a hash collision only costs a lost shortcut.
    """
    n = len(table)
    lens = np.diff(table.offsets)
    mixed = table.fps * np.uint64(0x9E3779B97F4A7C15)  # pragma: no mutate (any hash: Jaccard confirms groups)
    mixed ^= mixed >> np.uint64(31)  # pragma: no mutate (any hash: Jaccard confirms groups)
    key = np.zeros(n, dtype=np.uint64)
    nonempty = lens > 0  # pragma: no mutate (empty texts join no group)
    if nonempty.any():
        key[nonempty] = np.add.reduceat(mixed, table.offsets[:-1][nonempty])
    # no mutate: any hash: Jaccard confirms groups
    key ^= lens.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)  # pragma: no mutate
    first = np.arange(n)
    idx = np.flatnonzero(nonempty)
    _, start, inverse = np.unique(key[idx], return_index=True, return_inverse=True)
    # no mutate: numpy reads reshape(-2) as reshape(-1)
    cand = idx[start][inverse.reshape(-1)]  # pragma: no mutate; np.unique's index is the first occurrence
    moved = np.flatnonzero(cand != idx)
    if len(moved):
        same = pair_jaccard(table, np.stack([cand[moved], idx[moved]], axis=1)) == 1.0
        first[idx[moved[same]]] = cand[moved[same]]
    return first


class ShingleIndex:
    """Shingle fingerprints, signatures and band keys of `texts`, queried by position."""

    # no mutate: every caller passes keywords; a pool (workers > 1) gives the same table
    def __init__(self, texts: Sequence[str], *,  # pragma: no mutate
                 threshold: float, num_perm: int, weights: tuple[float, float] = RECALL_WEIGHTS,
                 exclude: Iterable[str] = (), workers: int = 1):  # pragma: no mutate
        if num_perm < 2:
            raise ValueError(f"validate.num_perm must be at least 2 for MinHash-LSH, got {num_perm}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.exclude = frozenset(exclude)
        self.bands, self.rows = lsh_params(threshold, num_perm, weights)
        self.table = shingle_table(texts, num_perm=num_perm, exclude=self.exclude, workers=workers)
        self._keys: np.ndarray | None = None  # band keys, built on the first query

    def __len__(self) -> int:
        return len(self.table)

    def candidate_pairs(self) -> set[tuple[int, int]]:
        """Every unordered pair (i < j) LSH proposes among the indexed texts (unverified)."""
        return set(map(tuple, self._pairs().tolist()))

    def _pairs(self) -> np.ndarray:
        return band_pairs(self.table.signatures, self.bands, self.rows)

    def similar_pairs(self) -> list[tuple[int, int, float]]:
        """Verified pairs (i < j, Jaccard) at or above the threshold, in position order."""
        pairs, sims = self.similar_pair_arrays()
        return [(i, j, s) for (i, j), s in zip(pairs.tolist(), sims.tolist())]

    def similar_pair_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """similar_pairs as arrays: (m, 2) positions and their m Jaccard values."""
        pairs = self._pairs()
        sims = pair_jaccard(self.table, pairs)
        hit = sims >= self.threshold
        return pairs[hit], sims[hit]

    def cluster_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Verified pairs whose connected components are those of all similar pairs, cheaper.

        Texts with the same shingle set are all joined to their first copy (Jaccard 1.0, checked)
        and only first copies go through LSH, so a corpus with thousands of copies of one prompt
        costs linear work, not a quadratic bucket.
        """
        first = identical_sets(self.table)
        reps = np.flatnonzero(first == np.arange(len(first)))
        pairs = band_pairs(self.table.signatures[reps], self.bands, self.rows)
        pairs = reps[pairs] if len(pairs) else pairs
        sims = pair_jaccard(self.table, pairs)
        hit = sims >= self.threshold
        copies = np.flatnonzero(first != np.arange(len(first)))
        copy_pairs = np.stack([first[copies], copies], axis=1)
        return (np.concatenate([pairs[hit], copy_pairs]),
                np.concatenate([sims[hit], np.ones(len(copies))]))

    def candidates(self, query: str) -> list[int]:
        """Positions LSH proposes for a query text (unverified; may include false positives)."""
        return self._candidates(self._query_table(query))

    def _query_table(self, query: str):
        return shingle_table([query], num_perm=self.num_perm, exclude=self.exclude)

    def _candidates(self, q) -> list[int]:
        if self._keys is None:
            self._keys = band_keys(self.table.signatures, self.bands, self.rows)
        qkeys = band_keys(q.signatures, self.bands, self.rows)
        return np.flatnonzero((self._keys == qkeys).any(axis=1)).tolist()

    def matches(self, query: str) -> list[tuple[int, float]]:
        """Verified (position, Jaccard) at or above the threshold, best first, ties by position."""
        q = self._query_table(query)
        cands = self._candidates(q)
        if not cands:
            return []
        pairs = np.stack([np.asarray(cands), np.zeros(len(cands), dtype=np.int64)], axis=1)
        sims = pair_jaccard(self.table, pairs, other=q).tolist()
        found = [(i, s) for i, s in zip(cands, sims) if s >= self.threshold]
        return sorted(found, key=lambda p: (-p[1], p[0]))  # pragma: no mutate (stable sort; positions already ascend)
