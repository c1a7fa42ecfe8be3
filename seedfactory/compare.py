"""`seedfactory compare RUN_DIR RUN_DIR ...`: runs side by side, in the terminal and as an HTML page.

    seedfactory compare runs/a runs/b                   # table on stdout, compare.html in the current folder
    seedfactory compare runs/a runs/b --html out.html

One table per group: the config keys that differ, the funnel (rows in and out per stage, drops per
reason), the data-quality shares, the judge's self-test, the evaluation with 95% intervals, cost
and time (`seedfactory.report.figures`, the figures MLflow logs). Where two runs were evaluated on
the same cases (eval.json `eval_ids`), each later run's systems get a paired difference against the
first run's on those cases (bootstrap over the cases, `seedfactory.util.stats.paired_difference`).
Runs evaluated on different cases are not comparable on their scores: everything else is still
shown, a line says which runs differ, and the command exits 2.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from seedfactory.report.figures import EVAL_SYSTEMS, GROUPS, figures, flat_config, per_case_scores
from seedfactory.report.reader import Run
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.stats import paired_difference

RESAMPLES = 2000


class NotComparable(SeedfactoryError):
    """A path given to `seedfactory compare` is not a run directory."""


@dataclass
class Comparison:
    names: list[str]                                    # one column per run
    config: list[list]                                  # [key, value per run] for keys that differ
    groups: dict[str, list[list]]                       # group title -> [figure, value per run]
    paired: list[list] = field(default_factory=list)    # [run, system, mean diff, ci low, ci high, n]
    problems: list[str] = field(default_factory=list)   # why some runs' scores cannot be compared


def _names(paths: list[Path]) -> list[str]:
    """Short column names: the folder names, or whole paths where two folders share a name."""
    names = [p.name for p in paths]
    return names if len(set(names)) == len(names) else [str(p) for p in paths]


def _eval_ids(run: Run) -> list | None:
    ev = run.json("eval.json")
    return ev.get("eval_ids") if ev else None


def paired_rows(first: Run, other: Run, name: str) -> list[list]:
    """Each system both runs evaluated: other minus first on the cases both scored."""
    rows = []
    for system in EVAL_SYSTEMS:
        a, b = per_case_scores(first, system), per_case_scores(other, system)
        if not a or not b:
            continue
        ids = [i for i in a if i in b]
        d = paired_difference([b[i] for i in ids], [a[i] for i in ids], RESAMPLES)
        rows.append([name, system, d["value"], d["ci95"][0], d["ci95"][1], d["n"]])
    return rows


def with_intervals(rows: list[list]) -> list[list]:
    """Eval rows `X.value`, `X.ci_low`, `X.ci_high` as one row `X`: "value (low to high)" per run."""
    by = {r[0]: r for r in rows}
    out = []
    for key, *values in rows:
        stem = key.removesuffix(".value")
        if key.endswith((".ci_low", ".ci_high")) and f"{key.rsplit('.', 1)[0]}.value" in by:
            continue
        if stem == key or f"{stem}.ci_low" not in by:
            out.append([key, *values])
            continue
        lows, highs = by[f"{stem}.ci_low"][1:], by[f"{stem}.ci_high"][1:]
        out.append([stem, *(None if v is None else f"{v:.3f}" if lo is None else f"{v:.3f} ({lo:.3f} to {hi:.3f})"
                            for v, lo, hi in zip(values, lows, highs))])
    return out


def compare(paths: list[Path]) -> Comparison:
    """The comparison of the runs at `paths` (module docstring); the first run is the reference."""
    for p in paths:
        if not (Path(p) / "config.yaml").is_file():
            raise NotComparable(f"{p}: not a run directory (no config.yaml)")
    runs = [Run(Path(p)) for p in paths]
    names = _names([Path(p) for p in paths])
    configs = [flat_config(r.config) for r in runs]
    keys = sorted(set().union(*configs))
    diff = [[k, *(c.get(k, "(unset)") for c in configs)] for k in keys if len({c.get(k) for c in configs}) > 1]
    figs = [figures(r) for r in runs]
    order = list(dict.fromkeys(k for f in figs for k in f))
    groups: dict[str, list[list]] = {}
    for k in order:
        groups.setdefault(GROUPS[k.split(".", 1)[0]], []).append([k, *(f.get(k) for f in figs)])
    if "Evaluation" in groups:
        groups["Evaluation"] = with_intervals(groups["Evaluation"])
    out = Comparison(names, diff, groups)
    ref = _eval_ids(runs[0])
    for run, name in zip(runs[1:], names[1:]):
        ids = _eval_ids(run)
        if ref is None or ids is None:
            continue  # not evaluated: nothing to pair, nothing wrong
        if sorted(map(str, ids)) != sorted(map(str, ref)):
            common = len(set(map(str, ids)) & set(map(str, ref)))
            out.problems.append(f"{name} was evaluated on other cases than {names[0]} ({len(ids)} against "
                                f"{len(ref)} cases, {common} in common): its scores are not comparable")
            continue
        out.paired += paired_rows(runs[0], run, name)
    return out


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{int(v):,}" if v.is_integer() else f"{v:.4g}"
    return str(v)


def _text_table(head: list[str], rows: list[list]) -> str:
    cells = [head] + [[_cell(v) for v in r] for r in rows]
    widths = [min(60, max(len(r[i]) for r in cells)) for i in range(len(head))]
    lines = ["  ".join(c[:60].ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


PAIRED_HEAD = ["run", "system", "minus first run", "95% low", "95% high", "n"]


def render_text(c: Comparison) -> str:
    parts = [f"Runs: {', '.join(c.names)} (paired differences against {c.names[0]})", ""]
    parts += ["Config differences", _text_table(["key", *c.names], c.config) if c.config else "(none)", ""]
    for title, rows in c.groups.items():
        parts += [title, _text_table(["figure", *c.names], rows), ""]
    if c.paired:
        parts += ["Paired differences (same eval cases)", _text_table(PAIRED_HEAD, c.paired), ""]
    parts += [f"not comparable: {p}" for p in c.problems]
    return "\n".join(parts).rstrip() + "\n"


def render_html(c: Comparison) -> str:
    """The comparison as one self-contained page in the report's style (no script, nothing fetched)."""
    from seedfactory.report.html import CSS, bar, table

    same = '<p class="missing">The configs are the same.</p>'
    sections = [("config", "Config differences", table(["key", *c.names], c.config) if c.config else same)]
    for title, rows in c.groups.items():
        sections.append((title.lower().replace(" ", "-"), title,
                         table(["figure", *c.names], rows, set(range(1, len(c.names) + 1)))))
    if c.paired:
        rows = [[*r[:2], r[2], bar(abs(r[2]), 1.0, "drop" if r[2] < 0 else ""), *r[3:]] for r in c.paired]
        sections.append(("paired", "Paired differences (same eval cases)",
                         "<p>Each run's system minus the first run's, over the cases both evaluated; 95% bootstrap "
                         "intervals.</p>" + table(["run", "system", "minus first run", "", "95% low", "95% high", "n"],
                                                 rows, {2, 4, 5, 6})))
    problems = "".join(f'<p class="fail">Not comparable: {escape(p)}</p>' for p in c.problems)
    body = "".join(f'<section id="{k}"><h2>{escape(t)}</h2>{h}</section>' for k, t, h in sections)
    head = (f"<header><h1>seedfactory: {len(c.names)} runs compared</h1><p>Runs: "
            + ", ".join(f"<code>{escape(n)}</code>" for n in c.names)
            + f"; differences against <code>{escape(c.names[0])}</code>; built {time.strftime('%Y-%m-%d %H:%M:%S')}"
            + "</p></header>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>seedfactory compare</title><style>{CSS}</style></head><body>{head}<main>{problems}{body}"
            "</main></body></html>\n")


def command(args) -> int:
    """`seedfactory compare` (module docstring): 2 when some runs' eval sets differ."""
    import sys

    from seedfactory.util.files import atomic_write_text

    c = compare(args.run_dirs)
    print(render_text(c), end="")
    atomic_write_text(args.html, render_html(c))
    print(f"page: {args.html}")
    for p in c.problems:
        print(f"seedfactory: not comparable: {p}", file=sys.stderr)
    return 2 if c.problems else 0


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="runs side by side: config differences, funnel, quality, judge, eval with "
                                       "paired differences, cost and time (terminal and HTML)")
    p.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="two or more run directories")
    p.add_argument("--html", type=Path, default=Path("compare.html"), help="the page (default ./compare.html)")
