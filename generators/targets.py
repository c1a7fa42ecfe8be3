"""Targets for output-first generation: new output objects drawn from the seeds, each valid under the
schema, with where it came from (its base seed) and which values changed.

Target i is drawn with its own random stream, so the first k targets are the same whatever `n`:
a `--dry-run` sample of k tasks is the start of the real run, and the real run finds it cached.

    targets = prefix_stable_targets(seeds, schema, name_fields, ask, teacher, cfg, seed)
    targets = draw_targets(seeds, schema, n=64, seed=0, names={"vendor": [...]})
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from seedfactory.generators.lists import compound, draw_list, draw_object, field_kinds, item_kind
from seedfactory.generators.plan import Ask
from seedfactory.generators.relations import keep_relations, seed_relations
from seedfactory.schemas import GenerationRequest, Message, Sampling, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.validators.quality import span_fields
from seedfactory.validators.values import value_kind

LOG2 = math.log(2)  # a target's money is its seed's times a factor in [1/2, 2]: a seed's scale, not 4x it
NAME_BLOCK = 16  # targets per teacher name request: block b draws names from requests 0..max(1, b)


@dataclass
class Target:
    object: dict
    base_id: str
    factor: float
    changed: list[str] = field(default_factory=list)  # span fields whose value differs from the base
    templatable: bool = True  # only span values changed: the base seed's text can carry it


def _is_id(values: list[str]) -> bool:
    """Id-like fields (invoice numbers, codes) hold digits in most values; names do not."""
    return sum(any(c.isdigit() for c in v) for v in values) >= max(1, len(values) // 2)


def redraw_id(value: str, rng: random.Random) -> str:
    """Same shape, new digits: 'RE-2024-0193' -> 'RE-2024-7741'; a leading digit stays non-zero."""
    out = []
    for i, ch in enumerate(value):
        if ch.isdigit():
            first = i == 0 or not value[i - 1].isdigit()
            out.append(str(rng.randint(1 if first and ch != "0" else 0, 9)))
        else:
            out.append(ch)
    return "".join(out)


def name_request(field_name: str, examples: list[str], teacher: ModelConfig, cfg: GenerateConfig,
                 i: int) -> GenerationRequest:
    """Ask for new values of a name-like field, as a JSON list, under guided decoding."""
    longest = max(len(v) for v in examples)
    schema = {"type": "object", "properties": {"values": {
        "type": "array", "minItems": 3, "maxItems": 8,
        "items": {"type": "string", "minLength": 2, "maxLength": min(80, 2 * longest)}}},
        "required": ["values"], "additionalProperties": False}
    shown = "\n".join(f"- {v}" for v in examples)
    user = (f"Examples of `{field_name}` values:\n{shown}\n\nWrite 8 new `{field_name}` values of the same kind, "
            "all different from the examples and from each other. Reply as JSON: {\"values\": [...]}.")
    return GenerationRequest(model=teacher.model, purpose="names", response_schema=schema,
                             messages=[Message(role="user", content=user)],
                             sampling=Sampling(temperature=cfg.task_temperature, top_p=teacher.top_p,
                                               max_tokens=384, seed=i))


def parse_names(texts: list[str], examples: list[str]) -> list[str]:
    """Usable proposed names: shaped like the seeds' values (length, word count, digits only if the
    seeds have some), not a seed's value, no debris or field labels."""
    seen = {e.casefold() for e in examples}
    lo, hi = min(len(e) for e in examples) // 2, max(len(e) for e in examples) * 3 // 2
    max_words = max(len(e.split()) for e in examples) + 1
    digits = any(c.isdigit() for e in examples for c in e)
    out: list[str] = []
    for text in texts:
        try:
            values = json.loads(text).get("values", [])
        except (json.JSONDecodeError, AttributeError):
            continue
        for v in values:
            v = " ".join(str(v).split())
            ok = (lo <= len(v) <= hi and len(v.split()) <= max_words and any(c.isalpha() for c in v)
                  and (digits or not any(c.isdigit() for c in v)) and not any(c in v for c in "{}<>[]:|=_")
                  and v.casefold() not in seen and v[0].isupper())
            if ok:
                seen.add(v.casefold())
                out.append(v)
    return out


def recombine_names(examples: list[str], rng: random.Random, n: int) -> list[str]:
    """New names from the seeds' own parts: the first word of one value with the rest of another
    ("Krämer" + "Office Supply"), never a seed's value. Plausible in shape, and varied."""
    parts = [e.split() for e in examples if len(e.split()) >= 2]
    heads = sorted({p[0] for p in parts})
    tails = sorted({" ".join(p[1:]) for p in parts})
    seen = {e.casefold() for e in examples}
    # an all-caps head goes with an all-caps tail, so a name reads as one style
    combos = [f"{h} {t}" for h in heads for t in tails
              if f"{h} {t}".casefold() not in seen and (h.isupper() == t.replace("&", "").isupper())]
    rng.shuffle(combos)
    return combos[:n]


