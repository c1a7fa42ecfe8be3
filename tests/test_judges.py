"""Judges with fakes: parse failures are errors never scores; flips are ties; pairs need a margin."""

import json

import pytest
from factories import make_example
from pydantic import ValidationError

from seedfactory.generators.fake import FakeBackend
from seedfactory.judges import BothOrders, combine, judge_both_orders, judge_rows, win_rate
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
    shown = [c.messages[-1].content.split("Response A:\n<<A ")[1].split("\n")[1] for c in fake.calls]
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


def test_panel_pairs_rank_by_the_signals_that_passed():
    from seedfactory.judges import Consensus, panel_pairs

    a, b, c = ex(0, "p1"), ex(1, "p1"), ex(2, "p1")
    lone = ex(3, "p2")
    failed = ex(4, "p2")  # failed validation: the worst answer of p2 whatever else it has
    cons = {"p1": Consensus(0.6, {"r0": 1.0, "r1": 0.5, "r2": 0.3}, a), "p2": Consensus(1.0, {"r3": 1.0}, lone)}
    pairs, why = panel_pairs({"p1": [a, b, c], "p2": [lone]}, {"p2": [failed]}, cons, None, min_margin=0.2)
    got = {p.prompt_id: (p.chosen_id, p.rejected_id, p.margin) for p in pairs}
    # p1: panels (1+1)/2=1.0, (1+.5)/2=.75, (1+.3)/2=.65 -> r0 over r2, margin .35; p2: 1.0 vs 0.0
    assert got == {"p1": ("r0", "r2", 0.35), "p2": ("r3", "r4", 1.0)}
    assert all(p.source == "panel" for p in pairs)
    # an untrusted judge is not passed in; a trusted one moves the ranking: r1 scored 5, r0 scored 1
    pairs, _ = panel_pairs({"p1": [a, b, c]}, {}, cons, {"r0": 1.0, "r1": 5.0, "r2": 3.0}, min_margin=0.2)
    assert [(p.chosen_id, p.rejected_id) for p in pairs] == [("r1", "r2")]  # .83 over .67 and .60
    pairs, why = panel_pairs({"p1": [a, b]}, {}, {"p1": Consensus(0.9, {"r0": 1.0, "r1": 0.9}, a)}, None, 0.2)
    assert pairs == [] and why == {"margin_too_small": 1}


def test_panel_pair_with_a_gap_exactly_min_margin_is_kept():
    import math

    from seedfactory.judges import Consensus, panel_pairs

    a, b = ex(0, "p1"), ex(1, "p1")
    cons = {"p1": Consensus(0.75, {"r0": 1.0, "r1": 0.5}, a)}  # panels 1.0 and 0.75: a gap of exactly 0.25
    pairs, why = panel_pairs({"p1": [a, b]}, {}, cons, None, min_margin=0.25)
    assert [(p.chosen_id, p.rejected_id, p.margin) for p in pairs] == [("r0", "r1", 0.25)] and why == {}
    pairs, why = panel_pairs({"p1": [a, b]}, {}, cons, None, min_margin=math.nextafter(0.25, 1.0))
    assert pairs == [] and why == {"margin_too_small": 1}


def test_panel_pair_ties_go_to_the_earlier_answer_at_the_top_and_the_later_at_the_bottom():
    from seedfactory.judges import Consensus, panel_pairs

    a, b, c, d = ex(0, "p1"), ex(1, "p1"), ex(2, "p1"), ex(3, "p1")
    cons = {"p1": Consensus(0.5, {"r0": 0.5, "r1": 0.5, "r2": 0.0, "r3": 0.0}, a)}  # panels .75 .75 .5 .5
    pairs, _ = panel_pairs({"p1": [a, b, c, d]}, {}, cons, None, min_margin=0.2)
    assert [(p.chosen_id, p.rejected_id, p.margin) for p in pairs] == [("r0", "r3", 0.25)]


def test_panel_score_exact_figures():
    from seedfactory.judges import Consensus
    from seedfactory.judges.pairs import panel_score

    r = ex(0)
    cons = Consensus(0.5, {"r0": 0.5}, r)
    assert panel_score(r, True, None, None) == 1.0  # no consensus entry: the check alone
    assert panel_score(r, True, None, 3.0) == 0.75  # judge 3 of 1-5 rescales to 0.5
    assert panel_score(r, True, None, 1.0) == 0.5 and panel_score(r, True, None, 5.0) == 1.0
    assert panel_score(r, True, cons, 2.0) == (1.0 + 0.5 + 0.25) / 3
    assert panel_score(r, False, None, 5.0) == 1 / 3  # a failed answer agrees with nothing: 0, 0, 1
    assert panel_score(r, False, cons, None) == 0.25


