"""Output-first generation for structured seed sets (after SynthIE, Josifoski et al. 2023): draw a
target object that is valid under the schema first, then get a text that states exactly its values.
Writing text for a given structure is the easy direction for a small teacher, and the label is right
by construction once the grounding check confirms the text carries every value.

Targets are drawn from the seeds: a base seed's object with its numbers scaled by one factor (so
totals and taxes keep their ratio), its dates moved, its ids re-drawn digit by digit, its names
replaced by names the teacher proposed under guided decoding, and now and then an enum value or a
null the seeds rarely use. Two kinds of text come from a target:

- template: the base seed's own input with each old value replaced by the new one, written the way
  the seed wrote it (dates, thousands separators, decimals), and the seed's other money amounts
  scaled by the same factor. Grounded by construction, but only as varied as the seeds' layouts.
- teacher: the teacher writes a new text for the target in the seeds' style (few-shot: seed
  objects and their texts); `texts_per_target` samples, the grounding check keeps the good ones.

    targets = draw_targets(seeds, schema, n=64, seed=0, names={"vendor": [...]})
    text = template_text(seed_by_id[t.base_id], t)      # None when the seed's layout cannot carry it

Target i is drawn with its own random stream, so the first k targets are the same whatever `n`:
a `--dry-run` sample of k tasks is the start of the real run, and the real run finds it cached.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from seedfactory.generators.plan import Ask, Env, Plan, TaskDraft
from seedfactory.schemas import Example, GenerationRequest, Message, RejectLog, Sampling, SeedExample, stable_hash
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.validators.quality import grounding_failures, span_fields
from seedfactory.validators.values import dates_in, is_stated, mentions, numbers_in, render, value_kind

STRATEGY = "output_first"
USES_PERSONAS = False  # texts are written for a target, not a person
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


def draw_targets(seeds: list[SeedExample], schema: dict, n: int, seed: int | str,
                 names: dict[str, list[str]], edge_rate: float = 0.1, start: int = 0) -> list[Target]:
    """Targets `start` .. `start + n - 1`, each from a base seed (taken in turn) with new span values,
    target i drawn with its own `random.Random(f"{seed}:target:{i}")` (prefix-stable in i)."""
    bases = [s for s in seeds if isinstance(s.output, dict)]
    outputs = [s.output for s in bases]
    spans = span_fields(schema, outputs)
    props = schema.get("properties", {})
    id_fields = {f for f in spans if value_kind(outputs[0].get(f) or "") == "string"
                 and _is_id([o[f] for o in outputs if isinstance(o.get(f), str)])}
    targets = []
    for i in range(start, start + n):
        rng = random.Random(f"{seed}:target:{i}")
        base = bases[i % len(bases)]
        obj, factor = dict(base.output), round(rng.uniform(0.25, 4.0), 3)
        t = Target(obj, base.id, factor)
        for name in spans:
            value = obj.get(name)
            kind = value_kind(value)
            if kind == "number":  # integers stay integers: a text may write them without decimals
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
        # Edge cases the seeds rarely show: another enum value, a null where the schema allows one.
        for name, prop in props.items():
            if rng.random() >= edge_rate:
                continue
            if "enum" in prop:
                obj[name] = rng.choice(prop["enum"])
            elif "null" in (prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")]):
                obj[name] = None
            if obj[name] != base.output.get(name):
                t.templatable = False
        if any(obj.get(f) == base.output.get(f) and base.output.get(f) is not None for f in spans
               if value_kind(base.output.get(f)) == "string" and f not in id_fields):
            t.templatable = False  # a name the teacher could not replace would copy the seed's
        targets.append(t)
    return targets


# ---- template texts ------------------------------------------------------------------------------

def template_text(base: SeedExample, target: Target) -> str | None:
    """The base seed's input with its values replaced by the target's, or None when the layout
    cannot carry the target (a value not found once, two fields on one span, a leftover old value)."""
    if not target.templatable:
        return None
    text = base.input
    edits: list[tuple[int, int, str]] = []
    claimed: set[tuple[int, int]] = set()
    for name in target.changed:
        old, new = base.output[name], target.object[name]
        found = mentions(old, text)
        if not found:
            return None
        for m in found:
            if value_kind(old) == "string":
                rendered = new
            else:
                if value_kind(old) == "date":
                    rendered = render(date.fromisoformat(new), m.fmt)
                else:
                    rendered = render(new, m.fmt)
            edits.append((m.start, m.end, rendered))
            claimed.add((m.start, m.end))
    # Other money amounts (two decimals, not a percentage, not inside a date) scale with the totals,
    # so the line items still add up.
    date_spans = [(d.start, d.end) for d in dates_in(text)]
    for m in numbers_in(text):
        inside = any(a <= m.start and m.end <= b for a, b in date_spans + list(claimed))
        overlaps = any(m.start < b and a < m.end for a, b in claimed)
        if m.fmt.decimals == 2 and not inside and not overlaps and not text[m.end:m.end + 2].lstrip().startswith("%"):
            edits.append((m.start, m.end, render(round(m.value * target.factor, 2), m.fmt)))
            claimed.add((m.start, m.end))
    edits.sort()
    if any(a2 < b1 for (_, b1, _), (a2, _, _) in zip(edits, edits[1:])):
        return None  # two edits on one span: the layout is ambiguous for this target
    out, pos = [], 0
    for a, b, new in edits:
        out.append(text[pos:a] + new)
        pos = b
    result = "".join(out) + text[pos:]
    for name in target.changed:
        if not is_stated(target.object[name], result):
            return None
        old = base.output[name]
        if value_kind(old) == "string" and is_stated(old, result):
            return None  # the seed's value survived somewhere the search did not reach
    return result


# ---- teacher texts -------------------------------------------------------------------------------

TEXT_SYSTEM = ("You write realistic documents for a dataset. Given the field values, write the document "
               "text in the style of the earlier ones. State every value exactly as given; add nothing "
               "that contradicts them.")
RESTYLE_SYSTEM = ("You rewrite documents. Keep every name, number, amount and date exactly as written; change the "
                  "layout, the wording and the other details.")
STYLES = ["a short email", "a plain till receipt", "a formal invoice", "a two-line text message", "a utility bill",
          "a note from a freelancer"]


def _fields_prompt(obj: dict) -> str:
    return "Write the document for these fields:\n" + json.dumps(obj, ensure_ascii=False)


def text_requests(targets: list[Target], drafts: list[str | None], seeds: list[SeedExample], teacher: ModelConfig,
                  cfg: GenerateConfig, seed: int) -> list[tuple[GenerationRequest, int]]:
    """`texts_per_target` teacher texts per target. A target with a template draft asks the teacher
    to rewrite the draft in another style (copying values it can see is what a small model does
    well); one without asks for a text from the fields, few-shot with seed objects and their texts.
    Returns (request, target index)."""
    by_id = {s.id: s for s in seeds}
    pool = [s for s in seeds if isinstance(s.output, dict) and s.input.strip()]
    longest = max(len(s.input) for s in pool)
    out = []
    for i, (t, draft) in enumerate(zip(targets, drafts)):
        rng = random.Random(f"{seed}:text:{i}")
        if draft is not None:
            msgs = [Message(role="system", content=RESTYLE_SYSTEM), Message(role="user", content=(
                f"Rewrite this document as {STYLES[i % len(STYLES)]}. Keep every name, number and date exactly as "
                f"written.\n\n{draft}"))]
        else:
            others = [s for s in pool if s.id != t.base_id]
            shots = [by_id[t.base_id]] + rng.sample(others, min(cfg.shots - 1, len(others)))
            msgs = [Message(role="system", content=TEXT_SYSTEM)]
            for s in shots:
                msgs += [Message(role="user", content=_fields_prompt(s.output)),
                         Message(role="assistant", content=s.input)]
            msgs.append(Message(role="user", content=_fields_prompt(t.object)))
        for j in range(cfg.texts_per_target):
            out.append((GenerationRequest(
                model=teacher.model, purpose="text", messages=msgs,
                sampling=Sampling(temperature=cfg.task_temperature, top_p=teacher.top_p,
                                  max_tokens=min(teacher.max_tokens, max(64, longest // 2)),
                                  seed=int(f"{seed}{i:05d}{j:02d}") % 2**31)), i))
    return out


# ---- the strategy: targets, then texts -----------------------------------------------------------

def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): `plan.tasks` targets and their texts."""
    if env.schema is None:
        raise ValueError("generate.strategy=output_first needs an output schema (seeds.schema)")
    return output_first_tasks(seeds, env.schema, env.ask, env.teacher, env.part(plan), env.seed, env.rejects)


