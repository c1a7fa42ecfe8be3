"""Conversation: for seed sets of multi-turn chats (`messages` seeds with earlier turns). Each task is a
conversation and its next user turn, written by the teacher in the style of the seeds' user turns; the
answer step then has the teacher write the assistant turn with the whole conversation before it.

Tasks alternate between two moves on a lead seed (topics and personas take turns leading, as in
generators/input_variation.py; the persona is the user of that conversation):

- extend: the seed's whole conversation (its final answer included) and a new user turn after it, so
  the seed's turns reach the dataset as the new row's history;
- vary: the seed's turns before its last user turn, and a different last user turn in their place.

    tasks = write_tasks(seeds, Plan("conversation", 40), env)   # TaskDrafts with `history`
"""

from __future__ import annotations

import random

from seedfactory.generators.plan import Env, Plan, TaskDraft, reply_field
from seedfactory.schemas import (
    GenerationRequest,
    GenerationResult,
    Message,
    RejectLog,
    Sampling,
    SeedExample,
    Turn,
    output_text,
    stable_hash,
)

STRATEGY = "conversation"
USES_PERSONAS = True  # the persona is the user who writes the conversation's next turn

MOVES = ("extend", "vary")
SYSTEM = ("You write the user's side of chats between a user and an assistant, for a dataset. Write only the "
          "user's next message, in the style of the user messages you are shown.")


def seed_turns(seed: SeedExample) -> list[Turn]:
    """A seed's whole conversation: its history, its last user turn and its answer."""
    answer = (Turn(role="assistant", content=None, tool_calls=seed.output["tool_calls"])
              if isinstance(seed.output, dict) and "tool_calls" in seed.output
              else Turn(role="assistant", content=output_text(seed.output)))
    return [*seed.history, Turn(role="user", content=seed.prompt), answer]


def transcript(turns: list[Turn]) -> str:
    return "\n".join(f"{t.role.capitalize()}: {t.text()}" for t in turns if t.role != "system") or "(no turns yet)"


def user_schema(seeds: list[SeedExample]) -> dict:
    lengths = [len(s.prompt) for s in seeds]
    return {"type": "object", "properties": {"user": {"type": "string", "minLength": 1, "maxLength": 2 * max(lengths)}},
            "required": ["user"], "additionalProperties": False}


def turn_requests(seeds: list[SeedExample], env: Env, plan: Plan) -> list[tuple[GenerationRequest, dict]]:
    """`plan.tasks` requests for a next user turn; request i is the same in any larger run."""
    from seedfactory.generators.personas import all_topics, persona_line, stratum

    cfg, teacher = env.part(plan), env.teacher
    by_topic: dict[str, list[SeedExample]] = {}
    for s in seeds:
        by_topic.setdefault(s.topic or "", []).append(s)
    topics = all_topics(sorted(by_topic), cfg)
    schema = user_schema(seeds)
    out = []
    for i in range(cfg.num_tasks):
        rng = random.Random(f"{env.seed}:conversation:{i}")
        topic, persona = stratum(i, topics, list(env.personas))
        lead = rng.choice(by_topic.get(topic) or seeds)
        move = MOVES[(i // max(len(topics), 1)) % len(MOVES)]
        history = seed_turns(lead) if move == "extend" else list(lead.history)
        style = [s.prompt for s in rng.sample(seeds, min(cfg.shots, len(seeds)))]
        shown = "\n".join(f"- {u}" for u in style)
        about = f" It is about {topic}." if topic else ""
        ask = ("Write the user's next message: a follow-up that fits what was said." if move == "extend" else
               "Write the user's next message: a different question or request than the one the user really sent.")
        user = (f"User messages in this dataset look like these:\n{shown}\n\nThe chat so far:\n{transcript(history)}"
                f"\n\n{ask}{about}{persona_line(persona)} Reply as JSON: {{\"user\": \"...\"}}.")
        req = GenerationRequest(
            model=teacher.model, purpose="user_turn", response_schema=schema,
            messages=[Message(role="system", content=SYSTEM), Message(role="user", content=user)],
            sampling=Sampling(temperature=cfg.task_temperature, top_p=teacher.top_p, max_tokens=teacher.max_tokens,
                              seed=env.seed * 100_003 + i))
        out.append((req, {"lead": lead, "history": history, "topic": topic or None, "persona": persona, "move": move}))
    return out


def parse_turns(pairs: list[tuple[GenerationRequest, dict]], results: list[GenerationResult],
                reject: RejectLog) -> list[TaskDraft]:
    drafts, seen = [], {}
    for (req, spec), res in zip(pairs, results):
        text = reply_field(req, res, "user", reject)
        if text is None:
            continue
        history = spec["history"]
        pid = stable_hash([[t.model_dump() for t in history], text])
        if not text or pid in seen:
            reject(req.key, "duplicate_task" if text else "unparseable_task",
                   detail=f"same conversation and turn as request {seen[pid]}" if text else "empty user turn")
            continue
        seen[pid] = req.key
        drafts.append(TaskDraft(prompt_id=pid, instruction=text, input="", seed_ids=[spec["lead"].id],
                                request_key=req.key, raw=res.text, strategy=f"{STRATEGY}:{spec['move']}",
                                topic=spec["topic"], persona=spec["persona"], history=history))
    return drafts


def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): `plan.tasks` conversations, each with a new user turn."""
    pairs = turn_requests(seeds, env, plan)
    return parse_turns(pairs, env.ask([r for r, _ in pairs]), env.rejects)
