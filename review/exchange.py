"""Verdicts in and out as JSONL, for teams that review in Argilla or Label Studio.

    seedfactory review RUN_DIR --export queue.jsonl   # one line per queued row, with its verdict
    seedfactory review RUN_DIR --import verdicts.jsonl

An exported line: {"id", "instruction", "input", "output", "judge_score", "status", "edited_output",
"reason", "note", "reviewer"}. An imported line needs "id" and "status" (accepted, rejected,
edited, or their page names approve, reject, edit); "edited_output" for edits (a JSON object, or
text holding one, for JSON rows), optional "reason", "note" and "reviewer". Edits are checked
against the seed set's schema like edits made on the page; a bad line stops the import with
file:line, before anything is written. See review/README.md for the Argilla / Label Studio mapping.
"""

from __future__ import annotations

import json
from pathlib import Path

from seedfactory.review.store import REJECT_REASONS, ReviewError, ReviewStore
from seedfactory.schemas import output_text
from seedfactory.util.files import atomic_write_text

ALIASES = {"approve": "accepted", "approved": "accepted", "accept": "accepted", "reject": "rejected",
           "edit": "edited"}


def export_jsonl(store: ReviewStore, path: Path) -> int:
    lines = []
    for item in store.items():
        lines.append(json.dumps({
            "id": item.id, "instruction": item.example.instruction, "input": item.example.input,
            "output": output_text(item.example.output), "judge_score": item.judge_score, "status": item.status,
            "edited_output": item.edited_output, "reason": item.reason, "note": item.note,
            "reviewer": item.reviewer}, ensure_ascii=False))
    atomic_write_text(Path(path), "".join(line + "\n" for line in lines))
    return len(lines)


def _parse(store: ReviewStore, path: Path, n: int, line: str) -> dict:
    where = f"{path}:{n}"
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise ReviewError(f"{where}: not JSON: {e}") from None
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


def import_jsonl(store: ReviewStore, path: Path) -> dict[str, int]:
    """Check every line first, then record them; returns verdicts per status."""
    path = Path(path)
    lines = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
    parsed = [_parse(store, path, n, line) for n, line in lines]
    counts: dict[str, int] = {}
    for p in parsed:
        store.decide(p["item_id"], p["status"], p["edited_output"], reviewer=p["reviewer"], note=p["note"],
                     reason=p["reason"])
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    return counts
