"""Publish: the kept rows as a Hugging Face DatasetDict with a dataset card.

Splits: `sft` (rows that passed every filter and the judge), `preference` (prompt, chosen,
rejected; `chosen_below_cutoff` marks a chosen answer the judge's cut-off kept out of
`sft`). Each row carries its lineage (seeds, teacher, request, judge score and rationale) and
the whole record as JSON in `record`, so nothing is lost on the way to and from Arrow. Human
review verdicts already in the queue are applied: rejected rows leave (reject reason `review`),
edited outputs replace the teacher's (lineage keeps the original) and each edit becomes a `review`
preference pair placed first; reviewed rows are marked in a `review` column. Review counts and
Cohen's kappa (judge vs reviewers, reviewer vs reviewer) go to the stage stats and the dataset
card. The folder is written beside the target and renamed into place.

The card (`dataset/README.md`) is written here and rewritten by `refresh_card` whenever the run
report is built (end of every run, `seedfactory report`): evaluation comes after publish, and
review verdicts can arrive any time, so the card's results sections follow the run directory.
"""

from __future__ import annotations

import json
from pathlib import Path

from seedfactory.context import RunContext
from seedfactory.schemas import (
    Example,
    JudgeVerdict,
    Output,
    PreferencePair,
    lineage_counts,
    output_text,
    stable_hash,
    student_turns,
)
from seedfactory.util.files import atomic_dir, read_json
from seedfactory.util.stats import format_kappa, wilson_interval


class Reviewed:
    """The queue's verdicts as publish applies them: rows kept, review pairs, counts, agreement."""

    def __init__(self, ctx: RunContext, rows: list[Example]):
        self.status: dict[str, str] = {}
        self.reviewer: dict[str, str] = {}
        self.pairs: list[PreferencePair] = []
        self.rejected: set[str] = set()
        self.summary: dict = {}
        self.rows = self._apply(ctx, rows)

    def _apply(self, ctx: RunContext, rows: list[Example]) -> list[Example]:
        queue = ctx.out / "review" / "queue.sqlite"
        if not queue.is_file():
            return rows
        from seedfactory.review import ReviewStore, agreement

        with ReviewStore(queue) as store:
            verdicts, reviews, counts = store.verdicts(), store.reviews(), store.counts()
            queued = {item.id: item.example for item in store.items()}
        judge_kept = {r.id for r in rows}
        self.summary = {"counts": counts, "agreement": agreement(reviews, verdicts, judge_kept)}
        for item_id, v in verdicts.items():
            self.status[item_id], self.reviewer[item_id] = v["status"], v["reviewer"] or ""
            if v["status"] == "edited":  # an edit is a preference, whether or not the judge kept the row
                self.pairs.append(review_pair(queued[item_id], v["edited_output"]))
        out = []
        for r in rows:
            v = verdicts.get(r.id)
            if v and v["status"] == "rejected":
                self.rejected.add(r.id)
                detail = ": ".join(x for x in (v.get("reason"), v.get("note")) if x) or None
                ctx.rejects(r, "review", detail=f"{detail} (reviewer {v['reviewer']})" if v["reviewer"] else detail)
                continue
            if v and v["status"] == "edited":
                lineage = r.lineage.model_copy(update={"original_output": r.output})
                r = r.model_copy(update={"output": v["edited_output"], "lineage": lineage})
                ctx.count("review_edited")
            out.append(r)
        return out


def review_verdicts(out: Path) -> dict | None:
    """The verdicts in the run's review queue (None without a queue); a damaged queue is one error."""
    import sqlite3

    from seedfactory.review import ReviewError, ReviewStore

    queue = out / "review" / "queue.sqlite"
    if not queue.is_file():
        return None
    try:
        with ReviewStore(queue) as store:
            return store.verdicts()
    except sqlite3.DatabaseError as e:
        raise ReviewError(f"{queue}: damaged review queue ({e}); restore it, or delete it to sample a new "
                          "queue (its verdicts are lost)") from None


def review_pair(original: Example, edited: Output) -> PreferencePair:
    """A reviewer's edit as a preference: the edited output chosen over the original."""
    return PreferencePair(
        id=stable_hash(["review", original.id]), prompt_id=original.prompt_id, prompt=original.prompt,
        chosen=output_text(edited), rejected=original.output_text, chosen_id=f"{original.id}#edited",
        rejected_id=original.id, margin=0.0, source="review", history=original.history)


