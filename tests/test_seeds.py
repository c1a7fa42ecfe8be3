"""Bundled seed sets load and are well-formed; bad seed files fail naming file, line and field."""

import datetime
import json
import re
from pathlib import Path

import jsonschema
import pytest
from jsonschema import FormatChecker

from seedfactory.schemas import SeedFileError, load_schema, load_seeds, schema_next_to
from seedfactory.schemas.tools import calls_schema, load_tools, tools_next_to
from seedfactory.seeds import SEEDS_DIR, bundled_eval_sets, bundled_sets, resolve_seed_path

# Seed sets whose outputs are JSON objects checked against `<name>.schema.json`: one per domain, so
# that nothing in the code is shaped by one of them (issue 21).
SCHEMA_SETS = ["invoice-fields", "appointment-requests", "ticket-triage", "product-listings", "bank-transactions",
               "contact-details", "recipes", "job-posts", "medication-instructions"]
EXPECTED_SETS = {"support-bikeshop", "clause-classify", "support-chat", "calendar-tools", *SCHEMA_SETS}
CLAUSE_LABELS = {"rent", "deposit", "term", "termination", "repairs", "assignment", "insurance", "use",
                 "disputes"}


def _schema(path: Path) -> dict | None:
    """The set's output schema: its `.schema.json`, or the calls schema of its `.tools.json`."""
    if tools := tools_next_to(path):
        return calls_schema(load_tools(tools))
    schema_file = schema_next_to(path)
    return load_schema(schema_file) if schema_file else None


def _load(path: Path):
    return load_seeds(path, _schema(path))


def _asked(example) -> str:
    """What a case asks: its input, or (a conversation, whose input is empty) its last user turn."""
    return example.input.strip() or example.prompt


def _bundled(name: str) -> Path:
    """The bundled seed file of `name`."""
    return bundled_sets()[name]


def test_bundled_sets_are_found_by_name():
    sets = bundled_sets()
    assert EXPECTED_SETS <= set(sets)
    assert all(p.parent == SEEDS_DIR and p.stem == name for name, p in sets.items())
    assert sets["clause-classify"].suffix == ".yaml"  # the YAML reader is exercised by a real set


@pytest.mark.parametrize("name", sorted(EXPECTED_SETS))
def test_bundled_set_loads(name):
    seeds = _load(_bundled(name))
    assert 10 <= len(seeds) <= 30
    ids = [s.id for s in seeds]
    assert len(set(ids)) == len(ids)
    assert all(s.topic for s in seeds), "every bundled seed has a topic"
    assert len({s.topic for s in seeds}) >= 3
    assert len({s.instruction for s in seeds}) >= 3, "instructions are varied"
    # Explicit ids, not the loader's `<stem>-<line>` defaults, so they survive edits to the file.
    assert not any(re.fullmatch(rf"{re.escape(name)}-\d+", i) for i in ids)
    assert all(len(s.input) < 400 for s in seeds), "inputs stay short for a 135M model"


def test_invoice_outputs_follow_the_schema():
    path = bundled_sets()["invoice-fields"]
    schema = load_schema(SEEDS_DIR / "invoice-fields.schema.json")
    assert schema_next_to(path) == SEEDS_DIR / "invoice-fields.schema.json"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    validator = jsonschema.Draft202012Validator(schema)
    seeds = load_seeds(path)  # without the schema, so every violation is listed, not just the first
    for s in seeds:
        assert isinstance(s.output, dict)
        assert list(validator.iter_errors(s.output)) == [], s.id
        if s.output["date"] is not None:
            datetime.date.fromisoformat(s.output["date"])  # a real calendar day, not only the pattern
        assert list(s.output) == list(schema["properties"]), f"{s.id}: keys in schema order"
    # The set covers the null cases and several currencies.
    for field in ("invoice_number", "date", "tax"):
        assert any(s.output[field] is None for s in seeds), field
    assert len({s.output["currency"] for s in seeds}) >= 5


def _free_text(prop: dict) -> bool:
    """A string field with no enum, format or pattern: a name or span the text must state verbatim."""
    return not {"enum", "format", "pattern"} & set(prop)