def prefix_stable_targets(seeds: list[SeedExample], schema: dict, name_fields: list[str], ask: Ask,
                          teacher: ModelConfig, cfg: GenerateConfig, seed: int) -> list[Target]:
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
        recombined[f] = recombine_names(examples[f], random.Random(f"{seed}:names:{f}"), NAME_BLOCK * blocks)
    targets = []
    for b in range(blocks):
        names = {f: parse_names(proposals[f][: max(2, b + 1)], examples[f])
                 + recombined[f][: NAME_BLOCK * (b + 1)] for f in name_fields}
        n = min(NAME_BLOCK, cfg.num_tasks - b * NAME_BLOCK)
        targets += draw_targets(seeds, schema, n, f"{seed}:targets", names, start=b * NAME_BLOCK)
    return targets


def output_first_tasks(seeds: list[SeedExample], schema: dict, ask: Ask, teacher: ModelConfig,
                       cfg: GenerateConfig, seed: int, rejects: RejectLog) -> list[TaskDraft]:
    """Targets, then a template text and teacher texts per target; a teacher text that does not state
    every value of its target leaves here (`ungrounded`), before anyone pays to answer it."""
    outputs = [s.output for s in seeds if isinstance(s.output, dict)]
    name_fields = [f for f in span_fields(schema, outputs)
                   if all(isinstance(o.get(f), str) for o in outputs if o.get(f) is not None)
                   and not _is_id([o[f] for o in outputs if o.get(f)])]
    targets = prefix_stable_targets(seeds, schema, name_fields, ask, teacher, cfg, seed)
    by_id = {s.id: s for s in seeds}
    instructions = sorted({s.instruction for s in seeds})
    fields = span_fields(schema, outputs)
    tasks, seen = [], set()

    def add(text: str, t: Target, kind: str, request_key: str, raw: str) -> None:
        rng = random.Random(f"{seed}:instruction:{request_key}")
        instruction = by_id[t.base_id].instruction if kind == "template" else rng.choice(instructions)
        pid = stable_hash([instruction, text.strip()])
        if pid in seen:
            rejects(request_key, "duplicate_task", detail="same text as an earlier task")
            return
        seen.add(pid)
        tasks.append(TaskDraft(prompt_id=pid, instruction=instruction, input=text.strip(), seed_ids=[t.base_id],
                               request_key=request_key, raw=raw, strategy=f"{STRATEGY}:{kind}", target=t.object,
                               topic=by_id[t.base_id].topic))

    drafts = [template_text(by_id[t.base_id], t) for t in targets]
    if cfg.templates:
        for i, (t, text) in enumerate(zip(targets, drafts)):
            if text is not None:
                add(text, t, "template", f"template:{t.base_id}:{i}", text)
    pairs = text_requests(targets, drafts, seeds, teacher, cfg, seed) if cfg.texts_per_target else []
    for (req, i), res in zip(pairs, ask([r for r, _ in pairs])):
        t = targets[i]
        if res.error is not None:
            rejects(req.key, "teacher_error", detail=f"{res.error} | raw: {res.text[:500]}")
            continue
        probe = Example.model_construct(input=res.text, output=t.object, instruction="")
        missing = grounding_failures(probe, fields)
        if missing:
            rejects(req.key, "ungrounded", detail=f"text misses {', '.join(missing)} | raw: {res.text[:300]}")
            continue
        add(res.text, t, "teacher", req.key, res.text)
    return tasks
