"""The answer step every strategy shares: the teacher answers each task `responses_per_prompt` times
(sampled), few-shot with the seeds that inspired it, under the seed set's output schema where there is
one; replies are parsed into rows (a reply that is not JSON under a schema is a reject with its raw
text), and an output-first task also gives its target as a row. The evaluation baseline asks the same
way, greedily.

    rows = answer_tasks(drafts, seeds, env, teacher_name)     # the whole step, with a strategy's Env
    pairs = response_requests(drafts, seeds, teacher, cfg, schema, seed)     # (request, draft)
    rows = target_rows(drafts, teacher_name) + list(parse_responses(pairs, ask([r for r, _ in pairs]), ...))
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from seedfactory.generators.plan import Env, TaskDraft
from seedfactory.schemas import (
    Example,
    GenerationRequest,
    GenerationResult,
    Lineage,
    Message,
    RejectLog,
    Sampling,
    SeedExample,
    Turn,
    output_text,
    stable_hash,
)
from seedfactory.schemas.config import GenerateConfig, ModelConfig


def history_messages(history: list[Turn]) -> list[Message]:
    """A conversation's earlier turns as a teacher reads them: a tool's result as a user turn that says so
    (the request format has no tool role), calls as their JSON."""
    return [Message(role="user", content=f"[tool result] {t.text()}") if t.role == "tool" else
            Message(role=t.role, content=t.text()) for t in history]


def answer_messages(task_prompt: str, shots: list[SeedExample], history: list[Turn] = ()) -> list[Message]:
    """The seeds that inspired a task are shown as earlier chat turns: they carry the answer format. A
    conversation's own earlier turns come after them, then its last user turn."""
    msgs = [Message(role="system", content="Answer the user's task. Follow the format of your earlier answers.")]
    for s in shots:
        msgs += [Message(role="user", content=s.prompt), Message(role="assistant", content=output_text(s.output))]
    return msgs + history_messages(list(history)) + [Message(role="user", content=task_prompt)]


def response_requests(drafts: list[TaskDraft], seeds: list[SeedExample], teacher: ModelConfig,
                      cfg: GenerateConfig, output_schema: dict | None,
                      seed: int) -> list[tuple[GenerationRequest, TaskDraft]]:
    by_id = {s.id: s for s in seeds}
    out = []
    for d in drafts:
        prompt = Example.model_construct(instruction=d.instruction, input=d.input).prompt
        msgs = answer_messages(prompt, [by_id[i] for i in d.seed_ids if i in by_id], d.history)
        for j in range(cfg.responses_per_prompt):
            req = GenerationRequest(
                model=teacher.model, purpose="response", messages=msgs, response_schema=output_schema,
                sampling=Sampling(temperature=teacher.temperature, top_p=teacher.top_p,
                                  max_tokens=teacher.max_tokens,
                                  seed=int(stable_hash([seed, d.prompt_id, j]), 16) % 2**31))
            out.append((req, d))
    return out


def reference_requests(targets: list[SeedExample], shots: list[SeedExample], teacher: ModelConfig,
                       output_schema: dict | None) -> list[GenerationRequest]:
    """Greedy teacher answers to the targets' prompts, in the same few-shot format as generation."""
    return [GenerationRequest(model=teacher.model, purpose="reference", response_schema=output_schema,
                              messages=answer_messages(t.prompt, shots, t.history),
                              sampling=Sampling(temperature=0.0, max_tokens=teacher.max_tokens, seed=0))
            for t in targets]


def parse_responses(pairs: list[tuple[GenerationRequest, TaskDraft]], results: list[GenerationResult],
                    teacher_name: str, output_schema: dict | None, reject: RejectLog) -> Iterator[Example]:
    for (req, d), res in zip(pairs, results):
        row_id = stable_hash([d.prompt_id, req.key])
        if res.error is not None:
            reject(row_id, "teacher_error", detail=f"{res.error} | raw: {res.text[:500]}")
            continue
        text = res.text.strip()
        output: str | dict = text
        if output_schema is not None:
            try:
                output = json.loads(text)
            except json.JSONDecodeError as e:
                reject(row_id, "unparseable_output", detail=f"{e.msg} | raw: {text[:500]}")
                continue
            if not isinstance(output, dict):
                reject(row_id, "unparseable_output", detail=f"expected a JSON object | raw: {text[:500]}")
                continue
        yield Example(
            id=row_id, prompt_id=d.prompt_id, instruction=d.instruction, input=d.input, output=output,
            history=d.history, lineage=Lineage(seed_ids=d.seed_ids, strategy=d.strategy, teacher=teacher_name,
                            prompt_hash=req.prompt_hash, request_key=req.key, raw=res.text,
                            sampling=req.sampling, task_request_key=d.request_key, topic=d.topic,
                            persona=d.persona, source=d.source))


def target_rows(drafts: list[TaskDraft], teacher_name: str) -> list[Example]:
    """One row per output-first task whose output is the target its input was written for."""
    rows = []
    for d in drafts:
        if d.target is None:
            continue
        rows.append(Example(
            id=stable_hash([d.prompt_id, "target"]), prompt_id=d.prompt_id, instruction=d.instruction, input=d.input,
            output=d.target, history=d.history, lineage=Lineage(
                seed_ids=d.seed_ids, strategy=d.strategy, teacher=teacher_name, prompt_hash="",
                request_key=d.request_key, raw=json.dumps(d.target, ensure_ascii=False), sampling=Sampling(),
                task_request_key=d.request_key, label="target", topic=d.topic, persona=d.persona)))
    return rows


def answer_tasks(drafts: list[TaskDraft], seeds: list[SeedExample], env: Env, teacher_name: str) -> list[Example]:
    """Every task answered `generate.responses_per_prompt` times, output-first targets as rows too, and
    Evol-Instruct's answer-side eliminations (generators/evol_instruct.py) and document_qa's support
    check (an answer its chunk does not support leaves) applied."""
    from collections import Counter

    from seedfactory.generators.document_qa import drop_unsupported
    from seedfactory.generators.evol_instruct import eliminate_responses
    from seedfactory.generators.waste import kept_counts

    pairs = response_requests(drafts, seeds, env.teacher, env.cfg, env.schema, env.seed)
    rows = target_rows(drafts, teacher_name)
    rows += parse_responses(pairs, env.ask([r for r, _ in pairs]), teacher_name, env.schema, env.rejects)
    rows = drop_unsupported(eliminate_responses(rows, env.rejects), seeds, env.rejects, env.cfg.with_context)
    # answers that parsed and survived, per strategy; selection's use of them is counted in the judge stage
    kept = Counter(r.lineage.strategy for r in rows if r.lineage.label != "target")
    env.notes["answers_kept"] = kept_counts(Counter(d.strategy for _, d in pairs), kept)
    return rows
