"""Exact figures of the calibrated checks (validators/quality.py): every measure on hand-counted
texts, every threshold tested at the threshold and one step past it, every calibration figure as
the formula in the module docstring gives it. Written to kill the mutants `make mutation` found.

    .venv/bin/python -m pytest -q tests/test_quality_figures.py
"""

import numpy as np
import pytest
from factories import make_example

from seedfactory.schemas import SeedExample
from seedfactory.validators.quality import (
    calibrate,
    calibrate_band,
    data_quality,
    echo_score,
    grounding_failures,
    longest_symbol_run,
    quality_filters,
    repeated_ngram_share,
    span_fields,
    symbol_share,
)

INSTR = "Reply to the note."


@pytest.mark.parametrize("text, run", [
    ("", 0), ("abc 123", 0), ("a!", 1), ("ab!! cd", 2), ("x!!y!!!z", 3), ("!a!", 1), ("! !", 1), ("!!  !!!", 3),
    ("!?!?", 1), ("--==", 2), ("aa!!!", 3), ("...", 3),
])
def test_longest_symbol_run_counts_one_repeated_symbol(text, run):
    assert longest_symbol_run(text) == run


@pytest.mark.parametrize("text, share", [("", 0.0), ("   ", 0.0), ("ab", 0.0), ("a!", 0.5), ("a b!", 1 / 3),
                                         ("!!!", 1.0)])
def test_symbol_share_leaves_spaces_out(text, share):
    assert symbol_share(text) == pytest.approx(share)


@pytest.mark.parametrize("text, share", [("", 0.0), ("a b", 0.0), ("a b c", 0.0), ("a b c a b c", 0.25),
                                         ("A b c a B c a", 0.4), ("late late late late late", 2 / 3)])
def test_repeated_ngram_share_of_word_trigrams(text, share):
    assert repeated_ngram_share(text) == pytest.approx(share)


def test_repeated_ngram_share_other_n():
    assert repeated_ngram_share("a b a b", n=2) == pytest.approx(1 - 2 / 3)


@pytest.mark.parametrize("text, instruction, score", [("a b", "b c", 1 / 3), ("", "b c", 0.0), ("a", "", 0.0),
                                                      ("A b c d", "a B", 0.5), ("x", "x", 1.0)])
def test_echo_score_is_the_jaccard_of_word_sets(text, instruction, score):
    assert echo_score(text, instruction) == pytest.approx(score)


def test_span_fields_keep_text_like_values_only():
    schema = {"properties": {"name": {"type": "string"}, "kind": {"enum": ["a", "b"]}, "v": {"const": 1},
                             "flag": {"type": "boolean"}, "mixed": {}, "empty": {}, "n": {"type": "number"}}}
    outputs = [{"name": "Ann", "kind": "a", "v": 1, "flag": True, "mixed": "x", "empty": None, "n": 3},
               {"name": "Bo", "kind": "b", "v": 1, "flag": False, "mixed": True, "n": None}]
    assert span_fields(schema, outputs) == ["name", "n"]
    assert span_fields(None, outputs) == [] and span_fields({}, outputs) == []


def seed(i, text, out="ok", instruction=INSTR):
    return SeedExample(id=f"s{i}", instruction=instruction, input=text, output=out)


# hand-counted: "Ship it to Leeds!! now." is 23 chars, 19 non-space of which 3 symbols, a run of 2;
# the second seed strips to 24 chars (26 with its padding) and 2 of its 3 word 3-grams repeat the first
SEEDS = [seed(0, "Ship it to Leeds!! now."), seed(1, "late late late late late  "),
         seed(2, "A note about Leeds - ok?")]


def test_calibration_figures_are_the_documented_formulas():
    checks = calibrate(SEEDS, None, min_seed_pass=0.9)["checks"]
    checks.pop("wrong_language")  # language ids of short texts: covered by the LOO tests below
    assert checks == {
        "symbol_run": {"threshold": 6, "seeds_max": 2, "seed_pass_rate": 1.0, "applied": True},
        "symbol_share": {"threshold": 0.287, "seeds_max": 0.158, "seed_pass_rate": 1.0, "applied": True},
        "repeated_ngrams": {"threshold": 0.817, "seeds_max": 0.667, "seed_pass_rate": 1.0, "applied": True},
        "template_debris": {"seed_pass_rate": 1.0, "applied": True},
        "input_echoes_instruction": {"threshold": 0.5, "seeds_max": 0.125, "seed_pass_rate": 1.0, "applied": True},
        "input_length": {"min": 11, "max": 48, "seed_pass_rate": 1.0, "applied": True},
    }


