"""The run's time budget: each stage's seconds and share, with train's and evaluate's parts, in the
run summary and the report's funnel."""

from __future__ import annotations

from pathlib import Path

from seedfactory.timing import stage_times, time_lines
from seedfactory.util.files import write_json

STATS = {"stages": {"split": {"in": 20, "out": 16, "seconds": 0.5},
                    "generate": {"in": 16, "out": 90, "seconds": 59.5},
                    "train": {"seconds": 30.0, "sft": {"seconds": 18.0}, "preference": {"seconds": 7.25},
                              "curve_seconds": 4.0},
                    "evaluate": {"seconds": 10.0, "student_seconds": 8.0}},
         "seconds": 100.0, "rejects": 0, "tokens": {}}


def test_stage_times_give_each_stage_its_share_and_parts_in_run_order():
    rows = stage_times(STATS)
    assert [r["stage"] for r in rows] == ["split", "generate", "train", "evaluate"]
    assert [r["share"] for r in rows] == [0.005, 0.595, 0.3, 0.1]
    assert rows[2]["parts"] == {"sft": 18.0, "preference": 7.2, "curve": 4.0}  # 7.25 rounds to even
    assert rows[3]["parts"] == {"students": 8.0} and "parts" not in rows[0]


def test_a_run_of_no_seconds_has_no_share_and_no_stages_no_lines():
    assert stage_times({"stages": {"split": {"seconds": 0}}}) == [{"stage": "split", "seconds": 0.0, "share": 0.0}]
    assert time_lines({"stages": {}}) == []


def test_the_summary_lists_stages_by_time_largest_first():
    from seedfactory.cli import summary

    text = summary(STATS, Path("nowhere"))
    lines = text.splitlines()
    at = lines.index("time per stage (share of the run):")
    assert [ln.split()[0] for ln in lines[at + 1:at + 5]] == ["generate", "train", "evaluate", "split"]
    assert "60%" in lines[at + 1] and "(sft 18.0 s, preference 7.2 s, curve 4.0 s)" in lines[at + 2]


def test_the_reports_funnel_shows_each_stages_share_of_the_time(tmp_path):
    from seedfactory.report.funnel import funnel
    from seedfactory.report.reader import Run

    write_json(tmp_path / "stats.json", STATS)
    html = funnel(Run(tmp_path))
    assert "<th class=\"n\">share of time</th>" in html
    assert "<td class=\"n\">59.5</td><td class=\"n\">60%</td>" in html


def test_a_runs_stats_json_holds_the_time_table_of_its_finished_stages(published_run):
    from seedfactory.util.files import read_json

    stats = read_json(published_run() / "stats.json")
    assert [r["stage"] for r in stats["time"]] == list(stats["stages"])
    assert [r["stage"] for r in stats["time"]][-1] == "publish"
    assert abs(sum(r["share"] for r in stats["time"]) - 1) < 0.01
    assert stats["time"] == stage_times(stats)
