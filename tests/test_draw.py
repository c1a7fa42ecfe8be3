"""Drawing values for a field's kind (generators/draw.py): valid, varied, seed-shaped, deterministic."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from kind_seeds import APPOINTMENT_SCHEMA, MISC_SCHEMA, ORDER_SCHEMA, appointment_seeds, misc_seeds, order_seeds

from seedfactory.generators.draw import draw_value
from seedfactory.schemas import SeedExample
from seedfactory.validators.kind_checks import parse_time
from seedfactory.validators.kind_evidence import code_shape
from seedfactory.validators.kinds import FieldKind, check_value, infer_kinds

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.fixture(scope="module")
def kinds():
    misc = {f"misc.{n}": fk for n, fk in infer_kinds(MISC_SCHEMA, misc_seeds()).items()}
    return {**infer_kinds(APPOINTMENT_SCHEMA, appointment_seeds()), **infer_kinds(ORDER_SCHEMA, order_seeds()), **misc}


# at least this many distinct values in 200 draws (labels and flags have only their set)
VARIETY = {"patient": 100, "department": 3, "date": 60, "time": 25, "slot": 25, "urgent": 2, "phone": 150,
           "email": 100, "order": 150, "total": 100, "items": 8, "weight": 40, "discount": 20,
           "misc.phone": 150, "misc.wait": 4, "misc.at": 60, "misc.amount": 100, "misc.pickup": 8, "misc.guests": 3}
ORGS = ["Krämer Druck GmbH", "THE COPPER KETTLE CAFE", "Brightline Studio LLC"]
EXTRA = [FieldKind("org", "organisation", False, "", {"values": ORGS, "locales": ["de_DE", "en_GB"]}),
         FieldKind("city", "place", False, "", {"values": ["Bath", "Portland"], "locales": ["en_US"]}),
         FieldKind("site", "url", False, "", {"domains": ["shop.example.com"], "schemes": ["https"]}),
         FieldKind("at", "datetime", False, "", {"min": "2027-03-03T09:00:00", "granularity_minutes": 30,
                                                 "hour_min": 9, "hour_max": 17, "format": "iso-minutes"}),
         FieldKind("prep", "duration", False, "", {"form": "text", "units": ["min"], "min": 5, "max": 90,
                                                   "integer": True}),
         FieldKind("note", "span", False, "", {"values": ["leave at the door", "ring twice please"]})]


@pytest.mark.parametrize("name", sorted(VARIETY))
def test_200_draws_valid_and_varied(kinds, name):
    fk = kinds[name]
    rng = random.Random(11)
    values = [draw_value(fk, rng) for _ in range(200)]
    bad = [(v, check_value(v, fk)) for v in values if check_value(v, fk)]
    assert bad == []
    assert len({repr(v) for v in values}) >= VARIETY[name]


@pytest.mark.parametrize("fk", EXTRA, ids=lambda fk: fk.kind)
def test_other_kinds_valid(fk):
    rng = random.Random(3)
    values = [draw_value(fk, rng) for _ in range(200)]
    assert [v for v in values if check_value(v, fk)] == []
    assert len(set(values)) >= 2


def test_times_keep_granularity_and_hours(kinds):
    rng = random.Random(5)
    for _ in range(200):
        hour, minute, _, _ = parse_time(draw_value(kinds["time"], rng))
        assert 8 <= hour <= 17 and minute % 15 == 0


def test_codes_keep_the_seed_shape(kinds):
    rng = random.Random(2)
    drawn = [draw_value(kinds["order"], rng, base="ORD-2024-0193") for _ in range(200)]
    assert {code_shape(c) for c in drawn} == {"A-9-9"}
    assert len(set(drawn)) > 190


def test_dates_move_from_base_within_the_seeds_span(kinds):
    rng = random.Random(9)
    days = [date.fromisoformat(draw_value(kinds["date"], rng, base="2027-05-01")) for _ in range(200)]
    span = kinds["date"].info["span_days"]
    assert all(abs((d - date(2027, 5, 1)).days) <= span for d in days)
    assert len(set(days)) > 50


def test_numbers_keep_type_and_precision(kinds):
    rng = random.Random(4)
    items = [draw_value(kinds["items"], rng) for _ in range(200)]
    assert all(isinstance(n, int) and n >= 1 for n in items)
    totals = [draw_value(kinds["total"], rng) for _ in range(200)]
    assert all(round(t, 2) == t and t > 0 for t in totals)


def test_labels_in_the_seeds_proportions(kinds):
    rng = random.Random(1)
    drawn = [draw_value(kinds["department"], rng) for _ in range(2000)]
    assert "neurology" not in drawn  # never in the seeds: the caller draws it as an edge case
    assert 0.44 < drawn.count("cardiology") / 2000 < 0.56


def test_phones_and_emails_shaped_like_the_seeds(kinds):
    rng = random.Random(8)
    phones = [draw_value(kinds["phone"], rng) for _ in range(50)]
    assert all(p.startswith("+44 ") for p in phones)
    emails = [draw_value(kinds["email"], rng) for _ in range(200)]
    assert any(e.endswith(("@example.org", "@mailbox.co.uk")) for e in emails)


def test_deterministic_given_rng(kinds):
    def run():
        rng = random.Random(42)
        return [draw_value(fk, rng) for fk in [*kinds.values(), *EXTRA] for _ in range(5)]
    assert run() == run()


@pytest.mark.parametrize("schema_file", sorted(SEEDS.glob("*.schema.json")), ids=lambda p: p.name.split(".")[0])
def test_draws_valid_on_every_bundled_seed_set(schema_file):
    seeds = [SeedExample.model_validate(json.loads(line))
             for line in schema_file.with_name(schema_file.name.replace(".schema.json", ".jsonl")).open()
             if line.strip()]
    rng = random.Random(0)
    schema = json.loads(schema_file.read_text())
    for name, fk in infer_kinds(schema, seeds).items():
        prop = Draft202012Validator(schema["properties"][name], format_checker=Draft202012Validator.FORMAT_CHECKER)
        for s in seeds[:25]:  # drawn from each seed's own value as base, as output-first targets are
            value = draw_value(fk, rng, base=s.output.get(name))
            assert check_value(value, fk) is None and prop.is_valid(value), (name, value)


def test_draws_keep_the_schemas_own_limits():
    seeds = [SeedExample(id=f"s{i}", instruction="x", input=f"order {c}, oven {t} °C", output={"id": c, "oven": t})
             for i, (c, t) in enumerate([("QF-104233", 180), ("QF-220871", 300), ("QF-093311", 250)])]
    schema = {"properties": {"id": {"type": "string", "pattern": "^QF-[0-9]{6}$"},
                             "oven": {"type": "integer", "maximum": 300, "exclusiveMinimum": 0}}}
    kinds, rng = infer_kinds(schema, seeds), random.Random(6)
    codes = [draw_value(kinds["id"], rng) for _ in range(200)]
    assert all(c.startswith("QF-") for c in codes)  # letters are redrawn now and then, never off the pattern
    assert all(0 < draw_value(kinds["oven"], rng, base=300) <= 300 for _ in range(200))
