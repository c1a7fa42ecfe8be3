"""Which generation strategy fits a seed set, and the task-writing step of each.

    auto -> output_first     when the seed set declares an output schema (structured outputs)
         -> input_variation  when every seed has an input (one task applied to many inputs)
         -> self_instruct    otherwise (a pool of different instructions)

`generate.strategy` overrides the choice with one name (`evol_instruct` too: harder and new
rewrites of the seeds, round after round) or a mix `{name: share}`; every task and row names the
strategy that made it in its lineage.

    plan = choose(seeds, schema, cfg.strategy)                   # {"output_first": 1.0}
    tasks = write_tasks(plan, seeds, schema, ask, teacher, cfg, seed, rejects)
"""

from __future__ import annotations

import random
from collections.abc import Callable

from seedfactory.generators import evol_instruct, input_variation, output_first, self_instruct
from seedfactory.generators.self_instruct import TaskDraft
from seedfactory.schemas import Example, GenerationRequest, GenerationResult, RejectLog, SeedExample, stable_hash
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.validators.quality import grounding_failures, span_fields

Ask = Callable[[list[GenerationRequest]], list[GenerationResult]]


def choose(seeds: list[SeedExample], schema: dict | None, setting) -> dict[str, float]:
    """The strategy mix, shares summing to 1."""
    if isinstance(setting, dict):
        total = sum(setting.values())
        if total <= 0:
            raise ValueError("generate.strategy: the shares of a mix must add up to more than 0")
        return {k: v / total for k, v in setting.items() if v > 0}
    if setting != "auto":
        return {setting: 1.0}
    if schema is not None and all(isinstance(s.output, dict) for s in seeds):
        return {"output_first": 1.0}
    if all(s.input.strip() for s in seeds):
        return {"input_variation": 1.0}
    return {"self_instruct": 1.0}


def _split(total: int, plan: dict[str, float]) -> dict[str, int]:
    counts = {k: int(total * v) for k, v in plan.items()}
    for k in sorted(plan, key=lambda k: -(total * plan[k] - counts[k]))[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def write_tasks(plan: dict[str, float], seeds: list[SeedExample], schema: dict | None, ask: Ask,
                teacher: ModelConfig, cfg: GenerateConfig, seed: int, rejects: RejectLog) -> list[TaskDraft]:
    tasks: list[TaskDraft] = []
    for name, n in _split(cfg.num_tasks, plan).items():
        if n == 0:
            continue
        part = cfg.model_copy(update={"num_tasks": n})
        if name == "self_instruct":
            tasks += self_instruct.grow_tasks(seeds, ask, teacher, part, seed, rejects)
        elif name == "evol_instruct":
            tasks += evol_instruct.evolve_tasks(seeds, ask, teacher, part, seed, rejects)
        elif name == "input_variation":
            pairs = input_variation.input_requests(seeds, teacher, part, seed)
            tasks += input_variation.parse_inputs(pairs, ask([r for r, _ in pairs]), rejects)
        elif name == "output_first":
            if schema is None:
                raise ValueError("generate.strategy=output_first needs an output schema (seeds.schema)")
            tasks += output_first_tasks(seeds, schema, ask, teacher, part, seed, rejects)
        else:
            raise ValueError(f"generate.strategy: unknown strategy {name!r}")
    return tasks


def output_first_tasks(seeds: list[SeedExample], schema: dict, ask: Ask, teacher: ModelConfig,
                       cfg: GenerateConfig, seed: int, rejects: RejectLog) -> list[TaskDraft]:
    """Targets, then a template text and teacher texts per target; a teacher text that does not state
    every value of its target leaves here (`ungrounded`), before anyone pays to answer it."""
    of = output_first
    outputs = [s.output for s in seeds if isinstance(s.output, dict)]
    name_fields = [f for f in span_fields(schema, outputs)
                   if all(isinstance(o.get(f), str) for o in outputs if o.get(f) is not None)
                   and not of._is_id([o[f] for o in outputs if o.get(f)])]
    names: dict[str, list[str]] = {}
    for f in name_fields:
        examples = sorted({o[f] for o in outputs if o.get(f)})
        reqs = [of.name_request(f, random.Random(f"{seed}:{f}:{i}").sample(examples, min(5, len(examples))),
                                teacher, cfg, seed * 1000 + i) for i in range(max(2, cfg.num_tasks // 16))]
        proposed = of.parse_names([r.text for r in ask(reqs) if r.error is None], examples)
        names[f] = proposed + of.recombine_names(examples, random.Random(f"{seed}:names:{f}"), cfg.num_tasks)
    targets = of.draw_targets(seeds, schema, cfg.num_tasks, random.Random(f"{seed}:targets"), names)
    by_id = {s.id: s for s in seeds}
    instructions = sorted({s.instruction for s in seeds})
    fields = span_fields(schema, outputs)
    tasks, seen = [], set()

    def add(text: str, t: of.Target, kind: str, request_key: str, raw: str) -> None:
        rng = random.Random(f"{seed}:instruction:{request_key}")
        instruction = by_id[t.base_id].instruction if kind == "template" else rng.choice(instructions)
        pid = stable_hash([instruction, text.strip()])
        if pid in seen:
            rejects(request_key, "duplicate_task", detail="same text as an earlier task")
            return
        seen.add(pid)
        tasks.append(TaskDraft(prompt_id=pid, instruction=instruction, input=text.strip(), seed_ids=[t.base_id],
                               request_key=request_key, raw=raw, strategy=f"{of.STRATEGY}:{kind}", target=t.object))

    drafts = [of.template_text(by_id[t.base_id], t) for t in targets]
    if cfg.templates:
        for i, (t, text) in enumerate(zip(targets, drafts)):
            if text is not None:
                add(text, t, "template", f"template:{t.base_id}:{i}", text)
    pairs = of.text_requests(targets, drafts, seeds, teacher, cfg, seed) if cfg.texts_per_target else []
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
