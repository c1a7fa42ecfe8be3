"""The run report and the dataset card on run directories made by the packaged fakes (fake
teacher and judge, hashing embedder): every section present, a missing stage is one line,
model text escaped, interval maths, the embedding cache, the card's review and eval results."""

import json
import re

import numpy as np
import pytest

from seedfactory.cli import main
from seedfactory.report import build_report
from seedfactory.report.diversity import pca2, spread
from seedfactory.report.page import SECTIONS
from seedfactory.review import ReviewStore
from seedfactory.train.common import curve
from seedfactory.util.files import read_jsonl_dicts, write_json
from seedfactory.util.stats import wilson_interval


@pytest.fixture(scope="module")
def published(published_run):
    return published_run("generate.num_tasks=8", "review.sample_size=6")


def section(html: str, key: str) -> str:
    m = re.search(rf'<section id="{key}">(.*?)</section>', html, re.S)
    assert m, f"section {key} missing"
    return m.group(1)


def test_wilson_interval_matches_known_values():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson_interval(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(0.2775, abs=1e-4)


def test_pca2_finds_the_direction_of_spread():
    t = np.linspace(-1, 1, 9)[:, None]
    pts = np.hstack([t, 2 * t, np.zeros_like(t)]) + 5  # a line in 3-D
    xy = pca2(pts)
    assert xy.shape == (9, 2)
    assert np.allclose(xy[:, 1], 0, atol=1e-9) and np.ptp(xy[:, 0]) == pytest.approx(2 * np.sqrt(5))
    assert pca2(np.ones((3, 1))).shape == (3, 2)  # rank-short input still gives two columns


def test_spread_caps_the_map_evenly():
    assert spread(list(range(5)), 10) == [0, 1, 2, 3, 4]
    assert spread(list(range(10)), 4) == [0, 2, 5, 7]


def test_curve_keeps_per_step_loss_and_dpo_rewards():
    history = [{"loss": 0.69, "rewards/margins": 0.0, "rewards/accuracies": 0.0, "step": 1},
               {"loss": 0.6, "rewards/margins": 0.2, "step": 2}, {"train_runtime": 3.0, "step": 2}]
    assert curve(history) == [{"step": 1, "loss": 0.69, "margin": 0.0, "accuracy": 0.0},
                              {"step": 2, "loss": 0.6, "margin": 0.2}]


def test_empty_run_dir_gives_one_line_per_missing_stage(tmp_path):
    html = build_report(tmp_path).read_text()
    for key, _, _ in SECTIONS:
        body = section(html, key)
        assert 'class="missing"' in body, key
    assert not (tmp_path / "dataset").exists()  # nothing to refresh


def test_report_of_a_published_run_has_every_section_with_content(published):
    html = (published / "report.html").read_text()  # the runner wrote it
    kept = read_jsonl_dicts(published / "validate" / "kept.jsonl")
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    funnel = section(html, "funnel")
    assert "<td>validate</td>" in funnel and "judge:not_selected" in funnel and "Checks calibrated" in funnel
    div = section(html, "diversity")
    assert div.count('class="pt kept"') == len(kept) and 'class="pt kept swatch"' in div  # rows; legend
    seeds = read_jsonl_dicts(published / "split" / "train.jsonl")
    assert div.count('class="pt seed"') == len(seeds)
    assert "<svg" in section(html, "judges") and "length bias" in section(html, "judges")
    assert "0/6 reviewed" in section(html, "review")
    assert "not been trained" in section(html, "training") and "not been evaluated" in section(html, "eval")
    assert section(html, "samples").count('class="sample"') >= 3


def test_model_text_is_escaped_and_embeddings_are_cached(published, monkeypatch):
    rejects = published / "rejects.jsonl"
    original = rejects.read_text()
    evil = {"row_id": "x1", "stage": "validate", "reason": "too_short", "detail": "<img src=x onerror=alert(1)>"}
    rejects.write_text(original + json.dumps(evil) + "\n")

    def no_embedder(name):
        raise AssertionError("embeddings should come from report/embeddings.npz")

    monkeypatch.setattr("seedfactory.validators.embedders.build_embedder", no_embedder)
    try:
        html = build_report(published).read_text()
    finally:
        rejects.write_text(original)
    samples = section(html, "samples")
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in samples
    assert "validate:too_short (1)" in samples


def test_card_gains_review_and_eval_results(published, tmp_path):
    import shutil

    # a copy: the verdicts and eval files written here must not reach the other tests of the module run
    published = shutil.copytree(published, tmp_path / "run")
    card = published / "dataset" / "README.md"
    assert card.read_text().startswith("---\nlicense:") and "Not evaluated yet" in card.read_text()
    with ReviewStore(published / "review" / "queue.sqlite") as store:
        ids = [i.id for i in store.pending()][:4]
        store.decide(ids[0], "rejected", note="wrong total")
        for i in ids[1:]:
            store.decide(i, "accepted")
    ev = {n: {"metric": "field_exact_match", "value": v, "n": 6, "ci95": [0.01, 2 * v]}
          for n, v in [("base", 0.1), ("sft", 0.25), ("dpo", 0.3), ("teacher", 0.5)]}
    del ev["teacher"]["ci95"]  # an older eval.json: the report bootstraps from answers.jsonl
    write_json(published / "eval.json", ev)
    answers = published / "evaluate" / "answers.jsonl"
    answers.parent.mkdir()
    answers.write_text("".join(json.dumps({f"{n}_score": {"parsed": True, "field_match": m}
                                           for n in ["base", "sft", "dpo", "teacher"]}) + "\n" for m in [0.0, 0.5]))
    assert main(["report", str(published)]) == 0
    text = card.read_text()
    html = (published / "report.html").read_text()
    assert "Queued rows: 6; approved 3, rejected 1, edited 0, pending 2." in text
    assert "- Defect rate (rejected among reviewed): 25.0% (95% Wilson interval 4.6% to 69.9%)" in text
    assert "| sft | field_exact_match | 0.250 | 0.010 to 0.500 | 6 |" in text and "Not evaluated yet" not in text
    assert "1/4" in section(html, "review") and "Gate: <b>off</b>" in section(html, "review")
    assert "Cohen" in section(html, "judges")
    assert "<td>dpo</td><td class=\"n\">0.3</td>" in section(html, "eval")
    assert "<td class=\"n\">0.010 to 0.600</td>" in section(html, "eval")  # eval.json's ci95 for dpo
    assert "<td class=\"n\">0.000 to 0.500</td>" in section(html, "eval")  # teacher: bootstrapped field matches


def test_report_command_refuses_a_missing_directory(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no such run directory" in capsys.readouterr().err
