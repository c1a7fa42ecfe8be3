"""Content-addressed request cache in SQLite: a rerun never pays for the same request twice.

The key is the hash of model, messages, sampling parameters (with the per-request seed) and
response schema. Only usable replies are stored: a quarantined request is asked again next run.
Each reply is written the moment the backend settles it (the backend calls `on_result`), one
transaction per reply, so a run killed mid-batch keeps every answer it was paid for.

The cache also keeps what each model has cost (`spend`: requests, tokens, retries included), which
is what `max_cost` / `max_tokens_total` are checked against: at the cap the backend is told to send
nothing more, and `BudgetExceeded` is raised once the requests in flight have settled and been saved.
A cache file SQLite cannot read is set aside with a warning and started afresh (`open_cache`).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from seedfactory.schemas import GenerationRequest, GenerationResult
from seedfactory.schemas.config import ModelConfig
from seedfactory.util.sqlite import migrate

MIGRATIONS = [
    """CREATE TABLE responses (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    """CREATE TABLE spend (
        model TEXT PRIMARY KEY,
        requests INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL
    )""",
]


class BudgetExceeded(RuntimeError):
    """A model's spend reached `max_cost` or `max_tokens_total`; what was answered is in the cache."""


def cost(cfg: ModelConfig | None, prompt_tokens: int, completion_tokens: int) -> float:
    """Money for some tokens at the model's configured prices (per million tokens)."""
    if cfg is None:
        return 0.0
    return (prompt_tokens * cfg.price_prompt + completion_tokens * cfg.price_completion) / 1e6


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)  # pragma: no mutate (stderr is line-buffered)


