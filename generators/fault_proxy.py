"""A fault-injection HTTP proxy for OpenAI-compatible servers: the faults a fleet shows, on demand.

It sits on 127.0.0.1 in front of a real server (vLLM's, or the fake one) and, at set rates, answers
a chat request with a fault instead of the server's reply:

    429        429 with Retry-After (alternately seconds and an HTTP date)
    500, 503   a server error
    reset      the connection is reset (TCP RST) before any reply
    slow       the reply is held past the client's timeout (`slow_seconds`)
    garbage    200 with a body that is not JSON
    truncated  200 with the server's JSON cut in half

The draw for a request is seeded by its key (the `X-Seedfactory-Request` header the backend sends,
else a hash of the body) and how many times that key was seen, so a run is reproducible under any
concurrency. Every request is logged (`log`: key, attempt number, fault, whether the server was
asked and whether a good reply was delivered); with `log_path` the log is also appended as JSONL.

    python -m seedfactory.generators.fault_proxy --upstream http://127.0.0.1:8000 --port 8100 \\
        --rate 429=0.1 --rate reset=0.05 --log proxy.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import random
import socket
import struct
import threading
import time
from email.utils import formatdate
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

from seedfactory.generators.fake_server import QuietHandler

FAULTS = ("429", "500", "503", "reset", "slow", "garbage", "truncated")


class FaultProxy:
    """`with FaultProxy("http://127.0.0.1:8000", {"429": 0.1}) as p: p.url` (ends in /v1)."""

    def __init__(self, upstream: str, rates: dict[str, float] | None = None, seed: int = 0,
                 slow_seconds: float = 3.0, log_path: Path | None = None, port: int = 0):
        rates = dict(rates or {})
        unknown = set(rates) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULTS)}")
        if sum(rates.values()) > 1:
            raise ValueError(f"fault rates add up to {sum(rates.values())}, more than 1")
        up = urlparse(upstream)
        self.up_host, self.up_port = up.hostname, up.port or 80
        self.rates, self.seed, self.slow_seconds = rates, seed, slow_seconds
        self.log: list[dict] = []
        self.log_path = Path(log_path) if log_path else None
        self._seen: dict[str, int] = {}
        self._active = 0  # requests being handled (a slow one sleeps): waited for on exit, so the log is whole
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def draw(self, key: str) -> tuple[int, str | None]:
        """(attempt number of this key, the fault to inject or None)."""
        with self._lock:
            n = self._seen[key] = self._seen.get(key, 0) + 1
        u, acc = random.Random(f"{self.seed}:{key}:{n}").random(), 0.0
        for fault in FAULTS:
            acc += self.rates.get(fault, 0.0)
            if u < acc:
                return n, fault
        return n, None

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.log.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a") as f:
                    f.write(json.dumps(entry) + "\n")

    def forward(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection(self.up_host, self.up_port, timeout=600)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheader("Content-Type", "application/json")
        finally:
            conn.close()

    def _handler(self):
        proxy = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                status, data, ctype = proxy.forward("GET", self.path, b"", {})
                self._send(status, data, ctype)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("X-Seedfactory-Request") or hashlib.sha256(body).hexdigest()[:32]
                n, fault = proxy.draw(key)
                entry = {"key": key, "n": n, "fault": fault, "forwarded": False, "delivered": False, "t": time.time()}
                with proxy._lock:
                    proxy._active += 1
                try:
                    self._serve(body, fault, entry)
                finally:
                    proxy._record(entry)
                    with proxy._lock:
                        proxy._active -= 1

            def _serve(self, body: bytes, fault: str | None, entry: dict) -> None:
                if fault == "reset":
                    self.close_connection = True
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                if fault in ("429", "500", "503"):
                    headers = {}
                    if fault == "429":  # alternate the two forms Retry-After takes
                        headers["Retry-After"] = "1" if entry["n"] % 2 else formatdate(time.time() + 1, usegmt=True)
                    err = {"error": {"message": f"injected {fault}", "type": "fault_proxy"}}
                    self._send(int(fault), json.dumps(err).encode(), "application/json", headers)
                    return
                if fault == "garbage":
                    self._send(200, b"<html><body>502 Bad Gateway (not JSON)</body></html>", "application/json")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                try:
                    status, data, ctype = proxy.forward("POST", self.path, body, headers)
                except OSError as e:  # the server is down: say so, as a real gateway would
                    entry["upstream_error"] = str(e)
                    err = {"error": {"message": f"upstream unreachable: {e}", "type": "bad_gateway"}}
                    self._send(502, json.dumps(err).encode(), "application/json")
                    return
                entry["forwarded"], entry["status"] = True, status
                if fault == "truncated":
                    data = data[: len(data) // 2]
                elif fault == "slow":
                    time.sleep(proxy.slow_seconds)
                entry["delivered"] = self._send(status, data, ctype) and fault is None and status == 200

            def _send(self, status: int, data: bytes, ctype: str, headers: dict | None = None) -> bool:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                    return True
                except (BrokenPipeError, ConnectionResetError):
                    return False  # the client gave up (timed out) first

        return Handler

    def counts(self) -> dict[str, int]:
        """Requests seen per fault ("ok" for none)."""
        out: dict[str, int] = {}
        for e in self.log:
            out[e["fault"] or "ok"] = out.get(e["fault"] or "ok", 0) + 1
        return out

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        deadline = time.monotonic() + self.slow_seconds + 5
        while self._active and time.monotonic() < deadline:
            time.sleep(0.05)
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="the server's base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--rate", action="append", default=[], metavar="FAULT=P", help=f"one of {', '.join(FAULTS)}")
    p.add_argument("--slow-seconds", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", type=Path, help="append each request's record here (JSONL)")
    args = p.parse_args(argv)
    rates = {k: float(v) for k, _, v in (r.partition("=") for r in args.rate)}
    with FaultProxy(args.upstream, rates, args.seed, args.slow_seconds, args.log, args.port) as proxy:
        print(f"fault proxy on {proxy.url} -> {args.upstream}; rates {rates}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
