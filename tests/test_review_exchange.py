"""Review verdicts through Argilla's records and Label Studio's tasks (review/formats.py): each
format round-trips every verdict (approve, reject with reason and note, edit of a JSON row, the
reviewer) into a fresh queue, reads what the tools themselves export (Argilla user ids, Label
Studio user numbers and cancelled annotations), and a bad verdict names its record or task.
Run: .venv/bin/pytest tests/test_review_exchange.py
"""

import json

import pytest
from test_review_leases import SCHEMA, rows

from seedfactory.cli import main
from seedfactory.review import ReviewError, ReviewStore
from seedfactory.review.exchange import FORMATS, export_verdicts, import_verdicts

KEYS = ("status", "edited_output", "reviewer", "note", "reason")


def queue(path, decided: bool) -> ReviewStore:
    store = ReviewStore(path, schema=SCHEMA)
    store.add(rows(4, json_output=True), {"row-000": 4.5, "row-001": 1.25})
    if decided:
        store.decide("row-000", "accepted", reviewer="ana")
        store.decide("row-001", "rejected", reviewer="ben", reason="wrong", note="total is off")
        store.decide("row-002", "edited", {"vendor": "V2 Ltd", "total": 2.5}, reviewer="ana", note="name")
    return store


@pytest.mark.parametrize("fmt", FORMATS)
def test_verdicts_round_trip_through_each_format(tmp_path, fmt):
    src, dst = queue(tmp_path / "a.sqlite", True), queue(tmp_path / "b.sqlite", False)
    with src, dst:
        path = tmp_path / f"out.{fmt}"
        assert export_verdicts(src, path, fmt) == 4
        # a flat line keeps a pending row's status (importing it reopens the row); the tools have no answer
        pending = {"pending": 1} if fmt == "jsonl" else {}
        assert import_verdicts(dst, path, fmt) == {"accepted": 1, "rejected": 1, "edited": 1, **pending}
        want = {i: {k: v[k] for k in KEYS} for i, v in src.verdicts().items()}
        assert {i: {k: v[k] for k in KEYS} for i, v in dst.verdicts().items()} == want
        assert dst.get("row-003").status == "pending"


def test_argilla_records_carry_fields_suggestion_metadata_and_responses(tmp_path):
    with queue(tmp_path / "a.sqlite", True) as store:
        export_verdicts(store, tmp_path / "r.json", "argilla")
    records = json.loads((tmp_path / "r.json").read_text())
    first, rejected, pending = records[0], records[1], records[3]
    assert set(first) == {"id", "fields", "metadata", "suggestions", "responses", "vectors", "_server_id"}
    assert first["id"] == "row-000" and first["fields"]["instruction"] == "Task 0" and "input" not in first["fields"]
    assert json.loads(first["fields"]["output"]) == {"vendor": "V0", "total": 0.0}
    assert first["metadata"] == {"judge_score": 4.5}
    assert first["suggestions"] == {"edited_output": {"value": first["fields"]["output"], "score": None,
                                                      "agent": "seedfactory"}}
    assert first["responses"] == {"verdict": [{"value": "approve", "user_id": "ana"}]}
    assert rejected["responses"] == {"verdict": [{"value": "reject", "user_id": "ben"}],
                                     "reason": [{"value": "wrong", "user_id": "ben"}],
                                     "note": [{"value": "total is off", "user_id": "ben"}]}
    assert pending["responses"] == {}


def test_label_studio_tasks_carry_the_output_as_a_prediction_and_verdicts_as_annotations(tmp_path):
    with queue(tmp_path / "a.sqlite", True) as store:
        export_verdicts(store, tmp_path / "t.json", "label-studio")
    tasks = json.loads((tmp_path / "t.json").read_text())
    edited, pending = tasks[2], tasks[3]
    assert tasks[0]["data"]["id"] == "row-000" and tasks[0]["predictions"][0]["score"] == 4.5
    pred = edited["predictions"][0]
    assert pred["model_version"] == "seedfactory" and "score" not in pred
    assert pred["result"] == [{"from_name": "edited_output", "to_name": "output", "type": "textarea",
                               "value": {"text": [edited["data"]["output"]]}}]
    ann = edited["annotations"][0]
    assert ann["completed_by"] == "ana" and ann["was_cancelled"] is False
    regions = {r["from_name"]: r for r in ann["result"]}
    assert regions["verdict"]["type"] == "choices" and regions["verdict"]["value"] == {"choices": ["edit"]}
    assert json.loads(regions["edited_output"]["value"]["text"][0]) == {"vendor": "V2 Ltd", "total": 2.5}
    assert "annotations" not in pending


