"""What the SFT and DPO steps share: loading the student, trainer settings, publishing an adapter.

Both steps load the base folder from `seedfactory.util.models.resolve_model`, train a LoRA adapter with
trl, and publish it by write-then-rename (`atomic_dir`): a crash never leaves a folder that looks like a
finished adapter. torch, transformers and trl are imported inside the functions so
that importing `seedfactory.train` stays cheap.
"""

from __future__ import annotations

import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from seedfactory.schemas.config import TrainConfig
from seedfactory.util.files import atomic_dir
from seedfactory.util.progress import Progress

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


def use_qlora(cfg: TrainConfig | None) -> bool:
    """QLoRA only where it can run: asked for, and a CUDA GPU present (bitsandbytes needs one)."""
    import torch

    return bool(cfg is not None and cfg.qlora and torch.cuda.is_available())


def use_cpu() -> bool:
    """Train on the CPU only where no CUDA GPU is present (LoRA and QLoRA alike use the GPU)."""
    import torch

    return not torch.cuda.is_available()


def bf16_ok() -> bool:
    """bfloat16 autocast pays off: a CUDA GPU with bf16, or a CPU with native bf16 (AVX512-BF16/AMX)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def load_student(model_dir: Path, threads: int = 0, qlora: bool = False, bf16_base: bool = False):
    """(model, tokenizer) with a pad token (SmolLM2 pads with its EOS): float32, or 4-bit NF4
    weights on the GPU for QLoRA. With `bf16_base` (LoRA training) on a CPU with native bf16 the
    frozen base weights are bfloat16: the bf16 autocast the trainer runs under would otherwise cast every weight again
    at every use (frozen weights are not in autocast's cache); the LoRA adapter stays float32
    (peft keeps adapter weights in float32). Export and evaluation load float32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if threads > 0:
        torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if qlora:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise RuntimeError("train.qlora needs bitsandbytes (the `cuda` extra); or set train.qlora=false") from None
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=torch.bfloat16)
        model = AutoModelForCausalLM.from_pretrained(model_dir, quantization_config=quant, device_map={"": 0},
                                                     dtype=torch.bfloat16)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    else:
        bf16 = bf16_base and not torch.cuda.is_available() and bf16_ok()
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if bf16 else torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def trainer_args(cfg: TrainConfig, *, seed: int, steps: int, output_dir: Path,
                 progress: Progress) -> dict[str, Any]:
    """Keyword arguments common to SFTConfig and DPOConfig."""
    return dict(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=cfg.batch_size,
        max_length=cfg.max_length,
        use_cpu=use_cpu(),
        seed=seed,
        report_to=reported_to(cfg),
        logging_steps=1,
        save_strategy="no",
        disable_tqdm=not progress.enabled,
        # bf16 autocast where the hardware runs it natively (trl's default turns it on anywhere);
        # float32 elsewhere. Gradient checkpointing (trl's default) recomputes activations for
        # memory a 135M model does not need: `python -m bench.train` compares the two.
        bf16=bf16_ok(),
        gradient_checkpointing=False,
        dataloader_num_workers=0,
        # under `accelerate launch` (DDP): every trainable weight takes part in each forward pass
        ddp_find_unused_parameters=False,
    )


# What each trl integration needs set up by `seedfactory.train.tracking.phase_tracking` first.
TRACKING_ENV = {"tensorboard": "TENSORBOARD_LOGGING_DIR", "mlflow": "MLFLOW_RUN_ID"}


def reported_to(cfg: TrainConfig) -> list[str]:
    """`train.report_to`, each integration only where the run set up its destination (inside
    `phase_tracking`): a tune trial or a bare `train_sft` call never writes into the working
    directory's ./runs or ./mlruns."""
    return [name for name in cfg.report_to if os.environ.get(TRACKING_ENV[name])]


def bf16_lora_inputs(model) -> int:
    """On a bfloat16 base (`load_student(bf16_base=True)`), let each LoRA layer take its bf16 input as
    it comes: peft casts it to the adapter's float32 first (a copy per layer and call), only for
    the bf16 autocast the trainer runs under to cast it back for the matmul. Returns the number of
    layers changed (0 on a float32 base, where nothing is cast, and on CUDA: QLoRA's bf16 base
    may train without autocast there)."""
    import torch
    from peft.tuners.tuners_utils import BaseTunerLayer

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if torch.cuda.is_available() or base.dtype != torch.bfloat16:
        return 0
    layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
    for layer in layers:
        layer.cast_input_dtype_enabled = False
    return len(layers)


