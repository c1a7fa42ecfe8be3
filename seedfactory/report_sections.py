"""The sections of the run report, one function each: `(Run) -> HTML`. Which files each reads:

    funnel     stats.json (per stage in/out, rejected, seconds, tokens, requests, cache hits, cost_usd;
               validate's `quality` block; each stage's `kept_by` strategy/topic/persona)
    diversity  config.yaml (validate.embedder), split/train.jsonl, validate/kept.jsonl,
               validate/rejects.jsonl (duplicates), judge/sft.jsonl (offspring); cache: report/embeddings.npz
    judges     judge/verdicts.jsonl, judge/stats.json (cutoff), judge/calibration.json, judge/pairs.jsonl,
               evaluate/answers.jsonl + eval.json (pairwise flips), review/queue.sqlite (agreement)
    review     review/queue.sqlite, config.yaml (review.max_defect_rate, review.min_reviewed)
    training   train/stats.json (sft/dpo: steps, losses, `curve` per step; dpo_readiness)
    eval       eval.json (values, ci95, differences), evaluate/answers.jsonl (intervals for older runs)
    samples    judge/sft.jsonl or validate/kept.jsonl, rejects.jsonl
"""

from __future__ import annotations

import json
import os
from collections import Counter
from html import escape

import numpy as np

from seedfactory.report import Markup, Run, bar, cards, fmt, missing, table
from seedfactory.util.svg import histogram, line_chart, scatter

DUP_REASONS = ("exact_duplicate", "near_duplicate", "too_similar", "contaminated")
MAP_ROWS = 2000  # most kept (and as many dropped) rows the map embeds; an even spread beyond that


