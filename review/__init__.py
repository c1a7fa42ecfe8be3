"""Human review: a stratified sample of judged rows goes into a SQLite queue; verdicts come back
to publish (rejected rows leave, edited outputs replace the teacher's)."""

from seedfactory.review.sample import BANDS, DEFAULT_EDGES, sample_for_review, score_band
from seedfactory.review.store import (
    MIGRATIONS,
    STATUSES,
    ReviewError,
    ReviewItem,
    ReviewStore,
    migrate,
    schema_version,
)

__all__ = [
    "BANDS", "DEFAULT_EDGES", "MIGRATIONS", "STATUSES", "ReviewError", "ReviewItem", "ReviewStore",
    "migrate", "sample_for_review", "schema_version", "score_band",
]
