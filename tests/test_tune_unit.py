"""`seedfactory tune`'s study without training: resume counts, killed trials, pruning, the budget,
the search space and the best config. The objectives here are plain functions of the settings;
tests/test_tune_slow.py trains the real student."""

from __future__ import annotations

import types

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from seedfactory import tune as T
from seedfactory.schemas import load_config
from seedfactory.schemas.config import TrainConfig, TuneConfig

SPACE = {"learning_rate": ("log", (1e-4, 1e-2)), "lora_r": ("choice", (4, 8)), "sft_steps": ("int", (2, 8))}


def _study(tmp_path, direction="maximize", startup=2):
    return T.open_study(tmp_path / "tune", direction, seed=0, startup_trials=startup)


def _objective(seen: list):
    def objective(trial):
        params = T.suggest(trial, SPACE)
        seen.append(params)
        return params["learning_rate"] * params["sft_steps"]

    return objective


def test_a_rerun_with_more_trials_runs_only_the_missing_ones(tmp_path):
    seen = []
    default = {"learning_rate": 1e-3, "lora_r": 8, "sft_steps": 4}
    assert T.run_study(_study(tmp_path), _objective(seen), 2, None, default=default) == 2
    assert seen[0] == default  # trial 0 is the run's own settings
    again = _study(tmp_path)  # a new process opening the same study file
    assert T.run_study(again, _objective(seen), 3, None, default=default) == 1
    assert len(seen) == 3 and len(again.trials) == 3
    assert seen[2] != seen[1]  # the resumed sampler does not draw the first process's trial again
    assert [t.user_attrs.get("default", False) for t in again.trials] == [True, False, False]
    assert T.run_study(_study(tmp_path), _objective(seen), 3, None) == 0 and len(seen) == 3


def test_a_trial_cut_off_by_a_kill_runs_again_with_its_settings(tmp_path):
    study = _study(tmp_path)
    dead = study.ask()  # what a SIGKILL mid-trial leaves behind: a RUNNING trial with its settings drawn
    dead_params = T.suggest(dead, SPACE)
    seen = []
    ran = T.run_study(_study(tmp_path), _objective(seen), 2, None)
    trials = _study(tmp_path).trials
    assert ran == 2 and seen[0] == dead_params
    assert trials[0].state == TrialState.FAIL
    assert trials[1].user_attrs["retry_of"] == 0 and trials[1].params == dead_params
    assert [t.state for t in trials[1:]] == [TrialState.COMPLETE, TrialState.COMPLETE]
    assert len(T.finished_trials(_study(tmp_path))) == 2  # the killed one does not count


def test_a_trial_worse_than_the_median_at_a_checkpoint_is_pruned(tmp_path):
    """Scores reported per checkpoint; after two startup trials a trial reporting less than their
    median at step 1 stops there and is not asked for step 2."""
    steps_seen = []

    def objective(trial):
        good = trial.number < 2
        for step in (1, 2):
            steps_seen.append((trial.number, step))
            trial.report(0.8 if good else 0.1, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return 0.8

    study = _study(tmp_path, startup=2)
    assert T.run_study(study, objective, 3, None) == 3
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]
    assert (2, 2) not in steps_seen and (2, 1) in steps_seen
    assert len(T.finished_trials(study)) == 3  # a pruned trial counts towards tune.trials


def test_max_minutes_stops_starting_trials(tmp_path, monkeypatch):
    clock = iter(range(0, 10_000, 50))  # every reading of the clock is 50 s later: trials start at 50, 100 s
    monkeypatch.setattr(T, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))  # tune's clock only
    seen = []
    assert T.run_study(_study(tmp_path), _objective(seen), 5, max_minutes=2) == 2
    assert len(seen) == 2


def test_a_study_for_the_opposite_direction_is_refused(tmp_path):
    _study(tmp_path, "maximize")
    with pytest.raises(T.TuneError, match="maximizes its objective.*minimize"):
        _study(tmp_path, "minimize")


