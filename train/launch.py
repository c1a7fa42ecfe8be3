"""SFT of a run's student on more than one process: the same `train_sft`, under `accelerate launch`.

The train stage itself trains in several processes with `train.launcher=accelerate`, which starts
this module with `--job` (below). To train the SFT alone by hand on a machine with several GPUs (or
spread over CPU processes), publish the dataset with `seedfactory run --until publish`, then start
this module once per device with accelerate. The Trainer inside `train_sft` reads the launcher's
environment and trains with DDP (gloo on CPUs, NCCL on GPUs) or FSDP, as the accelerate config
says: each rank draws its own share of every global batch, gradients are averaged, and rank 0
publishes the adapter. Every rank writes what it did to `OUT/ranks/rank-N.json`: the row ids of
each batch it trained on and the sha256 of the adapter it saved (the same on every rank).

    # two CPU processes, gloo (the config shipped next to this file)
    accelerate launch --config_file "$(python -m seedfactory.train.launch --config ddp_cpu)" \\
        -m seedfactory.train.launch runs/x --out runs/x/ddp train.sft_steps=8
    # several GPUs, FSDP (untested here: this machine has no GPU)
    accelerate launch --config_file "$(python -m seedfactory.train.launch --config fsdp)" \\
        -m seedfactory.train.launch runs/x

Overrides are the run's `key=value` config keys; the run's own config.yaml is the base.

`--job DIR` is what the train stage starts under `train.launcher=accelerate`
(`seedfactory.train.distributed`): the recipe's SFT and preference phases on the job folder's
config and rows, adapters published where in-process training writes them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

CONFIGS = Path(__file__).with_name("accelerate")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m seedfactory.train.launch", description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, nargs="?", metavar="RUN_DIR", help="a run directory with dataset/ published")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides on top of RUN_DIR/config.yaml")
    p.add_argument("--out", type=Path, help="where the adapter and ranks/ go (default RUN_DIR/ddp)")
    p.add_argument("--job", type=Path, help="a job folder the train stage wrote (train.launcher=accelerate)")
    p.add_argument("--progress", action="store_true", help="with --job: progress bars on rank 0")
    p.add_argument("--config", choices=sorted(p.stem for p in CONFIGS.glob("*.yaml")),
                   help="print the path of a shipped accelerate config file and exit")
    return p


def sft_rows(run_dir: Path, cfg) -> list[dict]:
    """The published sft split of a run, as trl rows, read as the train stage reads it."""
    from seedfactory.train.data import sft_records
    from seedfactory.train.recipe import RunPaths, read_published

    return sft_records(read_published(RunPaths(Path(run_dir)), cfg).sft)


def rank_record(stats: dict) -> dict:
    """This process's rank, world size and backend, with `stats`."""
    import torch.distributed as dist

    from seedfactory.train.common import process_rank

    backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else None
    return {"rank": process_rank(), "world_size": int(os.environ.get("WORLD_SIZE", "1")), "backend": backend, **stats}


def run_job(job: Path, progress: bool) -> int:
    """One process of the train stage's launch: `train_phases` on the job folder's config and rows;
    rank 0 writes result.json (the phases' stats), every rank ranks/rank-N.json."""
    from seedfactory.schemas import RunConfig
    from seedfactory.train.common import process_rank
    from seedfactory.train.recipe import RunPaths, read_published, train_phases
    from seedfactory.util.files import read_json, read_jsonl_dicts, write_json
    from seedfactory.util.progress import Progress

    spec = read_json(job / "job.json")
    cfg = RunConfig.model_validate(spec["config"])
    paths = RunPaths(Path(spec["run"]))
    rank = process_rank()
    init = Path(spec["init_adapter"]) if spec["init_adapter"] else None
    # the stage logs what the phases decided (a skipped DPO) from result.json, once, in its own log
    stats = train_phases(cfg, paths, read_published(paths, cfg), read_jsonl_dicts(job / "rows.jsonl"), init,
                         Progress(progress and rank == 0), log=lambda msg: None)
    mine = {phase: {k: stats[phase][k] for k in ("batches", "adapter_sha256", "steps") if k in stats[phase]}
            for phase in ("sft", "preference")}
    write_json(job / "ranks" / f"rank-{rank}.json", rank_record(mine))
    if rank == 0:
        write_json(job / "result.json", stats)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_intermixed_args(argv)
    if args.config:
        print(CONFIGS / f"{args.config}.yaml")
        return 0
    if args.job:
        return run_job(args.job, args.progress)
    if args.run_dir is None:
        _parser().error("RUN_DIR is required")
    from seedfactory.schemas import load_config
    from seedfactory.train.common import process_rank
    from seedfactory.train.sft import train_sft
    from seedfactory.util.errors import SeedfactoryError
    from seedfactory.util.files import write_json
    from seedfactory.util.models import resolve_model

    out = args.out or args.run_dir / "ddp"
    try:
        cfg = load_config(args.run_dir / "config.yaml", args.overrides)
        rows = sft_rows(args.run_dir, cfg)
    except (SeedfactoryError, FileNotFoundError) as e:
        print(f"seedfactory.train.launch: {e}", file=sys.stderr)
        return 2
    rank = process_rank()
    stats = train_sft(resolve_model(cfg.train.student), rows, out / "adapter_sft", cfg.train, cfg.seed)
    write_json(out / "ranks" / f"rank-{rank}.json",
               rank_record({"rows": len(rows),
                            **{k: stats[k] for k in ("batches", "adapter_sha256", "losses", "steps", "seconds")}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