def sft_row(r: Example, v: JudgeVerdict | None, review: str = "", reviewer: str = "") -> dict:
    original = r.lineage.original_output
    return {
        "id": r.id, "prompt_id": r.prompt_id, "instruction": r.instruction, "input": r.input,
        "output": r.output_text, "prompt": r.prompt,
        "messages": student_turns(r.history, r.prompt) + [{"role": "assistant", "content": r.output_text}],
        "seed_ids": r.lineage.seed_ids, "strategy": r.lineage.strategy, "topic": r.lineage.topic or "",
        "persona": r.lineage.persona or "", "teacher": r.lineage.teacher,
        "request_key": r.lineage.request_key, "judge_score": r.scores.get("judge"),
        "judge_rationale": v.rationale if v else "", "review": review, "reviewer": reviewer,
        "original_output": "" if original is None else output_text(original), "record": r.model_dump_json(),
    }


def pair_row(p: PreferencePair, below_cutoff: set[str] = frozenset()) -> dict:
    return {"id": p.id, "prompt_id": p.prompt_id, "prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected,
            "chosen_id": p.chosen_id, "rejected_id": p.rejected_id, "margin": p.margin, "source": p.source,
            "chosen_below_cutoff": p.chosen_id in below_cutoff, "record": p.model_dump_json()}


def build_dataset(ctx: RunContext, sft: list[Example], pairs: list[PreferencePair],
                  verdicts: dict[str, JudgeVerdict], target: Path, below_cutoff: set[str] = frozenset()) -> dict:
    """Write the DatasetDict to `target`; `below_cutoff`: ids of rows the judge's cut-off removed
    (the preference split marks pairs whose chosen side is one, for training's readiness check)."""
    from datasets import Dataset, DatasetDict, Features, Sequence, Value

    reviewed = Reviewed(ctx, sft)
    sft = reviewed.rows
    edited = {i for i, st in reviewed.status.items() if st == "edited"}
    # A judge pair stays unless a reviewer turned down or rewrote its chosen side; review pairs go
    # first, and DPO reads the split in order.
    pairs = reviewed.pairs + [p for p in pairs if p.chosen_id not in reviewed.rejected | edited]
    sft_features = Features({
        "id": Value("string"), "prompt_id": Value("string"), "instruction": Value("string"),
        "input": Value("string"), "output": Value("string"), "prompt": Value("string"),
        "messages": [{"role": Value("string"), "content": Value("string")}],
        "seed_ids": Sequence(Value("string")), "strategy": Value("string"), "topic": Value("string"),
        "persona": Value("string"), "teacher": Value("string"),
        "request_key": Value("string"), "judge_score": Value("float64"), "judge_rationale": Value("string"),
        "review": Value("string"), "reviewer": Value("string"), "original_output": Value("string"),
        "record": Value("string")})
    kinds = {"margin": "float64", "chosen_below_cutoff": "bool"}
    pair_features = Features({k: Value(kinds.get(k, "string")) for k in
                              ["id", "prompt_id", "prompt", "chosen", "rejected", "chosen_id", "rejected_id",
                               "margin", "source", "chosen_below_cutoff", "record"]})
    def table(rows: list[dict], features: Features) -> Dataset:  # from_list([]) cannot take features
        return Dataset.from_dict({k: [r[k] for r in rows] for k in features}, features=features)

    dd = DatasetDict({
        "sft": table([sft_row(r, verdicts.get(r.id), reviewed.status.get(r.id, ""), reviewed.reviewer.get(r.id, ""))
                      for r in sft], sft_features),
        "preference": table([pair_row(p, below_cutoff) for p in pairs], pair_features),
    })
    with atomic_dir(target) as tmp:
        dd.save_to_disk(str(tmp), num_shards={k: 1 for k in dd})  # an empty split still gets its file
        card = dataset_card(ctx.out, ctx.cfg.dump(), len(sft), len(pairs), reviewed.summary)
        (tmp / "README.md").write_text(card, encoding="utf-8")
    return {"sft": len(sft), "preference": len(pairs), "review_pairs": len(reviewed.pairs),
            "review_approved_in_sft": sum(reviewed.status.get(r.id) == "accepted" for r in sft),
            "review": reviewed.summary, "kept_by": lineage_counts(sft)}