def test_what_the_tools_export_reads_back(tmp_path):
    """Argilla: two users' responses on one record (user ids are UUIDs). Label Studio: a numeric
    user, an expanded user, and a cancelled annotation that is not a verdict."""
    uid = "4f1b6a0e-0000-4000-8000-000000000001"
    records = [{"id": "row-000", "fields": {"instruction": "Task 0", "output": "{}"}, "status": "completed",
                "responses": {"verdict": [{"value": "approve", "user_id": uid},
                                          {"value": "reject", "user_id": "u2"}],
                              "reason": [{"value": "incomplete", "user_id": "u2"}]}}]
    tasks = [{"id": 7, "data": {"id": "row-001"}, "annotations": [
        {"completed_by": 3, "was_cancelled": False, "result": [
            {"from_name": "verdict", "to_name": "output", "type": "choices", "value": {"choices": ["approve"]}}]},
        {"completed_by": 4, "was_cancelled": True, "result": [
            {"from_name": "verdict", "to_name": "output", "type": "choices", "value": {"choices": ["reject"]}}]}]},
        {"id": 8, "data": {"id": "row-002"}, "annotations": [
            {"completed_by": {"id": 5, "email": "li@example.org"}, "result": [
                {"from_name": "verdict", "to_name": "output", "type": "choices", "value": {"choices": ["reject"]}},
                {"from_name": "note", "to_name": "output", "type": "textarea", "value": {"text": ["a", "b"]}}]}]}]
    (tmp_path / "r.json").write_text(json.dumps(records))
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    with queue(tmp_path / "a.sqlite", False) as store:
        assert import_verdicts(store, tmp_path / "r.json", "argilla") == {"accepted": 1, "rejected": 1}
        assert import_verdicts(store, tmp_path / "t.json", "label-studio") == {"accepted": 1, "rejected": 1}
        reviews = {(r["item_id"], r["reviewer"]): r["status"] for r in store.reviews()}
        assert reviews == {("row-000", uid): "accepted", ("row-000", "u2"): "rejected",
                           ("row-001", "label-studio-user-3"): "accepted", ("row-002", "li@example.org"): "rejected"}
        assert store.get("row-002").note == "a\nb"


def test_a_bad_verdict_names_its_task_and_nothing_is_written(tmp_path, capsys):
    tasks = [{"data": {"id": "row-000"}, "annotations": [{"result": [
                {"from_name": "verdict", "type": "choices", "value": {"choices": ["approve"]}}]}]},
             {"data": {"id": "row-001"}, "annotations": [{"result": [
                 {"from_name": "verdict", "type": "choices", "value": {"choices": ["edit"]}},
                 {"from_name": "edited_output", "type": "textarea", "value": {"text": ['{"vendor": 1}']}}]}]}]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tasks))
    with queue(tmp_path / "a.sqlite", False) as store:
        with pytest.raises(ReviewError, match=r"t.json: task 2: field 'edited_output': .*'total' is a required"):
            import_verdicts(store, path, "label-studio")
        assert store.verdicts() == {}
        path.write_text('{"data": {}}')
        with pytest.raises(ReviewError, match="want a JSON list of label-studio tasks"):
            import_verdicts(store, path, "label-studio")


def test_the_review_command_chooses_the_format(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "review").mkdir(parents=True)
    queue(run / "review" / "queue.sqlite", True).close()
    out = tmp_path / "tasks.json"
    assert main(["review", str(run), "--export", str(out), "--exchange", "label-studio"]) == 0
    assert capsys.readouterr().out.strip() == f"exported 4 rows to {out}"
    assert [t["data"]["id"] for t in json.loads(out.read_text())] == ["row-000", "row-001", "row-002", "row-003"]
    assert main(["review", str(run), "--import", str(out), "--exchange", "label-studio"]) == 0
    assert "imported 3 verdicts" in capsys.readouterr().out
