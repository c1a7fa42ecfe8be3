"""Read seed sets (JSONL or YAML) and their optional output JSON schema.

Errors name the file, the line and the field, e.g.
`seeds.jsonl:7: field 'output': Field required`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from pydantic import ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable

from seedfactory.schemas.records import SeedExample
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.safe_input import load_json, load_yaml, read_text


class SeedFileError(SeedfactoryError, ValueError):
    """A seed file or schema that cannot be used; the message names file, line and field."""


def _explain(where: str, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(record)"
        parts.append(f"{where}: field '{field}': {e['msg']}")
    return "\n".join(parts)


def default_instruction(schema: dict) -> str:
    """The instruction of a seed that gives only input and output under a schema: extraction is what
    such a set asks for, and the schema's own title and description say of what."""
    what = str(schema.get("title") or "").strip()
    about = str(schema.get("description") or "").strip()
    head = f"Extract the {what} fields of this text as JSON." if what else "Extract the fields of this text as JSON."
    return f"{head} {about}".strip()


MAX_BYTES, MAX_DEPTH = 20_000_000, 32  # the seeds.max_bytes / seeds.max_depth defaults


def _records(path: Path, max_bytes: int, max_depth: int) -> list[tuple[int, Any]]:
    """(line number, raw record) pairs, 1-based. Oversized, non-UTF-8, too deeply nested files and
    YAML aliases or tags are refused before anything is built from them."""
    text = read_text(path, max_bytes, SeedFileError, "seeds.max_bytes")
    if path.suffix == ".jsonl":
        out = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append((i, load_json(line, f"{path}:{i}", max_depth, SeedFileError, "seeds.max_depth")))
            except json.JSONDecodeError as e:
                raise SeedFileError(f"{path}:{i}: not valid JSON: {e.msg} (column {e.colno})") from None
        return out
    if path.suffix in (".yaml", ".yml"):
        data = load_yaml(text, path, max_depth, SeedFileError, "seeds.max_depth")
        if data is None:
            return []
        root = yaml.compose(text)  # plain YAML by now: composing only finds each record's line
        if not isinstance(root, yaml.SequenceNode) or not isinstance(data, list):
            raise SeedFileError(f"{path}:{root.start_mark.line + 1}: a YAML seed file is a list of examples")
        return [(node.start_mark.line + 1, rec) for node, rec in zip(root.value, data)]
    raise SeedFileError(f"{path}: seed files are .jsonl, .yaml or .yml")


def load_seeds(path: str | Path, schema: dict | None = None, *, max_bytes: int = MAX_BYTES,
               max_depth: int = MAX_DEPTH) -> list[SeedExample]:
    """Every seed of a file, validated; with a schema, every object output must follow it."""
    path = Path(path)
    if not path.is_file():
        raise SeedFileError(f"{path}: no such seed file")
    seeds, seen = [], {}
    validator = schema_validator(schema) if schema else None
    for line, rec in _records(path, max_bytes, max_depth):
        where = f"{path}:{line}"
        if not isinstance(rec, dict):
            raise SeedFileError(f"{where}: a seed is an object, got {type(rec).__name__}")
        rec = {"id": f"{path.stem}-{line}", **rec, "source": f"{path.name}:{line}"}
        if schema and "instruction" not in rec and "messages" not in rec and "input" in rec:
            rec["instruction"] = default_instruction(schema)
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
            try:
                errors = sorted(validator.iter_errors(output), key=lambda e: list(e.path))
            except Unresolvable as e:
                raise SeedFileError(f"{where}: the schema's $ref {getattr(e, 'ref', '')!r} does not resolve") from None
            if errors:
                e = errors[0]
                if e.context:  # anyOf / oneOf (a call of one of several tools): the deepest error of a
                    # branch that its `const` (the tool's name) did not rule out
                    e = max(e.context, key=lambda c: (c.validator != "const", len(c.absolute_path)))
                field = ".".join(["output", *map(str, e.absolute_path)])
                raise SeedFileError(f"{where}: field '{field}': {e.message}")
        seeds.append(seed)
    if not seeds:
        raise SeedFileError(f"{path}: no seeds in file")
    return seeds


def schema_validator(schema: dict) -> jsonschema.Draft202012Validator:
    """A validator whose `$ref`s resolve inside the schema only: its registry retrieves nothing, so a
    remote reference is an error instead of a network request."""
    return jsonschema.Draft202012Validator(schema, registry=Registry())


def _remote_refs(schema: Any) -> Iterator[tuple[str, str]]:
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                    yield key, value
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def read_json_file(path: Path, what: str = "", *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH):
    """A JSON file read without trusting it (size and depth capped); a syntax error names the file and
    line ("{path}:{line}: {what}not valid JSON: ...")."""
    text = read_text(path, max_bytes, SeedFileError, "seeds.max_bytes")
    try:
        return load_json(text, str(path), max_depth, SeedFileError, "seeds.max_depth")
    except json.JSONDecodeError as e:
        raise SeedFileError(f"{path}:{e.lineno}: {what}not valid JSON: {e.msg}") from None


def load_schema(path: str | Path, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> dict:
    path = Path(path)
    schema = read_json_file(path, "schema is ", max_bytes=max_bytes, max_depth=max_depth)
    if not isinstance(schema, dict):
        raise SeedFileError(f"{path}: a JSON schema is an object, got {type(schema).__name__}")
    for key, ref in _remote_refs(schema):
        raise SeedFileError(f"{path}: {key} {ref!r} points outside the schema; seedfactory fetches nothing, "
                            "so inline it under $defs and refer to it as #/$defs/NAME")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        schema_validator(schema).is_valid({})  # resolves local $refs once: a dangling one fails here
    except jsonschema.SchemaError as e:
        raise SeedFileError(f"{path}: not a valid JSON schema: {e.message}") from None
    except Unresolvable as e:
        raise SeedFileError(f"{path}: $ref {getattr(e, 'ref', '')!r} does not resolve inside the schema") from None
    if schema.get("type") != "object":
        raise SeedFileError(f"{path}: field 'type': an output schema describes an object (type: object)")
    return schema


def schema_next_to(seeds_path: Path) -> Path | None:
    """`foo.schema.json` beside `foo.jsonl`, if there is one."""
    candidate = seeds_path.with_name(seeds_path.stem + ".schema.json")
    return candidate if candidate.is_file() else None
