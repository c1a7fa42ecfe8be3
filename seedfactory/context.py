"""What a stage gets: the config, its folder, a reject log, counters, progress bars, the seed set (read
once, seedfactory/seedset.py), the split seeds (read from the split stage's files once per change of
those files), and the shared heavy objects (model backends, embedder), built on first use and reused
across stages. The runner owns their lifetimes (`close_backends`).
"""

from __future__ import annotations

import copy
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from seedfactory.schemas import RejectLog, RunConfig, SeedExample, load_schema
from seedfactory.schemas.config import ModelConfig
from seedfactory.seedset import SeedSet
from seedfactory.util.files import read_jsonl
from seedfactory.util.progress import Progress


class RunContext:
    def __init__(self, cfg: RunConfig, out: Path, *, progress: bool = True, cache_path: Path | None = None,
                 seed_set: SeedSet | None = None):
        self.cfg = cfg
        self._seed_set = seed_set
        self._read: dict[Path, tuple[tuple[int, int], object]] = {}
        self.out = Path(out)
        self.cache_path = Path(cache_path) if cache_path else self.out / "cache.sqlite"
        self.progress = Progress(progress)
        self.stage = ""
        self.counters: Counter[str] = Counter()
        self.rejects = RejectLog()
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
        self.stage, self.counters, self.rejects = stage, Counter(), RejectLog(stage)
        self._started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

    def log(self, msg: str) -> None:
        """One plain line for the user, on stderr (the runner's log)."""
        print(msg, file=sys.stderr, flush=True)
        self.counters["log_lines"] += 1

    # ---- the seed set, and the split read from the split stage's files ----------------------
    @property
    def seed_set(self) -> SeedSet:
        if self._seed_set is None:
            from seedfactory.seedset import read_seed_set

            self._seed_set = read_seed_set(self.cfg)
        return self._seed_set

    def _split_file(self, name: str, read):
        """A split file parsed once for each version of it (its size and mtime), not on every access."""
        path = self.out / "split" / name
        stat = path.stat()
        key = (stat.st_size, stat.st_mtime_ns)
        if path not in self._read or self._read[path][0] != key:
            self._read[path] = (key, read(path))
        return self._read[path][1]

    @property
    def train_seeds(self) -> list[SeedExample]:
        return list(self._split_file("train.jsonl", lambda p: list(read_jsonl(p, SeedExample))))

    @property
    def heldout(self) -> list[SeedExample]:
        return list(self._split_file("heldout.jsonl", lambda p: list(read_jsonl(p, SeedExample))))

    @property
    def eval_cases(self) -> list[SeedExample]:
        """What the student is measured on: the eval file's cases, or the held-out seeds."""
        if (self.out / "split" / "eval.jsonl").is_file():
            return list(self._split_file("eval.jsonl", lambda p: list(read_jsonl(p, SeedExample))))
        return self.heldout

    @property
    def kinds(self) -> dict:
        """Each output field's kind (validators/kinds.py), inferred from the train seeds once per version of
        the split ({} without a schema); `seeds.field_kinds` overrides. Generate and validate read the same."""
        schema = self.output_schema
        if schema is None:
            return {}
        from seedfactory.validators.kinds import infer_kinds

        key = ("kinds", (self.out / "split" / "train.jsonl").stat().st_mtime_ns, str(self.cfg.seeds.field_kinds))
        if self._read.get(Path("kinds"), (None,))[0] != key:
            self._read[Path("kinds")] = (key, infer_kinds(schema, self.train_seeds, self.cfg.seeds.field_kinds))
        return self._read[Path("kinds")][1]

    @property
    def output_schema(self) -> dict | None:
        if not (self.out / "split" / "schema.json").is_file():
            return None
        return copy.deepcopy(self._split_file("schema.json", load_schema))  # callers may edit theirs

    # ---- shared heavy objects --------------------------------------------------------------
    def backend(self, model: ModelConfig):
        """A cached backend for a model config; the same engine serves teacher and judge."""
        from seedfactory.generators.backends import build_backend
        from seedfactory.generators.cache import CachedBackend

        key = model.model_dump_json(exclude={"temperature", "top_p", "max_tokens"})
        if key not in self._backends:
            inner = build_backend(model, progress=self.progress)
            self._backends[key] = CachedBackend(inner, self.cache_path, model)
        return self._backends[key]

    def close_backends(self) -> None:
        """Free engines (vLLM holds GBs and CPU threads)."""
        for b in self._backends.values():
            b.close()
        self._backends.clear()

    @property
    def loaded_embedder(self):
        """The embedder if a stage of this process built it, else None (the report reuses it)."""
        return self._embedder

    def embedder(self):
        if self._embedder is None:
            from seedfactory.validators.embedders import build_embedder

            self._embedder = build_embedder(self.cfg.validate_.embedder)
        return self._embedder
