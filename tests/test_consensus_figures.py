"""Exact figures of consensus among a task's answers (judges/consensus.py): value keys, field
majorities and shares, agreement against a target, the text medoid.

    .venv/bin/python -m pytest -q tests/test_consensus_figures.py
"""

import numpy as np
from factories import make_example

from seedfactory.judges import consensus
from seedfactory.judges.consensus import _key, field_agreement


def answer(i, output, label="teacher"):
    row = make_example(f"r{i}", "Extract.", input="text", output=output, prompt_id="p")
    return row.model_copy(update={"lineage": row.lineage.model_copy(update={"label": label})})


def test_keys_fold_case_space_and_whole_floats():
    assert _key("  Acme   Ltd ") == _key("acme ltd") == "acme ltd"
    assert _key(1.0) == _key(1) == "1" and _key(1.5) == "1.5" and _key(True) == "true" and _key(None) == "null"
    assert _key({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


def test_field_agreement_in_thirds():
    answers = [{"v": "A", "t": 1}, {"v": "a", "t": 2}, {"v": "B", "t": 2, "x": 1}]
    majority, per_field, per_answer = field_agreement(answers)
    assert majority == {"t": 2, "v": "A", "x": None}  # the first answer with the winning key gives the value
    assert per_field == {"t": 2 / 3, "v": 2 / 3, "x": 2 / 3}
    assert per_answer == [2 / 3, 1.0, 1 / 3]
    assert field_agreement([{}, {}]) == ({}, {}, [1.0, 1.0])


def test_structured_consensus_figures_and_first_best_on_a_tie():
    rows = [answer(0, {"v": "A", "t": 1}), answer(1, {"v": "A", "t": 2}), answer(2, {"v": "B", "t": 2})]
    c = consensus(rows)
    assert c.per_row == {"r0": 0.5, "r1": 1.0, "r2": 0.5} and c.agreement == 0.6667 and c.best.id == "r1"
    assert c.fields == {"t": 0.6667, "v": 0.6667} and c.against_target is False
    tie = consensus([answer(0, {"v": "A"}), answer(1, {"v": "A"})])
    assert tie.best.id == "r0" and tie.agreement == 1.0


def test_one_or_no_answer():
    one = consensus([answer(0, {"v": "A"})])
    assert (one.agreement, one.per_row, one.best.id) == (1.0, {"r0": 1.0}, "r0")
    none = consensus([])
    assert (none.agreement, none.per_row, none.best) == (0.0, {}, None)


def test_answers_against_a_target_in_thirds():
    target = answer(9, {"v": "A", "t": 1, "d": "x"}, label="target")
    rows = [answer(0, {"v": "A", "t": 1, "d": "y"}), answer(1, "not json"), target]
    c = consensus(rows)
    assert c.per_row == {"r0": 2 / 3, "r1": 0.0, "r9": 1.0} and c.agreement == 0.3333
    assert c.best is target and c.majority == {"v": "A", "t": 1, "d": "x"} and c.against_target
    alone = consensus([target])
    assert alone.agreement == 1.0 and alone.per_row == {"r9": 1.0}


def test_a_text_target_is_not_a_reference():
    rows = [answer(9, "free text", label="target"), answer(0, {"v": "A"}), answer(1, {"v": "B"})]
    c = consensus(rows)
    assert c.against_target is False and c.per_row == {"r0": 1.0, "r1": 0.0} and c.best.id == "r0"


def test_text_consensus_is_the_mean_cosine_to_the_others():
    vecs = {"one": [1.0, 0.0], "two": [0.6, 0.8], "three": [0.0, 1.0]}
    c = consensus([answer(0, "one"), answer(1, "two"), answer(2, "three")],
                  lambda texts: np.array([vecs[t] for t in texts]))
    assert c.per_row == {"r0": 0.3, "r1": 0.7, "r2": 0.4} and c.best.id == "r1"
    assert c.agreement == 0.4667


def test_per_row_figures_keep_four_places():
    rows = [answer(0, {"v": "A", "t": 1, "d": 1}), answer(1, {"v": "A", "t": 1, "d": 2}),
            answer(2, {"v": "B", "t": 2, "d": 2})]
    assert consensus(rows).per_row == {"r0": 0.6667, "r1": 1.0, "r2": 0.3333}
    c = 0.123456
    vecs = {"one": [1.0, 0.0], "two": [c, (1 - c * c) ** 0.5], "three": [0.0, 1.0]}
    text = consensus([answer(0, "one"), answer(1, "two"), answer(2, "three")],
                     lambda texts: np.array([vecs[t] for t in texts]))
    assert text.per_row == {"r0": 0.0617, "r1": 0.5579, "r2": 0.4962}  # (c + 0) / 2, (c + s) / 2, (s + 0) / 2


def test_one_text_answer_needs_no_embedder_and_two_answers_are_compared():
    assert consensus([answer(0, "just one")]).per_row == {"r0": 1.0}
    two = consensus([answer(0, {"v": "A"}), answer(1, {"v": "A"})])
    assert two.per_row == {"r0": 1.0, "r1": 1.0} and two.fields == {"v": 1.0}
