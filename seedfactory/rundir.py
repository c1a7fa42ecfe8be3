"""The run directory's bookkeeping: one writer at a time, and stage markers that can be checked.

- `RunDirLock`: `run.lock` (an OS file lock through `filelock`) is held for the whole run, so a
  second `seedfactory run` on the same --out stops at once, naming the holder (pid, host, start
  time from `run.lock.holder`). The OS drops the lock when its process dies, so a lock left by a
  killed run is simply taken over.
- `Marker`: a stage's `.done` file, JSON, written last: its fingerprint, how many requests it still
  owes (quarantined during an outage: the next run asks them again), and every output's size and
  sha256. A rerun re-hashes the outputs; one that changed means the stage is redone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import atomic_write_text, file_digest

# Files a stage folder holds that change after the stage finished, by design: the review queue
# takes verdicts while the run is idle (its verdicts are an input of publish instead).
LIVE_SUFFIXES = (".sqlite", ".sqlite-wal", ".sqlite-shm", ".sqlite-journal")


class RunDirBusy(SeedfactoryError):
    """Another seedfactory process writes this run directory."""


def prepare_out(out: Path) -> Path:
    """The run directory, created; a path that exists and is not a folder is an error naming it."""
    out = Path(out)
    for p in [out, *out.parents]:
        if p.exists() and not p.is_dir():
            raise SeedfactoryError(f"--out {out}: {p} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SeedfactoryError(f"--out {out}: cannot create the run directory: {e.strerror}") from None
    return out


class RunDirLock:
    """`with RunDirLock(out): ...` holds `out/run.lock`; a second holder gets `RunDirBusy` at once."""

    def __init__(self, out: Path):
        self.path = Path(out) / "run.lock"
        self.holder = Path(out) / "run.lock.holder"
        self._lock = FileLock(str(self.path), timeout=0)

    def __enter__(self) -> "RunDirLock":
        try:
            self._lock.acquire()
        except Timeout:
            try:
                who = json.loads(self.holder.read_text(encoding="utf-8"))
                desc = f"pid {who['pid']} on {who['host']} since {who['since']}"
            except (OSError, ValueError, KeyError, TypeError):
                desc = "another process (no holder details)"
            raise RunDirBusy(f"{self.path.parent}: another seedfactory run is writing here ({desc}); "
                             "wait for it to finish or use another --out") from None
        atomic_write_text(self.holder, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                   "since": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
        return self

    def __exit__(self, *exc) -> None:
        self.holder.unlink(missing_ok=True)
        self._lock.release()


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.is_file())


def describe_outputs(out: Path, paths: list[Path]) -> dict[str, dict]:
    """{relative path: {"size", "sha256"}} for every file under `paths` (files or folders), leaving
    out markers, scratch files and live SQLite stores."""
    found = {}
    for top in paths:
        for p in _files(top):
            if p.name == ".done" or p.name.endswith(".tmp") or p.name.endswith(LIVE_SUFFIXES):
                continue
            found[p.relative_to(out).as_posix()] = {"size": p.stat().st_size, "sha256": file_digest(p)}
    return found


@dataclass
class Marker:
    fingerprint: str
    owed: int = 0  # requests quarantined last time: the stage is finished only as far as it got
    outputs: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> "Marker | None":
        """The marker, or None when there is none or it cannot be read (the stage reruns)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(fingerprint=data["fingerprint"], owed=int(data.get("owed", 0)),
                       outputs=dict(data.get("outputs", {})))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def write(self, path: Path) -> None:
        atomic_write_text(path, json.dumps({"fingerprint": self.fingerprint, "owed": self.owed,
                                            "outputs": self.outputs}, indent=1, sort_keys=True) + "\n")

    def damaged(self, out: Path) -> str | None:
        """The first recorded output that is missing or changed since the stage finished, with why."""
        for rel, want in sorted(self.outputs.items()):
            p = Path(out) / rel
            if not p.is_file():
                return f"{p} is missing"
            if p.stat().st_size != want["size"]:
                return f"{p} is {p.stat().st_size} bytes, was {want['size']}"
            if file_digest(p) != want["sha256"]:
                return f"{p} has changed (sha256 differs)"
        return None

    def data_digest(self) -> dict[str, str]:
        """What downstream fingerprints hash: the outputs' digests, less the timing-laden stats."""
        return {rel: d["sha256"] for rel, d in sorted(self.outputs.items()) if not rel.endswith("/stats.json")}
