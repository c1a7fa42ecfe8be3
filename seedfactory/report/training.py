"""The report's training section: SFT and the preference step (rows, steps, losses), DPO readiness,
the learning curve and, where there are several rounds, the metric round over round.

Reads train/stats.json (sft/dpo: steps, losses, `curve` per step with rewards; dpo_readiness),
train/curve.jsonl (loss per step and the held-out score at every checkpoint, written by the train
stage with `train.curve`) and train/rounds/N/round.json + eval.json (continuous fine-tuning).
"""

from __future__ import annotations

from html import escape

from seedfactory.report.html import missing, scalars, table
from seedfactory.report.reader import Curve, Run, learning_curve, round_curve
from seedfactory.util.svg import line_chart


def _steps(stats: dict, key: str) -> list[tuple[float, float]]:
    return [(c["step"], c[key]) for c in stats.get("curve", []) if c.get(key) is not None]


def _phase_name(run: Run, phase: str) -> str:
    """curve.jsonl calls the preference phase `dpo` whichever method trained it."""
    return "SFT" if phase == "sft" else str(run.cfg("train.preference", phase)).upper()


def curve_charts(run: Run, curve: Curve) -> list[str]:
    """The held-out score against the step (SFT, then the preference phase on the same axis), and
    the loss per step of each phase (their scales differ: one chart each)."""
    charts = []
    if curve.heldout:
        series = {f"{_phase_name(run, p)} held-out": pts for p, pts in curve.heldout.items()}
        charts.append(line_chart(series, xlabel="training step (SFT, then preference)",
                                 ylabel=f"held-out {curve.metric or 'score'}", whole_x=True))
    for phase, pts in curve.loss.items():
        charts.append(line_chart({f"{_phase_name(run, phase)} loss": pts}, xlabel="step", ylabel="loss", whole_x=True))
    return charts


def reward_charts(ts: dict) -> list[str]:
    """GRPO's mean reward and KL to the SFT adapter per step (train/stats.json's preference curve)."""
    pref = ts.get("preference", {})
    series = {name: pts for name, key in (("mean reward", "reward"), ("KL to SFT", "kl")) if (pts := _steps(pref, key))}
    return [line_chart({name: pts}, xlabel="preference step", ylabel=name, whole_x=True)
            for name, pts in series.items()]


def learning(run: Run, ts: dict) -> str:
    """The learning curve block. A run trained before train/curve.jsonl was written says so in
    one line, and its per-step losses come from train/stats.json."""
    curve = learning_curve(run)
    parts = ["<h3>Learning curve</h3>"]
    if curve is None:
        parts.append(missing("No learning curve in this run (train/curve.jsonl absent)."))
        # "dpo": a run whose train/stats.json was written before the preference phase was renamed
        losses = {p: _steps(ts.get(k, ts.get(p, {})), "loss") for p, k in (("sft", "sft"), ("dpo", "preference"))}
        curve = Curve(None, {}, {p: pts for p, pts in losses.items() if pts}, 0)
    elif curve.heldout:
        pref = any(p != "sft" for p in curve.heldout)
        parts.append(f'<p class="tag">Held-out {escape(str(curve.metric))} at every checkpoint on the eval set\'s '
                     "first cases (train.curve_cases)"
                     + (f"; the preference phase starts at step {curve.offset}" if pref else "") + ".</p>")
    else:
        parts.append(missing("No held-out score per checkpoint (train.curve was off): losses only."))
    parts.append(f'<div class="grid">{"".join(curve_charts(run, curve) + reward_charts(ts))}</div>')
    rounds = round_curve(run)
    if rounds:
        parts.append("<h3>Round over round</h3>" + line_chart(rounds, xlabel="training round", ylabel="metric",
                                                         whole_x=True)
                     + '<p class="tag">After each round on its own eval set, before it (the adapter it continued '
                       "or the base), and after on the previous round's cases (below before is forgetting).</p>")
    return "".join(parts)


def training(run: Run) -> str:
    ts = run.stage("train")
    if not ts:
        return missing("The student has not been trained yet.")
    sft, dpo = ts.get("sft", {}), ts.get("preference", ts.get("dpo", {}))  # "dpo": stats before the rename
    rows = [["SFT", sft.get("rows"), sft.get("steps"), sft.get("first_loss"), sft.get("last_loss"), sft.get("seconds")]]
    skipped = f"<p>DPO skipped: {escape(str(dpo['skipped']))}</p>" if "skipped" in dpo else ""
    if not skipped:
        rows.append(["DPO", dpo.get("rows"), dpo.get("steps"), dpo.get("first_loss"), dpo.get("last_loss"),
                     dpo.get("seconds")])
    parts = [table(["step", "rows / pairs", "steps", "first loss", "last loss", "seconds"], rows, {1, 2, 3, 4, 5}),
             skipped]
    ready = ts.get("dpo_readiness")
    if isinstance(ready, dict):
        parts.append("<h3>DPO readiness</h3>" + table(["measure", "value"], scalars(ready)))
    parts.append(learning(run, ts))
    if _steps(dpo, "margin") or _steps(dpo, "accuracy"):  # rewards are in train/stats.json only
        parts.append("<h3>Preference rewards</h3>" + line_chart(
            {"reward margin": _steps(dpo, "margin"), "reward accuracy": _steps(dpo, "accuracy")},
            xlabel="step", ylabel="value", whole_x=True))
    return "".join(parts)
