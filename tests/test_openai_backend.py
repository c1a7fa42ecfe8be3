"""The openai backend against loopback fake servers: pacing, Retry-After, shared cool-down, a fleet
with a failing member, faults that are and are not retried, per-reply caching, budget caps."""

import asyncio
import sqlite3
from email.utils import formatdate

import pytest

from seedfactory.generators.cache import BudgetExceeded, CachedBackend
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.fake_server import FakeOpenAIServer
from seedfactory.generators.openai_backend import KEY_HEADER, OpenAIBackend
from seedfactory.generators.ratelimit import RateLimiter, backoff_delay, retry_after
from seedfactory.schemas import GenerationRequest, Message, Sampling
from seedfactory.schemas.config import ModelConfig


def req(text="hi", seed=None, max_tokens=16):
    return GenerationRequest(model="m", messages=[Message(role="user", content=text)],
                             sampling=Sampling(seed=seed, max_tokens=max_tokens))


def cfg(url, **kw):
    kw = {"max_retries": 3, "timeout": 5.0, "backoff": 0.01} | kw
    return ModelConfig(backend="openai", model="served", base_url=url, **kw)


class FakeTime:
    """A clock that only moves when someone sleeps: waits are asserted exactly, not timed."""

    def __init__(self):
        self.t = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s
        await asyncio.sleep(0)


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after("3") == 3.0 and retry_after("0.5") == 0.5
    assert retry_after(formatdate(1000.0 + 7, usegmt=True), now=1000.0) == pytest.approx(7.0)
    assert retry_after(formatdate(900.0, usegmt=True), now=1000.0) == 0.0  # a date in the past: go now
    assert retry_after("soon") is None and retry_after(None) is None


def test_backoff_is_exponential_with_full_jitter_and_a_cap():
    import random

    rng = random.Random(0)
    draws = [[backoff_delay(a, 0.5, rng) for _ in range(200)] for a in (1, 2, 3, 10)]
    assert all(0 <= d <= 0.5 for d in draws[0]) and max(draws[0]) > 0.4
    assert all(0 <= d <= 1.0 for d in draws[1]) and max(draws[1]) > 0.5
    assert all(0 <= d <= 2.0 for d in draws[2]) and max(draws[2]) > 1.0
    assert max(draws[3]) <= 30.0 and max(draws[3]) > 20  # capped at 30 s


def test_rate_limiter_requests_and_tokens_per_minute():
    t = FakeTime()
    lim = RateLimiter(rpm=2, tpm=None, clock=t.clock)
    lim.record(1)
    t.t = 10
    lim.record(1)
    assert lim.wait(1) == 50.0  # the first one leaves the window at t=60
    t.t = 60
    assert lim.wait(1) == 0.0
    lim = RateLimiter(rpm=None, tpm=100, clock=t.clock)
    lim.record(70)
    assert lim.wait(20) == 0.0 and lim.wait(40) == 60.0
    assert lim.wait(500) == 60.0  # bigger than the whole budget: waits for an empty window, then goes
    t.t = 120
    assert lim.wait(500) == 0.0


def test_requests_per_minute_paces_the_backend():
    t = FakeTime()
    with FakeOpenAIServer([], default="ok") as srv:
        backend = OpenAIBackend(cfg(srv.url, requests_per_minute=2, concurrency=4), sleep=t.sleep, clock=t.clock)
        out = backend.generate([req(f"q{i}") for i in range(5)])
    assert all(r.error is None for r in out)
    assert t.t >= 120  # 5 requests at 2 a minute: the 5th goes in the third minute


def test_a_wait_under_a_second_is_still_waited():
    t = FakeTime()
    arrivals = []

    def answer(body):
        arrivals.append(t.t)
        t.t += 59.5  # the first request leaves the minute's window half a second after this reply
        return "ok"

    with FakeOpenAIServer([], default=answer) as srv:
        backend = OpenAIBackend(cfg(srv.url, requests_per_minute=1, concurrency=1), sleep=t.sleep, clock=t.clock)
        out = backend.generate([req("q0"), req("q1")])
    assert all(r.error is None for r in out)
    assert arrivals == [0.0, 60.0] and t.sleeps == [0.5]


def test_a_results_seconds_are_the_time_its_request_took():
    import time

    with FakeOpenAIServer([], default="ok") as srv:
        started = time.monotonic()
        [res] = OpenAIBackend(cfg(srv.url)).generate([req()])
        took = time.monotonic() - started
    assert 0.0 < res.seconds <= took


