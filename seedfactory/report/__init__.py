"""The run report: one self-contained `report.html` built from a run directory alone.

    seedfactory report runs/default          # writes runs/default/report.html (and refreshes the card)
    from seedfactory.report import build_report; build_report(Path("runs/default"))

The page has no script and fetches nothing: charts are inline SVG (`seedfactory.util.svg`) or
CSS bars, and every text that came from a model or a seed file is HTML-escaped. The package:

    page.py        the page: the section list (`SECTIONS`), the header, `render(run)`
    html.py        the stylesheet and the helpers sections build with (table, bar, cards, missing)
    reader.py      the run directory read lazily (`Run`) and the figures that are not HTML
                   (kept rows per stratum, judge-human agreement, the learning curve's points)
    funnel.py      funnel (stats.json) and samples (kept rows, rejects per reason)
    diversity.py   the embedding map, offspring per seed, topics
    judges.py      judges (verdicts, self-test, pairs, flips, agreement) and review (queue, gate)
    training.py    losses, DPO readiness, the learning curve, round over round
    evaluation.py  the eval table with intervals, paired differences, this training round

Imports go one way: page.py -> section modules -> html.py, reader.py (neither imports a section,
no section imports another). This file imports the page only when a report is built, so the CLI's
run summary reads `reader.py` without loading the HTML layer.
Each section is `(Run) -> HTML`; a stage that has not run yet is one line saying so. The runner
calls `build_report` at the end of `seedfactory run`.
"""

from __future__ import annotations

from pathlib import Path

from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import atomic_write_text


class NotARunDir(SeedfactoryError, FileNotFoundError):
    """`seedfactory report` named a folder that is not there."""


def build_report(out: Path, *, refresh_card: bool = True, embedder=None, live: str | None = None) -> Path:
    """Write `out/report.html` (and, where the dataset exists, rewrite its card with the eval and
    review results known now). Returns the report's path. `embedder`: one already loaded for the
    run's `validate.embedder` (the runner passes validation's), saving a model load. `live`: the run
    is still going (`seedfactory run --watch`): a line saying how far, and the page reloads itself."""
    out = Path(out)
    if not out.is_dir():
        raise NotARunDir(f"{out}: no such run directory")
    from seedfactory.report.page import render
    from seedfactory.report.reader import Run

    target = out / "report.html"
    atomic_write_text(target, render(Run(out, embedder=embedder), live=live))
    if refresh_card:
        from seedfactory.publish import refresh_card as _refresh

        _refresh(out)
        from seedfactory.model_card import write_model_card

        write_model_card(out)  # model_card.md beside the dataset card, once there is an adapter
    return target