@pytest.mark.parametrize("name", SCHEMA_SETS)
def test_schema_set_and_its_eval_cases_follow_the_schema(name):
    seed_path = _bundled(name)
    schema_file = schema_next_to(seed_path)
    assert schema_file is not None, f"{name}: no {name}.schema.json beside the seeds"
    schema = load_schema(schema_file)
    props = schema["properties"]
    assert schema["additionalProperties"] is False and set(schema["required"]) == set(props)
    assert all(p.get("description") for p in props.values()), "every field says what it holds"
    # The format checker reads "date" as a real calendar day (2027-02-30 fails) and "email" as an address.
    validator = jsonschema.Draft202012Validator(schema, format_checker=FormatChecker())
    seeds, cases = load_seeds(seed_path), load_seeds(bundled_eval_sets()[name])  # unchecked: list every error
    assert len(seeds) >= 12 and len(cases) >= 40
    ids = [r.id for r in [*seeds, *cases]]
    assert len(set(ids)) == len(ids), "ids are unique across the seeds and their eval cases"
    assert not {c.input.strip() for c in cases} & {s.input.strip() for s in seeds}
    for r in [*seeds, *cases]:
        assert isinstance(r.output, dict) and len(r.input) < 400, r.id
        assert [e.message for e in validator.iter_errors(r.output)] == [], r.id
        assert list(r.output) == list(props), f"{r.id}: keys in schema order"
        for key, value in r.output.items():
            if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                datetime.date.fromisoformat(value)  # a pattern alone lets 2027-02-31 through
            if isinstance(value, str) and _free_text(props[key]):
                assert value in r.input, f"{r.id}: {key}={value!r} is not written in the input"
    # Every label is taught and measured somewhere, and every nullable field has its null cases.
    for key, prop in props.items():
        for label in prop.get("enum", []):
            assert any(r.output[key] == label for r in [*seeds, *cases]), f"{name}: {key}={label!r} never used"
        if "null" in prop.get("type", []):
            assert any(s.output[key] is None for s in seeds), f"{name}: no seed with {key}=null"
            assert any(c.output[key] is None for c in cases), f"{name}: no eval case with {key}=null"


def test_support_replies_are_short():
    for s in load_seeds(bundled_sets()["support-bikeshop"]):
        assert isinstance(s.output, str)
        sentences = len(re.findall(r"[.!?](?:\s|$)", s.output))
        assert 2 <= sentences <= 4, (s.id, sentences)


def test_clause_outputs_are_label_and_reason():
    for s in load_seeds(bundled_sets()["clause-classify"]):
        m = re.fullmatch(r"Label: (\S+)\nReason: .+\.", s.output)
        assert m, s.id
        assert m.group(1) in CLAUSE_LABELS and m.group(1) == s.topic


def test_readme_table_lists_every_bundled_set():
    readme = (SEEDS_DIR / "README.md").read_text()
    for name in {*bundled_sets(), *EXPECTED_SETS}:
        assert f"`{name}`" in readme
    for path in bundled_eval_sets().values():
        assert f"`{path.name}`" in readme, "the evaluation files table names every eval file"


@pytest.mark.parametrize("name", sorted(EXPECTED_SETS))
def test_bundled_eval_set_is_separate_from_its_seeds(name):
    """`<name>.eval.*` holds cases written only to measure the student: never a seed set, no seed copied."""
    seed_path, evals = _bundled(name), bundled_eval_sets()
    assert name in evals and f"{name}.eval" not in bundled_sets()
    schema = _schema(seed_path)
    seeds, cases = load_seeds(seed_path, schema), load_seeds(evals[name], schema)
    assert len(cases) >= 40
    assert not {c.id for c in cases} & {s.id for s in seeds}
    assert not {_asked(c) for c in cases} & {_asked(s) for s in seeds}
    assert {c.topic for c in cases} >= {s.topic for s in seeds}, "every seed topic is evaluated"
    assert all(len(c.input) < 400 for c in cases)
    if name == "invoice-fields":
        seed_vendors = {s.output["vendor"] for s in seeds}
        assert not {c.output["vendor"] for c in cases} & seed_vendors
        for c in cases:
            assert list(c.output) == list(schema["properties"]), c.id
            if c.output["date"] is not None:
                datetime.date.fromisoformat(c.output["date"])
        assert {c.output["currency"] for c in cases} == set(schema["properties"]["currency"]["enum"])
    if name == "clause-classify":
        for c in cases:
            m = re.fullmatch(r"Label: (\S+)\nReason: .+\.", c.output)
            assert m and m.group(1) == c.topic and m.group(1) in CLAUSE_LABELS, c.id


