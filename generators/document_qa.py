"""Questions and answers from the user's documents (`seeds.pool`, best cut with `pool.unit=chunk` or
`paragraph`): per chunk the teacher writes a question a reader of that document would ask and its
answer from the chunk only; the task is the question with the chunk as its input (RAG-style: the
row's prompt holds the chunk), answered `generate.responses_per_prompt` times by the shared step.

An answer, the teacher's first or any sampled one, is kept only when its chunk supports it
(`unsupported_by_source` otherwise, with what was missing):
- every number it states is a number of the chunk (validators/values.py `numbers_in`);
- every capitalised word inside a sentence (a name) is a word of the chunk;
- the share of its content words found in the chunk reaches the seeds' own share less a margin
  (`support_threshold`: the lowest share among seeds whose output answers from their input, minus
  0.15, at least 0.3; 0.5 when no seed has an input). Lexical, not an entailment model: the cheap
  stand-in that catches changed numbers, foreign names and invented claims (`python -m bench.document_qa`).
A question the teacher answers the same way without the chunk (`closed_book` request: the same
numbers and half its content words) is marked `answerable_without_source` in `lineage.source`.

    drafts = write_tasks(seeds, Plan("document_qa", 20), env)     # env.pool: PoolItems (chunks)
"""

from __future__ import annotations

import json
import re

from seedfactory.generators.plan import Env, Plan, TaskDraft
from seedfactory.schemas import Example, GenerationRequest, Message, RejectLog, Sampling, SeedExample, stable_hash

STRATEGY = "document_qa"
USES_PERSONAS = False
QA_SCHEMA = {"type": "object", "properties": {"question": {"type": "string", "minLength": 8, "maxLength": 300},
                                              "answer": {"type": "string", "minLength": 1, "maxLength": 800}},
             "required": ["question", "answer"], "additionalProperties": False}
STOP = set("a an the and or but of to in on at for with by is are was were be been it its this that these those "
           "i you he she we they them your our their my me do does did can could should would will may might must "
           "not no yes if then than so as from about into over under before after what which who whom when where "
           "why how there here have has had any all some each every more most less such only also very just".split())
WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")


def _stem(w: str) -> str:
    return w.casefold()[:6]


def content_words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if w.casefold() not in STOP and len(w) > 2]


def overlap(answer: str, source: str) -> float:
    words = content_words(answer)
    have = {_stem(w) for w in content_words(source)}
    return sum(_stem(w) in have for w in words) / len(words) if words else 1.0


def support_threshold(seeds: list[SeedExample]) -> float:
    shares = [overlap(s.output, s.input) for s in seeds if s.input.strip() and isinstance(s.output, str)]
    return max(0.3, min(shares) - 0.15) if shares else 0.5


def unsupported(answer: str, source: str, threshold: float) -> str | None:
    """Why the source does not support the answer, or None."""
    from seedfactory.validators.values import numbers_in

    have = {m.value for m in numbers_in(source)}
    extra = [m.text for m in numbers_in(answer) if m.value not in have]
    if extra:
        return f"numbers not in the source: {', '.join(extra[:5])}"
    words = {_stem(w) for w in WORD.findall(source)}  # "Sundays" is supported by "Sunday"
    names = [m.group(0) for m in re.finditer(r"(?<=[a-z,;:] )[A-Z][^\W\d_]+", answer)
             if _stem(m.group(0)) not in words and m.group(0).casefold() not in STOP]
    if names:
        return f"names not in the source: {', '.join(names[:5])}"
    share = overlap(answer, source)
    if share < threshold:
        return f"{share:.2f} of its content words in the source < {threshold:.2f} (the seeds' share less 0.15)"
    return None


