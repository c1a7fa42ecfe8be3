"""Minimal-edit preference pairs (judges/pairs.py `minimal_edit_pairs`, edits from
judges/selftest.py `minimal_edits`): the rejected answer is the chosen one with exactly one field
corrupted, and the programmatic checks (schema, grounding) reject it.

    .venv/bin/python -m pytest -q tests/test_minimal_edits.py
"""

import json
import random
from collections import Counter
from datetime import date

from seedfactory.judges import dpo_readiness
from seedfactory.judges.pairs import edit_fails, minimal_edit_pairs
from seedfactory.judges.selftest import minimal_edits
from seedfactory.schemas import SeedExample
from seedfactory.schemas.seedfile import load_schema, schema_validator
from seedfactory.seeds import resolve_seed_path
from seedfactory.validators.quality import grounding_failures
from seedfactory.validators.values import is_stated

SEEDS = resolve_seed_path("invoice-fields")
SCHEMA = load_schema(SEEDS.with_name("invoice-fields.schema.json"))
KINDS = {"date_altered", "number_altered", "enum_swapped", "key_misspelled", "key_leading_space", "field_dropped"}


def invoice_seeds() -> list[SeedExample]:
    return [SeedExample.model_validate_json(j) for j in SEEDS.read_text().splitlines()]


def changed_fields(chosen: dict, rejected: dict) -> list[str]:
    """Fields of `chosen` that `rejected` does not hold with the same key and value."""
    return [k for k, v in chosen.items() if k not in rejected or rejected[k] != v]


def test_each_rejected_differs_in_one_field_and_fails_the_checks():
    seeds, validator = invoice_seeds(), schema_validator(SCHEMA)
    by_id = {s.id: s for s in seeds}
    pairs = minimal_edit_pairs(seeds, SCHEMA, random.Random(0), per_prompt=6, stated=is_stated)
    assert len(pairs) >= 3 * len(seeds)
    for p in pairs:
        seed = by_id[p.chosen_id]
        chosen, rejected = json.loads(p.chosen), json.loads(p.rejected)
        assert chosen == seed.output and validator.is_valid(chosen) and p.source == "minimal_edit"
        assert p.margin == 1.0  # the checks reject the edit outright
        changed = changed_fields(chosen, rejected)
        assert len(changed) == 1, (p.chosen, p.rejected)
        field, renamed = changed[0], set(rejected) - set(chosen)
        if renamed:  # a key misspelled or spaced: the same value under one new key
            (key,) = renamed
            assert field not in rejected and rejected[key] == chosen[field] and len(rejected) == len(chosen)
        else:
            assert len(rejected) in (len(chosen), len(chosen) - 1)
        as_row = seed.model_copy(update={"output": rejected})
        ungrounded = field in rejected and bool(grounding_failures(as_row, [field]))
        assert ungrounded or not validator.is_valid(rejected), (p.chosen, p.rejected)
        assert not grounding_failures(seed, [field]) or not validator.is_valid(rejected)
    per_seed = Counter(p.chosen_id for p in pairs)
    kinds = Counter(p.rejected_id.rsplit(":", 1)[1] for p in pairs)
    assert set(kinds) == KINDS and max(per_seed.values()) <= 6
    assert all(len({p.rejected for p in pairs if p.chosen_id == s}) == n for s, n in per_seed.items())


def test_per_prompt_caps_the_pairs_of_a_row_and_mixes_kinds():
    seed = invoice_seeds()[0]
    pairs = minimal_edit_pairs([seed], SCHEMA, random.Random(3), per_prompt=3, stated=is_stated)
    assert len(pairs) == 3 and len({p.rejected_id for p in pairs}) == 3


def test_edits_are_the_students_slips():
    obj = {"vendor": "Acme", "invoice_number": "A-1", "date": "2023-05-11", "currency": "JPY", "total": 120.0,
           "tax": 20.0}
    edits = {kind: (field, edited) for kind, field, edited in minimal_edits(obj, random.Random(1), SCHEMA)}
    assert set(edits) == KINDS
    field, edited = edits["date_altered"]
    assert field == "date" and edited["date"] != "2023-05-11" and len(edited["date"]) == 10
    field, edited = edits["enum_swapped"]
    assert field == "currency" and edited["currency"] in SCHEMA["properties"]["currency"]["enum"]
    assert edited["currency"] != "JPY"
    field, edited = edits["key_leading_space"]
    assert " " + field in edited and field not in edited and edited[" " + field] == obj[field]
    field, edited = edits["key_misspelled"]
    (new,) = set(edited) - set(obj)
    assert field not in edited and len(new) == len(field) - 1 and edited[new] == obj[field]
    field, edited = edits["field_dropped"]
    assert field not in edited and len(edited) == len(obj) - 1
    field, edited = edits["number_altered"]
    assert field in ("total", "tax") and edited[field] != obj[field]


