"""Small inline SVG charts for the run report: no plotting library, no script, no network.

Each function returns one `<div class="fig">` holding an `<svg>` (and an HTML legend where there is one),
sized by its viewBox so it scales with the page. Labels are HTML-escaped here; colours come from
CSS classes (`s0`..`s5` for series, `col`, `gridline`, `pt`, ...), so the page's stylesheet decides
how a chart looks. No class is shared with the page's HTML classes: CSS `height` resizes a rect.

    from seedfactory.util.svg import histogram, line_chart, scatter
    html = histogram([1, 2, 2, 5], lo=1, hi=5, bins=8, xlabel="judge score")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

W, H = 480, 240  # viewBox; the page sets the displayed width
PAD_L, PAD_R, PAD_T, PAD_B = 44, 12, 10, 34


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 and abs(v) < 1e6 else f"{v:.3g}"


class _Frame:
    """Maps data coordinates to the plot area and draws the axes."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float):
        self.x0, self.x1 = x0, (x1 if x1 > x0 else x0 + 1)
        self.y0, self.y1 = y0, (y1 if y1 > y0 else y0 + 1)

    def x(self, v: float) -> float:
        return PAD_L + (v - self.x0) / (self.x1 - self.x0) * (W - PAD_L - PAD_R)

    def y(self, v: float) -> float:
        return H - PAD_B - (v - self.y0) / (self.y1 - self.y0) * (H - PAD_T - PAD_B)

    def axes(self, xlabel: str, ylabel: str, xticks: bool = True, whole_x: bool = False) -> list[str]:
        out = [f'<line class="axis" x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}"/>',
               f'<line class="axis" x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}"/>']
        for t in _nice_ticks(self.y0, self.y1):
            y = self.y(t)
            out.append(f'<line class="gridline" x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}"/>'
                       f'<text class="tick" x="{PAD_L - 4}" y="{y + 3:.1f}" text-anchor="end">{_fmt(t)}</text>')
        if xticks:
            for t in _nice_ticks(self.x0, self.x1, 6):
                if whole_x and t != round(t):  # steps and rounds are counts: no tick at 1.5
                    continue
                out.append(f'<text class="tick" x="{self.x(t):.1f}" y="{H - PAD_B + 13}" '
                           f'text-anchor="middle">{_fmt(t)}</text>')
        out.append(f'<text class="label" x="{(PAD_L + W - PAD_R) / 2}" y="{H - 4}" '
                   f'text-anchor="middle">{escape(xlabel)}</text>')
        out.append(f'<text class="label" x="10" y="{(PAD_T + H - PAD_B) / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 10 {(PAD_T + H - PAD_B) / 2})">{escape(ylabel)}</text>')
        return out


def _svg(body: list[str], title: str, legend: str = "") -> str:
    """The chart (and its legend) in one block, so a grid of charts keeps each legend under its chart."""
    return (f'<div class="fig"><svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>{legend}</div>')


def histogram(values: Sequence[float], *, lo: float, hi: float, bins: int, xlabel: str,
              ylabel: str = "rows", marker: float | None = None, marker_label: str = "") -> str:
    """Counts of `values` in `bins` equal bins over [lo, hi]; an optional vertical marker line."""
    counts = [0] * bins
    width = (hi - lo) / bins if hi > lo else 1.0
    for v in values:
        counts[min(bins - 1, max(0, int((v - lo) / width)))] += 1
    f = _Frame(lo, hi if hi > lo else lo + 1, 0, max(counts, default=0) or 1)
    body = f.axes(xlabel, ylabel)
    for i, c in enumerate(counts):
        a, b = lo + i * width, lo + (i + 1) * width
        body.append(f'<rect class="col s0" x="{f.x(a) + 1:.1f}" y="{f.y(c):.1f}" width="{f.x(b) - f.x(a) - 2:.1f}" '
                    f'height="{f.y(0) - f.y(c):.1f}"><title>{_fmt(a)}..{_fmt(b)}: {c}</title></rect>')
    if marker is not None:
        x = f.x(marker)
        body.append(f'<line class="marker" x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{H - PAD_B}"/>'
                    f'<text class="tick" x="{x + 3:.1f}" y="{PAD_T + 10}">{escape(marker_label)}</text>')
    return _svg(body, f"histogram of {xlabel}")


def line_chart(series: dict[str, Sequence[tuple[float, float]]], *, xlabel: str, ylabel: str,
               whole_x: bool = False) -> str:
    """One polyline (with dots) per named series, then an HTML legend. `whole_x`: x is a count
    (a step, a round), so only whole numbers get a tick."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return _svg([], "empty chart")
    ys = [y for _, y in pts]
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-12:
        y0, y1 = y0 - 0.5, y1 + 0.5
    f = _Frame(min(x for x, _ in pts), max(x for x, _ in pts), min(0.0, y0) if y0 >= 0 else y0, y1)
    body = f.axes(xlabel, ylabel, whole_x=whole_x)
    for i, (name, s) in enumerate(series.items()):
        coords = " ".join(f"{f.x(x):.1f},{f.y(y):.1f}" for x, y in s)
        body.append(f'<polyline class="line s{i % 6}" points="{coords}"/>')
        body += [f'<circle class="dot s{i % 6}" cx="{f.x(x):.1f}" cy="{f.y(y):.1f}" r="2">'
                 f'<title>{escape(name)} @ {_fmt(x)}: {y:.4g}</title></circle>' for x, y in s]
    return _svg(body, f"{ylabel} by {xlabel}", _legend({f"dot s{i % 6}": n for i, n in enumerate(series)}))


def scatter(points: Sequence[tuple[float, float, str, str]], *, legend: dict[str, str]) -> str:
    """Points (x, y, css class, tooltip) on unlabelled axes (a projection has no units), then an HTML
    legend mapping each css class to its label; classes are drawn in the legend's order (last on top)."""
    if not points:
        return _svg([], "empty map")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = (max(xs) - min(xs)) * 0.05 or 1, (max(ys) - min(ys)) * 0.05 or 1
    f = _Frame(min(xs) - mx, max(xs) + mx, min(ys) - my, max(ys) + my)
    body = f.axes("principal component 1", "principal component 2", xticks=False)[:2]
    order = list(legend)  # later classes drawn on top (seeds last)
    for x, y, cls, tip in sorted(points, key=lambda p: order.index(p[2]) if p[2] in order else -1):
        shape = (f'<rect class="pt {cls}" x="{f.x(x) - 4:.1f}" y="{f.y(y) - 4:.1f}" width="8" height="8">'
                 if cls == "seed" else f'<circle class="pt {cls}" cx="{f.x(x):.1f}" cy="{f.y(y):.1f}" r="3.5">')
        body.append(f'{shape}<title>{escape(tip)}</title></{"rect" if cls == "seed" else "circle"}>')
    return _svg(body, "2-D map of row embeddings", _legend({f"pt {cls}": label for cls, label in legend.items()}))


def _legend(keys: dict[str, str]) -> str:
    """An HTML legend: a small swatch drawn with each css class, then its label."""
    return '<div class="legend">' + "".join(
        f'<span class="key"><svg viewBox="0 0 10 10" width="10" height="10"><circle class="{cls} swatch" cx="5" '
        f'cy="5" r="4"/></svg> {escape(label)}</span>' for cls, label in keys.items()) + "</div>"

