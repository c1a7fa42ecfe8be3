"""Fake backends shipped in the package, for tests and dry runs: no model, no network.

`FakeBackend()` answers every request deterministically from its content hash: a schema request
gets a valid instance of the schema, any other request a short text. Pass `responder` (a function
of the request) or `script` (replies in order) to say exactly what comes back.
"""

from __future__ import annotations

import random
import re
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
    if "pattern" in schema:  # no regex sampler here: try a few common shapes, then a phrase of words
        import re

        for candidate in ("2024-05-17", "12:30", "AB-1234", "phrase", "abc", "1234"):
            if candidate == "phrase":
                candidate = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 5)))
            if re.search(schema["pattern"], candidate):
                return candidate
    n = max(schema.get("minLength", 1), 1)
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    # A number and a date among the words, so a fake extractor has values to find in a fake input.
    words.insert(rng.randrange(len(words)), f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}")
    words.insert(rng.randrange(len(words)), f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
    text = " ".join(words)
    text = (text * (n // len(text) + 1)) if len(text) < n else text
    return text[: schema.get("maxLength", len(text))]


def extract_instance(schema: dict, text: str, rng: random.Random) -> dict:
    """A fake extractor: each field of an object schema filled from what the text states (a number,
    a date, a few words of it) where it can, else synthesised. Its answers pass grounding checks."""
    from seedfactory.validators.value_times import times_in
    from seedfactory.validators.values import dates_in, numbers_in

    found = dates_in(text)
    dates = [m.value.isoformat() for m in found]
    times = [m.value.strftime("%H:%M") for m in times_in(text) if hasattr(m.value, "strftime")]
    numbers = [m.value for m in numbers_in(text) if not any(d.start <= m.start < d.end for d in found)]
    words = text.split()
    out = {}
    for key, prop in schema.get("properties", {}).items():
        kinds = prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type", "string")]
        if "enum" in prop:
            out[key] = rng.choice(prop["enum"])
        elif ("number" in kinds or "integer" in kinds) and numbers:
            out[key] = rng.choice(numbers)
        elif "string" in kinds and "pattern" in prop and (fits := [v for v in dates + times
                                                                   if re.search(prop["pattern"], v)]):
            out[key] = rng.choice(fits)  # a date or time the text states, where the field's pattern takes it
        elif "string" in kinds and "pattern" not in prop and words:
            start = rng.randrange(len(words))
            out[key] = " ".join(words[start:start + rng.randint(1, 3)]).strip(".,;:") or words[0]
        else:
            out[key] = synth_instance(prop, rng)
    return out


def default_responder(req: GenerationRequest) -> str:
    import json

    rng = random.Random(req.key)
    last = req.messages[-1].content if req.messages else ""
    if req.purpose == "call_request":  # tool calls: a request that states every argument value
        calls = json.loads(last.split("\n", 1)[1]) if "[" in last else []
        said = [str(v) for c in calls for a in c["arguments"].values() for v in (a if isinstance(a, list) else [a])
                if not isinstance(v, bool)]
        return ("Please " + " and ".join(f"do {c['name']}" for c in calls) + ": " + "; ".join(said) + ".") if calls \
            else "Hello, what can you do " + rng.choice(WORDS) + "?"
    if req.purpose == "text" and "{" in last:  # output-first: state every field of the target
        fields = json.loads(last[last.index("{"):])
        return "\n".join(f"{k}: {v}" for k, v in fields.items() if v is not None)
    if req.response_schema is not None and req.purpose in ("response", "reference") \
            and req.response_schema.get("type") == "object":
        # the user turn is the instruction, a blank line, then the input: extract from the input
        return json.dumps(extract_instance(req.response_schema, last.split("\n\n", 1)[-1], rng))
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

    def generate(self, requests: list[GenerationRequest], on_result=None) -> list[GenerationResult]:
        out, stop = [], False
        for req in requests:
            if stop:  # the caller's budget ran out: like the openai backend, send nothing more
                out.append(GenerationResult(request_key=req.key, model=self.name, prompt_hash=req.prompt_hash,
                                            sampling=req.sampling, error="not sent: the run was stopped (budget cap)"))
                continue
            self.calls.append(req)
            reply = self.script.pop(0) if self.script is not None else self.responder(req)
            error = None
            if isinstance(reply, Exception):
                error, reply = f"{type(reply).__name__}: {reply}", ""
            out.append(GenerationResult(
                request_key=req.key, model=self.name, text=reply, prompt_hash=req.prompt_hash,
                sampling=req.sampling, prompt_tokens=sum(len(m.content.split()) for m in req.messages),
                completion_tokens=len(reply.split()), finish_reason="stop", error=error))
            stop = bool(on_result and on_result(len(out) - 1, out[-1]))
        return out

    def close(self) -> None:
        pass
