"""Validation stages, in pipeline order: each is `stage(rows, env) -> Iterator[Example]`, where `env`
is a `ValidationEnv` (config section, seeds, schema, embedder, reject sink), and sends every dropped
row to env.reject with a reason (and, for duplicates, the kept id and similarity).

    parse_and_filter  schema_invalid, empty_output, too_short, too_long, echoes_instruction, missing_input,
                      copies_seed, and the calibrated checks of quality.py: symbol_run, symbol_share,
                      repeated_ngrams, template_debris, input_echoes_instruction, input_too_short,
                      input_too_long, wrong_language, ungrounded
    exact_dedup       exact_duplicate
    decontaminate     contaminated       (Jaccard to a held-out seed prompt)
    near_dedup        near_duplicate     (MinHash-LSH over prompts, verified by true Jaccard)
    seed_band         off_domain         (embedding cosine to the nearest seed below the seeds' own band)
    diversity_filter  too_similar        (embedding cosine to kept prompts and train seeds)

Cheap, exact checks run first so the costlier ones see fewer rows; decontamination runs before
near-dedup so a contaminated prompt cannot win a cluster and knock out a clean one.
"""

from seedfactory.validators.base import RejectSink, ValidationEnv
from seedfactory.validators.dedup import decontaminate, exact_dedup, near_dedup
from seedfactory.validators.diversity import diversity_filter, seed_band
from seedfactory.validators.embedders import (
    EMBEDDERS,
    Embedder,
    HashEmbedder,
    MiniLMEmbedder,
    build_embedder,
)
from seedfactory.validators.filters import parse_and_filter

VALIDATORS = [parse_and_filter, exact_dedup, decontaminate, near_dedup, seed_band, diversity_filter]

__all__ = [
    "EMBEDDERS", "Embedder", "HashEmbedder", "MiniLMEmbedder", "VALIDATORS", "build_embedder",
    "RejectSink", "ValidationEnv", "decontaminate", "diversity_filter", "exact_dedup", "near_dedup",
    "parse_and_filter", "seed_band",
]
