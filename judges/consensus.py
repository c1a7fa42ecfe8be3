"""Consensus among a task's sampled answers (self-consistency, Wang et al. 2022): a signal even a
small teacher gives, from data the run already has (no extra requests).

Structured answers are compared field by field: the per-field majority value, each answer's share
of fields that agree with it, and the task's agreement (the mean of those shares). Free-text answers
use embedding agreement: each answer's mean cosine to the task's other answers; the medoid is the
answer closest to the rest. Output-first tasks carry their target: the teacher's answers are then
measured against the target instead (how often the teacher reads its own text right).

    c = consensus(rows, embed=None)   # rows of one task
    c.agreement, c.best, c.per_row
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from seedfactory.schemas import Example


def _key(value) -> str:
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


@dataclass
class Consensus:
    agreement: float  # the task's: mean of the answers' agreement
    per_row: dict[str, float]  # row id -> that answer's agreement
    best: Example | None  # the answer the others agree with most (or the target)
    majority: dict | None = None  # structured tasks: the per-field majority object
    against_target: bool = False  # teacher answers were scored against the task's target
    fields: dict[str, float] = field(default_factory=dict)  # structured: per-field agreement


def field_agreement(answers: list[dict]) -> tuple[dict, dict[str, float], list[float]]:
    """(majority object, per-field share agreeing with the majority, per-answer share of fields
    agreeing with the majority)."""
    keys = sorted({k for a in answers for k in a})
    majority, per_field = {}, {}
    for k in keys:
        votes = Counter(_key(a.get(k)) for a in answers)
        top, n = votes.most_common(1)[0]  # pragma: no mutate (most_common(2)[0] is the same top vote)
        majority[k] = next(a.get(k) for a in answers if _key(a.get(k)) == top)
        per_field[k] = n / len(answers)
    per_answer = [sum(_key(a.get(k)) == _key(majority[k]) for k in keys) / len(keys) if keys else 1.0
                  for a in answers]
    return majority, per_field, per_answer


def consensus(rows: list[Example], embed: Callable[[list[str]], np.ndarray] | None = None) -> Consensus:
    """Consensus of one task's rows. A target row (lineage.label == "target") is the reference."""
    target = next((r for r in rows if r.lineage.label == "target"), None)
    answers = [r for r in rows if r.lineage.label != "target"]
    if target is not None and isinstance(target.output, dict):
        shares = {}
        for r in answers:
            out = r.output if isinstance(r.output, dict) else {}
            keys = list(target.output)
            shares[r.id] = sum(_key(out.get(k)) == _key(target.output[k]) for k in keys) / len(keys)
        mean = sum(shares.values()) / len(shares) if shares else 1.0
        return Consensus(round(mean, 4), {**shares, target.id: 1.0}, target, dict(target.output), True)
    if not answers:
        return Consensus(0.0, {}, None)
    if len(answers) == 1:
        return Consensus(1.0, {answers[0].id: 1.0}, answers[0])  # pragma: no mutate (one answer: [-1] is [0])
    if all(isinstance(r.output, dict) for r in answers):
        majority, per_field, per_answer = field_agreement([r.output for r in answers])
        best = max(range(len(answers)), key=lambda i: (per_answer[i], -i))
        return Consensus(round(sum(per_answer) / len(per_answer), 4),
                         {r.id: round(a, 4) for r, a in zip(answers, per_answer)}, answers[best], majority,
                         fields={k: round(v, 4) for k, v in per_field.items()})
    if embed is None:
        raise ValueError("free-text consensus needs an embedder")
    vecs = embed([r.output_text for r in answers])
    sims = vecs @ vecs.T
    n = len(answers)
    mean_to_others = (sims.sum(axis=1) - np.diag(sims)) / (n - 1)  # pragma: no mutate (a Gram matrix is symmetric)
    best = int(np.argmax(mean_to_others))
    return Consensus(round(float(mean_to_others.mean()), 4),
                     {r.id: round(float(s), 4) for r, s in zip(answers, mean_to_others)}, answers[best])
