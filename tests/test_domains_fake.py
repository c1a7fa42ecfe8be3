"""Any domain, on the fake teacher: each bundled schema domain's run infers its fields' kinds, draws
targets valid for them, writes them into every train seed's text (or names why not), and the texts
state every value in a form the finder reads back. Three domains here; all of them in the slow tier."""

import json

import jsonschema
import pytest

from seedfactory.pipeline import run
from seedfactory.schemas import Example, SeedExample, load_config
from seedfactory.util.files import read_jsonl
from seedfactory.validators.kinds import check_value, infer_kinds
from seedfactory.validators.quality import span_fields
from seedfactory.validators.values import is_stated

FAST = ["appointment-requests", "medication-instructions", "product-listings"]
ALL = ["appointment-requests", "ticket-triage", "product-listings", "bank-transactions", "contact-details",
       "recipes", "job-posts", "medication-instructions", "invoice-fields"]


def _check(domain: str, out, fake_run) -> None:
    cfg = load_config(None, fake_run(f"seeds.path={domain}", "generate.num_tasks=24", "generate.texts_per_target=0"))
    run(cfg, out, progress=False, until="validate", log=lambda m: None)
    schema = json.loads((out / "split" / "schema.json").read_text())
    train = list(read_jsonl(out / "split" / "train.jsonl", SeedExample))
    kinds = infer_kinds(schema, train)
    cal = json.loads((out / "validate" / "calibration.json").read_text())
    assert {f: k["kind"] for f, k in cal["kinds"].items()} == {f: fk.kind for f, fk in kinds.items()}
    # every grounding check runs: the finder reads every seed's values (no check switched itself off)
    assert all(f["applied"] for f in cal["checks"]["ungrounded"]["fields"].values()), cal["checks"]["ungrounded"]
    gen = json.loads((out / "generate" / "stats.json").read_text())
    templated = gen["seeds_templated"]
    assert templated["of"] == len(train) and templated["used"] + len(templated["not_used"]) == len(train)
    assert templated["used"] >= 0.75 * len(train) and all(templated["not_used"].values())
    fields = span_fields(schema, [s.output for s in train], kinds)
    targets = [r for r in read_jsonl(out / "generate" / "candidates.jsonl", Example) if r.lineage.label == "target"]
    assert len(targets) >= 12
    for r in targets:
        jsonschema.validate(r.output, schema)
        assert all(check_value(v, kinds[f]) is None for f, v in r.output.items() if v is not None), r.output
        if r.lineage.strategy == "output_first:template":
            assert all(is_stated(r.output[f], r.input, kinds[f].kind) for f in fields if r.output.get(f) is not None)


@pytest.mark.parametrize("domain", FAST)
def test_a_domain_run_draws_valid_targets_into_its_seeds_texts(domain, tmp_path, fake_run):
    _check(domain, tmp_path / "run", fake_run)


@pytest.mark.slow
@pytest.mark.parametrize("domain", [d for d in ALL if d not in FAST])
def test_every_bundled_domain_draws_valid_targets_into_its_seeds_texts(domain, tmp_path, fake_run):
    _check(domain, tmp_path / "run", fake_run)
