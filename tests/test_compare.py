"""`seedfactory compare`: config differences, the funnel and the other figures side by side, paired
differences where the eval sets match (checked against a hand computation), exit 2 when they do not."""

import json
import re

import pytest
import yaml

from seedfactory.cli import main
from seedfactory.compare import compare, render_html
from seedfactory.util.files import write_json

IDS = ["c1", "c2", "c3", "c4"]


def evaluated(run, scores: dict[str, list[float]], ids=IDS):
    """eval.json and evaluate/answers.jsonl as the evaluate stage writes them, with these per-case scores."""
    ev = {s: {"metric": "field_exact_match", "value": sum(v) / len(v), "n": len(v), "ci95": [min(v), max(v)]}
          for s, v in scores.items()}
    write_json(run / "eval.json", {**ev, "eval_ids": ids, "eval_source": "eval file"})
    (run / "evaluate").mkdir(exist_ok=True)
    (run / "evaluate" / "answers.jsonl").write_text("".join(
        json.dumps({"id": i, **{f"{s}_score": {"parsed": True, "field_match": v[k]} for s, v in scores.items()}}) + "\n"
        for k, i in enumerate(ids)))
    return run


def set_key(run, section: str, key: str, value):
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg[section][key] = value
    (run / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.fixture
def two_runs(published_run, tmp_path):
    a, b = published_run("generate.num_tasks=8"), published_run("generate.num_tasks=8")
    set_key(b, "train", "learning_rate", 0.002)
    evaluated(a, {"base": [0, 0, 0.5, 0], "dpo": [0.5, 0.5, 1, 0]})
    evaluated(b, {"base": [0, 0, 0.5, 0], "dpo": [1, 0.5, 1, 1]})
    return a, b


def test_compare_lines_up_config_funnel_and_paired_differences(two_runs, tmp_path, capsys):
    a, b = two_runs
    c = compare([a, b])
    assert c.config == [["train.learning_rate", "0.001", "0.002"]]  # the one key that differs, nothing else
    funnel = {r[0]: r[1:] for r in c.groups["Funnel"]}
    stats = json.loads((a / "stats.json").read_text())
    assert funnel["funnel.validate.out"] == [stats["stages"]["validate"]["out"]] * 2
    ev = {r[0]: r[1:] for r in c.groups["Evaluation"]}
    assert ev["eval.dpo"] == ["0.500 (0.000 to 1.000)", "0.875 (0.500 to 1.000)"]  # value (95% interval) per run
    paired = {r[1]: r for r in c.paired}
    assert paired["dpo"][2] == pytest.approx((0.5 + 0 + 0 + 1) / 4)  # b - a per case, averaged
    assert paired["base"][2] == 0 and paired["base"][3:5] == [0.0, 0.0]
    assert paired["dpo"][5] == 4 and not c.problems

    page = tmp_path / "cmp.html"
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 0
    text = capsys.readouterr().out
    assert "train.learning_rate  0.001" in text and "Paired differences" in text
    html = page.read_text()
    assert "<script" not in html and re.search(r'<section id="config">.*learning_rate', html, re.S)
    assert '<section id="paired">' in html and "Not comparable" not in html


def test_different_eval_sets_exit_2_and_still_show_the_rest(two_runs, tmp_path, capsys):
    a, b = two_runs
    evaluated(b, {"dpo": [1, 1, 1]}, ids=["c1", "x2", "x3"])
    page = tmp_path / "cmp.html"
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 2
    out, err = capsys.readouterr()
    assert f"not comparable: {b} was evaluated on other cases than {a}" in err  # both folders are "run": paths
    assert "(3 against 4 cases, 1 in common)" in err and "Funnel" in out and "funnel.judge.out" in out
    assert "Paired differences" not in out
    assert "Not comparable" in page.read_text() and '<section id="paired">' not in page.read_text()


def test_compare_refuses_a_folder_that_is_not_a_run(two_runs, tmp_path, capsys):
    assert main(["compare", str(two_runs[0]), str(tmp_path / "nope")]) == 2
    assert "not a run directory (no config.yaml)" in capsys.readouterr().err


def test_unevaluated_runs_compare_without_pairs(published_run):
    a, b = published_run("generate.num_tasks=8"), published_run("generate.num_tasks=8")
    c = compare([a, b])
    assert c.config == [] and c.paired == [] and c.problems == [] and "Evaluation" not in c.groups
    assert "The configs are the same." in render_html(c)
