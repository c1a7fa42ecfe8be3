"""An unlabelled pool of the user's own inputs (`seeds.pool`): read, cleaned, cut into units,
deduplicated and kept away from the evaluation cases, each item with where it came from.

    items = ingest(files, cfg, reject, eval_texts)   # [PoolItem(id, text, file, page, row, start, end)]

- units (`pool.unit`): `row` (a table row, a document, a PDF page), `paragraph` (blank-line separated
  blocks of a document) or `chunk` (windows of `pool.chunk_tokens` tokens overlapping by
  `pool.chunk_overlap`; a token here is a word or a punctuation mark, so counts do not depend on
  a model's tokenizer). `start`/`end` are the unit's character span in its cleaned document text.
- cleaning: Unicode NFC, control characters out, runs of spaces to one, three or more newlines to
  two, units shorter than `pool.min_chars` out (`pool_too_short`).
- dedup: exact (case and whitespace folded, `pool_duplicate`) then near (MinHash-LSH, verified Jaccard
  of word 3-shingles at `pool.near_dup_threshold`, `pool_near_duplicate`), validators/lsh.py.
- decontamination: a unit whose Jaccard to an evaluation input reaches `validate.decontam_threshold`
  leaves (`pool_contaminated`) before any teacher sees it.

A file that cannot be read (generators/pool_read.py) is one reject `pool_file_skipped` naming it and
why; the run goes on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from seedfactory.generators.pool_read import Doc, Unreadable, read_file
from seedfactory.schemas import stable_hash
from seedfactory.schemas.config import PoolConfig

TOKEN = re.compile(r"\w+|[^\w\s]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


class PoolItem(BaseModel):
    """One unlabelled input and its source: file, PDF page or table row, character span."""

    model_config = ConfigDict(extra="forbid")
    id: str
    text: str
    file: str
    page: int | None = None
    row: int | None = None
    start: int = 0
    end: int = 0
    pii: dict[str, int] = {}  # entities found per kind (validators/pii.py)
    masked: bool = False


def clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL.sub("", text.replace("\t", " "))
    text = re.sub(r"[ \u00a0]{2,}", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def units(text: str, unit: str, chunk_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of a cleaned text's units."""
    if unit == "row":
        return [(0, len(text))] if text else []
    if unit == "paragraph":
        return [(m.start(), m.end()) for m in re.finditer(r"[^\n](?:[^\n]|\n(?!\n))*", text)]
    tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
    step, out = max(1, chunk_tokens - overlap), []
    for i in range(0, len(tokens), step):
        window = tokens[i:i + chunk_tokens]
        out.append((window[0][0], window[-1][1]))
        if i + chunk_tokens >= len(tokens):
            break
    return out


def split_docs(docs: list[Doc], cfg: PoolConfig) -> list[PoolItem]:
    items = []
    for d in docs:
        text = clean(d.text)
        unit = "row" if d.row is not None else cfg.unit  # a table row is one input whatever the unit
        for start, end in units(text, unit, cfg.chunk_tokens, cfg.chunk_overlap):
            piece = text[start:end]
            items.append(PoolItem(id=stable_hash([d.file, d.page, d.row, start, piece]), text=piece, file=d.file,
                                  page=d.page, row=d.row, start=start, end=end))
    return items


def read_files(files: list[Path], cfg: PoolConfig, reject: Callable,
               log: Callable[[str], None]) -> tuple[list[Doc], dict]:
    """Every readable file's docs; a file that is not is skipped with one line (and one reject)."""
    docs: list[Doc] = []
    counts = {"files": len(files), "files_read": 0, "files_skipped": 0}
    for path in files:
        try:
            got = list(read_file(path, cfg.max_bytes, cfg.column))
            if not any(d.text.strip() for d in got):
                raise Unreadable("no text in it (a scanned PDF, a page of scripts, empty rows?)")
        except (Unreadable, OSError) as e:
            why = str(e) if isinstance(e, Unreadable) else f"cannot read: {e.strerror or e}"
            log(f"pool: skipped {path}: {why}")
            reject(str(path), "pool_file_skipped", detail=f"{path}: {why}")
            counts["files_skipped"] += 1
            continue
        counts["files_read"] += 1
        docs += got
    return docs, counts


