"""The pipeline's own figures and files on the run's MLflow run (`train.report_to` with mlflow).

    log_run(cfg, Path("runs/default"))   # the runner calls it after writing report.html

On the MLflow run of this run directory and config (`seedfactory.train.tracking.parent_run`, the
parent of the SFT and preference child runs trl logged into):
- params: every config key, dotted (`train.learning_rate`), the tracking keys left out;
- metrics: the report's headline figures (`seedfactory.report.figures`): funnel counts per stage
  and drops per reason, the valid / grounded / selected shares, the judge's self-test AUC, the eval
  values with their 95% interval ends and paired differences, tokens, cost and seconds;
- artifacts: config.yaml, report.html, stats.json, eval.json and the cards that exist.
Logging the same figures again (a rerun) adds a point to each metric's history.
"""

from __future__ import annotations

import time
from pathlib import Path

from seedfactory.report.figures import figures, flat_config
from seedfactory.report.reader import Run
from seedfactory.schemas import RunConfig
from seedfactory.train.tracking import TRACKING_KEYS, mlflow_client, parent_run

ARTIFACTS = ("config.yaml", "report.html", "stats.json", "eval.json", "dataset/README.md", "model_card.md")
MAX_PARAM = 6000  # MLflow's longest param value


def metric_name(name: str) -> str:
    """A figure's name as MLflow accepts it (letters, digits, _ - . space : /)."""
    import re

    return re.sub(r"[^0-9A-Za-z_\-. :/]", "_", name)


def log_run(cfg: RunConfig, out: Path) -> str | None:
    """Log the run's config, figures and files (module docstring); the MLflow run id, or None when
    `train.report_to` leaves MLflow out."""
    if "mlflow" not in cfg.train.report_to:
        return None
    from mlflow.entities import Metric, Param

    out = Path(out)
    client = mlflow_client(cfg.train, out)
    run_id = parent_run(cfg, out, client)
    tree = cfg.dump()
    tree["train"] = {k: v for k, v in tree["train"].items() if k not in TRACKING_KEYS}
    params = [Param(k, v[:MAX_PARAM]) for k, v in flat_config(tree).items()]
    now = int(time.time() * 1000)
    metrics = [Metric(metric_name(k), v, now, 0) for k, v in figures(Run(out)).items()]
    logged = client.get_run(run_id).data.params
    params = [p for p in params if p.key not in logged]  # a rerun of the same config: already there
    for i in range(0, max(len(params), len(metrics)), 100):  # MLflow takes 100 params per batch
        client.log_batch(run_id, metrics=metrics[i:i + 100], params=params[i:i + 100])
    for rel in ARTIFACTS:
        if (out / rel).is_file():
            client.log_artifact(run_id, str(out / rel), artifact_path=str(Path(rel).parent) if "/" in rel else None)
    client.set_terminated(run_id, "FINISHED")
    return run_id
