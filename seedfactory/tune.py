"""`seedfactory tune RUN_DIR [key=value ...]`: an Optuna search over the student's train settings.

    seedfactory tune runs/invoice-fields                       # tune.trials=8 on the published dataset
    seedfactory tune runs/invoice-fields tune.trials=12 tune.max_minutes=60
    seedfactory run runs/invoice-fields/tune/best.yaml --out runs/invoice-fields   # retrain with the best

Each trial trains the student with the train stage's own code (`seedfactory.train.recipe` reads the
run's published dataset; `train_sft`, then `train_preference` where the run trains a preference
method), with a learning rate, LoRA rank, SFT steps and DPO beta drawn by Optuna's TPE sampler; the
objective is the eval set's primary metric (field exact match where the seed set has an output
schema, maximised; else the reference answers' NLL, minimised, since a judge per trial is too dear).
Trial 0 is the run's own settings, the default the best is compared with. At every checkpoint
(`train.save_steps`) the held-out score is reported to the trial, and Optuna's MedianPruner stops a
trial that is worse than the median of earlier trials at that step.

Everything lives in RUN_DIR/tune/: `study.sqlite` (Optuna's storage: every trial, its settings,
its reported scores), `trials/NNNN/` (each finished trial's adapter), `best.yaml` (the run's config
with the best settings: `seedfactory run` accepts it) and `summary.json`. A rerun continues the
study: finished trials count towards `tune.trials`, and a trial cut off by a kill runs again with
the same settings.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from seedfactory.schemas import RunConfig
from seedfactory.schemas.config import TrainConfig, TuneConfig
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import atomic_write_text, write_json
from seedfactory.util.progress import NO_PROGRESS, Progress


class TuneError(SeedfactoryError):
    """A search that cannot start: no dataset, a study made for other data or another objective."""


def search_space(t: TuneConfig, train: TrainConfig, dpo: bool) -> dict[str, tuple]:
    """{param: (kind, choices or (low, high))}, each range widened to hold the run's own value, so
    that trial 0 (the run's settings) is a point of the space. LoRA rank only for LoRA, DPO beta
    only where the run trains DPO."""
    space = {
        "learning_rate": ("log", (min(t.learning_rate[0], train.learning_rate), max(t.learning_rate[1],
                                                                                    train.learning_rate))),
        "lora_r": ("choice", tuple(sorted(set(t.lora_r) | {train.lora_r}))),
        "sft_steps": ("int", (min(t.sft_steps[0], train.sft_steps), max(t.sft_steps[1], train.sft_steps))),
    }
    if train.peft != "lora":  # prefix and prompt tuning have no rank
        del space["lora_r"]
    if dpo:
        space["dpo_beta"] = ("log", (min(t.dpo_beta[0], train.dpo_beta), max(t.dpo_beta[1], train.dpo_beta)))
    return space


def suggest(trial, space: dict[str, tuple]) -> dict:
    """The trial's settings, drawn from `space` (an enqueued trial gets its fixed values back)."""
    out = {}
    for name, (kind, arg) in space.items():
        if kind == "choice":
            out[name] = trial.suggest_categorical(name, list(arg))
        elif kind == "int":
            out[name] = trial.suggest_int(name, *arg)
        else:
            out[name] = trial.suggest_float(name, *arg, log=True)
    return out


def trial_config(train: TrainConfig, params: dict) -> TrainConfig:
    """The run's train settings with a trial's values; LoRA alpha keeps the run's alpha/r ratio."""
    update = dict(params)
    if "lora_r" in params:
        update["lora_alpha"] = max(1, round(params["lora_r"] * train.lora_alpha / train.lora_r))
    return TrainConfig.model_validate(train.model_dump() | update)


def best_config(cfg: RunConfig, params: dict) -> RunConfig:
    """The run's config with the best trial's train settings."""
    return cfg.model_copy(update={"train": trial_config(cfg.train, params)})


# ---- the study: resume, budget, progress ---------------------------------------------------------

def open_study(folder: Path, direction: str, seed: int, startup_trials: int):
    """The study in `folder/study.sqlite` (created on first use); refuses one made for the opposite
    direction (another objective)."""
    import optuna

    folder.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        storage=f"sqlite:///{folder / 'study.sqlite'}", study_name="tune", direction=direction, load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=0))
    # A sampler seeded alike in every process would draw a resumed study's trials again: the seed
    # moves on with the trials already in the study.
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.get_trials(deepcopy=False)))
    if study.direction.name.lower() != direction:
        raise TuneError(f"{folder / 'study.sqlite'}: the study {study.direction.name.lower()}s its objective, this "
                        f"search would {direction} it (another metric?); move {folder} aside to start afresh")
    return study