def test_an_edit_the_input_still_states_is_not_a_pair():
    seed = SeedExample(id="s", instruction="Extract.", input="Acme\nSubtotal 100.00\nTotal 120.00 USD",
                       output={"vendor": "Acme", "total": 120.0, "currency": "USD"})
    validator = schema_validator({"type": "object", "properties": {}})
    assert edit_fails(seed, "total", {**seed.output, "total": 100.0}, validator, is_stated) is None
    assert edit_fails(seed, "total", {**seed.output, "total": 131.0}, validator, is_stated) == "ungrounded"
    strict = schema_validator({"type": "object", "required": ["vendor", "total", "currency"]})
    assert edit_fails(seed, "total", {"vendor": "Acme", "currency": "USD"}, strict, is_stated) == "schema"


def test_readiness_names_the_minimal_edit_source():
    pairs = minimal_edit_pairs(invoice_seeds()[:4], SCHEMA, random.Random(0), per_prompt=2, stated=is_stated)
    report = dpo_readiness(pairs, set(), min_pairs=2, max_length_bias=0.9)
    assert report["sources"] == {"minimal_edit": 8} and report["skip"] is None


def test_a_row_without_input_is_grounded_in_its_prompt():
    seed = SeedExample(id="s", instruction="Extract from: Acme, Total 120.00 USD", output={"total": 120.0})
    validator = schema_validator({"type": "object", "properties": {}})
    assert edit_fails(seed, "total", {"total": 131.0}, validator, is_stated) == "ungrounded"
    assert edit_fails(seed, "total", {"total": 120.0}, validator, is_stated) is None


def test_rows_with_a_text_output_are_passed_over_not_the_end():
    text_row = SeedExample(id="t", instruction="Say hi.", output="hi")
    seed = invoice_seeds()[0]
    pairs = minimal_edit_pairs([text_row, seed], SCHEMA, random.Random(0), per_prompt=2, stated=is_stated)
    assert [p.chosen_id for p in pairs] == [seed.id, seed.id]


def test_a_misspelt_key_loses_one_inner_character_never_its_first_or_last():
    from seedfactory.judges.selftest import _misspelled

    rng = random.Random(0)
    for key in ["tax", "total", "invoice_number"] * 40:
        new = _misspelled(key, rng)
        assert len(new) == len(key) - 1 and new[0] == key[0] and new[-1] == key[-1], (key, new)
    assert _misspelled("id", rng) == "idd"  # too short to lose an inner one: doubled instead


def test_an_enum_is_swapped_only_where_it_has_another_value():
    schema = {"type": "object", "properties": {"one": {"enum": ["only"]}, "two": {"enum": ["a", "b"]}}}
    for seed in range(20):
        edits = {kind: (field, edited) for kind, field, edited in
                 minimal_edits({"one": "only", "two": "a"}, random.Random(seed), schema)}
        assert edits["enum_swapped"] == ("two", {"one": "only", "two": "b"})
    assert "enum_swapped" not in {kind for kind, _, _ in minimal_edits({"one": "only"}, random.Random(0), schema)}


def test_a_one_letter_key_is_doubled():
    from seedfactory.judges.selftest import _misspelled

    assert _misspelled("q", random.Random(0)) == "qq"


def test_a_date_is_moved_inside_the_calendar_and_only_a_real_iso_date_is_one():
    # near the calendar's first and last days: moved inwards where a draw would pass them (Python raises)
    for value, inwards in [("9999-12-31", "earlier"), ("9999-12-30", "earlier"), ("0001-01-01", "later"),
                           ("0001-01-02", "later"), ("9999-12-20", None), ("0001-01-30", None)]:
        moved = set()
        for seed in range(30):
            (_, _, edited), = [e for e in minimal_edits({"due": value}, random.Random(seed)) if e[0] == "date_altered"]
            assert edited["due"] != value and date.fromisoformat(edited["due"]), (value, seed)
            moved.add("later" if edited["due"] > value else "earlier")
        assert moved == ({inwards} if inwards else {"earlier", "later"}), value
    for not_a_date in ["2024-02-30", "2024-1-05", "05/01/2024", "2024-01-0x"]:
        assert not [e for e in minimal_edits({"due": not_a_date}, random.Random(0)) if e[0] == "date_altered"]
