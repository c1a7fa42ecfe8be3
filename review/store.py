"""The human review queue: sampled rows, reviewers, leases and verdicts, in one SQLite file.

    with ReviewStore(run_dir / "review" / "queue.sqlite", schema=schema, overlap=0.2) as store:
        store.add(sample, judge_scores)           # idempotent: decisions already made are kept
        token = store.add_reviewer("ana")         # shown once; only its hash is stored
        item = store.lease_next("ana")            # one row at a time, for `lease_minutes`
        store.decide(item.id, "accepted", reviewer="ana", version=item.version, require_lease=True)
        store.verdicts()                          # {row id: {"status": ..., "edited_output": ...}}

A row is leased to one reviewer at a time; a lease that expires returns the row to the queue. A
share of rows (`overlap`, chosen by a hash of the id) is reviewed by two different reviewers, for
agreement. Each save names the row version it was made on: a save on an older version is refused
with `Conflict`, which carries the newer verdict, so two saves never lose an update. A row's final
status combines its reviewers' verdicts: a rejection wins, then an edit, then an approval.

The schema evolves by numbered migrations (after simonw/llm): `MIGRATIONS[i]` takes a database
from version i to i + 1, and the version lives in `PRAGMA user_version`, so opening a store
applies only the migrations it has not seen, each in its own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from seedfactory.schemas import Example, Output
from seedfactory.util import sqlite
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.sqlite import schema_version as schema_version  # re-exported

Status = Literal["pending", "accepted", "rejected", "edited"]
STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected", "edited")
# Why a row was rejected: a short list a reviewer picks from, plus free text in the note.
REJECT_REASONS: tuple[str, ...] = ("wrong", "incomplete", "unsafe", "off_task", "bad_format", "other")

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
    # 3: reviewers (token hashes), leases (history kept: released_at says how one ended), one verdict
    # per reviewer and row, a version per row for the save check, and a reject reason.
    """
    ALTER TABLE items ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE items ADD COLUMN reason TEXT;
    CREATE TABLE reviewers (
        name       TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE leases (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        item_id     TEXT NOT NULL REFERENCES items (id),
        reviewer    TEXT NOT NULL,
        issued_at   TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        released_at TEXT,
        outcome     TEXT CHECK (outcome IS NULL OR outcome IN ('decided', 'skipped'))
    );
    CREATE INDEX leases_open ON leases (item_id, released_at, expires_at);
    CREATE TABLE reviews (
        item_id       TEXT NOT NULL REFERENCES items (id),
        reviewer      TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'edited')),
        edited_output TEXT CHECK (edited_output IS NULL OR json_valid(edited_output)),
        reason        TEXT,
        note          TEXT,
        decided_at    TEXT NOT NULL,
        PRIMARY KEY (item_id, reviewer)
    );
    """,
]


class ReviewError(SeedfactoryError, ValueError):
    """A review queue that cannot be opened, or a decision that cannot be recorded."""


class Conflict(ReviewError):
    """A save made on an older version of a row; `current` is the row as it now stands."""

    def __init__(self, message: str, current: "ReviewItem"):
        super().__init__(message)
        self.current = current


class NotLeased(ReviewError):
    """A save by a reviewer who does not hold the row's lease (never had it, or it expired)."""


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
    reason: str | None = None
    decided_at: str | None = None
    version: int = 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stamp(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


def token_hash(token: str) -> str:
    # Tokens are 32 random bytes, so a plain digest is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def migrate(conn: sqlite3.Connection, migrations: list[str] = MIGRATIONS) -> int:
    """Apply the migrations this queue has not had yet; returns the new version."""
    try:
        return sqlite.migrate(conn, migrations, "review queue")
    except sqlite.MigrationError as e:
        raise ReviewError(str(e)) from e.__cause__


def final_status(reviews: list[dict]) -> dict | None:
    """One row's verdict from its reviewers': a rejection wins, then the latest edit, then approval."""
    for status in ("rejected", "edited", "accepted"):
        hits = [r for r in reviews if r["status"] == status]
        if hits:
            return max(hits, key=lambda r: r["decided_at"])
    return None


class ReviewStore:
    """The review queue in one SQLite file (WAL mode), one connection per store.

    The connection may be used from several threads (a review web server), one call at a time.
    `schema` (the seed set's output JSON schema) checks edits; `overlap` is the share of rows that
    need two reviewers; `clock` returns the current UTC time (tests move it to expire leases).
    """

    def __init__(self, path: str | Path, *, schema: dict | None = None, overlap: float = 0.0,
                 lease_minutes: float = 30.0, clock: Callable[[], datetime] = _utcnow):
        self.path = Path(path)
        self.schema, self.overlap, self.lease_minutes, self.clock = schema, overlap, lease_minutes, clock
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

    def _now(self) -> str:
        return _stamp(self.clock())

    # -- reviewers -------------------------------------------------------------------------

    def add_reviewer(self, name: str) -> str:
        """Register a reviewer; returns their token, which is not stored (only its hash is)."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
            raise ReviewError(f"reviewer name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        token = secrets.token_urlsafe(32)
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM reviewers WHERE name = ?", (name,)).fetchone():
                raise ReviewError(f"reviewer {name!r} already exists in {self.path}")
            conn.execute("INSERT INTO reviewers VALUES (?, ?, ?)", (name, token_hash(token), self._now()))
        return token

    def reviewer_for(self, token: str | None) -> str | None:
        """The reviewer a token belongs to, or None."""
        if not token:
            return None
        digest = token_hash(token)
        for name, stored in self._query("SELECT name, token_hash FROM reviewers"):
            if hmac.compare_digest(stored, digest):
                return name
        return None

    def reviewers(self) -> list[str]:
        return [r[0] for r in self._query("SELECT name FROM reviewers ORDER BY name")]

    # -- adding rows -----------------------------------------------------------------------

    def add(self, examples: list[Example], judge_scores: dict[str, float]) -> int:
        """Queue rows as pending; returns how many were new. Ids already queued are left as they are,
        so re-running the review step never duplicates a row or throws away a decision."""
        now = self._now()
        rows = [(ex.id, ex.prompt_id, ex.model_dump_json(), judge_scores.get(ex.id), now) for ex in examples]
        with self._tx() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO items (id, prompt_id, payload, judge_score, sampled_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING", rows)
            return conn.total_changes - before

    def needs_two(self, item_id: str) -> bool:
        """Whether a row is in the overlap share (the same rows for the same ids and share)."""
        return int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) / 2**32 < self.overlap

    # -- leases ----------------------------------------------------------------------------

    def lease_next(self, reviewer: str) -> ReviewItem | None:
        """The row this reviewer holds, or a new lease on the next row that needs them; None when
        nothing is left for them. Rows they skipped come last."""
        now = self.clock()
        with self._tx() as conn:
            held = conn.execute(
                "SELECT item_id FROM leases WHERE reviewer = ? AND released_at IS NULL AND expires_at > ?"
                " ORDER BY issued_at LIMIT 1", (reviewer, _stamp(now))).fetchone()
            if held:
                return self._item(conn.execute("SELECT * FROM items WHERE id = ?", (held[0],)).fetchone())
            rows = conn.execute(
                """SELECT i.id,
                          (SELECT count(*) FROM reviews r WHERE r.item_id = i.id) AS n,
                          EXISTS (SELECT 1 FROM reviews r WHERE r.item_id = i.id AND r.reviewer = ?) AS mine,
                          EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id AND l.released_at IS NULL
                                  AND l.expires_at > ?) AS taken,
                          EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id AND l.reviewer = ?
                                  AND l.outcome = 'skipped') AS skipped
                   FROM items i ORDER BY i.sampled_at, i.rowid""", (reviewer, _stamp(now), reviewer)).fetchall()
            free = [r for r in rows if not r["mine"] and not r["taken"]
                    and r["n"] < (2 if self.needs_two(r["id"]) else 1)
                    and not (r["n"] == 0 and self._decided_outside_reviews(conn, r["id"]))]
            if not free:
                return None
            pick = sorted(free, key=lambda r: r["skipped"])[0]["id"]
            conn.execute("INSERT INTO leases (item_id, reviewer, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                         (pick, reviewer, _stamp(now), _stamp(now + timedelta(minutes=self.lease_minutes))))
            return self._item(conn.execute("SELECT * FROM items WHERE id = ?", (pick,)).fetchone())

    @staticmethod
    def _decided_outside_reviews(conn: sqlite3.Connection, item_id: str) -> bool:
        # A verdict recorded through the Python API or an import without a reviewer counts as done.
        return conn.execute("SELECT status != 'pending' FROM items WHERE id = ?", (item_id,)).fetchone()[0] == 1

    def holds_lease(self, item_id: str, reviewer: str) -> bool:
        return bool(self._query(
            "SELECT 1 FROM leases WHERE item_id = ? AND reviewer = ? AND released_at IS NULL AND expires_at > ?",
            (item_id, reviewer, self._now())))

    def had_lease(self, item_id: str, reviewer: str) -> bool:
        """Whether the row was ever leased to this reviewer (they may see its newer verdict)."""
        return bool(self._query("SELECT 1 FROM leases WHERE item_id = ? AND reviewer = ?", (item_id, reviewer)))

    def release(self, item_id: str, reviewer: str, outcome: str = "skipped") -> bool:
        """End a reviewer's lease on a row (skip); returns whether they held one."""
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE leases SET released_at = ?, outcome = ? WHERE item_id = ? AND reviewer = ?"
                " AND released_at IS NULL AND expires_at > ?", (self._now(), outcome, item_id, reviewer, self._now()))
            return cur.rowcount > 0

    def lease_history(self) -> list[dict]:
        return [dict(r) for r in self._query("SELECT * FROM leases ORDER BY id")]

    # -- deciding --------------------------------------------------------------------------

    def check_edit(self, item: ReviewItem, edited_output: Any) -> None:
        """An edit must be of the row's kind (text or JSON object) and, for JSON, fit the schema."""
        want = str if isinstance(item.example.output, str) else dict
        if not isinstance(edited_output, want) or (want is str and not edited_output.strip()):
            kind = "non-empty text" if want is str else "a JSON object"
            raise ReviewError(f"review item {item.id!r}: edited_output must be {kind}, like the row's output")
        if want is dict and self.schema is not None:
            import jsonschema

            errors = sorted(jsonschema.Draft202012Validator(self.schema).iter_errors(edited_output),
                            key=lambda e: list(e.absolute_path))
            if errors:
                e = errors[0]
                where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
                raise ReviewError(f"review item {item.id!r}: the edit does not fit the output schema at "
                                  f"{where}: {e.message}")

    def decide(self, item_id: str, status: str, edited_output: Output | None = None,
               reviewer: str | None = None, note: str | None = None, *, reason: str | None = None,
               version: int | None = None, require_lease: bool = False) -> ReviewItem:
        """Record a verdict. 'edited' needs the corrected output, of the same kind (text or JSON
        object) as the row's and fitting the schema; 'pending' reopens a row and clears its verdicts.

        `version`: the row version the verdict was made on; an older one raises Conflict.
        `require_lease`: the reviewer must hold an unexpired lease on the row (the web page's saves).
        """
        if status not in STATUSES:
            raise ReviewError(f"review item {item_id!r}: status {status!r} is not one of "
                              f"{', '.join(STATUSES)}")
        if status == "edited" and edited_output is None:
            raise ReviewError(f"review item {item_id!r}: status 'edited' needs edited_output")
        if status != "edited" and edited_output is not None:
            raise ReviewError(f"review item {item_id!r}: edited_output is only kept with status 'edited', "
                              f"not {status!r}")
        if reason is not None and reason not in REJECT_REASONS:
            raise ReviewError(f"review item {item_id!r}: reason {reason!r} is not one of {', '.join(REJECT_REASONS)}")
        item = self.get(item_id)
        if edited_output is not None:
            self.check_edit(item, edited_output)
        now = self._now()
        with self._tx() as conn:
            row = conn.execute("SELECT version FROM items WHERE id = ?", (item_id,)).fetchone()
            if version is not None and row["version"] != version:
                current = self._item(conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone())
                raise Conflict(f"review item {item_id!r} changed since version {version} (now version "
                               f"{current.version}, {current.status} by {current.reviewer})", current)
            if require_lease:
                held = conn.execute(
                    "SELECT id FROM leases WHERE item_id = ? AND reviewer = ? AND released_at IS NULL"
                    " AND expires_at > ?", (item_id, reviewer, now)).fetchone()
                if not held:
                    raise NotLeased(f"review item {item_id!r} is not leased to {reviewer!r} (never was, or "
                                    "the lease expired); ask for the next row")
            self._record(conn, item_id, status, edited_output, reviewer, note, reason, now)
        return self.get(item_id)

    def _record(self, conn: sqlite3.Connection, item_id: str, status: str, edited_output: Output | None,
                reviewer: str | None, note: str | None, reason: str | None, now: str) -> None:
        edited = None if edited_output is None else json.dumps(edited_output, ensure_ascii=False)
        who = reviewer or ""  # a verdict from the Python API or an import without a name
        if status == "pending":
            conn.execute("DELETE FROM reviews WHERE item_id = ?", (item_id,))
        else:
            conn.execute("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, reviewer) DO UPDATE"
                         " SET status = excluded.status, edited_output = excluded.edited_output,"
                         " reason = excluded.reason, note = excluded.note, decided_at = excluded.decided_at",
                         (item_id, who, status, edited, reason, note, now))
        # Only a live lease ends here; one that ran out stays on record as lapsed (outcome NULL).
        conn.execute("UPDATE leases SET released_at = ?, outcome = 'decided' WHERE item_id = ? AND reviewer = ?"
                     " AND released_at IS NULL AND expires_at > ?", (now, item_id, who, now))
        reviews = [dict(r) for r in conn.execute("SELECT * FROM reviews WHERE item_id = ?", (item_id,))]
        final = final_status(reviews) or {"status": "pending", "edited_output": None, "reviewer": None,
                                          "note": None, "reason": None, "decided_at": None}
        conn.execute(
            "UPDATE items SET status = ?, edited_output = ?, reviewer = ?, note = ?, reason = ?, decided_at = ?,"
            " version = version + 1 WHERE id = ?",
            (final["status"], final["edited_output"], final["reviewer"] or None, final["note"], final["reason"],
             final["decided_at"], item_id))

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
        """Decided rows only: id -> status, edited_output, reviewer, note, reason, decided_at, judge_score."""
        rows = self._query("SELECT id, status, edited_output, reviewer, note, reason, decided_at, judge_score"
                           " FROM items WHERE status != 'pending' ORDER BY decided_at, rowid")
        out = {}
        for r in rows:
            v = dict(r)
            item_id = v.pop("id")
            if v["edited_output"] is not None:
                v["edited_output"] = json.loads(v["edited_output"])
            out[item_id] = v
        return out

    def reviews(self) -> list[dict[str, Any]]:
        """Every reviewer's own verdict (overlap rows have two), for agreement."""
        return [dict(r) for r in self._query("SELECT * FROM reviews ORDER BY item_id, reviewer")]

    def counts(self) -> dict[str, int]:
        """Rows per status, every status present (0 when none)."""
        got = dict(self._query("SELECT status, count(*) FROM items GROUP BY status"))
        return {s: got.get(s, 0) for s in STATUSES}
