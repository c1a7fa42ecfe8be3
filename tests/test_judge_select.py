"""Judge selection (judges/select.py) on hand-made rows and verdicts: which answer becomes the SFT
row, what leaves and why (in the order the reject log gets it), the cut-off, and pairs the pairwise
judge confirms or turns down."""

from types import SimpleNamespace

from factories import make_example

from seedfactory.judges.select import select
from seedfactory.schemas import JudgeVerdict
from seedfactory.schemas.config import JudgeConfig


def row(i, pid, out):
    return make_example(f"r{i}", prompt_id=pid, output=out)


def verdict(i, score, flag=None):
    return JudgeVerdict(kind="rubric", example_id=f"r{i}", judge_model="j", score=score, flag=flag)


ROWS = [row(1, "p1", {"a": 1}), row(2, "p1", {"a": 1}), row(3, "p1", {"a": 2}),  # two agree
        row(4, "p2", {"a": 3}), row(5, "p2", {"a": 4}), row(8, "p2", {"a": 6}),  # no agreement
        row(6, "p3", {"a": 5}),  # one answer
        row(7, "p1", {"a": 9})]  # addressed to the grader
VERDICTS = [verdict(1, 5), verdict(2, 4), verdict(3, 1), verdict(4, 3), verdict(5, 3), verdict(8, 3), verdict(6, 2),
            verdict(7, 1, flag="addresses the grader")]
CFG = JudgeConfig(min_consensus=0.5, min_score=3, drop_fraction=0, min_margin=0.2)


def test_consensus_picks_the_sft_row_by_id_and_every_other_answer_leaves_with_its_reason():
    out = select(ROWS, VERDICTS, [], CFG, trusted=False)
    assert [r.id for r in out.sft] == ["r1", "r6"]  # untrusted judge: no cut-off
    assert out.sft[0].scores == {"consensus": 1.0, "judge": 5.0}  # the scored copy, not the input row
    assert [(r.id, why) for r, why, _ in out.rejects] == [
        ("r7", "addressed_grader"), ("r2", "not_selected"), ("r3", "not_selected"), ("r4", "no_consensus"),
        ("r5", "no_consensus"), ("r8", "no_consensus")]
    assert out.rejects[1][2]["dup_of"] == "r1"
    assert out.rejects[3][2]["detail"] == "answers agree 0.33 < judge.min_consensus=0.5"
    assert out.scored[0].scores["addressed_grader"] == 1.0 and [r.id for r in out.scored][1:] == [
        "r1", "r2", "r3", "r4", "r5", "r8", "r6"]
    assert out.cutoff is None and out.flagged == 1 and out.no_pair["one_answer"] == 1
    # the flagged answer is pair material on the rejected side
    assert any(p.rejected_id == "r7" for p in out.pairs) and all(p.chosen_id != "r7" for p in out.pairs)
    assert out.stats()["out"] == 2 and out.stats()["consensus_mean"] is not None


def test_a_trusted_judge_cuts_low_scores_and_its_pairwise_verdicts_keep_or_drop_pairs():
    asked = []

    def confirm(items):
        asked.extend(items)
        return [SimpleNamespace(winner="a" if i == 0 else "b") for i in range(len(items))]

    untrusted = select(ROWS, VERDICTS, [], CFG, trusted=True)  # no confirm: the panel's pairs
    out = select(ROWS, VERDICTS, [], CFG, trusted=True, confirm=confirm)
    assert out.cutoff == 3 and [r.id for r in out.sft] == ["r1"]
    assert (out.rejects[-1][0].id, out.rejects[-1][1], out.rejects[-1][2]["detail"]) == ("r6", "low_judge_score",
                                                                                         "below 3.000")
    assert len(asked) == len(untrusted.pairs) >= 2 and asked[0][1] == untrusted.pairs[0].chosen
    assert out.pairs == untrusted.pairs[:1]
    assert out.no_pair["judge_disagreed"] == len(untrusted.pairs) - 1
