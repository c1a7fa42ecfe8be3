"""Relations between fields that every seed keeps (an order, an inequality) are kept by drawn targets."""

import pytest

from seedfactory.generators import targets as targets_mod
from seedfactory.generators.relations import broken, keep_relations, seed_relations
from seedfactory.generators.targets import draw_targets
from seedfactory.schemas import SeedExample
from seedfactory.validators.kinds import infer_kinds

SCHEMA = {"type": "object", "properties": {
    "low": {"type": "number"}, "high": {"type": "number"}, "start": {"type": "string", "format": "date"},
    "end": {"type": "string", "format": "date"}, "origin": {"type": "string"}, "dest": {"type": "string"}}}
ROWS = [(3.5, 5.1, "2027-01-04", "2027-01-09", "Lyon", "Porto"),
        (12.0, 15.5, "2027-03-01", "2027-03-02", "Oslo", "Lyon"),
        (0.4, 4.0, "2027-05-10", "2027-06-01", "Porto", "Oslo"), (135, 145, "2027-07-07", "2027-07-21", "Riga", "Oslo"),
        (45, 90, "2027-09-30", "2027-10-03", "Lyon", "Riga")]


def _seeds():
    out = []
    for i, (lo, hi, a, b, o, d) in enumerate(ROWS):
        text = f"Range {lo} to {hi}; stay {a} until {b}; from {o} to {d}."
        out.append(SeedExample(id=f"s{i}", instruction="Extract.", input=text,
                               output={"low": lo, "high": hi, "start": a, "end": b, "origin": o, "dest": d}))
    return out


def test_the_seeds_relations_are_found():
    seeds = _seeds()
    kinds = infer_kinds(SCHEMA, seeds)
    rels = seed_relations([s.output for s in seeds], kinds)
    assert ("low", "<", "high") in rels and ("start", "<", "end") in rels and ("dest", "!=", "origin") in rels
    # low and start are of different kinds: no relation between them
    assert not any({a, b} == {"low", "start"} for a, _, b in rels)
    # one seed the other way round and the order is no longer every seed's
    flipped = [dict(s.output) for s in seeds]
    flipped[0]["low"], flipped[0]["high"] = 9.0, 1.0
    assert not any({r[0], r[2]} == {"low", "high"} for r in seed_relations(flipped, kinds))


def test_keep_relations_swaps_an_order_and_redraws_an_equal_pair():
    seeds = _seeds()
    kinds = infer_kinds(SCHEMA, seeds)
    rels = seed_relations([s.output for s in seeds], kinds)
    obj = {"low": 37, "high": 5, "start": "2027-02-01", "end": "2027-01-01", "origin": "Oslo", "dest": "oslo"}
    keep_relations(obj, seeds[0].output, rels, kinds, redraw=lambda f: "Riga")
    assert (obj["low"], obj["high"], obj["start"], obj["end"]) == (5, 37, "2027-01-01", "2027-02-01")
    assert {obj["origin"].casefold(), obj["dest"].casefold()} == {"oslo", "riga"} and broken(obj, rels, kinds) == []


@pytest.mark.parametrize("enforce", [True, False])
def test_drawn_targets_keep_every_seed_relation(enforce, monkeypatch):
    seeds = _seeds()
    kinds = infer_kinds(SCHEMA, seeds)
    rels = seed_relations([s.output for s in seeds], kinds)
    if not enforce:  # the check has teeth: without mending, independent draws break the relations
        monkeypatch.setattr(targets_mod, "keep_relations", lambda *a, **k: None)
    drawn = draw_targets(seeds, SCHEMA, n=60, seed=1, names={}, kinds=kinds)
    bad = [t.object for t in drawn if broken(t.object, rels, kinds)]
    assert (bad == []) if enforce else len(bad) > 5


def test_bounds_strict_in_every_seed_never_meet():
    seeds = _seeds()
    kinds = infer_kinds(SCHEMA, seeds)
    rels = seed_relations([s.output for s in seeds], kinds)
    obj = {**seeds[0].output, "low": 4.0, "high": 4.0}
    assert broken(obj, rels, kinds) == [("low", "<", "high")]
    keep_relations(obj, seeds[0].output, rels, kinds, redraw=lambda f: {"high": 9.5}.get(f))
    assert (obj["low"], obj["high"]) == (4.0, 9.5)
    loose = [dict(s.output) for s in seeds]
    loose[1]["high"] = loose[1]["low"]  # one seed with equal bounds: equal is allowed, reversed is not
    assert ("low", "<=", "high") in seed_relations(loose, kinds)
