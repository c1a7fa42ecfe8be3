"""Personas and topics as strata of generation (as in Persona Hub, Ge et al. 2024, and the topic
strata of Self-Instruct-style pipelines): each request names the topic and the persona it is for,
taking turns, so every stratum gets its share of new tasks instead of whatever the teacher favours.

Topics are the seeds' own `topic` fields plus `generate.topics` from the config. Personas are
`generate.personas` (a list), or `auto`: the teacher drafts `generate.num_personas` short personas
from the seeds in one structured request (cached like any request); `off` (or []) uses none.

    personas = resolve_personas(seeds, ask, teacher, cfg, seed=0, reject=rejects)   # ["a retired ..."]
    topic, persona = stratum(i, topics, personas)     # request i's stratum; prefix-stable in i
"""

from __future__ import annotations

import json
import math
import re

from seedfactory.schemas import GenerationRequest, Message, RejectLog, Sampling, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig

MAX_PERSONA_CHARS = 80
MAX_WORD_CHARS = 20  # a longer "word" is a small model stuck repeating syllables
# Three words or more, letters only: under guided decoding a small teacher neither fills the list with
# braces and placeholders nor answers with bare first names (SmolLM2-135M did both). Written without a
# bounded repeat: vLLM's guidance backend cannot intersect `(...){2,14}` with maxLength.
PERSONA_PATTERN = r"^[A-Za-z][A-Za-z,.'-]* [A-Za-z,.'-]+ [A-Za-z][A-Za-z ,.'-]*$"
PERSONA_SYSTEM = "You describe the people who write and read the examples of a dataset."


def all_topics(seed_topics: list[str], cfg: GenerateConfig) -> list[str]:
    """The seeds' topics (in the order given), then the config's topics the seeds do not have."""
    return list(seed_topics) + [t for t in dict.fromkeys(cfg.topics) if t not in seed_topics]


def stratum(i: int, topics: list, personas: list[str]) -> tuple:
    """(topic, persona) of request i: topics take turns (i mod T) and so do personas (i mod P), on a
    diagonal that moves one step every lcm(T, P) requests, so every topic meets every persona even
    when T and P share a factor. Any first k requests give each persona its share, give or take one."""
    topic = topics[i % len(topics)] if topics else None
    if not personas:
        return topic, None
    period = math.lcm(max(1, len(topics)), len(personas))
    return topic, personas[(i + i // period) % len(personas)]


def persona_line(persona: str | None) -> str:
    """The sentence a prompt gets for its persona ("" without one)."""
    return f" Write it as written by or for this person: {persona}." if persona else ""


def persona_request(seeds: list[SeedExample], teacher: ModelConfig, cfg: GenerateConfig,
                    seed: int) -> GenerationRequest:
    """One request for `num_personas` personas, under guided decoding (a JSON list of strings)."""
    n = cfg.num_personas
    schema = {"type": "object", "properties": {"personas": {
        "type": "array", "minItems": n, "maxItems": n,
        "items": {"type": "string", "minLength": 3, "maxLength": MAX_PERSONA_CHARS, "pattern": PERSONA_PATTERN}}},
        "required": ["personas"], "additionalProperties": False}
    shown = "\n\n".join(f"Instruction: {s.instruction}\nInput: {(s.input or '(none)')[:300]}" for s in seeds[:8])
    user = (f"Examples from a dataset:\n\n{shown}\n\nWrite {n} short personas: different kinds of people who "
            "would write or need examples like these, as varied as you can. Each persona is one short phrase "
            "describing one person, such as \"a first-time buyer on a tight budget\". "
            "Reply as JSON: {\"personas\": [...]}.")
    return GenerationRequest(
        model=teacher.model, purpose="personas", response_schema=schema,
        messages=[Message(role="system", content=PERSONA_SYSTEM), Message(role="user", content=user)],
        sampling=Sampling(temperature=cfg.task_temperature, top_p=teacher.top_p,
                          max_tokens=min(cfg.task_max_tokens, 48 + 48 * n), seed=seed * 100_043))


def parse_personas(text: str, n: int) -> list[str]:
    """The usable personas of a reply: three words or more of letters (no JSON debris, no bare names),
    no word longer than MAX_WORD_CHARS, no repeats; at most n."""
    try:
        values = json.loads(text).get("personas", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    out, seen = [], set()
    for v in values if isinstance(values, list) else []:
        v = " ".join(str(v).split()).strip(" .")
        ok = len(v) <= MAX_PERSONA_CHARS and re.match(PERSONA_PATTERN, v) and \
            max(len(w) for w in v.split()) <= MAX_WORD_CHARS
        if ok and v.casefold() not in seen:
            seen.add(v.casefold())
            out.append(v)
    return out[:n]


def resolve_personas(seeds: list[SeedExample], ask, teacher: ModelConfig, cfg: GenerateConfig, seed: int,
                     reject: RejectLog) -> list[str]:
    """The personas of this run: the config's list, none (`off`), or the teacher's draft (`auto`).
    A draft that gives none is a reject (`unusable_personas`, with the raw text) and the run goes on
    without personas."""
    if cfg.personas == "off":
        return []
    if cfg.personas != "auto":
        return list(dict.fromkeys(" ".join(p.split()) for p in cfg.personas if p.strip()))
    req = persona_request(seeds, teacher, cfg, seed)
    res = ask([req])[0]
    personas = [] if res.error is not None else parse_personas(res.text, cfg.num_personas)
    if not personas:
        reject(req.key, "unusable_personas",
               detail=f"{res.error or 'no usable persona in the reply'}; generating without personas "
                      f"| raw: {res.text[:500]}")
    return personas