def test_resolve_seed_path(tmp_path):
    assert resolve_seed_path("invoice-fields") == SEEDS_DIR / "invoice-fields.jsonl"
    own = tmp_path / "mine.jsonl"
    own.write_text('{"instruction": "a", "output": "b"}\n')
    assert resolve_seed_path(str(own)) == own
    msg = r"seeds.path='no-such-set' is neither a bundled seed set nor a file; bundled sets: .*invoice-fields"
    with pytest.raises(SeedFileError, match=msg):
        resolve_seed_path("no-such-set")
    with pytest.raises(SeedFileError, match="is a directory"):
        resolve_seed_path(str(tmp_path))


# -- bad files ------------------------------------------------------------------------------

GOOD = {"id": "a", "instruction": "Say hi.", "output": "hi"}


def _jsonl(tmp_path, *lines, name="seeds.jsonl"):
    path = tmp_path / name
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))
    return path


def test_jsonl_missing_output(tmp_path):
    path = _jsonl(tmp_path, GOOD, {"id": "b", "instruction": "Say bye."})
    with pytest.raises(SeedFileError) as e:
        load_seeds(path)
    assert str(e.value) == f"{path}:2: field 'output': Field required"


def test_jsonl_bad_json_line(tmp_path):
    path = _jsonl(tmp_path, GOOD, "", '{"id": "c", "instruction": "x" "output": "y"}')
    with pytest.raises(SeedFileError) as e:
        load_seeds(path)
    assert str(e.value).startswith(f"{path}:3: not valid JSON: Expecting ',' delimiter")


def test_jsonl_wrong_type(tmp_path):
    path = _jsonl(tmp_path, GOOD, {"id": "b", "instruction": ["not", "a", "string"], "output": "x"})
    with pytest.raises(SeedFileError) as e:
        load_seeds(path)
    assert str(e.value) == f"{path}:2: field 'instruction': Input should be a valid string"


def test_jsonl_schema_violation(tmp_path):
    schema = load_schema(SEEDS_DIR / "invoice-fields.schema.json")
    out = {"vendor": "X", "invoice_number": None, "date": "14.03.2024", "currency": "EUR", "total": 1,
           "tax": None}
    path = _jsonl(tmp_path, {"id": "x", "instruction": "Extract.", "input": "X 1 EUR", "output": out})
    with pytest.raises(SeedFileError) as e:
        load_seeds(path, schema)
    assert str(e.value).startswith(f"{path}:1: field 'output.date': '14.03.2024' does not match")

    bad = {**out, "date": None, "currency": "EURO"}
    path = _jsonl(tmp_path, {"id": "y", "instruction": "Extract.", "output": bad})
    with pytest.raises(SeedFileError, match=r"seeds.jsonl:1: field 'output.currency': 'EURO' is not one of"):
        load_seeds(path, schema)

    path = _jsonl(tmp_path, {"id": "z", "instruction": "Extract.", "output": "vendor X"})
    with pytest.raises(SeedFileError, match=r"seeds.jsonl:1: field 'output': the seed set declares a JSON"):
        load_seeds(path, schema)


def test_jsonl_duplicate_id(tmp_path):
    path = _jsonl(tmp_path, GOOD, {**GOOD, "id": "b"}, {**GOOD, "output": "again"})
    with pytest.raises(SeedFileError) as e:
        load_seeds(path)
    assert str(e.value) == f"{path}:3: field 'id': 'a' already used on line 1"


def _yaml(tmp_path, text):
    path = tmp_path / "seeds.yaml"
    path.write_text(text)
    return path


def test_yaml_missing_output_names_the_record_line(tmp_path):
    path = _yaml(tmp_path, "# two seeds\n- id: a\n  instruction: Say hi.\n  output: hi\n\n"
                           "- id: b\n  instruction: Say bye.\n")
    with pytest.raises(SeedFileError) as e:
        load_seeds(path)
    assert str(e.value) == f"{path}:6: field 'output': Field required"


