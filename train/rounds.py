"""A run directory's training history: one folder per training round under `train/rounds/N/`.

Each round keeps what it takes to reproduce and compare it:

    adapter/           the round's final adapter (after SFT and preference tuning)
    round.json         number, date, where it started (base, round N or a path), rows, new rows,
                       replayed rows, data_sha256 (the trained rows' digest), losses  (written last)
    config.yaml        the run config it was trained with
    rows.jsonl         the rows it trained on;  seen.jsonl: every row its adapter has learnt from
    eval_cases.jsonl   the eval set it was scored on (a later round re-scores these: forgetting)
    eval.json          the primary metric before (the start adapter or base) and after, written
                       by the evaluate stage

`seedfactory runs RUN_DIR` prints `rounds_table(list_rounds(...))`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import yaml
from pydantic import BaseModel

from seedfactory.util.files import atomic_dir, atomic_write_text, read_json, read_jsonl_dicts, write_json, write_jsonl


def round_numbers(rounds: Path) -> list[int]:
    """Finished rounds (their round.json exists), oldest first."""
    rounds = Path(rounds)
    found = [int(p.name) for p in rounds.iterdir() if p.name.isdigit() and (p / "round.json").is_file()] \
        if rounds.is_dir() else []
    return sorted(found)


def latest_round(rounds: Path) -> Path | None:
    numbers = round_numbers(rounds)
    return Path(rounds) / str(numbers[-1]) if numbers else None


def set_aside_unfinished(rounds: Path, last_finished: int) -> list[int]:
    """Rounds numbered above the last one a finished train stage reported were written by a run
    killed before its end: rename them to `.unfinished-N` (kept, never deleted) so that `latest`
    is not a round whose stage never finished. Returns their numbers."""
    moved = [n for n in round_numbers(rounds) if n > last_finished]
    for n in moved:
        folder = Path(rounds) / str(n)
        folder.rename(folder.with_name(f".unfinished-{n}-{time.strftime('%Y%m%dT%H%M%S')}"))
    return moved


def read_seen(folder: Path) -> list[dict]:
    path = Path(folder) / "seen.jsonl"
    return read_jsonl_dicts(path) if path.is_file() else []


def data_digest(rows: list[dict]) -> str:
    """sha256 of a set of rows: their canonical JSON lines, sorted (order-independent)."""
    lines = sorted(json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def write_round(rounds: Path, *, adapter: Path, info: dict, trained: list[dict], seen: list[dict],
                eval_cases: list[BaseModel], config: dict) -> tuple[int, Path]:
    """Record a finished training round as `rounds/N` (N = last + 1), written then renamed into place."""
    numbers = round_numbers(rounds)
    number = numbers[-1] + 1 if numbers else 1
    target = Path(rounds) / str(number)
    with atomic_dir(target) as tmp:
        shutil.copytree(adapter, tmp / "adapter")
        atomic_write_text(tmp / "config.yaml", yaml.safe_dump(config, sort_keys=False))
        write_jsonl(tmp / "rows.jsonl", trained)
        write_jsonl(tmp / "seen.jsonl", seen)
        write_jsonl(tmp / "eval_cases.jsonl", eval_cases)
        write_json(tmp / "round.json", {"round": number, "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                        "data_sha256": data_digest(trained), **info})
    return number, target


def write_round_eval(rounds: Path, number: int, evaluation: dict) -> None:
    """The evaluate stage's figures for round `number` (before/after, old cases)."""
    folder = Path(rounds) / str(number)
    if not (folder / "round.json").is_file():
        raise FileNotFoundError(f"{folder}: no such training round")
    write_json(folder / "eval.json", evaluation)


def list_rounds(rounds: Path) -> list[dict]:
    """Every round's round.json, with its eval.json under "eval" (None before it was evaluated)."""
    out = []
    for n in round_numbers(rounds):
        folder = Path(rounds) / str(n)
        ev = folder / "eval.json"
        out.append({**read_json(folder / "round.json"), "eval": read_json(ev) if ev.is_file() else None})
    return out


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def rounds_table(rows: list[dict]) -> str:
    """A plain-text table: round, date, rows, new, replayed, from, metric before -> after, old cases."""
    head = ["round", "date", "rows", "new", "replayed", "from", "metric", "before", "after", "old before", "old after"]
    body = []
    for r in rows:
        ev = r.get("eval") or {}
        old = ev.get("old_cases") or {}
        body.append([r["round"], r["date"].replace("T", " "), r["rows"], r["new_rows"], r["replayed"], r["from"],
                     ev.get("metric"), ev.get("before"), ev.get("after"), old.get("before"), old.get("after")])
    cells = [head] + [[_fmt(v) for v in row] for row in body]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)
