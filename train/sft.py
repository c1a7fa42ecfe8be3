"""Supervised fine-tuning of the student: a LoRA adapter (or prefix / prompt tuning, `train.peft`)
trained with trl's SFTTrainer.

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
from seedfactory.train import checkpoints as ckpt
from seedfactory.train.common import (
    ADAPTER_FILES,
    SeenBatches,
    bf16_lora_inputs,
    continued_model,
    curve,
    job_key,
    load_student,
    loss_stats,
    losses,
    padding_free_collator,
    process_rank,
    resumed_step,
    staged_adapter,
    trainable_params,
    trainer_args,
    use_qlora,
)
from seedfactory.train.packed import pack_fused_forward, use_segment_attention
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


def peft_config(cfg: TrainConfig):
    """The adapter `train.peft` asks for: LoRA on every linear layer, or prefix tuning (trained
    key/value prefixes in every layer) or prompt tuning (trained input embeddings) of
    `train.virtual_tokens` virtual tokens. Only LoRA merges into the base (export, DPO)."""
    from peft import PrefixTuningConfig, PromptTuningConfig

    if cfg.peft == "prefix":
        return PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=cfg.virtual_tokens)
    if cfg.peft == "prompt":
        return PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=cfg.virtual_tokens)
    return lora_config(cfg)


def train_sft(model_dir: Path, records: list[dict], out_dir: Path, cfg: TrainConfig, seed: int,
              progress: Progress = NO_PROGRESS, checkpoint_dir: Path | None = None,
              init_adapter: Path | None = None, callbacks: list | None = None) -> dict:
    """Train a LoRA adapter on prompt-completion rows; save it to `out_dir`; return step stats.

    `init_adapter` (continuous fine-tuning): start from that adapter, trainable, instead of a fresh
    one on the base. Under `accelerate launch` every rank trains (DDP: each draws its own batches)
    and only rank 0 publishes `out_dir`.

    With `checkpoint_dir`, a checkpoint is saved there every `cfg.save_steps` and a rerun resumes
    from the newest one (`seedfactory.train.checkpoints`); `callbacks` go to the Trainer
    (`seedfactory.train.curve.checkpoint_reporter` scores each checkpoint as it is saved).
    Stats: steps, train_loss (mean over steps), first_loss, last_loss, losses, seconds (training
    only, without loading), cpu_seconds, trainable_params, rows, curve (per-step losses, for the
    run report), resumed_from (the step it resumed at, or 0), padding_free, batches (the row ids of
    each batch this process trained on), adapter_sha256 (of the saved adapter_model.safetensors),
    started_from (base or the adapter).
    """
    if not records:
        raise ValueError("train_sft: no SFT rows to train on (every example was filtered out?)")
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from seedfactory.util.files import file_digest

    model, tokenizer = load_student(Path(model_dir), cfg.threads, qlora=use_qlora(cfg),
                                    bf16_base=cfg.peft == "lora")
    if init_adapter is not None:
        model = continued_model(model, init_adapter, cfg)
    start = file_digest(Path(init_adapter) / ADAPTER_FILES[0]) if init_adapter is not None else "base"
    with staged_adapter(out_dir, publish=process_rank() == 0) as (work, adapter_dir):
        trainer_dir, saving = work / "trainer", {}
        if checkpoint_dir is not None:
            trainer_dir = ckpt.prepare(checkpoint_dir, job_key("sft", model_dir, records, cfg, seed, start))
            saving = ckpt.checkpoint_args(cfg.save_steps)
        args = SFTConfig(
            **{**trainer_args(cfg, seed=seed, steps=cfg.sft_steps, output_dir=trainer_dir, progress=progress),
               **saving},
            learning_rate=cfg.learning_rate,
            completion_only_loss=True,  # the default for prompt-completion rows; stated so it cannot drift
            remove_unused_columns=False,  # the rows' "id" reaches SeenBatches, which takes it off
        )
        # Padding-free batches only for LoRA: prefix and prompt tuning prepend virtual tokens,
        # which one flattened sequence would share across its rows.
        padding_free = cfg.padding_free and cfg.peft == "lora"
        if any("messages" in r for r in records):  # conversations: the loss on every assistant turn
            from seedfactory.train.chat import tokenized_records

            rows = tokenized_records(tokenizer, records)
        else:
            rows = records
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            callbacks=callbacks,
            peft_config=None if init_adapter is not None else peft_config(cfg),
            **({"data_collator": padding_free_collator(tokenizer)} if padding_free else {}),
        )
        if len(trainer.train_dataset) == 0:  # trl drops a row whose prompt leaves its answer no token
            from seedfactory.util.errors import SeedfactoryError

            raise SeedfactoryError(f"none of the {len(records)} SFT rows fits train.max_length={cfg.max_length} "
                                   "tokens with its answer; raise train.max_length")
        if padding_free:
            pack_fused_forward(trainer.model)  # the LM head on the completion tokens only
            use_segment_attention(trainer.model)  # attention per row, not one [T, T] masked block
        bf16_lora_inputs(trainer.model)
        trainer.data_collator = seen_batches = SeenBatches(trainer.data_collator)
        resume = ckpt.last_checkpoint(trainer_dir) if checkpoint_dir is not None else None
        ckpt.note_resume(trainer_dir, resume)
        started, cpu_started = time.monotonic(), time.process_time()
        if ckpt.finished(resume, cfg.sft_steps):
            history = ckpt.final_result(resume, adapter_dir)
        else:
            with ckpt.weights_only_loads():
                trainer.train(resume_from_checkpoint=str(resume) if resume else None)
            trainer.model.save_pretrained(adapter_dir, safe_serialization=True)
            history = trainer.state.log_history
        seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
        adapter_sha = file_digest(adapter_dir / ADAPTER_FILES[0])
    seen = losses(history)
    run_steps = len(seen) - resumed_step(resume)
    return {
        "steps": len(seen),
        "train_loss": sum(seen) / len(seen),
        **loss_stats(history),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),  # this process's CPU time: steadier than wall time on a shared machine
        "trainable_params": trainable_params(trainer.model),
        "rows": len(records),
        "curve": curve(history),
        "resumed_from": resumed_step(resume),
        "padding_free": padding_free,
        "losses": seen,
        # a lookahead dataloader may collate one batch more than it trains on
        "batches": seen_batches.batches[:max(run_steps, 0)],
        "adapter_sha256": adapter_sha,
        "started_from": str(init_adapter) if init_adapter is not None else "base",
    }