def padding_free_collator(tokenizer):
    """trl's collator in padding-free mode: a batch is its rows end to end in one sequence, with
    position_ids restarting at each row, from which transformers builds a block-diagonal mask (sdpa
    and eager alike), so no step computes padding and no row sees another. Given as the collator,
    not as `SFTConfig(padding_free=True)`, which without packing would also drop the truncation to
    max_length."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    return DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=True)


def losses(log_history: list[dict]) -> list[float]:
    """The per-step training losses trl logged (logging_steps=1 gives one per step)."""
    return [float(h["loss"]) for h in log_history if "loss" in h]


# What trl logs per step that the run report plots, under shorter names.
CURVE_KEYS = {"loss": "loss", "rewards/margins": "margin", "rewards/accuracies": "accuracy", "reward": "reward",
              "kl": "kl"}


def curve(log_history: list[dict]) -> list[dict]:
    """One record per logged training step: step, loss and, for DPO, reward margin and accuracy,
    for GRPO the mean reward and the KL to the reference."""
    return [{"step": h["step"], **{short: float(h[k]) for k, short in CURVE_KEYS.items() if k in h}}
            for h in log_history if "loss" in h and "step" in h]


def loss_stats(log_history: list[dict]) -> dict[str, float | None]:
    seen = losses(log_history)
    if seen and not all(math.isfinite(x) for x in seen):
        # A NaN adapter would still be saved and evaluated; fail here where the cause is visible.
        raise FloatingPointError(f"training loss is not finite: {seen}")
    return {"first_loss": seen[0] if seen else None, "last_loss": seen[-1] if seen else None}


def job_key(kind: str, model_dir: Path, records: list[dict], cfg: TrainConfig, seed: int, *extra) -> str:
    """What a checkpoint folder was made for: a resume only continues the very same job."""
    from seedfactory.schemas import stable_hash

    settings = cfg.model_dump(exclude={"threads", "save_steps", "curve", "curve_cases", "curve_max_new_tokens",
                                       "report_to", "mlflow_uri", "mlflow_experiment"})
    return stable_hash([kind, str(model_dir), records, settings, seed, [str(x) for x in extra]], n=32)


def resumed_step(checkpoint: Path | None) -> int:
    """The global step a resumed run started from (0 for a fresh start)."""
    return int(Path(checkpoint).name.rsplit("-", 1)[1]) if checkpoint else 0


def trainable_params(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def process_rank() -> int:
    """This process's rank under `accelerate launch` / torchrun (RANK), 0 when run alone."""
    return int(os.environ.get("RANK", "0") or 0)


def sync_processes() -> None:
    """Wait for every process of a DDP launch (nothing when run alone): a rank that reads what
    rank 0 publishes waits until it is there."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


PEFT_TYPES = {"lora": "LORA", "prefix": "PREFIX_TUNING", "prompt": "PROMPT_TUNING"}


def continued_model(model, adapter: Path, cfg: TrainConfig):
    """The base model with an earlier round's adapter loaded trainable (continuous fine-tuning).
    Its kind must be the one `train.peft` asks for; its rank and targets are the adapter's own."""
    from peft import PeftModel

    from seedfactory.train.continual import ContinueError

    model = PeftModel.from_pretrained(model, Path(adapter), is_trainable=True)
    kind = model.peft_config["default"].peft_type.value
    if kind != PEFT_TYPES[cfg.peft]:
        raise ContinueError(f"train.continue_from: {adapter} is a {kind} adapter but train.peft={cfg.peft}")
    return model


class SeenBatches:
    """Wraps the trainer's collator and records the row ids of every batch this process draws
    (under DDP each rank draws its own share). The ids are taken off before collating."""

    def __init__(self, collate):
        self.collate, self.batches = collate, []

    def __call__(self, examples: list[dict]):
        self.batches.append([ex.get("id") for ex in examples])
        return self.collate([{k: v for k, v in ex.items() if k != "id"} for ex in examples])


@contextmanager
def staged_adapter(out_dir: Path, publish: bool = True) -> Iterator[tuple[Path, Path]]:
    """Yield (work, adapter): a scratch folder for the trainer's own files, and the folder to save
    the adapter into. On success the adapter folder replaces `out_dir` whole (`atomic_dir`); the
    work folder is removed either way, so nothing but the finished adapter is left behind.
    `publish=False` (a DDP rank other than 0): the adapter is saved into the work folder and
    removed with it; rank 0 publishes the same weights."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.work-", dir=out_dir.parent) as work:
        if not publish:
            (Path(work) / "adapter").mkdir()
            yield Path(work), Path(work) / "adapter"
            return
        with atomic_dir(out_dir) as adapter:
            yield Path(work), adapter
            missing = [f for f in ADAPTER_FILES if not (adapter / f).is_file()]
            if missing:
                raise RuntimeError(f"adapter save into {adapter} is missing {', '.join(missing)}")
