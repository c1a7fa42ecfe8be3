"""parse_and_filter: structured outputs are parsed and checked against the seed schema, and every
heuristic drop carries its reason string; the stage order is the one the runner relies on."""

import pytest
from factories import make_env, make_example

from seedfactory.schemas import SeedExample
from seedfactory.validators import (
    VALIDATORS,
    decontaminate,
    diversity_filter,
    exact_dedup,
    near_dedup,
    parse_and_filter,
    seed_band,
)

SCHEMA = {
    "type": "object",
    "properties": {"vendor": {"type": "string"}, "total": {"type": "number"}},
    "required": ["vendor", "total"],
    "additionalProperties": False,
}


def example(id, instruction="Extract the invoice fields.", input="", output="A fine answer.", prompt_id=None):
    return make_example(id, instruction, input=input, output=output, prompt_id=prompt_id)


@pytest.fixture
def env():
    return make_env(min_chars=5, max_chars=40)


def run(env, rows):
    kept = list(parse_and_filter(rows, env))
    return kept, {r.row_id: (r.reason, r.detail) for r in env.reject.records}


def test_pipeline_order():
    assert VALIDATORS == [parse_and_filter, exact_dedup, decontaminate, near_dedup, seed_band, diversity_filter]


def test_schema_parses_json_text_and_names_the_bad_field(env):
    env.output_schema = SCHEMA
    rows = [
        example("ok-dict", output={"vendor": "ACME", "total": 12.5}),
        example("ok-text", output=' {"vendor": "ACME", "total": 3} '),
        example("missing", output='{"vendor": "ACME"}'),
        example("wrong-type", output={"vendor": "ACME", "total": "twelve"}),
        example("extra", output={"vendor": "ACME", "total": 1, "tax": 0.2}),
        example("prose", output="The vendor is ACME."),
        example("broken", output='{"vendor": "ACME", "total": '),
    ]
    kept, rejects = run(env, rows)
    assert [r.id for r in kept] == ["ok-dict", "ok-text"]
    assert kept[1].output == {"vendor": "ACME", "total": 3}  # the JSON text became the object
    assert {k: v[0] for k, v in rejects.items()} == dict.fromkeys(
        ["missing", "wrong-type", "extra", "prose", "broken"], "schema_invalid")
    assert rejects["missing"][1] == "$: 'total' is a required property"
    assert rejects["wrong-type"][1] == "$.total: 'twelve' is not of type 'number'"
    assert "'tax' was unexpected" in rejects["extra"][1]
    assert rejects["prose"][1] == rejects["broken"][1] == "output is not a JSON object"
    # The reject keeps the raw text the row was made from.
    assert [r.row["output"] for r in env.reject.records if r.row_id == "broken"] == ['{"vendor": "ACME", "total": ']


def test_without_schema_text_outputs_stay_text(env):
    kept, rejects = run(env, [example("a", output='{"vendor": "ACME"}')])
    assert kept[0].output == '{"vendor": "ACME"}' and rejects == {}


def test_heuristic_filters_name_their_reason(env):
    rows = [
        example("empty", output="   "),
        example("empty-obj", output={}),
        example("short", output="ok"),
        example("long", output="x" * 41),
        example("edge-short", output="five!"),
        example("edge-long", output="y" * 40),
        example("echo", instruction="Name a colour.", output="  name A colour. "),
        example("echo-prompt", instruction="Translate.", input="Bonjour tout le monde",
                output="translate. bonjour tout le monde"),
        example("good", instruction="Name a colour.", output="Teal green."),
    ]
    kept, rejects = run(env, rows)
    assert [r.id for r in kept] == ["edge-short", "edge-long", "good"]
    assert {k: v[0] for k, v in rejects.items()} == {
        "empty": "empty_output", "empty-obj": "empty_output", "short": "too_short", "long": "too_long",
        "echo": "echoes_instruction", "echo-prompt": "echoes_instruction"}
    assert rejects["short"][1] == "2 chars < validate.min_chars=5"
    assert rejects["long"][1] == "41 chars > validate.max_chars=40"
    assert all(r.stage == "validate" for r in env.reject.records)


def test_length_is_measured_on_the_stripped_output(env):
    # Padding neither lifts a short answer over validate.min_chars=5 nor pushes a 40-char one over max_chars=40.
    rows = [example("padded-short", output="    ok    "), example("padded-edge", output="  " + "y" * 40 + "\n\n")]
    kept, rejects = run(env, rows)
    assert [r.id for r in kept] == ["padded-edge"]
    assert rejects == {"padded-short": ("too_short", "2 chars < validate.min_chars=5")}


def test_copies_of_train_and_heldout_seeds_are_dropped(env):
    env.train_seeds = [SeedExample(id="train-1", instruction="Sum the numbers.", input="1 2 3", output="6")]
    env.heldout = [SeedExample(id="held-1", instruction="Reverse the word.", output="olleh")]
    rows = [
        example("copy-train", instruction="sum the   NUMBERS.", input=" 1 2 3", output="Six total."),
        example("copy-held", instruction="Reverse the word.", output="Done it."),
        example("other-input", instruction="Sum the numbers.", input="4 5 6", output="Fifteen."),
    ]
    kept, rejects = run(env, rows)
    assert [r.id for r in kept] == ["other-input"]
    assert rejects == {
        "copy-train": ("copies_seed", "same instruction and input as seed train-1"),
        "copy-held": ("copies_seed", "same instruction and input as seed held-1"),
    }


def test_an_invalid_schema_raises_instead_of_rejecting_every_row(env):
    from jsonschema.exceptions import SchemaError

    env.output_schema = {"type": "no-such-type"}
    with pytest.raises(SchemaError):
        run(env, [example("a")])


def test_missing_input_is_dropped_only_when_every_seed_has_one(env):
    env.train_seeds = [SeedExample(id="s1", instruction="Sum the numbers.", input="1 2 3", output="6"),
                       SeedExample(id="s2", instruction="Sum these.", input="4 5", output="9")]
    rows = [example("bare", instruction="Sum 1 and 2."), example("ok", input="7 8")]
    kept, rejects = run(env, rows)
    assert [r.id for r in kept] == ["ok"]
    assert rejects["bare"][0] == "missing_input"
    env.reject.records.clear()
    env.train_seeds.append(SeedExample(id="s3", instruction="Say hi.", output="hi"))  # one seed has no input
    kept, rejects = run(env, rows)
    assert [r.id for r in kept] == ["bare", "ok"]
