"""The run directory: per-stage files, rejects, stats, completion markers.

Layout (one folder per stage, plus the files a user reads first):

    config.yaml        resolved config
    split/ generate/ validate/ judge/ review/ publish/ train/ evaluate/
        <stage>/rejects.jsonl   rows the stage dropped, with reasons
        <stage>/stats.json      the stage's counts and timing
        <stage>/.done           completion marker (fingerprint), written last
    rejects.jsonl      every stage's rejects, gathered
    stats.json         the funnel: rows in/out per stage, timings, tokens
    dataset/ adapter/ eval.json

Files are written to a temporary name and renamed, so a killed run never leaves a half-written
file that looks finished.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def write_jsonl(path: Path, rows: Iterable[BaseModel | dict]) -> int:
    lines = []
    for r in rows:
        is_model = isinstance(r, BaseModel)
        lines.append(r.model_dump_json() if is_model else json.dumps(r, ensure_ascii=False, default=str))
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def read_jsonl(path: Path, model: type[M]) -> Iterator[M]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield model.model_validate_json(line)


def read_jsonl_dicts(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