def test_calibration_caps_the_share_thresholds_at_0_9_and_the_shortest_length_at_1():
    seeds = [seed(0, "!"), seed(1, "a a a a a a a a"), seed(2, "#?")]
    checks = calibrate(seeds, None, 0.9)["checks"]
    assert checks["symbol_share"]["threshold"] == 0.9 and checks["symbol_share"]["seeds_max"] == 1.0
    assert checks["repeated_ngrams"]["threshold"] == 0.9 and checks["repeated_ngrams"]["seeds_max"] == 0.833
    assert checks["input_length"]["min"] == 1 and checks["input_length"]["max"] == 30


def test_seed_pass_rates_at_the_minimum_are_applied_and_below_are_not():
    # one seed of three echoes its instruction at exactly 0.5 (fails), one carries debris
    seeds = [seed(0, "reply note", instruction="reply to the note"), seed(1, "a {{name}} here"),
             seed(2, "nothing alike at all")]
    checks = calibrate(seeds, None, min_seed_pass=0.667)["checks"]
    assert checks["input_echoes_instruction"]["seed_pass_rate"] == 0.667
    assert checks["input_echoes_instruction"]["seeds_max"] == 0.5
    assert checks["input_echoes_instruction"]["applied"] and checks["template_debris"]["applied"]
    checks = calibrate(seeds, None, min_seed_pass=0.668)["checks"]
    assert not checks["input_echoes_instruction"]["applied"] and not checks["template_debris"]["applied"]
    assert checks["symbol_run"]["applied"]  # measured checks every seed passes by construction


def test_a_seed_without_input_turns_the_input_checks_off():
    assert calibrate([seed(0, "some text here"), seed(1, "  ")], None, 0.9)["checks"] == {}
    assert calibrate([seed(0, "")], None, 0.9) == {"seeds": 1, "min_seed_pass": 0.9, "checks": {}}


def test_wrong_language_passes_a_seed_whose_language_another_seed_shares():
    en = ["The parcel with the blue mugs never arrived at my house.", "Please send me the invoice for last month."]
    de = ["Meine Bestellung ist nach drei Wochen immer noch nicht angekommen.", "Bitte schicken Sie mir die Rechnung."]
    check = calibrate([seed(i, t) for i, t in enumerate(en + de)], None, 1.0)["checks"]["wrong_language"]
    assert check == {"languages": ["de", "en"], "seed_pass_rate": 1.0, "applied": True}
    check = calibrate([seed(i, t) for i, t in enumerate(en + de[:1])], None, 0.9)["checks"]["wrong_language"]
    assert check == {"languages": ["de", "en"], "seed_pass_rate": 0.667, "applied": False}


SCHEMA = {"properties": {"vendor": {"type": "string"}, "total": {"type": "number"}, "cur": {"enum": ["EUR"]}}}


def test_ungrounded_calibration_per_field():
    seeds = [seed(0, "Oak Ltd, total 12.50", {"vendor": "Oak Ltd", "total": 12.5, "cur": "EUR"}),
             seed(1, "Elm Co, total 3", {"vendor": "Pine Co", "total": 3, "cur": "EUR"}),
             seed(2, "Ash Inc", {"vendor": "Ash Inc", "total": None, "cur": "EUR"})]
    got = calibrate(seeds, SCHEMA, 0.667)["checks"]["ungrounded"]
    assert got == {"fields": {"vendor": {"seed_pass_rate": 0.667, "applied": True, "unread": ["s1"]},
                              "total": {"seed_pass_rate": 1.0, "applied": True, "unread": []}}, "applied": True}
    got = calibrate(seeds, SCHEMA, 1.0)["checks"]["ungrounded"]
    assert got["fields"]["vendor"]["applied"] is False and got["applied"] is True
    got = calibrate(seeds[1:2], SCHEMA, 1.0)["checks"]["ungrounded"]
    assert got == {"fields": {"vendor": {"seed_pass_rate": 0.0, "applied": False, "unread": ["s1"]},
                              "total": {"seed_pass_rate": 1.0, "applied": True, "unread": []}}, "applied": True}
    got = calibrate(seeds[1:2], {"properties": {"vendor": {}}}, 1.0)["checks"]["ungrounded"]
    assert got == {"fields": {"vendor": {"seed_pass_rate": 0.0, "applied": False, "unread": ["s1"]}}, "applied": False}


