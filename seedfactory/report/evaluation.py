"""The report's evaluation section: base, SFT, DPO and teacher on the eval set with 95% bootstrap
intervals, paired differences, and this training round before and after (continuous fine-tuning).
Reads eval.json (values, ci95, differences, continual) and evaluate/answers.jsonl (intervals for
runs written before eval.json kept them).
"""

from __future__ import annotations

from html import escape

from seedfactory.report.html import bar, fmt, missing, table
from seedfactory.report.reader import Run, example_value
from seedfactory.util.stats import bootstrap_ci


def _interval(e: dict, per: list[float]) -> str:
    """eval.json's 95% interval, or one bootstrapped from the per-example scores (older runs)."""
    ci = e.get("ci95") or e.get("ci") or (bootstrap_ci(per, 2000) if per else None)
    return "-" if not ci else f"{ci[0]:.3f} to {ci[1]:.3f}"


def evaluation(run: Run) -> str:
    ev = run.json("eval.json")
    if not ev:
        return missing("The student has not been evaluated yet.")
    answers = run.jsonl("evaluate/answers.jsonl")
    systems = [s for s in ("base", "before", "sft", "dpo", "teacher") if s in ev]
    rows = []
    for s in systems:
        e = ev[s]
        per = [example_value(a[f"{s}_score"]) for a in answers if a.get(f"{s}_score") is not None]
        rows.append([s, e.get("value"), bar(e.get("value") or 0, 1.0), _interval(e, per), e.get("n"),
                     e.get("schema_valid"), e.get("note", "")])
    first = ev[systems[0]] if systems else {}
    parts = [f"<p>Metric: <code>{escape(str(first.get('metric', '?')))}</code> on {first.get('n', '?')} cases "
             f"({escape(str(ev.get('eval_source', 'held-out seeds')))}); 95% bootstrap intervals over the cases.</p>",
             table(["system", "value", "", "95% interval", "n", "schema valid", "note"], rows, {1, 3, 4, 5})]
    diffs = ev.get("differences") or {}
    if diffs:
        parts.append("<h3>Paired differences (same cases)</h3>")
        parts.append(table(["difference", "mean", "95% interval", "n"],
                           [[k.replace("_minus_", " − "), d.get("value"), _interval(d, []), d.get("n")]
                            for k, d in diffs.items()], {1, 2, 3}))
    parts.append(continual_round(ev.get("continual")))
    parts.append(cost_html(ev.get("cost")))
    return "".join(parts)


def cost_html(cost: dict | None) -> str:
    """eval.json `cost`: each system's score, tokens/s and weights, a null's reason beside it."""
    if not cost:
        return ""
    rows = [[name, r.get("runtime"), r.get("score"), r.get("tokens_per_s"), r.get("weights_mb"),
             r.get("weights") or ("loaded" if r.get("weights_mb") is not None else "")]
            for name, r in cost.get("systems", {}).items()]
    return ("<h3>Cost to run</h3>"
            + table(["system", "runtime", "score", "tokens/s", "weights (MiB)", "weights measured"], rows, {2, 3, 4}))


def continual_round(c: dict | None) -> str:
    """This training round: where it started, its rows, before and after, and the old eval cases
    (continuous fine-tuning; `seedfactory runs RUN_DIR` lists every round)."""
    if not c:
        return ""
    rows = c.get("rows") or {}
    lines = [["this eval set", c.get("before"), c.get("after"), c["after_minus_before"].get("value")]]
    if old := c.get("old_cases"):
        lines.append([f"old cases (n={old['n']})", old.get("before"), old.get("after"),
                      old["after_minus_before"].get("value")])
    return (f"<h3>Training round (from {escape(str(c.get('from')))})</h3><p>{fmt(rows.get('rows'))} rows: "
            f"{fmt(rows.get('new_rows'))} new, {fmt(rows.get('replayed'))} replayed. Before is "
            f"{escape(str(c.get('before_system')))}; after below before on the old cases is forgetting.</p>"
            + table(["cases", "before", "after", "after − before"], lines, {1, 2, 3}))
