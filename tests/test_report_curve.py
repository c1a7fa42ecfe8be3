"""The report's learning curve and round-over-round chart, drawn from hand-written run files
(train/curve.jsonl, train/rounds/N), and the report package's import structure: no cycle in the
spine, the CLI's run summary without the HTML layer, every report module importable alone.

    pytest -q tests/test_report_curve.py
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from seedfactory.cli import main
from seedfactory.report.reader import Run, learning_curve
from seedfactory.report.training import training
from seedfactory.util.files import write_json, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
SFT_LOSSES, DPO_LOSSES = [2.0, 1.5, 1.2, 1.0], [0.69, 0.6]
CURVE = ([{"phase": "sft", "step": 0, "loss": None, "heldout": 0.1, "metric": "field_exact_match"}]
         + [{"phase": "sft", "step": i, "loss": v} for i, v in enumerate(SFT_LOSSES, 1)]
         + [{"phase": "dpo", "step": i, "loss": v} for i, v in enumerate(DPO_LOSSES, 1)])
CURVE[2] |= {"heldout": 0.4, "metric": "field_exact_match"}  # sft step 2
CURVE[4] |= {"heldout": 0.55, "metric": "field_exact_match"}  # sft step 4
CURVE[6] |= {"heldout": 0.5, "metric": "field_exact_match"}  # dpo step 2


def trained_run(path: Path, curve: list[dict] | None = CURVE) -> Path:
    (path / "train").mkdir(parents=True)
    (path / "train" / ".done").write_text("{}")
    write_json(path / "train" / "stats.json", {
        "sft": {"rows": 8, "steps": 4, "losses": SFT_LOSSES,
                "curve": [{"step": i, "loss": v} for i, v in enumerate(SFT_LOSSES, 1)]},
        "dpo": {"rows": 4, "steps": 2, "losses": DPO_LOSSES,
                "curve": [{"step": i, "loss": v, "margin": 0.1 * i, "accuracy": 0.5}
                          for i, v in enumerate(DPO_LOSSES, 1)]}})
    (path / "config.yaml").write_text("train:\n  preference: orpo\n")
    if curve is not None:
        write_jsonl(path / "train" / "curve.jsonl", curve)
    return path


def charts(html: str) -> list[tuple[str, str]]:
    """(aria-label, svg body) of each chart, in page order."""
    return re.findall(r'<svg class="chart" viewBox="[^"]*" role="img" aria-label="([^"]*)"[^>]*>(.*?)</svg>',
                      html, re.S)


def chart(html: str, label: str) -> str:
    (svg,) = [svg for name, svg in charts(html) if name == label]
    return svg


def xticks(svg: str) -> list[str]:
    return re.findall(r'<text class="tick" x="[\d.]+" y="219" text-anchor="middle">([^<]*)</text>', svg)


def points(svg: str) -> list[tuple[str, float, float]]:
    """(series, x, y) of every dot, read back from the dots' tooltips."""
    found = re.findall(r"<title>(.*?) @ ([-\d.]+): ([-\d.e]+)</title>", svg)
    return [(name, float(x), float(y)) for name, x, y in found]


def test_the_learning_curve_plots_heldout_against_step_and_each_phase_loss(tmp_path):
    run = Run(trained_run(tmp_path / "run"))
    curve = learning_curve(run)
    assert curve.offset == 4 and curve.metric == "field_exact_match"
    html = training(run)
    assert "No learning curve" not in html
    held = chart(html, "held-out field_exact_match by training step (SFT, then preference)")
    # SFT checkpoints at 0, 2, 4; the preference phase starts from SFT's last (4) and its step 2 is 4 + 2
    assert points(held) == [("SFT held-out", 0, 0.1), ("SFT held-out", 2, 0.4), ("SFT held-out", 4, 0.55),
                            ("ORPO held-out", 4, 0.55), ("ORPO held-out", 6, 0.5)]
    assert xticks(held) == ["0", "2", "4", "6"]
    assert held.count("<polyline") == 2
    losses = [points(svg) for label, svg in charts(html) if label == "loss by step"]
    assert losses == [[("SFT loss", i, v) for i, v in enumerate(SFT_LOSSES, 1)],
                      [("ORPO loss", i, v) for i, v in enumerate(DPO_LOSSES, 1)]]
    assert [p[1:] for p in points(chart(html, "value by step"))] == [(1, 0.1), (2, 0.2), (1, 0.5), (2, 0.5)]
    assert "the preference phase starts at step 4" in html


