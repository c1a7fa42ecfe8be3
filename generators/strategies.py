"""Which generation strategy fits a seed set, and the task-writing step of each.

    auto -> output_first     when the seed set declares an output schema (structured outputs)
         -> input_variation  when every seed has an input (one task applied to many inputs)
         -> self_instruct    otherwise (a pool of different instructions)

`generate.strategy` overrides the choice with one name (`evol_instruct` too: harder and new
rewrites of the seeds, round after round) or a mix `{name: share}`; every task and row names the
strategy that made it in its lineage, and its topic and persona (see generators/personas.py: the
strata of input_variation, self_instruct and evol_instruct; an output-first task's topic is its
base seed's).

Every strategy's request list is prefix-stable: request i is the same whether `num_tasks` is k or
N > k, so the sample `seedfactory run --dry-run` pays for is the start of the real run (cached).

    plan = choose(seeds, schema, cfg.strategy)                   # {"output_first": 1.0}
    personas = strata_personas(plan, seeds, ask, teacher, cfg, seed, rejects)
    tasks = write_tasks(plan, seeds, schema, ask, teacher, cfg, seed, rejects, personas)
"""

from __future__ import annotations

import random
from collections.abc import Callable

from seedfactory.generators import evol_instruct, input_variation, output_first, self_instruct
from seedfactory.generators.personas import resolve_personas
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
    """Tasks per strategy, dealt one at a time to the strategy furthest below its share: each count is
    within one of its quota, and a strategy never gets fewer tasks in a larger run (so a dry run's
    sample of each strategy is the start of the real run's)."""
    counts = dict.fromkeys(plan, 0)
    for i in range(1, total + 1):
        counts[max(plan, key=lambda k: plan[k] * i - counts[k])] += 1
    return counts


PERSONA_STRATEGIES = {"input_variation", "self_instruct", "evol_instruct"}


def strata_personas(plan: dict[str, float], seeds: list[SeedExample], ask: Ask, teacher: ModelConfig,
                    cfg: GenerateConfig, seed: int, rejects: RejectLog) -> list[str]:
    """The run's personas (`generate.personas`), drafted by the teacher only when `auto` and a
    strategy of the plan uses them (output-first texts are written for a target, not a person)."""
    if not PERSONA_STRATEGIES & set(plan):
        return []
    return resolve_personas(seeds, ask, teacher, cfg, seed, rejects)


def write_tasks(plan: dict[str, float], seeds: list[SeedExample], schema: dict | None, ask: Ask,
                teacher: ModelConfig, cfg: GenerateConfig, seed: int, rejects: RejectLog,
                personas: list[str] | None = None) -> list[TaskDraft]:
    """Each strategy's share of `num_tasks`; `personas` (default: `strata_personas`) are strata."""
    if personas is None:
        personas = strata_personas(plan, seeds, ask, teacher, cfg, seed, rejects)
    tasks: list[TaskDraft] = []
    for name, n in _split(cfg.num_tasks, plan).items():
        if n == 0:
            continue
        part = cfg.model_copy(update={"num_tasks": n})
        if name == "self_instruct":
            tasks += self_instruct.grow_tasks(seeds, ask, teacher, part, seed, rejects, personas)
        elif name == "evol_instruct":
            tasks += evol_instruct.evolve_tasks(seeds, ask, teacher, part, seed, rejects, personas)
        elif name == "input_variation":
            pairs = input_variation.input_requests(seeds, teacher, part, seed, personas)
            tasks += input_variation.parse_inputs(pairs, ask([r for r, _ in pairs]), rejects)
        elif name == "output_first":
            if schema is None:
                raise ValueError("generate.strategy=output_first needs an output schema (seeds.schema)")
            tasks += output_first_tasks(seeds, schema, ask, teacher, part, seed, rejects)
        else:
            raise ValueError(f"generate.strategy: unknown strategy {name!r}")
    return tasks


def prefix_stable_targets(seeds: list[SeedExample], schema: dict, name_fields: list[str], ask: Ask,
                          teacher: ModelConfig, cfg: GenerateConfig, seed: int) -> list[output_first.Target]:
    """`num_tasks` targets whose first k are the same for any `num_tasks` >= k (see output_first's doc):
    the b-th block of NAME_BLOCK targets draws its names from name requests 0..max(1, b) and the first
    NAME_BLOCK * (b + 1) recombined names, never from requests a shorter run would not send."""
    of = output_first
    outputs = [s.output for s in seeds if isinstance(s.output, dict)]
    blocks = -(-cfg.num_tasks // of.NAME_BLOCK)
    examples, proposals, recombined = {}, {}, {}
    for f in name_fields:
        examples[f] = sorted({o[f] for o in outputs if o.get(f)})
        reqs = [of.name_request(f, random.Random(f"{seed}:{f}:{i}").sample(examples[f], min(5, len(examples[f]))),
                                teacher, cfg, seed * 1000 + i) for i in range(max(2, blocks))]
        proposals[f] = [r.text if r.error is None else "" for r in ask(reqs)]
        recombined[f] = of.recombine_names(examples[f], random.Random(f"{seed}:names:{f}"), of.NAME_BLOCK * blocks)
    targets = []
    for b in range(blocks):
        names = {f: of.parse_names(proposals[f][: max(2, b + 1)], examples[f])
                 + recombined[f][: of.NAME_BLOCK * (b + 1)] for f in name_fields}
        n = min(of.NAME_BLOCK, cfg.num_tasks - b * of.NAME_BLOCK)
        targets += of.draw_targets(seeds, schema, n, f"{seed}:targets", names, start=b * of.NAME_BLOCK)
    return targets


def output_first_tasks(seeds: list[SeedExample], schema: dict, ask: Ask, teacher: ModelConfig,
                       cfg: GenerateConfig, seed: int, rejects: RejectLog) -> list[TaskDraft]:
    """Targets, then a template text and teacher texts per target; a teacher text that does not state
    every value of its target leaves here (`ungrounded`), before anyone pays to answer it."""
    of = output_first
    outputs = [s.output for s in seeds if isinstance(s.output, dict)]
    name_fields = [f for f in span_fields(schema, outputs)
                   if all(isinstance(o.get(f), str) for o in outputs if o.get(f) is not None)
                   and not of._is_id([o[f] for o in outputs if o.get(f)])]
    targets = prefix_stable_targets(seeds, schema, name_fields, ask, teacher, cfg, seed)
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
                               request_key=request_key, raw=raw, strategy=f"{of.STRATEGY}:{kind}", target=t.object,
                               topic=by_id[t.base_id].topic))

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