def test_panel_pairs_walk_every_task_and_count_why_none():
    from seedfactory.judges import Consensus, panel_pairs

    lone, same0, same1 = ex(0, "lone"), ex(1, "same"), ex(2, "same")
    a, b, c = ex(3, "p"), ex(4, "p"), ex(5, "p")
    cons = {"same": Consensus(1.0, {"r1": 1.0, "r2": 1.0}, same0),
            "p": Consensus(0.5, {"r3": 0.5, "r4": 1.0, "r5": 0.5}, b)}
    groups = {"lone": [lone], "same": [same0, same1], "p": [a, b, c], "two": [ex(6, "two")]}
    pairs, why = panel_pairs(groups, {"two": [ex(7, "two")]}, cons, {"r3": 1.0, "r4": 4.0, "r5": 2.0}, 0.2)
    # p: r3 (1+.5+0)/3=.5, r4 (1+1+.75)/3=.9167, r5 (1+.5+.25)/3=.5833: best r4 (not first), worst r3
    assert [(p.prompt_id, p.chosen_id, p.rejected_id, p.margin) for p in pairs] == [
        ("p", "r4", "r3", 0.4167), ("two", "r6", "r7", 1.0)]
    assert why == {"one_answer": 1, "margin_too_small": 1}


def test_dpo_readiness_says_why_it_skips():
    from seedfactory.judges import dpo_readiness
    from seedfactory.schemas import PreferencePair

    def pair(i, chosen, rejected):
        return PreferencePair(id=f"x{i}", prompt_id=f"p{i}", prompt="q", chosen=chosen, rejected=rejected,
                              chosen_id=f"c{i}", rejected_id=f"r{i}", margin=0.5, source="panel")

    balanced = [pair(i, "a" * (5 + i % 2 * 10), "b" * 10) for i in range(10)]
    ready = dpo_readiness(balanced, {"c1"}, min_pairs=8, max_length_bias=0.9)
    assert ready["skip"] is None and ready["chosen_longer_share"] == 0.5 and ready["chosen_below_cutoff"] == 1
    assert "< train.min_pairs=8" in dpo_readiness(balanced[:7], set(), 8, 0.9)["skip"]
    assert dpo_readiness(balanced[:8], set(), 8, 0.9)["skip"] is None  # exactly min_pairs is enough
    same = [pair(i, "a" * 10, "b" * 10) for i in range(3)]  # equal lengths: chosen is not longer
    third = dpo_readiness(same[:2] + [pair(9, "a" * 11, "b")], set(), 0, 1.0)
    assert third["chosen_longer_share"] == 0.3333
    shorter = [pair(i, "a" * (30 if i == 0 else 5), "b" * 10) for i in range(10)]  # chosen longer in 1 of 10
    assert dpo_readiness(shorter, set(), 0, 0.9)["skip"] is None  # 90% one way: at the bound, not above
    assert "chosen is longer in 10% of pairs" in dpo_readiness(shorter, set(), 0, 0.8)["skip"]
    longer = [pair(i, "a" * 20, "b" * 10) for i in range(10)]
    assert "length bias" in dpo_readiness(longer, set(), 8, 0.9)["skip"]


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


def test_expected_score_uses_uneven_probabilities_at_the_score_key_not_an_earlier_digit():
    import math

    from seedfactory.judges.rubric import expected_score
    from seedfactory.schemas import GenerationResult, Sampling
    from seedfactory.schemas.records import TokenLogprobs

    def tok(t):
        return TokenLogprobs(token=t, top={t: 0.0})

    at_key = TokenLogprobs(token="4", top={"4": math.log(0.7), "2": math.log(0.2), " 5": math.log(0.1)})
    toks = [tok('{"'), tok("rationale"), tok('": "'), tok("2"), tok(' apples", "'), tok("score"), tok('":'),
            tok(" "), at_key, tok("}")]
    res = GenerationResult(request_key="k", model="j", text='{"rationale": "2 apples", "score": 4}',
                           prompt_hash="h", sampling=Sampling(), logprobs=toks)
    # weighted: 4*.7 + 2*.2 + 5*.1 = 3.7; an unweighted mean would be 11/3, the rationale's digit 2.0
    assert expected_score(res) == pytest.approx(3.7, abs=1e-9)


