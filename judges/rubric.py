"""Rubric judge: an LLM scores each row 1-5, reasoning first, as structured output.

A reply that does not parse into `RubricReply` becomes a verdict with `error` and the raw text,
never a score: downstream code cannot mistake a judge failure for a low (or high) mark.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seedfactory.schemas import Example, GenerationRequest, GenerationResult, JudgeVerdict, Message, Sampling
from seedfactory.schemas.config import ModelConfig

RUBRIC = """Score the response to the task from 1 to 5:
5 = fully correct, follows the instruction and the expected format exactly;
4 = correct with a small flaw;
3 = partly correct or incomplete;
2 = mostly wrong, off-format or unhelpful;
1 = wrong, empty, or ignores the task."""


class RubricReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rationale: str = Field(max_length=600)
    score: int = Field(ge=1, le=5)


RUBRIC_SCHEMA = RubricReply.model_json_schema()


def rubric_request(row: Example, judge: ModelConfig, schema_note: str = "") -> GenerationRequest:
    user = (f"{RUBRIC}{schema_note}\n\n### Task\n{row.prompt}\n\n### Response\n{row.output_text}\n\n"
            "Reply as JSON: {\"rationale\": \"one or two sentences\", \"score\": 1-5}.")
    return GenerationRequest(
        model=judge.model, purpose="judge_rubric", response_schema=RUBRIC_SCHEMA,
        messages=[Message(role="system", content="You are a strict, fair grader of task responses."),
                  Message(role="user", content=user)],
        sampling=Sampling(temperature=judge.temperature, top_p=judge.top_p, max_tokens=judge.max_tokens, seed=0))


def parse_rubric(row: Example, req: GenerationRequest, res: GenerationResult) -> JudgeVerdict:
    base = dict(kind="rubric", example_id=row.id, judge_model=res.model, raw=res.text, request_keys=[req.key])
    if res.error is not None:
        return JudgeVerdict(**base, error=f"judge request failed: {res.error}")
    try:
        reply = RubricReply.model_validate_json(res.text)
    except ValidationError as e:
        err = e.errors()[0]
        return JudgeVerdict(**base, error=f"unparseable judge reply: {'.'.join(map(str, err['loc']))}: {err['msg']}")
    return JudgeVerdict(**base, score=float(reply.score), rationale=reply.rationale)


def judge_rows(rows: list[Example], backend, judge: ModelConfig, batch_size: int = 64,
               schema_note: str = "", progress=lambda it, **_: it) -> list[JudgeVerdict]:
    """One rubric verdict per row, in order."""
    verdicts = []
    batches = range(0, len(rows), batch_size)
    for start in progress(batches, desc="judge: rubric"):
        chunk = rows[start:start + batch_size]
        reqs = [rubric_request(r, judge, schema_note) for r in chunk]
        verdicts += [parse_rubric(r, q, s) for r, q, s in zip(chunk, reqs, backend.generate(reqs))]
    return verdicts