def test_no_learning_curve_only_when_the_file_is_absent(tmp_path):
    without = training(Run(trained_run(tmp_path / "old")))
    assert "No learning curve" not in without
    old = training(Run(trained_run(tmp_path / "older", curve=None)))
    assert "No learning curve in this run (train/curve.jsonl absent)." in old
    assert "held-out" not in old  # no score to plot; the losses still come from train/stats.json
    assert [label for label, _ in charts(old)] == ["loss by step", "loss by step", "value by step"]
    losses_only = training(Run(trained_run(tmp_path / "off", curve=[r | {"heldout": None} for r in CURVE])))
    assert "No learning curve" not in losses_only and "train.curve was off" in losses_only


def test_rounds_are_plotted_round_over_round(tmp_path):
    path = trained_run(tmp_path / "run")
    for n, ev in [(1, {"metric": "m", "before": 0.1, "after": 0.5, "old_cases": None}),
                  (2, {"metric": "m", "before": 0.5, "after": 0.6,
                       "old_cases": {"n": 3, "before": 0.5, "after": 0.45}})]:
        folder = path / "train" / "rounds" / str(n)
        folder.mkdir(parents=True)
        write_json(folder / "round.json", {"round": n, "date": "2026-12-07T10:00:00", "from": "base", "rows": 8,
                                           "new_rows": 8, "replayed": 0})
        write_json(folder / "eval.json", ev)
    rounds = chart(training(Run(path)), "metric by training round")
    assert sorted(points(rounds)) == [
        ("after", 1, 0.5), ("after", 2, 0.6), ("before", 1, 0.1), ("before", 2, 0.5), ("old cases after", 2, 0.45)]
    assert xticks(rounds) == ["1", "2"]  # rounds are counted: no tick at 1.5
    (path / "train" / "rounds" / "2" / "round.json").unlink()  # one round: the eval section's table says it all
    assert "metric by training round" not in dict(charts(training(Run(path))))


# ---- import structure -------------------------------------------------------------------------------

def spine_modules() -> dict[str, Path]:
    out = {}
    for p in sorted((ROOT / "seedfactory").rglob("*.py")):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        out[name] = p
    return out


def module_graph() -> dict[str, set[str]]:
    """Module -> the modules of seedfactory/ it imports (at the top or inside a function)."""
    mods = spine_modules()
    graph = {}
    for name, path in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def test_the_spine_has_no_import_cycle():
    graph, seen, done = module_graph(), [], set()

    def visit(m: str) -> None:
        if m in done:
            return
        assert m not in seen, f"import cycle: {' -> '.join(seen[seen.index(m):] + [m])}"
        seen.append(m)
        for d in sorted(graph[m]):
            visit(d)
        seen.pop()
        done.add(m)

    for m in graph:
        visit(m)
    assert "seedfactory.report.reader" in graph and "seedfactory.report.html" in graph  # the walk saw the package
    sections = {m for m in graph if m.startswith("seedfactory.report.")} - {"seedfactory.report.page",
                                                                          "seedfactory.report.html",
                                                                          "seedfactory.report.reader"}
    assert all(not (graph[m] & sections) for m in sections)  # no section imports another
    assert not graph["seedfactory.report.html"] & set(graph) - {"seedfactory.util.dotted"}


def test_the_run_summary_does_not_load_the_report_page():
    code = ("import sys; from pathlib import Path; from seedfactory.cli import summary; "
            "stats = {'stages': {'generate': {'in': 1, 'out': 2, 'kept_by': {'strategy': {'a': 2}}}}, "
            "'seconds': 1, 'rejects': 0}; "
            "assert 'a' in summary(stats, Path('nowhere')); "
            "print(sorted(m for m in sys.modules if m.startswith('seedfactory.report')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['seedfactory.report', 'seedfactory.report.reader']"


@pytest.mark.parametrize("module", sorted(m for m in spine_modules() if m.startswith("seedfactory.report")))
def test_each_report_module_imports_alone(module):
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, capture_output=True)


# ---- the CLI's one error path ---------------------------------------------------------------------

def test_a_users_mistake_is_one_line_and_exit_2_for_every_command(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    for argv, says in [(["report", str(missing)], f"{missing}: no such run directory"),
                       (["runs", str(missing)], f"{missing}: not a run directory (no config.yaml)"),
                       (["export", str(tmp_path)], "no trained adapter"),
                       (["run", "generate.num_tasx=3"], "generate.num_tasx")]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("seedfactory: ") and err.count("\n") == 1 and says in err, (argv, err)


def test_an_export_refusal_is_a_users_mistake_and_still_a_value_error():
    from seedfactory.train.export import ExportError, export_gguf
    from seedfactory.util.errors import SeedfactoryError

    assert issubclass(ExportError, SeedfactoryError) and issubclass(ExportError, ValueError)
    with pytest.raises(ExportError, match="--quant 'q4_k_m' is not one of"):
        export_gguf(Path("m"), Path("a"), Path("s.gguf"), Path("o.gguf"), "q4_k_m")
