"""Fake backends shipped in the package, for tests and dry runs: no model, no network.

`FakeBackend()` answers every request deterministically from its content hash: a schema request
gets a valid instance of the schema, any other request a short text. Pass `responder` (a function
of the request) or `script` (replies in order) to say exactly what comes back.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from seedfactory.schemas import GenerationRequest, GenerationResult

WORDS = ("amber delta kettle north pixel river solid tango umbra velvet willow yonder zephyr "
         "copper harbor lantern meadow orbit quartz saddle timber").split()


def synth_instance(schema: dict, rng: random.Random) -> object:
    """A value that satisfies a (simple) JSON schema: types, enums, bounds, required keys."""
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return synth_instance(rng.choice(schema[key]), rng)
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: synth_instance(v, rng) for k, v in props.items()}
    if kind == "array":
        return [synth_instance(schema.get("items", {}), rng) for _ in range(schema.get("minItems", 1))]
    if kind == "integer":
        return rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 100)))
    if kind == "number":
        return round(rng.uniform(schema.get("minimum", 0), schema.get("maximum", 1000)), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if "pattern" in schema:  # no regex sampler here: try a few common shapes
        import re

        for candidate in ("2024-05-17", "12:30", "AB-1234", "abc", "1234"):
            if re.search(schema["pattern"], candidate):
                return candidate
    n = max(schema.get("minLength", 1), 1)
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
    text = (text * (n // len(text) + 1)) if len(text) < n else text
    return text[: schema.get("maxLength", len(text))]


def default_responder(req: GenerationRequest) -> str:
    import json

    rng = random.Random(req.key)
    if req.response_schema is not None:
        return json.dumps(synth_instance(req.response_schema, rng))
    return "Fake answer: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) + "."


class FakeBackend:
    def __init__(self, responder: Callable[[GenerationRequest], str | Exception] | None = None,
                 script: list[str] | None = None, name: str = "fake"):
        self.name = name
        self.responder = responder or default_responder
        self.script = list(script) if script is not None else None
        self.calls: list[GenerationRequest] = []

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        out = []
        for req in requests:
            self.calls.append(req)
            reply = self.script.pop(0) if self.script is not None else self.responder(req)
            error = None
            if isinstance(reply, Exception):
                error, reply = f"{type(reply).__name__}: {reply}", ""
            out.append(GenerationResult(
                request_key=req.key, model=self.name, text=reply, prompt_hash=req.prompt_hash,
                sampling=req.sampling, prompt_tokens=sum(len(m.content.split()) for m in req.messages),
                completion_tokens=len(reply.split()), finish_reason="stop", error=error))
        return out

    def close(self) -> None:
        pass
