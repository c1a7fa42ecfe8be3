"""Choose which rows a human reviews: a few from every judge-score band and from many prompts.

A random sample of a mostly-good dataset shows the reviewer mostly good rows and tells them little
about the judge. So the sample takes rows from the low, mid and high score bands in turn (rows the
judge never scored form their own band), and within a band cycles through prompt groups so that
one prompt's sibling responses do not crowd out the rest.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from seedfactory.schemas import Example

# Band edges on the judge's 1-5 rubric: low < 2.5 <= mid < 4.0 <= high.
DEFAULT_EDGES = (2.5, 4.0)
BANDS = ("low", "mid", "high", "unscored")


def score_band(score: float | None, edges: Sequence[float] = DEFAULT_EDGES) -> str:
    if score is None:
        return "unscored"
    low, high = edges
    return "low" if score < low else "mid" if score < high else "high"


def _interleave(groups: list[list[Example]]) -> list[Example]:
    """First row of every group, then the second of every group, and so on."""
    out = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def sample_for_review(examples: list[Example], scores: dict[str, float], k: int, seed: int,
                      edges: Sequence[float] = DEFAULT_EDGES) -> list[Example]:
    """k rows spread over score bands and prompt groups, the same rows for the same seed.

    Bands take turns (low first, so a short sample still shows what the judge disliked); a band
    that runs out leaves its turns to the others. Returns every row when k >= len(examples), and
    the chosen rows in their input order.
    """
    if k <= 0:
        return []
    if k >= len(examples):
        return list(examples)
    rng = random.Random(seed)
    # Sorted by id so the sample depends on the rows and the seed, not on the order they came in.
    by_band: dict[str, dict[str, list[Example]]] = {}
    for ex in sorted(examples, key=lambda e: e.id):
        band = score_band(scores.get(ex.id), edges)
        by_band.setdefault(band, {}).setdefault(ex.prompt_id, []).append(ex)
    queues = []
    for band in BANDS:
        groups = list(by_band.get(band, {}).values())
        for g in groups:
            rng.shuffle(g)
        rng.shuffle(groups)
        if groups:
            queues.append(_interleave(groups))
    picked: list[Example] = []
    while len(picked) < k:  # ends: the queues hold every row, and k < len(examples)
        for q in queues:
            if q and len(picked) < k:
                picked.append(q.pop(0))
    chosen = {ex.id for ex in picked}
    return [ex for ex in examples if ex.id in chosen]
