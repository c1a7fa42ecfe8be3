"""Rubric judge: an LLM scores each row 1-5 as structured output.

The score is the probability-weighted mean of the digits 1-5 at the score position (G-Eval,
Liu et al. 2023) when the backend returns log-probabilities, and the written digit otherwise.
Small judges put most of their mass on one or two digits whatever the row; the weighted mean
still ranks rows, which is what picking a preference pair needs.

A reply that does not parse into `RubricReply` becomes a verdict with `error` and the raw text,
never a score: downstream code cannot mistake a judge failure for a low (or high) mark.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seedfactory.judges.fence import NOTE, fence
from seedfactory.schemas import (
    Example,
    GenerationRequest,
    GenerationResult,
    JudgeVerdict,
    Message,
    Sampling,
    conversation_text,
)
from seedfactory.schemas.config import ModelConfig
from seedfactory.util.progress import NO_PROGRESS, Progress

RUBRIC = """Score the response to the task from 1 to 5:
5 = fully correct, follows the instruction and the expected format exactly;
4 = correct with a small flaw;
3 = partly correct or incomplete;
2 = mostly wrong, off-format or unhelpful;
1 = wrong, empty, or ignores the task."""


class RubricReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5)
    rationale: str = Field(max_length=160)


RUBRIC_SCHEMA = RubricReply.model_json_schema()


def schema_note(output_schema: dict | None) -> str:
    """What the rubric adds when answers must follow the seed set's JSON schema."""
    return "\nThe response must be a JSON object following the task's schema." if output_schema else ""


def rubric_text(criteria: str | None) -> str:
    """The default rubric, or the user's criteria (`judge.criteria`) in its place or after it."""
    return criteria if criteria is not None else RUBRIC


def rubric_request(row: Example, judge: ModelConfig, output_schema: dict | None = None,
                   criteria: str | None = None) -> GenerationRequest:
    task = conversation_text(row.history, row.prompt)  # a conversation's earlier turns come with its last one
    user = (f"{rubric_text(criteria)}{schema_note(output_schema)}\n\n{fence('Task', task)}\n\n"
            f"{fence('Response', row.output_text)}\n\n"
            "Reply as JSON with the score (1-5) and a one-sentence rationale.")
    return GenerationRequest(
        model=judge.model, purpose="judge_rubric", response_schema=RUBRIC_SCHEMA,
        messages=[Message(role="system", content=f"You are a strict, fair grader of task responses. {NOTE}"),
                  Message(role="user", content=user)],
        sampling=Sampling(temperature=judge.temperature, top_p=judge.top_p, max_tokens=judge.max_tokens, seed=0),
        top_logprobs=10)


def expected_score(res: GenerationResult) -> float | None:
    """Probability-weighted mean of 1-5 at the token that follows `"score":`, if logprobs came back."""
    text = ""
    for tok in res.logprobs or []:
        if tok.token.strip() in DIGITS and SCORE_KEY.search(text):
            probs: dict[int, float] = {}
            for alt, lp in tok.top.items():
                if alt.strip() in DIGITS:
                    # no mutate: every mass negated alike: the same weighted mean
                    probs[int(alt.strip())] = probs.get(int(alt.strip()), 0.0) + math.exp(lp)  # pragma: no mutate
            total = sum(probs.values())
            return sum(k * p for k, p in probs.items()) / total
        text += tok.token
    return None


DIGITS = {"1", "2", "3", "4", "5"}
SCORE_KEY = re.compile(r'"score"\s*:\s*$')


def parse_rubric(row: Example, req: GenerationRequest, res: GenerationResult) -> JudgeVerdict:
    base = dict(kind="rubric", example_id=row.id, judge_model=res.model, raw=res.text, request_keys=[req.key])
    if res.error is not None:
        return JudgeVerdict(**base, error=f"judge request failed: {res.error}")
    try:
        reply = RubricReply.model_validate_json(res.text)
    except ValidationError as e:
        err = e.errors()[0]
        return JudgeVerdict(**base, error=f"unparseable judge reply: {'.'.join(map(str, err['loc']))}: {err['msg']}")
    weighted = expected_score(res)
    score = round(weighted, 4) if weighted is not None else float(reply.score)
    return JudgeVerdict(**base, score=score, rationale=reply.rationale)


WORST = 1.0  # the score a row gets when the grader check flags it


# no mutate: the batch size changes speed only
def judge_rows(rows: list[Example], backend, judge: ModelConfig, batch_size: int = 64,  # pragma: no mutate
               output_schema: dict | None = None, progress: Progress = NO_PROGRESS,
               criteria: str | None = None, check=None) -> list[JudgeVerdict]:
    """One rubric verdict per row, in order. With a `check` (judges/addressed.GraderCheck), a row
    whose answer addresses the grader gets the worst score and the check's reason as its `flag`,
    and the judge is not asked about it."""
    verdicts = []
    batches = range(0, len(rows), batch_size)
    for start in progress(batches, desc="judge: rubric"):
        chunk = rows[start:start + batch_size]
        # the task as the judge reads it: a conversation's earlier turns included
        tasks = [conversation_text(r.history, r.prompt) for r in chunk]
        answers = [r.output_text for r in chunk]
        flags = check.flags(list(zip(tasks, answers))) if check is not None else [None] * len(chunk)
        asked = [r for r, f in zip(chunk, flags) if f is None]
        reqs = [rubric_request(r, judge, output_schema, criteria) for r in asked]
        replies = iter([parse_rubric(r, q, s) for r, q, s in zip(asked, reqs, backend.generate(reqs) if reqs else [])])
        verdicts += [next(replies) if f is None else
                     JudgeVerdict(kind="rubric", example_id=r.id, judge_model=judge.model, score=WORST, rationale=f,
                                  flag=f) for r, f in zip(chunk, flags)]
    return verdicts


def score_cutoff(scores: list[float], min_score: float, drop_fraction: float) -> float:
    """The lowest score kept: `min_score`, raised to the `drop_fraction` quantile of the scores."""
    ordered = sorted(scores)
    k = int(len(ordered) * drop_fraction)
    return max(min_score, ordered[k]) if ordered and k else min_score


def load_criteria(setting: list[str] | str | None, seeds_path: Path | None = None) -> str | None:
    """The rubric text from `judge.criteria` (a list of lines, or a file), else the seed set's own
    `<name>.criteria.txt` beside its seeds, else None (the default rubric)."""
    lines: list[str] | None = None
    if isinstance(setting, list):
        lines = setting
    elif isinstance(setting, str):
        path = Path(setting).expanduser()
        if not path.is_file():
            raise ValueError(f"judge.criteria={setting!r}: no such file (give a file or a list of criteria)")
        lines = path.read_text(encoding="utf-8").splitlines()
    elif seeds_path is not None and (own := seeds_path.with_name(f"{seeds_path.stem}.criteria.txt")).is_file():
        lines = own.read_text(encoding="utf-8").splitlines()
    if lines is None:
        return None
    body = "\n".join(f"- {ln.strip().lstrip('- ')}" for ln in lines if ln.strip())
    return f"Score the response to the task from 1 to 5 (5 = meets every criterion, 1 = meets none):\n{body}"
