"""Rewards for online preference tuning (`train.preference=grpo` / `online_dpo`): the run's own
checks of an answer, each a named function in [0, 1] (the length penalty in [-1, 0]), composed
with the weights of `train.rewards`.

    ctx = reward_context(schema, kinds, rows)      # rows: the training rows (their outputs name span fields)
    score = composite(ctx, {"schema_valid": 1.0, "grounded": 1.0})
    score("{...}", {"input_text": "...", "target": "{...}", "target_from": "target"})  # weighted sum

The checks are the validators' own code: the JSON schema (jsonschema, as `validators.filters`),
each value against its field kind (`validators.kinds.check_value`, the invalid_value filter's
check), grounding (`validators.values.is_stated` on the span fields of `validators.quality`), and
the evaluation's field match (`train.evaluate.normalise`). A reward that does not apply to a row
returns None and is left out of that row's sum (trl does the same with its NaN): field match
needs a target the input was written for or a reviewer's edit, consensus a teacher's answer, the
judge a trusted judge (free text only).

`trl_reward_funcs` gives trl's GRPOTrainer one function per named reward (its per-reward means go
to the log as rewards/<name>/mean) and their weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from seedfactory.schemas.config import DEFAULT_REWARDS
from seedfactory.train.evaluate import first_json_object, normalise

# Where a training row's output came from (`target_from`): output-first targets and reviewers'
# edits are right by construction (field match); a teacher's answer is the consensus of its samples.
TARGET_SOURCES = ("target", "review")


@dataclass
class RewardContext:
    """What the rewards know besides an answer and its row."""

    schema: dict | None
    kinds: dict = field(default_factory=dict)  # field -> validators.kinds.FieldKind
    span_fields: list[str] = field(default_factory=list)  # fields whose values the input must state
    judge: Callable[[str, str], float] | None = None  # (prompt, answer) -> 0..1; only a trusted judge
    validator: object = None

    def __post_init__(self):
        if self.schema is not None and self.validator is None:
            import jsonschema

            self.validator = jsonschema.validators.validator_for(self.schema)(self.schema)


def reward_context(schema: dict | None, kinds: dict | None, outputs: list[dict],
                   judge: Callable[[str, str], float] | None = None) -> RewardContext:
    """The context for a run: span fields as the grounding check reads them (`quality.span_fields`
    over the training rows' outputs). `judge` only where the judge passed its self-test."""
    from seedfactory.validators.quality import span_fields

    kinds = kinds or {}
    return RewardContext(schema, kinds, span_fields(schema, outputs, kinds or None) if schema else [], judge)


def _target(row: dict) -> dict | None:
    t = row.get("target")
    if not t:
        return None
    obj = json.loads(t) if isinstance(t, str) else t
    return obj if isinstance(obj, dict) else None


def schema_valid(answer: str, row: dict, ctx: RewardContext) -> float | None:
    """1 for a JSON object the schema accepts, 0.5 for an object it rejects, 0 for no object."""
    if ctx.schema is None:
        return None
    obj = first_json_object(answer)
    if obj is None:
        return 0.0
    return 1.0 if ctx.validator.is_valid(obj) else 0.5


def kinds_valid(answer: str, row: dict, ctx: RewardContext) -> float | None:
    """Share of the fields with a kind whose value is possible for it (no hour 76); a missing
    field or no object counts as impossible."""
    from seedfactory.validators.kinds import check_value

    if not ctx.kinds:
        return None
    obj = first_json_object(answer)
    if obj is None:
        return 0.0
    ok = [name in obj and check_value(obj[name], fk) is None for name, fk in ctx.kinds.items()]
    return sum(ok) / len(ok)


def stated_values(obj: dict, text: str, ctx: RewardContext) -> list[bool]:
    """For each non-null span-field value of an answer: does the input state it (as its kind)?"""
    from seedfactory.validators.values import is_stated

    out = []
    for name in ctx.span_fields:
        value = obj.get(name)
        if value is None or isinstance(value, (dict, list)):
            continue
        fk = ctx.kinds.get(name)
        out.append(is_stated(value, text, fk.kind if fk is not None else None))
    return out


def grounded(answer: str, row: dict, ctx: RewardContext) -> float | None:
    """Share of the answer's span values the input states; needs no label. 0 for no object."""
    if not ctx.span_fields:
        return None
    obj = first_json_object(answer)
    if obj is None:
        return 0.0
    stated = stated_values(obj, row.get("input_text", ""), ctx)
    return sum(stated) / len(stated) if stated else 1.0


def _match(answer: str, ref: dict) -> float:
    obj = first_json_object(answer)
    if obj is None or not ref:
        return 0.0
    return sum(k in obj and normalise(obj[k]) == normalise(v) for k, v in ref.items()) / len(ref)


def field_match(answer: str, row: dict, ctx: RewardContext) -> float | None:
    """Share of the target's fields the answer reproduces (the evaluation's exact match), for rows
    whose target is right by construction (output-first, reviewed)."""
    ref = _target(row)
    return _match(answer, ref) if ref is not None and row.get("target_from") in TARGET_SOURCES else None


def consensus(answer: str, row: dict, ctx: RewardContext) -> float | None:
    """Agreement with the teacher's consensus answer, field by field (teacher-answered rows)."""
    ref = _target(row)
    return _match(answer, ref) if ref is not None and row.get("target_from") == "teacher" else None


def judge(answer: str, row: dict, ctx: RewardContext) -> float | None:
    """The trusted judge's score of a free-text answer; None with a schema or no trusted judge."""
    if ctx.judge is None or ctx.schema is not None:
        return None
    return float(ctx.judge(row.get("prompt_text", ""), answer))


def length(answer: str, row: dict, ctx: RewardContext) -> float | None:
    """A penalty in [-1, 0] for the share of characters beyond 1.5x the target's length (or
    beyond the end of the first JSON object): rambling after the answer costs, a full answer not."""
    ref = row.get("target") or ""
    if ref:
        limit = max(1.5 * len(ref), 16.0)
    else:
        obj_end = answer.rfind("}") + 1 if ctx.schema is not None and "}" in answer else len(answer)
        limit = max(float(obj_end), 16.0)
    over = max(0.0, len(answer) - limit)
    return -min(1.0, over / limit)


REWARDS: dict[str, Callable[[str, dict, RewardContext], float | None]] = {
    "schema_valid": schema_valid, "kinds_valid": kinds_valid, "grounded": grounded, "field_match": field_match,
    "consensus": consensus, "judge": judge, "length": length}


def weights_of(config: dict[str, float]) -> dict[str, float]:
    """The defaults with `train.rewards` laid over them (an override names only the rewards it
    changes); an unknown name is an error naming it (the config's Literal catches it first)."""
    unknown = sorted(set(config) - set(REWARDS))
    if unknown:
        raise ValueError(f"train.rewards: unknown reward {', '.join(unknown)}; one of {', '.join(REWARDS)}")
    return {**DEFAULT_REWARDS, **config}


def scores(answer: str, row: dict, ctx: RewardContext, weights: dict[str, float]) -> dict[str, float | None]:
    """Each weighted-in reward's value for one answer (None where it does not apply)."""
    return {name: REWARDS[name](answer, row, ctx) for name, w in weights.items() if w != 0}


def composite(ctx: RewardContext, weights: dict[str, float]) -> Callable[[str, dict], float]:
    """answer, row -> the weighted sum of the rewards that apply."""
    def total(answer: str, row: dict) -> float:
        return sum(weights[n] * v for n, v in scores(answer, row, ctx, weights).items() if v is not None)

    return total


def completion_text(completion) -> str:
    """trl hands conversational completions as [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion)
    return str(completion)


def trl_reward_funcs(ctx: RewardContext, weights: dict[str, float]) -> tuple[list[Callable], list[float]]:
    """One trl reward function per reward with a non-zero weight (named after it, so trl logs
    rewards/<name>/mean) and the weights in the same order. Dataset columns arrive as keywords."""
    funcs, ws = [], []
    for name, w in weights.items():
        if w == 0:
            continue

        def func(prompts, completions, _reward=REWARDS[name], **columns):
            rows = [{k: columns[k][i] for k in ("input_text", "target", "target_from", "prompt_text") if k in columns}
                    for i in range(len(completions))]
            return [_reward(completion_text(c), r, ctx) for c, r in zip(completions, rows)]

        func.__name__ = name
        funcs.append(func)
        ws.append(float(w))
    return funcs, ws


def invented_share(answers: list[str], inputs: list[str], ctx: RewardContext) -> float:
    """Share of all answers' span values that their input does not state (invented values)."""
    stated: list[bool] = []
    for answer, text in zip(answers, inputs):
        obj = first_json_object(answer)
        if obj is not None:
            stated += stated_values(obj, text, ctx)
    return round(1 - sum(stated) / len(stated), 4) if stated else 0.0
