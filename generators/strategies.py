"""Which generation strategy fits a seed set, and the registry of strategies.

    auto -> tool_calls       when the seed set declares tools (NAME.tools.json: its outputs are calls)
         -> conversation     when a seed is a conversation with earlier turns
         -> label_pool       when the run has a pool (seeds.pool) and the seed set an output schema
         -> document_qa      when the run has a pool and no schema (questions and answers from its chunks)
         -> output_first     when the seed set declares an output schema (structured outputs)
         -> input_variation  when every seed has an input (one task applied to many inputs)
         -> self_instruct    otherwise (a pool of different instructions)

`generate.strategy` overrides the choice with one name (`evol_instruct` too: harder and new
rewrites of the seeds, round after round) or a mix `{name: share}`; every task and row names the
strategy that made it in its lineage, and its topic and persona (see generators/personas.py: the
strata of the strategies whose `USES_PERSONAS` is set; an output-first task's topic is its base
seed's).

A strategy is the module `seedfactory.generators.<name>` for each name of the config's
`StrategyName` literal, with `write_tasks(seeds, plan, env)` (generators/plan.py): the registry
below is built from the literal, so a new strategy is its module plus the literal.

Every strategy's request list is prefix-stable: request i is the same whether `num_tasks` is k or
N > k, so the sample `seedfactory run --dry-run` pays for is the start of the real run (cached).

    mix = choose(seeds, schema, cfg.strategy)                    # {"output_first": 1.0}
    env = Env(ask, teacher, cfg, seed, rejects, schema)
    env.personas = strata_personas(mix, seeds, env)
    tasks = write_tasks(mix, seeds, env)
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import get_args

from seedfactory.generators.personas import resolve_personas
from seedfactory.generators.plan import Env, Plan, TaskDraft
from seedfactory.schemas import SeedExample
from seedfactory.schemas.config import StrategyName
from seedfactory.schemas.tools import tools_of


def strategy(name: str) -> ModuleType:
    """The strategy module of a name in the config's `StrategyName` literal."""
    if name not in get_args(StrategyName):
        raise ValueError(f"generate.strategy: unknown strategy {name!r} (one of {', '.join(get_args(StrategyName))})")
    return importlib.import_module(f"seedfactory.generators.{name}")


def choose(seeds: list[SeedExample], schema: dict | None, setting, pool: bool = False) -> dict[str, float]:
    """The strategy mix, shares summing to 1 (`pool`: the run has pool inputs to label)."""
    if isinstance(setting, dict):
        total = sum(setting.values())
        if total <= 0:
            raise ValueError("generate.strategy: the shares of a mix must add up to more than 0")
        return {k: v / total for k, v in setting.items() if v > 0}
    if setting != "auto":
        return {setting: 1.0}
    if tools_of(schema):
        return {"tool_calls": 1.0}
    if any(s.history for s in seeds):
        return {"conversation": 1.0}
    if pool:
        return {"label_pool": 1.0} if schema is not None else {"document_qa": 1.0}
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


def strata_personas(mix: dict[str, float], seeds: list[SeedExample], env: Env) -> list[str]:
    """The run's personas (`generate.personas`), drafted by the teacher only when `auto` and a
    strategy of the mix uses them (output-first texts are written for a target, not a person)."""
    if not any(strategy(name).USES_PERSONAS for name in mix):
        return []
    return resolve_personas(seeds, env.ask, env.teacher, env.cfg, env.seed, env.rejects)


def write_tasks(mix: dict[str, float], seeds: list[SeedExample], env: Env) -> list[TaskDraft]:
    """Each strategy's share of `generate.num_tasks`, written by its module."""
    tasks: list[TaskDraft] = []
    for name, n in _split(env.cfg.num_tasks, mix).items():
        if n > 0:
            tasks += strategy(name).write_tasks(seeds, Plan(name, n, mix[name]), env)
    return tasks
