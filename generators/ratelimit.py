"""Pacing for requests to servers: rate limits, backoff with jitter, Retry-After, a server pool.

- `RateLimiter`: requests per minute and tokens per minute over a sliding 60 s window.
- `backoff_delay`: exponential backoff with full jitter (AWS's "full jitter": uniform in [0, cap]).
- `retry_after`: a `Retry-After` header as seconds or an HTTP date.
- `ServerPool`: several base URLs; each has its own cool-down, which every worker waits out after a
  429 (one shared wait, not one retry each) and which grows when a server keeps failing, so its
  requests go to the others.

Time comes from `clock` (monotonic seconds) so tests can drive it.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

WINDOW = 60.0
MAX_DELAY = 30.0


def backoff_delay(attempt: int, base: float, rng: random.Random, cap: float = MAX_DELAY) -> float:
    """Delay before retry number `attempt` (1, 2, ...): uniform in [0, min(cap, base * 2^(attempt-1))]."""
    return rng.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: `"3"`, `"1.5"` or an HTTP date; None if absent or
    unreadable. A date in the past means no wait."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


class RateLimiter:
    """`wait(tokens)` says how long to wait before sending a request of `tokens`; `record(tokens)`
    books one that was sent. A request bigger than the whole token budget waits for an empty window."""

    def __init__(self, rpm: int | None, tpm: int | None, clock=time.monotonic):
        self.rpm, self.tpm, self.clock = rpm, tpm, clock
        self.sent: deque[tuple[float, int]] = deque()

    def wait(self, tokens: int) -> float:
        now = self.clock()
        while self.sent and now - self.sent[0][0] >= WINDOW:
            self.sent.popleft()
        waits = [0.0]
        if self.rpm and len(self.sent) >= self.rpm:
            waits.append(self.sent[len(self.sent) - self.rpm][0] + WINDOW - now)
        if self.tpm and self.sent:
            need = min(tokens, self.tpm)
            total = sum(t for _, t in self.sent)
            for ts, t in self.sent:  # the window must shed the oldest entries until this one fits
                if total + need <= self.tpm:
                    break
                total -= t
                waits.append(ts + WINDOW - now)
        return max(waits)

    def record(self, tokens: int) -> None:
        self.sent.append((self.clock(), tokens))


@dataclass
class Server:
    url: str
    client: object = None
    down_until: float = 0.0  # nobody sends here before this (a 429's cool-down, or a failing server)
    failures: int = 0  # consecutive failures; reset by a good reply
    in_flight: int = 0
    sent: int = 0
    answered: int = 0
    errors: dict = field(default_factory=dict)


class ServerPool:
    """Picks the server for the next attempt: among those not cooling down, the one with the fewest
    requests in flight (then the fewest sent), so load spreads evenly over a fleet."""

    FAIL_LIMIT = 2  # consecutive failures after which a server is backed off

    def __init__(self, urls: list[str], base: float, rng: random.Random, clock=time.monotonic):
        self.servers = [Server(u) for u in urls]
        self.base, self.rng, self.clock = base, rng, clock

    def pick(self) -> tuple[Server | None, float]:
        """(server, 0) when one is free now, else (None, seconds until the first one is)."""
        now = self.clock()
        ready = [s for s in self.servers if s.down_until <= now]
        if not ready:
            return None, min(s.down_until for s in self.servers) - now
        return min(ready, key=lambda s: (s.in_flight, s.sent)), 0.0

    def rate_limited(self, server: Server, wait: float | None, attempt: int) -> None:
        """A 429: every worker holds off this server for the server's Retry-After (or a backoff)."""
        wait = wait if wait is not None else backoff_delay(attempt, self.base, self.rng) + self.base
        server.down_until = max(server.down_until, self.clock() + wait)

    def failed(self, server: Server, kind: str, wait: float | None = None) -> None:
        """A 5xx, timeout or dropped connection: after FAIL_LIMIT in a row the server is backed off
        (exponentially in its failures), and its requests go to the others meanwhile."""
        server.failures += 1
        server.errors[kind] = server.errors.get(kind, 0) + 1
        if server.failures >= self.FAIL_LIMIT or wait is not None:
            delay = wait if wait is not None else min(MAX_DELAY, self.base * 2 ** (server.failures - 1))
            server.down_until = max(server.down_until, self.clock() + delay)

    def answered(self, server: Server) -> None:
        server.failures = 0
        server.answered += 1

    def stats(self) -> dict:
        return {s.url: {"sent": s.sent, "answered": s.answered, **s.errors} for s in self.servers}
