"""The human review queue: sampled rows and the reviewer's verdict on each, in one SQLite file.

    with ReviewStore(run_dir / "review" / "queue.sqlite") as store:
        store.add(sample, judge_scores)           # idempotent: decisions already made are kept
        for item in store.pending():
            store.decide(item.id, "accepted", reviewer="ana")
        store.verdicts()                          # {row id: {"status": ..., "edited_output": ...}}

The schema evolves by numbered migrations (after simonw/llm): `MIGRATIONS[i]` takes a database
from version i to i + 1, and the version lives in `PRAGMA user_version`, so opening a store
applies only the migrations it has not seen, each in its own transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from seedfactory.schemas import Example, Output
from seedfactory.util import sqlite
from seedfactory.util.sqlite import schema_version as schema_version  # re-exported

Status = Literal["pending", "accepted", "rejected", "edited"]
STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected", "edited")

# Append only: a released migration is never edited, or databases made with it drift from new ones.
MIGRATIONS: list[str] = [
    # 1: the queue. `payload` is the Example as JSON; `edited_output` is a JSON value (string or object).
    """
    CREATE TABLE items (
        id            TEXT PRIMARY KEY,
        prompt_id     TEXT NOT NULL,
        payload       TEXT NOT NULL CHECK (json_valid(payload)),
        judge_score   REAL,
        sampled_at    TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'accepted', 'rejected', 'edited')),
        edited_output TEXT CHECK (edited_output IS NULL OR json_valid(edited_output)),
        reviewer      TEXT,
        note          TEXT,
        decided_at    TEXT
    );
    """,
    # 2: the review page lists one status at a time, in the order rows were sampled.
    "CREATE INDEX items_status ON items (status, sampled_at);",
]


class ReviewError(ValueError):
    """A review queue that cannot be opened, or a decision that cannot be recorded."""


class ReviewItem(BaseModel):
    """One row of the queue, with the example it shows and the verdict so far."""

    model_config = ConfigDict(extra="forbid")

    id: str
    prompt_id: str
    example: Example
    judge_score: float | None
    sampled_at: str
    status: Status
    edited_output: Output | None = None
    reviewer: str | None = None
    note: str | None = None
    decided_at: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def migrate(conn: sqlite3.Connection, migrations: list[str] = MIGRATIONS) -> int:
    """Apply the migrations this queue has not had yet; returns the new version."""
    try:
        return sqlite.migrate(conn, migrations, "review queue")
    except sqlite.MigrationError as e:
        raise ReviewError(str(e)) from e.__cause__


class ReviewStore:
    """The review queue in one SQLite file (WAL mode), one connection per store.

    The connection may be used from several threads (a review web server), one call at a time.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA busy_timeout = 5000")
            migrate(self._conn)
        except sqlite3.DatabaseError as e:
            self._conn.close()
            raise ReviewError(f"{self.path}: cannot open the review queue: {e}") from e
        except BaseException:
            self._conn.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ReviewStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- writing ---------------------------------------------------------------------------

    def add(self, examples: list[Example], judge_scores: dict[str, float]) -> int:
        """Queue rows as pending; returns how many were new. Ids already queued are left as they are,
        so re-running the review step never duplicates a row or throws away a decision."""
        now = _now()
        rows = [(ex.id, ex.prompt_id, ex.model_dump_json(), judge_scores.get(ex.id), now) for ex in examples]
        with self._tx() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO items (id, prompt_id, payload, judge_score, sampled_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING", rows)
            return conn.total_changes - before

    def decide(self, item_id: str, status: str, edited_output: Output | None = None,
               reviewer: str | None = None, note: str | None = None) -> ReviewItem:
        """Record a verdict. 'edited' needs the corrected output, of the same kind (text or JSON
        object) as the row's; 'pending' reopens a row and clears its verdict."""
        if status not in STATUSES:
            raise ReviewError(f"review item {item_id!r}: status {status!r} is not one of "
                              f"{', '.join(STATUSES)}")
        if status == "edited" and edited_output is None:
            raise ReviewError(f"review item {item_id!r}: status 'edited' needs edited_output")
        if status != "edited" and edited_output is not None:
            raise ReviewError(f"review item {item_id!r}: edited_output is only kept with status 'edited', "
                              f"not {status!r}")
        item = self.get(item_id)
        if edited_output is not None:
            want = str if isinstance(item.example.output, str) else dict
            if not isinstance(edited_output, want) or (want is str and not edited_output.strip()):
                kind = "non-empty text" if want is str else "a JSON object"
                raise ReviewError(f"review item {item_id!r}: edited_output must be {kind}, "
                                  "like the row's output")
        decided = None if status == "pending" else _now()
        if status == "pending":
            reviewer = note = None
        with self._tx() as conn:
            conn.execute(
                "UPDATE items SET status = ?, edited_output = ?, reviewer = ?, note = ?, decided_at = ?"
                " WHERE id = ?",
                (status, None if edited_output is None else json.dumps(edited_output, ensure_ascii=False),
                 reviewer, note, decided, item_id))
        return self.get(item_id)

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _item(row: sqlite3.Row) -> ReviewItem:
        data = dict(row)
        data["example"] = Example.model_validate_json(data.pop("payload"))
        if data["edited_output"] is not None:
            data["edited_output"] = json.loads(data["edited_output"])
        return ReviewItem.model_validate(data)

    def get(self, item_id: str) -> ReviewItem:
        rows = self._query("SELECT * FROM items WHERE id = ?", (item_id,))
        if not rows:
            raise ReviewError(f"no review item {item_id!r} in {self.path}")
        return self._item(rows[0])

    def items(self, status: str | None = None) -> list[ReviewItem]:
        """Every queued row (or those with one status), in the order they were sampled."""
        if status is not None and status not in STATUSES:
            raise ReviewError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self._query(f"SELECT * FROM items {where} ORDER BY sampled_at, rowid", params)
        return [self._item(r) for r in rows]

    def pending(self) -> list[ReviewItem]:
        return self.items("pending")

    def verdicts(self) -> dict[str, dict[str, Any]]:
        """Decided rows only: id -> status, edited_output, reviewer, note, decided_at, judge_score."""
        rows = self._query("SELECT id, status, edited_output, reviewer, note, decided_at, judge_score"
                           " FROM items WHERE status != 'pending' ORDER BY decided_at, rowid")
        out = {}
        for r in rows:
            v = dict(r)
            item_id = v.pop("id")
            if v["edited_output"] is not None:
                v["edited_output"] = json.loads(v["edited_output"])
            out[item_id] = v
        return out

    def counts(self) -> dict[str, int]:
        """Rows per status, every status present (0 when none)."""
        got = dict(self._query("SELECT status, count(*) FROM items GROUP BY status"))
        return {s: got.get(s, 0) for s in STATUSES}
