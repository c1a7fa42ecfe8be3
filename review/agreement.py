"""What the verdicts say about the data and the judge: defect-rate bound, training gate, kappa.

    gate_message(counts, max_defect_rate=0.2, min_reviewed=10)  # None, or why training must not start
    agreement(store.reviews(), store.verdicts(), judge_kept)    # kappa: judge vs reviewers, reviewer pairs

For agreement a verdict is binary: `accepted` is keep; `rejected` and `edited` are drop (the
reviewer did not take the output as written), compared with the judge's keep (the row reached the
judge's SFT set) or drop. Between two reviewers of one overlap row the same mapping is used.
The Wilson bound and kappa themselves are `seedfactory.util.stats` (shared with publish and the report).
"""

from __future__ import annotations

from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.stats import cohen_kappa, wilson_upper


class ReviewGateError(SeedfactoryError):
    """Training refused or waiting because of the review verdicts; the message says why."""


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
