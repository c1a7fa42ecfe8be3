"""The report's judge and review sections. Judges: judge/verdicts.jsonl, judge/stats.json
(cut-off), judge/calibration.json (self-test), judge/pairs.jsonl (length bias, margins),
evaluate/answers.jsonl + eval.json (pairwise flips), review/queue.sqlite (agreement). Review:
review/queue.sqlite and config.yaml (review.max_defect_rate, review.min_reviewed).
"""

from __future__ import annotations

from collections import Counter
from html import escape

import numpy as np

from seedfactory.report.html import bar, cards, fmt, missing, scalars, table
from seedfactory.report.reader import Run, example_value, judge_human
from seedfactory.util.stats import format_kappa, wilson_interval
from seedfactory.util.svg import histogram


def judges(run: Run) -> str:
    js = run.stage("judge")
    if not js:
        return missing("The judge has not run yet.")
    verdicts = run.jsonl("judge/verdicts.jsonl")
    scores = [v["score"] for v in verdicts if v.get("score") is not None]
    parts = [cards([("rows judged", len(verdicts)), ("judge errors", js.get("judge_errors")),
                    ("mean score", round(float(np.mean(scores)), 3) if scores else None),
                    ("cut-off", js.get("cutoff")), ("pairs", js.get("pairs"))])]
    charts = [histogram(scores, lo=1, hi=5, bins=16, xlabel="rubric score (1-5)", marker=js.get("cutoff"),
                        marker_label="cut-off")] if scores else []
    parts.append("<h3>Self-test on the seeds</h3>")
    cal = run.json("judge/calibration.json")
    if isinstance(cal, dict):
        if "passed" in cal:
            verdict = ("passed: it filters rows and ranks pairs" if cal["passed"] else
                       "failed: it neither filters rows nor ranks pairs; consensus, schema and grounding decide")
            parts.append(f'<p>The judge <span class="{"pass" if cal["passed"] else "fail"}">{verdict}</span> '
                         f"(AUC {fmt(cal.get('auc'))} against judge.min_auc {fmt(cal.get('min_auc'))}).</p>")
        parts.append(table(["measure", "value"], scalars(cal)))
    else:
        parts.append(missing("No self-test on the seeds in this run (judge/calibration.json absent)."))
    parts.append("<h3>Preference pairs</h3>")
    pairs = run.jsonl("judge/pairs.jsonl")
    if pairs:
        longer = sum(len(p["chosen"]) > len(p["rejected"]) for p in pairs)
        lo, hi = wilson_interval(longer, len(pairs))
        parts.append(table(["measure", "value"], [
            ["pairs", len(pairs)],
            ["length bias: chosen longer than rejected", f"{longer}/{len(pairs)} = {longer / len(pairs):.0%} "
                                                         f"(95% CI {lo:.0%}-{hi:.0%}; 50% is no bias)"],
            ["mean characters chosen / rejected", f"{np.mean([len(p['chosen']) for p in pairs]):.0f} / "
                                                   f"{np.mean([len(p['rejected']) for p in pairs]):.0f}"],
            ["mean margin", float(np.mean([p["margin"] for p in pairs]))]]))
        margins = [p["margin"] for p in pairs]
        top = 1.0 if max(margins) <= 1 else max(4.0, max(margins))  # panel scores are 0-1, rubric gaps 0-4
        charts.append(histogram(margins, lo=0, hi=top, bins=16, xlabel="pair margin (score gap)", ylabel="pairs"))
    else:
        parts.append(missing("No preference pairs were made."))
    parts.insert(1, f'<div class="grid">{"".join(charts)}</div>')
    parts.append("<h3>Pairwise flip rate (both orders)</h3>")
    ev, answers = run.json("eval.json") or {}, run.jsonl("evaluate/answers.jsonl")
    if ev.get("base", {}).get("metric", "").startswith("judge") and answers:
        rows = []
        for sysname in ("base", "sft", "dpo", "teacher"):
            got = [example_value(a[f"{sysname}_score"]) for a in answers if f"{sysname}_score" in a]
            flips = sum(abs(x - 0.5) < 1e-9 for x in got)
            rows.append([sysname, len(got), flips, f"{flips / len(got):.0%}" if got else "-"])
        parts.append(table(["system vs reference", "pairs", "flips or ties", "flip rate"], rows, {1, 2}))
    else:
        parts.append(missing("No pairwise judging in this run (evaluation scored fields programmatically)."))
    parts.append("<h3>Judge-human agreement</h3>")
    agree = judge_human(run)
    judge_vs = agree[0]["judge_vs_reviewers"] if agree else {"n": 0}
    if not judge_vs["n"]:
        parts.append(missing("No reviewed rows yet: agreement appears once reviewers have decided some rows."))
    else:
        between, scored = agree[0]["between_reviewers"], agree[1]

        rows = [["reviewed rows", judge_vs["n"]],
                ["judge stage and reviewers agree (kept vs accepted)", f"{judge_vs['agree']:.0%}"],
                ["Cohen's kappa, judge vs reviewers", format_kappa(judge_vs)],
                ["Cohen's kappa between two reviewers of a row",
                 format_kappa(between) if between["n"] else "no overlap rows"]]
        for label, want in (("mean judge score, rows reviewers accepted", True),
                            ("mean judge score, rows rejected or edited", False)):
            got = [sc for sc, ok in scored if ok is want]
            rows.append([label, f"{np.mean(got):.2f} (n={len(got)})" if got else "-"])
        parts.append(table(["measure", "value"], rows))
    return "".join(parts)


def review(run: Run) -> str:
    items = run.review_items()
    if items is None:
        return missing("No review queue yet.")
    counts = Counter(i["status"] for i in items)
    reviewed = len(items) - counts.get("pending", 0)
    rejected = counts.get("rejected", 0)
    parts = [cards([("queued", len(items)), ("reviewed", reviewed), ("accepted", counts.get("accepted", 0)),
                    ("edited", counts.get("edited", 0)), ("rejected", rejected)]),
             f"<p>Progress: {bar(reviewed, len(items) or 1, px=320)} {reviewed}/{len(items)} reviewed</p>"]
    if not reviewed:
        parts.append(missing("Nobody has reviewed a row yet: no defect-rate estimate."))
        lo, hi = 0.0, 1.0
    else:
        lo, hi = wilson_interval(rejected, reviewed)
        parts.append(f"<p>Defect rate (rejected among reviewed): <b>{rejected / reviewed:.0%}</b> "
                     f"({rejected}/{reviewed}; 95% Wilson interval {lo:.0%} to {hi:.0%}).</p>")
    limit, need = run.cfg("review.max_defect_rate"), run.cfg("review.min_reviewed", 0) or 0
    if limit is None and not need:
        parts.append("<p>Gate: <b>off</b> (no <code>review.max_defect_rate</code> or <code>review.min_reviewed</code> "
                     "in this run's config).</p>")
    else:
        from seedfactory.review.agreement import gate_message

        why = gate_message(dict(counts), limit, need)
        parts.append(f'<p>Gate: <span class="pass">training may go on</span> (upper bound {hi:.0%}; '
                     f"review.max_defect_rate {fmt(limit)}, review.min_reviewed {need}).</p>" if why is None
                     else f'<p>Gate: <span class="fail">closed</span>: {escape(why)}</p>')
    return "".join(parts)
