"""Read seed sets (JSONL or YAML) and their optional output JSON schema.

Errors name the file, the line and the field, e.g.
`seeds.jsonl:7: field 'output': Field required`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from pydantic import ValidationError

from seedfactory.schemas.records import SeedExample


class SeedFileError(ValueError):
    """A seed file or schema that cannot be used; the message names file, line and field."""


def _explain(where: str, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(record)"
        parts.append(f"{where}: field '{field}': {e['msg']}")
    return "\n".join(parts)


def _records(path: Path) -> list[tuple[int, Any]]:
    """(line number, raw record) pairs, 1-based."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        out = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append((i, json.loads(line)))
            except json.JSONDecodeError as e:
                raise SeedFileError(f"{path}:{i}: not valid JSON: {e.msg} (column {e.colno})") from None
        return out
    if path.suffix in (".yaml", ".yml"):
        try:
            root = yaml.compose(text)
        except yaml.YAMLError as e:
            raise SeedFileError(f"{path}: not valid YAML: {e}") from None
        if root is None:
            return []
        if not isinstance(root, yaml.SequenceNode):
            raise SeedFileError(f"{path}:{root.start_mark.line + 1}: a YAML seed file is a list of examples")
        data = yaml.safe_load(text)
        return [(node.start_mark.line + 1, rec) for node, rec in zip(root.value, data)]
    raise SeedFileError(f"{path}: seed files are .jsonl, .yaml or .yml")


def load_seeds(path: str | Path, schema: dict | None = None) -> list[SeedExample]:
    """Every seed of a file, validated; with a schema, every object output must follow it."""
    path = Path(path)
    if not path.is_file():
        raise SeedFileError(f"{path}: no such seed file")
    seeds, seen = [], {}
    validator = jsonschema.Draft202012Validator(schema) if schema else None
    for line, rec in _records(path):
        where = f"{path}:{line}"
        if not isinstance(rec, dict):
            raise SeedFileError(f"{where}: a seed is an object, got {type(rec).__name__}")
        rec = {"id": f"{path.stem}-{line}", **rec, "source": f"{path.name}:{line}"}
        try:
            seed = SeedExample.model_validate(rec)
        except ValidationError as e:
            raise SeedFileError(_explain(where, e)) from None
        if seed.id in seen:
            raise SeedFileError(f"{where}: field 'id': {seed.id!r} already used on line {seen[seed.id]}")
        seen[seed.id] = line
        if validator is not None:
            output = seed.output
            if isinstance(output, str):
                raise SeedFileError(
                    f"{where}: field 'output': the seed set declares a JSON schema, so output must be an object")
            errors = sorted(validator.iter_errors(output), key=lambda e: list(e.path))
            if errors:
                e = errors[0]
                field = ".".join(["output", *map(str, e.path)])
                raise SeedFileError(f"{where}: field '{field}': {e.message}")
        seeds.append(seed)
    if not seeds:
        raise SeedFileError(f"{path}: no seeds in file")
    return seeds


def load_schema(path: str | Path) -> dict:
    path = Path(path)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SeedFileError(f"{path}: cannot read schema: {e}") from None
    except json.JSONDecodeError as e:
        raise SeedFileError(f"{path}:{e.lineno}: schema is not valid JSON: {e.msg}") from None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise SeedFileError(f"{path}: not a valid JSON schema: {e.message}") from None
    if schema.get("type") != "object":
        raise SeedFileError(f"{path}: field 'type': an output schema describes an object (type: object)")
    return schema


def schema_next_to(seeds_path: Path) -> Path | None:
    """`foo.schema.json` beside `foo.jsonl`, if there is one."""
    candidate = seeds_path.with_name(seeds_path.stem + ".schema.json")
    return candidate if candidate.is_file() else None
