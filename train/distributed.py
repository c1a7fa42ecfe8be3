"""The train stage's phases in several processes: `train.launcher=accelerate`.

The stage writes a job folder (train/launch/: the resolved config and this round's SFT rows), then
starts `accelerate launch` with `train.processes` processes, each running
`python -m seedfactory.train.launch --job train/launch`: the recipe's `train_phases`, the same
function the in-process launcher calls. The Trainer inside joins the processes with DDP (gloo on
CPUs, NCCL on CUDA GPUs); rank 0 publishes adapter_sft/ and adapter/ where in-process training
writes them and the phases' stats to result.json, and every rank logs its batches' row ids and its
adapters' sha256 in ranks/rank-N.json. The stage then reads the result as it reads its own
training: learning curve, round record, and evaluate, export and serve read the adapters.

    stats = launch_phases(cfg, RunPaths(run_dir), rows, None, progress, log)

A failed launch is a `LaunchError` ending with the last lines the processes wrote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from seedfactory.schemas import RunConfig
from seedfactory.schemas.config import TrainConfig
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import read_json, write_json, write_jsonl
from seedfactory.util.progress import Progress

if TYPE_CHECKING:
    from seedfactory.train.recipe import RunPaths

# The shipped two-process config: MULTI_GPU is the torchrun way of starting processes, which
# the Trainer joins with gloo where no CUDA GPU is found; --num_processes overrides its count.
ACCELERATE_CONFIG = Path(__file__).with_name("accelerate") / "ddp_cpu.yaml"
TAIL_LINES = 30


class LaunchError(SeedfactoryError):
    """`accelerate launch` of the training processes failed; the message ends with their output's tail."""


def launch_command(job: Path, processes: int, progress: bool = False, python: str = sys.executable) -> list[str]:
    """The command line that trains the job folder `job` in `processes` DDP processes."""
    return [python, "-m", "accelerate.commands.launch", "--config_file", str(ACCELERATE_CONFIG),
            "--num_processes", str(processes), "-m", "seedfactory.train.launch", "--job", str(job),
            *(["--progress"] if progress else [])]


def launch_env(cfg: TrainConfig, environ: dict[str, str], cores: int | None) -> dict[str, str]:
    """The processes' environment: `train.threads` threads each, else the cores shared out."""
    threads = cfg.threads or max(1, (cores or 1) // cfg.processes)
    return {**environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}


def check_devices(cfg: TrainConfig) -> str:
    """The backend the processes will use; more processes than CUDA GPUs is refused."""
    import torch

    if not torch.cuda.is_available():
        return "gloo"
    gpus = torch.cuda.device_count()
    if cfg.processes > gpus:
        raise LaunchError(f"train.processes={cfg.processes}: this machine has {gpus} CUDA GPU(s); "
                          f"set train.processes={gpus} or fewer")
    return "nccl"


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` non-empty lines of a process's output (progress bars' \\r updates split)."""
    kept = [line.rstrip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_processes(cmd: list[str], env: dict[str, str], echo: bool) -> tuple[int, str]:
    """Run `cmd` with stdout and stderr together; pass them on to our stderr when `echo` (the
    progress bars); return the exit code and the whole output."""
    chunks = []
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        for chunk in iter(lambda: proc.stdout.read1(8192), b""):
            chunks.append(chunk)
            if echo:
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
        code = proc.wait()
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def write_job(job: Path, cfg: RunConfig, run: Path, rows: list[dict], init_adapter: Path | None) -> None:
    """A fresh job folder: what every process reads (no result of an earlier launch is left)."""
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    write_jsonl(job / "rows.jsonl", rows)
    write_json(job / "job.json", {"run": str(run), "config": cfg.dump(),
                                  "init_adapter": str(init_adapter) if init_adapter else None})


def launch_phases(cfg: RunConfig, paths: RunPaths, rows: list[dict], init_adapter: Path | None, progress: Progress,
                  log: Callable[[str], None]) -> dict:
    """Train the round's phases (`recipe.train_phases`) under `accelerate launch`; return rank 0's
    stats with `launch`: the launcher, processes, backend and each rank's record."""
    t = cfg.train
    backend = check_devices(t)
    job = paths.stage / "launch"
    write_job(job, cfg, paths.run, rows, init_adapter)
    cmd = launch_command(job, t.processes, progress.enabled)
    env = launch_env(t, dict(os.environ), os.cpu_count())
    log(f"train: train.launcher=accelerate: {t.processes} processes ({backend}, "
        f"{env['OMP_NUM_THREADS']} thread(s) each)")
    code, output = run_processes(cmd, env, echo=progress.enabled)
    (job / "output.log").write_text(output, encoding="utf-8")
    result = job / "result.json"
    if code != 0 or not result.is_file():
        why = f"exited with {code}" if code != 0 else "exited without writing result.json"
        raise LaunchError(f"train.launcher=accelerate: `accelerate launch` of {t.processes} processes {why} "
                          f"(all output: {job / 'output.log'}); its last lines:\n{tail(output)}")
    ranks = sorted((read_json(p) for p in (job / "ranks").glob("rank-*.json")), key=lambda r: r["rank"])
    stats = read_json(result)
    if "skipped" in stats["preference"]:
        from seedfactory.train.recipe import skipped_line

        log(skipped_line(stats["preference"]["skipped"]))
    stats["launch"] = {"launcher": "accelerate", "processes": t.processes, "backend": backend, "ranks": ranks}
    return stats
