"""Self-Instruct generation: few-shot prompts from the seeds ask the teacher for new tasks (the
answers come from generators/answers.py, as for every strategy).

As in the paper (`grow_tasks`), tasks are asked for in rounds: accepted tasks join the few-shot
pool of later rounds (one shot in four), and a new task is kept only if it is novel against the
whole pool (ROUGE-L below `generate.novelty_threshold`).

A new task is asked for under structured output: a pydantic `NewTask`. What the teacher writes
travels with each task (raw completion, request key) so any row can be traced back.

    tasks = write_tasks(seeds, Plan("self_instruct", 40), env)
"""

from __future__ import annotations

import json
import random

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seedfactory.generators.plan import Env, Plan, TaskDraft
from seedfactory.schemas import (
    GenerationRequest,
    GenerationResult,
    Message,
    RejectLog,
    Sampling,
    SeedExample,
    stable_hash,
)
from seedfactory.schemas.config import GenerateConfig, ModelConfig

STRATEGY = "self_instruct"
USES_PERSONAS = True  # topics and personas take turns leading the task requests


class NewTask(BaseModel):
    # Lengths are capped (and task requests get at least 512 tokens) so a whole task fits: structured
    # output cannot close a JSON object that max_tokens has already cut off.
    model_config = ConfigDict(extra="forbid")
    instruction: str = Field(min_length=3, max_length=160)
    input: str = Field("", max_length=360)


TASK_SCHEMA = NewTask.model_json_schema()


def task_schema(seeds: list[SeedExample]) -> dict:
    """The new-task schema; when every seed has an input, a new task must have one too."""
    schema = json.loads(json.dumps(TASK_SCHEMA))
    if seeds and all(s.input.strip() for s in seeds):
        schema["properties"]["input"]["minLength"] = min(10, min(len(s.input.strip()) for s in seeds))
        schema["required"] = ["instruction", "input"]
    return schema

TASK_SYSTEM = ("You write new examples for a dataset. Each example is an instruction and an input. "
               "New examples must be of the same kind as the ones shown, but about something new.")


def _show(seed: SeedExample, n: int) -> str:
    return f"Example {n}\nInstruction: {seed.instruction}\nInput: {seed.input or '(none)'}"


def task_requests(seeds: list[SeedExample], teacher: ModelConfig, cfg: GenerateConfig, seed: int,
                  start: int = 0, machine: list[SeedExample] = (),
                  personas: list[str] = ()) -> list[tuple[GenerationRequest, list[str]]]:
    """`num_tasks` few-shot prompts (numbered from `start`), each from a different random draw of
    `shots` seeds; with `machine` tasks (the growing pool), one shot in four is one of them.

    Topics (the seeds', then `generate.topics`) and `personas` are strata: prompt i leads with a
    seed of the i-th topic in turn (any seed for a config topic no seed has, and the prompt names
    it) and is written by or for the i-th persona in turn, so every stratum gets its share.
    """
    return [(req, ids) for req, ids, _ in stratified_task_requests(seeds, teacher, cfg, seed, start, machine, personas)]


