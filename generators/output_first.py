"""Output-first generation for structured seed sets (after SynthIE, Josifoski et al. 2023): draw a
target object that is valid under the schema first, then get a text that states exactly its values.
Writing text for a given structure is the easy direction for a small teacher, and the label is right
by construction once the grounding check confirms the text carries every value.

Targets come from generators/targets.py (a base seed's object with new values). Each target gets one
text written by code and `texts_per_target` texts written by the teacher:

- template (generators/template.py): the base seed's own input with its values replaced, written the
  way the seed wrote them. Every train seed serves `generate.template_uses` times (or the run names
  the value the finder could not locate in it, in stats `seeds_templated`).
- rewrite (generators/delex.py): a layout the teacher wrote from the seed's slotted text, filled with
  the target's values in common written forms of their kinds. New wording, grounded by construction.
  Once a seed has served as a template `template_uses` times, its targets take its rewrites in turn.
- teacher: the teacher restyles the code-written text, or (no such text) writes one from the fields
  few-shot; the grounding check keeps those that state every value.

    tasks = write_tasks(seeds, Plan("output_first", 64), env)     # env.notes gets the figures
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter

from seedfactory.generators import delex
from seedfactory.generators.plan import Env, Plan, TaskDraft
from seedfactory.generators.targets import Target, name_fields_of, prefix_stable_targets
from seedfactory.generators.template import template_text
from seedfactory.generators.waste import adaptive_share, first_share, kept_counts
from seedfactory.schemas import Example, GenerationRequest, Message, Sampling, SeedExample, stable_hash
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.validators.quality import grounding_failures, span_fields

STRATEGY = "output_first"
USES_PERSONAS = False  # texts are written for a target, not a person

TEXT_SYSTEM = ("You write realistic texts for a dataset. Given the field values, write the text in the style of "
               "the earlier ones. State every value exactly as given; add nothing that contradicts them.")
RESTYLE_SYSTEM = ("You rewrite texts. Keep every name, number, amount, date and time exactly as written; change the "
                  "layout, the wording and the other details.")


def _fields_prompt(obj: dict) -> str:
    return "Write the text for these fields:\n" + json.dumps(obj, ensure_ascii=False)


def text_requests(targets: list[Target], drafts: list[str | None], seeds: list[SeedExample], teacher: ModelConfig,
                  cfg: GenerateConfig, seed: int) -> list[tuple[GenerationRequest, int]]:
    """`texts_per_target` teacher texts per target. A target with a code-written draft asks the teacher
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
                f"Rewrite this text as {delex.STYLES[i % len(delex.STYLES)]}. Keep every name, number, date and "
                f"time exactly as written.\n\n{draft}"))]
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


def rewrite_layouts(seeds: list[SeedExample], fields: list[str], env: Env) -> tuple[dict, dict, dict, Counter]:
    """Each train seed's slotted text (or why it has none), and the teacher's rewrites kept as layouts."""
    slotted, unreadable = {}, {}
    for s in seeds:
        got = delex.delexicalise(s.input, s.output, fields, env.kinds)
        if isinstance(got, delex.Unreadable):
            unreadable[s.id] = got.why
        else:
            slotted[s.id] = got
    layouts: dict[str, list[str]] = {sid: [] for sid in slotted}
    dropped: Counter[str] = Counter()
    if env.cfg.rewrites_per_seed and slotted:
        by_id = {s.id: s for s in seeds}
        slots = env.cfg.rewrite_slots == "placeholders"
        sources = slotted if slots else {sid: by_id[sid].input for sid in slotted}
        pairs = delex.rewrite_requests(sources, env.teacher, env.cfg, env.seed, env.cfg.rewrites_per_seed, slots)
        for (req, sid), res in zip(pairs, env.ask([r for r, _ in pairs])):
            if res.error is not None:
                got = delex.Unreadable(f"teacher error {res.error}")
            elif slots:
                got = delex.parse_rewrite(res.text, slotted[sid], by_id[sid].output, env.kinds)
            else:
                got = delex.parse_copy(res.text, slotted[sid], by_id[sid].output, fields, env.kinds, by_id[sid].input)
            if isinstance(got, delex.Unreadable):
                dropped[re.sub(r"=.*|\d+ chars against.*", lambda m: "=..." if m.group(0)[0] == "=" else
                               "length out of range", got.why)] += 1  # one count per kind of failure
                env.rejects(req.key, "rewrite_unusable", detail=f"{got.why} | raw: {res.text[:300]}")
            elif got not in layouts[sid]:
                layouts[sid].append(got)
    return slotted, unreadable, layouts, dropped


