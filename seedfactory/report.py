"""The run report: one self-contained `report.html` built from a run directory alone.

    seedfactory report runs/default          # writes runs/default/report.html (and refreshes the card)
    from seedfactory.report import build_report; build_report(Path("runs/default"))

The page has no script and fetches nothing: charts are inline SVG (`seedfactory.util.svg`) or
CSS bars, and every text that came from a model or a seed file is HTML-escaped. Each section
reads the files its stage wrote (see `SECTIONS` and `report_sections.py`); a stage that has not
run yet is one line saying so. The runner calls `build_report` at the end of `seedfactory run`.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import yaml

from seedfactory.util.files import atomic_write_text, read_json, read_jsonl_dicts

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#c9cfdb}header code{color:#fff}
nav{padding:6px 28px;background:#e9ecf2;position:sticky;top:0;z-index:1}nav a{margin-right:14px;color:#2b59c3}
main{padding:8px 28px 40px;max-width:1180px}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;margin:16px 0;padding:12px 18px}
h2{margin:4px 0 10px;font-size:18px}h3{font-size:14px;margin:12px 0 6px;color:#3b4456}
.split{display:grid;grid-template-columns:minmax(0,1.2fr) minmax(0,1fr);gap:24px}
@media (max-width:900px){.split{grid-template-columns:1fr}}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:14px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 10px}
.card{border:1px solid #dde1e8;border-radius:6px;padding:6px 12px;min-width:110px}
.card b{display:block;font-size:20px}.card span{color:#5b6478;font-size:12px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{padding:3px 10px 3px 0;text-align:left;
border-bottom:1px solid #eceff3;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}summary{font-weight:600;color:#3b4456;margin:10px 0 4px;cursor:pointer}
.missing{color:#7a8194;font-style:italic;margin:4px 0}
.bar{display:inline-block;height:12px;background:#4c78c8;border-radius:2px;vertical-align:middle}
.bar.drop{background:#e07b5f}.bar.in{background:#c5d3ee}
.pass{color:#1c7c3c;font-weight:600}.fail{color:#b3261e;font-weight:600}
.tag.untrusted{color:#a9aeb8}p.untrusted{color:#b3261e}
pre{white-space:pre-wrap;word-break:break-word;background:#f3f5f8;padding:6px 8px;border-radius:4px;margin:2px 0;
max-height:180px;overflow:auto;font-size:12px}
.sample{border-top:1px solid #eceff3;padding:6px 0}.tag{font-size:12px;color:#5b6478}
svg.chart{width:100%;max-width:520px;height:auto;background:#fff}
svg .axis{stroke:#888}svg .gridline{stroke:#eee}svg .tick{font-size:10px;fill:#555}svg .label{font-size:11px;fill:#333}
svg .col{fill:#4c78c8;stroke:none}svg .marker{stroke:#b3261e;stroke-dasharray:4 3}
svg .line{fill:none;stroke-width:1.8}svg .swatch,svg .dot{stroke:none}
.s0{stroke:#4c78c8;fill:#4c78c8}.s1{stroke:#e07b5f;fill:#e07b5f}.s2{stroke:#3a9d5d;fill:#3a9d5d}
.s3{stroke:#9467bd;fill:#9467bd}.s4{stroke:#c9a227;fill:#c9a227}.s5{stroke:#555;fill:#555}
svg .pt.kept{fill:#4c78c8;fill-opacity:.75}svg .pt.dup{fill:#999;fill-opacity:.25}
svg .pt.seed{fill:#e07b5f;stroke:#7a2e1a;stroke-width:1}
.legend{font-size:12px;color:#3b4456}.legend .key{margin-right:14px}.legend svg{vertical-align:middle}
"""


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
        node: Any = self.config
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

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


# ---- small HTML helpers the sections share ----------------------------------------------------

def missing(text: str) -> str:
    return f'<p class="missing">{escape(text)}</p>'


def table(head: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    def cell(i: int, v: Any, tag: str) -> str:
        cls = ' class="n"' if i in numeric else ""
        return f"<{tag}{cls}>{v if isinstance(v, Markup) else escape(fmt(v))}</{tag}>"

    body = "".join("<tr>" + "".join(cell(i, v, "td") for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{''.join(cell(i, h, 'th') for i, h in enumerate(head))}</tr>{body}</table>"


class Markup(str):
    """Already-safe HTML (a bar, a link) that `table` must not escape again."""


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def bar(value: float, top: float, cls: str = "", px: int = 220) -> Markup:
    width = 0 if top <= 0 else max(1, round(px * value / top)) if value else 0
    return Markup(f'<span class="bar {cls}" style="width:{width}px"></span>')


def cards(items: list[tuple[str, Any]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{escape(fmt(v))}</b><span>{escape(k)}</span></div>' for k, v in items) + "</div>"


# ---- the page ----------------------------------------------------------------------------------

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


def render(run: Run) -> str:
    """The whole page as one string."""
    from seedfactory.report_sections import SECTIONS

    parts = []
    for key, title, fn in SECTIONS:
        parts.append(f'<section id="{key}"><h2>{escape(title)}</h2>{fn(run)}</section>')
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in SECTIONS)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>seedfactory report: {escape(run.path.name)}</title><style>{CSS}</style></head><body>"
            f"{_header(run)}<nav>{nav}</nav><main>{''.join(parts)}</main></body></html>\n")


def build_report(out: Path, *, refresh_card: bool = True, embedder=None) -> Path:
    """Write `out/report.html` (and, where the dataset exists, rewrite its card with the eval and
    review results known now). Returns the report's path. `embedder`: one already loaded for the
    run's `validate.embedder` (the runner passes validation's), saving a model load."""
    out = Path(out)
    if not out.is_dir():
        raise FileNotFoundError(f"{out}: no such run directory")
    run = Run(out, embedder=embedder)
    target = out / "report.html"
    atomic_write_text(target, render(run))
    if refresh_card:
        from seedfactory.publish import refresh_card as _refresh

        _refresh(out)
    return target
