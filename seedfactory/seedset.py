"""The seed set, read once: the seed file, its output schema, the evaluation cases, the judge's
criteria, and the digests of every file they came from. The runner reads it before it writes
anything (a bad seed set never touches an existing run directory) and hands it to every stage.

    seed_set = read_seed_set(cfg)      # SeedFileError naming file, line and field on bad input
    seed_set.seeds, seed_set.schema, seed_set.eval_cases, seed_set.digests()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seedfactory.schemas import RunConfig, SeedExample, load_schema, load_seeds
from seedfactory.schemas.seedfile import SeedFileError, schema_next_to
from seedfactory.schemas.tools import calls_schema, load_tools, tools_next_to
from seedfactory.util.files import file_digest


@dataclass(frozen=True)
class SeedSet:
    path: Path
    schema_file: Path | None
    schema: dict | None
    seeds: list[SeedExample]
    eval_path: Path | None
    eval_cases: list[SeedExample] | None  # None: the held-out seeds are the evaluation cases
    criteria: str | None = None  # the judge's rubric criteria (`judge.criteria` or <seeds>.criteria.txt)
    _digests: dict = field(default_factory=dict, compare=False, repr=False)

    def digests(self) -> dict:
        """sha256 of the seed, schema and eval files: editing one reruns the split and what follows."""
        if not self._digests:
            self._digests.update(
                seeds=file_digest(self.path),
                schema=file_digest(self.schema_file) if self.schema_file and self.schema_file.is_file() else None,
                eval=[str(self.eval_path), file_digest(self.eval_path)] if self.eval_path else None)
        return self._digests


def eval_source(cfg: RunConfig, seeds_path: Path) -> Path | None:
    """`eval.path`, else `<seeds>.eval.jsonl|yaml` beside the seeds, else None (held-out seeds)."""
    from seedfactory.seeds import eval_file_next_to

    if cfg.eval.path:
        path = Path(cfg.eval.path).expanduser()
        if not path.is_file():
            raise SeedFileError(f"eval.path={cfg.eval.path!r}: no such file")
        return path
    return eval_file_next_to(seeds_path)


def read_seed_set(cfg: RunConfig) -> SeedSet:
    """The seed file, its schema, the evaluation file and the criteria, read with `seeds.max_bytes` /
    `seeds.max_depth` and checked."""
    from seedfactory.judges import load_criteria
    from seedfactory.seeds import resolve_seed_path

    path = resolve_seed_path(cfg.seeds.path)
    schema_file = Path(cfg.seeds.schema_path) if cfg.seeds.schema_path else schema_next_to(path)
    limits = {"max_bytes": cfg.seeds.max_bytes, "max_depth": cfg.seeds.max_depth}
    schema = load_schema(schema_file, **limits) if schema_file else None
    tools_file = tools_next_to(path)
    if tools_file is not None:  # a tool-call set: the calls are its outputs (schemas/tools.py)
        if schema is not None:
            raise SeedFileError(f"{tools_file}: a seed set declares tools or an output schema ({schema_file}), "
                                "not both: the tools make the output schema")
        schema_file, schema = tools_file, calls_schema(load_tools(tools_file, **limits))
    seeds = load_seeds(path, schema, **limits)
    eval_path = eval_source(cfg, path)
    cases = load_seeds(eval_path, schema, **limits) if eval_path else None
    try:
        criteria = load_criteria(cfg.judge.criteria, path)
    except ValueError as e:  # a missing criteria file: the user's to fix, before anything runs
        raise SeedFileError(str(e)) from None
    return SeedSet(path, schema_file, schema, seeds, eval_path, cases, criteria)
