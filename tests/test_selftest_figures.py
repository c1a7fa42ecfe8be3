"""Exact figures of the judge self-test (judges/selftest.py): the corruptions made from a seed, the
AUC and pairwise figures of a report, on hand-made check sets and scripted judges.

    .venv/bin/python -m pytest -q tests/test_selftest_figures.py
"""

import json
import re

from factories import make_example

from seedfactory.generators.fake import FakeBackend
from seedfactory.judges import auc, corruptions, self_test
from seedfactory.judges.selftest import _alter
from seedfactory.schemas import SeedExample
from seedfactory.schemas.config import ModelConfig


class Picks:
    """A stand-in for random.Random whose choice() takes the given positions in turn."""

    def __init__(self, *positions):
        self.positions = list(positions)

    def choice(self, seq):
        return seq[self.positions.pop(0)]


def test_alter_scales_and_shifts_numbers_and_moves_dates():
    assert [_alter(10, Picks(i, j)) for i in range(4) for j in range(2)] == [6.0, 12.0, 10.0, 16.0, 12.0, 18.0,
                                                                              21.0, 27.0]
    assert _alter(1.234, Picks(1, 0)) == 2.11  # 1.234 x 0.9 + 1, two places
    assert [_alter("2024-03-14", Picks(i)) for i in range(4)] == ["2024-02-03", "2024-03-11", "2024-03-17",
                                                                  "2024-04-23"]


def test_alter_leaves_what_it_cannot_alter():
    for value in (True, None, "Acme", "2024/03/14", "2024-03-1x", "2024-3-14", "12024-03-14", "2024-13-14x",
                  "2024:03-14", "2024-03:14", ["x"], list("2024-03-14")):
        assert _alter(value, Picks(0)) is None, value


def test_value_altered_touches_an_alterable_field():
    a = SeedExample(id="a", instruction="Extract.", input="x", output={"v": "Acme", "w": "Oak", "t": 10.0})
    b = SeedExample(id="b", instruction="Extract.", input="y", output={"v": "Zeta", "w": "Elm", "t": 20.0})
    altered = dict(corruptions(a, [b], Picks(0, 0, 0, 2, 0, 0, 0, 0)))["value_altered"]
    assert altered == {"v": "Acme", "w": "Oak", "t": 6.0}


def test_a_text_answer_of_another_seed_swaps_no_field():
    a = SeedExample(id="a", instruction="Extract.", input="x", output={"v": "Acme", "t": 10.0})
    t = SeedExample(id="t", instruction="Say.", input="y", output="free text")
    kinds = [k for k, _ in corruptions(a, [t], Picks(0, 0, 0, 0, 0, 0, 0))]
    assert kinds == ["other_seed_answer", "field_dropped", "value_altered"]


def test_check_set_corrupts_each_seed_with_another_seeds_answer():
    from random import Random

    from seedfactory.judges import check_set

    seeds = [SeedExample(id=f"s{i}", instruction="Say.", input=f"q{i}", output=f"Answer {i}. More here.")
             for i in range(3)]
    checks = check_set(seeds, Random(0), limit=3)
    others = [(g.output, b.output) for g, b, kind in checks if kind == "other_seed_answer"]
    assert len(others) == 3 and all(good != bad for good, bad in others)


def test_truncated_keeps_two_fifths_and_at_least_eight_characters():
    b = SeedExample(id="b", instruction="Say.", input="y", output="Other.")
    long = SeedExample(id="a", instruction="Say.", input="x", output="abcdefghij" * 3)
    assert dict(corruptions(long, [b], Picks(0, 0)))["truncated"] == "abcdefghijab"  # 30 * 2 // 5
    short = SeedExample(id="s", instruction="Say.", input="x", output="abcdefghij")
    assert dict(corruptions(short, [b], Picks(0, 0)))["truncated"] == "abcdefgh"


def test_auc_of_an_empty_side_is_a_coin():
    assert auc([], [1.0]) == 0.5 and auc([1.0], []) == 0.5


def row(i, text):
    return make_example(f"x{i}", "Say something.", input=f"case {i}", output=text)


def judge(scores, pairwise):
    """Rubric: the score of the shown response's text ('bad json' for None). Pairwise: by the bad
    text shown, 'good' picks the good one, 'first' the first shown, 'err_forward' fails when the
    good one is shown first."""
    def reply(req):
        text = req.messages[-1].content
        if req.purpose == "judge_rubric":
            shown = re.search(r"<<Response \w+>>\n(.*)\n<</Response", text, re.S).group(1)
            score = scores[shown]
            return "bad json" if score is None else json.dumps({"score": score, "rationale": "r"})
        a = re.search(r"<<A \w+>>\n(.*)\n<</A", text, re.S).group(1)
        b = re.search(r"<<B \w+>>\n(.*)\n<</B", text, re.S).group(1)
        good_first = a in GOOD
        policy = pairwise[b if good_first else a]
        if policy == "err_forward" and good_first:
            return "bad json"
        vote = {"good": "A" if good_first else "B", "bad": "B" if good_first else "A", "first": "A"}.get(policy, "A")
        return json.dumps({"rationale": "r", "winner": vote})
    return FakeBackend(responder=reply)


