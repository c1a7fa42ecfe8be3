"""A run's headline figures as flat `name -> number` pairs: what MLflow logs as the run's metrics
and what `seedfactory compare` lines up across runs.

    figures(Run(Path("runs/default")))
    # {"funnel.generate.out": 32, "share.valid": 0.469, "share.grounded": 1.0, "judge.auc": 0.39,
    #  "eval.dpo.value": 0.3, "eval.dpo.ci_low": 0.01, ..., "cost.tokens": 51916, "time.seconds": 39.8}

Read from the run directory alone (stats.json, eval.json), like the report. A figure whose stage
has not run is absent, never zero.
"""

from __future__ import annotations

from seedfactory.report.reader import Run

EVAL_SYSTEMS = ("base", "before", "sft", "dpo", "gguf", "teacher")
GROUPS = {"funnel": "Funnel", "share": "Data quality", "judge": "Judge", "eval": "Evaluation",
          "cost": "Cost", "time": "Time"}


def _num(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _funnel(stats: dict) -> dict[str, float]:
    out = {}
    for name, st in (stats.get("stages") or {}).items():
        for k in ("in", "out"):
            if (v := _num(st.get(k))) is not None:
                out[f"funnel.{name}.{k}"] = v
    for reason, n in (stats.get("rejects_by_reason") or {}).items():
        out[f"funnel.dropped.{reason}"] = float(n)
    return out


def _shares(stages: dict) -> dict[str, float]:
    """Valid: rows validation kept of the candidates; grounded: of the structured rows kept, those whose
    every value the input states; selected: the judge's SFT rows of those it scored."""
    out = {}
    val, judge = stages.get("validate") or {}, stages.get("judge") or {}
    if val.get("in"):
        out["share.valid"] = round(val["out"] / val["in"], 4)
    if (g := _num((val.get("quality") or {}).get("grounded_share"))) is not None:
        out["share.grounded"] = g
    if judge.get("in"):
        out["share.selected"] = round(judge["out"] / judge["in"], 4)
    return out


def _judge(stages: dict) -> dict[str, float]:
    judge = stages.get("judge") or {}
    out = {}
    if (auc := _num(judge.get("judge_auc"))) is not None:
        out["judge.auc"] = auc
    if "judge_trusted" in judge:
        out["judge.trusted"] = float(bool(judge["judge_trusted"]))
    if (err := _num(judge.get("judge_errors"))) is not None:
        out["judge.errors"] = err
    return out


def _eval(ev: dict | None) -> dict[str, float]:
    out = {}
    for s in EVAL_SYSTEMS:
        e = (ev or {}).get(s)
        if not isinstance(e, dict) or _num(e.get("value")) is None:
            continue
        out[f"eval.{s}.value"] = float(e["value"])
        if ci := e.get("ci95"):
            out[f"eval.{s}.ci_low"], out[f"eval.{s}.ci_high"] = float(ci[0]), float(ci[1])
    for name, d in ((ev or {}).get("differences") or {}).items():
        if _num(d.get("value")) is not None:
            out[f"eval.diff.{name}.value"] = float(d["value"])
            if ci := d.get("ci95"):
                out[f"eval.diff.{name}.ci_low"], out[f"eval.diff.{name}.ci_high"] = float(ci[0]), float(ci[1])
    return out


def _cost(stats: dict) -> dict[str, float]:
    tokens = stats.get("tokens") or {}
    out = {}
    if tokens:
        out["cost.tokens"] = float((tokens.get("prompt_tokens") or 0) + (tokens.get("completion_tokens") or 0))
        out["cost.requests"] = float(tokens.get("requests_sent") or 0)
        out["cost.usd"] = float(tokens.get("cost") or 0)
    if (sec := _num(stats.get("seconds"))) is not None:
        out["time.seconds"] = sec
    for name, st in (stats.get("stages") or {}).items():
        if (sec := _num(st.get("seconds"))) is not None:
            out[f"time.{name}.seconds"] = sec
    return out


def figures(run: Run) -> dict[str, float]:
    """Every headline figure of the run (module docstring), in display order."""
    stats = run.json("stats.json") or {}
    stages = stats.get("stages") or {}
    return {**_funnel(stats), **_shares(stages), **_judge(stages), **_eval(run.json("eval.json")),
            **_cost(stats)}


def per_case_scores(run: Run, system: str) -> dict[str, float] | None:
    """One system's per-case scores from evaluate/answers.jsonl, by case id (None without them)."""
    from seedfactory.report.reader import example_value

    rows = run.jsonl("evaluate/answers.jsonl")
    scored = {r["id"]: example_value(r[f"{system}_score"]) for r in rows
              if "id" in r and r.get(f"{system}_score") is not None}
    return scored or None


def flat_config(tree: dict, prefix: str = "") -> dict[str, str]:
    """A config tree as dotted keys with their values written as text (lists and nulls as YAML would)."""
    import json

    out = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flat_config(v, key + "."))
        else:
            out[key] = v if isinstance(v, str) else json.dumps(v)
    return out
