"""Preference tuning of the student: trl's DPOTrainer (or ORPO, KTO: `train.preference`) continues
training the SFT LoRA adapter.

The base model is loaded with the SFT adapter as a trainable PeftModel and passed with
`ref_model=None`. In that case trl 1.16 (with peft >= 0.20) adds a frozen copy of the adapter,
named "ref", and computes the reference log-probs with it: the reference is the SFT policy, as DPO
intends, not the bare base model. Policy and reference therefore start equal, so the first loss is
ln 2 (dropout is disabled by DPOConfig's default). Only the trained "default" adapter is saved, by
write-then-rename into `out_dir`; `stats["reference"]` records which reference was used.

ORPO (trl.experimental.orpo) is reference-free: an odds-ratio term added to the NLL of the chosen
answer. KTO (trl) learns from unpaired good/bad answers, so each pair becomes two labelled rows
(`seedfactory.train.data.kto_records`); like DPO it uses the frozen "ref" copy of the SFT adapter.

    from seedfactory.train.dpo import train_preference
    stats = train_preference(model_dir, Path("runs/x/sft_adapter"), rows, Path("runs/x/dpo_adapter"), cfg.train, 0)
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from seedfactory.schemas.config import TrainConfig
from seedfactory.train import checkpoints as ckpt
from seedfactory.train.common import (
    ADAPTER_FILES,
    bf16_lora_inputs,
    curve,
    job_key,
    load_student,
    loss_stats,
    losses,
    process_rank,
    resumed_step,
    staged_adapter,
    trainable_params,
    trainer_args,
    use_qlora,
)
from seedfactory.train.packed import pack_fused_forward, use_segment_attention
from seedfactory.util.progress import NO_PROGRESS, Progress


def preference_trainer(kind: str):
    """(Config, Trainer) classes of trl for `train.preference`."""
    if kind == "kto":
        from trl import KTOConfig, KTOTrainer

        return KTOConfig, KTOTrainer
    if kind == "orpo":
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        return ORPOConfig, ORPOTrainer
    from trl import DPOConfig, DPOTrainer

    return DPOConfig, DPOTrainer


def train_preference(model_dir: Path, sft_adapter: Path, records: list[dict], out_dir: Path, cfg: TrainConfig,
                     seed: int, progress: Progress = NO_PROGRESS, checkpoint_dir: Path | None = None,
                     callbacks: list | None = None, extra: dict | None = None) -> dict:
    """Continue the SFT adapter with the preference method (`train.preference`: DPO, ORPO or KTO)
    on prompt/chosen/rejected rows, read in the order given; save it; return step stats.

    `extra` adds trainer settings (`bench.dpo_pairs` passes trl's `loss_type` / `loss_weights`).
    With `checkpoint_dir`, checkpoints every `cfg.save_steps` and a rerun resumes from the newest
    (`seedfactory.train.checkpoints`); the job key includes the SFT adapter's digest.

    Raises ValueError when there is nothing to do (no rows, or `train.dpo_steps` is 0), so the
    caller can skip DPO and say why.
    """
    if cfg.preference not in ("dpo", "orpo", "kto"):
        raise ValueError(f"train_preference: train.preference={cfg.preference} trains on the student's own answers "
                         "(seedfactory.train.rl), not on judged pairs")
    if cfg.dpo_steps == 0:
        raise ValueError("train_preference: train.dpo_steps is 0, DPO is switched off")
    if not records:
        raise ValueError("train_preference: no preference pairs to train on (need 2+ responses per prompt "
                         "and judge margins of at least judge.min_margin)")
    sft_adapter = Path(sft_adapter)
    missing = [f for f in ADAPTER_FILES if not (sft_adapter / f).is_file()]
    if missing:
        raise ValueError(f"train_preference: {sft_adapter} is not an SFT adapter folder "
                         f"(missing {', '.join(missing)})")
    from datasets import Dataset
    from peft import PeftModel

    from seedfactory.train.data import kto_records
    from seedfactory.util.files import file_digest

    Config, Trainer = preference_trainer(cfg.preference)
    if cfg.preference == "kto":
        records = kto_records(records)

    base, tokenizer = load_student(Path(model_dir), cfg.threads, qlora=use_qlora(cfg), bf16_base=True)
    model = PeftModel.from_pretrained(base, sft_adapter, is_trainable=True)
    with staged_adapter(out_dir, publish=process_rank() == 0) as (work, adapter_dir):
        trainer_dir, saving = work / "trainer", {}
        if checkpoint_dir is not None:
            key = job_key("dpo", model_dir, records, cfg, seed, file_digest(sft_adapter / ADAPTER_FILES[0]),
                          *([json.dumps(extra, sort_keys=True)] if extra else []))
            trainer_dir = ckpt.prepare(checkpoint_dir, key)
            saving = ckpt.checkpoint_args(cfg.save_steps)
        args = Config(
            **{**trainer_args(cfg, seed=seed, steps=cfg.dpo_steps, output_dir=trainer_dir, progress=progress),
               **saving},
            learning_rate=cfg.dpo_learning_rate,
            beta=cfg.dpo_beta,
            # The caller orders the rows (reviewers' edits first); the trainer must not reshuffle them.
            train_sampling_strategy="sequential",
            **(extra or {}),
        )
        reference_free = {} if cfg.preference == "orpo" else {"ref_model": None}
        trainer = Trainer(
            model=model,
            **reference_free,
            args=args,
            train_dataset=Dataset.from_list(records),
            processing_class=tokenizer,
            callbacks=callbacks,
        )
        # DPO batches packed into one row, LM head on the completion tokens only (same log-probs)
        padding_free = cfg.padding_free and cfg.preference == "dpo" and pack_fused_forward(trainer.model)
        if padding_free:
            use_segment_attention(trainer.model)
        bf16_lora_inputs(trainer.model)
        # trl falls back to the adapter-disabled base model only where peft cannot hold a second
        # adapter; report which one this run actually used.
        reference = "sft_adapter" if "ref" in trainer.model.peft_config else "base_model"
        if cfg.preference == "orpo":
            reference = "none (ORPO is reference-free)"
        resume = ckpt.last_checkpoint(trainer_dir) if checkpoint_dir is not None else None
        ckpt.note_resume(trainer_dir, resume)
        if resume is not None:
            # A checkpoint holds the trained "default" adapter at its root and trl's frozen "ref"
            # copy in ref/. With that sub-folder present the Trainer reloads only "ref", so drop it:
            # "ref" is the SFT adapter, rebuilt above, and the root then restores "default".
            shutil.rmtree(resume / "ref", ignore_errors=True)
        started, cpu_started = time.monotonic(), time.process_time()
        if ckpt.finished(resume, cfg.dpo_steps):
            history = ckpt.final_result(resume, adapter_dir)
        else:
            with ckpt.weights_only_loads():
                trainer.train(resume_from_checkpoint=str(resume) if resume else None)
            # The frozen "ref" copy is trl's bookkeeping, not part of the result.
            trainer.model.save_pretrained(adapter_dir, safe_serialization=True, selected_adapters=["default"])
            history = trainer.state.log_history
        seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
        adapter_sha = file_digest(adapter_dir / ADAPTER_FILES[0])
    stats = {
        "steps": len(losses(history)),
        **loss_stats(history),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),  # this process's CPU time: steadier than wall time on a shared machine
        "rows": len(records),
        "trainable_params": trainable_params(trainer.model),
        "reference": reference,
        "curve": curve(history),
        "method": cfg.preference,
        "resumed_from": resumed_step(resume),
        "losses": losses(history),
        "padding_free": padding_free,
        "adapter_sha256": adapter_sha,  # of the saved adapter_model.safetensors (the same on every DDP rank)
    }
    margins = [h["rewards/margins"] for h in history if "rewards/margins" in h]
    if margins:
        stats["rewards_margin_last"] = float(margins[-1])
    return stats
