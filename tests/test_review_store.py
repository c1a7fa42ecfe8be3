"""The review queue: migrations, idempotent adds, verdicts; the stratified review sample."""

import sqlite3
from collections import Counter

import pytest
from factories import make_example

from seedfactory.review import (
    MIGRATIONS,
    STATUSES,
    ReviewError,
    ReviewStore,
    migrate,
    sample_for_review,
    schema_version,
    score_band,
)
from seedfactory.schemas import Example


def ex(i: int, prompt: int = 0, output=None) -> Example:
    return make_example(f"row-{i:03d}", f"Task {prompt}", prompt_id=f"prompt-{prompt}",
                        output=output if output is not None else f"answer {i}")


# -- migrations -----------------------------------------------------------------------------

def test_migrations_create_the_schema(tmp_path):
    path = tmp_path / "review" / "queue.sqlite"
    with ReviewStore(path):
        pass
    conn = sqlite3.connect(path)
    assert schema_version(conn) == len(MIGRATIONS)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(items)")]
    assert cols == ["id", "prompt_id", "payload", "judge_score", "sampled_at", "status", "edited_output",
                    "reviewer", "note", "decided_at", "version", "reason"]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"items", "reviewers", "leases", "reviews"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(items)")}
    assert "items_status" in indexes
    # The CHECK constraint holds even for writers that bypass the store.
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        conn.execute("INSERT INTO items (id, prompt_id, payload, sampled_at, status)"
                     " VALUES ('x', 'p', '{}', 'now', 'maybe')")
    conn.close()


def test_migrations_are_rerunnable_and_upgrade_old_queues(tmp_path):
    path = tmp_path / "queue.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, MIGRATIONS[:1]) == 1  # a queue made before migration 2 existed
    assert "items_status" not in {r[1] for r in conn.execute("PRAGMA index_list(items)")}
    conn.close()

    with ReviewStore(path) as store:  # applies only migration 2
        store.add([ex(1)], {})
    with ReviewStore(path) as store:  # applies nothing, keeps the rows
        assert store.counts()["pending"] == 1
        assert migrate(store._conn) == len(MIGRATIONS)
    conn = sqlite3.connect(path)
    assert schema_version(conn) == len(MIGRATIONS)
    assert "items_status" in {r[1] for r in conn.execute("PRAGMA index_list(items)")}
    conn.close()


def test_newer_queue_is_refused(tmp_path):
    path = tmp_path / "queue.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(ReviewError, match=r"schema version 4, newer than this seedfactory knows \(3\)"):
        ReviewStore(path)


def test_failed_migration_rolls_back(tmp_path):
    conn = sqlite3.connect(tmp_path / "q.sqlite", isolation_level=None)
    with pytest.raises(ReviewError, match="review queue migration 2 failed"):
        migrate(conn, [MIGRATIONS[0], "CREATE TABLE t (a INT); SELECT * FROM no_such_table;"])
    assert schema_version(conn) == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchone() is None


def test_not_a_database(tmp_path):
    path = tmp_path / "queue.sqlite"
    path.write_text("this is not sqlite" * 100)
    with pytest.raises(ReviewError, match=r"queue.sqlite: cannot open the review queue"):
        ReviewStore(path)


# -- adding and deciding --------------------------------------------------------------------

def test_add_is_idempotent_and_keeps_decisions(tmp_path):
    rows = [ex(1, 0), ex(2, 0), ex(3, 1)]
    with ReviewStore(tmp_path / "q.sqlite") as store:
        assert store.add(rows, {"row-001": 4.0, "row-002": 2.0}) == 3
        store.decide("row-001", "rejected", reviewer="ana", note="wrong total")
        assert store.add(rows + [ex(4, 2)], {"row-001": 5.0}) == 1  # only row-004 is new
        assert store.counts() == {"pending": 3, "accepted": 0, "rejected": 1, "edited": 0}
        item = store.get("row-001")
        assert (item.status, item.judge_score, item.note) == ("rejected", 4.0, "wrong total")
        assert [i.id for i in store.pending()] == ["row-002", "row-003", "row-004"]
        assert store.get("row-003").judge_score is None
        assert store.get("row-002").example == rows[1]  # the payload round-trips the whole Example


def test_decide_round_trip(tmp_path):
    path = tmp_path / "q.sqlite"
    obj = {"vendor": "X", "total": 1.0}
    with ReviewStore(path) as store:
        store.add([ex(1), ex(2), ex(3), ex(4, output=obj)], {"row-001": 3.0})
        store.decide("row-001", "accepted", reviewer="ana")
        store.decide("row-002", "edited", edited_output="a better answer", reviewer="ben", note="tone")
        store.decide("row-004", "edited", edited_output={"vendor": "X Ltd", "total": 1.0})
    with ReviewStore(path) as store:  # verdicts survive reopening
        v = store.verdicts()
        assert set(v) == {"row-001", "row-002", "row-004"}
        assert v["row-001"]["status"] == "accepted" and v["row-001"]["reviewer"] == "ana"
        assert v["row-001"]["judge_score"] == 3.0 and v["row-001"]["decided_at"]
        assert v["row-002"] == v["row-002"] | {"status": "edited", "edited_output": "a better answer",
                                               "reviewer": "ben", "note": "tone"}
        assert v["row-004"]["edited_output"] == {"vendor": "X Ltd", "total": 1.0}
        assert store.get("row-004").edited_output == {"vendor": "X Ltd", "total": 1.0}
        assert store.counts() == {"pending": 1, "accepted": 1, "rejected": 0, "edited": 2}
        # Reopening a row clears its verdict.
        item = store.decide("row-002", "pending")
        assert item.status == "pending"
        assert item.edited_output is item.reviewer is item.decided_at is None
        assert "row-002" not in store.verdicts()


