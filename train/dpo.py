"""Preference tuning of the student: trl's DPOTrainer continues training the SFT LoRA adapter.

The base model is loaded with the SFT adapter as a trainable PeftModel and passed with
`ref_model=None`. In that case trl 1.16 (with peft >= 0.20) adds a frozen copy of the adapter,
named "ref", and computes the reference log-probs with it: the reference is the SFT policy, as DPO
intends, not the bare base model. Policy and reference therefore start equal, so the first loss is
ln 2 (dropout is disabled by DPOConfig's default). Only the trained "default" adapter is saved, by
write-then-rename into `out_dir`; `stats["reference"]` records which reference was used.

    from seedfactory.train.dpo import train_dpo
    stats = train_dpo(model_dir, Path("runs/x/sft_adapter"), rows, Path("runs/x/dpo_adapter"), cfg.train, 0)
"""

from __future__ import annotations

import time
from pathlib import Path

from seedfactory.schemas.config import TrainConfig
from seedfactory.train.common import (
    ADAPTER_FILES,
    curve,
    load_student,
    loss_stats,
    staged_adapter,
    trainable_params,
    trainer_args,
    use_qlora,
)
from seedfactory.util.progress import NO_PROGRESS, Progress


def train_dpo(model_dir: Path, sft_adapter: Path, records: list[dict], out_dir: Path, cfg: TrainConfig,
              seed: int, progress: Progress = NO_PROGRESS) -> dict:
    """Continue the SFT adapter with DPO on prompt/chosen/rejected rows, read in the order given;
    save it; return step stats.

    Raises ValueError when there is nothing to do (no rows, or `train.dpo_steps` is 0), so the
    caller can skip DPO and say why.
    """
    if cfg.dpo_steps == 0:
        raise ValueError("train_dpo: train.dpo_steps is 0, DPO is switched off")
    if not records:
        raise ValueError("train_dpo: no preference pairs to train on (need 2+ responses per prompt "
                         "and judge margins of at least judge.min_margin)")
    sft_adapter = Path(sft_adapter)
    missing = [f for f in ADAPTER_FILES if not (sft_adapter / f).is_file()]
    if missing:
        raise ValueError(f"train_dpo: {sft_adapter} is not an SFT adapter folder "
                         f"(missing {', '.join(missing)})")
    from datasets import Dataset
    from peft import PeftModel
    from trl import DPOConfig, DPOTrainer

    base, tokenizer = load_student(Path(model_dir), cfg.threads, qlora=use_qlora(cfg))
    model = PeftModel.from_pretrained(base, sft_adapter, is_trainable=True)
    with staged_adapter(out_dir) as (work, adapter_dir):
        args = DPOConfig(
            **trainer_args(cfg, seed=seed, steps=cfg.dpo_steps, output_dir=work / "trainer",
                           progress=progress),
            learning_rate=cfg.dpo_learning_rate,
            beta=cfg.dpo_beta,
            # The caller orders the rows (reviewers' edits first); the trainer must not reshuffle them.
            train_sampling_strategy="sequential",
        )
        trainer = DPOTrainer(
            model=model,
            ref_model=None,
            args=args,
            train_dataset=Dataset.from_list(records),
            processing_class=tokenizer,
        )
        # trl falls back to the adapter-disabled base model only where peft cannot hold a second
        # adapter; report which one this run actually used.
        reference = "sft_adapter" if "ref" in trainer.model.peft_config else "base_model"
        started = time.monotonic()
        trainer.train()
        seconds = time.monotonic() - started
        # The frozen "ref" copy is trl's bookkeeping, not part of the result.
        trainer.model.save_pretrained(adapter_dir, safe_serialization=True,
                                      selected_adapters=["default"])
    stats = {
        "steps": trainer.state.global_step,
        **loss_stats(trainer.state.log_history),
        "seconds": round(seconds, 2),
        "rows": len(records),
        "trainable_params": trainable_params(trainer.model),
        "reference": reference,
        "curve": curve(trainer.state.log_history),
    }
    margins = [h["rewards/margins"] for h in trainer.state.log_history if "rewards/margins" in h]
    if margins:
        stats["rewards_margin_last"] = float(margins[-1])
    return stats
