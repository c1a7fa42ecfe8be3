"""Dotted keys (`train.lora_r`) over a nested dict: the one walker for config overrides, stage
fingerprints, the report's reads of a run's config.yaml and its tables of nested stats.

    set_dotted(tree, "train.lora_r", 8)              # creates missing sections
    get_dotted(tree, "train.lora_r")                 # KeyError naming the key when absent
    get_dotted(tree, "review.max_defect_rate", None) # or a default
    flatten({"a": {"b": 1}, "c": "x"})               # [("a.b", 1), ("c", "x")]

A leaf: imports nothing of ours.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def get_dotted(tree: Any, dotted: str, default: Any = _MISSING) -> Any:
    """The value at `dotted` in nested dicts. Without a default a missing key is a KeyError that
    names the whole dotted key and the part that was not there."""
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is _MISSING:
                raise KeyError(f"{dotted}: no {part!r} there")
            return default
        node = node[part]
    return node


def set_dotted(tree: dict, dotted: str, value: Any, error: type[Exception] = ValueError) -> None:
    """Set `dotted` in nested dicts, creating sections on the way; a part that holds a value
    rather than a section raises `error` (the caller's own type, e.g. the config's ConfigError)."""
    *sections, last = dotted.split(".")
    node = tree
    for part in sections:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise error(f"override {dotted}: {part} is not a section")
        node = child
    node[last] = value


def flatten(tree: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """Every leaf of nested dicts as (dotted key, value), in order; lists count as leaves."""
    rows = []
    for key, value in tree.items():
        if isinstance(value, dict):
            rows += flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows
