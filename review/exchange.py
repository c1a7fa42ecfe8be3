"""Verdicts in and out: flat JSONL, Argilla records or Label Studio tasks (review/formats.py).

    seedfactory review RUN_DIR --export queue.jsonl   # one line per queued row, with its verdict
    seedfactory review RUN_DIR --import verdicts.jsonl
    seedfactory review RUN_DIR --export records.json --exchange argilla       # rg.Dataset.records.from_json
    seedfactory review RUN_DIR --import tasks.json --exchange label-studio    # a Label Studio JSON export

An exported line: {"id", "instruction", "input", "output", "judge_score", "status", "edited_output",
"reason", "note", "reviewer"}. An imported line needs "id" and "status" (accepted, rejected,
edited, or their page names approve, reject, edit); "edited_output" for edits (a JSON object, or
text holding one, for JSON rows), optional "reason", "note" and "reviewer". Argilla responses and
Label Studio annotations become such lines first. Edits are checked against the seed set's schema
like edits made on the page; a bad verdict stops the import naming the file and the line, record
or task, before anything is written. review/README.md has both tools' settings.
"""

from __future__ import annotations

import json
from pathlib import Path

from seedfactory.review import formats
from seedfactory.review.store import REJECT_REASONS, ReviewError, ReviewItem, ReviewStore
from seedfactory.schemas import output_text
from seedfactory.util.files import atomic_write_text

ALIASES = {"approve": "accepted", "approved": "accepted", "accept": "accepted", "reject": "rejected",
           "edit": "edited"}
# --exchange: how a queued row is written, and how a file is read back as (where, verdict line) pairs
FORMATS = ("jsonl", "argilla", "label-studio")


def flat_row(item: ReviewItem) -> dict:
    return {"id": item.id, "instruction": item.example.instruction, "input": item.example.input,
            "output": output_text(item.example.output), "judge_score": item.judge_score, "status": item.status,
            "edited_output": item.edited_output, "reason": item.reason, "note": item.note,
            "reviewer": item.reviewer}


def export_verdicts(store: ReviewStore, path: Path, fmt: str = "jsonl") -> int:
    """Every queued row and its verdict to `path` in `fmt` (one of FORMATS); returns the rows."""
    rows = [flat_row(item) for item in store.items()]
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    elif fmt in FORMATS:
        convert = formats.argilla_record if fmt == "argilla" else formats.label_studio_task
        text = json.dumps([convert(r) for r in rows], ensure_ascii=False, indent=1) + "\n"
    else:
        raise ReviewError(f"--exchange {fmt!r} is not one of {', '.join(FORMATS)}")
    atomic_write_text(Path(path), text)
    return len(rows)


def _lines(path: Path, fmt: str) -> list[tuple[str, object]]:
    """(where, verdict line) for every verdict in the file: a JSONL line, or a record's response /
    a task's annotation turned into a line."""
    text = path.read_text(encoding="utf-8")
    if fmt == "jsonl":
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append((f"{path}:{n}", json.loads(line)))
                except json.JSONDecodeError as e:
                    raise ReviewError(f"{path}:{n}: not JSON: {e}") from None
        return out
    if fmt not in FORMATS:
        raise ReviewError(f"--exchange {fmt!r} is not one of {', '.join(FORMATS)}")
    what = "record" if fmt == "argilla" else "task"
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReviewError(f"{path}: not JSON ({fmt} files are one JSON list of {what}s): {e}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ReviewError(f"{path}: want a JSON list of {fmt} {what}s")
    read = formats.argilla_verdicts if fmt == "argilla" else formats.label_studio_verdicts
    return [(f"{path}: {what} {n}", line) for n, item in enumerate(items, 1) for line in read(item)]


def _check(store: ReviewStore, where: str, rec: object) -> dict:
    if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
        raise ReviewError(f"{where}: field 'id' (a string) is required")
    status = ALIASES.get(rec.get("status"), rec.get("status"))
    if status not in ("accepted", "rejected", "edited", "pending"):
        raise ReviewError(f"{where}: field 'status' is {rec.get('status')!r}; want accepted, rejected or edited")
    try:
        item = store.get(rec["id"])
    except ReviewError as e:
        raise ReviewError(f"{where}: {e}") from None
    edited = rec.get("edited_output") if status == "edited" else None
    if status == "edited":
        if isinstance(edited, str) and not isinstance(item.example.output, str):
            try:
                edited = json.loads(edited)
            except json.JSONDecodeError as e:
                raise ReviewError(f"{where}: field 'edited_output' is not JSON: {e}") from None
        if edited is None:
            raise ReviewError(f"{where}: field 'edited_output' is required with status 'edited'")
        try:
            store.check_edit(item, edited)
        except ReviewError as e:
            raise ReviewError(f"{where}: field 'edited_output': {e}") from None
    reason = rec.get("reason") if status == "rejected" else None
    if reason is not None and reason not in REJECT_REASONS:
        raise ReviewError(f"{where}: field 'reason' is {reason!r}; want one of {', '.join(REJECT_REASONS)}")
    return {"item_id": rec["id"], "status": status, "edited_output": edited, "reason": reason,
            "note": rec.get("note"), "reviewer": rec.get("reviewer") or "import"}


def import_verdicts(store: ReviewStore, path: Path, fmt: str = "jsonl") -> dict[str, int]:
    """Check every verdict in the file first, then record them; returns verdicts per status."""
    path = Path(path)
    parsed = [_check(store, where, rec) for where, rec in _lines(path, fmt)]
    counts: dict[str, int] = {}
    for p in parsed:
        store.decide(p["item_id"], p["status"], p["edited_output"], reviewer=p["reviewer"], note=p["note"],
                     reason=p["reason"])
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    return counts


def export_jsonl(store: ReviewStore, path: Path) -> int:
    return export_verdicts(store, path, "jsonl")


def import_jsonl(store: ReviewStore, path: Path) -> dict[str, int]:
    return import_verdicts(store, path, "jsonl")
