"""Label check (validators/labels.py): a classifier fit on the seeds reads labels back from
planted text (high leave-one-out accuracy) and not from shuffled labels (near chance, not
applied); a contradicted label leaves with a detail, template rows never do, and the real
all-MiniLM-L6-v2 separates the ticket fixture's categories."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from factories import make_example

from seedfactory.schemas import SeedExample
from seedfactory.schemas.config import ValidateConfig
from seedfactory.schemas.seedfile import load_schema, load_seeds
from seedfactory.validators.embedders import HashEmbedder
from seedfactory.validators.label_models import METHODS, Classifier, LabelData, Loo, majority_loo, predict
from seedfactory.validators.labels import (
    fit_label_check,
    label_check_for_run,
    label_fields,
    label_of,
    label_verdicts,
    text_of,
)

FIXTURES = Path(__file__).parent / "fixtures"
# Each label has its own words; every text also carries filler shared by all labels.
VOCAB = {"north": ["granite", "glacier", "fjord", "pine", "moose"],
         "south": ["coral", "lagoon", "mango", "reef", "palm"],
         "east": ["lantern", "silk", "tea", "temple", "jade"]}
FILLER = ["the", "report", "said", "that", "there", "was", "quite", "a", "lot", "of"]


def planted(n_per_label: int = 6, seed: int = 0, shuffle: bool = False) -> list[SeedExample]:
    rng = random.Random(seed)
    rows = []
    for label, vocab in VOCAB.items():
        for i in range(n_per_label):
            text = " ".join(rng.sample(FILLER, 5) + rng.sample(vocab, 3))
            rows.append((text, label))
    labels = [lab for _, lab in rows]
    if shuffle:
        rng.shuffle(labels)
    return [SeedExample(id=f"s{i}", instruction="Tag the text.", input=text, output={"region": lab, "n": i})
            for i, ((text, _), lab) in enumerate(zip(rows, labels))]


@pytest.fixture(scope="module")
def check():
    return fit_label_check(planted(), ["region"], HashEmbedder(), min_accuracy=0.7)


def test_loo_is_high_on_planted_labels_and_applied(check):
    assert check.loo_accuracy["region"] >= 0.9
    assert check.majority_baseline["region"] == 0.0  # balanced: the held-out label is always the rarer one
    assert check.applied["region"] is True
    assert check.table()["region"]["applied"] is True and "LOO" in check.why("region")


def test_loo_is_near_chance_on_shuffled_labels_and_not_applied():
    shuffled = fit_label_check(planted(shuffle=True), ["region"], HashEmbedder(), min_accuracy=0.7)
    assert shuffled.loo_accuracy["region"] < 0.6  # three labels: chance is 1/3
    assert shuffled.applied["region"] is False
    rows = [make_example(f"r{i}", input=s.input, output={"region": "east"}, strategy="output_first:teacher")
            for i, s in enumerate(planted())]
    kept, rejects = label_verdicts(rows, shuffled)
    assert kept == rows and rejects == []


def test_contradicting_label_is_flagged_with_a_detail(check):
    text = "the report said granite glacier moose"
    (label, conf), = check.predict([text])[0].values()
    assert label == "north" and conf >= 0.5
    details = check.unsupported({"region": "south"}, text)
    assert len(details) == 1
    assert details[0].startswith("region='south' but the seeds' classifier says 'north'")
    assert "on 18 seeds" in details[0]
    assert check.unsupported({"region": "north"}, text) == []
    assert check.unsupported({"region": "North "}, text) == []  # case and spacing do not matter
    assert replace(check, min_confidence=conf + 0.01).unsupported({"region": "south"}, text) == []


def test_field_below_min_accuracy_is_not_applied_and_flags_nothing():
    strict = fit_label_check(planted(), ["region"], HashEmbedder(), min_accuracy=1.01)
    assert strict.loo_accuracy["region"] >= 0.9 and strict.applied["region"] is False
    assert strict.unsupported({"region": "south"}, "granite glacier moose") == []


def test_template_rows_are_never_flagged_teacher_rows_are(check):
    text = "granite fjord pine the report said"
    template = make_example("t1", input=text, output={"region": "south"}, strategy="output_first:template")
    teacher = make_example("t2", input=text, output={"region": "south"}, strategy="output_first:teacher")
    other = make_example("t3", input=text, output={"region": "south"}, strategy="self_instruct")
    agree = make_example("t4", input=text, output={"region": "north"}, strategy="output_first:teacher")
    kept, rejects = label_verdicts([template, teacher, other, agree], check)
    assert [r.id for r in kept] == ["t1", "t4"]
    assert [(r.id, reason) for r, reason, _ in rejects] == [("t2", "label_unsupported"), ("t3", "label_unsupported")]
    assert all("says 'north'" in detail for _, _, detail in rejects)
    assert label_verdicts([teacher], None) == ([teacher], [])


def test_strict_rows_need_the_classifiers_agreement_and_rewrites_only_no_contradiction(check):
    text = "granite fjord pine the report said"  # the classifier says north
    agree = make_example("a", input=text, output={"region": "north"}, strategy="output_first:teacher")
    unknown = make_example("u", input=text, output={"region": "west"}, strategy="output_first:teacher")
    rewrite = make_example("r", input=text, output={"region": "west"}, strategy="output_first:rewrite")
    kept, rejects = label_verdicts([agree, unknown, rewrite], check, lenient=("output_first:rewrite",))
    # a label no seed uses has no second signal when the teacher chose it; a rewrite keeps its seed's
    assert [r.id for r in kept] == ["a", "r"]
    assert [(r.id, d) for r, _, d in rejects] == [("u", "region='west' is not what the seeds' classifier says "
                                                        f"('north', {check.predict(text)['region'][1]:.2f})")]
    written = make_example("w", input="granite fjord pine, shipped west", output={"region": "west"},
                           strategy="output_first:teacher")
    assert label_verdicts([written], check, lenient=())[1] == []  # the label written in the text is the signal
    weak = fit_label_check(planted(), ["region"], HashEmbedder(), min_accuracy=1.01)  # never applied
    kept, rejects = label_verdicts([agree, rewrite], weak, lenient=("output_first:rewrite",))
    assert [r.id for r in kept] == ["r"] and "has no second signal (region: not checked" in rejects[0][2]


def test_a_label_no_seed_uses_is_not_judged(check):
    assert check.unsupported({"region": "west"}, "granite glacier moose") == []
    assert check.unsupported({"n": 3}, "granite glacier moose") == []  # no label at all


def test_label_seen_once_is_reported_and_counts_against_loo():
    seeds = planted(n_per_label=4)
    seeds.append(SeedExample(id="odd", instruction="Tag.", input="a lone text about copper", output={"region": "west"}))
    c = fit_label_check(seeds, ["region"], HashEmbedder())
    assert c.singletons["region"] == ["west"]
    fm = c.models["region"]
    lone = len(seeds) - 1
    held_out = Loo(fm.data).probs_without(c.method["region"], frozenset({lone}))[lone]
    assert held_out[fm.classes.index("west")] == 0.0  # never predicted with its only seed held out


def test_too_few_labels_are_skipped_with_why():
    seeds = [SeedExample(id=f"s{i}", instruction="x", input=f"text {i}", output={"k": "same"}) for i in range(5)]
    c = fit_label_check(seeds, ["k", "missing"], HashEmbedder())
    assert c.applied == {} and set(c.skipped) == {"k", "missing"}
    assert "1 distinct label" in c.why("k") and c.table()["missing"]["applied"] is False


def test_label_fields_from_schema_seed_sets_and_text_lines():
    schema = {"type": "object", "properties": {
        "tier": {"enum": ["a", "b"]}, "flag": {"type": ["boolean", "null"]},
        "maybe": {"anyOf": [{"enum": ["x", "y"]}, {"type": "null"}]}, "name": {"type": "string"}}}
    seeds = [SeedExample(id=f"s{i}", instruction="x", input="t",
                         output={"name": f"n{i}", "colour": ["red", "blue"][i % 2], "seen": i % 2 == 0, "id": str(i)})
             for i in range(6)]
    assert label_fields(schema, seeds) == ["tier", "flag", "maybe", "colour", "seen"]
    text_seeds = [SeedExample(id=f"s{i}", instruction="x", input="t",
                              output=f"Label: {'pqr'[i % 3]}\nReason: sentence number {i}.") for i in range(9)]
    assert label_fields(None, text_seeds) == ["Label"]
    assert label_fields(None, text_seeds, max_values=2) == []
    assert label_of("Label: Rent\nReason: because.", "label") == "rent"
    assert label_of({"seen": False}, "seen") == "false" and label_of("no lines", "Label") is None


def test_boolean_labels_round_trip():
    seeds = [SeedExample(id=f"s{i}", instruction="x", input=" ".join(random.Random(i).sample(VOCAB[lab], 3)),
                         output={"cold": lab == "north"}) for i, lab in enumerate(["north", "south"] * 6)]
    c = fit_label_check(seeds, ["cold"], HashEmbedder())
    assert c.applied["cold"] is True
    detail, = c.unsupported({"cold": False}, "granite moose fjord")
    assert detail.startswith("cold='false' but the seeds' classifier says 'true'")
    assert c.unsupported({"cold": True}, "granite moose fjord") == []


def test_batched_logreg_equals_one_fit_at_a_time():
    seeds = planted(n_per_label=3)
    X = HashEmbedder().embed([text_of(s) for s in seeds])
    y = np.array([list(VOCAB).index(s.output["region"]) for s in seeds])
    data = LabelData(X, y, 3, [frozenset(text_of(s).split()) for s in seeds])
    loo = Loo(data)
    loo.prefit([frozenset({0}), frozenset({2, 5})])
    for excluded in (frozenset({0}), frozenset({2, 5})):
        train = np.array([i for i in range(len(y)) if i not in excluded])
        assert np.allclose(loo.probs_without("logreg", excluded), predict(data, "logreg", train), atol=1e-9)
    assert loo.nested(METHODS) >= 0.8
    new = ["granite moose said", "coral reef lagoon", "the report"]
    Xn, toks = HashEmbedder().embed(new), [frozenset(t.split()) for t in new]
    for method in METHODS:  # a classifier fit once answers as a fresh fit would
        assert np.allclose(Classifier(data, method)(Xn, toks),
                           predict(data, method, np.arange(len(y)), X_test=Xn, tokens_test=toks), atol=1e-9)


def test_majority_baseline_is_leave_one_out():
    assert majority_loo(np.array([0, 0, 0, 1, 1, 1])) == 0.0
    assert majority_loo(np.array([0, 0, 0, 0, 1, 1])) == pytest.approx(4 / 6)


def test_run_config_turns_the_check_off_and_sets_the_bar():
    seeds = planted()
    assert label_check_for_run(seeds, None, HashEmbedder(), ValidateConfig(label_check=False)) is None
    c = label_check_for_run(seeds, None, HashEmbedder(), ValidateConfig(label_min_accuracy=0.95))
    assert c.min_accuracy == 0.95 and list(c.models) == ["region"]
    kinds = {"region": SimpleNamespace(kind="label"), "n": SimpleNamespace(kind="count")}  # a FieldKind table
    c = label_check_for_run(seeds, None, HashEmbedder(), ValidateConfig(), fields=kinds)
    assert list(c.models) == ["region"] and c.skipped == {}


@pytest.mark.slow
def test_minilm_reads_ticket_categories():
    from seedfactory.validators.embedders import build_embedder

    schema = load_schema(FIXTURES / "labels-tickets.schema.json")
    train = load_seeds(FIXTURES / "labels-tickets.jsonl", schema)
    held = load_seeds(FIXTURES / "labels-tickets.eval.jsonl", schema)
    c = fit_label_check(train, label_fields(schema, train), build_embedder("minilm"))
    assert c.applied["category"] and c.loo_accuracy["category"] >= 0.8
    preds = c.predict([text_of(s) for s in held])
    flipped = {"billing": "shipping", "shipping": "technical", "technical": "billing"}
    wrong = sum(bool(c.unsupported({**s.output, "category": flipped[s.output["category"]]}, text_of(s), p))
                for s, p in zip(held, preds))
    right = sum(bool(c.unsupported(s.output, text_of(s), p)) for s, p in zip(held, preds))
    assert wrong >= 10 and right <= 1  # of 12 held-out tickets (measured: 12 and 0)
