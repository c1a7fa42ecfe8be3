"""The report's funnel and samples: rows in and out of every stage, drops per reason, the checks
calibrated on the seeds, kept rows per strategy, topic and persona; then sample kept rows and
rejects per reason. Reads stats.json (per stage in/out, rejected, seconds, tokens, requests,
cache hits, cost_usd; validate's `quality` block; each stage's `kept_by`), judge/sft.jsonl or
validate/kept.jsonl, rejects.jsonl.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape

from seedfactory.generators.pool import pool_summary
from seedfactory.report.html import Markup, bar, cards, fmt, missing, table
from seedfactory.report.reader import Run, kept_rows
from seedfactory.timing import stage_times


def funnel(run: Run) -> str:
    stats = run.json("stats.json")
    if not stats or not stats.get("stages"):
        return missing("No stage has finished yet (no stats.json).")
    st = stats["stages"]
    tok = stats.get("tokens", {})
    head = cards([("seeds", st.get("split", {}).get("in")), ("candidates", st.get("generate", {}).get("out")),
                  ("kept after validation", st.get("validate", {}).get("out")),
                  ("SFT rows", st.get("publish", {}).get("sft", st.get("judge", {}).get("out"))),
                  ("preference pairs", st.get("publish", {}).get("preference")),
                  ("rows dropped", stats.get("rejects")), ("seconds", stats.get("seconds")),
                  ("tokens", (tok.get("prompt_tokens", 0) or 0) + (tok.get("completion_tokens", 0) or 0))])
    top = max([s.get("in", 0) or 0 for s in st.values()] + [s.get("out", 0) or 0 for s in st.values()] + [1])
    has_cost = any("cost_usd" in s for s in st.values())
    rows, share = [], {r["stage"]: r["share"] for r in stage_times(stats)}
    for name, s in st.items():
        dropped = sum(s.get("rejected", {}).values())
        rows.append([name, s.get("in"), s.get("out"), Markup(bar(s.get("out") or 0, top) + bar(dropped, top, "drop")),
                     dropped, s.get("seconds"), f"{share[name]:.0%}",
                     (s.get("prompt_tokens") or 0) + (s.get("completion_tokens") or 0) or None,
                     s.get("requests_sent"), s.get("cache_hits")] + ([s.get("cost_usd")] if has_cost else []))
    head_row = ["stage", "in", "out", "out / dropped", "dropped", "seconds", "share of time", "tokens", "requests",
                "cache hits"]
    left = [table(head_row + (["cost (USD)"] if has_cost else []), rows, {1, 2, 4, 5, 6, 7, 8, 9, 10})]
    if not has_cost:
        left.append(missing("No cost recorded: the teacher and judge ran locally (no priced API)."))
    by_reason = Counter(stats.get("rejects_by_reason", {}))
    right = ["<h3>Drops per reason</h3>"]
    if by_reason:
        most = by_reason.most_common()
        right.append(table(["stage:reason", "rows", ""], [[k, v, bar(v, most[0][1], "drop", px=120)] for k, v in most],
                           {1}))
    else:
        right.append(missing("No row was dropped."))
    right.append(_quality((st.get("validate") or {}).get("quality")))
    if pool_line := pool_summary(st.get("pool")):
        left.append(f'<p class="tag">{escape(pool_line)}</p>')
    return (head + "".join(left) + f'<div class="split"><div>{right[0]}{right[1]}</div><div>{right[2]}</div></div>'
            + _kinds(run) + _strata(st))


def _kinds(run: Run) -> str:
    """Each output field's kind with its evidence (validate/calibration.json), its grounding check's
    seed pass rate, red where the check is off (the finder could not read the seeds: its failure, with
    the seeds it could not read), the templates used of the seeds and the label classifier's figures."""
    cal = run.json("validate/calibration.json") or {}
    kinds = cal.get("kinds")
    if not kinds:
        return ""
    grounding = cal.get("checks", {}).get("ungrounded", {}).get("fields", {})
    rows = []
    for name, k in kinds.items():
        g = grounding.get(name)
        state = "" if g is None else ("on" if g.get("applied") else "OFF: the finder could not read "
                                      + ", ".join(g.get("unread", [])[:4]))
        off = g is not None and not g.get("applied")
        cell = Markup(f'<span class="{"fail" if off else ""}">{escape(state)}</span>')
        rows.append([name, k.get("kind"), k.get("evidence"), g.get("seed_pass_rate") if g else None, cell])
    parts = ["<h3>Field kinds and grounding</h3>",
             table(["field", "kind", "evidence", "seeds grounded", "grounding check"], rows, {3}),
             '<p class="tag">Override a kind with <code>seeds.field_kinds</code>.</p>']
    gen = run.json("generate/stats.json") or {}
    if (t := gen.get("seeds_templated")):
        lacking = "; ".join(f"{k}: {v}" for k, v in t.get("not_used", {}).items())
        parts.append(f'<p class="tag">Seeds written into (templates or rewrites): {t.get("used")} of {t.get("of")}'
                     + (f' <span class="fail">not: {escape(lacking)}</span>' if lacking else "") + ". Rewrite layouts: "
                     f'{fmt((gen.get("rewrites") or {}).get("layouts"))}.</p>')
    lay = (run.json("publish/stats.json") or {}).get("layouts")
    if lay and lay.get("rows"):
        parts.append(f'<p class="tag">Published rows: {lay["rows"]}; distinct layouts (values, digits and month '
                     f'names masked) {lay["distinct_layouts"]}; the commonest layout {fmt(lay["top_layout_share"])} '
                     f'of rows; wording not a seed\'s {fmt(lay["not_seed_wording"])}.</p>')
    labels = run.json("judge/labels.json")
    if labels:
        parts.append("<h3>Label check (a classifier on the seeds)</h3>" + table(
            ["field", "applied", "LOO accuracy", "always the commonest", "method"],
            [[n, "yes" if v.get("applied") else "no", v.get("loo_accuracy"), v.get("majority_baseline"),
              v.get("method")] for n, v in labels.items()], {2, 3}))
    return "".join(parts)