def test_score_cutoff_absolute_and_quantile():
    from seedfactory.judges import score_cutoff

    scores = [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0]
    assert score_cutoff(scores, 1.0, 0.2) == 1.3      # the lowest 20% leave
    assert score_cutoff(scores, 1.75, 0.2) == 1.75    # an absolute floor above the quantile wins
    assert score_cutoff(scores, 1.0, 0.0) == 1.0
    assert score_cutoff([], 2.0, 0.5) == 2.0


def test_score_cutoff_raises_the_minimum_to_the_drop_quantile():
    from seedfactory.judges.rubric import score_cutoff

    scores = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert score_cutoff(scores, 2.5, 0.4) == 3.0  # the 3rd lowest of 5
    assert score_cutoff(scores, 2.5, 0.2) == 2.5  # the 2nd lowest (2.0) is under the minimum
    assert score_cutoff(scores, 2.5, 0.39) == 2.5  # int(1.95) = 1: still the 2nd lowest
    assert score_cutoff(scores, 2.5, 0.0) == 2.5 and score_cutoff([], 2.5, 0.5) == 2.5


def test_judge_rows_in_batches_keep_row_order_and_round_the_weighted_score():
    import math
    import re

    from seedfactory.schemas import GenerationResult, Sampling
    from seedfactory.schemas.records import TokenLogprobs

    third = math.log(1 / 3)

    def reply(req):
        n = int(re.search(r"answer (\d+)", req.messages[-1].content).group(1))
        toks = [TokenLogprobs(token=t, top={t: 0.0}) for t in ['{"', "score", '": ']]
        toks.append(TokenLogprobs(token="5", top={"5": third, "4": third, "1": third}))
        text = json.dumps({"score": 5, "rationale": f"row {n}"})
        return GenerationResult(request_key=req.key, model="j", text=text, prompt_hash="h", sampling=Sampling(),
                                logprobs=toks if n == 0 else None)

    class Backend:
        def __init__(self):
            self.batches = []

        def generate(self, reqs):
            self.batches.append(len(reqs))
            return [reply(r) for r in reqs]

    backend = Backend()
    verdicts = judge_rows([ex(i) for i in range(5)], backend, ModelConfig(), batch_size=2)
    assert backend.batches == [2, 2, 1]
    assert [v.rationale for v in verdicts] == [f"row {i}" for i in range(5)]
    assert verdicts[0].score == 3.3333 and verdicts[1].score == 5.0  # (5 + 4 + 1) / 3, four places


def logprob_result(tokens, text):
    """A judge reply whose tokens carry the given top alternatives ({token: probability})."""
    import math

    from seedfactory.schemas import GenerationResult, Sampling
    from seedfactory.schemas.records import TokenLogprobs

    toks = [TokenLogprobs(token=t, top={k: math.log(p) for k, p in (top or {t: 1.0}).items()}) for t, top in tokens]
    return GenerationResult(request_key="k", model="j", text=text, prompt_hash="h", sampling=Sampling(), logprobs=toks)


def test_weighted_score_divides_by_the_digit_mass_only():
    from seedfactory.judges.rubric import expected_score

    res = logprob_result([('{"score": ', None), ("5", {"5": 0.4, "4": 0.2, "x": 0.4})],
                         '{"score": 5, "rationale": "r"}')
    assert expected_score(res) == pytest.approx((5 * 0.4 + 4 * 0.2) / 0.6)


def test_first_better_reads_the_winner_token_not_an_earlier_a():
    from seedfactory.judges.pairwise import first_better

    text = '{"rationale": "A is long", "winner": "B"}'
    res = logprob_result([('{"rationale": "', None), ("A", {"A": 0.9, "B": 0.1}), (' is long", "winner": "', None),
                          ("B", {"B": 0.5, "A": 0.2, "tie": 0.2, "x": 0.1})], text)
    assert first_better(res) == pytest.approx((0.2 + 0.5 * 0.2) / 0.9)  # a tie counts half, over the A/B/tie mass


