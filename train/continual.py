"""Continuous fine-tuning: which adapter a round starts from, and which rows it trains on.

`train.continue_from=latest` (or a path) makes the next training round start from an existing
adapter instead of the base model. That adapter has already learnt the rows it saw (its round's
`seen.jsonl`), so the round trains on the rows it has not seen ("new") plus a seeded sample of
the ones it has (`train.replay`, a share or a count): the replay keeps the old skills in the
gradient and is how forgetting is held back. Rows are told apart by content (prompt and
completion), not by id, so a row regenerated word for word is not new.

    start = resolve_start(cfg.continue_from, run / "train" / "rounds")   # None: from the base
    rows, info = plan_rows(sft_records(examples), start.seen if start else [], cfg.replay, seed)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from seedfactory.schemas import stable_hash
from seedfactory.train.rounds import latest_round, read_seen
from seedfactory.util.errors import SeedfactoryError


class ContinueError(SeedfactoryError):
    """`train.continue_from` names nothing usable, or there is nothing new to continue on."""


def row_key(record: dict) -> str:
    """A training row's identity: its prompt and completion, or a conversation's turns (the id is left out)."""
    if "messages" in record:
        return stable_hash(record["messages"], n=16)
    return stable_hash([record["prompt"], record["completion"]], n=16)


def replay_count(replay: int | float, old: int) -> int:
    """Rows to replay out of `old` seen ones: a float is a share (rounded), an int a count (capped)."""
    if isinstance(replay, float):
        return min(old, round(old * replay))
    return min(old, int(replay))


def plan_rows(current: list[dict], seen: list[dict], replay: int | float, seed: int) -> tuple[list[dict], dict]:
    """The round's rows: every current row the adapter has not seen, then a seeded replay sample
    of the rows it has (drawn from `seen`, so rows that left the dataset can still be replayed).
    Returns (rows, {"rows", "new_rows", "replayed", "seen_before", "replayed_ids"})."""
    known = {row_key(r) for r in seen}
    new = [r for r in current if row_key(r) not in known]
    k = replay_count(replay, len(seen))
    replayed = random.Random(seed).sample(seen, k) if k else []
    info = {"rows": len(new) + len(replayed), "new_rows": len(new), "replayed": len(replayed),
            "seen_before": len(seen), "replayed_ids": [r.get("id") for r in replayed]}
    return new + replayed, info


def merge_seen(seen: list[dict], trained: list[dict]) -> list[dict]:
    """Every row the new adapter has learnt from: the start adapter's rows, then this round's new ones."""
    known = {row_key(r) for r in seen}
    out = list(seen)
    for r in trained:
        if (k := row_key(r)) not in known:
            known.add(k)
            out.append(r)
    return out


@dataclass
class Start:
    """Where a continued round starts: an adapter folder, what it had seen, where it came from."""
    adapter: Path
    label: str  # "round 3" or the path given
    round: int | None = None
    seen: list[dict] = field(default_factory=list)
    eval_cases: Path | None = None  # the eval set that adapter's round was scored on (old cases)


def _round_folder(path: Path) -> Path | None:
    """The round folder an adapter path belongs to (the folder itself, or its parent), if any."""
    for folder in (path, path.parent):
        if (folder / "round.json").is_file():
            return folder
    return None


def resolve_start(continue_from: str | None, rounds: Path) -> Start | None:
    """The adapter `train.continue_from` names: None when unset, or `latest` in a run without
    rounds yet (the first round trains from the base). A path may be an adapter folder or a round
    folder (`train/rounds/N`, whose `adapter/` is used); an unknown path is an error naming the key."""
    if continue_from is None:
        return None
    if continue_from == "latest":
        folder = latest_round(rounds)
        if folder is None:
            return None
    else:
        path = Path(continue_from).expanduser()
        if not path.exists():
            raise ContinueError(f"train.continue_from={continue_from!r}: no such adapter or round folder")
        folder = _round_folder(path)
        if folder is None:  # a bare adapter folder: nothing is known about what it saw
            if not (path / "adapter_model.safetensors").is_file():
                raise ContinueError(f"train.continue_from={continue_from!r}: no adapter_model.safetensors there")
            return Start(adapter=path.resolve(), label=str(path))
    adapter = folder / "adapter"
    if not (adapter / "adapter_model.safetensors").is_file():
        raise ContinueError(f"train.continue_from={continue_from!r}: {adapter} has no adapter_model.safetensors")
    cases = folder / "eval_cases.jsonl"
    number = int(folder.name) if folder.name.isdigit() else None
    label = f"round {number}" if continue_from == "latest" and number is not None else str(folder)
    return Start(adapter=adapter.resolve(), label=label, round=number, seen=read_seen(folder),
                 eval_cases=cases if cases.is_file() else None)