def test_a_429_makes_every_worker_wait_one_shared_cool_down():
    t = FakeTime()
    arrivals = []

    def answer(body):
        arrivals.append(t.t)
        return ("retry_after", "5") if len(arrivals) == 1 else "ok"

    with FakeOpenAIServer([], default=answer) as srv:
        backend = OpenAIBackend(cfg(srv.url, concurrency=3), sleep=t.sleep, clock=t.clock)
        out = backend.generate([req(f"q{i}") for i in range(6)])
    assert all(r.error is None for r in out) and len(arrivals) == 7
    assert backend.stats() == {srv.url: {"sent": 7, "answered": 6, "http_429": 1}}
    # the 429 came first; at most the two requests already in flight were sent before the cool-down
    # ended, every later one (the retry included) waited for it, not one backoff each
    assert sum(a < 5 for a in arrivals) <= 3 and sum(a >= 5 for a in arrivals) >= 4
    assert 5 in t.sleeps or any(s >= 5 for s in t.sleeps)
    assert min(t.sleeps) >= 0  # nobody sleeps a negative time


def test_a_retry_after_under_a_second_is_waited_exactly():
    t = FakeTime()
    arrivals = []

    def answer(body):
        arrivals.append(t.t)
        return ("retry_after", "0.5") if len(arrivals) == 1 else "ok"

    with FakeOpenAIServer([], default=answer) as srv:
        [res] = OpenAIBackend(cfg(srv.url), sleep=t.sleep, clock=t.clock).generate([req()])
    assert res.error is None and arrivals == [0.0, 0.5]


def test_a_400_is_not_retried_and_keeps_the_servers_message():
    with FakeOpenAIServer([("status", 400)]) as srv:
        backend = OpenAIBackend(cfg(srv.url))
        [res] = backend.generate([req()])
    assert len(srv.requests) == 1
    assert res.error == "not retried: HTTP 400: scripted 400" and res.attempts == 1
    assert backend.stats() == {srv.url: {"sent": 1, "answered": 0, "fatal": 1}}


@pytest.mark.parametrize(("status", "retried"), [(499, False), (500, True), (408, True), (409, True), (404, False)])
def test_5xx_408_and_409_are_retried_other_4xx_are_not(status, retried):
    with FakeOpenAIServer([("status", status), "fine"]) as srv:
        [res] = OpenAIBackend(cfg(srv.url)).generate([req()])
    if retried:
        assert res.error is None and res.attempts == 2
    else:
        assert res.attempts == 1 and f"HTTP {status}" in res.error


def test_a_request_for_top_logprobs_asks_the_server_for_them_and_reads_them():
    with FakeOpenAIServer([], default="two words") as srv:
        asked, plain = OpenAIBackend(cfg(srv.url)).generate([req().model_copy(update={"top_logprobs": 5}),
                                                             req("plain")])
    sent = {r["_key"]: r for r in srv.requests}  # both go out at once: found by key, not by order
    assert sent[asked.request_key]["logprobs"] is True and sent[asked.request_key]["top_logprobs"] == 5
    assert "logprobs" not in sent[plain.request_key] and "top_logprobs" not in sent[plain.request_key]
    assert [(t.token, t.top) for t in asked.logprobs] == [("two", {"two": -0.25, "else": -2.5}),
                                                         ("words", {"words": -0.25, "else": -2.5})]
    assert plain.logprobs is None


def test_loopback_hosts_are_told_apart_from_others():
    from seedfactory.generators.openai_backend import _is_loopback

    assert _is_loopback("http://localhost:8000/v1") and _is_loopback("http://127.0.0.1:8000/v1")
    assert _is_loopback("http://[::1]:8000/v1")
    assert not _is_loopback("https://api.openai.com/v1") and not _is_loopback("http://10.0.0.5:8000/v1")


def test_a_server_that_always_drops_the_connection_is_named_in_the_error():
    with FakeOpenAIServer([], default=("drop", None)) as srv:
        [res] = OpenAIBackend(cfg(srv.url, max_retries=1)).generate([req()])
    assert res.error == ("quarantined after 2 attempts: connection: connection failed: "
                         "Server disconnected without sending a response.")


def test_a_quarantined_request_counts_the_tokens_of_every_attempt():
    with FakeOpenAIServer([], default="not json at all") as srv:
        r = req().model_copy(update={"response_schema": {"type": "object"}, "sampling": Sampling(temperature=0.7)})
        [res] = OpenAIBackend(cfg(srv.url, max_retries=2)).generate([r])
    assert res.error.startswith("quarantined after 3 attempts: unusable: reply is not JSON")
    assert (res.prompt_tokens, res.completion_tokens) == (3 * 7, 3 * 4)