def test_tie_band_edges_are_ties():
    assert BothOrders("b", "a", 0.4, 0.5).p_a == 0.45 and BothOrders("b", "a", 0.4, 0.5).winner == "tie"
    assert BothOrders("a", "b", 0.6, 0.5).p_a == 0.55 and BothOrders("a", "b", 0.6, 0.5).winner == "tie"
    assert BothOrders("b", "a", 0.35, 0.5).winner == "b" and BothOrders("a", "b", 0.65, 0.5).winner == "a"


def test_win_rate_counts_each_failed_order_and_is_zero_with_no_items():
    report = win_rate([BothOrders(None, None), BothOrders("a", None)])
    assert report["errors"] == 3 and report["value"] == 0.5
    assert win_rate([])["value"] == 0.0 and win_rate([])["n"] == 0


def test_judge_requests_ask_for_alternatives_at_seed_zero():
    from seedfactory.judges import pairwise_request, rubric_request
    from seedfactory.judges.rubric import schema_note

    rubric = rubric_request(ex(0), ModelConfig())
    pair = pairwise_request("task", "one", "two", ModelConfig())
    assert (rubric.top_logprobs, rubric.sampling.seed, pair.top_logprobs, pair.sampling.seed) == (10, 0, 5, 0)
    assert schema_note(None) == "" and schema_note({}) == "" and "JSON object" in schema_note({"type": "object"})


def test_rubric_reply_bounds():
    from seedfactory.judges.rubric import parse_rubric, rubric_request
    from seedfactory.schemas import GenerationResult, Sampling

    row = ex(0)
    req = rubric_request(row, ModelConfig())

    def verdict(score, rationale="r"):
        text = json.dumps({"score": score, "rationale": rationale})
        return parse_rubric(row, req, GenerationResult(request_key="k", model="j", text=text, prompt_hash="h",
                                                       sampling=Sampling()))

    assert verdict(1).score == 1.0 and verdict(5, "r" * 160).score == 5.0
    assert verdict(0).error.startswith("unparseable judge reply: score:")
    assert verdict(6).error.startswith("unparseable judge reply: score:")
    assert verdict(3, "r" * 161).error.startswith("unparseable judge reply: rationale:")
    assert verdict(9, "r" * 161).error.startswith("unparseable judge reply: score:")  # the first error is named


def test_written_votes_are_one_zero_and_a_half():
    from seedfactory.judges.pairwise import first_better

    def vote(w, tokens=None):
        return first_better(logprob_result(tokens or [], json.dumps({"rationale": "r", "winner": w})))

    assert (vote("A"), vote("B"), vote("tie")) == (1.0, 0.0, 0.5)
    # the winner token's alternatives hold no A, B or tie at all: the written vote decides
    assert vote("B", [('{"rationale": "r", "winner": "', None), ("B", {"x": 0.5, "y": 0.5}),
                      ("A", {"A": 0.7, "B": 0.3})]) == 0.0  # and no later token is read instead
    assert [BothOrders(f, b).p_a for f, b in [("a", "b"), ("b", "a"), ("a", "a"), ("a", None)]] == [1.0, 0.0, 0.5, None]


def test_a_fence_is_named_with_an_eight_hex_digit_nonce_of_its_content():
    import hashlib
    import re

    from seedfactory.judges.fence import fence

    nonce = hashlib.sha256("Task\0say \u2039\u2039hi\u203a\u203a".encode()).hexdigest()[:8]  # of the neutralised text
    assert fence("Task", "say <<hi>>") == f"<<Task {nonce}>>\nsay \u2039\u2039hi\u203a\u203a\n<</Task {nonce}>>"
    assert re.fullmatch(r"<<Task [0-9a-f]{8}>>\n.*\n<</Task [0-9a-f]{8}>>", fence("Task", "x"))


def test_pairwise_reply_bounds_and_frozen_verdicts():
    import dataclasses

    from seedfactory.judges.pairwise import parse_pairwise
    from seedfactory.schemas import GenerationResult, Sampling

    def parsed(rationale):
        text = json.dumps({"rationale": rationale, "winner": "A"})
        return parse_pairwise(GenerationResult(request_key="k", model="j", text=text, prompt_hash="h",
                                               sampling=Sampling()))

    assert parsed("r" * 600) == "a" and parsed("r" * 601) is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        BothOrders("a", "b").forward = "b"
