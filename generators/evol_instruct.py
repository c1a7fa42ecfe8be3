"""Evol-Instruct (Xu et al. 2023, WizardLM): tasks rewritten into harder ones (in depth) or into new
ones of the same domain (in breadth), round after round, with the paper's elimination checks.

Each round asks `generate.pool_round` rewrites of tasks drawn from the pool (the seeds, then the
evolved tasks accepted so far, so a task can evolve several times). Operations cycle: the four
in-depth ones (add a constraint, deepen, concretize, ask for more reasoning steps) and in-breadth;
an in-breadth rewrite is asked about each topic in turn (the seeds' and `generate.topics`) and
written by or for each persona in turn (`generate.personas`): topics and personas as strata. An
in-depth rewrite keeps its base's topic and persona.
Eliminated, each with its reason:
- `evol_no_gain`: the rewrite is barely changed from its base (ROUGE-L >= novelty_threshold; the
  paper asks ChatGPT whether the two are equal, this is the cheap stand-in);
- `evol_copied_prompt`: the rewrite copies the rewriting prompt's words ("#Rewritten Prompt#");
- after answering (`eliminate_responses`): `evol_unanswerable`, an answer that says "sorry" in
  under 80 words, and `evol_empty_response`, an answer of punctuation and stop words only.
Every task and row names `evol_instruct:<operation>` as its strategy.
"""

from __future__ import annotations

import random
import re

from seedfactory.generators.novelty import rouge_l, tokens
from seedfactory.generators.personas import all_topics, persona_line, stratum
from seedfactory.generators.plan import Env, Plan, TaskDraft
from seedfactory.generators.self_instruct import parse_tasks, task_schema
from seedfactory.schemas import Example, GenerationRequest, Message, RejectLog, Sampling, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig

STRATEGY = "evol_instruct"
USES_PERSONAS = True  # in-breadth rewrites take topics and personas in turn

DEPTH = {
    "add_constraints": "Add one more constraint or requirement to #The Given Prompt#.",
    "deepen": "If #The Given Prompt# asks about certain issues, increase the depth and breadth of the inquiry.",
    "concretize": "Replace general concepts in #The Given Prompt# with more specific concepts.",
    "reasoning": "If #The Given Prompt# can be solved with a few simple thinking steps, rewrite it to ask "
                 "explicitly for multiple-step reasoning.",
}
OPERATIONS = [*DEPTH, "breadth"]
DEPTH_PROMPT = ("I want you to act as a Prompt Rewriter. Rewrite #The Given Prompt# into a more complex version "
                "that is still reasonable and can be understood and answered by humans. Keep its input text, "
                "changing it only where the method needs. Method: {method} Add only 10 to 20 words; do not "
                "mention '#The Given Prompt#' or '#Rewritten Prompt#'.")
BREADTH_PROMPT = ("I want you to act as a Prompt Creator. Draw inspiration from #The Given Prompt# to create a "
                  "brand new prompt in the same domain{about}, but rarer. Its length and complexity should be "
                  "similar to #The Given Prompt#. Do not mention '#The Given Prompt#' or '#Created Prompt#'.")
COPIED = re.compile(r"given prompt|rewritten prompt|created prompt|#\w+ prompt#", re.IGNORECASE)
STOP = set("a an the and or but of to in on at for with by is are was were be it this that these those i you he "
           "she we they as from not no yes".split())


def _given(task: SeedExample) -> str:
    return f"#The Given Prompt#:\nInstruction: {task.instruction}\nInput: {task.input or '(none)'}"


