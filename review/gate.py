"""The review gate: training refuses data the reviewers found too defective, or waits for enough
verdicts (`review.max_defect_rate`, `review.min_reviewed`; both off by default).

    review_gate(run_dir / "review" / "queue.sqlite", cfg.review)   # raises ReviewGateError, or returns
"""

from __future__ import annotations

from pathlib import Path

from seedfactory.review.agreement import ReviewGateError, gate_message
from seedfactory.review.store import ReviewStore
from seedfactory.schemas.config import ReviewConfig


def review_gate(queue: Path, cfg: ReviewConfig) -> None:
    """Raise ReviewGateError (the message says why) when training must not start; a run without a
    queue counts as nothing reviewed."""
    if cfg.max_defect_rate is None and cfg.min_reviewed == 0:
        return
    counts = {}
    if queue.is_file():
        with ReviewStore(queue) as store:
            counts = store.counts()
    message = gate_message(counts, cfg.max_defect_rate, cfg.min_reviewed)
    if message:
        raise ReviewGateError(message)