def stratified_task_requests(seeds: list[SeedExample], teacher: ModelConfig, cfg: GenerateConfig, seed: int,
                             start: int = 0, machine: list[SeedExample] = (), personas: list[str] = ()
                             ) -> list[tuple[GenerationRequest, list[str], tuple[str | None, str | None]]]:
    """`task_requests` with each request's (topic, persona)."""
    from seedfactory.generators.personas import all_topics, persona_line, stratum

    by_topic: dict[str, list[SeedExample]] = {}
    for s in seeds:
        if s.topic:
            by_topic.setdefault(s.topic, []).append(s)
    topics = all_topics(sorted(by_topic), cfg)
    schema = task_schema(seeds)
    out = []
    for i in range(start, start + cfg.num_tasks):
        rng = random.Random(f"{seed}:task:{i}")
        k_machine = min(max(1, cfg.shots // 4), len(machine)) if machine else 0
        k = min(cfg.shots - k_machine, len(seeds))
        topic, persona = stratum(i, topics, list(personas))
        if topic is not None:
            lead = rng.choice(by_topic.get(topic) or seeds)
            shots = [lead] + rng.sample([s for s in seeds if s is not lead], k - 1)
            rng.shuffle(shots)
        else:
            shots = rng.sample(seeds, k)
        if k_machine:  # the paper's mix: mostly human seeds, some accepted machine tasks
            shots += rng.sample(list(machine), k_machine)
            rng.shuffle(shots)
        body = "\n\n".join(_show(s, n) for n, s in enumerate(shots, start=1))
        about = f" about {topic}" if topic is not None and topic not in by_topic else ""
        user = (f"{body}\n\nWrite Example {len(shots) + 1}: a new instruction and a new input of the same kind{about}, "
                f"different from the examples above.{persona_line(persona)} Reply as JSON with keys \"instruction\" "
                "and \"input\".")
        req = GenerationRequest(
            model=teacher.model, purpose="task", response_schema=schema,
            messages=[Message(role="system", content=TASK_SYSTEM), Message(role="user", content=user)],
            sampling=Sampling(temperature=cfg.task_temperature, top_p=teacher.top_p,
                              max_tokens=cfg.task_max_tokens, seed=seed * 100_003 + i))
        out.append((req, [s.id for s in shots], (topic, persona)))
    return out


def parse_tasks(pairs: list[tuple[GenerationRequest, list[str]]], results: list[GenerationResult],
                reject: RejectLog) -> list[TaskDraft]:
    """Parse replies into tasks; unparseable or repeated ones go to `reject(id, reason, detail=...)`."""
    drafts, seen = [], {}
    for (req, seed_ids), res in zip(pairs, results):
        if res.error is not None:
            reject(req.key, "teacher_error", detail=f"{res.error} | raw: {res.text[:500]}")
            continue
        try:
            task = NewTask.model_validate_json(res.text)
        except ValidationError as e:
            reject(req.key, "unparseable_task", detail=f"{e.errors()[0]['msg']} | raw: {res.text[:500]}")
            continue
        pid = stable_hash([task.instruction.strip(), task.input.strip()])
        if pid in seen:
            reject(req.key, "duplicate_task", detail=f"same task as request {seen[pid]}")
            continue
        seen[pid] = req.key
        drafts.append(TaskDraft(prompt_id=pid, instruction=task.instruction.strip(), input=task.input.strip(),
                                seed_ids=seed_ids, request_key=req.key, raw=res.text))
    return drafts


def grow_tasks(seeds: list[SeedExample], ask, teacher: ModelConfig, cfg: GenerateConfig, seed: int,
               reject: RejectLog, personas: list[str] = ()) -> list[TaskDraft]:
    """Self-Instruct as in the paper: rounds of `generate.pool_round` task requests; accepted tasks
    join the few-shot pool of later rounds; a task is kept only if its ROUGE-L against every task
    in the pool (seeds included) is below `generate.novelty_threshold`, else it is rejected
    `not_novel`, naming the nearest task and the similarity. Each task records its topic and persona."""
    from seedfactory.generators.novelty import most_similar, tokens

    pool = [tokens(f"{s.instruction} {s.input}") for s in seeds]
    pool_ids = [s.id for s in seeds]
    machine: list[SeedExample] = []
    drafts: list[TaskDraft] = []
    for start in range(0, cfg.num_tasks, cfg.pool_round):
        part = cfg.model_copy(update={"num_tasks": min(cfg.pool_round, cfg.num_tasks - start)})
        triples = stratified_task_requests(seeds, teacher, part, seed, start, machine, personas)
        pairs = [(req, ids) for req, ids, _ in triples]
        strata = {req.key: {"topic": t, "persona": p} for req, _, (t, p) in triples}
        for d in parse_tasks(pairs, ask([r for r, _ in pairs]), reject):
            d = d.model_copy(update=strata[d.request_key])
            score, where = most_similar(f"{d.instruction} {d.input}", pool)
            if score >= cfg.novelty_threshold:
                reject(d.request_key, "not_novel", similarity=round(score, 3), dup_of=pool_ids[where],
                       detail=f"ROUGE-L {score:.2f} >= generate.novelty_threshold={cfg.novelty_threshold}")
                continue
            drafts.append(d)
            pool.append(tokens(f"{d.instruction} {d.input}"))
            pool_ids.append(d.prompt_id)
            machine.append(SeedExample(id=d.prompt_id, instruction=d.instruction, input=d.input, output=""))
    return drafts


def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): `plan.tasks` novel tasks, grown in rounds."""
    return grow_tasks(seeds, env.ask, env.teacher, env.part(plan), env.seed, env.rejects, env.personas)