def dedup(items: list[PoolItem], cfg: PoolConfig, reject: Callable, eval_texts: list[str], decontam_threshold: float,
          num_perm: int) -> list[PoolItem]:
    """Short units, exact and near duplicates and units too close to an evaluation input leave."""
    from seedfactory.validators.lsh import ShingleIndex

    kept, seen = [], {}
    for it in items:
        key = " ".join(it.text.casefold().split())
        if len(key) < cfg.min_chars:
            reject(it.id, "pool_too_short", detail=f"{len(key)} chars < pool.min_chars={cfg.min_chars} ({_where(it)})")
        elif key in seen:
            reject(it.id, "pool_duplicate", dup_of=seen[key], similarity=1.0, detail=_where(it))
        else:
            seen[key] = it.id
            kept.append(it)
    if len(kept) > 1:
        index = ShingleIndex([it.text for it in kept], threshold=cfg.near_dup_threshold, num_perm=num_perm)
        gone: dict[int, tuple[int, float]] = {}
        for i, j, sim in sorted(index.similar_pairs()):
            if i not in gone and j not in gone:
                gone[j] = (i, sim)
        for j, (i, sim) in gone.items():
            reject(kept[j].id, "pool_near_duplicate", dup_of=kept[i].id, similarity=sim, detail=_where(kept[j]))
        kept = [it for n, it in enumerate(kept) if n not in gone]
    if eval_texts and kept:
        index = ShingleIndex(eval_texts, threshold=decontam_threshold, num_perm=num_perm)
        clean_items = []
        for it in kept:
            best = index.matches(it.text)[:1]
            if best:
                reject(it.id, "pool_contaminated", dup_of=f"eval:{best[0][0]}", similarity=best[0][1],
                       detail=f"{_where(it)} overlaps evaluation case {best[0][0]}")
            else:
                clean_items.append(it)
        kept = clean_items
    return kept


def _where(it: PoolItem) -> str:
    at = f" page {it.page}" if it.page else f" row {it.row}" if it.row else ""
    return f"{it.file}{at} chars {it.start}-{it.end}"


def ingest(files: list[Path], cfg: PoolConfig, reject: Callable, log: Callable[[str], None], eval_texts: list[str] = (),
           decontam_threshold: float = 0.5, num_perm: int = 128) -> tuple[list[PoolItem], dict]:
    """The pool's items (at most `pool.max_items`, in file order) and the counts for the funnel."""
    docs, counts = read_files(files, cfg, reject, log)
    items = split_docs(docs, cfg)
    kept = dedup(items, cfg, reject, list(eval_texts), decontam_threshold, num_perm)
    if cfg.max_items is not None:
        kept = kept[: cfg.max_items]
    return kept, counts | {"docs": len(docs), "units": len(items), "kept": len(kept)}


def pool_summary(stats: dict | None) -> str | None:
    """One line on the pool for the report and the dataset card: files, inputs, personal data and what was done."""
    if not stats or not stats.get("files"):
        return None
    pii = stats.get("pii") or {}
    found = ", ".join(f"{k} {n}" for k, n in sorted((pii.get("entities") or {}).items())) or "none"
    done = {"report": "reported only (pool.pii=report): the inputs went to the teacher as they were",
            "mask": f"masked with consistent fakes of the same kind in {pii.get('masked', 0)} inputs",
            "drop": f"{pii.get('dropped', 0)} inputs with any dropped"}.get(pii.get("mode"), "not checked")
    return (f"Pool: {stats.get('files_read', 0)} of {stats['files']} files read ({stats.get('files_skipped', 0)} "
            f"skipped), {stats.get('units', 0)} inputs, {stats.get('out', 0)} kept after dedup and decontamination. "
            f"Personal data ({pii.get('recogniser', '?')} recognisers) in {pii.get('inputs_with_pii', 0)} inputs: "
            f"{found}; {done}.")
