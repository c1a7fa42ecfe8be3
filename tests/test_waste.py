"""Paid-for waste (generators/waste.py): teacher requests thrown away per strategy, and output-first
teacher texts asked in proportion to what the seeds' calibration keeps, with fake teachers."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.plan import Env
from seedfactory.generators.strategies import write_tasks
from seedfactory.generators.waste import adaptive_share, answers_used, first_share, kept_counts
from seedfactory.schemas import Example, Lineage, PreferencePair, RejectLog, Sampling, load_schema, load_seeds
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.seeds import resolve_seed_path


@pytest.fixture(scope="module")
def invoices():
    path = resolve_seed_path("invoice-fields")
    schema = load_schema(path.with_name("invoice-fields.schema.json"))
    return load_seeds(path, schema), schema


def test_kept_counts_and_the_share_thrown_away():
    got = kept_counts(Counter({"a": 4, "b": 3}), Counter({"a": 1, "b": 3}))
    assert got == {"a": {"asked": 4, "kept": 1, "thrown_away": 3, "thrown_away_share": 0.75},
                   "b": {"asked": 3, "kept": 3, "thrown_away": 0, "thrown_away_share": 0.0}}


def test_adaptive_share_asks_in_proportion_below_the_bar_and_in_full_above_it():
    assert adaptive_share(1, 20, 0.2)[0] == 0.25  # 5% kept against 20%: a quarter asked
    share, why = adaptive_share(5, 20, 0.2)
    assert share == 1.0 and "kept 5 of 20" in why and ">=" in why
    assert adaptive_share(0, 10, 0.2) == (0.0, "kept 0 of 10 on the seeds (0% < generate.min_keep_share=0.2): "
                                               "asked 0% of its requests")
    assert adaptive_share(0, 0, 0.2)[0] == 1.0


def test_first_share_keeps_whole_groups_from_the_start():
    items = list(range(10))  # 5 targets x 2 texts
    assert first_share(items, 0.5, 2) == [0, 1, 2, 3, 4, 5]  # 2.5 targets round up to 3
    assert first_share(items, 0.0, 2) == [] and first_share(items, 1.0, 2) == items


def _row(rid: str, strategy: str, label: str = "teacher") -> Example:
    return Example(id=rid, prompt_id="p", instruction="i", input="x", output="y",
                   lineage=Lineage(seed_ids=[], strategy=strategy, teacher="t", prompt_hash="", request_key=rid,
                                   raw="", sampling=Sampling(), label=label))


def test_answers_used_counts_sft_rows_and_both_sides_of_pairs_not_targets():
    rows = [_row("t1", "output_first:template", "target"), _row("a1", "output_first:template"),
            _row("a2", "output_first:template"), _row("a3", "output_first:template"), _row("b1", "self_instruct")]
    pairs = [PreferencePair(id="q", prompt_id="p", prompt="x", chosen="y", rejected="z", chosen_id="t1",
                            rejected_id="a2", margin=1.0, source="target")]
    got = answers_used(rows, [rows[0], rows[4]], pairs)
    assert got == {"output_first:template": {"asked": 3, "kept": 1, "thrown_away": 2, "thrown_away_share": 0.667},
                   "self_instruct": {"asked": 1, "kept": 1, "thrown_away": 0, "thrown_away_share": 0.0}}


def _teacher(calls: list, grounded_seeds: int):
    """Names for the targets; a restyled text that keeps the draft (grounded) for the first
    `grounded_seeds` calibration requests only, else one that states nothing."""
    seen = Counter()

    def respond(req):
        calls.append(req.purpose)
        if req.purpose == "names":
            return json.dumps({"values": ["Oakfield Bakery", "Casa Verde SRL", "Blue Harbor Traders"]})
        seen["text"] += 1
        draft = req.messages[-1].content.split("\n\n", 1)[-1]
        return draft if seen["text"] <= grounded_seeds else "Thanks for your order!"
    return respond


@pytest.mark.parametrize("grounded", [0, 2])
def test_output_first_asks_teacher_texts_in_proportion_to_the_seeds_keep_share(invoices, grounded):
    seeds, schema = invoices
    calls: list[str] = []
    cfg = GenerateConfig(num_tasks=8, texts_per_target=2, rewrites_per_seed=0, min_keep_share=0.2)
    env = Env(FakeBackend(responder=_teacher(calls, grounded)).generate, ModelConfig(), cfg, 0,
              RejectLog("generate"), schema)
    write_tasks({"output_first": 1.0}, seeds, env)
    n_seeds = sum(bool(s.input.strip()) for s in seeds)
    note = env.notes["adaptive"]["output_first:teacher"]
    # the seeds' own texts echoed back are grounded: `grounded` of n_seeds kept, under the 20% bar
    assert f"kept {grounded} of {n_seeds} on the seeds" in note["reason"] and grounded / n_seeds < 0.2
    assert note["asked_share"] == round(grounded / n_seeds / 0.2, 3)
    asked_targets = math.ceil(8 * note["asked_share"])  # the first targets, each with its 2 texts
    assert (asked_targets > 0) == (grounded > 0)
    assert calls.count("text") == n_seeds + 2 * asked_targets
    assert env.notes["requests_kept"]["output_first:teacher"]["asked"] == 2 * asked_targets
