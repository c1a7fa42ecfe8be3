"""The statistics every part of seedfactory reports with, written once: the Wilson score interval
of a share, Cohen's kappa (and how a kappa is written), and percentile-bootstrap intervals of a
mean and of a paired difference.

    wilson_upper(3, 12)                  # 95% upper bound on 3/12 (the review gate's defect rate)
    wilson_interval(3, 12)               # (lower, upper)
    cohen_kappa([("keep", "keep"), ("drop", "keep")])   # {"kappa": ..., "n": 2, "agree": 0.5}
    bootstrap_ci([0.0, 1.0, 1.0], resamples=2000)       # [low, high] of the mean
    paired_difference(after, before, resamples=2000)    # {"value", "ci95", "n"}

A leaf: numpy is imported only by the bootstrap, nothing of ours at all, so stage packages
(review/, train/) and the spine (publish, report, evaluation) share the same numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

Z95 = 1.96


def wilson_upper(k: int, n: int, z: float = Z95) -> float:
    """Upper end of the Wilson score interval for k / n (1.0 when n is 0: nothing is known)."""
    if n == 0:
        return 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of k / n; (0, 1) when n is 0. The lower end is one minus the
    upper end of the complement, so both ends come from the one formula above."""
    if n == 0:
        return 0.0, 1.0
    return max(0.0, 1 - wilson_upper(n - k, n, z)), wilson_upper(k, n, z)


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> dict:
    """Cohen's kappa of two raters' labels; kappa is None with no pairs or when chance agreement
    is 1 (both raters gave one and the same answer only)."""
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return {"kappa": None, "n": 0, "agree": None}
    observed = sum(a == b for a, b in pairs) / n
    left, right = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(left[k] * right[k] for k in left) / (n * n)
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return {"kappa": None if kappa is None else round(kappa, 4), "n": n, "agree": round(observed, 4)}


def format_kappa(k: dict) -> str:
    """A `cohen_kappa` result as the report and the dataset card write it: two decimals and the
    number of rated pairs, or "undefined" (no pairs, or one rater gave one answer only)."""
    value = "undefined" if k["kappa"] is None else f"{k['kappa']:.2f}"
    return f"{value} (n={k['n']})"


def bootstrap_ci(values: list[float], resamples: int, seed: int = 0) -> list[float]:
    """95% percentile-bootstrap interval of the mean of per-example scores ([0, 0] with none)."""
    import numpy as np

    if not values:
        return [0.0, 0.0]
    x = np.asarray(values, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    means = x[idx].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


def paired_difference(a: list[float], b: list[float], resamples: int, seed: int = 0) -> dict:
    """Mean of a - b over the same cases, with its 95% bootstrap interval (cases resampled together)."""
    if len(a) != len(b):
        raise ValueError(f"paired_difference: {len(a)} and {len(b)} scores")
    diffs = [x - y for x, y in zip(a, b)]
    return {"value": round(sum(diffs) / len(diffs), 4) if diffs else 0.0,
            "ci95": bootstrap_ci(diffs, resamples, seed), "n": len(diffs)}
