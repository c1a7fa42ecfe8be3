"""Durable writes and careful reads of the run directory's files.

- `atomic_write_text` writes a temporary file beside the target, fsyncs it, renames it into place
  and fsyncs the folder: a crash leaves the old file or the new one, never half of either.
- `atomic_dir` does the same for folders (models, datasets, adapters): build in a scratch folder,
  rename it into place once complete.
- `read_jsonl` names the file and line of a record that does not parse (a torn last line after a
  kill, a hand edit), as `DamagedFile`, instead of a bare traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from seedfactory.util.errors import SeedfactoryError

M = TypeVar("M", bound=BaseModel)


class DamagedFile(SeedfactoryError, ValueError):
    """A run-directory file that cannot be read back; the message names the file and line."""


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some filesystems do not open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield an empty scratch folder beside `target`; when the block ends without an error the
    scratch folder replaces `target` whole. On an error it is removed and `target` is untouched.

        with atomic_dir(out / "dataset") as tmp:
            dd.save_to_disk(str(tmp))
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield scratch
        old = None
        if target.exists():
            # Move the old folder aside first so the new one appears by one rename.
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / target.name)
        os.replace(scratch, target)
        _fsync_dir(target.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a scratch path beside `target` for a writer that wants a file name (a GGUF writer);
    when the block ends without an error it is fsynced and renamed onto `target`.

        with atomic_file(out / "model.gguf") as tmp:
            writer = GGUFWriter(tmp, "llama"); ...
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a shipped model is meant to be read
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (hex)."""
    import hashlib

    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path):
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DamagedFile(f"{path}: not valid JSON ({e})") from None


def write_jsonl(path: Path, rows: Iterable[BaseModel | dict]) -> int:
    lines = []
    for r in rows:
        is_model = isinstance(r, BaseModel)
        lines.append(r.model_dump_json() if is_model else json.dumps(r, ensure_ascii=False, default=str))
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with Path(path).open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield number, line
    except UnicodeDecodeError as e:
        raise DamagedFile(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_jsonl(path: Path, model: type[M]) -> Iterator[M]:
    for number, line in _lines(path):
        try:
            yield model.model_validate_json(line)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(map(str, err["loc"])) or "(record)"
            raise DamagedFile(f"{path}:{number}: bad {model.__name__} record: {where}: {err['msg']}") from None


def read_jsonl_dicts(path: Path) -> list[dict]:
    """Every record of a JSONL file as a dict; a missing file reads as no records."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for number, line in _lines(path):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise DamagedFile(f"{path}:{number}: not valid JSON: {e.msg} (column {e.colno})") from None
    return out
