"""Pydantic records passed between stages, the run config, and the seed-file reader."""

from seedfactory.schemas.config import ConfigError, RunConfig, load_config
from seedfactory.schemas.records import (
    Example,
    GenerationRequest,
    GenerationResult,
    JudgeVerdict,
    Lineage,
    Message,
    Output,
    PreferencePair,
    Reject,
    RejectLog,
    Sampling,
    SeedExample,
    Turn,
    calls_output,
    conversation_text,
    lineage_counts,
    output_text,
    render_prompt,
    stable_hash,
    student_turns,
)
from seedfactory.schemas.seedfile import SeedFileError, load_schema, load_seeds, schema_next_to

__all__ = [
    "ConfigError", "Example", "GenerationRequest", "GenerationResult", "JudgeVerdict", "Lineage", "RejectLog",
    "Message", "Output", "PreferencePair", "Reject", "RunConfig", "Sampling", "SeedExample",
    "SeedFileError", "Turn", "calls_output", "conversation_text", "lineage_counts", "load_config", "load_schema",
    "load_seeds", "output_text", "render_prompt",
    "schema_next_to", "stable_hash", "student_turns",
]
