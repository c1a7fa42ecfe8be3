"""Input variation: for seed sets whose examples share one task (an instruction, or a few wordings of
it, applied to many inputs). The user's instruction is kept; the teacher writes new inputs in the
image of the seed inputs, one stratum at a time (each topic in turn, the seeds' and `generate.topics`,
each persona in turn when there are personas, with a variation such as "a short one" or "an unusual
case"), and later answers them like any task.

    pairs = input_requests(seeds, teacher, cfg, seed=0, personas=["a retired teacher"])  # (request, TaskSpec)
    drafts = parse_inputs(pairs, backend.generate([r for r, _ in pairs]), rejects)
    drafts = write_tasks(seeds, Plan("input_variation", 40), env)   # both steps (generators/plan.py)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from seedfactory.generators.plan import Env, Plan, TaskDraft, reply_field
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

STRATEGY = "input_variation"
USES_PERSONAS = True  # topics and personas take turns leading the input requests

VARIATIONS = ["a typical one", "a short one", "a longer one with more detail", "an informal one",
              "one with an unusual or tricky case", "one from a different kind of person"]


@dataclass
class TaskSpec:
    instruction: str
    seed_ids: list[str]
    topic: str | None
    variation: str
    persona: str | None = None


def input_schema(seeds: list[SeedExample]) -> dict:
    lengths = [len(s.input.strip()) for s in seeds if s.input.strip()]
    return {"type": "object", "properties": {"input": {
        "type": "string", "minLength": max(1, min(lengths) // 2), "maxLength": 2 * max(lengths)}},
        "required": ["input"], "additionalProperties": False}


def input_requests(seeds: list[SeedExample], teacher: ModelConfig, cfg: GenerateConfig,
                   seed: int, personas: list[str] = ()) -> list[tuple[GenerationRequest, TaskSpec]]:
    """`num_tasks` requests for new inputs; topics and personas take turns leading, variations cycle.
    A config topic no seed has is led by any seed, and the prompt names it."""
    from seedfactory.generators.personas import all_topics, persona_line, stratum

    by_topic: dict[str, list[SeedExample]] = {}
    for s in seeds:
        by_topic.setdefault(s.topic or "", []).append(s)
    topics = all_topics(sorted(by_topic), cfg)
    schema = input_schema(seeds)
    out = []
    for i in range(cfg.num_tasks):
        rng = random.Random(f"{seed}:input:{i}")
        topic, persona = stratum(i, topics, list(personas))
        lead = rng.choice(by_topic.get(topic) or seeds)
        others = [s for s in seeds if s is not lead]
        shots = [lead] + rng.sample(others, min(cfg.shots - 1, len(others)))
        variation = VARIATIONS[(i // len(topics)) % len(VARIATIONS)]
        shown = "\n\n".join(f"Input {n}:\n{s.input}" for n, s in enumerate(shots, start=1))
        about = f" about {topic}" if topic else ""
        user = (f"Task: {lead.instruction}\n\nInputs for this task:\n\n{shown}\n\nWrite one new input for the "
                f"same task{about}: {variation}, with new details, different from the inputs above."
                f"{persona_line(persona)} Reply as JSON: {{\"input\": \"...\"}}.")
        req = GenerationRequest(
            model=teacher.model, purpose="input", response_schema=schema,
            messages=[Message(role="system", content="You write realistic new inputs for a dataset."),
                      Message(role="user", content=user)],
            sampling=Sampling(temperature=cfg.task_temperature, top_p=teacher.top_p,
                              max_tokens=teacher.max_tokens, seed=seed * 100_003 + i))
        out.append((req, TaskSpec(lead.instruction, [s.id for s in shots], topic or None, variation, persona)))
    return out


def parse_inputs(pairs: list[tuple[GenerationRequest, TaskSpec]], results: list[GenerationResult],
                 reject: RejectLog) -> list[TaskDraft]:
    drafts, seen = [], {}
    for (req, spec), res in zip(pairs, results):
        text = reply_field(req, res, "input", reject)
        if text is None:
            continue
        pid = stable_hash([spec.instruction.strip(), text])
        key = " ".join(text.casefold().split())  # one input under two wordings of the instruction is one task
        if not text or key in seen:
            reject(req.key, "duplicate_task" if text else "unparseable_task",
                   detail=f"same input as request {seen[key]}" if text else "empty input")
            continue
        seen[key] = req.key
        drafts.append(TaskDraft(prompt_id=pid, instruction=spec.instruction, input=text, seed_ids=spec.seed_ids,
                                request_key=req.key, raw=res.text, strategy=STRATEGY, topic=spec.topic,
                                persona=spec.persona))
    return drafts


def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): `plan.tasks` new inputs for the seeds' task."""
    pairs = input_requests(seeds, env.teacher, env.part(plan), env.seed, env.personas)
    return parse_inputs(pairs, env.ask([r for r, _ in pairs]), env.rejects)
