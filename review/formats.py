"""Argilla's and Label Studio's own file formats for the review queue, to and from the flat
verdict lines of review/exchange.py (which checks and records them).

    Argilla 2.x: a JSON list of records as `rg.Dataset.records.to_json` writes them and `from_json`
    reads them: {"id", "fields", "metadata", "suggestions": {question: {"value", "score", "agent"}},
    "responses": {question: [{"value", "user_id"}, ...]}, "vectors", "_server_id"}.
    The dataset's settings (review/README.md): TextFields instruction, input (not required),
    output; LabelQuestions verdict (approve / reject / edit) and reason; TextQuestions note and
    edited_output (suggested: the row's output); metadata judge_score.

    Label Studio: a JSON list of tasks (its "Basic Label Studio JSON format"): {"data",
    "predictions": [{"model_version", "score", "result"}], "annotations": [{"completed_by",
    "was_cancelled", "result"}]}, each result region {"from_name", "to_name", "type", "value"}
    for the labeling config in review/README.md (<Choices name="verdict">, <Choices name="reason">,
    <TextArea name="note">, <TextArea name="edited_output">, all toName="output").

Out, the row's output is the suggestion / prediction an annotator starts from, and each verdict a
response / annotation. In, every user's response (Argilla) or every annotation that was not
cancelled (Label Studio) is one verdict line. A reviewer travels as Argilla's `user_id` and Label
Studio's `completed_by` (which Label Studio replaces with the importing user unless it is one of
its user ids: a number becomes `label-studio-user-N`).
"""

from __future__ import annotations

from typing import Any

PAGE_NAMES = {"accepted": "approve", "rejected": "reject", "edited": "edit"}
AGENT = "seedfactory"


def _text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _answers(row: dict) -> dict[str, str]:
    """A decided row's verdict as question -> answer (only the questions it answers)."""
    if row["status"] not in PAGE_NAMES:
        return {}
    out = {"verdict": PAGE_NAMES[row["status"]]}
    if row.get("reason"):
        out["reason"] = row["reason"]
    if row.get("note"):
        out["note"] = row["note"]
    if row["status"] == "edited" and row.get("edited_output") is not None:
        out["edited_output"] = _text(row["edited_output"])
    return out


def _verdict(row_id: str, answers: dict[str, Any], reviewer: str | None) -> dict:
    """A flat verdict line (review/exchange.py) from one user's answers."""
    return {"id": row_id, "status": answers.get("verdict"), "reason": answers.get("reason"),
            "note": answers.get("note"), "edited_output": answers.get("edited_output"), "reviewer": reviewer}


# ---- Argilla -----------------------------------------------------------------------------------

def argilla_record(row: dict) -> dict:
    """One exported row (exchange.flat_row) as an Argilla record dict."""
    fields = {"instruction": row["instruction"], "output": row["output"]}
    if row.get("input"):
        fields["input"] = row["input"]  # an empty TextField is refused: `input` is not required
    responses = {}
    if answers := _answers(row):
        responses = {q: [{"value": v, "user_id": row.get("reviewer") or "import"}] for q, v in answers.items()}
    return {"id": row["id"], "fields": fields,
            "metadata": {} if row.get("judge_score") is None else {"judge_score": row["judge_score"]},
            "suggestions": {"edited_output": {"value": row["output"], "score": None, "agent": AGENT}},
            "responses": responses, "vectors": {}, "_server_id": None}


def argilla_verdicts(record: dict) -> list[dict]:
    """Every user's answers on an Argilla record, one verdict line each (in the order users appear)."""
    by_user: dict[str, dict[str, Any]] = {}
    for question, answers in (record.get("responses") or {}).items():
        for answer in answers or []:
            by_user.setdefault(str(answer.get("user_id")), {})[question] = answer.get("value")
    return [_verdict(record.get("id"), answers, user) for user, answers in by_user.items() if "verdict" in answers]


# ---- Label Studio ------------------------------------------------------------------------------

def _region(name: str, value: str) -> dict:
    kind, key = ("choices", "choices") if name in ("verdict", "reason") else ("textarea", "text")
    return {"from_name": name, "to_name": "output", "type": kind, "value": {key: [value]}}


def label_studio_task(row: dict) -> dict:
    """One exported row as a Label Studio task: the output as a prediction, the verdict as an annotation."""
    prediction = {"model_version": AGENT, "result": [_region("edited_output", row["output"])]}
    if row.get("judge_score") is not None:
        prediction["score"] = row["judge_score"]
    task = {"data": {k: row.get(k) for k in ("id", "instruction", "input", "output", "judge_score")},
            "predictions": [prediction]}
    if answers := _answers(row):
        task["annotations"] = [{"completed_by": row.get("reviewer") or "import", "was_cancelled": False,
                                "result": [_region(q, v) for q, v in answers.items()]}]
    return task


def _reviewer(completed_by: Any) -> str | None:
    if isinstance(completed_by, dict):  # some exports expand the user
        completed_by = completed_by.get("email") or completed_by.get("id")
    if isinstance(completed_by, int):
        return f"label-studio-user-{completed_by}"
    return completed_by


def label_studio_verdicts(task: dict) -> list[dict]:
    """Every annotation of a task that was not cancelled, one verdict line each."""
    out = []
    for ann in task.get("annotations") or []:
        if ann.get("was_cancelled"):
            continue
        answers = {}
        for region in ann.get("result") or []:
            value = region.get("value") or {}
            got = value.get("choices") or value.get("text") or []
            if got:
                answers[region.get("from_name")] = "\n".join(got) if region.get("type") == "textarea" else got[0]
        if "verdict" in answers:
            out.append(_verdict((task.get("data") or {}).get("id"), answers, _reviewer(ann.get("completed_by"))))
    return out
