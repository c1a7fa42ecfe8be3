"""Human review: a stratified sample of judged rows goes into a SQLite queue that reviewers work
through in a browser (`seedfactory review RUN_DIR`); verdicts come back to publish (rejected rows
leave, edited outputs replace the teacher's and become preference pairs) and gate training."""

from seedfactory.review.agreement import ReviewGateError, agreement, gate_message
from seedfactory.review.gate import review_gate
from seedfactory.review.sample import BANDS, DEFAULT_EDGES, sample_for_review, score_band
from seedfactory.review.store import (
    MIGRATIONS,
    REJECT_REASONS,
    STATUSES,
    Conflict,
    NotLeased,
    ReviewError,
    ReviewItem,
    ReviewStore,
    migrate,
    schema_version,
)

__all__ = [
    "BANDS", "DEFAULT_EDGES", "MIGRATIONS", "REJECT_REASONS", "STATUSES", "Conflict", "NotLeased", "ReviewError",
    "ReviewGateError", "ReviewItem", "ReviewStore", "agreement", "gate_message", "migrate", "review_gate",
    "sample_for_review", "schema_version", "score_band",
]