GOOD = {"good one", "good two", "good three"}


def test_report_figures_of_a_judge_that_sometimes_leans_to_the_first_position():
    g1, g2 = row(1, "good one"), row(2, "good two")
    b1, b2, b3 = row(3, "bad one"), row(4, "bad two"), row(5, "bad three")
    checks = [(g1, b1, "k1"), (g1, b2, "k2"), (g2, b3, "k1")]
    scores = {"good one": 5, "good two": 4, "bad one": 4, "bad two": 1, "bad three": 3}
    report = self_test(checks, judge(scores, {"bad one": "good", "bad two": "first", "bad three": "first"}),
                       ModelConfig(), None)
    assert (report["n_good"], report["n_bad"], report["judge_errors"], report["mean_good"]) == (2, 3, 0, 4.5)
    assert report["auc"] == 0.9167  # 5.5 of 6 good-bad comparisons
    assert report["auc_by_kind"] == {"k1": 0.875, "k2": 1.0}
    # one consistent win and two first-position ties: 2 of 3 both ways and by hard votes; 5 of 6
    # replies picked the response shown first
    assert report["pairwise"] == {"n": 3, "errors": 0, "accuracy_both_orders": 0.6667,
                                  "accuracy_hard_votes": 0.6667, "picks_first_position": 0.8333}
    assert [(e["kind"], e["good_score"], e["bad_score"]) for e in report["examples"]] == [
        ("k1", 5, 4), ("k2", 5, 1), ("k1", 4, 3)]


def test_report_counts_failed_replies_as_errors_and_ties():
    goods = [row(1, "good one"), row(2, "good two"), row(3, "good three")]
    bads = [row(4, "bad one"), row(5, "bad two"), row(6, "bad three")]
    checks = [(g, b, "k") for g, b in zip(goods, bads)]
    scores = {"good one": 5, "good two": 4, "good three": 4, "bad one": None, "bad two": 1, "bad three": 4}
    report = self_test(checks, judge(scores, {"bad one": "good", "bad two": "good", "bad three": "err_forward"}),
                       ModelConfig(), None)
    # goods 5, 4, 4 against bads 1 and 4 (the failed one left out): 5 of 6 comparisons, ties half
    assert (report["judge_errors"], report["mean_good"], report["auc"]) == (1, 4.333, 0.8333)
    assert report["auc_by_kind"] == {"k": 0.8333}
    assert report["examples"][0]["bad_score"] is None
    # the failed order leaves that item out of both-orders accuracy; as a hard vote it is a tie
    assert report["pairwise"] == {"n": 3, "errors": 1, "accuracy_both_orders": 1.0,
                                  "accuracy_hard_votes": 0.8333, "picks_first_position": 0.5}


def test_report_shows_six_examples_cut_at_200_characters():
    good = row(0, "g" * 250)
    checks = [(good, row(i, f"bad {i}" if i > 1 else "b" * 250), "k") for i in range(1, 8)]
    scores = {"g" * 250: 5, "b" * 250: 1, **{f"bad {i}": 1 for i in range(2, 8)}}
    report = self_test(checks, judge(scores, {}), ModelConfig(), None, pairwise=False)
    assert len(report["examples"]) == 6 and report["examples"][0]["good"] == "g" * 200
    assert report["examples"][0]["bad"] == "b" * 200
    assert "pairwise" not in report


def test_a_judge_that_prefers_the_bad_answer_loses_that_vote():
    goods = [row(1, "good one"), row(2, "good two"), row(3, "good three")]
    bads = [row(4, "bad one"), row(5, "bad two"), row(6, "bad three")]
    scores = dict.fromkeys(["good one", "good two", "good three"], 5) | dict.fromkeys(["bad one", "bad two",
                                                                                       "bad three"], 1)
    report = self_test([(g, b, "k") for g, b in zip(goods, bads)],
                       judge(scores, {"bad one": "good", "bad two": "bad", "bad three": "good"}), ModelConfig(), None)
    assert report["pairwise"]["accuracy_both_orders"] == 0.6667 and report["pairwise"]["accuracy_hard_votes"] == 0.6667
