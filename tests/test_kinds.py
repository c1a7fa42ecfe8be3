"""Field kinds inferred from a schema and seeds (validators/kinds.py), overrides, and check_value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from kind_seeds import APPOINTMENT_SCHEMA, MISC_SCHEMA, ORDER_SCHEMA, appointment_seeds, misc_seeds, order_seeds

from seedfactory.schemas import SeedExample
from seedfactory.schemas.config import FieldKindName
from seedfactory.validators.kinds import KINDS, FieldKind, check_value, infer_kinds, kinds_table

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.fixture(scope="module")
def appointments():
    return infer_kinds(APPOINTMENT_SCHEMA, appointment_seeds())


@pytest.fixture(scope="module")
def orders():
    return infer_kinds(ORDER_SCHEMA, order_seeds())


def test_appointment_kinds(appointments):
    got = {name: fk.kind for name, fk in appointments.items()}
    assert got == {"patient": "person", "department": "label", "date": "date", "time": "time", "slot": "time",
                   "urgent": "boolean", "phone": "phone", "email": "email"}
    assert appointments["date"].nullable and not appointments["time"].nullable
    assert "pattern" in appointments["time"].evidence and "12/12" in appointments["time"].evidence
    assert appointments["time"].info["granularity_minutes"] == 15
    assert (appointments["time"].info["hour_min"], appointments["time"].info["hour_max"]) == (8, 17)
    assert appointments["department"].info["labels"] == {"cardiology": 0.5, "dermatology": 0.25,
                                                          "radiology": 0.25, "neurology": 0.0}
    assert appointments["phone"].info["regions"] == ["GB"]
    assert set(appointments["email"].info["domains"]) == {"example.org", "mailbox.co.uk"}
    assert appointments["date"].info["min"] == "2027-03-03"


def test_order_kinds(orders):
    got = {name: fk.kind for name, fk in orders.items()}
    assert got == {"order": "code", "total": "money", "items": "count", "weight": "quantity",
                   "discount": "percentage"}
    assert orders["order"].info["shapes"] == ["A-9-9"]
    assert orders["total"].info["decimals"] == 2 and orders["items"].info["integer"]
    assert orders["weight"].info["units"] == ["kg"]


def test_other_written_shapes():
    kinds = infer_kinds(MISC_SCHEMA, misc_seeds())
    assert {n: fk.kind for n, fk in kinds.items()} == {"phone": "phone", "wait": "duration", "at": "datetime",
                                                       "amount": "quantity", "pickup": "time", "guests": "count"}
    assert kinds["phone"].info == {"null_share": 0.0, "regions": ["US"], "style": "NATIONAL"}
    assert (kinds["wait"].info["form"], kinds["wait"].info["min"], kinds["wait"].info["max"]) == ("iso", 15, 75)
    assert (kinds["pickup"].info["hour_min"], kinds["pickup"].info["hour_max"]) == (13, 17)  # 1:30 PM is 13h
    assert kinds["amount"].info["units"] == ["g"]
    assert check_value("13:30 PM", kinds["pickup"]) and check_value("PT-5M", kinds["wait"])


def test_a_loose_schema_pattern_does_not_outvote_the_seeds():
    # this phone pattern also accepts "2024-03-14": the seeds' values decide between the two
    seeds = [SeedExample(id=f"s{i}", instruction="x", input=f"call {p}", output={"tel": p})
             for i, p in enumerate(["+44 113 496 0731", "+41 44 668 18 20", "+1 415 555 0132", "+49 30 901820"])]
    schema = {"properties": {"tel": {"type": "string", "pattern": r"^\+?[0-9(][0-9 ()./-]{5,22}[0-9]$"}}}
    fk = infer_kinds(schema, seeds)["tel"]
    assert fk.kind == "phone" and fk.info["regions"][0] in {"GB", "CH", "US", "DE"}
    assert check_value("+234 1 280 4417", fk) is None  # printed as people print it, not in phonenumbers' tables
    assert check_value("+999 12", fk) and check_value("2024-03-14", fk)


def test_times_with_digits_are_never_codes():
    # no schema hint at all: the values' shape decides, and a clock time is not an id
    seeds = [SeedExample(id=f"s{i}", instruction="x", input=f"see you at {t}", output={"at": t, "ref": f"A{i}7"})
             for i, t in enumerate(["09:30", "18:05", "07:45", "12:10"])]
    kinds = infer_kinds({"properties": {"at": {"type": "string"}, "ref": {"type": "string"}}}, seeds)
    assert kinds["at"].kind == "time" and kinds["ref"].kind == "code"


def test_places_and_organisations_by_their_words():
    def kind(values, texts=None):
        seeds = [SeedExample(id=f"s{i}", instruction="x", input=(texts or values)[i], output={"f": v})
                 for i, v in enumerate(values)]
        return infer_kinds({"properties": {"f": {"type": "string"}}}, seeds)["f"].kind

    addresses = ["12 High Street, Bath", "Hauptstraße 5, 10115 Berlin", "5 rue de la Paix, Paris",
                 "Storgatan 12, Malmö", "221 Baker Street, London"]
    assert kind(addresses) == "place"
    assert kind(["Paperkite Inc.", "Wisła Serwis Sp. z o.o.", "Norrsken AB", "Maple Ridge Supply",
                 "Havnens Cykler ApS"]) == "organisation"
    # people named in English texts come from everywhere: a known first name and a capitalised surname
    assert kind(["Hannah Nakamura", "Kenji Watanabe", "Priya Shah", "Lukas Müller", "Mary-Jane O'Neill"],
                [f"Booking for {n} please, she will arrive tomorrow morning." for n in "ABCDE"]) == "person"
    # the same shapes with no name, legal form or street in them: free text, not a code either
    assert kind(["leave it at the door", "call before noon", "second floor on the left",
                 "ring the bell twice", "back entrance please"]) == "span"


def test_labels_from_a_small_repeated_set():
    seeds = [SeedExample(id=f"s{i}", instruction="x", input=f"text {i}", output={"tier": t})
             for i, t in enumerate(["gold", "silver", "gold", "gold", "silver", "gold", "gold", "silver", "gold"])]
    fk = infer_kinds({"properties": {"tier": {"type": "string"}}}, seeds)["tier"]
    assert fk.kind == "label" and fk.info["labels"] == {"gold": 0.667, "silver": 0.333}
    assert check_value("bronze", fk) and check_value("gold", fk) is None


def test_override_wins_and_a_bad_one_names_the_key():
    seeds = appointment_seeds()
    kinds = infer_kinds(APPOINTMENT_SCHEMA, seeds, overrides={"slot": "span"})
    assert kinds["slot"].kind == "span" and kinds["slot"].evidence == "seeds.field_kinds override"
    with pytest.raises(ValueError, match=r"^seeds\.field_kinds\.slot: unknown kind 'clock'"):
        infer_kinds(APPOINTMENT_SCHEMA, seeds, overrides={"slot": "clock"})
    with pytest.raises(ValueError, match=r"^seeds\.field_kinds\.nope: no such output field"):
        infer_kinds(APPOINTMENT_SCHEMA, seeds, overrides={"nope": "time"})


def test_kinds_match_the_config_literal():
    assert set(get_args(FieldKindName)) == set(KINDS)


@pytest.mark.parametrize("field,value,why", [
    ("time", "76:17", "hour 76"), ("time", "12:66", "minute 66"), ("time", "noon-ish", "not a time"),
    ("slot", "24:00", "hour 24"), ("date", "2027-02-31", "not a real date"), ("date", "1689-05-01", "year 1689"),
    ("email", "a@b", "e-mail"), ("email", "ana@@x.org", "e-mail"), ("phone", "call me", "phone"),
    ("phone", "12", "phone"), ("department", "billing", "not one of"), ("urgent", "yes", "true/false"),
    ("patient", "R2D2 9000", "digits"), ("time", None, "never null"),
])
def test_check_rejects_impossible_values(appointments, field, value, why):
    problem = check_value(value, appointments[field])
    assert problem and why in problem


@pytest.mark.parametrize("field,value", [
    ("time", "23:59"), ("time", "00:00"), ("date", "2028-02-29"), ("date", None), ("email", "x.y+z@sub.example.com"),
    ("phone", "+44 20 7946 0999"), ("department", "neurology"), ("urgent", False), ("patient", "Zoë O'Neill"),
])
def test_check_accepts_possible_values(appointments, field, value):
    assert check_value(value, appointments[field]) is None


@pytest.mark.parametrize("field,value,why", [
    ("items", -3, "negative"), ("items", 2.5, "whole number"), ("total", 12.345, "decimals"),
    ("total", 1e9, "100 times"), ("discount", 250, "percentage"), ("order", "ORD 2024", "spaces"),
    ("order", "2024/ORD", "matches none"), ("total", "12.50", "not a number"),
])
def test_check_rejects_bad_numbers_and_codes(orders, field, value, why):
    problem = check_value(value, orders[field])
    assert problem and why in problem


def test_check_urls_and_datetimes():
    url = FieldKind("u", "url", False, "", {"bare": False})
    assert check_value("https://shop.example.com/a?b=1", url) is None
    assert check_value("http//x", url) and check_value("https://localhost", url)
    stamp = FieldKind("t", "datetime", False, "", {})
    assert check_value("2027-03-03T14:30:00Z", stamp) is None
    assert "hour 76" in check_value("2027-03-03T76:17", stamp)


def test_bundled_invoice_seeds_and_table_is_json():
    seeds = [SeedExample.model_validate(json.loads(line)) for line in (SEEDS / "invoice-fields.jsonl").open()]
    schema = json.loads((SEEDS / "invoice-fields.schema.json").read_text())
    kinds = infer_kinds(schema, seeds)
    assert {n: fk.kind for n, fk in kinds.items()} == {
        "vendor": "organisation", "invoice_number": "code", "date": "date", "currency": "label",
        "total": "money", "tax": "money"}
    assert all(check_value(s.output[n], fk) is None for s in seeds for n, fk in kinds.items())
    table = json.loads(json.dumps(kinds_table(kinds)))
    assert table["invoice_number"]["nullable"] and "shapes" in table["invoice_number"]["info"]
    assert table["date"]["evidence"].startswith("schema pattern")


def test_invalid_value_filter_drops_impossible_rows_and_writes_the_table():
    from factories import make_env, make_example

    from seedfactory.validators.filters import parse_and_filter

    seeds = appointment_seeds()
    env = make_env(train_seeds=seeds[:9], output_schema=APPOINTMENT_SCHEMA)
    base = seeds[9]

    def row(id, **change):
        return make_example(id, "Read this request.", input=base.input, output={**base.output, **change})

    kept = list(parse_and_filter([row("ok"), row("bad", slot="76:17"), row("feb", date="2027-02-31")], env))
    assert [r.id for r in kept] == ["ok"]
    drops = {r.row_id: r for r in env.reject.records}
    assert drops["bad"].reason == "invalid_value"
    assert drops["bad"].detail == "slot='76:17' (time): hour 76 is not 0-23"  # "time": the schema's pattern
    assert drops["feb"].detail.startswith("date='2027-02-31' (date):")
    table = env.get_calibration()["kinds"]
    assert table["time"]["kind"] == "time" and table["time"]["applied"] and table["time"]["seed_pass_rate"] == 1.0


def test_invalid_value_filter_takes_the_override():
    from factories import make_env, make_example

    from seedfactory.validators.filters import parse_and_filter

    seeds = appointment_seeds()
    env = make_env(train_seeds=seeds[:9], output_schema=APPOINTMENT_SCHEMA)
    env.field_kinds = {"slot": "span"}  # seeds.field_kinds: the user says it is free text
    bad = make_example("bad", "Read this request.", input=seeds[9].input, output={**seeds[9].output, "slot": "76:17"})
    list(parse_and_filter([bad], env))
    assert all(r.reason != "invalid_value" for r in env.reject.records)
    assert env.get_calibration()["kinds"]["slot"]["evidence"] == "seeds.field_kinds override"


@pytest.mark.parametrize("schema_file", sorted(SEEDS.glob("*.schema.json")), ids=lambda p: p.name.split(".")[0])
def test_every_bundled_seed_and_eval_case_is_possible_for_its_kinds(schema_file):
    """No false alarm on real data: each bundled set's seeds and evaluation cases pass check_value."""
    def read(path):
        return [SeedExample.model_validate(json.loads(line)) for line in path.open() if line.strip()]

    seeds = read(schema_file.with_name(schema_file.name.replace(".schema.json", ".jsonl")))
    eval_file = schema_file.with_name(schema_file.name.replace(".schema.json", ".eval.jsonl"))
    kinds = infer_kinds(json.loads(schema_file.read_text()), seeds)
    cases = seeds + (read(eval_file) if eval_file.is_file() else [])
    bad = [(c.id, n, why) for c in cases for n, fk in kinds.items() if (why := check_value(c.output.get(n), fk))]
    assert bad == []
