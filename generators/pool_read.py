"""Reading the files of an unlabelled pool (`seeds.pool`) without trusting them.

A pool is a file, a folder (read recursively) or a glob. Each file gives `Doc`s, one per table row
or per document (a PDF gives one per page), with its source for lineage. A file that cannot be read
safely raises `Unreadable` with why; the caller skips it with one line and the run goes on:

- larger than `pool.max_bytes` (checked on the size before a byte is read; a 1 GB text never loads);
- a zip container (DOCX) whose members would expand past `pool.max_bytes` or past 100x their size, a
  Parquet file whose row groups would, a JSONL line nested too deeply to parse;
- not UTF-8, or binary (NUL bytes); empty; an encrypted or malformed PDF; a type we do not read.

HTML goes through trafilatura, which parses the markup and keeps the main text: scripts and styles
are dropped, never run. Row files (JSONL, CSV, Parquet) need an input column (`pool.column`, else
the first of input/text/content/body/message).

    for doc in read_file(Path("pool/tickets.csv"), cfg):   # Doc(text, file, page=None, row=3)
        ...
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROW_TYPES = {".jsonl", ".csv", ".parquet"}
DOC_TYPES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
INPUT_COLUMNS = ("input", "text", "content", "body", "message")
MAX_EXPANSION = 100  # a zip whose members expand past 100x the file's size is treated as a bomb


class Unreadable(Exception):
    """A pool file skipped: the message says why."""


@dataclass
class Doc:
    text: str
    file: str
    page: int | None = None  # 1-based PDF page
    row: int | None = None  # 1-based line of a JSONL file, row of a CSV or Parquet file


def _decode(data: bytes) -> str:
    if b"\x00" in data[:65536]:
        raise Unreadable("binary (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise Unreadable(f"line {line}: not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start})") from None


def _rows_jsonl(text: str, column: str | None, name: str) -> Iterator[Doc]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise Unreadable(f"line {n}: not JSON ({e.msg})") from None
        except RecursionError:
            raise Unreadable(f"line {n}: JSON nested too deeply to read") from None
        if not isinstance(obj, dict):
            raise Unreadable(f"line {n}: a row is a JSON object, got {type(obj).__name__}")
        key = _column(list(obj), column, f"line {n}")
        yield Doc(str(obj[key] or ""), name, row=n)


def _column(names: list[str], column: str | None, where: str) -> str:
    if column is not None:
        if column not in names:
            raise Unreadable(f"{where}: no column {column!r} (pool.column); columns: {', '.join(names)[:200]}")
        return column
    found = next((c for c in INPUT_COLUMNS if c in names), None)
    if found is None:
        raise Unreadable(f"{where}: no input column (one of {', '.join(INPUT_COLUMNS)}, or set pool.column); "
                         f"columns: {', '.join(map(str, names))[:200]}")
    return found


def _rows_csv(text: str, column: str | None, name: str) -> Iterator[Doc]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        key = _column(list(reader.fieldnames or []), column, "header")
        for n, row in enumerate(reader, start=1):
            yield Doc(str(row.get(key) or ""), name, row=n)
    except csv.Error as e:
        raise Unreadable(f"malformed CSV: {e}") from None


def _rows_parquet(path: Path, column: str | None, name: str, max_bytes: int) -> Iterator[Doc]:
    """Read a batch at a time, counting the text: a file that decodes to more than `max_bytes` of it
    (dictionary encoding packs a repeated long value into a few bytes) stops being read there."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        key = _column(pf.schema_arrow.names, column, "schema")
        n, total = 0, 0
        for batch in pf.iter_batches(batch_size=256, columns=[key]):
            for value in batch.column(0).to_pylist():
                n += 1
                text = "" if value is None else str(value)
                total += len(text)
                if total > max_bytes:
                    raise Unreadable(f"its {key!r} column decodes to more than pool.max_bytes={max_bytes} bytes")
                yield Doc(text, name, row=n)
    except Unreadable:
        raise
    except Exception as e:  # pyarrow raises several types for a damaged file; all mean the same here
        raise Unreadable(f"not a readable Parquet file ({type(e).__name__}: {str(e)[:120]})") from None


def _html(text: str, name: str) -> Iterator[Doc]:
    import trafilatura

    # parsed as markup only: trafilatura drops <script>/<style>; nothing is executed or fetched
    got = trafilatura.extract(text, include_comments=False, include_tables=True, favor_recall=True)
    yield Doc(got or "", name)


def _pdf(path: Path, name: str) -> Iterator[Doc]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise Unreadable("encrypted PDF")
        pages = [(p.extract_text() or "") for p in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as e:
        raise Unreadable(f"malformed PDF ({type(e).__name__}: {str(e)[:120]})") from None
    for n, text in enumerate(pages, start=1):
        yield Doc(text, name, page=n)


def check_zip(path: Path, max_bytes: int) -> None:
    """A zip container is read only when its members' declared sizes stay within bounds."""
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as e:
        raise Unreadable(f"not a DOCX (zip) file ({e})") from None
    size = max(path.stat().st_size, 1)
    if total > max_bytes or total > MAX_EXPANSION * size:
        raise Unreadable(f"zip expands to {total} bytes from {size} (a zip bomb?), over pool.max_bytes={max_bytes} "
                         f"or {MAX_EXPANSION}x its size")


def _docx(path: Path, max_bytes: int, name: str) -> Iterator[Doc]:
    import docx

    check_zip(path, max_bytes)
    try:
        document = docx.Document(str(path))
    except Exception as e:  # python-docx raises KeyError, ValueError, lxml errors... for a damaged file
        raise Unreadable(f"malformed DOCX ({type(e).__name__}: {str(e)[:120]})") from None
    yield Doc("\n\n".join(p.text for p in document.paragraphs), name)


def read_file(path: Path, max_bytes: int, column: str | None = None) -> Iterator[Doc]:
    """The file's docs, or `Unreadable` (raised before any doc of a row file is kept by the caller)."""
    name, suffix = str(path), path.suffix.lower()
    if suffix not in ROW_TYPES | DOC_TYPES:
        raise Unreadable(f"unsupported file type {suffix or '(none)'} (pool reads "
                         f"{', '.join(sorted(ROW_TYPES | DOC_TYPES))})")
    size = path.stat().st_size
    if size == 0:
        raise Unreadable("empty file")
    if size > max_bytes:
        raise Unreadable(f"{size} bytes, more than pool.max_bytes={max_bytes}")
    if suffix == ".pdf":
        return _pdf(path, name)
    if suffix == ".docx":
        return _docx(path, max_bytes, name)
    if suffix == ".parquet":
        return _rows_parquet(path, column, name, max_bytes)
    text = _decode(path.read_bytes()[: max_bytes + 1])
    if suffix == ".jsonl":
        return _rows_jsonl(text, column, name)
    if suffix == ".csv":
        return _rows_csv(text, column, name)
    if suffix in (".html", ".htm"):
        return _html(text, name)
    return iter([Doc(text, name)])


def pool_files(spec: str) -> list[Path]:
    """The files of `seeds.pool`: a file, a folder (recursively, hidden files left out) or a glob."""
    import glob

    path = Path(spec).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(path).parts))
    found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    if not found:
        raise FileNotFoundError(f"seeds.pool={spec}: no such file or folder, and no file matches it as a glob")
    return found