def test_invalid_decisions_are_rejected(tmp_path):
    with ReviewStore(tmp_path / "q.sqlite") as store:
        store.add([ex(1), ex(2, output={"a": 1})], {})
        with pytest.raises(ReviewError, match=r"review item 'row-001': status 'approved' is not one of "
                                              r"pending, accepted, rejected, edited"):
            store.decide("row-001", "approved")
        with pytest.raises(ReviewError, match="status 'edited' needs edited_output"):
            store.decide("row-001", "edited")
        with pytest.raises(ReviewError, match="edited_output is only kept with status 'edited', not 'acc"):
            store.decide("row-001", "accepted", edited_output="x")
        with pytest.raises(ReviewError, match="edited_output must be non-empty text"):
            store.decide("row-001", "edited", edited_output="  ")
        with pytest.raises(ReviewError, match="'row-002': edited_output must be a JSON object"):
            store.decide("row-002", "edited", edited_output='{"a": 2}')
        with pytest.raises(ReviewError, match=r"no review item 'row-999' in .*q.sqlite"):
            store.decide("row-999", "accepted")
        with pytest.raises(ReviewError, match="status 'done' is not one of"):
            store.items("done")
        assert store.counts() == dict.fromkeys(STATUSES, 0) | {"pending": 2}


# -- sampling -------------------------------------------------------------------------------

def _scored_rows():
    # 24 high-scoring rows over 4 prompts, 4 mid rows, 4 low rows, 2 unscored.
    rows, scores = [], {}
    for i in range(34):
        rows.append(ex(i, prompt=i % 4 if i < 24 else 10 + i % 2))
        if i < 24:
            scores[rows[-1].id] = 5.0 if i % 2 else 4.0
        elif i < 28:
            scores[rows[-1].id] = 3.0
        elif i < 32:
            scores[rows[-1].id] = 1.5
    return rows, scores


def test_score_bands():
    assert [score_band(s) for s in (1.0, 2.4, 2.5, 3.9, 4.0, 5.0, None)] == \
        ["low", "low", "mid", "mid", "high", "high", "unscored"]
    assert score_band(3.0, edges=(3.5, 4.5)) == "low"


def test_sample_covers_every_score_band():
    rows, scores = _scored_rows()
    sample = sample_for_review(rows, scores, k=8, seed=0)
    assert len(sample) == 8
    bands = Counter(score_band(scores.get(r.id)) for r in sample)
    assert bands == {"low": 2, "mid": 2, "high": 2, "unscored": 2}
    # A short sample starts with the rows the judge liked least.
    bands = Counter(score_band(scores.get(r.id)) for r in sample_for_review(rows, scores, k=3, seed=0))
    assert bands == {"low": 1, "mid": 1, "high": 1}


def test_sample_spreads_over_prompts_and_fills_from_bigger_bands():
    rows, scores = _scored_rows()
    sample = sample_for_review(rows, scores, k=20, seed=1)
    high = [r for r in sample if score_band(scores.get(r.id)) == "high"]
    # low, mid and unscored run out (4 + 4 + 2 rows); the high band takes the other 10 turns...
    assert len(high) == 10
    # ...spread evenly over its four prompts (10 rows: 3, 3, 2, 2).
    assert sorted(Counter(r.prompt_id for r in high).values()) == [2, 2, 3, 3]


def test_sample_is_deterministic_and_order_independent():
    rows, scores = _scored_rows()
    ids = lambda s: [r.id for r in s]  # noqa: E731
    first = sample_for_review(rows, scores, k=8, seed=7)
    assert ids(first) == ids(sample_for_review(rows, scores, k=8, seed=7))
    # Same rows whatever order they come in; returned in input order.
    assert ids(first) == ids(sample_for_review(rows[::-1], scores, k=8, seed=7))[::-1]
    assert len({tuple(ids(sample_for_review(rows, scores, k=8, seed=s))) for s in range(10)}) > 1


def test_sample_edges():
    rows, scores = _scored_rows()
    assert sample_for_review(rows, scores, k=0, seed=0) == []
    assert sample_for_review(rows, scores, k=len(rows), seed=0) == rows
    assert sample_for_review(rows, scores, k=100, seed=0) == rows
    assert sample_for_review([], {}, k=5, seed=0) == []


def test_store_is_usable_from_another_thread(tmp_path):
    # A review web server answers each request on its own thread with the one shared store.
    import threading

    with ReviewStore(tmp_path / "q.sqlite") as store:
        store.add([ex(i) for i in range(8)], {})
        threads = [threading.Thread(target=store.decide, args=(f"row-{i:03d}", "accepted")) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.counts()["accepted"] == 8
