"""A real OpenAI-compatible HTTP server on 127.0.0.1, in-process, for tests of the openai backend.

Each POST to /v1/chat/completions takes the next scripted step: a reply text, or one of the
failure modes a real server shows: `("status", 429)` (any code; a 429 carries `Retry-After: 0`),
`("retry_after", "2")` (a 429 with that header, seconds or an HTTP date), `("garbage", None)`,
`("drop", None)` (the server closes the connection without a reply), `("sleep", seconds)` (a hang
past the timeout), or an empty reply `""`. `default` (a step) answers once the script is used up;
a callable default gets the request body and returns the step.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler for loopback test servers: no access log, and a client that resets or
    drops a kept-alive connection ends the exchange quietly (there is no one left to answer)."""

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass

class FakeOpenAIServer:
    """`with FakeOpenAIServer(["hello", ("status", 429), ...]) as srv: srv.url`"""

    def __init__(self, script: list, default: str = "ok"):
        self.script, self.default = list(script), default
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_key"] = self.headers.get("X-Seedfactory-Request")
                with server._lock:
                    server.requests.append(body)
                    step = server.script.pop(0) if server.script else server.default
                if callable(step):
                    step = step(body)
                kind, value = step if isinstance(step, tuple) else ("reply", step)
                if kind == "status":
                    self._send(value, {"error": {"message": f"scripted {value}", "type": "server_error"}},
                               {"Retry-After": "0"} if value == 429 else {})
                elif kind == "retry_after":
                    self._send(429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"Retry-After": value})
                elif kind == "drop":
                    self.close_connection = True
                    self.connection.close()  # no status line, no body: the client sees a dropped connection
                elif kind == "sleep":
                    time.sleep(value)
                    self._send(200, _completion(body, "late"))
                elif kind == "garbage":
                    self._send_raw(200, b"<html>not json</html>")
                elif kind == "no_usage":  # a server that reports no token counts
                    self._send(200, {k: v for k, v in _completion(body, value).items() if k != "usage"})
                else:
                    self._send(200, _completion(body, value))

            def _send(self, code, obj, headers=None):
                self._send_raw(code, json.dumps(obj).encode(), headers)

            def _send_raw(self, code, data, headers=None):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timed out) before the reply: what a real server sees too

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _completion(body: dict, text: str) -> dict:
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    if body.get("logprobs"):  # as OpenAI and vLLM send them: per word, its log-prob and the top alternatives
        choice["logprobs"] = {"content": [
            {"token": w, "logprob": -0.25, "top_logprobs": [{"token": w, "logprob": -0.25},
                                                            {"token": "else", "logprob": -2.5}]}
            for w in text.split()]}
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": body.get("model", "fake"),
        "choices": [choice],
        "usage": {"prompt_tokens": 7, "completion_tokens": len(text.split()), "total_tokens": 7 + len(text.split())},
    }


def schema_reply(body: dict) -> str:
    """A reply like the packaged FakeBackend's, for any request: a valid instance of the request's
    JSON schema, else a short text. Seeded by the request key, so a retried request gets the same
    reply and a rerun makes the same rows. Use as `FakeOpenAIServer([], default=schema_reply)`."""
    import hashlib
    import random

    from seedfactory.generators.fake import WORDS, synth_instance

    key = body.get("_key") or hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).hexdigest()
    rng = random.Random(key)
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
    if schema is not None:
        return json.dumps(synth_instance(schema, rng))
    return "Fake answer: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) + "."
