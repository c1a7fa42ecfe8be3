"""What the verdicts say about the data and the judge: defect-rate bound, training gate, kappa.

    upper = wilson_upper(rejected=3, n=12)          # 95% upper bound on the rejected share
    gate_message(counts, max_defect_rate=0.2, min_reviewed=10)  # None, or why training must not start
    cohen_kappa([("keep", "keep"), ("drop", "keep")])  # {"kappa": ..., "n": 2}

For agreement a verdict is binary: `accepted` is keep; `rejected` and `edited` are drop (the
reviewer did not take the output as written), compared with the judge's keep (the row reached the
judge's SFT set) or drop. Between two reviewers of one overlap row the same mapping is used.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from seedfactory.util.errors import SeedfactoryError


class ReviewGateError(SeedfactoryError):
    """Training refused or waiting because of the review verdicts; the message says why."""


def wilson_upper(rejected: int, n: int, z: float = 1.96) -> float:
    """Upper end of the Wilson score interval for rejected / n (1.0 when nothing was reviewed)."""
    if n == 0:
        return 1.0
    p = rejected / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def gate_message(counts: dict[str, int], max_defect_rate: float | None, min_reviewed: int) -> str | None:
    """Why training must not start yet, or None. `counts` is ReviewStore.counts()."""
    reviewed = counts.get("accepted", 0) + counts.get("rejected", 0) + counts.get("edited", 0)
    if reviewed < min_reviewed:
        return (f"training waits for review: {reviewed} of review.min_reviewed={min_reviewed} rows reviewed "
                f"({counts.get('pending', 0)} pending); review them with `seedfactory review RUN_DIR`")
    if max_defect_rate is None:
        return None
    rejected = counts.get("rejected", 0)
    upper = wilson_upper(rejected, reviewed)
    if upper > max_defect_rate:
        return (f"training refused: reviewers rejected {rejected} of {reviewed} reviewed rows "
                f"({counts.get('accepted', 0)} approved, {counts.get('edited', 0)} edited); the 95% Wilson upper "
                f"bound of the defect rate is {upper:.3f}, above review.max_defect_rate={max_defect_rate}")
    return None


def keep_label(status: str) -> str:
    return "keep" if status == "accepted" else "drop"


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> dict:
    """Cohen's kappa of two raters' labels; kappa is None with no pairs or when chance agreement is 1."""
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return {"kappa": None, "n": 0, "agree": None}
    observed = sum(a == b for a, b in pairs) / n
    left, right = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(left[k] * right[k] for k in left) / (n * n)
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return {"kappa": None if kappa is None else round(kappa, 4), "n": n, "agree": round(observed, 4)}


def agreement(reviews: list[dict], verdicts: dict[str, dict], judge_kept: set[str]) -> dict:
    """Kappa between the judge's keep/drop and the rows' final verdicts, and between the two reviewers
    of each overlap row. `reviews` is ReviewStore.reviews(), `verdicts` ReviewStore.verdicts()."""
    judge = cohen_kappa(("keep" if i in judge_kept else "drop", keep_label(v["status"]))
                        for i, v in sorted(verdicts.items()))
    by_item: dict[str, list[dict]] = {}
    for r in reviews:
        if r["reviewer"]:
            by_item.setdefault(r["item_id"], []).append(r)
    doubles = [sorted(rs, key=lambda r: r["reviewer"]) for rs in by_item.values() if len(rs) >= 2]
    between = cohen_kappa((keep_label(a["status"]), keep_label(b["status"])) for a, b, *_ in doubles)
    return {"judge_vs_reviewers": judge, "between_reviewers": between}
