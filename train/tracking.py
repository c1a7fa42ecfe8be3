"""Where trl reports training (`train.report_to`): TensorBoard event files and an MLflow run.

    with phase_tracking(cfg, run_dir, "sft"):    # trl's TensorBoard and MLflow callbacks find their places
        train_sft(...)
    parent_run(cfg, run_dir)                     # the MLflow run of this run directory and config

- TensorBoard: each trained phase writes `<run>/tracking/tensorboard/<phase>-<n>` (n counts the
  phase's trainings in this run directory), so `tensorboard --logdir <run>/tracking/tensorboard`
  shows every SFT and preference phase side by side.
- MLflow: one run per run directory and config (`train.mlflow_uri`, default a SQLite store in
  `<run>/tracking/`). SFT and the preference phase are its child runs: trl logs its
  TrainingArguments as params, and SFT and DPO set the same params to different values, which one
  MLflow run refuses. `seedfactory.tracking` logs the pipeline's figures and files on the parent.

The trainer's callbacks read their destinations from the environment (TENSORBOARD_LOGGING_DIR,
MLFLOW_TRACKING_URI, MLFLOW_RUN_ID); `phase_tracking` sets them for the phase and restores them
after. mlflow is imported only when asked for (the `tracking` extra).
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from seedfactory.schemas.config import RunConfig, TrainConfig
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import read_json, write_json

TRACKING_KEYS = ("report_to", "mlflow_uri", "mlflow_experiment")  # train.* keys that change no result


class TrackingMissing(SeedfactoryError):
    """train.report_to names an integration whose package is not installed."""


def require(name: str):
    """The module behind an integration, or an error naming the extra that installs it."""
    import importlib

    module = {"mlflow": "mlflow", "tensorboard": "tensorboard"}[name]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise TrackingMissing(f"train.report_to={name} needs the {module} package: "
                              "pip install 'seedfactory[tracking]' (or remove it from train.report_to)") from None


def tracking_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "tracking"


def mlflow_store(cfg: TrainConfig, run_dir: Path) -> tuple[str, str | None]:
    """(tracking URI, artifact location for a new experiment): `train.mlflow_uri` with the store's
    own artifact location, else a SQLite file and an artifact folder in the run directory."""
    if cfg.mlflow_uri:
        return cfg.mlflow_uri, None
    folder = tracking_dir(run_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}", (folder / "mlruns").as_uri()


def config_key(cfg: RunConfig) -> str:
    """The config an MLflow run stands for, less the keys that only say where to track."""
    from seedfactory.schemas import stable_hash

    tree = cfg.dump()
    tree["train"] = {k: v for k, v in tree["train"].items() if k not in TRACKING_KEYS}
    return stable_hash(tree, n=16)


def mlflow_client(cfg: TrainConfig, run_dir: Path):
    require("mlflow")
    from mlflow.tracking import MlflowClient

    logging.getLogger("alembic").setLevel(logging.WARNING)  # the store's table creation, once per file
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    return MlflowClient(mlflow_store(cfg, run_dir)[0])


def experiment_id(client, cfg: TrainConfig, run_dir: Path) -> str:
    found = client.get_experiment_by_name(cfg.mlflow_experiment)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(cfg.mlflow_experiment, artifact_location=mlflow_store(cfg, run_dir)[1])


def parent_run(cfg: RunConfig, run_dir: Path, client=None) -> str:
    """The MLflow run id of this run directory and config, created on first use and recorded in
    `<run>/tracking/mlflow.json` (a changed config or store gets a new run; a rerun reuses it)."""
    client = client or mlflow_client(cfg.train, run_dir)
    record_path = tracking_dir(run_dir) / "mlflow.json"
    record = read_json(record_path) if record_path.is_file() else {}
    uri, key = mlflow_store(cfg.train, run_dir)[0], config_key(cfg)
    runs = record.get(uri, {})
    if key in runs:
        try:
            return client.get_run(runs[key]).info.run_id
        except Exception as e:  # a store emptied or replaced since: a new run
            if "RESOURCE_DOES_NOT_EXIST" not in str(getattr(e, "error_code", "")) + str(e):
                raise
    run = client.create_run(experiment_id(client, cfg.train, run_dir), run_name=Path(run_dir).resolve().name,
                            tags={"seedfactory.run_dir": str(Path(run_dir).resolve()), "seedfactory.config": key})
    runs[key] = run.info.run_id
    record[uri] = runs
    write_json(record_path, record)
    return run.info.run_id


def tensorboard_dir(run_dir: Path, phase: str) -> Path:
    """The next `<run>/tracking/tensorboard/<phase>-<n>` folder."""
    root = tracking_dir(run_dir) / "tensorboard"
    n = 1 + sum(1 for p in root.glob(f"{phase}-*") if p.is_dir()) if root.is_dir() else 1
    return root / f"{phase}-{n}"


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def phase_tracking(cfg: RunConfig, run_dir: Path, phase: str) -> Iterator[dict]:
    """Set up what `train.report_to` asks for around one trained phase (module docstring); yields
    {"tensorboard": folder, "mlflow": child run id} for those set up."""
    wanted, env, where = cfg.train.report_to, {}, {}
    if "tensorboard" in wanted:
        require("tensorboard")
        where["tensorboard"] = tensorboard_dir(run_dir, phase)
        env["TENSORBOARD_LOGGING_DIR"] = str(where["tensorboard"])
    client = None
    if "mlflow" in wanted:
        client = mlflow_client(cfg.train, run_dir)
        parent = parent_run(cfg, run_dir, client)
        child = client.create_run(client.get_run(parent).info.experiment_id, run_name=phase,
                                  tags={"mlflow.parentRunId": parent, "seedfactory.phase": phase})
        where["mlflow"] = child.info.run_id
        env |= {"MLFLOW_TRACKING_URI": mlflow_store(cfg.train, run_dir)[0], "MLFLOW_RUN_ID": child.info.run_id}
    status = "FAILED"
    with _environ(env):
        try:
            yield where
            status = "FINISHED"
        finally:
            if client is not None:
                import mlflow

                if hasattr(mlflow, "flush_async_logging"):
                    mlflow.flush_async_logging()  # trl's callback logs asynchronously
                active = mlflow.active_run()
                if active is not None and active.info.run_id == where["mlflow"]:  # the trainer stopped mid-way
                    mlflow.end_run(status)
                if client.get_run(where["mlflow"]).info.status == "RUNNING":  # no training step ran (resumed done)
                    client.set_terminated(where["mlflow"], status)
