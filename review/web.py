"""The review page: a small Starlette app over one run's review queue, served by uvicorn.

    seedfactory review runs/invoice-fields --add-reviewer ana   # prints ana's token once
    seedfactory review runs/invoice-fields                      # http://127.0.0.1:8765/ ; Ctrl-C stops

The page is static (HTML, one script, one stylesheet from this package); rows arrive as JSON and the
script writes every value with `textContent`, so model output shows as text, never as markup. A
Content-Security-Policy allows scripts from this server only. Every `/api` call carries the
reviewer's token (`Authorization: Bearer ...`); every write also carries the CSRF token the server
derived for that reviewer (`X-CSRF-Token`, from `GET /api/session`) as JSON, and a cross-site
`Origin` is refused. A reviewer reads and writes only the rows leased to them. No request names a
file: the run directory is fixed when the app is made.

HTTP API (what the page and the concurrency test use):
    GET  /api/session                 -> {reviewer, csrf, counts}
    GET  /api/next                    -> {item: row view | null, counts}   (leases the next row)
    GET  /api/items/{id}              -> row view (403 unless leased to you)
    POST /api/items/{id}/verdict      {action: approve|reject|edit, version, reason?, note?, output?}
                                      -> 200 {item, counts}; 409 {error, current}; 403; 422 {error}
    POST /api/items/{id}/skip         -> 200 {skipped}; the row goes back to the queue
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import socket
import threading
from collections.abc import Iterator
from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from seedfactory.review.rows import RowContext
from seedfactory.review.store import REJECT_REASONS, Conflict, NotLeased, ReviewError, ReviewStore

ACTIONS = {"approve": "accepted", "reject": "rejected", "edit": "edited"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
# The only files the app serves: fixed names, never a path from the request.
ASSETS = {"/": ("index.html", "text/html; charset=utf-8"),
          "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/static/app.css": ("app.css", "text/css; charset=utf-8")}


class HTTPError(Exception):
    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status, self.extra = status, extra


def _json(data, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=HEADERS)


def create_app(store: ReviewStore, shown: RowContext) -> Starlette:
    """The review app over an open store; `shown` supplies what the page shows beside each row."""
    secret = secrets.token_bytes(32)  # per process: restarting the server logs every page out
    assets = {path: (resources.files("seedfactory.review").joinpath("static", name).read_text(encoding="utf-8"),
                     kind) for path, (name, kind) in ASSETS.items()}

    def csrf_for(reviewer: str) -> str:
        return hmac.new(secret, reviewer.encode(), hashlib.sha256).hexdigest()

    def reviewer_of(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        name = store.reviewer_for(auth[7:].strip() if auth.lower().startswith("bearer ") else None)
        if name is None:
            raise HTTPError(401, "a valid reviewer token is needed (seedfactory review RUN_DIR --add-reviewer NAME)")
        return name

    async def writer_of(request: Request) -> tuple[str, dict]:
        """The reviewer behind a write, after the token, origin and CSRF checks; and the JSON body."""
        name = reviewer_of(request)
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
            raise HTTPError(403, f"cross-site write refused (Origin {origin})")
        if not hmac.compare_digest(request.headers.get("x-csrf-token", ""), csrf_for(name)):
            raise HTTPError(403, "missing or wrong CSRF token (X-CSRF-Token from GET /api/session)")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise HTTPError(415, "writes are JSON (Content-Type: application/json)")
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as e:
            raise HTTPError(400, f"request body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise HTTPError(400, "request body must be a JSON object")
        return name, body

    def counts() -> dict:
        c = store.counts()
        total = sum(c.values())
        return {"reviewed": total - c["pending"], "queued": total, **c}

    def page(request: Request) -> Response:
        text, kind = assets[request.url.path]
        return Response(text, media_type=kind, headers=HEADERS)

    def session(request: Request) -> Response:
        name = reviewer_of(request)
        return _json({"reviewer": name, "csrf": csrf_for(name), "counts": counts(), "reasons": list(REJECT_REASONS)})

    def next_row(request: Request) -> Response:
        item = store.lease_next(reviewer_of(request))
        return _json({"item": shown.view(item) if item else None, "counts": counts()})

    def leased_item(name: str, item_id: str, *, held_before: bool = False):
        """The row, if leased to this reviewer (or, with held_before, ever leased to them: a stale
        save then learns the newer verdict through a 409)."""
        try:
            item = store.get(item_id)
        except ReviewError:
            raise HTTPError(404, f"no review item {item_id!r}") from None
        if not (store.had_lease if held_before else store.holds_lease)(item_id, name):
            raise HTTPError(403, f"review item {item_id!r} is not leased to {name}")
        return item

    def get_item(request: Request) -> Response:
        return _json(shown.view(leased_item(reviewer_of(request), request.path_params["item_id"])))

    async def verdict(request: Request) -> Response:
        name, body = await writer_of(request)
        item = leased_item(name, request.path_params["item_id"], held_before=True)
        action = body.get("action")
        if action not in ACTIONS:
            raise HTTPError(422, f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if not isinstance(body.get("version"), int):
            raise HTTPError(422, "version (the row version the verdict was made on) is required")
        output = None
        if action == "edit":
            output = body.get("output")
            if not isinstance(output, str):
                raise HTTPError(422, "an edit needs output: the corrected response as text")
            if not isinstance(item.example.output, str):
                try:
                    output = json.loads(output)
                except json.JSONDecodeError as e:
                    raise HTTPError(422, f"the edit is not valid JSON: {e}") from None
        reason = body.get("reason") or None
        if action == "reject" and reason is None:
            raise HTTPError(422, f"a rejection needs a reason: one of {', '.join(REJECT_REASONS)}")
        note = body.get("note")
        note = str(note)[:2000] if note else None
        try:
            after = store.decide(item.id, ACTIONS[action], output, reviewer=name, note=note,
                                 reason=reason if action == "reject" else None, version=body["version"],
                                 require_lease=True)
        except Conflict as e:
            raise HTTPError(409, str(e), current=shown.view(e.current)) from None
        except NotLeased as e:
            raise HTTPError(403, str(e)) from None
        except ReviewError as e:
            raise HTTPError(422, str(e)) from None
        return _json({"item": shown.view(after), "counts": counts()})

    async def skip(request: Request) -> Response:
        name, _ = await writer_of(request)
        if not store.release(request.path_params["item_id"], name):
            raise HTTPError(403, f"review item {request.path_params['item_id']!r} is not leased to {name}")
        return _json({"skipped": request.path_params["item_id"], "counts": counts()})

    async def on_error(request: Request, exc: HTTPError) -> Response:
        return _json({"error": str(exc), **exc.extra}, exc.status)

    routes = [Route(p, page) for p in ASSETS] + [
        Route("/api/session", session), Route("/api/next", next_row),
        Route("/api/items/{item_id}", get_item),
        Route("/api/items/{item_id}/verdict", verdict, methods=["POST"]),
        Route("/api/items/{item_id}/skip", skip, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPError: on_error})


def serve(app: Starlette, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until Ctrl-C (uvicorn handles the signal and shuts down cleanly)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning")


@contextlib.contextmanager
def serve_in_thread(app: Starlette, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve on a free port in a background thread; yields the base URL; stops on exit."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the review server did not start")
            threading.Event().wait(0.02)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
