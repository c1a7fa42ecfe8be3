"""Supervised fine-tuning of the student: a LoRA adapter trained with trl's SFTTrainer.

Rows are conversational prompt-completion pairs (`seedfactory.train.data.sft_records`), so the
loss covers the assistant's answer only. LoRA goes on every linear layer; only the adapter is
saved (safetensors), by write-then-rename into `out_dir`.

    from seedfactory.util.models import resolve_model
    from seedfactory.train.sft import train_sft
    stats = train_sft(resolve_model("smollm2-135m"), rows, Path("runs/x/sft_adapter"), cfg.train, seed=0)
"""

from __future__ import annotations

import time
from pathlib import Path

from seedfactory.schemas.config import TrainConfig
from seedfactory.train.common import (
    curve,
    load_student,
    loss_stats,
    staged_adapter,
    trainable_params,
    trainer_args,
    use_qlora,
)
from seedfactory.util.progress import NO_PROGRESS, Progress


def lora_config(cfg: TrainConfig):
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=0.05,
        target_modules="all-linear",  # peft leaves the (tied) output head out of "all-linear"
        task_type="CAUSAL_LM",
    )


def train_sft(model_dir: Path, records: list[dict], out_dir: Path, cfg: TrainConfig, seed: int,
              progress: Progress = NO_PROGRESS) -> dict:
    """Train a LoRA adapter on prompt-completion rows; save it to `out_dir`; return step stats.

    Stats: steps, train_loss (trl's mean over steps), first_loss, last_loss, seconds (training
    only, without loading), trainable_params, rows, curve (per-step losses, for the run report).
    """
    if not records:
        raise ValueError("train_sft: no SFT rows to train on (every example was filtered out?)")
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    model, tokenizer = load_student(Path(model_dir), cfg.threads, qlora=use_qlora(cfg))
    with staged_adapter(out_dir) as (work, adapter_dir):
        args = SFTConfig(
            **trainer_args(cfg, seed=seed, steps=cfg.sft_steps, output_dir=work / "trainer",
                           progress=progress),
            learning_rate=cfg.learning_rate,
            completion_only_loss=True,  # the default for prompt-completion rows; stated so it cannot drift
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(records),
            processing_class=tokenizer,
            peft_config=lora_config(cfg),
        )
        started = time.monotonic()
        result = trainer.train()
        seconds = time.monotonic() - started
        trainer.model.save_pretrained(adapter_dir, safe_serialization=True)
    return {
        "steps": trainer.state.global_step,
        "train_loss": float(result.training_loss),
        **loss_stats(trainer.state.log_history),
        "seconds": round(seconds, 2),
        "trainable_params": trainable_params(trainer.model),
        "rows": len(records),
        "curve": curve(trainer.state.log_history),
    }
