"""The CLI end to end on real small models: in-process vLLM teacher and judge (SmolLM2-135M),
MiniLM embeddings, LoRA SFT + DPO with trl, evaluation. Tiny sizes; a few minutes on 2 cores."""

import json

import pytest

from seedfactory.cli import main
from seedfactory.steps import STAGES
from seedfactory.util.files import read_json

pytestmark = pytest.mark.slow

TINY = ["generate.num_tasks=6", "generate.responses_per_prompt=2", "generate.texts_per_target=1",
        "generate.rewrites_per_seed=1", "teacher.max_tokens=96", "judge.self_test_size=2", "review.sample_size=4",
        "train.sft_steps=2",
        "train.dpo_steps=1", "train.min_pairs=1", "train.max_length_bias=1", "train.batch_size=2",
        "train.max_length=256", "train.curve_cases=4", "train.curve_max_new_tokens=32", "eval.max_new_tokens=48",
        "eval.path=EVAL", "--no-progress"]


SECRETS = {"OPENAI_API_KEY": "sk-test-E2ESECRET-0c4d", "HF_TOKEN": "hf_E2ESECRET_77ab"}


@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    """The default strategy (output-first) on the real teacher; 6 evaluation cases keep it short."""
    from seedfactory.seeds import bundled_eval_sets

    out = tmp_path_factory.mktemp("e2e") / "run"
    cases = bundled_eval_sets()["invoice-fields"].read_text().splitlines()[:6]
    (out.parent / "eval.jsonl").write_text("\n".join(cases) + "\n")
    TINY[TINY.index("eval.path=EVAL")] = f"eval.path={out.parent / 'eval.jsonl'}"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in SECRETS.items():
            mp.setenv(k, v)
        assert main(["run", "--out", str(out), *TINY]) == 0
    return out


def test_report_of_the_real_run_in_chromium_and_no_secret_in_the_run(json_run, browser, tmp_path):
    """The runner wrote report.html; on a copy with three review verdicts, `seedfactory report`
    shows review, agreement, loss curves and the eval table in a real browser."""
    import shutil

    from browser import render_and_check, review_three

    for p in json_run.rglob("*"):
        if p.is_file():
            assert not any(v.encode() in p.read_bytes() for v in SECRETS.values()), p
    assert (json_run / "report.html").is_file()
    from seedfactory.review import ReviewStore
    from seedfactory.schemas import Example
    from seedfactory.util.files import read_jsonl

    copy = tmp_path / "run"
    shutil.copytree(json_run, copy)
    with ReviewStore(copy / "review" / "queue.sqlite") as store:  # a tiny run may sample fewer than three
        if len(store.pending()) < 3:
            store.add(list(read_jsonl(copy / "generate" / "candidates.jsonl", Example)), {})
    review_three(copy)
    assert main(["report", str(copy)]) == 0
    render_and_check(copy, browser, trained=True)
    assert "| sft | field_exact_match |" in (copy / "dataset" / "README.md").read_text()


def test_run_writes_every_artifact(json_run, capsys):
    from datasets import load_from_disk

    out = json_run
    for f in ["config.yaml", "rejects.jsonl", "stats.json", "eval.json", "adapter/adapter_model.safetensors",
              "adapter_sft/adapter_model.safetensors", "review/queue.sqlite", "cache.sqlite"]:
        assert (out / f).is_file(), f
    stats = read_json(out / "stats.json")
    assert list(stats["stages"]) == ["split", "pool", "generate", "baseline", "validate", "judge", "review", "publish",
                                     "train", "evaluate"]
    g = stats["stages"]["generate"]
    assert g["requests_sent"] > 0 and g["completion_tokens"] > 0
    candidates = [json.loads(line) for line in (out / "generate" / "candidates.jsonl").read_text().splitlines()]
    assert candidates, "the real teacher produced no parseable rows"
    assert all(c["lineage"]["teacher"] == "smollm2-135m" and c["lineage"]["raw"] for c in candidates)
    assert {c["lineage"]["strategy"] for c in candidates} <= {"output_first:template", "output_first:teacher"}
    cal = read_json(out / "judge" / "calibration.json")
    assert 0 <= cal["auc"] <= 1 and cal["n_bad"] > cal["n_good"] > 0 and cal["passed"] == (cal["auc"] >= 0.65)
    quality = stats["stages"]["validate"]["quality"]
    assert quality["grounded_share"] == 1.0 or quality["structured_rows"] == 0
    verdicts = [json.loads(line) for line in (out / "judge" / "verdicts.jsonl").read_text().splitlines()]
    assert all((v["score"] is None) != (v["error"] is None) for v in verdicts)
    assert all(1 <= v["score"] <= 5 for v in verdicts if v["score"] is not None)
    ds = load_from_disk(str(out / "dataset"))
    assert len(ds["sft"]) == stats["stages"]["judge"]["out"]


