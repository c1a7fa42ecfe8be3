"""Delexicalised rewrites: new wording for a seed's text from a small teacher, grounded by
construction. Code replaces the seed's output values in its text by slots (`{date}`, `{name}`); the
teacher rewrites that slotted text in another style, told to keep every slot exactly once; a rewrite
that keeps each slot exactly once, adds no other slot and keeps none of the seed's values becomes a
layout. A 135M teacher drops the slots (1 of 96 rewrites kept them, measured), so by default
(`generate.rewrite_slots=values`) it rewrites the seed's own text, told to keep every value, and the
finder slots the values in its rewrite (`parse_copy`): a small model copies values it can see. A
target (a new object drawn for the seed) is then written into the layout, each value in one of the
common written forms of its kind (validators/values.py `forms`), so the text states the target's
values by construction, in words the seeds never used.

    slotted = delexicalise(seed.input, seed.output, fields, kinds)        # str, or Unreadable(why)
    reqs = rewrite_requests(texts_by_seed, teacher, cfg, seed, per_seed, placeholders=False)
    layout = parse_copy(reply.text, slotted, seed.output, fields, kinds)  # str, or Unreadable(why)
    layout = parse_rewrite(reply.text, slotted, seed.output)              # placeholders=True
    text = fill(layout, target.object, kinds, rng)

Label fields (enums, booleans) are not slotted: the rewrite keeps the seed's meaning and the target
keeps the seed's labels, so a label stays supported by the words that carried it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from seedfactory.schemas import GenerationRequest, Message, Sampling
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.validators.values import is_stated

SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
STRATEGY = "output_first:rewrite"

REWRITE_SYSTEM = ("You rewrite short texts for a dataset. Words in curly braces, like {name}, are placeholders: "
                  "copy each placeholder exactly as written, once, and never fill it in. Change the wording, the "
                  "order and the layout; keep the meaning.")
COPY_SYSTEM = ("You rewrite short texts for a dataset. Keep every name, number, amount, date, time, e-mail and "
               "phone exactly as written; change the wording, the order and the layout; keep the meaning.")
# A reply that starts by talking about the task ("Rewritten text:", "Here is a shorter version:")
META = re.compile(r"^\W*(?:rewritten|rewrite|here is|here's|sure|certainly|of course|version)\b", re.IGNORECASE)
# Styles name a register or a shape of text, never a domain: they apply to any seed set.
STYLES = ["a shorter version", "a more formal version", "a casual, friendly version", "a version in one long sentence",
          "a version with each detail on its own line", "a version that gives the details in another order",
          "a polite version that starts with a greeting", "a brief, direct version"]


@dataclass(frozen=True)
class Unreadable:
    """Why a text could not be slotted or a rewrite was not kept."""

    why: str


def _kind(kinds: dict | None, name: str) -> str | None:
    fk = (kinds or {}).get(name)
    return getattr(fk, "kind", fk)


def _mentions(value, text: str, kind: str | None):
    from seedfactory.generators.template import written_mentions

    return written_mentions(value, text, kind)


def _stated(value, text: str, kind: str | None) -> bool:
    try:
        return is_stated(value, text, kind=kind) if kind else is_stated(value, text)
    except TypeError:
        return is_stated(value, text)


def delexicalise(text: str, output: dict, fields: list[str], kinds: dict | None = None) -> str | Unreadable:
    """The text with every mention of each field's value replaced by `{field}`; Unreadable naming the
    first value the finder cannot locate (or two fields claiming one span)."""
    from seedfactory.generators.template import assign_mentions

    found_by = {}
    for i, name in enumerate(fields):
        value = output.get(name)
        if value is None or any(output.get(f) == value for f in fields[:i]):
            continue  # a value an earlier field holds too ("45k" both ends of a range) is its slot
        found_by[name] = _mentions(value, text, _kind(kinds, name))
        if not found_by[name]:
            return Unreadable(f"{name}={value!r} not found in its text")
    spans = [(m.start, m.end, name) for name, found in assign_mentions(found_by).items() for m in found]
    # a mention inside another field's longer mention is that field's: "Brightwater" in its title
    spans = [(a, b, n) for a, b, n in spans
             if not any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) and n2 != n for a2, b2, n2 in spans)]
    spans.sort()
    for (a1, b1, n1), (a2, b2, n2) in zip(spans, spans[1:]):
        if a2 < b1 and n1 != n2:
            return Unreadable(f"{n1} and {n2} are read from one span ({text[a1:b1]!r})")
    out, pos = [], 0
    for a, b, name in spans:
        if a < pos:
            continue
        out.append(text[pos:a] + "{" + name + "}")
        pos = b
    if SLOT.search(text):
        return Unreadable("the text already holds {braces}")
    return "".join(out) + text[pos:]


def rewrite_requests(sources: dict[str, str], teacher: ModelConfig, cfg: GenerateConfig, seed: int,
                     per_seed: int, placeholders: bool = True) -> list[tuple[GenerationRequest, str]]:
    """`per_seed` sampled rewrite requests for each seed's text (seed id -> the slotted text, or with
    `placeholders=False` the seed's own text, values and all), styles in turn. The list depends on the
    seeds only, not on `num_tasks`, so a dry run's requests are the real run's."""
    out = []
    for sid, text in sorted(sources.items()):
        for j in range(per_seed):
            style = STYLES[(j + len(out)) % len(STYLES)]
            if placeholders:
                slots = ", ".join(dict.fromkeys(SLOT.findall(text)))
                system = REWRITE_SYSTEM
                user = (f"Rewrite this text as {style}. Keep the placeholders {slots} exactly as written, once "
                        f"each.\n\n{text}")
            else:
                system = COPY_SYSTEM
                user = (f"Rewrite this text as {style}. Keep every name, number, date, time and address exactly "
                        f"as written.\n\n{text}")
            out.append((GenerationRequest(
                model=teacher.model, purpose="rewrite",
                messages=[Message(role="system", content=system), Message(role="user", content=user)],
                sampling=Sampling(temperature=cfg.task_temperature, top_p=teacher.top_p,
                                  max_tokens=min(teacher.max_tokens, max(64, len(text) // 2)),
                                  seed=(seed * 7919 + j * 104729 + len(out)) % 2**31)), sid))
    return out


def parse_rewrite(text: str, slotted: str, seed_output: dict, kinds: dict | None = None) -> str | Unreadable:
    """A rewrite kept as a layout: each slot of the source exactly once, no other slot, none of the seed's
    slotted values written out, and not the source itself."""
    text = text.strip().strip('"').strip()
    want = set(SLOT.findall(slotted))
    got = SLOT.findall(text)
    if set(got) - want:
        return Unreadable(f"adds placeholders {sorted(set(got) - want)}")
    missing = sorted(want - set(got))
    if missing:
        return Unreadable(f"drops placeholders {missing}")
    twice = sorted({g for g in got if got.count(g) > 1})
    if twice:
        return Unreadable(f"repeats placeholders {twice}")
    if " ".join(text.split()).casefold() == " ".join(slotted.split()).casefold():
        return Unreadable("the source text unchanged")
    bare = SLOT.sub(" ", text)
    for name in want:
        value = seed_output.get(name)
        if value is not None and _stated(value, bare, _kind(kinds, name)):
            return Unreadable(f"writes out the seed's {name} value")
    if any(c in bare for c in "{}"):
        return Unreadable("stray braces")
    return text


def parse_copy(text: str, slotted: str, seed_output: dict, fields: list[str], kinds: dict | None = None,
               source: str | None = None) -> str | Unreadable:
    """A rewrite of the seed's own text kept as a layout: the finder locates every value the seed's
    text stated (in any written form: a small teacher copies values it can see, and may write "2:30pm"
    as "14:30") and slots them; a value it dropped, or the seed's wording unchanged, is not a layout."""
    text = text.strip().strip('"').strip()
    if SLOT.search(text):
        return Unreadable("stray braces")
    if META.match(text):
        return Unreadable("talks about the rewrite")
    seed_len = len(source if source is not None else slotted)
    if not 0.5 <= len(text) / max(1, seed_len) <= 1.6:
        return Unreadable(f"{len(text)} chars against the seed's {seed_len}")
    got = delexicalise(text, seed_output, [f for f in fields if "{" + f + "}" in slotted], kinds)
    if isinstance(got, Unreadable):
        return Unreadable(f"drops a value: {got.why}")
    if _words(got) == _words(slotted):
        return Unreadable("the source text unchanged")
    return got


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def written_form(value, kind: str | None, rng: random.Random) -> str:
    """One common written form of a value of its kind (the finder reads it back), chosen by rng."""
    if isinstance(value, str) and kind in (None, "span", "person", "organisation", "place", "code", "email", "url",
                                           "label"):
        return value
    try:
        from seedfactory.validators.values import forms
    except ImportError:
        forms = None
    options = []
    if forms is not None and kind:
        try:
            options = [f for f in forms(value, kind) if _stated(value, f, kind)]
        except (TypeError, ValueError, KeyError):
            options = []
    if options:
        return rng.choice(options)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fill(layout: str, output: dict, kinds: dict | None, rng: random.Random) -> str | Unreadable:
    """The layout with each slot written as the target's value in a form of its kind; Unreadable when a
    slot's value is null or the filled text does not state a value (the finder reads it back)."""
    chosen: dict[str, str] = {}

    def one(m: re.Match) -> str:
        name = m.group(1)
        if name not in chosen:
            chosen[name] = written_form(output.get(name), _kind(kinds, name), rng)
        return chosen[name]

    if any(output.get(n) is None for n in SLOT.findall(layout)):
        return Unreadable("a slot whose target value is null")
    text = SLOT.sub(one, layout)
    for name in chosen:
        if not _stated(output[name], text, _kind(kinds, name)):
            return Unreadable(f"{name}={output[name]!r} written as {chosen[name]!r} is not read back")
    return text


def fill_target(layout: str, output: dict, seed_output: dict, fields: list[str], kinds: dict | None,
                rng: random.Random) -> str | Unreadable:
    """`fill` for a target drawn from the layout's seed: a field that held an earlier field's value in
    the seed (one slot for both) must hold that field's value in the target too."""
    for i, name in enumerate(fields):
        value = seed_output.get(name)
        first = next((f for f in fields[:i] if value is not None and seed_output.get(f) == value), None)
        if first is not None and output.get(name) != output.get(first):
            return Unreadable(f"{name} and {first} share a slot but not a value")
    return fill(layout, output, kinds, rng)