def review_card(summary: dict) -> list[str]:
    if not summary:
        return ["## Human review", "", "No review queue in this run.", ""]
    c, ag = summary["counts"], summary["agreement"]
    reviewed = c["accepted"] + c["rejected"] + c["edited"]
    defects = []
    if reviewed:
        lo, hi = wilson_interval(c["rejected"], reviewed)
        defects = [f"- Defect rate (rejected among reviewed): {c['rejected'] / reviewed:.1%} "
                   f"(95% Wilson interval {lo:.1%} to {hi:.1%})"]
    return ["## Human review", "",
            f"Queued rows: {sum(c.values())}; approved {c['accepted']}, rejected {c['rejected']}, "
            f"edited {c['edited']}, pending {c['pending']}. Rejected rows left the `sft` split (reject reason "
            "`review`); edited rows replace their original (the `original_output` column keeps it) and each edit "
            "is a `review` preference pair (edited chosen, original rejected). The `review` column marks reviewed "
            "rows.", "", *defects,
            f"- Cohen's kappa, judge keep/drop vs reviewers approve/reject: {format_kappa(ag['judge_vs_reviewers'])}",
            f"- Cohen's kappa between two reviewers of one row: {format_kappa(ag['between_reviewers'])}", ""]


def _size_category(n: int) -> str:
    return "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K" if n < 100_000 else "n>100K"


def dataset_card(out: Path, cfg: dict, n_sft: int, n_pairs: int, review: dict | None = None) -> str:
    """The dataset card (Hugging Face README with a YAML header) from the run directory `out` and
    the run's config tree: lineage, the funnel, and the review and evaluation results known now."""
    funnel = []
    stats_path = out / "stats.json"
    if stats_path.is_file():
        for name, st in read_json(stats_path).get("stages", {}).items():
            funnel.append(f"| {name} | {st.get('in', '')} | {st.get('out', '')} | "
                          f"{json.dumps(st.get('rejected', {}))} |")
    source = read_json(out / "split" / "source.json")
    return "\n".join([
        "---", "license: other", "task_categories: [text-generation]", "tags: [synthetic, seedfactory]",
        f"size_categories: [{_size_category(n_sft)}]", "---",
        "# Synthetic dataset made by seedfactory", "",
        f"Seeds: `{source['seeds']}`; output schema: `{source['schema']}`.",
        f"Teacher: `{cfg['teacher']['model']}` ({cfg['teacher']['backend']}); "
        f"judge: `{cfg['judge']['model']['model']}`.", "",
        f"- `sft`: {n_sft} rows (instruction, input, output, chat `messages`, lineage, judge score)",
        f"- `preference`: {n_pairs} pairs (prompt, chosen, rejected, margin)", "",
        "Each row's `record` column holds the full record as JSON, including the raw teacher completion,",
        "the request key in the run's cache and the sampling parameters.", "",
        "## Funnel (rows in and out of each stage)", "",
        "| stage | in | out | rejected by reason |", "|---|---|---|---|", *funnel, "",
        "Every dropped row is in the run's `rejects.jsonl` with its stage and reason.", "",
        *pool_card(out), *kinds_card(out), *review_card(review or {}), *_eval_results(out, cfg),
    ])


def pool_card(out: Path) -> list[str]:
    """The user's pool (seeds.pool): what was read and what personal data was found and done."""
    from seedfactory.generators.pool import pool_summary

    path, published = out / "pool" / "stats.json", out / "publish" / "stats.json"
    line = pool_summary(read_json(path)) if path.is_file() else None
    pii = read_json(published).get("pii") if published.is_file() else None
    found = ", ".join(f"{k} {n}" for k, n in sorted((pii or {}).get("entities", {}).items())) or "none"
    rows = [f"Published rows with personal data in their input or output: {pii['rows_with_pii']} of {pii['rows']} "
            f"({found})."] if pii else []
    return ["## Pool", "", line, *rows, ""] if line else []


