"""Pairwise judge: which of two responses is better, asked in both orders.

LLM judges prefer a position; asking A-vs-B and B-vs-A and keeping only a consistent winner
turns a position flip into a tie instead of a coin toss. Failures are errors, not votes.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class BothOrders:
    """One comparison of a against b, asked as (a, b) and as (b, a).

    `forward` is the verdict with a shown first, `backward` the verdict with b shown first (in that
    request's own terms: "a" there means b won). `winner` is the consistent verdict in (a, b) terms:
    a flip is a tie, a failed reply in either order is None (an error, not a vote).
    """

    forward: Winner | None
    backward: Winner | None

    @property
    def winner(self) -> Winner | None:
        return combine(self.forward, self.backward)


def judge_both_orders(items: list[tuple[str, str, str]], backend, judge: ModelConfig) -> list[BothOrders]:
    """Judge (prompt, a, b) triples in both orders, in one batch (the one helper for this: pair
    building, evaluation and the benchmark all read both orders through it)."""
    reqs = []
    for prompt, a, b in items:
        reqs += [pairwise_request(prompt, a, b, judge), pairwise_request(prompt, b, a, judge)]
    res = backend.generate(reqs) if reqs else []
    return [BothOrders(parse_pairwise(res[2 * i]), parse_pairwise(res[2 * i + 1])) for i in range(len(items))]


def win_rate(verdicts: list[BothOrders]) -> dict:
    """How often the `a` side wins, reading both orders: 1 for a consistent win, 0 for a consistent
    loss, 0.5 for a flip, a tie or a judge error (`errors` counts failed replies, two per item at most).
    """
    per_example = []
    for v in verdicts:
        score = {"a": 1.0, "b": 0.0}.get(v.winner or "tie", 0.5)
        per_example.append({"forward": v.forward, "backward": v.backward, "score": score})
    n = len(per_example)
    return {"metric": "judge_win_rate_vs_reference", "value": sum(p["score"] for p in per_example) / n if n else 0.0,
            "n": n, "errors": sum((v.forward is None) + (v.backward is None) for v in verdicts),
            "per_example": per_example}