def test_search_space_holds_the_runs_own_settings_and_dpo_beta_only_with_dpo():
    t = TuneConfig(learning_rate=(1e-4, 1e-3), lora_r=[4, 16], sft_steps=(8, 16), dpo_beta=(0.05, 0.5))
    train = TrainConfig(learning_rate=5e-3, lora_r=8, sft_steps=32, dpo_beta=0.1)
    space = T.search_space(t, train, dpo=False)
    assert space == {"learning_rate": ("log", (1e-4, 5e-3)), "lora_r": ("choice", (4, 8, 16)),
                     "sft_steps": ("int", (8, 32))}
    assert T.search_space(t, train, dpo=True)["dpo_beta"] == ("log", (0.05, 0.5))
    assert "lora_r" not in T.search_space(t, train.model_copy(update={"peft": "prefix"}), dpo=False)


def test_trial_config_keeps_the_alpha_ratio():
    cfg = T.trial_config(TrainConfig(lora_r=8, lora_alpha=16), {"lora_r": 4, "learning_rate": 2e-4, "sft_steps": 3})
    assert (cfg.lora_r, cfg.lora_alpha, cfg.learning_rate, cfg.sft_steps) == (4, 8, 2e-4, 3)


def test_best_config_is_a_config_file_seedfactory_run_loads(tmp_path):
    run = load_config(None, ["train.sft_steps=2", "seeds.path=invoice-fields"])
    best = T.best_config(run, {"learning_rate": 3e-4, "lora_r": 16, "sft_steps": 6, "dpo_beta": 0.2})
    path = tmp_path / "best.yaml"
    path.write_text(yaml.safe_dump(best.dump(), sort_keys=False))
    loaded = load_config(path)
    assert (loaded.train.learning_rate, loaded.train.lora_r, loaded.train.lora_alpha, loaded.train.sft_steps,
            loaded.train.dpo_beta) == (3e-4, 16, 32, 6, 0.2)
    assert loaded.model_copy(update={"train": run.train}) == run  # nothing else changed


@pytest.mark.parametrize("override, needle", [("tune.sft_steps=[5,2]", "sft_steps: a range"),
                                              ("tune.lora_r=[]", "lora_r"), ("tune.trials=0", "tune.trials")])
def test_bad_tune_settings_name_the_key(override, needle):
    from seedfactory.schemas.config import ConfigError

    with pytest.raises(ConfigError, match=needle):
        load_config(None, [override])


def test_tune_without_a_run_is_one_line_and_exit_2(tmp_path, capsys):
    from seedfactory.cli import main

    assert main(["tune", str(tmp_path / "nowhere"), "tune.trials=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no config.yaml" in err and "nowhere" in err


def test_tune_before_publish_names_the_missing_dataset(tmp_path, capsys):
    from seedfactory.cli import main

    (tmp_path / "config.yaml").write_text(yaml.safe_dump(load_config(None).dump()))
    assert main(["tune", str(tmp_path)]) == 2
    assert "no published dataset" in capsys.readouterr().err


def test_render_shows_each_trial_where_a_pruned_one_stopped_and_best_vs_default():
    result = {"metric": "field_exact_match", "direction": "maximize", "ran": 1, "best_config": "tune/best.yaml",
              "trials": [{"number": 0, "state": "complete", "params": {"lora_r": 8}, "value": 0.5, "default": True,
                          "reported": {"4": 0.5}},
                         {"number": 1, "state": "pruned", "params": {"lora_r": 4}, "value": 0.1,
                          "reported": {"2": 0.3, "4": 0.1}},
                         {"number": 2, "state": "complete", "params": {"lora_r": 16}, "value": 0.75, "reported": {}}],
              "default": {"number": 0, "value": 0.5}, "best": {"number": 2, "value": 0.75}}
    lines = T.render(result).splitlines()
    assert lines[1].endswith("0.5000  lora_r=8  (default: the run's settings)")
    assert "0.1000 @ step 4" in lines[2] and "pruned" in lines[2]
    assert lines[-2] == "best: trial 2 0.7500 vs default 0.5000 (maximize); config: tune/best.yaml"