def _drawn_by_kind(name: str, value, fk, factor: float, names: list[str], rng: random.Random):
    """A new value for one field of a target, valid for its kind (generators/draw.py): money scaled by
    the target's one factor (so totals and taxes keep their ratio), names from the teacher's proposals
    or Faker, everything else drawn for its kind near the base seed's value."""
    from seedfactory.generators.draw import draw_value
    from seedfactory.validators.kinds import check_value

    if fk.kind == "money" and isinstance(value, (int, float)):
        scaled = round(value * factor) if isinstance(value, int) else round(value * factor, 2)
        for step in (1000, 100):  # a seed's round amount ("45k", "£1,200") stays as round
            if value and float(value) % step == 0 and abs(value) >= step:
                scaled = type(value)(round(scaled / step) * step) or type(value)(step)
                break
        if check_value(scaled, fk) is None:
            return scaled
    if names and fk.kind in ("span", "person", "organisation", "place") and rng.random() < 0.5:
        return rng.choice(names)
    return draw_value(fk, rng, base=value)


def _kind_name(kinds: dict, name: str) -> str | None:
    return getattr(kinds.get(name), "kind", None)


def _keep_nested(base: dict, obj: dict, spans: list[str], kinds: dict) -> None:
    """A field whose seed value sits inside another's ("Brightwater" inside "Brightwater 20L Jerry Can")
    stays inside it: a string inner value is written into the outer one in place of the old, a number
    keeps its seed value (the outer text still says it). The text then never contradicts itself."""
    from seedfactory.generators.template import _render_like, written_mentions

    for outer in spans:
        text = base.get(outer)
        if not isinstance(text, str):
            continue
        edits = []
        for inner in spans:
            old, kind = base.get(inner), _kind_name(kinds, inner)
            found = written_mentions(old, text, kind) if inner != outer and old is not None else []
            if found:
                new = _render_like(old, obj.get(inner), found[0], kind) if obj.get(inner) is not None else None
                if new is None:
                    obj[inner] = old  # cannot be written into the outer value: keep the seed's
                else:
                    edits.append((found[0].start, found[0].end, new))
        if edits:  # the outer value is the seed's with its inner values replaced, not a fresh draw
            edits.sort()
            if any(a2 < b1 for (_, b1, _), (a2, _, _) in zip(edits, edits[1:])):
                obj[outer] = text
                continue
            out, pos = [], 0
            for a, b, new in edits:
                out.append(text[pos:a] + new)
                pos = b
            obj[outer] = "".join(out) + text[pos:]