def retry_killed(study) -> list[int]:
    """Mark trials left RUNNING by a killed search as failed and queue their settings again.
    Only one `seedfactory tune` runs per study (a file lock), so a RUNNING trial here is a dead one."""
    from optuna.trial import TrialState

    dead = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in dead:
        study.tell(t.number, state=TrialState.FAIL)
        study.enqueue_trial(t.params, user_attrs={"retry_of": t.number, **t.user_attrs})
    return [t.number for t in dead]


def finished_trials(study) -> list:
    """Trials that count towards `tune.trials`: completed, pruned, or failed on their own (a NaN
    loss); not the ones a kill cut off (they were queued again)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return [t for t in trials if t.state in done and t.number not in retried]


def run_study(study, objective: Callable, trials: int, max_minutes: float | None,
              progress: Progress = NO_PROGRESS, default: dict | None = None) -> int:
    """Run trials until `trials` have finished in the study (earlier runs' count) or `max_minutes`
    pass; `default` is queued as the first trial of a new study. Returns how many trials ran."""
    if default is not None and not study.get_trials(deepcopy=False):
        study.enqueue_trial(default, user_attrs={"default": True})
    retry_killed(study)
    todo = max(0, trials - len(finished_trials(study)))
    deadline = time.monotonic() + max_minutes * 60 if max_minutes else None
    ran = 0
    for _ in progress(range(todo), total=todo, desc="tune: trials"):
        if deadline is not None and time.monotonic() > deadline:
            break
        study.optimize(objective, n_trials=1, catch=(FloatingPointError,))
        ran += 1
    return ran


def summary(study, metric: str) -> dict:
    """Every trial (state, settings, value, reported scores) and the best next to the default."""
    from optuna.trial import TrialState

    rows = [{"number": t.number, "state": t.state.name.lower(), "params": t.params, "value": t.value,
             "reported": {str(k): v for k, v in sorted(t.intermediate_values.items())},
             "seconds": round(t.duration.total_seconds(), 1) if t.duration else None,
             **{k: v for k, v in t.user_attrs.items() if k in ("default", "retry_of")}}
            for t in study.get_trials(deepcopy=False)]
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    default = next((t for t in complete if t.user_attrs.get("default")), None)
    best = study.best_trial if complete else None

    def brief(t):
        return {"number": t.number, "value": t.value, "params": t.params} if t else None

    return {"metric": metric, "direction": study.direction.name.lower(), "trials": rows,
            "default": brief(default), "best": brief(best)}


# ---- a run directory's search -----------------------------------------------------------------------

def trial_objective(model_dir: Path, cfg: RunConfig, data: tuple[list[dict], list[dict]], space: dict,
                    score, folder: Path) -> Callable:
    """Optuna's objective: train SFT (then DPO when `space` has dpo_beta) with the trial's settings,
    reporting the held-out score at every checkpoint (the pruner may stop it there), and return the
    final adapter's score. A finished trial keeps its adapter in `folder/trials/NNNN/`."""
    from seedfactory.train.curve import checkpoint_reporter
    from seedfactory.train.dpo import train_preference
    from seedfactory.train.sft import train_sft

    sft_rows, pairs = data

    def objective(trial) -> float:
        import optuna

        train = trial_config(cfg.train, suggest(trial, space))
        out = folder / "trials" / f"{trial.number:04d}"
        shutil.rmtree(out, ignore_errors=True)

        def report(step: int, value: float) -> None:
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"step {step}: held-out {value:.4f}, below the median of earlier trials")

        sft = checkpoint_reporter(model_dir, score, report)
        try:
            train_sft(model_dir, sft_rows, out / "adapter_sft", train, cfg.seed,
                      checkpoint_dir=out / "checkpoints" / "sft", callbacks=[sft])
            if "dpo_beta" not in space:  # the last checkpoint is the final adapter: score it once
                return (sft.scores.get(train.sft_steps) or score(model_dir, out / "adapter_sft"))["value"]
            dpo = checkpoint_reporter(model_dir, score, report, offset=train.sft_steps)
            train_preference(model_dir, out / "adapter_sft", pairs, out / "adapter", train, cfg.seed,
                      checkpoint_dir=out / "checkpoints" / "dpo", callbacks=[dpo])
            return (dpo.scores.get(train.dpo_steps) or score(model_dir, out / "adapter"))["value"]
        except optuna.TrialPruned:
            shutil.rmtree(out, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)

    return objective