def output_first_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """Targets, then one code-written text (template or rewrite) and teacher texts per target; a teacher
    text that does not state every value of its target leaves here (`ungrounded`), before anyone pays
    to answer it. Figures for the stats go to `env.notes`."""
    cfg, schema, seed = env.part(plan), env.schema, env.seed
    outputs = [s.output for s in seeds if isinstance(s.output, dict)]
    fields = span_fields(schema, outputs, env.kinds)
    targets = prefix_stable_targets(seeds, schema, name_fields_of(schema, outputs, env.kinds), env.ask, env.teacher,
                                    cfg, seed, env.kinds)
    slotted, unreadable, layouts, dropped = rewrite_layouts(seeds, fields, env)
    by_id = {s.id: s for s in seeds}
    instructions = sorted({s.instruction for s in seeds})
    tasks, seen = [], set()
    templated, uses = Counter(), Counter()

    def add(text: str, t: Target, kind: str, request_key: str, raw: str) -> bool:
        rng = random.Random(f"{seed}:instruction:{request_key}")
        instruction = by_id[t.base_id].instruction if kind == "template" else rng.choice(instructions)
        pid = stable_hash([instruction, text.strip()])
        if pid in seen:
            env.rejects(request_key, "duplicate_task", detail="same text as an earlier task")
            return False
        seen.add(pid)
        tasks.append(TaskDraft(prompt_id=pid, instruction=instruction, input=text.strip(), seed_ids=[t.base_id],
                               request_key=request_key, raw=raw, strategy=f"{STRATEGY}:{kind}", target=t.object,
                               topic=by_id[t.base_id].topic))
        return True

    drafts: list[str | None] = []
    for i, t in enumerate(targets):
        text, kind = None, None
        own = layouts.get(t.base_id, [])
        if t.templatable and own and templated[t.base_id] >= env.cfg.template_uses:
            filled = delex.fill_target(own[uses[t.base_id] % len(own)], t.object, by_id[t.base_id].output, fields,
                                       env.kinds, random.Random(f"{seed}:fill:{i}"))
            uses[t.base_id] += 1
            if not isinstance(filled, delex.Unreadable):
                text, kind = filled, "rewrite"
        if text is None and env.cfg.templates:
            text, kind = template_text(by_id[t.base_id], t, env.kinds), "template"
        drafts.append(text)
        if text is not None and add(text, t, kind, f"{kind}:{t.base_id}:{i}", text) and kind == "template":
            templated[t.base_id] += 1
    pairs = text_requests(targets, drafts, seeds, env.teacher, cfg, seed) if cfg.texts_per_target else []
    if pairs and env.cfg.min_keep_share > 0:  # asked less where the seeds' calibration says most would be thrown away
        share, why = adaptive_share(*calibrate_texts(seeds, fields, env, cfg), env.cfg.min_keep_share)
        pairs = first_share(pairs, share, cfg.texts_per_target)
        env.notes.setdefault("adaptive", {})[f"{STRATEGY}:teacher"] = {"asked_share": share, "reason": why}
    asked, kept = Counter({f"{STRATEGY}:teacher": len(pairs)}), Counter()
    for (req, i), res in zip(pairs, env.ask([r for r, _ in pairs])):
        t = targets[i]
        if res.error is not None:
            env.rejects(req.key, "teacher_error", detail=f"{res.error} | raw: {res.text[:500]}")
            continue
        probe = Example.model_construct(input=res.text, output=t.object, instruction="")
        missing = grounding_failures(probe, fields, env.kinds)
        if missing:
            env.rejects(req.key, "ungrounded", detail=f"text misses {', '.join(missing)} | raw: {res.text[:300]}")
            continue
        kept[f"{STRATEGY}:teacher"] += add(res.text, t, "teacher", req.key, res.text)
    asked[f"{STRATEGY}:rewrite"] = env.cfg.rewrites_per_seed * len(slotted)
    kept[f"{STRATEGY}:rewrite"] = sum(map(len, layouts.values()))
    env.notes.setdefault("requests_kept", {}).update(kept_counts(asked, kept))
    served = {sid for sid in by_id if templated[sid] or uses[sid]}
    env.notes["seeds_templated"] = {
        "used": len(served), "of": len(by_id),
        "not_used": {sid: unreadable.get(sid, "no target could be written into it") for sid in by_id
                     if sid not in served}}
    env.notes["rewrites"] = {"seeds": len(slotted), "layouts": sum(map(len, layouts.values())),
                             "dropped": dict(dropped.most_common())}
    return tasks


def calibrate_texts(seeds: list[SeedExample], fields: list[str], env: Env, cfg: GenerateConfig) -> tuple[int, int]:
    """(kept, asked): the teacher writes a text for each train seed's own object, in turn the two
    requests a target's text is (a restyle of the seed's own text, or a text from the fields), and
    the grounding check reads the reply against that object."""
    pool = [s for s in seeds if isinstance(s.output, dict) and s.input.strip()]
    own = [Target(object=s.output, base_id=s.id, factor=1.0) for s in pool]
    once = cfg.model_copy(update={"texts_per_target": 1})
    drafts = [s.input if i % 2 == 0 else None for i, s in enumerate(pool)]
    pairs = text_requests(own, drafts, seeds, env.teacher, once,
                          env.seed + 1)  # another sampling seed than the targets' own requests
    kept = 0
    for (_, i), res in zip(pairs, env.ask([r for r, _ in pairs])):
        probe = Example.model_construct(input=res.text, output=own[i].object, instruction="")
        kept += res.error is None and not grounding_failures(probe, fields, env.kinds)
    return kept, len(pairs)


def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): `plan.tasks` targets and their texts."""
    if env.schema is None:
        raise ValueError("generate.strategy=output_first needs an output schema (seeds.schema)")
    return output_first_tasks(seeds, plan, env)
