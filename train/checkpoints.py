"""Resumable training: trainer checkpoints every `train.save_steps`, resumed after a crash or a kill.

The trainer writes `checkpoint-N/` folders into a persistent folder of the run (not a temp folder):
the adapter as safetensors, `trainer_state.json` (written last, so a folder without it is a
checkpoint the kill interrupted and is deleted), and the optimiser, scheduler and RNG states that
transformers saves with `torch.save`. Resuming restores all of them, so the resumed run follows the
uninterrupted one step for step (same batches, same dropout masks, same Adam moments).

Loading those `.pt`/`.pth` files is safe: transformers 5 reads every one of them with
`torch.load(..., weights_only=True)` (tensors and plain containers only, no pickled code), and
`training_args.bin` is written but never read back. `weights_only_loads()` holds it to that: while
the trainer resumes, any `torch.load` that asks for a full unpickle raises instead.

A checkpoint folder belongs to one training job: `prepare(folder, key)` wipes it when the key (a
hash of the train config, seed, base model and rows) differs from the one it was made for, so a
changed config or dataset never resumes someone else's optimiser.

    folder = prepare(run / "train" / "checkpoints" / "sft", key)
    resume = last_checkpoint(folder)      # None: start from step 0
    with weights_only_loads():
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
"""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from seedfactory.util.files import atomic_write_text

KEY_FILE = "JOB"
_STEP = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_args(save_steps: int) -> dict:
    """Trainer arguments that save a resumable checkpoint every `save_steps` (0: never)."""
    if save_steps <= 0:
        return {"save_strategy": "no"}
    # save_safetensors is the default for the model/adapter; optimiser state has no safetensors form.
    return {"save_strategy": "steps", "save_steps": save_steps, "save_total_limit": None}


def prepare(folder: Path, key: str) -> Path:
    """The checkpoint folder for the job `key`, emptied if it held another job's checkpoints."""
    folder = Path(folder)
    marker = folder / KEY_FILE
    if folder.exists() and (not marker.is_file() or marker.read_text().strip() != key):
        shutil.rmtree(folder, ignore_errors=True)  # DDP: every rank prepares the same folder
    folder.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        atomic_write_text(marker, key + "\n")
    return folder


def checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints as (step, folder), oldest first (`trainer_state.json` is written last)."""
    folder = Path(folder)
    found = []
    for p in folder.iterdir() if folder.is_dir() else ():
        m = _STEP.match(p.name)
        if m and p.is_dir() and (p / "trainer_state.json").is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def last_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint; half-written ones (a kill during the save) are removed."""
    folder = Path(folder)
    complete = {p for _, p in checkpoints(folder)}
    for p in folder.iterdir() if folder.is_dir() else ():
        if _STEP.match(p.name) and p not in complete:
            shutil.rmtree(p)
    done = checkpoints(folder)
    return done[-1][1] if done else None


def finished(checkpoint: Path | None, max_steps: int) -> bool:
    """Whether the job had already reached its last step there (killed after the final save):
    resuming the Trainer from that point would run one step too many, so the caller takes the
    checkpoint as the result instead (`final_result`)."""
    return checkpoint is not None and int(checkpoint.name.rsplit("-", 1)[1]) >= max_steps


def final_result(checkpoint: Path, adapter_dir: Path) -> list[dict]:
    """Copy a finished job's adapter (the trained "default" one, at the checkpoint's root) into
    `adapter_dir`; return the trainer's log history saved with it."""
    import json

    for name in ("adapter_model.safetensors", "adapter_config.json"):
        shutil.copy2(checkpoint / name, adapter_dir / name)
    return json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]


def note_resume(folder: Path, checkpoint: Path | None) -> None:
    """Append the step a run resumed from to `resumes.jsonl` beside the checkpoints (the history
    of kills and restarts; tests read it). Under DDP rank 0 writes it, once for all ranks."""
    from seedfactory.train.common import process_rank

    if checkpoint is None or process_rank() != 0:
        return
    import json
    import time

    with open(Path(folder) / "resumes.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"step": int(checkpoint.name.rsplit("-", 1)[1]),
                            "at": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")


@contextmanager
def weights_only_loads() -> Iterator[None]:
    """Make every `torch.load` in the block tensors-only: a call asking for `weights_only=False`
    (a full unpickle, which can run code) raises instead of loading."""
    import torch

    real = torch.load

    def guarded(*args, **kwargs):
        if kwargs.get("weights_only") is False:
            raise RuntimeError("refusing a pickle load (weights_only=False) of a checkpoint file")
        kwargs["weights_only"] = True
        return real(*args, **kwargs)

    torch.load = guarded
    try:
        yield
    finally:
        torch.load = real