def tune_run(run_dir: Path, overrides: list[str] = (), progress: Progress = NO_PROGRESS) -> dict:
    """Search the train settings for the run in `run_dir` (its config.yaml plus `overrides`); write
    tune/best.yaml and tune/summary.json; return the summary (with `ran`: trials run this time)."""
    from seedfactory.schemas import load_config

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise TuneError(f"{run_dir}: no config.yaml; run `seedfactory run --out {run_dir}` first")
    return search(load_config(run_dir / "config.yaml", list(overrides)), run_dir, progress)


def search(cfg: RunConfig, run_dir: Path, progress: Progress = NO_PROGRESS) -> dict:
    """`tune_run` for a loaded config."""
    import optuna
    from filelock import FileLock, Timeout

    from seedfactory.context import RunContext
    from seedfactory.schemas import stable_hash
    from seedfactory.train.curve import heldout_scorer
    from seedfactory.train.data import dpo_records, sft_records
    from seedfactory.train.recipe import RunPaths, read_published, trains_preference
    from seedfactory.util.models import resolve_model

    t, ctx = cfg.tune, RunContext(cfg, run_dir, progress=False)
    published = read_published(RunPaths(run_dir), cfg)
    sft_rows, pairs = published.sft, published.pairs
    preference = trains_preference(cfg.train, published.readiness)
    cases = ctx.eval_cases[: t.eval_cases or None]
    schema = ctx.output_schema
    score = heldout_scorer([c.prompt for c in cases], [c.output for c in cases], schema,
                           cfg.eval.max_new_tokens, cfg.eval.batch_size)
    metric, direction = ("field_exact_match", "maximize") if schema is not None else ("reference_nll", "minimize")
    data = (sft_records(sft_rows), dpo_records(pairs) if preference else [])
    space = search_space(t, cfg.train, preference)
    # A study answers one question: these rows, these eval cases, this metric. Reusing it for other
    # data would mix scores that cannot be compared.
    question = stable_hash([data, [c.id for c in cases], metric, cfg.eval.max_new_tokens, cfg.train.student], n=32)
    folder = run_dir / "tune"
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        lock = FileLock(str(folder / ".lock"), timeout=0)
        lock.acquire()
    except Timeout:
        raise TuneError(f"{folder}: another `seedfactory tune` is running on this run") from None
    try:
        study = open_study(folder, direction, cfg.seed, t.startup_trials)
        asked = study.user_attrs.get("question")
        if asked is None:
            study.set_user_attr("question", question)
        elif asked != question:
            raise TuneError(f"{folder / 'study.sqlite'}: the study was made for another dataset, eval set or "
                            f"student; move {folder} aside to start a new search")
        objective = trial_objective(resolve_model(cfg.train.student), cfg, data, space, score, folder)
        default = {k: getattr(cfg.train, k) for k in space}
        ran = run_study(study, objective, t.trials, t.max_minutes, progress, default)
        result = summary(study, metric) | {"ran": ran, "preference": preference, "eval_cases": len(cases)}
        if result["best"] is not None:
            best = best_config(cfg, result["best"]["params"])
            atomic_write_text(folder / "best.yaml", yaml.safe_dump(best.dump(), sort_keys=False))
            result["best_config"] = str(folder / "best.yaml")
        write_json(folder / "summary.json", result)
    finally:
        lock.release()
    return result


def render(result: dict) -> str:
    """The study as a few lines: each trial, then the best next to the default."""
    lines = [f"{'trial':>5}  {'state':<9}{result['metric']:>18}  settings"]
    for r in result["trials"]:
        value = "" if r["value"] is None else f"{r['value']:.4f}"
        if r["state"] == "pruned" and r["reported"]:  # where it stopped: the score at its last checkpoint
            step, at = list(r["reported"].items())[-1]
            value = f"{at:.4f} @ step {step}"
        settings = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["params"].items())
        tag = "  (default: the run's settings)" if r.get("default") else ""
        lines.append(f"{r['number']:>5}  {r['state']:<9}{value:>18}  {settings}{tag}")
    d, b = result["default"], result["best"]
    if b is not None:
        lines.append(f"best: trial {b['number']} {b['value']:.4f} vs default "
                     f"{'n/a' if d is None else format(d['value'], '.4f')} ({result['direction']}); "
                     f"config: {result['best_config']}")
    lines.append(f"ran {result['ran']} trial(s) this time; the study: {len(result['trials'])} trial(s)")
    return "\n".join(lines)


def command(args) -> int:
    """`seedfactory tune RUN_DIR [key=value ...]` (see the module docstring)."""
    print(render(tune_run(args.run_dir, args.overrides, Progress(not args.no_progress))))
    return 0


def add_parser(sub) -> None:
    t = sub.add_parser("tune", help="search learning rate, LoRA rank, steps and DPO beta with Optuna (RUN_DIR/tune/)")
    t.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory with a published dataset/")
    t.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. tune.trials=12")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