def test_yaml_wrong_type_and_duplicate_id(tmp_path):
    path = _yaml(tmp_path, "- id: a\n  instruction: Say hi.\n  output: hi\n"
                           "- id: b\n  instruction: Add.\n  output: [1, 2]\n")
    msg = rf"{re.escape(str(path))}:4: field 'output\.str': Input should be a valid string"
    with pytest.raises(SeedFileError, match=msg):
        load_seeds(path)
    path = _yaml(tmp_path, "- id: a\n  instruction: Say hi.\n  output: hi\n"
                           "- id: a\n  instruction: Say bye.\n  output: bye\n")
    with pytest.raises(SeedFileError) as e:
        load_seeds(path)
    assert str(e.value) == f"{path}:4: field 'id': 'a' already used on line 1"


def test_yaml_syntax_error_and_not_a_list(tmp_path):
    with pytest.raises(SeedFileError, match=r"seeds.yaml:2: not valid YAML"):
        load_seeds(_yaml(tmp_path, "- id: a\n  instruction: Label: rent\n  output: x\n"))
    with pytest.raises(SeedFileError, match=r"seeds.yaml:1: a YAML seed file is a list of examples"):
        load_seeds(_yaml(tmp_path, "id: a\ninstruction: x\noutput: y\n"))


def test_chat_messages_form_as_documented(tmp_path):
    # The README's chat example, verbatim, loads as instruction + output.
    readme = (SEEDS_DIR / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith('{"id": "chat-1"'))
    seed, = load_seeds(_jsonl(tmp_path, line))
    assert seed.instruction == "How long does the Terra 2 take to charge?"
    assert seed.output == "About 5 hours from empty."
    bad = {"id": "c", "messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "?"}]}
    with pytest.raises(SeedFileError, match=r"seeds.jsonl:1: field '\(record\)'.*must end with a user turn"):
        load_seeds(_jsonl(tmp_path, bad))


def test_schema_seeds_without_instruction_get_one_from_the_schema(tmp_path):
    schema = {"title": "Booking", "description": "One booking message.", "type": "object",
              "properties": {"name": {"type": "string"}}, "required": ["name"]}
    path = _jsonl(tmp_path, {"input": "Book me, Ann Lee.", "output": {"name": "Ann Lee"}},
                  {"instruction": "Mine.", "input": "Bo here", "output": {"name": "Bo"}})
    first, second = load_seeds(path, schema)
    assert first.instruction == "Extract the Booking fields of this text as JSON. One booking message."
    assert second.instruction == "Mine."
    # without a schema an instruction stays required: nothing says what to ask
    with pytest.raises(SeedFileError, match=r"seeds.jsonl:1: field 'instruction': Field required"):
        load_seeds(path)



def test_support_chat_is_conversations_kept_whole():
    """Every seed and case has a system turn and earlier exchanges; several seeds have three user turns."""
    for path in (bundled_sets()["support-chat"], bundled_eval_sets()["support-chat"]):
        rows = load_seeds(path)
        for r in rows:
            assert r.history[0].role == "system" and len(r.history) >= 3, r.id
            assert [t.role for t in r.history[1:]] == ["user", "assistant"] * (len(r.history[1:]) // 2), r.id
            assert isinstance(r.output, str) and r.output.strip(), r.id
    assert sum(len(s.history) == 5 for s in load_seeds(bundled_sets()["support-chat"])) >= 4


def test_calendar_calls_validate_and_state_every_argument():
    """The tool set's seeds and cases: calls valid under their tools, every argument written in the request
    (the check generated rows must pass), no-call and two-call cases on both sides, every tool used."""
    from seedfactory.schemas.tools import call_errors
    from seedfactory.validators.calls import call_kinds, unstated

    path = bundled_sets()["calendar-tools"]
    tools = load_tools(tools_next_to(path))
    seeds, cases = _load(path), load_seeds(bundled_eval_sets()["calendar-tools"], _schema(path))
    kinds = call_kinds(tools, seeds)
    for r in [*seeds, *cases]:
        assert call_errors(r.output, tools) == [], r.id
        assert unstated(r.output["tool_calls"], r.prompt, tools, kinds) == [], r.id
    for rows in (seeds, cases):
        sizes = {len(r.output["tool_calls"]) for r in rows}
        assert {0, 1, 2} <= sizes
        assert {c["name"] for r in rows for c in r.output["tool_calls"]} == {t["name"] for t in tools}
