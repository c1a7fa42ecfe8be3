"""What a stage gets: the config, its folder, a reject sink, counters, progress bars, and the
shared heavy objects (model backends, embedder), built on first use and reused across stages.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from seedfactory.schemas import Example, Reject, RunConfig, SeedExample
from seedfactory.schemas.config import ModelConfig


class RunContext:
    def __init__(self, cfg: RunConfig, out: Path, *, progress: bool = True):
        self.cfg = cfg
        self.out = Path(out)
        self.show_progress = progress
        self.stage = ""
        self.counters: Counter[str] = Counter()
        self.rejects: list[Reject] = []
        self.output_schema: dict | None = None  # the seed set's JSON schema for outputs, if any
        self.heldout: list[SeedExample] = []
        self.train_seeds: list[SeedExample] = []
        self._backends: dict[str, Any] = {}
        self._embedder = None
        self._started = time.monotonic()

    # ---- per-stage bookkeeping -------------------------------------------------------------
    @property
    def stage_dir(self) -> Path:
        d = self.out / self.stage
        d.mkdir(parents=True, exist_ok=True)
        return d

    def begin(self, stage: str) -> None:
        self.stage, self.counters, self.rejects = stage, Counter(), []
        self._started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def reject(self, row: Example | str, reason: str, *, score: float | None = None,
               dup_of: str | None = None, similarity: float | None = None,
               detail: str | None = None, stage: str | None = None) -> None:
        """Record a dropped row. `row` is the Example (kept whole in the reject) or an id."""
        is_row = isinstance(row, Example)
        self.rejects.append(Reject(
            row_id=row.id if is_row else row, stage=stage or self.stage, reason=reason,
            score=score, dup_of=dup_of, similarity=similarity, detail=detail,
            row=row.model_dump(mode="json") if is_row else None))
        self.counters[f"rejected.{reason}"] += 1

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

    def progress(self, iterable=None, *, total: int | None = None, desc: str = ""):
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc or self.stage, disable=not self.show_progress,
                    file=sys.stderr, dynamic_ncols=True, leave=False)

    # ---- shared heavy objects --------------------------------------------------------------
    def backend(self, model: ModelConfig):
        """A cached backend for a model config; the same engine serves teacher and judge."""
        from seedfactory.generators.backends import build_backend
        from seedfactory.generators.cache import CachedBackend

        key = model.model_dump_json(exclude={"temperature", "top_p", "max_tokens"})
        if key not in self._backends:
            inner = build_backend(model, progress=self.show_progress)
            self._backends[key] = CachedBackend(inner, self.out / "cache.sqlite")
        return self._backends[key]

    def close_backends(self) -> None:
        """Free engines (vLLM holds GBs and CPU threads) before training."""
        for b in self._backends.values():
            b.close()
        self._backends.clear()

    def embedder(self):
        if self._embedder is None:
            from seedfactory.validators.embedders import build_embedder

            self._embedder = build_embedder(self.cfg.validate_.embedder)
        return self._embedder
