"""The report page: the sections in order, the header, and the whole page as one string.

    from seedfactory.report.page import render
    from seedfactory.report.reader import Run
    html = render(Run(Path("runs/default")))      # what build_report writes to report.html
"""

from __future__ import annotations

import time
from html import escape

from seedfactory.report.diversity import diversity
from seedfactory.report.evaluation import evaluation
from seedfactory.report.funnel import funnel, samples
from seedfactory.report.html import CSS
from seedfactory.report.judges import judges, review
from seedfactory.report.reader import Run
from seedfactory.report.training import training

SECTIONS = [
    ("funnel", "Funnel", funnel),
    ("diversity", "Diversity", diversity),
    ("judges", "Judges", judges),
    ("review", "Review", review),
    ("training", "Training", training),
    ("eval", "Evaluation", evaluation),
    ("samples", "Samples", samples),
]


def _header(run: Run) -> str:
    source = run.json("split/source.json") or {}
    student = run.cfg("train.student", "?")
    lines = [f"Seeds: <code>{escape(str(source.get('seeds', run.cfg('seeds.path', '?'))))}</code>",
             f"Teacher: <code>{escape(str(run.cfg('teacher.model', '?')))}</code> "
             f"({escape(str(run.cfg('teacher.backend', '?')))}); judge: "
             f"<code>{escape(str(run.cfg('judge.model.model', '?')))}</code>; "
             f"student: <code>{escape(str(student))}</code>",
             f"Run directory: <code>{escape(str(run.path))}</code>; built {time.strftime('%Y-%m-%d %H:%M:%S')}"]
    return "<header><h1>seedfactory run report</h1>" + "".join(f"<p>{x}</p>" for x in lines) + "</header>"


LIVE_SECONDS = 10  # how often a page of a run still going reloads itself


def render(run: Run, live: str | None = None) -> str:
    """The whole page as one string. `live`: the run is still going (a line saying how far): the page
    reloads itself every LIVE_SECONDS; the page written when the run ends has no reload."""
    parts = []
    for key, title, fn in SECTIONS:
        parts.append(f'<section id="{key}"><h2>{escape(title)}</h2>{fn(run)}</section>')
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in SECTIONS)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + (f'<meta http-equiv="refresh" content="{LIVE_SECONDS}">' if live else "")
            + f"<title>seedfactory report: {escape(run.path.name)}</title><style>{CSS}</style></head><body>"
            + (f'<p class="live">Run in progress: {escape(live)}. This page reloads every {LIVE_SECONDS} s.</p>'
               if live else "")
            + f"{_header(run)}<nav>{nav}</nav><main>{''.join(parts)}</main></body></html>\n")
