"""`train.launcher=accelerate` without training (train/distributed.py): the command line the train
stage builds is one accelerate's own parser reads as N processes of `seedfactory.train.launch --job`,
the processes' threads, the device check, and a failed launch surfacing its output's tail (the real
launch through the stage: tests/test_launcher_slow.py)."""

from __future__ import annotations

import sys

import pytest

from seedfactory.schemas import load_config
from seedfactory.schemas.config import TrainConfig
from seedfactory.train import distributed
from seedfactory.train.distributed import ACCELERATE_CONFIG, LaunchError, launch_command, launch_env, launch_phases
from seedfactory.train.launch import _parser
from seedfactory.train.recipe import RunPaths
from seedfactory.util.files import read_json, read_jsonl_dicts
from seedfactory.util.progress import NO_PROGRESS


def test_the_command_is_n_accelerate_processes_of_the_job(tmp_path):
    from accelerate.commands.launch import launch_command_parser

    job = tmp_path / "train" / "launch"
    cmd = launch_command(job, 3, progress=True, python="/x/python")
    assert cmd[:3] == ["/x/python", "-m", "accelerate.commands.launch"]
    args = launch_command_parser().parse_args(cmd[3:])
    assert args.num_processes == 3 and args.config_file == str(ACCELERATE_CONFIG) and args.module
    assert args.training_script == "seedfactory.train.launch"
    child = _parser().parse_intermixed_args(args.training_script_args)  # what each process parses
    assert child.job == job and child.progress and child.run_dir is None
    assert "--progress" not in launch_command(job, 2)


def test_the_default_is_in_process_and_the_keys_validate():
    assert TrainConfig().launcher == "in_process"
    cfg = load_config(None, ["train.launcher=accelerate", "train.processes=4"])
    assert (cfg.train.launcher, cfg.train.processes) == ("accelerate", 4)
    with pytest.raises(ValueError, match="train.launcher"):
        load_config(None, ["train.launcher=torchrun"])
    with pytest.raises(ValueError, match="train.processes"):
        load_config(None, ["train.processes=0"])


@pytest.mark.parametrize("threads,cores,want", [(0, 2, "1"), (0, 16, "8"), (0, None, "1"), (3, 16, "3")])
def test_each_process_gets_its_share_of_the_cores(threads, cores, want):
    env = launch_env(TrainConfig(threads=threads, processes=2), {"PATH": "/bin"}, cores)
    assert env["OMP_NUM_THREADS"] == want and env["PATH"] == "/bin"


def test_more_processes_than_gpus_is_refused(monkeypatch):
    import torch

    assert distributed.check_devices(TrainConfig(processes=8)) == ("nccl" if torch.cuda.is_available() else "gloo")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(LaunchError, match="train.processes=2: this machine has 1 CUDA GPU"):
        distributed.check_devices(TrainConfig(processes=2))


FAILING = ("import sys\nfor i in range(50): print('line', i)\n"
           "sys.stderr.write('ValueError: rank 1 broke\\n')\nsys.exit(3)")


def test_a_failed_launch_names_the_exit_code_and_ends_with_the_output(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "launch_command", lambda job, n, progress: [sys.executable, "-c", FAILING])
    cfg = load_config(None, ["train.launcher=accelerate", "train.threads=1"])
    paths = RunPaths(tmp_path)
    (tmp_path / "train" / "launch").mkdir(parents=True)
    (tmp_path / "train" / "launch" / "result.json").write_text("{}")  # an earlier launch's: never read
    with pytest.raises(LaunchError) as e:
        launch_phases(cfg, paths, [{"id": "r1"}], None, NO_PROGRESS, lambda m: None)
    msg = str(e.value)
    assert "exited with 3" in msg and msg.endswith("ValueError: rank 1 broke")
    assert "line 49" in msg and "line 10\n" not in msg  # the tail, not the whole output
    job = tmp_path / "train" / "launch"
    assert not (job / "result.json").exists() and "line 0" in (job / "output.log").read_text()
    assert read_jsonl_dicts(job / "rows.jsonl") == [{"id": "r1"}]
    assert read_json(job / "job.json")["config"]["train"]["launcher"] == "accelerate"


def test_a_launch_that_writes_no_result_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "launch_command", lambda job, n, progress: [sys.executable, "-c", "print('ok')"])
    cfg = load_config(None, ["train.launcher=accelerate", "train.threads=1"])
    with pytest.raises(LaunchError, match="without writing result.json"):
        launch_phases(cfg, RunPaths(tmp_path), [], None, NO_PROGRESS, lambda m: None)
