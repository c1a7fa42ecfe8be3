"""Seed sets shipped with seedfactory, and the lookup from `seeds.path` to a seed file.

A bundled set is named by its file stem (`invoice-fields` is `invoice-fields.jsonl`); its output
schema, if any, sits next to it as `<stem>.schema.json`. See seeds/README.md for the format.

    from seedfactory.seeds import bundled_sets, resolve_seed_path
    resolve_seed_path("invoice-fields")     # the bundled file
    resolve_seed_path("my/seeds.yaml")      # a user's own file, if it exists
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from seedfactory.schemas.seedfile import SeedFileError

# Seeds ship inside the package (package-data), so they are found where the package is installed.
SEEDS_DIR = Path(str(files(__name__)))
SEED_SUFFIXES = (".jsonl", ".yaml", ".yml")


EVAL_SUFFIX = ".eval"  # `<name>.eval.jsonl|yaml`: a set's evaluation cases, never a seed set of its own


def bundled_sets() -> dict[str, Path]:
    """Bundled seed set name (file stem) -> seed file, sorted by name; evaluation files are not sets."""
    found = [p for p in SEEDS_DIR.iterdir()
             if p.is_file() and p.suffix in SEED_SUFFIXES and not p.stem.endswith(EVAL_SUFFIX)]
    return {p.stem: p for p in sorted(found)}


def bundled_eval_sets() -> dict[str, Path]:
    """Bundled seed set name -> its evaluation file (`<name>.eval.jsonl|yaml`), for the sets that have one."""
    found = [p for p in SEEDS_DIR.iterdir()
             if p.is_file() and p.suffix in SEED_SUFFIXES and p.stem.endswith(EVAL_SUFFIX)]
    return {p.stem.removesuffix(EVAL_SUFFIX): p for p in sorted(found)}


def eval_file_next_to(seed_path: Path) -> Path | None:
    """`foo.eval.jsonl` (or .eval.yaml/.yml) beside `foo.jsonl`: the set's evaluation cases, if any."""
    for suffix in SEED_SUFFIXES:
        candidate = seed_path.with_name(f"{seed_path.stem}{EVAL_SUFFIX}{suffix}")
        if candidate.is_file():
            return candidate
    return None


def resolve_seed_path(spec: str | Path) -> Path:
    """A bundled set name, or the path of an existing seed file.

    Bundled names win: they carry no suffix, so they cannot be mistaken for a seed file, which
    must end in .jsonl, .yaml or .yml.
    """
    bundled = bundled_sets()
    if str(spec) in bundled:
        return bundled[str(spec)]
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    why = "is a directory, not a seed file" if path.is_dir() else "is neither a bundled seed set nor a file"
    raise SeedFileError(
        f"seeds.path={str(spec)!r} {why}; bundled sets: {', '.join(bundled) or '(none)'}")


def tool_implementation(seed_path: Path) -> Callable[[list[dict]], list] | None:
    """`execute(calls) -> results` of a bundled tool set's own implementation (`seeds/<name>.py`, the
    name's dashes as underscores), run on a fresh state per call list; None for any other set. Only
    bundled code is run: a user's seed folder is never imported."""
    import importlib

    seed_path = Path(seed_path)
    module = seed_path.stem.replace("-", "_")
    if seed_path.parent.resolve() != SEEDS_DIR.resolve() or not (SEEDS_DIR / f"{module}.py").is_file():
        return None
    return importlib.import_module(f"{__name__}.{module}").execute