def kinds_card(out: Path) -> list[str]:
    """The output fields' kinds (validate/calibration.json), the evidence for each, and whether its
    grounding check ran (off: the value finder could not read the seeds; `seeds.field_kinds` overrides)."""
    cal = out / "validate" / "calibration.json"
    kinds = read_json(cal).get("kinds") if cal.is_file() else None
    if not kinds:
        return []
    fields = read_json(cal).get("checks", {}).get("ungrounded", {}).get("fields", {})

    def check(name: str) -> str:
        f = fields.get(name)
        return "" if f is None else f"{'on' if f['applied'] else 'OFF'} ({f['seed_pass_rate']:.0%} of seeds)"

    rows = [f"| {n} | {k.get('kind')} | {str(k.get('evidence', '')).replace('|', '/')} | {check(n)} |"
            for n, k in kinds.items()]
    return ["## Field kinds", "", "| field | kind | evidence | grounding check |", "|---|---|---|---|", *rows, ""]


def _eval_results(out: Path, cfg: dict) -> list[str]:
    if not (out / "eval.json").is_file():
        return ["## Evaluation", "", "Not evaluated yet (the card is rewritten when the run's report is built).", ""]
    ev = read_json(out / "eval.json")

    def ci(e: dict) -> str:
        lo_hi = e.get("ci95")
        return f"{lo_hi[0]:.3f} to {lo_hi[1]:.3f}" if lo_hi else "-"

    rows = [f"| {name} | {ev[name].get('metric', '')} | {ev[name].get('value', 0):.3f} | {ci(ev[name])} | "
            f"{ev[name].get('n', '')} |" for name in ("base", "sft", "dpo", "teacher") if name in ev]
    return ["## Evaluation", "",
            f"Cases: {ev.get('eval_source', 'held-out seeds')}. Student `{cfg['train']['student']}` before "
            "training (base), after SFT and after DPO; and the teacher. Intervals: 95% bootstrap over the cases.", "",
            "| system | metric | value | 95% interval | n |", "|---|---|---|---|---|", *rows, "",
            *cost_card(ev.get("cost"))]


def cost_card(cost: dict | None) -> list[str]:
    """The card's cost table (eval.json `cost`): each system's score, speed and weights; a null
    with the reason the run gave for it."""
    if not cost:
        return []

    def cell(v) -> str:
        return "-" if v is None else f"{v:g}" if isinstance(v, (int, float)) else str(v)

    lines = []
    for name, row in cost.get("systems", {}).items():
        weights = (f"{row['weights_mb']:g} MiB" if row.get("weights_mb") is not None
                   else f"- ({row.get('weights') or 'not measured'})")
        if row.get("file_mb") is not None:
            weights += f"; {row['file_mb']:g} MiB file"
        lines.append(f"| {name} | {row.get('runtime', '')} | {cell(row.get('score'))} | "
                     f"{cell(row.get('tokens_per_s'))} | {weights} |")
    machine = cost.get("machine", {})
    return ["## Cost to run", "",
            f"Greedy answers to the evaluation cases on this machine ({machine.get('cpus', '?')} CPUs); metric "
            f"`{cost.get('metric', '')}`. Student weights are as loaded; the teacher's as stored.", "",
            "| system | runtime | score | tokens/s | weights |", "|---|---|---|---|---|", *lines, ""]


def review_summary(out: Path) -> dict:
    """Counts and agreement from the review queue as it is now ({} without a queue); the judge kept
    what reached judge/sft.jsonl, as in `Reviewed`."""
    queue = out / "review" / "queue.sqlite"
    if not queue.is_file():
        return {}
    from seedfactory.review import ReviewStore, agreement
    from seedfactory.util.files import read_jsonl_dicts

    judge_kept = {r["id"] for r in read_jsonl_dicts(out / "judge" / "sft.jsonl")}
    with ReviewStore(queue) as store:
        return {"counts": store.counts(), "agreement": agreement(store.reviews(), store.verdicts(), judge_kept)}


def refresh_card(out: Path) -> bool:
    """Rewrite the published dataset's card with what the run knows now (evaluation and review come
    after publish). Called when the run report is built; False when there is no dataset yet."""
    import yaml

    from seedfactory.util.files import atomic_write_text

    out = Path(out)
    card, counts = out / "dataset" / "README.md", out / "publish" / "stats.json"
    if not card.is_file() or not counts.is_file():
        return False
    cfg = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    st = read_json(counts)
    atomic_write_text(card, dataset_card(out, cfg, st.get("sft", 0), st.get("preference", 0), review_summary(out)))
    return True