def test_calibrate_band_is_the_seeds_nearest_neighbour_band():
    vectors = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    assert calibrate_band(vectors, 0.1) == {"applied": True, "threshold": 0.5, "seeds_nearest_min": 0.6,
                                           "seeds_nearest_median": 0.8, "seed_pass_rate": 1.0}
    assert calibrate_band(vectors[:2], 0.1) == {"applied": False, "why": "fewer than 3 seeds"}


def cal(**checks):
    return {"checks": {name: {**figures, "applied": figures.get("applied", True)} for name, figures in checks.items()}}


def verdict(c, text, instruction="zz"):
    [check] = quality_filters(c)
    return check(make_example("r", instruction, input=text, output="x"))


def test_input_length_bounds_are_inclusive_and_measured_stripped():
    c = cal(input_length={"min": 5, "max": 10})
    assert verdict(c, "abcde") is True and verdict(c, "abcdefghij") is True
    assert verdict(c, "abcd") == (False, "input_too_short", "4 chars < 5 (half the shortest seed)")
    assert verdict(c, "  abcd  ") == (False, "input_too_short", "4 chars < 5 (half the shortest seed)")
    assert verdict(c, "abcdefghijk") == (False, "input_too_long", "11 chars > 10 (twice the longest seed)")
    assert verdict(c, " abcdefghij ") is True
    assert verdict(c, "   ") is True  # no input at all is not a length problem


def test_measured_checks_pass_at_the_threshold_and_drop_one_step_past_it():
    c = cal(symbol_run={"threshold": 3})
    assert verdict(c, "ab!!!") is True
    assert verdict(c, "ab!!!!") == (False, "symbol_run", "a run of 4 symbols > 3")
    c = cal(symbol_share={"threshold": 0.5})
    assert verdict(c, "ab!!") is True
    assert verdict(c, "ab!!!") == (False, "symbol_share", "0.60 of characters are symbols > 0.5")
    c = cal(repeated_ngrams={"threshold": 0.25})
    assert verdict(c, "a b c a b c") is True
    assert verdict(c, "a b c a b c a") == (False, "repeated_ngrams", "0.40 of word 3-grams repeat > 0.25")


def test_debris_echo_and_language_checks():
    assert verdict(cal(template_debris={}), "x {{y}}") == (False, "template_debris", "'{{' at 2")
    assert verdict(cal(template_debris={}), "x {y}") is True
    c = cal(input_echoes_instruction={"threshold": 0.5})
    assert verdict(c, "a b c d", instruction="a b") == (False, "input_echoes_instruction",
                                                       "word overlap 0.50 with the instruction")
    assert verdict(c, "a b c d e", instruction="a b") is True  # 0.4
    c = cal(wrong_language={"languages": ["en"]})
    assert verdict(c, "Please send me the invoice for last month.") is True
    assert verdict(c, "Bitte schicken Sie mir die Rechnung vom letzten Monat.") == (
        False, "wrong_language", "de, seeds are en")


def test_a_check_the_seeds_failed_is_not_applied():
    off = {"applied": False}
    c = cal(input_length={"min": 5, "max": 6, **off}, symbol_run={"threshold": 1, **off},
            symbol_share={"threshold": 0.1, **off}, repeated_ngrams={"threshold": 0.1, **off},
            template_debris=off, input_echoes_instruction={"threshold": 0.5, **off},
            wrong_language={"languages": ["fr"], **off}, ungrounded={"fields": {"v": {"applied": True}}, **off})
    assert verdict(c, "a b c a b c a b c {{x}} !!!! ??? zz zz", instruction="a b c") is True


def test_grounding_checks_applied_fields_only():
    c = cal(ungrounded={"fields": {"vendor": {"applied": True}, "total": {"applied": True},
                                   "number": {"applied": False}}})
    _, grounded = quality_filters(c)
    row = make_example("r", INSTR, input="Oak Ltd, total 12.50",
                       output={"vendor": "Elm Co", "total": 3, "number": "77"})
    assert grounded(row) == (False, "ungrounded", "vendor='Elm Co' not in the input; total=3 not in the input")
    ok = make_example("r", INSTR, input="Oak Ltd, total 12.50", output={"vendor": "Oak Ltd", "total": None,
                                                                         "number": "77"})
    assert grounded(ok) is True
    assert grounding_failures(make_example("r", INSTR, input="x", output="free text"), ["vendor"]) == []