def breadth_stratum(i: int, topics: list[str], personas: list[str]) -> tuple[str | None, str | None]:
    """(topic, persona) of request i when it is an in-breadth one: they take turns over those requests."""
    return stratum(i // len(OPERATIONS), topics, personas)


def evolve_requests(pool: list[SeedExample], topics: list[str], teacher: ModelConfig, cfg: GenerateConfig,
                    seed: int, start: int, schema: dict,
                    personas: list[str] = ()) -> list[tuple[GenerationRequest, SeedExample, str]]:
    out = []
    for i in range(start, start + cfg.num_tasks):
        rng = random.Random(f"{seed}:evol:{i}")
        base, op = rng.choice(pool), OPERATIONS[i % len(OPERATIONS)]
        if op == "breadth":
            topic, persona = breadth_stratum(i, topics, list(personas))
            about = f", about {topic}" if topic else ""
            system = BREADTH_PROMPT.format(about=about) + persona_line(persona)
        else:
            system = DEPTH_PROMPT.format(method=DEPTH[op])
        user = f"{_given(base)}\n\nReply as JSON with keys \"instruction\" and \"input\"."
        req = GenerationRequest(
            model=teacher.model, purpose=f"evol:{op}", response_schema=schema,
            messages=[Message(role="system", content=system), Message(role="user", content=user)],
            sampling=Sampling(temperature=cfg.task_temperature, top_p=teacher.top_p,
                              max_tokens=cfg.task_max_tokens, seed=seed * 100_019 + i))
        out.append((req, base, op))
    return out


def evolve_tasks(seeds: list[SeedExample], ask, teacher: ModelConfig, cfg: GenerateConfig, seed: int,
                 reject: RejectLog, personas: list[str] = ()) -> list[TaskDraft]:
    """`num_tasks` evolutions in rounds; accepted ones join the pool (see the module doc)."""
    pool = list(seeds)
    seed_ids = {s.id: [s.id] for s in seeds}  # an evolved task's lineage goes back to its seed
    persona_of: dict[str, str | None] = {}  # an in-depth rewrite keeps its base's persona
    topics = all_topics(sorted({s.topic for s in seeds if s.topic}), cfg)
    schema = task_schema(seeds)
    drafts: list[TaskDraft] = []
    for start in range(0, cfg.num_tasks, cfg.pool_round):
        part = cfg.model_copy(update={"num_tasks": min(cfg.pool_round, cfg.num_tasks - start)})
        triples = evolve_requests(pool, topics, teacher, part, seed, start, schema, personas)
        index = {req.key: i for i, (req, _, _) in enumerate(triples, start=start)}
        pairs = [(req, seed_ids[base.id]) for req, base, _ in triples]
        parsed = {d.request_key: d for d in parse_tasks(pairs, ask([r for r, _ in pairs]), reject)}
        for req, base, op in triples:
            d = parsed.get(req.key)
            if d is None:
                continue  # rejected by parse_tasks with its reason
            new = f"{d.instruction} {d.input}"
            if COPIED.search(new):
                reject(req.key, "evol_copied_prompt", detail=f"copies the rewriting prompt | raw: {d.raw[:300]}")
                continue
            score = rouge_l(tokens(f"{base.instruction} {base.input}"), tokens(new))
            if score >= cfg.novelty_threshold:
                reject(req.key, "evol_no_gain", similarity=round(score, 3), dup_of=base.id,
                       detail=f"ROUGE-L {score:.2f} to its base >= generate.novelty_threshold={cfg.novelty_threshold}")
                continue
            topic, persona = (breadth_stratum(index[req.key], topics, list(personas)) if op == "breadth"
                              else (base.topic, persona_of.get(base.id)))
            drafts.append(d.model_copy(update={"strategy": f"{STRATEGY}:{op}", "topic": topic, "persona": persona}))
            seed_ids[d.prompt_id] = seed_ids[base.id]
            persona_of[d.prompt_id] = persona
            pool.append(SeedExample(id=d.prompt_id, instruction=d.instruction, input=d.input, output="",
                                    topic=topic))
    return drafts


def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): `plan.tasks` evolutions of the seeds."""
    return evolve_tasks(seeds, env.ask, env.teacher, env.part(plan), env.seed, env.rejects, env.personas)


def eliminate_responses(rows: list[Example], reject: RejectLog) -> list[Example]:
    """The paper's answer-side checks, for rows of evolved tasks only."""
    kept = []
    for r in rows:
        if r.lineage.strategy.startswith(STRATEGY) and isinstance(r.output, str):
            words = tokens(r.output)
            if "sorry" in words and len(words) < 80:
                reject(r, "evol_unanswerable", detail="the answer apologises in under 80 words: the task is too hard")
                continue
            if not [w for w in words if w not in STOP]:
                reject(r, "evol_empty_response", detail="the answer is only punctuation and stop words")
                continue
        kept.append(r)
    return kept

