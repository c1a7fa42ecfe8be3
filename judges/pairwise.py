"""Pairwise judge: which of two responses is better, asked in both orders.

LLM judges prefer a position. Each order is read as a probability that the first response shown is
better (from the log-probabilities of "A" and "B" at the winner token, or the written vote when the
backend gives none), and the two orders are averaged (balanced position calibration, Wang et al.
2023, "Large Language Models are not Fair Evaluators"): a judge that leans to position A but still
knows which answer is better decides, and a judge that only leans ends near 0.5, a tie. Failures are
errors, not votes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seedfactory.judges.fence import NOTE, fence
from seedfactory.schemas import GenerationRequest, GenerationResult, Message, Sampling
from seedfactory.schemas.config import ModelConfig

Winner = Literal["a", "b", "tie"]


class PairwiseReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rationale: str = Field(max_length=600)
    winner: Literal["A", "B", "tie"]


PAIRWISE_SCHEMA = PairwiseReply.model_json_schema()


def pairwise_request(prompt: str, first: str, second: str, judge: ModelConfig) -> GenerationRequest:
    user = (f"{fence('Task', prompt)}\n\nResponse A:\n{fence('A', first)}\n\nResponse B:\n{fence('B', second)}\n\n"
            "Which response follows the task better (correct, complete, right format)? "
            "Reply as JSON: {\"rationale\": \"one or two sentences\", \"winner\": \"A\" | \"B\" | \"tie\"}.")
    return GenerationRequest(
        model=judge.model, purpose="judge_pairwise", response_schema=PAIRWISE_SCHEMA,
        messages=[Message(role="system", content="You are a strict, fair judge. Ignore response order and length. "
                                                 + NOTE),
                  Message(role="user", content=user)],
        sampling=Sampling(temperature=judge.temperature, top_p=judge.top_p, max_tokens=judge.max_tokens, seed=0),
        top_logprobs=5)


def first_better(res: GenerationResult) -> float | None:
    """P(the first response shown is better) for one order: from the log-probabilities at the winner
    token when the backend returned them, else 1 / 0 / 0.5 from the written vote; None on failure."""
    vote = parse_pairwise(res)
    if vote is None:
        return None
    text = ""
    for tok in res.logprobs or []:
        if WINNER_KEY.search(text) and tok.token.strip(' "') in ("A", "B", "t", "tie"):
            probs = {"A": 0.0, "B": 0.0, "tie": 0.0}
            for alt, lp in tok.top.items():
                key = alt.strip(' "')
                key = "tie" if key in ("t", "tie") else key
                if key in probs:
                    probs[key] += math.exp(lp)
            total = sum(probs.values())
            if total > 0:
                return (probs["A"] + 0.5 * probs["tie"]) / total
            break
        text += tok.token
    return {"a": 1.0, "b": 0.0, "tie": 0.5}[vote]


WINNER_KEY = re.compile(r'"winner"\s*:\s*"?$')


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
    request's own terms: "a" there means b won); `p_forward` / `p_backward` the probability each
    request gave its first response. `p_a` averages the two orders into P(a is better); `winner`
    decides from it (within `TIE_BAND` of 0.5 is a tie). A failed reply in either order is None.
    """

    forward: Winner | None
    backward: Winner | None
    p_forward: float | None = None
    p_backward: float | None = None

    @property
    def p_a(self) -> float | None:
        if self.p_forward is None or self.p_backward is None:
            if self.forward is None or self.backward is None:
                return None
            return {"a": 1.0, "b": 0.0, "tie": 0.5}[combine(self.forward, self.backward)]
        return (self.p_forward + (1.0 - self.p_backward)) / 2

    @property
    def winner(self) -> Winner | None:
        p = self.p_a
        if p is None:
            return None
        return "a" if p > 0.5 + TIE_BAND else "b" if p < 0.5 - TIE_BAND else "tie"


TIE_BAND = 0.05


def judge_both_orders(items: list[tuple[str, str, str]], backend, judge: ModelConfig) -> list[BothOrders]:
    """Judge (prompt, a, b) triples in both orders, in one batch (the one helper for this: pair
    building, evaluation and the benchmark all read both orders through it)."""
    reqs = []
    for prompt, a, b in items:
        reqs += [pairwise_request(prompt, a, b, judge), pairwise_request(prompt, b, a, judge)]
    res = backend.generate(reqs) if reqs else []
    return [BothOrders(parse_pairwise(res[2 * i]), parse_pairwise(res[2 * i + 1]),
                       first_better(res[2 * i]), first_better(res[2 * i + 1])) for i in range(len(items))]


def win_rate(verdicts: list[BothOrders]) -> dict:
    """How often the `a` side wins, reading both orders: 1 for a consistent win, 0 for a consistent
    loss, 0.5 for a flip, a tie or a judge error (`errors` counts failed replies, two per item at most).
    """
    per_example = []
    for v in verdicts:
        score = {"a": 1.0, "b": 0.0}.get(v.winner or "tie", 0.5)
        per_example.append({"forward": v.forward, "backward": v.backward, "p_a": v.p_a, "score": score})
    n = len(per_example)
    return {"metric": "judge_win_rate_vs_reference", "value": sum(p["score"] for p in per_example) / n if n else 0.0,
            "n": n, "errors": sum((v.forward is None) + (v.backward is None) for v in verdicts),
            "per_example": per_example}
