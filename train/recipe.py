"""The training recipe: one round of SFT then preference tuning on a run's published dataset.

The train stage (in this process, or in DDP processes with `train.launcher=accelerate`),
`seedfactory tune` and `python -m seedfactory.train.launch` all read the dataset with
`read_published` and train with the functions here, so they train alike. Plain arguments
only (config, paths, rows, eval cases, schema, progress, a log function): no run context.

    data = read_published(RunPaths(run_dir), cfg)
    stats = train_round(cfg, RunPaths(run_dir), data, eval_cases, schema, progress, log)

A round: rows for this round (every row from the base, or with `train.continue_from` the rows the
adapter has not seen plus a replay sample: `continual_rows`), LoRA SFT, then the preference method
(`train.preference`: DPO, ORPO or KTO on the judged pairs; GRPO or online DPO on the student's own
answers, `seedfactory.train.rl`) where `preference_plan` allows it, else the SFT adapter is
the final one; the learning curve to train/curve.jsonl; the round kept as train/rounds/N.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seedfactory.schemas import Example, PreferencePair, RunConfig, SeedExample
from seedfactory.schemas.config import TrainConfig
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import atomic_dir, read_json, write_jsonl
from seedfactory.util.progress import NO_PROGRESS, Progress

# The preference phase's name on disk (checkpoint folder, curve.jsonl rows, round.json): "dpo" from
# before ORPO and KTO joined; kept so that runs killed mid-phase resume and old files read alike.
PREFERENCE_PHASE = "dpo"


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RunPaths:
    """Where a run directory keeps what training reads and writes."""

    run: Path

    @property
    def dataset(self) -> Path:
        return self.run / "dataset"

    @property
    def stage(self) -> Path:  # train/: stats.json, curve.jsonl, checkpoints/, rounds/
        return self.run / "train"

    @property
    def sft_adapter(self) -> Path:
        return self.run / "adapter_sft"

    @property
    def adapter(self) -> Path:  # the final adapter: after preference tuning, else a copy of the SFT one
        return self.run / "adapter"


@dataclass
class TrainingData:
    """The published dataset as training reads it."""

    sft: list[Example]
    pairs: list[PreferencePair]  # in preference-training order: reviewers' edits first
    readiness: dict  # judges.dpo_readiness of the pairs: counts, length bias, `skip`


def read_published(paths: RunPaths, cfg: RunConfig) -> TrainingData:
    """The sft and preference splits of `paths.dataset`; a missing dataset or an empty sft split is
    a one-line error. Chosen rows below the judge's cut-off come from the split's own column."""
    from datasets import load_from_disk

    from seedfactory.judges import dpo_readiness
    from seedfactory.train.data import dpo_order

    folder = paths.dataset
    if not (folder / "dataset_dict.json").is_file():
        raise SeedfactoryError(f"{folder}: no published dataset; run `seedfactory run --out {paths.run} "
                               "--until publish` first")
    ds = load_from_disk(str(folder))
    sft_rows = [Example.model_validate_json(j) for j in ds["sft"]["record"]]
    if not sft_rows:
        raise SeedfactoryError(f"{folder}: no rows in the sft split; see rejects.jsonl for why")
    pref = ds["preference"]
    pairs = [PreferencePair.model_validate_json(j) for j in pref["record"]]
    # datasets published before the column existed read as "none below the cut-off"
    below = pref["chosen_below_cutoff"] if "chosen_below_cutoff" in pref.column_names else [False] * len(pairs)
    below_ids = {p.chosen_id for p, b in zip(pairs, below) if b}
    t = cfg.train
    return TrainingData(sft_rows, dpo_order(pairs, cfg.seed), dpo_readiness(pairs, below_ids, t.min_pairs,
                                                                             t.max_length_bias))


# Methods that sample the student's own answers on the training prompts and score them with the
# run's checks (`seedfactory.train.rl`): the judged pairs' readiness does not gate them.
ONLINE = ("grpo", "online_dpo")


def preference_plan(cfg: TrainConfig, readiness: dict) -> dict:
    """`readiness` with the config's own reason to skip preference tuning added (non-LoRA adapters);
    `["skip"] is None` (and `train.dpo_steps` > 0) means the preference method trains."""
    if cfg.peft != "lora":
        return {**readiness, "skip": f"train.peft={cfg.peft}: preference tuning continues LoRA adapters only"}
    if cfg.preference in ONLINE:
        return {**readiness, "skip": None}
    return readiness


def trains_preference(cfg: TrainConfig, readiness: dict) -> bool:
    return preference_plan(cfg, readiness)["skip"] is None and cfg.dpo_steps > 0


def continual_rows(cfg: TrainConfig, current: list[dict], start, seed: int,
                   log: Callable[[str], None] = _stderr) -> tuple[list[dict], dict]:
    """The SFT rows of this round and where it starts: every row from the base, or (continuing an
    adapter, `start`) the rows it has not seen plus `train.replay` of those it has."""
    from seedfactory.train.continual import ContinueError, plan_rows

    if start is None:
        if cfg.continue_from == "latest":
            log("train: train.continue_from=latest: no earlier round in train/rounds/, training from the base")
        return current, {"from": "base", "rows": len(current), "new_rows": len(current), "replayed": 0}
    rows, info = plan_rows(current, start.seen, cfg.replay, seed)
    if info["new_rows"] == 0:
        raise ContinueError(f"train.continue_from={cfg.continue_from}: {start.label} has seen all {len(current)} "
                            "rows of the dataset; nothing new to train on (add seeds or review verdicts, or unset "
                            "train.continue_from to retrain from the base)")
    log(f"train: continuing {start.label}: {info['new_rows']} new rows + {info['replayed']} replayed "
        f"(train.replay={cfg.replay}) of the {info['seen_before']} it has seen")
    return rows, {"from": start.label, "from_round": start.round, "from_adapter": str(start.adapter),
                  "old_eval_cases": str(start.eval_cases) if start.eval_cases else None, **info}


def unfinished_rounds(paths: RunPaths, log: Callable[[str], None] = _stderr) -> None:
    """Set aside a round that a killed or failed train stage wrote after its last finished run
    (train/stats.json names the last finished round), so `latest` never points at it."""
    from seedfactory.train.rounds import set_aside_unfinished

    prev = paths.stage / "stats.json"
    last = read_json(prev).get("round", 0) if prev.is_file() else 0
    for n in set_aside_unfinished(paths.stage / "rounds", last):
        log(f"train: round {n} was written by a run that did not finish; set aside as train/rounds/.unfinished-{n}-*")


def train_round(cfg: RunConfig, paths: RunPaths, data: TrainingData, eval_cases: list[SeedExample],
                schema: dict | None, progress: Progress = NO_PROGRESS, log: Callable[[str], None] = _stderr,
                kinds: dict | None = None) -> dict:
    """One training round (module docstring); returns the train stage's stats. The phases train in
    this process, or under `train.launcher=accelerate` in `train.processes` DDP processes
    (`seedfactory.train.distributed`) that write the same adapters; what follows reads them alike.
    `kinds` (the run's field kinds) feed the rewards of the online methods (grpo, online_dpo)."""
    from seedfactory.train.continual import resolve_start
    from seedfactory.train.data import sft_records
    from seedfactory.util.models import resolve_model

    t, ckpts = cfg.train, paths.stage / "checkpoints"
    model_dir = resolve_model(t.student)
    unfinished_rounds(paths, log)
    start = resolve_start(t.continue_from, paths.stage / "rounds")
    rows, plan = continual_rows(t, sft_records(data.sft), start, cfg.seed, log)
    stats = {"in": len(data.sft), "out": len(data.sft), "student": t.student, "continual": plan}
    init_adapter = start.adapter if start else None
    if t.launcher == "accelerate":
        from seedfactory.train.distributed import launch_phases

        stats |= launch_phases(cfg, paths, rows, init_adapter, progress, log)
    else:
        stats |= train_phases(cfg, paths, data, rows, init_adapter, progress, log, schema, kinds)
    started = time.perf_counter()
    curve = learning_curve(t, model_dir, stats, ckpts, eval_cases, schema, progress)
    stats["curve_seconds"] = round(time.perf_counter() - started, 1)  # the checkpoints' held-out scores
    write_jsonl(paths.stage / "curve.jsonl", curve)
    stats["round"] = record_round(cfg, paths, rows, start, plan, stats, eval_cases)
    return stats


def skipped_line(why: str) -> str:
    return f"train: DPO skipped: {why}; the final adapter is the SFT adapter"


def train_phases(cfg: RunConfig, paths: RunPaths, data: TrainingData, rows: list[dict], init_adapter: Path | None,
                 progress: Progress = NO_PROGRESS, log: Callable[[str], None] = _stderr, schema: dict | None = None,
                 kinds: dict | None = None) -> dict:
    """LoRA SFT on `rows` into `paths.sft_adapter`, then the preference method into `paths.adapter`
    (or a copy of the SFT adapter where `preference_plan` skips it); returns their stats. Every
    process of a DDP launch runs it; only rank 0 publishes the adapters."""
    from seedfactory.train.common import process_rank, sync_processes
    from seedfactory.train.data import dpo_records
    from seedfactory.train.dpo import train_preference
    from seedfactory.train.sft import train_sft
    from seedfactory.train.tracking import phase_tracking
    from seedfactory.util.models import resolve_model

    t, ckpts = cfg.train, paths.stage / "checkpoints"
    model_dir = resolve_model(t.student)
    with phase_tracking(cfg, paths.run, "sft"):
        stats = {"sft": train_sft(model_dir, rows, paths.sft_adapter, t, cfg.seed, progress=progress,
                                  checkpoint_dir=ckpts / "sft", init_adapter=init_adapter)}
    sync_processes()  # every rank reads the SFT adapter rank 0 has just published
    stats["dpo_readiness"] = data.readiness
    ready = preference_plan(t, data.readiness)
    if ready["skip"] is None and t.dpo_steps > 0 and t.preference in ONLINE:
        with phase_tracking(cfg, paths.run, t.preference):
            stats["preference"] = train_online(t, model_dir, paths, data.sft, schema, kinds, cfg.seed, progress,
                                               ckpts / PREFERENCE_PHASE)
    elif ready["skip"] is None and t.dpo_steps > 0:
        with phase_tracking(cfg, paths.run, t.preference):
            stats["preference"] = train_preference(model_dir, paths.sft_adapter, dpo_records(data.pairs),
                                                   paths.adapter, t, cfg.seed, progress=progress,
                                                   checkpoint_dir=ckpts / PREFERENCE_PHASE)
    else:
        why = ready["skip"] or "train.dpo_steps=0"
        log(skipped_line(why))
        stats["preference"] = {"skipped": why}
        if process_rank() == 0:
            with atomic_dir(paths.adapter) as tmp:
                shutil.copytree(paths.sft_adapter, tmp, dirs_exist_ok=True)
    return stats


def train_online(cfg: TrainConfig, model_dir: Path, paths: RunPaths, rows: list[Example], schema: dict | None,
                 kinds: dict | None, seed: int, progress: Progress, checkpoint_dir: Path) -> dict:
    """GRPO or online DPO (`train.preference`) from the SFT adapter on the training rows' prompts,
    rewarded by the run's checks (`seedfactory.train.rewards`)."""
    from seedfactory.train.data import rl_records
    from seedfactory.train.rewards import reward_context
    from seedfactory.train.rl import train_grpo, train_online_dpo

    ctx = reward_context(schema, kinds, [r.output for r in rows if isinstance(r.output, dict)])
    train = train_grpo if cfg.preference == "grpo" else train_online_dpo
    return train(model_dir, paths.sft_adapter, rl_records(rows), paths.adapter, cfg, seed, ctx, progress=progress,
                 checkpoint_dir=checkpoint_dir)


def _phases(stats: dict) -> list[tuple[str, dict]]:
    """(name on disk, stats) of each phase that trained."""
    phases = [("sft", stats["sft"]), (PREFERENCE_PHASE, stats["preference"])]
    return [(name, s) for name, s in phases if "losses" in s]


def learning_curve(cfg: TrainConfig, model_dir: Path, stats: dict, ckpts: Path, eval_cases: list[SeedExample],
                   schema: dict | None, progress: Progress = NO_PROGRESS) -> list[dict]:
    """Loss per step for SFT and the preference phase, with the held-out score at each checkpoint
    (`train.curve`, on the eval set's first `train.curve_cases`): every checkpoint answered in one
    pass over one base where the adapters are LoRA and the metric programmatic, else one by one."""
    from seedfactory.train.checkpoints import checkpoints
    from seedfactory.train.curve import checkpoint_scores, curve_rows, heldout_scorer, one_pass_scores

    phases, points = _phases(stats), {}
    held = eval_cases[: cfg.curve_cases]  # the eval set's first cases: cheap
    if cfg.curve:
        for phase, phase_stats in phases:
            if phase == "sft":  # where the curve starts: the base model, or the adapter it continued
                started = phase_stats.get("started_from", "base")
                points[(phase, 0)] = None if started == "base" else Path(started)
            points |= {(phase, step): path for step, path in checkpoints(ckpts / phase)}
    prompts, targets = [s.student_prompt for s in held], [s.output for s in held]
    together = (one_pass_scores(model_dir, points, prompts, targets, schema, cfg.curve_max_new_tokens)
                if points else None)
    score = heldout_scorer(prompts, targets, schema, cfg.curve_max_new_tokens)
    rows = []
    for phase, phase_stats in phases:
        if together is not None:
            scores = {step: sc for (p, step), sc in together.items() if p == phase}
        elif cfg.curve:
            scores = checkpoint_scores(model_dir, ckpts / phase, score, progress)
            if (phase, 0) in points:
                scores[0] = score(model_dir, points[(phase, 0)])
        else:
            scores = {}
        rows += curve_rows(phase, phase_stats["losses"], scores, phase_stats.get("curve"))
        if 0 in scores:
            rows.insert(0, {"phase": phase, "step": 0, "loss": None, "heldout": scores[0]["value"],
                            "metric": scores[0]["metric"]})
    return rows


def record_round(cfg: RunConfig, paths: RunPaths, rows: list[dict], start, plan: dict, stats: dict,
                 eval_cases: list[SeedExample]) -> int:
    """Keep this round's adapter, rows, config and eval cases as train/rounds/N; return N."""
    from seedfactory.train.continual import merge_seen
    from seedfactory.train.rounds import write_round

    losses = {phase: {k: s.get(k) for k in ("steps", "first_loss", "last_loss")} for phase, s in _phases(stats)}
    info = {"from": plan["from"], "rows": plan["rows"], "new_rows": plan["new_rows"], "replayed": plan["replayed"],
            "student": cfg.train.student, **losses}
    number, _ = write_round(paths.stage / "rounds", adapter=paths.adapter, info=info, trained=rows,
                            seen=merge_seen(start.seen if start else [], rows), eval_cases=eval_cases,
                            config=cfg.dump())
    return number


def record_round_eval(paths: RunPaths, evaluation: dict) -> bool:
    """Write the evaluate stage's figures for this round (eval.json's `continual`) into
    train/rounds/N/eval.json, N from train/stats.json; False when training recorded no round."""
    from seedfactory.train.rounds import write_round_eval

    number = read_json(paths.stage / "stats.json").get("round")
    if number is None or "continual" not in evaluation:
        return False
    write_round_eval(paths.stage / "rounds", number, evaluation["continual"])
    return True