def draw_targets(seeds: list[SeedExample], schema: dict, n: int, seed: int | str,
                 names: dict[str, list[str]], edge_rate: float = 0.1, start: int = 0,
                 kinds: dict | None = None) -> list[Target]:
    """Targets `start` .. `start + n - 1`, each from a base seed (taken in turn) with new span values,
    target i drawn with its own `random.Random(f"{seed}:target:{i}")` (prefix-stable in i). With
    `kinds` (validators/kinds.py) each value is drawn valid for its field's kind; two fields that hold
    one value in the seed hold one new value in the target."""
    bases = [s for s in seeds if isinstance(s.output, dict)]
    outputs = [s.output for s in bases]
    spans = span_fields(schema, outputs, kinds)
    props = schema.get("properties", {})
    id_fields = {f for f in spans if value_kind(outputs[0].get(f) or "") == "string"
                 and _is_id([o[f] for o in outputs if isinstance(o.get(f), str)])} if not kinds else set()
    lists = [f for f in props if kinds and compound(kinds, f)]
    rels = seed_relations(outputs, {f: kinds[f] for f in spans if f in kinds}) if kinds else []
    def draw(base: SeedExample, rng: random.Random) -> tuple[Target, bool]:
        obj, factor = dict(base.output), round(math.exp(rng.uniform(-LOG2, LOG2)), 3)
        t = Target(obj, base.id, factor)
        for name in spans:
            value = obj.get(name)
            kind = value_kind(value)
            same = next((f for f in spans[:spans.index(name)] if value is not None and base.output.get(f) == value
                         and (not kinds or _kind_name(kinds, f) == _kind_name(kinds, name))), None)
            if same is not None:
                obj[name] = obj[same]  # "from 45k" both ends of a range: still one value
            elif kinds and name in kinds and value is not None:
                obj[name] = _drawn_by_kind(name, value, kinds[name], factor, names.get(name, []), rng)
            elif kind == "number":  # integers stay integers: a text may write them without decimals
                obj[name] = (round(value * factor) if isinstance(value, int) else round(value * factor, 2)) if value \
                    else value
            elif kind == "date":
                obj[name] = (date.fromisoformat(value) + timedelta(days=rng.randint(-500, 500))).isoformat()
            elif kind == "string" and name in id_fields:
                obj[name] = redraw_id(value, rng)
            elif kind == "string" and names.get(name):
                obj[name] = rng.choice(names[name])
            if obj.get(name) != value:
                t.changed.append(name)
        for name in lists:
            if isinstance(obj.get(name), list) and obj[name] and item_kind(kinds, name) is not None:
                obj[name] = draw_list(obj[name], item_kind(kinds, name), rng)
            elif isinstance(obj.get(name), dict):
                obj[name] = draw_object(obj[name], field_kinds(kinds, name), lambda k, v, fk: _drawn_by_kind(
                    k, v, fk, factor, [], rng))
        if kinds:
            _keep_nested(base.output, obj, spans, kinds)
            keep_relations(obj, base.output, rels, kinds, lambda f: _drawn_by_kind(
                f, base.output.get(f), kinds[f], factor, names.get(f, []), rng))
            t.changed = [f for f in spans + lists if obj.get(f) != base.output.get(f)]
        # Edge cases the seeds rarely show: another enum value, a null where the schema allows one;
        # one field of one target in 1/edge_rate, so most targets stay writable into their seed's text.
        edge = [rng.choice(list(props))] if kinds and props and rng.random() < edge_rate else []
        for name, prop in props.items() if not kinds else [(e, props[e]) for e in edge]:
            if not kinds and rng.random() >= edge_rate:
                continue
            if "enum" in prop:
                obj[name] = rng.choice(prop["enum"])
            elif "null" in (prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")]):
                obj[name] = None
            else:
                continue  # no edge case for this field: its drawn value stands, and the seed's text can carry it
            if obj[name] != base.output.get(name):
                t.templatable = False
        copied = any(obj.get(f) == base.output.get(f) and base.output.get(f) is not None for f in spans
                     if value_kind(base.output.get(f)) == "string" and f not in id_fields)
        if copied:
            t.templatable = False  # a name no draw replaced would copy the seed's
        return t, copied

    targets = []
    for i in range(start, start + n):
        for attempt in range(4 if kinds else 1):
            # a draw that left a seed's name in place is drawn again, so the seed still serves as a template
            stream = f"{seed}:target:{i}" + (f":{attempt}" if attempt else "")
            t, copied = draw(bases[i % len(bases)], random.Random(stream))
            if not copied:
                break
        targets.append(t)
    return targets


def name_fields_of(schema: dict, outputs: list[dict], kinds: dict | None = None) -> list[str]:
    """Span fields whose values are names the teacher is asked to propose: with kinds, free spans
    (titles, product names: Faker has no list of them); without, strings that are not ids."""
    if kinds:
        return [f for f in span_fields(schema, outputs, kinds) if f in kinds and kinds[f].kind == "span"
                and all(isinstance(o.get(f), str) for o in outputs if o.get(f) is not None)]
    return [f for f in span_fields(schema, outputs)
            if all(isinstance(o.get(f), str) for o in outputs if o.get(f) is not None)
            and not _is_id([o[f] for o in outputs if o.get(f)])]


def prefix_stable_targets(seeds: list[SeedExample], schema: dict, name_fields: list[str], ask: Ask,
                          teacher: ModelConfig, cfg: GenerateConfig, seed: int, kinds: dict | None = None
                          ) -> list[Target]:
    """`num_tasks` targets whose first k are the same for any `num_tasks` >= k (see output_first's doc):
    the b-th block of NAME_BLOCK targets draws its names from name requests 0..max(1, b) and the first
    NAME_BLOCK * (b + 1) recombined names, never from requests a shorter run would not send."""
    outputs = [s.output for s in seeds if isinstance(s.output, dict)]
    blocks = -(-cfg.num_tasks // NAME_BLOCK)
    examples, proposals, recombined = {}, {}, {}
    for f in name_fields:
        examples[f] = sorted({o[f] for o in outputs if o.get(f)})
        reqs = [name_request(f, random.Random(f"{seed}:{f}:{i}").sample(examples[f], min(5, len(examples[f]))),
                                teacher, cfg, seed * 1000 + i) for i in range(max(2, blocks))]
        proposals[f] = [r.text if r.error is None else "" for r in ask(reqs)]
        # with kinds these are free spans (titles, dishes, tests): the teacher's proposals and the seeds'
        # whole values only, never halves of two recombined
        recombined[f] = [] if kinds else recombine_names(examples[f], random.Random(f"{seed}:names:{f}"),
                                                         NAME_BLOCK * blocks)
    targets = []
    for b in range(blocks):
        names = {f: parse_names(proposals[f][: max(2, b + 1)], examples[f])
                 + recombined[f][: NAME_BLOCK * (b + 1)] for f in name_fields}
        n = min(NAME_BLOCK, cfg.num_tasks - b * NAME_BLOCK)
        targets += draw_targets(seeds, schema, n, f"{seed}:targets", names, start=b * NAME_BLOCK, kinds=kinds)
    return targets
