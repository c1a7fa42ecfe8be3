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
    # seeds.field_kinds: the user's kind for a field, over the inferred one (validators.kinds)
    field_kinds: dict[str, str] = field(default_factory=dict)
    kinds: dict | None = None  # field -> FieldKind, inferred once per run from the train seeds

    def get_calibration(self) -> dict:
        """What the seeds show (grounding read by each field's kind), measured on first use, with the
        kinds table (validate/calibration.json "kinds": each field's kind, evidence, seed pass rate)."""
        if self.calibration is None:
            from seedfactory.validators.kinds import check_value, kinds_table
            from seedfactory.validators.quality import calibrate

            kinds = self.get_kinds()
            self.calibration = calibrate(self.train_seeds, self.output_schema, self.cfg.min_seed_pass,
                                         kinds=kinds or None)
            if kinds:
                table = kinds_table(kinds)
                outputs = [s.output for s in self.train_seeds if isinstance(s.output, dict)]
                for name, fk in kinds.items():
                    passed = [check_value(o.get(name), fk) is None for o in outputs]
                    rate = round(sum(passed) / len(passed), 3) if passed else 1.0
                    table[name] |= {"seed_pass_rate": rate, "applied": rate >= self.cfg.min_seed_pass}
                self.calibration["kinds"] = table
        return self.calibration

    def get_kinds(self) -> dict:
        """Each output field's kind (validators.kinds), inferred once from the train seeds ({} without a
        schema); `seeds.field_kinds` overrides."""
        if self.kinds is None:
            from seedfactory.validators.kinds import infer_kinds

            self.kinds = infer_kinds(self.output_schema, self.train_seeds, self.field_kinds) \
                if self.output_schema else {}
        return self.kinds

    def get_embedder(self) -> Embedder:
        if self.embedder is None:
            raise ValueError("this validator needs an embedder (ValidationEnv.embedder)")
        if not hasattr(self.embedder, "embed"):
            self.embedder = self.embedder()
        return self.embedder  # type: ignore[return-value]

    @property
    def seeds(self) -> list[SeedExample]:
        return [*self.train_seeds, *self.heldout]
