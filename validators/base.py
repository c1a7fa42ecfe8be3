"""What a validator is given: `ValidationEnv`, the small typed bundle each stage reads instead of
the whole run context, so every validator can be built and tested alone.

    env = ValidationEnv(cfg=ValidateConfig(), reject=RejectLog("validate"), train_seeds=seeds,
                        heldout=heldout, output_schema=schema, embedder=HashEmbedder())
    kept = list(exact_dedup(rows, env))
    env.reject.records   # every drop, with its reason
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from seedfactory.schemas import Example, SeedExample
from seedfactory.schemas.config import ValidateConfig
from seedfactory.validators.embedders import Embedder


class RejectSink(Protocol):
    def __call__(self, row: Example | str, reason: str, *,  # pragma: no mutate (callers pass keywords)
                 score: float | None = None, dup_of: str | None = None,
                 similarity: float | None = None, detail: str | None = None) -> None: ...


@dataclass
class ValidationEnv:
    cfg: ValidateConfig
    reject: RejectSink
    train_seeds: list[SeedExample] = field(default_factory=list)
    heldout: list[SeedExample] = field(default_factory=list)
    output_schema: dict | None = None
    # An Embedder, or a function that builds one: MiniLM takes seconds to load, and a run whose
    # rows all fail earlier checks never needs it.
    embedder: Embedder | Callable[[], Embedder] | None = None
    # What the seeds show (validators.quality.calibrate), measured on first use; the seed-band
    # stage adds its figures. The validate stage writes it to validate/calibration.json.
    calibration: dict | None = None

    def get_calibration(self) -> dict:
        if self.calibration is None:
            from seedfactory.validators.quality import calibrate

            self.calibration = calibrate(self.train_seeds, self.output_schema, self.cfg.min_seed_pass)
        return self.calibration

    def get_embedder(self) -> Embedder:
        if self.embedder is None:
            raise ValueError("this validator needs an embedder (ValidationEnv.embedder)")
        if not hasattr(self.embedder, "embed"):
            self.embedder = self.embedder()
        return self.embedder  # type: ignore[return-value]

    @property
    def seeds(self) -> list[SeedExample]:
        return [*self.train_seeds, *self.heldout]
