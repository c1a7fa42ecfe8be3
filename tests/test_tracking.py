"""Experiment tracking (`train.report_to`): trl's TensorBoard event files and MLflow child runs,
read back with TensorBoard's EventAccumulator and MLflow's client; the pipeline's figures, config
and report on the parent MLflow run of a fake run."""

import json
from pathlib import Path

import pytest

from seedfactory.schemas import load_config
from seedfactory.util.files import write_json


def _tiny_student(folder: Path) -> Path:
    """A 2-layer Llama with a word-level tokenizer, saved as a model folder trl can load."""
    import torch
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>"] + [f"w{i}" for i in range(61)]
    wordlevel = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    wordlevel.pre_tokenizer = WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=wordlevel, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, pad_token_id=0))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _rows(n: int = 8) -> list[dict]:
    return [{"id": f"r{i}", "prompt": " ".join(f"w{(i * 7 + j) % 61}" for j in range(5)),
             "completion": " " + " ".join(f"w{(i * 3 + j) % 61}" for j in range(4))} for i in range(n)]


def _scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []


@pytest.mark.slow  # trl's SFTTrainer twice on a 2-layer model built from a config (a few seconds)
def test_trl_reports_to_tensorboard_and_mlflow_child_runs(tmp_path):
    from mlflow.tracking import MlflowClient

    from seedfactory.train.sft import train_sft
    from seedfactory.train.tracking import mlflow_store, parent_run, phase_tracking

    student = _tiny_student(tmp_path / "student")
    run_dir = tmp_path / "run"
    cfg = load_config(None, ["train.report_to=[tensorboard, mlflow]", "train.sft_steps=3", "train.batch_size=2",
                             "train.padding_free=false", "train.save_steps=0"])
    stats, where = {}, {}
    # two phases with different learning rates: one MLflow run would refuse the second's params
    for phase, lr in (("sft", 1e-3), ("dpo", 5e-4)):
        t = cfg.train.model_copy(update={"learning_rate": lr})
        with phase_tracking(cfg, run_dir, phase) as where[phase]:
            stats[phase] = train_sft(student, _rows(), tmp_path / f"adapter_{phase}", t, seed=0)

    assert where["sft"]["tensorboard"] == run_dir / "tracking" / "tensorboard" / "sft-1"
    loss = _scalars(where["sft"]["tensorboard"], "train/loss")
    assert [s for s, _ in loss] == [1, 2, 3]
    assert [v for _, v in loss] == pytest.approx(stats["sft"]["losses"], rel=1e-5)
    assert len(_scalars(where["dpo"]["tensorboard"], "train/loss")) == 3

    uri = mlflow_store(cfg.train, run_dir)[0]
    assert uri == f"sqlite:///{(run_dir / 'tracking' / 'mlflow.db').resolve()}"
    client, parent = MlflowClient(uri), parent_run(cfg, run_dir)
    for phase, lr in (("sft", 1e-3), ("dpo", 5e-4)):
        child = client.get_run(where[phase]["mlflow"])
        assert child.data.tags["mlflow.parentRunId"] == parent and child.info.run_name == phase
        assert float(child.data.params["learning_rate"]) == lr and child.info.status == "FINISHED"
        history = client.get_metric_history(child.info.run_id, "loss")
        assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx(stats[phase]["losses"])
    import os

    assert "MLFLOW_RUN_ID" not in os.environ and "TENSORBOARD_LOGGING_DIR" not in os.environ  # restored


def test_trainer_reports_only_where_the_run_set_a_destination(monkeypatch):
    from seedfactory.train.common import reported_to

    t = load_config(None, ["train.report_to=[tensorboard, mlflow]"]).train
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    assert reported_to(t) == []  # a tune trial: nothing written into ./runs or ./mlruns
    monkeypatch.setenv("MLFLOW_RUN_ID", "abc")
    assert reported_to(t) == ["mlflow"]


def test_tracking_keys_do_not_change_the_checkpoint_job():
    from seedfactory.train.common import job_key

    a = load_config(None, []).train
    b = load_config(None, ["train.report_to=[mlflow]", "train.mlflow_uri=http://127.0.0.1:5000"]).train
    assert job_key("sft", Path("m"), [], a, 0) == job_key("sft", Path("m"), [], b, 0)
    assert job_key("sft", Path("m"), [], a, 0) != job_key("sft", Path("m"), [], b.model_copy(update={"lora_r": 4}), 0)


@pytest.fixture(scope="module")
def tracked(published_run):
    return published_run("generate.num_tasks=8", "train.report_to=[mlflow]")


def test_pipeline_logs_figures_config_and_report_on_the_mlflow_run(tracked):
    from mlflow.tracking import MlflowClient

    from seedfactory.report import build_report
    from seedfactory.tracking import log_run
    from seedfactory.train.tracking import mlflow_store, parent_run

    cfg = load_config(tracked / "config.yaml")
    ev = {n: {"metric": "field_exact_match", "value": v, "n": 4, "ci95": [v / 2, v * 1.5]}
          for n, v in [("base", 0.1), ("sft", 0.25), ("dpo", 0.3), ("teacher", 0.5)]}
    ev["differences"] = {"sft_minus_base": {"value": 0.15, "ci95": [0.0, 0.3], "n": 4}}
    write_json(tracked / "eval.json", ev)
    build_report(tracked)
    run_id = log_run(cfg, tracked)
    assert run_id == parent_run(cfg, tracked)  # the runner's log at the end of `run` made it; this reuses it
    client = MlflowClient(mlflow_store(cfg.train, tracked)[0])
    run = client.get_run(run_id)
    stats = json.loads((tracked / "stats.json").read_text())
    m, p = run.data.metrics, run.data.params
    assert m["funnel.validate.out"] == stats["stages"]["validate"]["out"]
    assert m["funnel.generate.in"] == stats["stages"]["generate"]["in"]
    assert m["share.valid"] == pytest.approx(stats["stages"]["validate"]["out"] / stats["stages"]["validate"]["in"],
                                             abs=1e-4)
    assert m["share.grounded"] == stats["stages"]["validate"]["quality"]["grounded_share"]
    assert m["judge.auc"] == stats["stages"]["judge"]["judge_auc"]
    assert m["eval.dpo.value"] == 0.3 and m["eval.dpo.ci_low"] == 0.15 and m["eval.dpo.ci_high"] == pytest.approx(0.45)
    assert m["eval.diff.sft_minus_base.value"] == 0.15
    assert m["cost.tokens"] == stats["tokens"]["prompt_tokens"] + stats["tokens"]["completion_tokens"]
    assert p["generate.num_tasks"] == "8" and p["teacher.backend"] == "fake" and "train.report_to" not in p
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.yaml", "report.html", "stats.json", "eval.json"} <= names
    local = Path(client.download_artifacts(run_id, "report.html", str(tracked / "dl")))
    assert local.read_text() == (tracked / "report.html").read_text()


def test_a_changed_config_gets_its_own_mlflow_run(tracked):
    from seedfactory.train.tracking import parent_run

    cfg = load_config(tracked / "config.yaml")
    first = parent_run(cfg, tracked)
    assert parent_run(cfg.model_copy(update={"seed": 1}), tracked) != first
    same = load_config(tracked / "config.yaml", ["train.mlflow_experiment=seedfactory"])
    assert parent_run(same, tracked) == first
