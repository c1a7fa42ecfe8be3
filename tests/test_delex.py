"""Delexicalised rewrites: a seed's values become slots, a rewrite is kept only when it keeps each slot
exactly once, and a target written into a kept layout states every value (grounded by construction)."""

import json
import random

from seedfactory.generators import delex
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.plan import Env
from seedfactory.generators.strategies import write_tasks
from seedfactory.schemas import RejectLog, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.validators.values import is_stated

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["name", "day", "total", "status"],
          "properties": {"name": {"type": "string"}, "day": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
                         "total": {"type": "number"}, "status": {"type": "string", "enum": ["open", "closed"]}}}
NAMES = ["Ada Brook", "Lior Tamm", "Mina Okafor", "Jon Reyes"]
SEEDS = [SeedExample(id=f"s{i}", instruction="Extract the fields.", topic="t",
                     input=f"Note from {n}: due 1{i} March 2025, amount {10 * (i + 1)}.50, still open.",
                     output={"name": n, "day": f"2025-03-1{i}", "total": 10 * (i + 1) + 0.5, "status": "open"})
         for i, n in enumerate(NAMES)]
FIELDS = ["name", "day", "total"]


def test_a_seed_text_is_slotted_where_its_values_are_and_unreadable_says_which_value():
    assert delex.delexicalise(SEEDS[0].input, SEEDS[0].output, FIELDS) == \
        "Note from {name}: due {day}, amount {total}, still open."
    bad = delex.delexicalise("Note from someone else.", SEEDS[0].output, FIELDS)
    assert isinstance(bad, delex.Unreadable) and bad.why == "name='Ada Brook' not found in its text"


def test_a_rewrite_is_kept_only_with_every_slot_exactly_once():
    src = "Note from {name}: due {day}, amount {total}, still open."
    out = SEEDS[0].output
    assert delex.parse_rewrite("{name} writes: {total} owed by {day}; open.", src, out) == \
        "{name} writes: {total} owed by {day}; open."
    why = {t: delex.parse_rewrite(t, src, out).why for t in [
        "{name} owes {total}.", "{name} owes {total} by {day}, {name}.", "{name} {day} {total} {extra}",
        "Ada Brook owes {total} by {day} ({name}).", src]}
    assert why == {"{name} owes {total}.": "drops placeholders ['day']",
                   "{name} owes {total} by {day}, {name}.": "repeats placeholders ['name']",
                   "{name} {day} {total} {extra}": "adds placeholders ['extra']",
                   "Ada Brook owes {total} by {day} ({name}).": "writes out the seed's name value",
                   src: "the source text unchanged"}


def test_a_filled_layout_states_every_target_value():
    target = {"name": "Rui Costa", "day": "2026-11-02", "total": 1234.5, "status": "open"}
    text = delex.fill("{name} writes: {total} owed by {day}; open.", target, None, random.Random(0))
    assert all(is_stated(target[f], text) for f in FIELDS), text
    assert isinstance(delex.fill("{name} on {day}", target | {"day": None}, None, random.Random(0)), delex.Unreadable)


def test_targets_take_their_seeds_rewrites_after_the_template_uses():
    def teacher(req):
        if req.purpose == "rewrite":  # a rewrite that keeps the slots: the details in another order
            return "Open item. {total} is owed by {day}, writes {name}."
        if req.purpose == "names":
            return json.dumps({"values": ["Rui Costa", "Tove Lind", "Ines Mora"]})
        raise AssertionError(req.purpose)

    env = Env(FakeBackend(responder=teacher).generate, ModelConfig(),
              GenerateConfig(num_tasks=16, texts_per_target=0, template_uses=2, rewrites_per_seed=2,
                             rewrite_slots="placeholders"), 0, RejectLog("generate"), SCHEMA)
    tasks = write_tasks({"output_first": 1.0}, SEEDS, env)
    kinds = {t.strategy for t in tasks}
    assert kinds == {"output_first:template", "output_first:rewrite"}
    rewrites = [t for t in tasks if t.strategy == "output_first:rewrite"]
    assert rewrites and all(t.input.startswith("Open item.") for t in rewrites)
    for t in tasks:
        assert all(is_stated(t.target[f], t.input) for f in FIELDS), t.input
        assert t.target["status"] == "open"  # labels stay the base seed's, carried by its words
    per_seed = {s.id: sum(t.seed_ids == [s.id] and t.strategy.endswith("template") for t in tasks) for s in SEEDS}
    assert set(per_seed.values()) == {2}  # each seed templated twice, then rewrites
    assert env.notes["seeds_templated"] == {"used": 4, "of": 4, "not_used": {}}
    assert env.notes["rewrites"]["layouts"] == 4  # one distinct layout per seed (both replies alike)


def test_a_rewrite_of_the_seeds_own_text_is_slotted_where_the_finder_reads_its_values():
    """The default for a small teacher: it rewrites the real text keeping the values (here moving them
    and writing the date another way); a rewrite that drops a value is no layout, with the reason."""
    def teacher(req):
        if req.purpose == "names":
            return json.dumps({"values": ["Rui Costa", "Tove Lind", "Ines Mora"]})
        text = req.messages[-1].content.split("\n\n", 1)[1]
        seed = next(s for s in SEEDS if s.input == text)
        if seed.id == "s3":  # drops the amount
            return f"{seed.output['name']} wrote about something still open."
        day, amount = int(seed.output["day"][-2:]), seed.input.split("amount ")[1][:-13]
        return f"Open item from {seed.output['name']}: {amount} due by March {day}th, 2025."

    rejects = RejectLog("generate")
    env = Env(FakeBackend(responder=teacher).generate, ModelConfig(),
              GenerateConfig(num_tasks=16, texts_per_target=0, template_uses=2, rewrites_per_seed=1), 0, rejects,
              SCHEMA)
    tasks = write_tasks({"output_first": 1.0}, SEEDS, env)
    rewrites = [t for t in tasks if t.strategy == "output_first:rewrite"]
    assert rewrites and {t.seed_ids[0] for t in rewrites} == {"s0", "s1", "s2"}
    for t in rewrites:
        assert t.input.startswith("Open item from ") and all(is_stated(t.target[f], t.input) for f in FIELDS), t.input
    assert env.notes["rewrites"] == {"seeds": 4, "layouts": 3, "dropped": {"drops a value: day=...": 1}}
    assert [r.reason for r in rejects.records] == ["rewrite_unusable"]


def test_a_copy_rewrite_that_talks_about_itself_or_changes_length_or_nothing_is_no_layout():
    seed = SEEDS[0]
    slotted = delex.delexicalise(seed.input, seed.output, FIELDS)
    why = {t: getattr(delex.parse_copy(t, slotted, seed.output, FIELDS, source=seed.input), "why", "kept") for t in [
        "Rewritten text: Note from Ada Brook: due 10 March 2025, amount 10.50, still open.",
        "Ada Brook 10 March 2025 10.50",
        "NOTE FROM ADA BROOK - due 10 March 2025; amount 10.50; still open!",
        "Still open: Ada Brook owes 10.50, due on 10 March 2025."]}
    assert why == {
        "Rewritten text: Note from Ada Brook: due 10 March 2025, amount 10.50, still open.": "talks about the rewrite",
        "Ada Brook 10 March 2025 10.50": "29 chars against the seed's 65",
        "NOTE FROM ADA BROOK - due 10 March 2025; amount 10.50; still open!": "the source text unchanged",
        "Still open: Ada Brook owes 10.50, due on 10 March 2025.": "kept"}
