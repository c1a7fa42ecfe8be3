"""The run directory as the report (and the CLI's run summary) reads it: files read lazily, a
missing file read as nothing, never as an error; and the figures computed from those files that
are not HTML (rows kept per stratum, agreement with reviewers, the learning curve's points).

    run = Run(Path("runs/default"))
    run.stage("judge")                    # judge/stats.json once judge/.done exists, else None
    kept_rows(run.json("stats.json")["stages"])   # the CLI's summary prints these too
    learning_curve(run)                   # None without train/curve.jsonl

Imports nothing of the report's HTML: `seedfactory.cli` reads through it without the page.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seedfactory.util.dotted import get_dotted
from seedfactory.util.files import read_json, read_jsonl_dicts


@dataclass
class Run:
    """A run directory, read lazily; a missing file reads as nothing, never as an error."""

    path: Path
    embedder: Any = None  # an Embedder already loaded for validate.embedder; else one is built if needed
    _cache: dict[str, Any] = field(default_factory=dict)

    def has(self, rel: str) -> bool:
        return (self.path / rel).is_file()

    def json(self, rel: str) -> Any:
        if rel not in self._cache:
            self._cache[rel] = read_json(self.path / rel) if self.has(rel) else None
        return self._cache[rel]

    def jsonl(self, rel: str) -> list[dict]:
        if rel not in self._cache:
            self._cache[rel] = read_jsonl_dicts(self.path / rel)
        return self._cache[rel]

    @property
    def config(self) -> dict:
        if "config.yaml" not in self._cache:
            p = self.path / "config.yaml"
            self._cache["config.yaml"] = yaml.safe_load(p.read_text(encoding="utf-8")) if p.is_file() else {}
        return self._cache["config.yaml"] or {}

    def cfg(self, dotted: str, default: Any = None) -> Any:
        return get_dotted(self.config, dotted, default)

    def stage(self, name: str) -> dict | None:
        """A finished stage's stats (its .done marker present), else None."""
        if not self.has(f"{name}/.done"):
            return None
        return self.json(f"{name}/stats.json")

    def review_items(self) -> list[dict] | None:
        """Every row of the review queue (status, judge_score), read-only; None without a queue."""
        db = self.path / "review" / "queue.sqlite"
        if not db.is_file():
            return None
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT id, status, judge_score FROM items ORDER BY rowid")]
        finally:
            conn.close()


KEPT_STAGES = ("generate", "validate", "judge", "publish")  # candidates, then rows kept after each stage


def kept_rows(stages: dict) -> dict[str, list[list]]:
    """Rows per strategy, topic and persona as each stage left them, from the stages' `kept_by`
    stats: {dim: [[value, candidates, validated, judged, published, share of the last stage run]]},
    most first; a stage not run yet is None. Topic and persona only where some row has one."""
    out = {}
    for dim in ("strategy", "topic", "persona"):
        counts = [(stages.get(s) or {}).get("kept_by", {}).get(dim) for s in KEPT_STAGES]
        known = [c for c in counts if c is not None]
        if not known or (dim != "strategy" and set().union(*known) <= {"(none)"}):
            continue
        last = known[-1]
        total = sum(last.values()) or 1
        keys = sorted(set().union(*known), key=lambda k: (-last.get(k, 0), -known[0].get(k, 0), k))
        out[dim] = [[k, *(None if c is None else c.get(k, 0) for c in counts), round(last.get(k, 0) / total, 3)]
                    for k in keys]
    return out


def judge_human(run: Run) -> tuple[dict, list[tuple[float, bool]]] | None:
    """Agreement as the review package measures it (judge kept = reached judge/sft.jsonl; reviewer
    kept = accepted), and (judge score, reviewer accepted) per reviewed row; None without both."""
    from seedfactory.publish import review_summary

    items = run.review_items()
    if items is None or not run.stage("judge"):
        return None
    scored = [(i["judge_score"], i["status"] == "accepted") for i in items
              if i["status"] != "pending" and i["judge_score"] is not None]
    return review_summary(run.path)["agreement"], scored


def example_value(score: float | dict) -> float:
    """One example's share of the metric: a win rate's 0 / 0.5 / 1, or the per-example record
    evaluation writes (`field_match` for JSON answers, `score` for judged ones)."""
    if isinstance(score, dict):
        return float(score.get("field_match", score.get("score", 0.0)))
    return float(score)


# ---- the learning curve -------------------------------------------------------------------------

Points = list[tuple[float, float]]


@dataclass
class Curve:
    """train/curve.jsonl as chart series. The preference phase's steps follow SFT's on one axis
    (they continue from the SFT adapter), so `heldout` reads left to right as the whole training."""

    metric: str | None
    heldout: dict[str, Points]  # phase -> (step on the shared axis, held-out score)
    loss: dict[str, Points]     # phase -> (the phase's own step, loss)
    offset: int                 # SFT's last step: where the preference phase starts on the shared axis


def learning_curve(run: Run) -> Curve | None:
    """The curve the train stage wrote (None when train/curve.jsonl is absent). Phases: `sft`, then
    the preference phase under its file name (`dpo` also for ORPO and KTO)."""
    if not run.has("train/curve.jsonl"):
        return None
    rows = run.jsonl("train/curve.jsonl")
    offset = max((r["step"] for r in rows if r.get("phase") == "sft"), default=0)
    heldout: dict[str, Points] = {}
    loss: dict[str, Points] = {}
    metric = None
    for r in rows:
        phase, step = r.get("phase", "?"), r["step"]
        if r.get("heldout") is not None:
            heldout.setdefault(phase, []).append((step + (0 if phase == "sft" else offset), r["heldout"]))
            metric = metric or r.get("metric")
        if r.get("loss") is not None:
            loss.setdefault(phase, []).append((step, r["loss"]))
    sft_end = [p for p in heldout.get("sft", []) if p[0] == offset]
    for phase in heldout:  # the preference phase starts from the SFT adapter: draw the line on from there
        if phase != "sft" and sft_end and heldout[phase][0][0] > offset:
            heldout[phase].insert(0, sft_end[0])
    return Curve(metric, heldout, loss, offset)


def round_curve(run: Run) -> dict[str, Points]:
    """Round-over-round figures from train/rounds/N (round.json + its eval.json): the primary metric
    after each round on its own eval set, before it, and after on the previous round's cases.
    Empty with fewer than two evaluated rounds (one round is the evaluation section's table)."""
    from seedfactory.train.rounds import list_rounds

    rounds = [r for r in list_rounds(run.path / "train" / "rounds") if r.get("eval")]
    if len(rounds) < 2:
        return {}
    series: dict[str, Points] = {"after": [], "before": [], "old cases after": []}
    for r in rounds:
        ev = r["eval"]
        for name, value in (("after", ev.get("after")), ("before", ev.get("before")),
                            ("old cases after", (ev.get("old_cases") or {}).get("after"))):
            if value is not None:
                series[name].append((r["round"], value))
    return {k: v for k, v in series.items() if v}
