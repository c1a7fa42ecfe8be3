"""Pairwise judge: which of two responses is better, asked in both orders.

LLM judges prefer a position; asking A-vs-B and B-vs-A and keeping only a consistent winner
turns a position flip into a tie instead of a coin toss. Failures are errors, not votes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seedfactory.schemas import GenerationRequest, GenerationResult, Message, Sampling
from seedfactory.schemas.config import ModelConfig

Winner = Literal["a", "b", "tie"]


class PairwiseReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rationale: str = Field(max_length=600)
    winner: Literal["A", "B", "tie"]


PAIRWISE_SCHEMA = PairwiseReply.model_json_schema()


def pairwise_request(prompt: str, first: str, second: str, judge: ModelConfig) -> GenerationRequest:
    user = (f"### Task\n{prompt}\n\n### Response A\n{first}\n\n### Response B\n{second}\n\n"
            "Which response follows the task better (correct, complete, right format)? "
            "Reply as JSON: {\"rationale\": \"one or two sentences\", \"winner\": \"A\" | \"B\" | \"tie\"}.")
    return GenerationRequest(
        model=judge.model, purpose="judge_pairwise", response_schema=PAIRWISE_SCHEMA,
        messages=[Message(role="system", content="You are a strict, fair judge. Ignore response order and length."),
                  Message(role="user", content=user)],
        sampling=Sampling(temperature=judge.temperature, top_p=judge.top_p, max_tokens=judge.max_tokens, seed=0))


def parse_pairwise(res: GenerationResult) -> Winner | None:
    """'a'/'b'/'tie' for the order asked, None when the reply is unusable."""
    if res.error is not None:
        return None
    try:
        return PairwiseReply.model_validate_json(res.text).winner.lower()  # type: ignore[return-value]
    except ValidationError:
        return None


def combine(forward: Winner | None, backward: Winner | None) -> Winner | None:
    """`forward` judged (a, b); `backward` judged (b, a). Consistent winners win, flips tie."""
    if forward is None or backward is None:
        return None
    unswapped = {"a": "b", "b": "a", "tie": "tie"}[backward]
    return forward if forward == unswapped else "tie"


def compare_many(items: list[tuple[str, str, str]], backend, judge: ModelConfig) -> list[Winner | None]:
    """Judge (prompt, a, b) triples in both orders, in one batch. None marks a judge error."""
    reqs = []
    for prompt, a, b in items:
        reqs += [pairwise_request(prompt, a, b, judge), pairwise_request(prompt, b, a, judge)]
    res = backend.generate(reqs) if reqs else []
    return [combine(parse_pairwise(res[2 * i]), parse_pairwise(res[2 * i + 1])) for i in range(len(items))]
