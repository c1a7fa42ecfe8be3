"""Validation stages, in pipeline order: each is `stage(rows, env) -> Iterator[Example]`, where `env`
is a `ValidationEnv` (config section, seeds, schema, embedder, reject sink), and sends every dropped
row to env.reject with a reason (and, for duplicates, the kept id and similarity).

    parse_and_filter  schema_invalid, empty_output, too_short, too_long, echoes_instruction, missing_input,
                      copies_seed
    exact_dedup       exact_duplicate
    decontaminate     contaminated       (Jaccard to a held-out seed prompt)
    near_dedup        near_duplicate     (MinHash-LSH over prompts, verified by true Jaccard)
    diversity_filter  too_similar        (embedding cosine to kept prompts and train seeds)

Cheap, exact checks run first so the costlier ones see fewer rows; decontamination runs before
near-dedup so a contaminated prompt cannot win a cluster and knock out a clean one.
"""

from seedfactory.validators.base import RejectSink, ValidationEnv
from seedfactory.validators.dedup import decontaminate, exact_dedup, near_dedup
from seedfactory.validators.diversity import diversity_filter
from seedfactory.validators.embedders import (
    EMBEDDERS,
    Embedder,
    HashEmbedder,
    MiniLMEmbedder,
    build_embedder,
)
from seedfactory.validators.filters import parse_and_filter

VALIDATORS = [parse_and_filter, exact_dedup, decontaminate, near_dedup, diversity_filter]

__all__ = [
    "EMBEDDERS", "Embedder", "HashEmbedder", "MiniLMEmbedder", "VALIDATORS", "build_embedder",
    "RejectSink", "ValidationEnv", "decontaminate", "diversity_filter", "exact_dedup", "near_dedup", "parse_and_filter",
]
