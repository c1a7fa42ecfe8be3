"""Fast tests of resumable-training bookkeeping and the learning curve rows (no model loaded).
Run: .venv/bin/pytest tests/test_checkpoints_unit.py"""

from __future__ import annotations

import json

import pytest
import torch

from seedfactory.train.checkpoints import (
    checkpoint_args,
    last_checkpoint,
    note_resume,
    prepare,
    weights_only_loads,
)
from seedfactory.train.curve import curve_rows
from seedfactory.util.files import atomic_file


def _ckpt(folder, step, complete=True):
    d = folder / f"checkpoint-{step}"
    d.mkdir(parents=True)
    (d / "adapter_model.safetensors").write_bytes(b"x")
    if complete:
        (d / "trainer_state.json").write_text("{}")
    return d


def test_last_checkpoint_is_the_newest_complete_one_and_half_saves_are_removed(tmp_path):
    _ckpt(tmp_path, 2)
    ten = _ckpt(tmp_path, 10)  # numeric, not lexical, order: 10 > 4 > 2
    _ckpt(tmp_path, 4)
    torn = _ckpt(tmp_path, 12, complete=False)  # killed while saving: no trainer_state.json
    assert last_checkpoint(tmp_path) == ten
    assert not torn.exists()
    assert last_checkpoint(tmp_path / "missing") is None


def test_prepare_keeps_the_same_jobs_checkpoints_and_wipes_another_jobs(tmp_path):
    folder = prepare(tmp_path / "sft", "job-a")
    _ckpt(folder, 2)
    assert last_checkpoint(prepare(tmp_path / "sft", "job-a")).name == "checkpoint-2"
    assert last_checkpoint(prepare(tmp_path / "sft", "job-b")) is None  # new config or data: start over


def test_checkpoint_args_and_resume_notes(tmp_path):
    assert checkpoint_args(0) == {"save_strategy": "no"}
    assert checkpoint_args(4)["save_steps"] == 4 and checkpoint_args(4)["save_strategy"] == "steps"
    note_resume(tmp_path, None)
    note_resume(tmp_path, tmp_path / "checkpoint-6")
    assert [json.loads(x)["step"] for x in (tmp_path / "resumes.jsonl").read_text().splitlines()] == [6]


def test_weights_only_loads_refuses_a_full_unpickle(tmp_path):
    path = tmp_path / "state.pt"
    torch.save({"step": torch.tensor(3)}, path)
    with weights_only_loads():
        load = torch.load  # the guarded function, looked up inside the block
        assert int(load(path)["step"]) == 3
        with pytest.raises(RuntimeError, match="weights_only=False"):
            load(path, weights_only=False)
    assert torch.load is not None and torch.load.__name__ == "load"  # restored


def test_curve_rows_put_scores_on_checkpoint_steps():
    rows = curve_rows("sft", [3.0, 2.5, 2.0], {2: {"value": 0.4, "metric": "m"}})
    assert rows == [{"phase": "sft", "step": 1, "loss": 3.0},
                    {"phase": "sft", "step": 2, "loss": 2.5, "heldout": 0.4, "metric": "m"},
                    {"phase": "sft", "step": 3, "loss": 2.0}]


def test_atomic_file_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "m.gguf"
    with pytest.raises(ValueError):
        with atomic_file(target) as tmp:
            tmp.write_bytes(b"half")
            raise ValueError("writer failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and [p.name for p in tmp_path.iterdir()] == ["m.gguf"]