def spread(rows: list, n: int = MAP_ROWS) -> list:
    """At most n rows, evenly spaced through the list (deterministic)."""
    return rows if len(rows) <= n else [rows[i * len(rows) // n] for i in range(n)]


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of k/n, from the review gate's upper bound (the lower end is one
    minus the upper end of the complement); (0, 1) when n is 0."""
    from seedfactory.review.agreement import wilson_upper

    return (0.0, 1.0) if n == 0 else (max(0.0, 1 - wilson_upper(n - k, n)), wilson_upper(k, n))


def _text(row: dict) -> str:
    out = row.get("output")
    out = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
    return f"{row.get('instruction', '')}\n\n{row.get('input', '')}\n\n{out}"


# ---- funnel ------------------------------------------------------------------------------------

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
    rows = []
    for name, s in st.items():
        dropped = sum(s.get("rejected", {}).values())
        rows.append([name, s.get("in"), s.get("out"), Markup(bar(s.get("out") or 0, top) + bar(dropped, top, "drop")),
                     dropped, s.get("seconds"),
                     (s.get("prompt_tokens") or 0) + (s.get("completion_tokens") or 0) or None,
                     s.get("requests_sent"), s.get("cache_hits")] + ([s.get("cost_usd")] if has_cost else []))
    head_row = ["stage", "in", "out", "out / dropped", "dropped", "seconds", "tokens", "requests", "cache hits"]
    left = [table(head_row + (["cost (USD)"] if has_cost else []), rows, {1, 2, 4, 5, 6, 7, 8, 9})]
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
    return (head + "".join(left) + f'<div class="split"><div>{right[0]}{right[1]}</div><div>{right[2]}</div></div>'
            + _strata(st))


KEPT_STAGES = ("generate", "validate", "judge", "publish")  # candidates, then rows kept after each stage


def kept_rows(stages: dict) -> dict[str, list[list]]:
    """Rows per strategy, topic and persona as each stage left them, from the stages' `kept_by`
    stats: {dim: [[value, candidates, validated, judged, published, share of the last stage run]]},
    most first; a stage not run yet is None. Topic and persona only where some row has one."""
    out = {}
    for dim in ("strategy", "topic", "persona"):
        counts = [(stages.get(s) or {}).get("kept_by", {}).get(dim) for s in KEPT_STAGES]
        known = [c for c in counts if c is not None]
        if not known or (dim != "strategy" and set().union(*known) <= {"(none)"}):
            continue
        last = known[-1]
        total = sum(last.values()) or 1
        keys = sorted(set().union(*known), key=lambda k: (-last.get(k, 0), -known[0].get(k, 0), k))
        out[dim] = [[k, *(None if c is None else c.get(k, 0) for c in counts), round(last.get(k, 0) / total, 3)]
                    for k in keys]
    return out


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


# ---- diversity ---------------------------------------------------------------------------------

def _embed(run: Run, texts: list[str]) -> np.ndarray:
    """The run's configured embedder over texts, cached in report/embeddings.npz by content."""
    from seedfactory.schemas import stable_hash
    from seedfactory.validators.embedders import build_embedder

    name = run.cfg("validate.embedder", "minilm")
    key = stable_hash([name, texts], n=32)
    cache = run.path / "report" / "embeddings.npz"
    if cache.is_file():
        with np.load(cache) as z:
            if str(z["key"]) == key:
                return z["vectors"]
    vecs = (run.embedder or build_embedder(name)).embed(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.tmp.npz")
    np.savez_compressed(tmp, key=np.array(key), vectors=vecs)
    os.replace(tmp, cache)  # a cache is never half-written
    return vecs


def pca2(vecs: np.ndarray) -> np.ndarray:
    """The rows projected on their first two principal components (zeros where rank is short)."""
    centred = vecs - vecs.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = centred @ vt[:2].T
    return np.pad(proj, ((0, 0), (0, 2 - proj.shape[1])))


def diversity(run: Run) -> str:
    seeds, kept = run.jsonl("split/train.jsonl"), run.jsonl("validate/kept.jsonl")
    if not run.stage("validate"):
        return missing("Validation has not run yet: no kept rows to map.")
    dups = [r for r in run.jsonl("validate/rejects.jsonl") if r.get("reason") in DUP_REASONS and r.get("row")]
    parts = []
    items = ([(s, "seed", f"seed {s['id']} ({s.get('topic') or 'no topic'})") for s in seeds]
             + [(r, "kept", f"kept {r['id']}: {r['instruction'][:80]}") for r in spread(kept)]
             + [(d["row"], "dup", f"{d['reason']} of {d.get('dup_of')}: {d['row']['instruction'][:80]}")
                for d in spread(dups)])
    if len(items) >= 3:
        xy = pca2(_embed(run, [_text(r) for r, _, _ in items]))
        pts = [(float(x), float(y), cls, tip) for (_, cls, tip), (x, y) in zip(items, xy)]
        parts.append(scatter(pts, legend={"dup": f"dropped near-duplicates ({len(dups)})",
                                          "kept": f"kept rows ({len(kept)})", "seed": f"seeds ({len(seeds)})"}))
        parts.append(f'<p class="tag">PCA of {escape(str(run.cfg("validate.embedder", "?")))} embeddings of '
                     "instruction, input and output; hover a point for its row.</p>")
    else:
        parts.append(missing("Too few rows for a map."))
    final = run.jsonl("judge/sft.jsonl") if run.stage("judge") else kept
    which = "SFT rows (after the judge)" if run.stage("judge") else "rows kept by validation"
    lead = Counter(r["lineage"]["seed_ids"][0] for r in final if r["lineage"]["seed_ids"])
    shots = Counter(sid for r in final for sid in r["lineage"]["seed_ids"])
    topic = {s["id"]: s.get("topic") or "(none)" for s in seeds}
    right = [f"<h3>Offspring per seed, in {escape(which)}</h3>"]
    top = max(shots.values(), default=1)
    rows = [[s["id"], topic[s["id"]], lead.get(s["id"], 0), shots.get(s["id"], 0),
             bar(shots.get(s["id"], 0), top, px=120)]
            for s in sorted(seeds, key=lambda s: -shots.get(s["id"], 0))]
    right.append(table(["seed", "topic", "led the prompt", "in the prompt", ""], rows, {2, 3}))
    barren = [s["id"] for s in seeds if not shots.get(s["id"])]
    if barren:
        right.append(f'<p class="tag">Seeds with no offspring: {escape(", ".join(barren))}</p>')
    parts.append("<h3>Strata coverage (seed topics)</h3>")
    seeds_per = Counter(topic.values())
    rows_per = Counter(topic.get(sid, "(unknown)") for sid in (r["lineage"]["seed_ids"][0] for r in final
                                                                 if r["lineage"]["seed_ids"]))
    most = max(rows_per.values(), default=1)
    parts.append(table(["topic", "seeds", "rows led", ""],
                       [[t, n, rows_per.get(t, 0), bar(rows_per.get(t, 0), most)] for t, n in seeds_per.most_common()],
                       {1, 2}))
    return f'<div class="split"><div>{"".join(parts)}</div><div>{"".join(right)}</div></div>'


# ---- judges ------------------------------------------------------------------------------------

def _scalars(obj: dict, prefix: str = "") -> list[list]:
    """Numbers, strings and booleans of a (nested) dict as rows of key, value."""
    rows = []
    for k, v in obj.items():
        if isinstance(v, dict):
            rows += _scalars(v, f"{prefix}{k}.")
        elif isinstance(v, (int, float, str, bool)) or v is None:
            rows.append([f"{prefix}{k}", v])
    return rows


def judge_human(run: Run) -> tuple[dict, list[tuple[float, bool]]] | None:
    """Agreement as the review package measures it (judge kept = reached judge/sft.jsonl; reviewer
    kept = accepted), and (judge score, reviewer accepted) per reviewed row; None without both."""
    from seedfactory.publish import review_summary

    items = run.review_items()
    if items is None or not run.stage("judge"):
        return None
    scored = [(i["judge_score"], i["status"] == "accepted") for i in items
              if i["status"] != "pending" and i["judge_score"] is not None]
    return review_summary(run.path)["agreement"], scored


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
        parts.append(table(["measure", "value"], _scalars(cal)))
    else:
        parts.append(missing("No self-test on the seeds in this run (judge/calibration.json absent)."))
    parts.append("<h3>Preference pairs</h3>")
    pairs = run.jsonl("judge/pairs.jsonl")
    if pairs:
        longer = sum(len(p["chosen"]) > len(p["rejected"]) for p in pairs)
        lo, hi = wilson(longer, len(pairs))
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
            got = [_example_value(a[f"{sysname}_score"]) for a in answers if f"{sysname}_score" in a]
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

        def kappa(k: dict) -> str:
            return "undefined (one side gave one answer only)" if k["kappa"] is None else f"{k['kappa']:.2f}"

        rows = [["reviewed rows", judge_vs["n"]],
                ["judge stage and reviewers agree (kept vs accepted)", f"{judge_vs['agree']:.0%}"],
                ["Cohen's kappa, judge vs reviewers", kappa(judge_vs)],
                ["Cohen's kappa between two reviewers of a row", kappa(between) if between["n"] else "no overlap rows"]]
        for label, want in (("mean judge score, rows reviewers accepted", True),
                            ("mean judge score, rows rejected or edited", False)):
            got = [sc for sc, ok in scored if ok is want]
            rows.append([label, f"{np.mean(got):.2f} (n={len(got)})" if got else "-"])
        parts.append(table(["measure", "value"], rows))
    return "".join(parts)


# ---- review ------------------------------------------------------------------------------------

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
        lo, hi = wilson(rejected, reviewed)
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


# ---- training ----------------------------------------------------------------------------------

def _curve(stats: dict, key: str) -> list[tuple[float, float]]:
    return [(c["step"], c[key]) for c in stats.get("curve", []) if c.get(key) is not None]


def training(run: Run) -> str:
    ts = run.stage("train")
    if not ts:
        return missing("The student has not been trained yet.")
    sft, dpo = ts.get("sft", {}), ts.get("dpo", {})
    rows = [["SFT", sft.get("rows"), sft.get("steps"), sft.get("first_loss"), sft.get("last_loss"), sft.get("seconds")]]
    skipped = f"<p>DPO skipped: {escape(str(dpo['skipped']))}</p>" if "skipped" in dpo else ""
    if not skipped:
        rows.append(["DPO", dpo.get("rows"), dpo.get("steps"), dpo.get("first_loss"), dpo.get("last_loss"),
                     dpo.get("seconds")])
    parts = [table(["step", "rows / pairs", "steps", "first loss", "last loss", "seconds"], rows, {1, 2, 3, 4, 5}),
             skipped]
    ready = ts.get("dpo_readiness")
    if isinstance(ready, dict):
        parts.append("<h3>DPO readiness</h3>" + table(["measure", "value"], _scalars(ready)))
    charts = []
    if _curve(sft, "loss"):
        charts.append(line_chart({"SFT loss": _curve(sft, "loss")}, xlabel="step", ylabel="loss"))
    if _curve(dpo, "loss"):
        charts.append(line_chart({"DPO loss": _curve(dpo, "loss"), "reward margin": _curve(dpo, "margin"),
                                  "reward accuracy": _curve(dpo, "accuracy")}, xlabel="step", ylabel="value"))
    parts.append(f'<div class="grid">{"".join(charts)}</div>' if charts
                 else missing("No per-step losses in train/stats.json (trained before curves were logged)."))
    return "".join(parts)


# ---- evaluation ----------------------------------------------------------------------------------

def _example_value(score: float | dict) -> float:
    """One example's share of the metric: a win rate's 0 / 0.5 / 1, or the per-example record
    evaluation writes (`field_match` for JSON answers, `score` for judged ones)."""
    if isinstance(score, dict):
        return float(score.get("field_match", score.get("score", 0.0)))
    return float(score)


def _interval(e: dict, per: list[float]) -> str:
    """eval.json's 95% interval, or one bootstrapped from the per-example scores (older runs)."""
    from seedfactory.train.evaluate import bootstrap_ci

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
        per = [_example_value(a[f"{s}_score"]) for a in answers if a.get(f"{s}_score") is not None]
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
    parts.append(missing("No learning curve (score against training-set size) in this run."))
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


# ---- samples -----------------------------------------------------------------------------------

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


SECTIONS = [
    ("funnel", "Funnel", funnel),
    ("diversity", "Diversity", diversity),
    ("judges", "Judges", judges),
    ("review", "Review", review),
    ("training", "Training", training),
    ("eval", "Evaluation", evaluation),
    ("samples", "Samples", samples),
]
