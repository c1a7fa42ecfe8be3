"""Reviewers, leases, the version check, the overlap share, schema-checked edits, export/import,
and the numbers computed from verdicts (Wilson bound, gate, Cohen's kappa)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from factories import make_example

from seedfactory.review import (
    Conflict,
    NotLeased,
    ReviewError,
    ReviewStore,
    agreement,
    gate_message,
)
from seedfactory.review.exchange import export_jsonl, import_jsonl
from seedfactory.util.stats import cohen_kappa, wilson_upper

SCHEMA = {"type": "object", "required": ["vendor", "total"], "additionalProperties": False,
          "properties": {"vendor": {"type": "string"}, "total": {"type": "number"}}}


class Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, minutes: float):
        self.now += timedelta(minutes=minutes)


def rows(n, json_output=False):
    return [make_example(f"row-{i:03d}", f"Task {i}", prompt_id=f"p{i}",
                         output={"vendor": f"V{i}", "total": float(i)} if json_output else f"answer {i}")
            for i in range(n)]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    with ReviewStore(tmp_path / "q.sqlite", schema=SCHEMA, lease_minutes=10, clock=clock) as s:
        yield s


def test_reviewer_tokens_are_stored_hashed(store, tmp_path):
    token = store.add_reviewer("ana")
    assert store.reviewer_for(token) == "ana"
    assert store.reviewer_for(token + "x") is None and store.reviewer_for("") is None
    raw = (tmp_path / "q.sqlite").read_bytes() + (tmp_path / "q.sqlite-wal").read_bytes()
    assert token.encode() not in raw
    with pytest.raises(ReviewError, match="reviewer 'ana' already exists"):
        store.add_reviewer("ana")
    with pytest.raises(ReviewError, match="reviewer name '../x'"):
        store.add_reviewer("../x")


def test_a_row_goes_to_one_reviewer_and_an_expired_lease_returns_it(store, clock):
    store.add(rows(2), {})
    a = store.lease_next("ana")
    assert store.lease_next("ana").id == a.id  # the row ana holds, not a second one
    b = store.lease_next("ben")
    assert b.id != a.id
    assert store.lease_next("cy") is None  # both rows are leased
    with pytest.raises(NotLeased, match="not leased to 'cy'"):
        store.decide(a.id, "accepted", reviewer="cy", version=a.version, require_lease=True)
    clock.advance(11)  # ana's and ben's leases expire
    assert store.lease_next("cy").id == a.id
    with pytest.raises(NotLeased, match="the lease expired"):
        store.decide(a.id, "accepted", reviewer="ana", version=a.version, require_lease=True)
    store.decide(a.id, "accepted", reviewer="cy", version=a.version, require_lease=True)
    history = [(h["item_id"], h["reviewer"], h["outcome"]) for h in store.lease_history()]
    assert history == [(a.id, "ana", None), (b.id, "ben", None), (a.id, "cy", "decided")]


def test_the_later_of_two_saves_gets_a_conflict_with_the_newer_verdict(store):
    store.add(rows(1), {})
    seen = store.lease_next("ana")  # the same row open in two tabs: both saw version 0
    store.decide(seen.id, "rejected", reviewer="ana", reason="wrong", note="bad total", version=seen.version,
                 require_lease=True)
    with pytest.raises(Conflict, match="changed since version 0") as e:
        store.decide(seen.id, "accepted", reviewer="ana", version=seen.version)
    assert (e.value.current.status, e.value.current.reason, e.value.current.version) == ("rejected", "wrong", 1)
    assert store.get(seen.id).status == "rejected"  # the first verdict was not lost
    store.decide(seen.id, "accepted", reviewer="ana", version=1)  # on the version it saw: fine
    assert store.get(seen.id).version == 2


def test_overlap_rows_go_to_two_different_reviewers(tmp_path, clock):
    with ReviewStore(tmp_path / "q.sqlite", overlap=0.5, clock=clock) as store:
        store.add(rows(40), {})
        two = {r.id for r in rows(40) if store.needs_two(r.id)}
        assert 10 < len(two) < 30  # a hash share, about half
        seen: dict[str, list[str]] = {}
        for turn in range(200):
            who = ["ana", "ben", "cy"][turn % 3]
            item = store.lease_next(who)
            if item is None:
                continue
            seen.setdefault(item.id, []).append(who)
            store.decide(item.id, "accepted", reviewer=who, version=item.version, require_lease=True)
        assert {i: len(set(w)) for i, w in seen.items()} == {r.id: 2 if r.id in two else 1 for r in rows(40)}
        assert all(store.lease_next(w) is None for w in ("ana", "ben", "cy"))


def test_a_rejection_by_either_reviewer_decides_the_row(store):
    store.overlap = 1.0
    store.add(rows(1), {})
    store.decide("row-000", "accepted", reviewer="ana")
    store.decide("row-000", "rejected", reviewer="ben", reason="unsafe")
    item = store.get("row-000")
    assert (item.status, item.reviewer, item.reason) == ("rejected", "ben", "unsafe")
    assert sorted((r["reviewer"], r["status"]) for r in store.reviews()) == [("ana", "accepted"), ("ben", "rejected")]


def test_edits_are_checked_against_the_schema(store):
    store.add(rows(1, json_output=True), {})
    with pytest.raises(ReviewError, match="does not fit the output schema at total: 'lots' is not of type 'number'"):
        store.decide("row-000", "edited", {"vendor": "V", "total": "lots"})
    with pytest.raises(ReviewError, match="at \\(top level\\): Additional properties are not allowed"):
        store.decide("row-000", "edited", {"vendor": "V", "total": 1, "extra": 1})
    assert store.get("row-000").status == "pending"
    assert store.decide("row-000", "edited", {"vendor": "V Ltd", "total": 2.0}).edited_output == \
        {"vendor": "V Ltd", "total": 2.0}
    with pytest.raises(ReviewError, match="reason 'meh' is not one of wrong, incomplete"):
        store.decide("row-000", "rejected", reason="meh")


def test_export_then_import_round_trips_and_a_bad_line_writes_nothing(store, tmp_path):
    store.add(rows(3, json_output=True), {"row-000": 4.5})
    store.decide("row-000", "rejected", reviewer="ana", reason="wrong")
    out = tmp_path / "queue.jsonl"
    assert export_jsonl(store, out) == 3
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0] | {"status": "rejected", "reason": "wrong", "judge_score": 4.5} == lines[0]
    verdicts = tmp_path / "in.jsonl"
    verdicts.write_text(json.dumps({"id": "row-001", "status": "approve", "reviewer": "ls"}) + "\n"
                        + json.dumps({"id": "row-002", "status": "edit", "edited_output": '{"vendor": 1}'}) + "\n")
    with pytest.raises(ReviewError, match=r"in.jsonl:2: field 'edited_output': .*'total' is a required property"):
        import_jsonl(store, verdicts)
    assert store.get("row-001").status == "pending"  # checked first, nothing written
    verdicts.write_text(json.dumps({"id": "row-001", "status": "approve", "reviewer": "ls"}) + "\n"
                        + json.dumps({"id": "row-002", "status": "edit",
                                      "edited_output": '{"vendor": "W", "total": 3}'})
                        + "\n")
    assert import_jsonl(store, verdicts) == {"accepted": 1, "edited": 1}
    assert store.get("row-002").edited_output == {"vendor": "W", "total": 3}
    assert store.get("row-001").reviewer == "ls" and store.get("row-002").reviewer == "import"


def test_wilson_upper_bound():
    assert wilson_upper(0, 0) == 1.0
    assert wilson_upper(0, 10) == pytest.approx(0.2775, abs=1e-4)
    assert wilson_upper(3, 12) == pytest.approx(0.5323, abs=1e-4)  # by hand: 0.70272 / 1.32013
    assert wilson_upper(12, 12) == pytest.approx(1.0)


def test_gate_refuses_waits_and_passes():
    counts = {"pending": 0, "accepted": 8, "rejected": 3, "edited": 1}
    msg = gate_message(counts, max_defect_rate=0.2, min_reviewed=0)
    assert msg == ("training refused: reviewers rejected 3 of 12 reviewed rows (8 approved, 1 edited); the 95% "
                   "Wilson upper bound of the defect rate is 0.532, above review.max_defect_rate=0.2")
    assert gate_message(counts, max_defect_rate=0.6, min_reviewed=0) is None
    assert gate_message(counts, max_defect_rate=None, min_reviewed=0) is None
    assert gate_message(counts, None, min_reviewed=20).startswith("training waits for review: 12 of "
                                                                   "review.min_reviewed=20 rows reviewed")


def test_cohen_kappa():
    assert cohen_kappa([]) == {"kappa": None, "n": 0, "agree": None}
    assert cohen_kappa([("keep", "keep"), ("drop", "drop")])["kappa"] == 1.0
    # 4 pairs: observed 0.5, chance 0.5 -> 0
    assert cohen_kappa([("keep", "keep"), ("keep", "drop"), ("drop", "keep"), ("drop", "drop")])["kappa"] == 0.0
    # textbook: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> po 0.7, pe 0.5, kappa 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == {"kappa": 0.4, "n": 50, "agree": 0.7}
    assert cohen_kappa([("keep", "keep")] * 3)["kappa"] is None  # chance agreement 1: undefined


def test_agreement_from_verdicts():
    verdicts = {"a": {"status": "accepted"}, "b": {"status": "rejected"}, "c": {"status": "edited"},
                "d": {"status": "accepted"}}
    reviews = [{"item_id": "a", "reviewer": "ana", "status": "accepted"},
               {"item_id": "a", "reviewer": "ben", "status": "accepted"},
               {"item_id": "b", "reviewer": "ana", "status": "rejected"},
               {"item_id": "b", "reviewer": "ben", "status": "accepted"},
               {"item_id": "c", "reviewer": "ana", "status": "edited"}]
    got = agreement(reviews, verdicts, judge_kept={"a", "b", "d"})
    # judge keep/keep/drop/keep vs reviewers keep/drop/drop/keep: po 0.75, pe 0.5 -> 0.5
    assert got["judge_vs_reviewers"] == {"kappa": 0.5, "n": 4, "agree": 0.75}
    assert got["between_reviewers"]["n"] == 2 and got["between_reviewers"]["agree"] == 0.5
