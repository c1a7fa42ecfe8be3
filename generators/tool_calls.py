"""Tool calls, output-first (after APIGen, Liu et al. 2024): for seed sets that declare tools
(`NAME.tools.json`) and whose outputs are calls. The calls are drawn first, then the teacher writes the
request that asks for exactly them; the request is kept only when it states every argument value.

A target is drawn in the seeds' proportions: how many calls (none, one, several), which tool (every
declared tool at least now and then), which optional arguments; each value is drawn valid for its
argument's kind (validators/calls.py: real dates and times in the seeds' forms, ids in the seeds'
shapes, enums, names and e-mails like theirs; generators/draw.py) and the call is checked against
the tool's JSON schema. The teacher sees seeds' calls with their requests, few-shot, then the drawn
calls.

    tasks = write_tasks(seeds, Plan("tool_calls", 64), env)     # TaskDrafts whose target is the calls
"""

from __future__ import annotations

import json
import random
from collections import Counter

from seedfactory.generators.draw import draw_value
from seedfactory.generators.fake import synth_instance
from seedfactory.generators.plan import Env, Plan, TaskDraft
from seedfactory.schemas import GenerationRequest, Message, Sampling, SeedExample, stable_hash
from seedfactory.schemas.tools import call_errors, tools_of
from seedfactory.validators.calls import call_kinds, unstated

STRATEGY = "tool_calls"
USES_PERSONAS = False  # requests are written for drawn calls, not for a person

SYSTEM = ("You write what a user types to an assistant that can call tools. Given the calls, write one request "
          "that asks for exactly them, in the style of the earlier requests. State every argument value as given.")
NO_CALL = "(no call: a request none of the tools can serve, such as a question or a greeting)"


def _calls(seed: SeedExample) -> list[dict]:
    return seed.output.get("tool_calls", []) if isinstance(seed.output, dict) else []


def _request(seed: SeedExample) -> str:
    """The seed's request: its input where the instruction is a fixed wording, else its user turn."""
    return seed.input.strip() or seed.prompt


def _calls_prompt(calls: list[dict]) -> str:
    return "Calls:\n" + (json.dumps(calls, ensure_ascii=False) if calls else NO_CALL)


class CallDrawer:
    """Draws call lists in the seeds' proportions (module docstring)."""

    def __init__(self, tools: list[dict], seeds: list[SeedExample]):
        self.tools = {t["name"]: t for t in tools}
        self.kinds = call_kinds(tools, seeds)
        seed_calls = [_calls(s) for s in seeds]
        self.counts = Counter(len(c) for c in seed_calls)
        used = Counter(c["name"] for cs in seed_calls for c in cs)
        self.tool_weights = {name: used[name] + 1 for name in self.tools}  # an unseen tool now and then
        self.values: dict[tuple[str, str], list] = {}
        self.present: dict[tuple[str, str], float] = {}
        for name, tool in self.tools.items():
            calls = [c for cs in seed_calls for c in cs if c["name"] == name]
            for arg in tool["parameters"].get("properties", {}):
                have = [c["arguments"][arg] for c in calls if arg in c["arguments"]]
                self.values[(name, arg)] = have
                self.present[(name, arg)] = len(have) / len(calls) if calls else 0.5

    def _value(self, name: str, arg: str, prop: dict, rng: random.Random):
        if "enum" in prop:
            return rng.choice(prop["enum"])
        if prop.get("type") == "array":
            sizes = [len(v) for v in self.values[(name, arg)] if isinstance(v, list)] or [1]
            n = max(prop.get("minItems", 1), rng.choice(sizes))
            return [self._scalar(name, arg, prop.get("items", {}), rng) for _ in range(n)]
        return self._scalar(name, arg, prop, rng)

    def _scalar(self, name: str, arg: str, prop: dict, rng: random.Random):
        fk = self.kinds.get(name, {}).get(arg)
        seen = [v for v in self.values[(name, arg)] for v in (v if isinstance(v, list) else [v])]
        if fk is None or not seen:  # no seed shows this argument: a value from its schema alone
            return synth_instance(prop, rng)
        return draw_value(fk, rng, base=rng.choice(seen))

    def call(self, rng: random.Random) -> dict:
        name = rng.choices(list(self.tool_weights), weights=list(self.tool_weights.values()))[0]
        params = self.tools[name]["parameters"]
        required = set(params.get("required", []))
        for _ in range(20):  # a rare draw off the schema (a pattern, a bound): again
            args = {arg: self._value(name, arg, prop, rng) for arg, prop in params.get("properties", {}).items()
                    if arg in required or rng.random() < self.present[(name, arg)]}
            call = {"name": name, "arguments": args}
            if not call_errors({"tool_calls": [call]}, list(self.tools.values())):
                return call
        raise ValueError(f"{name}: no call valid under its schema drawn in 20 tries (last {args!r})")

    def draw(self, rng: random.Random) -> list[dict]:
        n = rng.choices(list(self.counts), weights=list(self.counts.values()))[0]
        return [self.call(rng) for _ in range(n)]