def test_eval_reports_base_sft_dpo_and_teacher(json_run):
    ev = read_json(json_run / "eval.json")
    for key in ["base", "sft", "dpo", "teacher"]:
        assert ev[key]["metric"] == "field_exact_match"
        assert 0.0 <= ev[key]["value"] <= 1.0
        assert ev[key]["n"] == len(ev["eval_ids"]) == 6
        lo, hi = ev[key]["ci95"]
        assert lo <= ev[key]["value"] <= hi
        assert 0.0 <= ev[key]["schema_valid"] <= 1.0
    train = read_json(json_run / "train" / "stats.json")
    assert train["sft"]["steps"] == 2 and train["sft"]["last_loss"] > 0


def test_rerun_resumes_without_work(json_run, capsys):
    before = read_json(json_run / "stats.json")
    capsys.readouterr()
    assert main(["run", "--out", str(json_run), *TINY]) == 0
    log = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[")]
    assert len(log) == len(STAGES) and all(line.endswith("done before, skipped") for line in log)
    assert read_json(json_run / "stats.json")["stages"] == before["stages"]  # nothing ran again


def test_text_domain_evaluates_with_the_judge_win_rate(tmp_path, fake_run):
    """No output schema: eval is a pairwise judge win rate against the held-out references. The
    student is real (tiny training); teacher and judge are the packaged fake, so judge verdicts are
    scripted-free but deterministic."""
    out = tmp_path / "text"
    args = ["run", "--out", str(out), *fake_run(
        "seeds.path=support-bikeshop", "generate.num_tasks=4", "generate.responses_per_prompt=2",
        "review.sample_size=12", "train.sft_steps=1", "train.dpo_steps=1", "train.batch_size=2",
        "train.max_length=384", "train.curve_cases=4", "eval.max_new_tokens=16",
        "judge.min_consensus=0",  # the fake teacher's text answers are random words: they agree on nothing
        "--no-progress")]
    assert main(args) == 0
    ev = read_json(out / "eval.json")
    answers = [json.loads(line) for line in (out / "evaluate" / "answers.jsonl").read_text().splitlines()]
    for key in ["base", "sft", "dpo", "teacher"]:
        assert ev[key]["metric"] == "judge_win_rate_vs_reference"
        halves = ev[key]["value"] * 2 * ev[key]["n"]
        assert abs(halves - round(halves)) < 1e-9 and 0 <= ev[key]["value"] <= 1  # wins 1, flips 0.5
        assert [a[f"{key}_score"] for a in answers] and len(answers) == ev[key]["n"]
    # every system's answers were judged against the reference in both orders: one request per
    # distinct (answer, order); an answer two systems share is asked once (the cache)
    st = read_json(out / "stats.json")["stages"]["evaluate"]
    distinct = {(a["prompt"], a[key]) for a in answers for key in ["base", "sft", "dpo", "teacher"]}
    assert st["requests_sent"] == 2 * len(distinct)
    assert st["requests_sent"] + st["cache_hits"] == 2 * 4 * ev["base"]["n"]