def test_requests_a_stopped_run_did_not_send_say_so_with_the_last_error():
    with FakeOpenAIServer([("status", 503)], default="ok") as srv:
        backend = OpenAIBackend(cfg(srv.url, concurrency=1))
        out = backend.generate([req("q0"), req("q1"), req("q2")], on_result=lambda i, r: True)  # stop at once
    # q0 got a 503 and waited out its backoff without its slot; q1 took the slot, was answered and
    # stopped the run; q0's retry and q2 were then not sent, q0's saying what its one attempt met
    assert [(r.error, r.attempts) for r in out] == [
        ("not sent: the run was stopped (budget cap); earlier: http_503: HTTP 503: scripted 503", 1),
        (None, 1), ("not sent: the run was stopped (budget cap)", 0)]


def test_every_client_is_closed_after_a_batch(monkeypatch):
    from openai import AsyncOpenAI

    closed = []
    original = AsyncOpenAI.close

    async def close(self):
        closed.append(str(self.base_url))
        await original(self)

    monkeypatch.setattr(AsyncOpenAI, "close", close)
    with FakeOpenAIServer([]) as a, FakeOpenAIServer([]) as b:
        OpenAIBackend(cfg([a.url, b.url])).generate([req()])
    assert sorted(u.rstrip("/") for u in closed) == sorted([a.url, b.url])


def test_a_requests_cost_estimate_is_a_token_per_four_characters_plus_its_answer():
    from seedfactory.generators.openai_backend import estimate_tokens

    two = GenerationRequest(model="m", messages=[Message(role="system", content="x" * 23),
                                                 Message(role="user", content="y" * 20)],
                            sampling=Sampling(max_tokens=16))
    assert estimate_tokens(two) == 43 // 4 + 16 == 26


def test_a_dropped_connection_is_retried():
    with FakeOpenAIServer([("drop", None), "fine"]) as srv:
        [res] = OpenAIBackend(cfg(srv.url)).generate([req()])
    assert res.error is None and res.text == "fine" and res.attempts == 2 and len(srv.requests) == 2
    assert (res.prompt_tokens, res.completion_tokens) == (7, 1)  # the dropped attempt cost nothing


def test_a_reply_without_usage_counts_no_tokens():
    with FakeOpenAIServer([("no_usage", "two words")]) as srv:
        [res] = OpenAIBackend(cfg(srv.url)).generate([req()])
    assert res.error is None and res.text == "two words" and (res.prompt_tokens, res.completion_tokens) == (0, 0)


def test_a_busy_server_gets_no_new_request_while_another_is_free():
    # the slow server holds its one request for two seconds; the fast one takes every other meanwhile
    with FakeOpenAIServer([], default=("sleep", 2.0)) as slow, FakeOpenAIServer([], default="ok") as fast:
        backend = OpenAIBackend(cfg([slow.url, fast.url], concurrency=2))
        out = backend.generate([req(f"q{i}") for i in range(10)])
    assert all(r.error is None for r in out)
    assert len(slow.requests) == 1 and len(fast.requests) == 9


def test_no_seed_is_sent_unless_asked_and_the_key_travels_as_a_header():
    r = req(seed=42)
    with FakeOpenAIServer([]) as srv:
        OpenAIBackend(cfg(srv.url)).generate([r])
        OpenAIBackend(cfg(srv.url, send_seed=True)).generate([r])
    assert "seed" not in srv.requests[0] and srv.requests[1]["seed"] == 42
    assert srv.requests[0]["_key"] == r.key and KEY_HEADER.lower().startswith("x-")


def test_tokens_of_failed_attempts_are_counted():
    with FakeOpenAIServer(["not json", '{"a": 1}']) as srv:
        r = req().model_copy(update={"response_schema": {"type": "object"}})
        [res] = OpenAIBackend(cfg(srv.url)).generate([r])
    # the fake server reports 7 prompt tokens and one per word: both attempts were paid for
    assert res.error is None and res.attempts == 2
    assert res.prompt_tokens == 14 and res.completion_tokens == 2 + 2


def test_a_fleet_spreads_requests_and_routes_around_a_failing_server():
    with FakeOpenAIServer([], default=("status", 503)) as bad, FakeOpenAIServer([], default="ok") as good:
        backend = OpenAIBackend(cfg([bad.url, good.url], concurrency=4, max_retries=4))
        out = backend.generate([req(f"q{i}") for i in range(24)])
    assert all(r.error is None and r.server == good.url for r in out)
    assert len(good.requests) == 24
    # backed off after failing: far fewer than its even share of 12 (and of the 24 + retries)
    assert 1 <= len(bad.requests) <= 8
    assert backend.stats()[bad.url]["http_503"] == len(bad.requests)