def request_messages(calls: list[dict], shots: list[SeedExample]) -> list[Message]:
    msgs = [Message(role="system", content=SYSTEM)]
    for s in shots:
        msgs += [Message(role="user", content=_calls_prompt(_calls(s))), Message(role="assistant", content=_request(s))]
    return msgs + [Message(role="user", content=_calls_prompt(calls))]


def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): `plan.tasks` drawn call lists and their requests;
    a request that leaves an argument unstated leaves here (`ungrounded`), before it is answered."""
    tools = tools_of(env.schema)
    if not tools:
        raise ValueError("generate.strategy=tool_calls needs tools (NAME.tools.json beside the seeds)")
    cfg, drawer = env.part(plan), CallDrawer(tools, seeds)
    by_tool: dict[str, list[SeedExample]] = {}
    for s in seeds:
        by_tool.setdefault(_calls(s)[0]["name"] if _calls(s) else "", []).append(s)
    longest = max(len(_request(s)) for s in seeds)
    with_input = all(s.input.strip() for s in seeds)  # the request is the input of a fixed instruction
    pairs = []
    for i in range(cfg.num_tasks):
        rng = random.Random(f"{env.seed}:calls:{i}")
        calls = drawer.draw(rng)
        lead = rng.choice(by_tool.get(calls[0]["name"] if calls else "") or seeds)
        others = [s for s in seeds if s is not lead]
        shots = [lead] + rng.sample(others, min(cfg.shots - 1, len(others)))
        req = GenerationRequest(
            model=env.teacher.model, purpose="call_request", messages=request_messages(calls, shots),
            sampling=Sampling(temperature=cfg.task_temperature, top_p=env.teacher.top_p,
                              max_tokens=min(env.teacher.max_tokens, max(64, longest)), seed=env.seed * 100_003 + i))
        pairs.append((req, calls, lead))
    tasks, seen = [], set()
    for (req, calls, lead), res in zip(pairs, env.ask([r for r, _, _ in pairs])):
        text = res.text.strip()
        if res.error is not None or not text:
            env.rejects(req.key, "teacher_error" if res.error else "unparseable_task",
                        detail=f"{res.error or 'empty request'} | raw: {res.text[:500]}")
            continue
        missing = unstated(calls, text, tools, drawer.kinds)
        if missing:
            env.rejects(req.key, "ungrounded", detail=f"request misses {', '.join(missing[:4])} | raw: {text[:300]}")
            continue
        instruction = lead.instruction if with_input else text
        pid = stable_hash([instruction, text if with_input else ""])
        if pid in seen:
            env.rejects(req.key, "duplicate_task", detail="same request as an earlier task")
            continue
        seen.add(pid)
        tasks.append(TaskDraft(prompt_id=pid, instruction=instruction, input=text if with_input else "",
                               seed_ids=[lead.id], request_key=req.key, raw=res.text, strategy=STRATEGY,
                               target={"tool_calls": calls}, topic=lead.topic))
    env.notes["calls_drawn"] = {"tasks": len(pairs), "kept": len(tasks),
                                "calls_per_task": dict(Counter(len(c) for _, c, _ in pairs))}
    return tasks