def open_cache(path: Path, warn=_warn) -> sqlite3.Connection:
    """The cache database, checked. One that SQLite cannot read (a torn copy, a disk error) is moved
    aside as `<name>.corrupt-<time>` with a warning and a fresh one is started: the cache only saves
    money, and the run's stage files still say which stages are finished."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False)  # pragma: no mutate (only the opening thread uses it)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        ok = db.execute("PRAGMA quick_check").fetchone()[0]  # pragma: no mutate (a one-column row)
        if ok != "ok":
            raise sqlite3.DatabaseError(ok)
    except sqlite3.DatabaseError as e:
        db.close()
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        warn(f"{path}: unreadable request cache ({e}); moved to {aside.name}, starting an empty one "
             "(answered requests will be asked again)")
        db = sqlite3.connect(str(path), check_same_thread=False)  # pragma: no mutate (only the opening thread uses it)
        db.execute("PRAGMA journal_mode=WAL")
    migrate(db, MIGRATIONS, f"request cache {path}")
    return db


class CachedBackend:
    """`CachedBackend(inner, path, cfg)`: `cfg` gives prices and caps (None: no caps, no prices)."""

    def __init__(self, inner, path: Path, cfg: ModelConfig | None = None):
        self.inner, self.name, self.cfg, self.path = inner, inner.name, cfg, Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = open_cache(self.path)
        self.hits = self.misses = self.errors = self.attempts = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.all_prompt_tokens = self.all_completion_tokens = 0  # cached replies included
        self.last_error: str | None = None  # the latest quarantined request's error, for outage messages

    def _get(self, key: str) -> GenerationResult | None:
        row = self.db.execute("SELECT result FROM responses WHERE key = ?", (key,)).fetchone()
        try:
            return GenerationResult.model_validate_json(row[0]) if row else None  # pragma: no mutate (a one-column row)
        except ValidationError:  # a record from an older shape, or damaged: ask again
            return None

    def spent(self) -> dict:
        """What this model has cost so far, over every run that shared this cache."""
        row = self.db.execute("SELECT requests, attempts, prompt_tokens, completion_tokens FROM spend WHERE model = ?",
                              (self.name,)).fetchone() or (0, 0, 0, 0)
        out = dict(zip(["requests", "attempts", "prompt_tokens", "completion_tokens"], row))
        return out | {"cost": cost(self.cfg, out["prompt_tokens"], out["completion_tokens"])}

    def over_budget(self) -> str | None:
        """Why no further request may be sent, or None."""
        if self.cfg is None:
            return None
        s = self.spent()
        tokens = s["prompt_tokens"] + s["completion_tokens"]
        if self.cfg.max_tokens_total is not None and tokens >= self.cfg.max_tokens_total:
            return (f"model {self.name}: {tokens} tokens used, max_tokens_total is {self.cfg.max_tokens_total}; "
                    f"answers so far are kept in {self.path}: raise teacher.max_tokens_total (or judge.model."
                    "max_tokens_total) and run again to resume")
        if self.cfg.max_cost is not None and s["cost"] >= self.cfg.max_cost:
            return (f"model {self.name}: cost {s['cost']:.4f} reached max_cost {self.cfg.max_cost}; answers so "
                    f"far are kept in {self.path}: raise teacher.max_cost (or judge.model.max_cost) and run again "
                    "to resume")
        return None

    def _save(self, key: str, res: GenerationResult) -> None:
        """One transaction per reply: the answer (if usable) and what it cost."""
        self.misses += 1
        self.attempts += res.attempts
        self.prompt_tokens += res.prompt_tokens
        self.completion_tokens += res.completion_tokens
        self.all_prompt_tokens += res.prompt_tokens
        self.all_completion_tokens += res.completion_tokens
        with self.db:
            if res.error is None:
                self.db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                                (key, res.model, res.model_dump_json(), time.time()))
            else:
                self.errors += 1
                self.last_error = res.error
            self.db.execute(
                "INSERT INTO spend VALUES (?, 1, ?, ?, ?) ON CONFLICT(model) DO UPDATE SET "
                "requests = requests + 1, attempts = attempts + excluded.attempts, "
                "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
                "completion_tokens = completion_tokens + excluded.completion_tokens",
                (self.name, res.attempts, res.prompt_tokens, res.completion_tokens))

    def generate(self, requests: list[GenerationRequest], on_result=None) -> list[GenerationResult]:
        results: list[GenerationResult | None] = []
        misses: dict[str, GenerationRequest] = {}
        for req in requests:
            hit = self._get(req.key)
            if hit is not None:
                self.hits += 1
                self.all_prompt_tokens += hit.prompt_tokens
                self.all_completion_tokens += hit.completion_tokens
                results.append(hit.model_copy(update={"cached": True}))
            elif req.key in misses:  # the same request twice in a batch is sent once
                self.hits += 1
                results.append(None)
            else:
                results.append(None)
                misses[req.key] = req
        if misses:
            if (why := self.over_budget()) is not None:
                raise BudgetExceeded(why)
            keys, fresh = list(misses), {}

            def settled(i: int, res: GenerationResult) -> bool:
                if keys[i] not in fresh:
                    fresh[keys[i]] = res
                    self._save(keys[i], res)
                return self.over_budget() is not None  # True: the backend sends nothing more

            for i, res in enumerate(self.inner.generate(list(misses.values()), on_result=settled)):
                settled(i, res)  # a backend that settles all at once reports here
            results = [r if r is not None else fresh[req.key] for r, req in zip(results, requests)]
            if (why := self.over_budget()) is not None and any(r.error and r.error.startswith("not sent")
                                                                for r in fresh.values()):
                raise BudgetExceeded(why)
        return results  # type: ignore[return-value]

    def stats(self, since: dict | None = None) -> dict:
        """Counters so far; with `since` (an earlier stats()), only what happened after it. The
        teacher and judge share one engine and so one cache object: each stage reports its own.
        `attempts` counts retries; `all_*_tokens` include replies served from the cache (what a run
        without a cache would pay: the basis of --dry-run's estimates)."""
        now = {"cache_hits": self.hits, "requests_sent": self.misses, "attempts": self.attempts,
               "quarantined": self.errors, "prompt_tokens": self.prompt_tokens,
               "completion_tokens": self.completion_tokens, "all_prompt_tokens": self.all_prompt_tokens,
               "all_completion_tokens": self.all_completion_tokens}
        out = {k: v - (since or {}).get(k, 0) for k, v in now.items()}
        spent = cost(self.cfg, out["prompt_tokens"], out["completion_tokens"])
        if out["quarantined"]:
            out["last_error"] = self.last_error
        return out | {"model": self.name, "cost": round(spent, 6)}

    def close(self) -> None:
        self.inner.close()
        self.db.close()