def test_data_quality_block_exact():
    seeds = [seed(0, "Oak Ltd, total 12.50", {"vendor": "Oak Ltd", "total": 12.5}),
             seed(1, "Elm Co, total 3", {"vendor": "Elm Co", "total": 3})]
    c = calibrate(seeds, SCHEMA, 0.9)
    rows = [make_example("a", INSTR, input="Oak Ltd 12.50", output={"vendor": "Oak Ltd", "total": 12.5}),
            make_example("b", INSTR, input="Oak Ltd 12.50", output={"vendor": "Oak Ltd", "total": 9}),
            make_example("c", INSTR, input="Oak Ltd 12.50", output={"vendor": "Ash", "total": 12.5}),
            make_example("d", INSTR, input="Oak Ltd 12.50", output="free text")]
    block = data_quality(rows, {"symbol_run": 2, "unknown": 5}, c, SCHEMA)
    assert block["grounded_rows"] == 1 and block["structured_rows"] == 3 and block["grounded_share"] == 0.3333
    assert block["drops_per_check"]["symbol_run"] == 2 and sum(block["drops_per_check"].values()) == 2
    assert block["seed_pass_rates"]["ungrounded.total"] == {"rate": 1.0, "applied": True}
    assert block["seed_pass_rates"]["symbol_run"] == {"rate": 1.0, "applied": True}
    assert "ungrounded" not in block["seed_pass_rates"]
    assert data_quality(rows[3:], {}, c, SCHEMA)["grounded_share"] is None
    assert "grounded_rows" not in data_quality(rows, {}, c, None)
    no_schema = calibrate(seeds, None, 0.9)
    assert "grounded_rows" not in data_quality(rows, {}, no_schema, SCHEMA)


def test_grounding_reads_the_input_not_the_instruction():
    # the vendor is named in the instruction only: not grounded, for a seed and for a row alike
    seeds = [seed(0, "total 3", {"vendor": "Oak Ltd", "total": 3}, instruction="Extract Oak Ltd's bill.")]
    fields = calibrate(seeds, SCHEMA, 1.0)["checks"]["ungrounded"]["fields"]
    assert fields == {"vendor": {"seed_pass_rate": 0.0, "applied": False, "unread": ["s0"]},
                      "total": {"seed_pass_rate": 1.0, "applied": True, "unread": []}}
    row = make_example("r", "Extract Oak Ltd's bill.", input="total 3", output={"vendor": "Oak Ltd", "total": 3})
    assert grounding_failures(row, ["vendor", "total"]) == ["vendor"]
    no_input = make_example("r", "Extract Oak Ltd's bill.", input="", output={"vendor": "Oak Ltd"})
    assert grounding_failures(no_input, ["vendor"]) == []  # without an input the prompt is the text


def test_calibrate_band_rounds_to_four_places():
    c = 0.123456
    vectors = np.array([[1.0, 0.0], [c, (1 - c * c) ** 0.5], [0.0, 1.0]])
    band = calibrate_band(vectors, 0.1)
    assert band["seeds_nearest_min"] == 0.1235 and band["threshold"] == 0.0235
    assert band["seeds_nearest_median"] == 0.9924  # sqrt(1 - c^2) = 0.992350...


def test_calibrate_band_of_seeds_pointing_apart_is_negative():
    # every seed's nearest other seed has a negative cosine: the band is below zero, not clipped at it
    vectors = np.array([[1.0, 0.0], [-0.6, 0.8], [-0.6, -0.8]])
    band = calibrate_band(vectors, 0.1)
    assert band["seeds_nearest_min"] == -0.6 and band["seeds_nearest_median"] == -0.28 and band["threshold"] == -0.7


def test_echo_figure_of_the_seeds_keeps_three_places():
    # {a, c} against {a, b}: one shared word of three, 0.333 (0.3333 with four places)
    checks = calibrate([seed(0, "a c", instruction="a b"), seed(1, "x y z")], None, 0.9)["checks"]
    assert checks["input_echoes_instruction"]["seeds_max"] == 0.333