def qa_requests(items, seeds: list[SeedExample], env: Env, plan: Plan) -> list[GenerationRequest]:
    shots = [s for s in seeds if s.instruction.strip()][: env.cfg.shots]
    style = "\n".join(f"- {s.instruction}" for s in shots)
    reqs = []
    for i, it in enumerate(items):
        user = (f"Document:\n{it.text}\n\nWrite one question a reader of this document would ask, and its answer "
                f"using only the document. Questions like these:\n{style}\n"
                'Reply as JSON: {"question": "...", "answer": "..."}.')
        reqs.append(GenerationRequest(
            model=env.teacher.model, purpose="qa", response_schema=QA_SCHEMA,
            messages=[Message(role="system", content="You write questions and answers from a document, using "
                                                     "only what the document says."),
                      Message(role="user", content=user)],
            sampling=Sampling(temperature=env.cfg.task_temperature, top_p=env.teacher.top_p,
                              max_tokens=env.teacher.max_tokens, seed=env.seed * 100_019 + i)))
    return reqs


def closed_book(questions: list[str], env: Env) -> list[GenerationRequest]:
    return [GenerationRequest(model=env.teacher.model, purpose="closed_book",
                              messages=[Message(role="user", content=q)],
                              sampling=Sampling(temperature=0.0, max_tokens=env.teacher.max_tokens, seed=0))
            for q in questions]


def same_answer(a: str, b: str) -> bool:
    from seedfactory.validators.values import numbers_in

    return ({m.value for m in numbers_in(a)} == {m.value for m in numbers_in(b)}
            and overlap(a, b) >= 0.5 and overlap(b, a) >= 0.5)


def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): a question per chunk, the first `plan.tasks` chunks."""
    if not env.pool:
        raise ValueError("generate.strategy document_qa needs documents: set seeds.pool (and pool.unit=chunk)")
    items, threshold = env.pool[: plan.tasks], support_threshold(seeds)
    reqs, parsed = qa_requests(items, seeds, env, plan), []
    for it, req, res in zip(items, reqs, env.ask(reqs)):
        try:
            qa = json.loads(res.text) if res.error is None else None
            question, answer = str(qa["question"]).strip(), str(qa["answer"]).strip()
        except (json.JSONDecodeError, KeyError, TypeError):
            env.rejects(req.key, "unparseable_task", detail=f"{res.error or ''} | raw: {res.text[:300]}")
            continue
        if why := unsupported(answer, it.text, threshold):
            env.rejects(req.key, "unsupported_by_source", detail=f"{why} | answer: {answer[:200]}")
            continue
        parsed.append((it, req, res, question, answer))
    alone = env.ask(closed_book([q for *_, q, _ in parsed], env))
    drafts = []
    for (it, req, res, question, answer), cb in zip(parsed, alone):
        source = {"file": it.file, "page": it.page, "start": it.start, "end": it.end, "pool_id": it.id,
                  "answerable_without_source": cb.error is None and same_answer(cb.text, answer)}
        drafts.append(TaskDraft(prompt_id=stable_hash([question, it.text]), instruction=question, input=it.text,
                                seed_ids=[s.id for s in seeds[: env.cfg.shots]], request_key=req.key, raw=res.text,
                                strategy=STRATEGY, source={k: v for k, v in source.items() if v is not None}))
    env.notes["document_qa"] = {"threshold": round(threshold, 3), "questions": len(items), "kept": len(drafts),
                                "answerable_without_source": sum(d.source["answerable_without_source"] for d in drafts)}
    return drafts


def drop_unsupported(rows: list[Example], seeds: list[SeedExample], reject: RejectLog,
                     with_context: bool = True) -> list[Example]:
    """The answer step's rows of document_qa tasks whose chunk (their input) does not support them leave;
    with `with_context` false the kept ones lose the chunk from their prompt (closed-book), which
    their `lineage.source["chunk"]` keeps."""
    threshold, kept = support_threshold(seeds), []
    for r in rows:
        if r.lineage.strategy == STRATEGY and isinstance(r.output, str):
            if why := unsupported(r.output, r.input, threshold):
                reject(r, "unsupported_by_source", detail=why)
                continue
            if not with_context:
                source = {**(r.lineage.source or {}), "chunk": r.input}
                r = r.model_copy(update={"input": "", "lineage": r.lineage.model_copy(update={"source": source})})
        kept.append(r)
    return kept
