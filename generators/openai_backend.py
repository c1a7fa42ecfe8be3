"""Any OpenAI-compatible server (vLLM's server, llama.cpp, OpenAI itself) through the openai client.

429, 5xx, timeouts, dropped connections, empty replies and (for structured requests) replies
that are not JSON are retried with backoff; after `max_retries` the request is quarantined:
returned with `error` set and the raw text kept, so one bad request never sinks a batch.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from seedfactory.schemas import GenerationRequest, GenerationResult
from seedfactory.schemas.config import ModelConfig
from seedfactory.schemas.records import TokenLogprobs

# Tests set this so no request can reach a real remote model by accident (loopback is allowed,
# which is where the in-process fake server and a local vLLM/llama.cpp server live).
BLOCK_ENV = "SEEDFACTORY_BLOCK_REMOTE"


class RemoteModelBlocked(RuntimeError):
    pass


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenAIBackend:
    def __init__(self, cfg: ModelConfig, sleep=time.sleep):
        from openai import OpenAI

        base_url = cfg.base_url or "https://api.openai.com/v1"
        if os.environ.get(BLOCK_ENV) == "1" and not _is_loopback(base_url):
            raise RemoteModelBlocked(f"{BLOCK_ENV}=1: refusing to send requests to {base_url}")
        self.cfg, self.name, self.sleep = cfg, cfg.model, sleep
        self.client = OpenAI(base_url=base_url, api_key=os.environ.get(cfg.api_key_env) or "not-needed",
                             timeout=cfg.timeout, max_retries=0)  # we retry ourselves, with quarantine

    def _response_format(self, schema: dict | None):
        if schema is None or self.cfg.structured == "none":
            return None
        if self.cfg.structured == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}

    def _once(self, req: GenerationRequest) -> GenerationResult:
        kwargs = dict(model=self.cfg.model, messages=[m.model_dump() for m in req.messages],
                      temperature=req.sampling.temperature, top_p=req.sampling.top_p,
                      max_tokens=req.sampling.max_tokens)
        if req.sampling.seed is not None:
            kwargs["seed"] = req.sampling.seed
        if req.top_logprobs:
            kwargs.update(logprobs=True, top_logprobs=req.top_logprobs)
        if (fmt := self._response_format(req.response_schema)) is not None:
            kwargs["response_format"] = fmt
        t0 = time.monotonic()
        resp = self.client.chat.completions.create(**kwargs)
        choice = resp.choices[0] if resp.choices else None
        usage = resp.usage
        return GenerationResult(
            request_key=req.key, model=self.name, text=(choice.message.content or "") if choice else "",
            prompt_hash=req.prompt_hash, sampling=req.sampling,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason=choice.finish_reason if choice else None, seconds=time.monotonic() - t0,
            logprobs=_logprobs(choice) if req.top_logprobs and choice else None)

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

    def _with_retries(self, req: GenerationRequest) -> GenerationResult:
        import openai

        last_error, last_text = "", ""
        for attempt in range(self.cfg.max_retries + 1):
            if attempt:
                self.sleep(min(2 ** (attempt - 1), 30) * 0.5)
            try:
                res = self._once(req)
            except openai.APIStatusError as e:
                last_error = f"HTTP {e.status_code}: {str(e)[:200]}"
                if e.status_code != 429 and e.status_code < 500:
                    break  # a 4xx other than 429 will not get better by asking again
                continue
            except (openai.APIConnectionError, openai.APITimeoutError) as e:
                last_error = f"{type(e).__name__}: {str(e)[:200]}"
                continue
            except (openai.APIResponseValidationError, ValueError) as e:  # a body that is not an API reply
                last_error = f"garbage reply: {type(e).__name__}: {str(e)[:200]}"
                continue
            problem = self._problem(res, req)
            if problem is None:
                return res
            last_error, last_text = problem, res.text
        return GenerationResult(request_key=req.key, model=self.name, text=last_text,
                                prompt_hash=req.prompt_hash, sampling=req.sampling,
                                error=f"quarantined after {self.cfg.max_retries + 1} attempts: {last_error}")

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        with ThreadPoolExecutor(max_workers=self.cfg.concurrency) as pool:
            return list(pool.map(self._with_retries, requests))

    def close(self) -> None:
        self.client.close()


def _logprobs(choice) -> list[TokenLogprobs] | None:
    content = getattr(choice.logprobs, "content", None) if choice.logprobs else None
    if not content:
        return None  # the server ignored the request for log-probabilities
    return [TokenLogprobs(token=t.token,
                          top={a.token: a.logprob for a in (t.top_logprobs or [])} | {t.token: t.logprob})
            for t in content]
