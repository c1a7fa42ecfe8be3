"""Reading files a user hands us (seed sets, schemas, configs) without trusting them.

- `read_text`: refuses a file over a size limit and text that is not UTF-8, naming the file.
- `load_json`: refuses nesting deeper than a limit (deep JSON exhausts the parser's recursion).
- `load_yaml`: plain YAML only: no aliases (`*name` expands a few KB into GBs: the "billion
  laughs"), no tags (`!!python/...`), no nesting deeper than a limit. It walks the parser's event
  stream first, which never expands anything, then loads with the safe loader.

Each takes the error class to raise (`SeedFileError`, `ConfigError`), so messages stay the caller's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from seedfactory.util.errors import SeedfactoryError

Error = type[SeedfactoryError]


def read_text(path: Path, max_bytes: int, error: Error, limit_key: str) -> str:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{path}: {size} bytes, more than {limit_key}={max_bytes}")
        data = path.read_bytes()[: max_bytes + 1]  # a file that grew since stat() is still capped
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise error(f"{path}: more than {limit_key}={max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start})") from None


def depth(value: Any) -> int:
    """How deeply lists and dicts nest in a parsed value (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def _bracket_depth(text: str) -> int:
    """Nesting of [ and { outside strings, found without parsing (so before the parser recurses)."""
    deepest = d = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            d += 1
            deepest = max(deepest, d)
        elif ch in "]}":
            d -= 1
    return deepest


def load_json(text: str, where: str, max_depth: int, error: Error, limit_key: str) -> Any:
    """json.loads with a nesting limit; syntax errors are the caller's to word (JSONDecodeError)."""
    if _bracket_depth(text) > max_depth:
        raise error(f"{where}: JSON nested deeper than {limit_key}={max_depth}")
    return json.loads(text)


def load_yaml(text: str, path: Path | str, max_depth: int, error: Error, limit_key: str) -> Any:
    """Plain YAML (no aliases, no tags, bounded nesting) through the safe loader."""
    d = 0
    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            at = f"{path}:{ev.start_mark.line + 1}" if isinstance(path, Path) else str(path)
            if isinstance(ev, yaml.AliasEvent):
                raise error(f"{at}: YAML alias *{ev.anchor} refused (aliases can expand without "
                            "bound); write the value out")
            if getattr(ev, "anchor", None):
                raise error(f"{at}: YAML anchor &{ev.anchor} refused (aliases can expand without "
                            "bound); write the value out")
            tag = getattr(ev, "tag", None)
            if tag is not None and tag != "!":  # only explicit tags are set on events
                raise error(f"{at}: YAML tag {tag} refused; plain values only")
            if isinstance(ev, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                d += 1
                if d > max_depth:
                    raise error(f"{at}: YAML nested deeper than {limit_key}={max_depth}")
            elif isinstance(ev, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                d -= 1
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f":{mark.line + 1}" if mark and isinstance(path, Path) else ""
        raise error(f"{path}{at}: not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise error(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
