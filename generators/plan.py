"""What every generation strategy is given and returns: a `Plan` (its share of the run), an `Env`
(the teacher, the config, the reject log, ...) and a list of `TaskDraft`s.

A strategy is one module of this package with one entry point,

    def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]

and a `USES_PERSONAS` flag; generators/strategies.py finds it by the name in the config's
`StrategyName` literal, so adding a strategy is its module plus that literal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from seedfactory.schemas import GenerationRequest, GenerationResult, RejectLog, Turn
from seedfactory.schemas.config import GenerateConfig, ModelConfig

Ask = Callable[[list[GenerationRequest]], list[GenerationResult]]


class TaskDraft(BaseModel):
    """A task to answer (an instruction and an input), with where it came from. Output-first tasks
    carry the `target` their input was written for: their label, right by construction."""

    prompt_id: str
    instruction: str
    input: str
    seed_ids: list[str]
    request_key: str
    raw: str
    strategy: str = "self_instruct"
    target: dict | None = None
    topic: str | None = None  # the strata the task was written for (see generators/personas.py)
    persona: str | None = None
    history: list[Turn] = []  # a conversation's turns before this task's user turn (generators/conversation.py)
    source: dict | None = None  # label_pool: the pool input's file, page or row, character span


@dataclass(frozen=True)
class Plan:
    """One strategy's part of a run: its name, how many tasks it writes, the share of the mix."""

    name: str
    tasks: int
    share: float = 1.0


@dataclass
class Env:
    """What a strategy may use: `ask` sends requests to the teacher (batched, cached), `rejects`
    records what it drops, `schema` is the seed set's output schema (None for free text), `personas`
    the run's strata (generators/personas.py), `kinds` the output fields' kinds (validators/kinds.py)."""

    ask: Ask
    teacher: ModelConfig
    cfg: GenerateConfig
    seed: int
    rejects: RejectLog
    schema: dict | None = None
    personas: list[str] = field(default_factory=list)
    kinds: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)  # figures a strategy reports for the stage's stats
    pool: list = field(default_factory=list)  # the user's unlabelled inputs (generators/pool.py PoolItem)

    def part(self, plan: Plan) -> GenerateConfig:
        """The generate config with `num_tasks` set to this strategy's share."""
        return self.cfg.model_copy(update={"num_tasks": plan.tasks})


def reply_field(req: GenerationRequest, res: GenerationResult, key: str, reject: RejectLog) -> str | None:
    """The stripped `key` of a teacher's JSON reply to a task request, or None once the failed or
    unparseable reply is in the rejects (`teacher_error`, `unparseable_task`, with its raw text)."""
    if res.error is not None:
        reject(req.key, "teacher_error", detail=f"{res.error} | raw: {res.text[:500]}")
        return None
    try:
        return str(json.loads(res.text)[key]).strip()
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        reject(req.key, "unparseable_task", detail=f"{type(e).__name__}: {e} | raw: {res.text[:500]}")
        return None