def test_a_healthy_fleet_shares_the_load():
    with FakeOpenAIServer([]) as a, FakeOpenAIServer([]) as b:
        OpenAIBackend(cfg([a.url, b.url], concurrency=4)).generate([req(f"q{i}") for i in range(20)])
    assert len(a.requests) + len(b.requests) == 20 and min(len(a.requests), len(b.requests)) >= 6
    with FakeOpenAIServer([]) as a, FakeOpenAIServer([]) as b:  # one at a time: they take turns
        OpenAIBackend(cfg([a.url, b.url], concurrency=1)).generate([req(f"q{i}") for i in range(20)])
    assert len(a.requests) == len(b.requests) == 10


def test_each_reply_is_in_the_cache_before_the_next_request_is_sent(tmp_path):
    path = tmp_path / "cache.sqlite"
    saved_when_asked = []

    def answer(body):
        with sqlite3.connect(path) as db:  # another connection, as a second process would see it
            saved_when_asked.append(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        return "ok"

    with FakeOpenAIServer([], default=answer) as srv:
        cached = CachedBackend(OpenAIBackend(cfg(srv.url, concurrency=1)), path)
        cached.generate([req(f"q{i}") for i in range(4)])
    assert saved_when_asked == [0, 1, 2, 3]  # not per batch: one row per settled reply


def test_budget_cap_stops_cleanly_keeps_answers_and_resumes_when_raised(tmp_path):
    path = tmp_path / "cache.sqlite"
    reqs = [req(f"question number {i}") for i in range(10)]
    fake = FakeBackend(responder=lambda r: "one two three")  # 3 prompt + 3 completion tokens each
    capped = CachedBackend(fake, path, ModelConfig(max_tokens_total=20))
    with pytest.raises(BudgetExceeded, match="max_tokens_total is 20.*raise teacher.max_tokens_total"):
        capped.generate(reqs)
    assert len(fake.calls) == 4  # 4 x 6 = 24 tokens: the 4th crossed the cap, nothing after it was sent
    assert capped.spent()["prompt_tokens"] + capped.spent()["completion_tokens"] == 24
    with pytest.raises(BudgetExceeded):  # still capped: nothing is sent at all
        capped.generate(reqs)
    assert len(fake.calls) == 4
    raised = CachedBackend(fake, path, ModelConfig(max_tokens_total=1000, price_prompt=1e6, price_completion=2e6))
    out = raised.generate(reqs)
    assert all(r.error is None for r in out) and sum(r.cached for r in out) == 4 and len(fake.calls) == 10
    assert raised.stats()["cost"] == 6 * (3 + 2 * 3)  # only the 6 new requests, at 1 and 2 per token
    capped_cost = CachedBackend(fake, path, ModelConfig(max_cost=1.0, price_prompt=1e6))
    with pytest.raises(BudgetExceeded, match="max_cost"):
        capped_cost.generate([req("a new one")])


def test_run_with_a_list_of_base_urls_finishes_when_one_server_is_down(tmp_path):
    from seedfactory.cli import main
    from seedfactory.generators.fake_server import schema_reply
    from seedfactory.util.files import read_json

    with FakeOpenAIServer([], default=("status", 503)) as down, FakeOpenAIServer([], default=schema_reply) as up:
        code = main(["run", "--out", str(tmp_path / "run"), "--until", "generate", "--no-progress",
                     "teacher.backend=openai", f"teacher.base_url=[{down.url}, {up.url}]", "teacher.backoff=0.01",
                     "validate.embedder=hash", "generate.strategy=self_instruct", "generate.num_tasks=6",
                     "generate.responses_per_prompt=2"])
    g = read_json(tmp_path / "run" / "stats.json")["stages"]["generate"]
    assert code == 0 and g["quarantined"] == 0 and g["out"] == 2 * g["tasks"] > 0
    assert len(up.requests) == g["requests_sent"] and len(down.requests) > 0  # tried, then routed around


def test_an_unusable_greedy_reply_is_not_asked_again():
    with FakeOpenAIServer(["not json", '{"a": 1}']) as srv:
        r = req().model_copy(update={"response_schema": {"type": "object"},
                                     "sampling": Sampling(temperature=0.0, max_tokens=16)})
        [res] = OpenAIBackend(cfg(srv.url)).generate([r])
    assert len(srv.requests) == 1 and res.attempts == 1
    assert res.error.startswith("not retried (greedy): reply is not JSON") and res.text == "not json"
