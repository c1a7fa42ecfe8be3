"""The run's time budget: each stage's seconds and its share of the run, from stats.json.

Every stage records its wall seconds in `<stage>/stats.json` (the runner times it); this module
turns them into one table, with the parts of the stages that hold several (train: SFT, the
preference phase, the learning curve's checkpoint scores; evaluate: the students' answers), for
the run summary, the report and `python -m bench.run_time`:

    rows = stage_times(read_json(run_dir / "stats.json"))
    [{"stage": "generate", "seconds": 286.0, "share": 0.30}, {"stage": "train", ..., "parts": {...}}, ...]

A stage skipped on a rerun keeps the seconds of the run that made its files.
"""

from __future__ import annotations


def _parts(name: str, st: dict) -> dict[str, float]:
    """Seconds of the named parts of a stage, where it recorded them."""
    if name == "train":
        pref = st.get("preference", st.get("dpo")) or {}
        parts = {"sft": (st.get("sft") or {}).get("seconds"), "preference": pref.get("seconds"),
                 "curve": st.get("curve_seconds")}
    elif name == "evaluate":
        parts = {"students": st.get("student_seconds")}
    else:
        return {}
    return {k: round(float(v), 1) for k, v in parts.items() if v is not None}


def stage_times(stats: dict) -> list[dict]:
    """One row per finished stage, in run order: stage, seconds, share of the run's seconds
    (0 when the run took none), and `parts` where the stage recorded them."""
    stages = stats.get("stages") or {}
    total = sum(float(st.get("seconds") or 0) for st in stages.values())
    rows = []
    for name, st in stages.items():
        seconds = float(st.get("seconds") or 0)
        row = {"stage": name, "seconds": round(seconds, 1), "share": round(seconds / total, 3) if total else 0.0}
        if parts := _parts(name, st):
            row["parts"] = parts
        rows.append(row)
    return rows


def time_lines(stats: dict) -> list[str]:
    """The time budget as text lines for the run summary: the stages by seconds, largest first."""
    rows = sorted(stage_times(stats), key=lambda r: -r["seconds"])
    if not rows:
        return []
    lines = ["time per stage (share of the run):"]
    for r in rows:
        parts = ", ".join(f"{k} {v} s" for k, v in r.get("parts", {}).items())
        lines.append(f"  {r['stage']:<10}{r['seconds']:>8} s {r['share']:>6.0%}" + (f"  ({parts})" if parts else ""))
    return lines
