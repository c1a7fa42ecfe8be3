"""Scoring tool calls: an answer's calls against the reference's, per case and over a set.

An answer is read as its first JSON object (`{"tool_calls": [...]}`, calls as `{"name", "arguments"}`
or OpenAI's `{"function": {"name", "arguments": "<json>"}}`). Per case:

- exact_call_match: the same calls (tool and every argument, strings compared casefolded and
  stripped, numbers as numbers), in any order; no call where the reference has none counts;
- tool_name_accuracy: the same tools called, as many times each;
- argument_f1: F1 over (tool, argument, value) triples; 1 when both call nothing;
- execution_match (with an implementation): the calls' results on a fresh state equal the
  reference's, so `"2027-03-04"` and a different but equivalent call can still agree.

    report = score_calls(answers, [case.output for case in cases], tools, execute=calendar.execute)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from seedfactory.schemas import calls_output
from seedfactory.train.evaluate import first_json_object, normalise

METRIC = "exact_call_match"


def parse_calls(answer: str) -> list[dict] | None:
    """The calls an answer makes, or None when it has no `{"tool_calls": [...]}` object."""
    obj = first_json_object(answer)
    if obj is None or not isinstance(obj.get("tool_calls"), list):
        return None
    try:
        return calls_output(obj["tool_calls"])["tool_calls"]
    except ValueError:
        return None


def _key(call: dict) -> str:
    return json.dumps([normalise(call["name"]), normalise(call["arguments"])], sort_keys=True, default=str)


def _triples(calls: list[dict]) -> Counter:
    return Counter((c["name"], k, json.dumps(normalise(v), sort_keys=True, default=str))
                   for c in calls for k, v in c["arguments"].items())


def case_scores(calls: list[dict] | None, reference: list[dict],
                execute: Callable[[list[dict]], list] | None = None, valid: bool = True) -> dict:
    """One case's metrics (module docstring); an answer without calls scores 0 on each, unless the
    reference calls nothing and the answer says so with an empty list."""
    if calls is None:
        out = {"parsed": False, "exact_call_match": 0.0, "tool_name_accuracy": 0.0, "argument_f1": 0.0}
        return out | ({"execution_match": 0.0} if execute else {})
    exact = Counter(map(_key, calls)) == Counter(map(_key, reference))
    names = Counter(c["name"] for c in calls) == Counter(c["name"] for c in reference)
    got, want = _triples(calls), _triples(reference)
    hit = sum((got & want).values())
    if not got and not want:
        f1 = 1.0 if names else 0.0  # no arguments on either side: right when the tools are right
    else:
        p, r = hit / max(sum(got.values()), 1), hit / max(sum(want.values()), 1)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
    out = {"parsed": True, "exact_call_match": float(exact), "tool_name_accuracy": float(names), "argument_f1": f1}
    if execute is not None:  # an invalid call is not run: it matches no result
        out["execution_match"] = float(exact or (valid and execute(calls) == execute(reference)))
    return out


def score_calls(answers: list[str], references: list[dict], tools: list[dict],
                execute: Callable[[list[dict]], list] | None = None) -> dict:
    """Every case's metrics and their means; `value` is the exact call match. A call to a tool that is
    not declared, or with arguments its schema refuses, is counted in `valid_calls` (the share of
    answers whose calls all validate)."""
    from seedfactory.schemas.tools import call_errors

    if len(answers) != len(references):
        raise ValueError(f"score_calls: {len(answers)} answers for {len(references)} references")
    per_example = []
    for answer, ref in zip(answers, references):
        calls = parse_calls(answer)
        valid = calls is not None and not call_errors({"tool_calls": calls}, tools)
        scores = case_scores(calls, ref["tool_calls"], execute, valid)
        scores["valid_calls"] = float(valid)
        scores["field_match"] = scores[METRIC]  # the primary per-case score the intervals are drawn from
        per_example.append(scores)
    n = len(per_example)
    keys = [k for k in per_example[0] if k != "parsed"] if per_example else []
    means = {k: sum(float(p[k]) for p in per_example) / n for k in keys}
    return {"metric": METRIC, "value": means.get(METRIC, 0.0), "n": n,
            "parsed": sum(p["parsed"] for p in per_example) / n if n else 0.0,
            **{k: v for k, v in means.items() if k not in (METRIC, "field_match")}, "per_example": per_example}

