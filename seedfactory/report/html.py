"""The report's HTML vocabulary: the page's stylesheet and the small helpers every section
builds with (a table, a bar, stat cards, a "not run yet" line). Text goes through `escape` here,
so a section passes raw values and wraps only already-safe HTML in `Markup`.

    from seedfactory.report.html import cards, table
    cards([("rows", 120)]) + table(["stage", "rows"], [["judge", 80]], numeric={1})

Imports nothing of the report (a section imports this, never the other way).
"""

from __future__ import annotations

from html import escape
from typing import Any

from seedfactory.util.dotted import flatten

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
.live{margin:0;padding:8px 28px;background:#fff4d6;color:#6b4e00;font-weight:600}
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


def scalars(obj: dict) -> list[list]:
    """Numbers, strings and booleans of a (nested) dict as table rows of dotted key, value."""
    return [[k, v] for k, v in flatten(obj) if isinstance(v, (int, float, str, bool)) or v is None]
