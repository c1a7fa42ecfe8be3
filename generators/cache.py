"""Content-addressed request cache in SQLite: a rerun never pays for the same request twice.

The key is the hash of model, messages, sampling parameters (with the per-request seed) and
response schema. Only usable replies are stored: a quarantined request is asked again next run.
Results are written as each batch returns, so a killed run keeps everything it was paid for.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from seedfactory.schemas import GenerationRequest, GenerationResult
from seedfactory.util.sqlite import migrate

MIGRATIONS = [
    """CREATE TABLE responses (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
]


class CachedBackend:
    def __init__(self, inner, path: Path):
        self.inner, self.name = inner, inner.name
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        migrate(self.db, MIGRATIONS, f"request cache {path}")
        self.hits = self.misses = self.errors = 0
        self.prompt_tokens = self.completion_tokens = 0

    def _get(self, key: str) -> GenerationResult | None:
        row = self.db.execute("SELECT result FROM responses WHERE key = ?", (key,)).fetchone()
        return GenerationResult.model_validate_json(row[0]) if row else None

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        results: list[GenerationResult | None] = []
        misses: dict[str, GenerationRequest] = {}
        for req in requests:
            hit = self._get(req.key)
            if hit is not None:
                self.hits += 1
                results.append(hit.model_copy(update={"cached": True}))
            elif req.key in misses:  # the same request twice in a batch is sent once
                self.hits += 1
                results.append(None)
            else:
                results.append(None)
                misses[req.key] = req
        if misses:
            fresh = dict(zip(misses, self.inner.generate(list(misses.values()))))
            with self.db:
                for key, res in fresh.items():
                    self.misses += 1
                    self.prompt_tokens += res.prompt_tokens
                    self.completion_tokens += res.completion_tokens
                    if res.error is None:
                        self.db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                                        (key, res.model, res.model_dump_json(), time.time()))
                    else:
                        self.errors += 1
            results = [r if r is not None else fresh[req.key] for r, req in zip(results, requests)]
        return results  # type: ignore[return-value]

    def stats(self, since: dict | None = None) -> dict:
        """Counters so far; with `since` (an earlier stats()), only what happened after it. The
        teacher and judge share one engine and so one cache object: each stage reports its own."""
        now = {"cache_hits": self.hits, "requests_sent": self.misses, "quarantined": self.errors,
               "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}
        return {k: v - (since or {}).get(k, 0) for k, v in now.items()}

    def close(self) -> None:
        self.inner.close()
        self.db.close()
