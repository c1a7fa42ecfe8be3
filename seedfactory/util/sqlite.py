"""Numbered SQLite migrations shared by the request cache and the review queue.

A store lists its schema as SQL steps; `PRAGMA user_version` counts the steps a file has had,
so opening an old file upgrades it and opening a file from a newer seedfactory is refused.
"""

from __future__ import annotations

import sqlite3

from seedfactory.util.errors import SeedfactoryError


class MigrationError(SeedfactoryError, ValueError):
    pass


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, migrations: list[str], what: str) -> int:
    """Apply the migrations this database has not had yet; returns the new version."""
    version = schema_version(conn)
    if version > len(migrations):
        raise MigrationError(f"{what} is at schema version {version}, newer than this seedfactory "
                             f"knows ({len(migrations)}); upgrade seedfactory to open it")
    for number, sql in enumerate(migrations[version:], start=version + 1):
        # executescript runs outside Python's transaction handling, so BEGIN/COMMIT are explicit;
        # user_version is part of the database header and commits or rolls back with the rest.
        try:
            body = sql.strip().rstrip(";")
            conn.executescript(f"BEGIN;\n{body};\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error as e:
            conn.rollback()
            raise MigrationError(f"{what} migration {number} failed: {e}") from e
    return len(migrations)
