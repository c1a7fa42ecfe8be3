"""Each row filter's exact verdict (validators/filters.py): True to keep, else (False, reason, detail),
as the filters promise to callers other than parse_and_filter.

    .venv/bin/python -m pytest -q tests/test_filter_verdicts.py
"""

from factories import make_example
from jsonschema import Draft202012Validator

from seedfactory.validators.filters import has_input, length_ok, matches_schema, not_echo, not_empty, not_seed_copy


def row(output, instruction="Say hi.", input=""):
    return make_example("r", instruction, input=input, output=output)


def test_every_filter_returns_false_with_its_reason():
    assert not_empty(row({})) == (False, "empty_output", "output is an empty object")
    assert not_empty(row("  ")) == (False, "empty_output", None)
    assert not_empty(row({"a": 1})) is True and not_empty(row("x")) is True
    assert length_ok(row("abc"), min_chars=4, max_chars=9) == (False, "too_short", "3 chars < validate.min_chars=4")
    assert length_ok(row("abcdefghij"), min_chars=4, max_chars=9) == (
        False, "too_long", "10 chars > validate.max_chars=9")
    assert not_echo(row("say  HI.")) == (False, "echoes_instruction", None)
    assert has_input(row("x", input=" ")) == (False, "missing_input", "every seed has an input; this row has none")
    assert not_seed_copy(row("x", input="In"), seeds={("say hi.", "in"): "s7"}) == (
        False, "copies_seed", "same instruction and input as seed s7")
    assert not_seed_copy(row("x", input="other"), seeds={("say hi.", "in"): "s7"}) is True


def test_schema_verdict_names_the_first_error_by_path():
    validator = Draft202012Validator({"type": "object", "properties": {"a": {"type": "integer"},
                                                                       "b": {"type": "integer"}}})
    assert matches_schema(row({"b": "x", "a": "y"}), validator=validator) == (
        False, "schema_invalid", "$.a: 'y' is not of type 'integer'")
    assert matches_schema(row("not an object"), validator=validator) == (
        False, "schema_invalid", "output is not a JSON object")
    assert matches_schema(row({"a": 1}), validator=validator) is True
