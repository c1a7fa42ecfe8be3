"""Judges with fakes: parse failures are errors never scores; flips are ties; pairs need a margin."""

import json

import pytest
from factories import make_example
from pydantic import ValidationError

from seedfactory.generators.fake import FakeBackend
from seedfactory.judges import BothOrders, best_worst_pairs, combine, judge_both_orders, judge_rows, win_rate
from seedfactory.schemas import JudgeVerdict
from seedfactory.schemas.config import ModelConfig


def ex(i, pid="p", out="answer"):
    return make_example(f"r{i}", "Say hi", output=f"{out} {i}", prompt_id=pid)


def test_rubric_scores_and_errors():
    replies = ['{"score": 5, "rationale": "good"}', '{"score": 9, "rationale": "meh"}', "no json", ""]
    fake = FakeBackend(script=replies[:3] + [RuntimeError("server down")])
    verdicts = judge_rows([ex(i) for i in range(4)], fake, ModelConfig(temperature=0))
    assert verdicts[0].score == 5.0 and verdicts[0].error is None and verdicts[0].rationale == "good"
    assert verdicts[1].score is None and "score" in verdicts[1].error  # out of range is an error
    assert verdicts[2].score is None and verdicts[2].error.startswith("unparseable judge reply")
    assert verdicts[2].raw == "no json"
    assert verdicts[3].error.startswith("judge request failed")
    # the request carries the row and asks for the schema
    assert "answer 0" in fake.calls[0].messages[-1].content and fake.calls[0].response_schema


def test_verdict_cannot_hold_both_error_and_score():
    with pytest.raises(ValidationError):
        JudgeVerdict(kind="rubric", example_id="x", judge_model="j", score=3, error="bad")
    with pytest.raises(ValidationError):
        JudgeVerdict(kind="rubric", example_id="x", judge_model="j")


def test_pairwise_both_orders():
    assert combine("a", "b") == "a"      # a won as A, and again as B
    assert combine("a", "a") == "tie"    # position bias: always picks A
    assert combine("tie", "tie") == "tie"
    assert combine("b", None) is None    # an error is not a vote
    answers = [json.dumps({"rationale": "r", "winner": w}) for w in ["A", "B", "A", "A", "B", "oops"]]
    fake = FakeBackend(script=answers)
    got = judge_both_orders([("p", "x", "y"), ("p", "x", "z"), ("p", "y", "z")], fake, ModelConfig())
    assert [v.winner for v in got] == ["a", "tie", None]
    assert (got[1].forward, got[1].backward) == ("a", "a")  # the flip is kept, in each request's own terms
    # each item is asked as (a, b), then as (b, a): Response A is a, then b
    shown = [c.messages[-1].content.split("### Response A\n")[1].split("\n")[0] for c in fake.calls]
    assert shown == ["x", "y", "x", "z", "y", "z"]


def test_win_rate_reads_both_orders():
    verdicts = [BothOrders("a", "b"),    # the answer (a) wins in both orders -> 1
                BothOrders("a", "a"),    # the judge always picks the first position -> 0.5
                BothOrders("b", "a"),    # loses in both -> 0
                BothOrders("tie", "b"),  # a tie in one order -> 0.5
                BothOrders(None, "b")]   # a judge error -> 0.5, counted
    report = win_rate(verdicts)
    assert report["metric"] == "judge_win_rate_vs_reference"
    assert [p["score"] for p in report["per_example"]] == [1.0, 0.5, 0.0, 0.5, 0.5]
    assert report["value"] == pytest.approx(2.5 / 5)
    assert report["n"] == 5 and report["errors"] == 1


def test_best_worst_pairs_margin_and_errors():
    rows = [ex(0, "p1"), ex(1, "p1"), ex(2, "p1"), ex(3, "p2"), ex(4, "p2"), ex(5, "p3"), ex(6, "p3")]

    def v(i, s=None, err=None):
        return JudgeVerdict(kind="rubric", example_id=f"r{i}", judge_model="j", score=s, error=err)

    verdicts = {x.example_id: x for x in [v(0, 3), v(1, 5), v(2, 1), v(3, 4), v(4, 4), v(5, 5), v(6, err="bad")]}
    pairs, why = best_worst_pairs(rows, verdicts, 1.0)
    assert len(pairs) == 1
    p = pairs[0]
    assert (p.chosen_id, p.rejected_id, p.margin, p.source) == ("r1", "r2", 4.0, "judge_rubric")
    assert p.chosen == "answer 1" and p.prompt == "Say hi"
    assert why == {"margin_too_small": 1, "too_few_scored": 1}  # p2 ties at 4, p3 has one scored row


def test_expected_score_weights_digits_at_the_score_token():
    import math

    from seedfactory.judges.rubric import expected_score, parse_rubric, rubric_request
    from seedfactory.schemas import GenerationResult, Sampling
    from seedfactory.schemas.records import TokenLogprobs

    def tok(t, **top):
        return TokenLogprobs(token=t, top={t: 0.0, **{k: math.log(v) for k, v in top.get("alts", {}).items()}})

    toks = [tok('{"'), tok("score"), tok('":'), tok(" "),
            TokenLogprobs(token="5", top={"5": math.log(0.5), "1": math.log(0.25), " 1": math.log(0.25), "x": -1.0}),
            tok(', "rationale": "ok 3"}')]
    res = GenerationResult(request_key="k", model="j", text='{"score": 5, "rationale": "ok 3"}', prompt_hash="h",
                           sampling=Sampling(), logprobs=toks)
    assert expected_score(res) == 0.5 * 5 + 0.5 * 1  # " 1" and "1" are the same digit
    row = ex(0)
    v = parse_rubric(row, rubric_request(row, ModelConfig()), res)
    assert v.score == 3.0 and v.rationale == "ok 3"
    # without logprobs the written digit is the score
    assert parse_rubric(row, rubric_request(row, ModelConfig()), res.model_copy(update={"logprobs": None})).score == 5.0


def test_score_cutoff_absolute_and_quantile():
    from seedfactory.judges import score_cutoff

    scores = [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0]
    assert score_cutoff(scores, 1.0, 0.2) == 1.3      # the lowest 20% leave
    assert score_cutoff(scores, 1.75, 0.2) == 1.75    # an absolute floor above the quantile wins
    assert score_cutoff(scores, 1.0, 0.0) == 1.0
    assert score_cutoff([], 2.0, 0.5) == 2.0