def _strata(st: dict) -> str:
    """The strategies' (and topics', personas') share of kept rows, stage by stage."""
    return "".join(f"<h3>Kept rows per {dim}</h3>" + table(
        [dim, "candidates", "after validate", "after judge", "published", "share"],
        [r[:-1] + [f"{r[-1]:.1%}"] for r in rows], {1, 2, 3, 4, 5}) for dim, rows in kept_rows(st).items())


def _quality(q: dict | None) -> str:
    """validate's data-quality block: rows each check dropped, and whether the seeds passed it
    (a check the seeds themselves fail is not applied)."""
    if not q:
        return ""
    drops, rates = q.get("drops_per_check", {}), q.get("seed_pass_rates", {})
    rows = [[name, drops.get(name, drops.get(name.split(".")[0])), r.get("rate"), "yes" if r.get("applied") else "no"]
            for name, r in rates.items()]
    extra = [f"{k.replace('_', ' ')} {fmt(v)}" for k, v in q.items() if not isinstance(v, dict)]
    return ("<h3>Checks calibrated on the seeds</h3>" + table(["check", "rows dropped", "seeds passing", "applied"],
                                                              rows, {1, 2})
            + (f'<p class="tag">{escape("; ".join(extra))}</p>' if extra else ""))


def _row_html(r: dict, tag: str, dim: bool = False) -> str:
    out = r.get("output")
    out = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False, indent=1)
    return (f'<div class="sample"><span class="tag{" untrusted" if dim else ""}">{escape(tag)}</span>'
            f"<pre>{escape(r.get('instruction', ''))}</pre>"
            + (f"<pre>{escape(r['input'])}</pre>" if r.get("input") else "") + f"<pre>{escape(out)}</pre></div>")


def untrusted_judge_note(run: Run) -> str:
    """The line above the sample rows when the judge failed its self-test (judge/calibration.json
    `passed` false), else "": its scores there are shown greyed and marked, not as verdicts."""
    from seedfactory.review.rows import judge_trust

    trust = judge_trust(run.json("judge/calibration.json"))
    return f'<p class="untrusted">Judge scores below are greyed: {escape(trust["note"])}.</p>' if trust["note"] else ""


def samples(run: Run, per_reason: int = 2, kept_n: int = 3) -> str:
    kept = run.jsonl("judge/sft.jsonl") or run.jsonl("validate/kept.jsonl")
    note = untrusted_judge_note(run)
    judge_word = "judge (untrusted)" if note else "judge"
    parts = ["<h3>Kept rows</h3>", note]
    parts += [_row_html(r, f"{r['id']} · {judge_word} {fmt(r.get('scores', {}).get('judge'))} · seeds "
                           f"{', '.join(r['lineage']['seed_ids'])}", dim=bool(note)) for r in kept[:kept_n]]
    if not kept:
        parts.append(missing("No kept rows yet."))
    parts.append("<h3>Rejects, per reason</h3>")
    by: dict[str, list[dict]] = {}
    for r in run.jsonl("rejects.jsonl"):
        by.setdefault(f"{r['stage']}:{r['reason']}", []).append(r)
    if not by:
        parts.append(missing("No rejects."))
    for i, (reason, rs) in enumerate(sorted(by.items(), key=lambda kv: -len(kv[1]))):
        parts.append(f'<details{" open" if i < 3 else ""}><summary>{escape(reason)} ({len(rs)})</summary>')
        for r in rs[:per_reason]:
            bits = [f"{k} {fmt(r[k])}" for k in ("score", "dup_of", "similarity") if r.get(k) is not None]
            tag = " · ".join([r["row_id"], *bits])
            if r.get("row"):
                parts.append(_row_html(r["row"], tag))
            else:
                parts.append(f'<div class="sample"><span class="tag">{escape(tag)}</span></div>')
            if r.get("detail"):
                parts.append(f"<pre>{escape(r['detail'])}</pre>")
        parts.append("</details>")
    return "".join(parts)
