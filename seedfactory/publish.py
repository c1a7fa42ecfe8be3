"""Publish: the kept rows as a Hugging Face DatasetDict with a dataset card.

Splits: `sft` (rows that passed every filter and the judge), `preference` (prompt, chosen,
rejected). Each row carries its lineage (seeds, teacher, request, judge score and rationale) and
the whole record as JSON in `record`, so nothing is lost on the way to and from Arrow. Human
review verdicts already in the queue are applied: rejected rows leave, edited outputs replace
the teacher's. The folder is written beside the target and renamed into place.
"""

from __future__ import annotations

import json
from pathlib import Path

from seedfactory.context import RunContext
from seedfactory.schemas import Example, JudgeVerdict, PreferencePair
from seedfactory.util.files import atomic_dir, read_json


def _apply_review(ctx: RunContext, rows: list[Example]) -> list[Example]:
    queue = ctx.out / "review" / "queue.sqlite"
    if not queue.is_file():
        return rows
    from seedfactory.review import ReviewStore

    with ReviewStore(queue) as store:
        verdicts = store.verdicts()
    out = []
    for r in rows:
        v = verdicts.get(r.id)
        if v and v["status"] == "rejected":
            ctx.rejects(r, "review_rejected", detail=v.get("note"))
            continue
        if v and v["status"] == "edited":
            r = r.model_copy(update={"output": v["edited_output"]})
            ctx.count("review_edited")
        out.append(r)
    return out


def sft_row(r: Example, v: JudgeVerdict | None) -> dict:
    return {
        "id": r.id, "prompt_id": r.prompt_id, "instruction": r.instruction, "input": r.input,
        "output": r.output_text, "prompt": r.prompt,
        "messages": [{"role": "user", "content": r.prompt}, {"role": "assistant", "content": r.output_text}],
        "seed_ids": r.lineage.seed_ids, "strategy": r.lineage.strategy, "teacher": r.lineage.teacher,
        "request_key": r.lineage.request_key, "judge_score": r.scores.get("judge"),
        "judge_rationale": v.rationale if v else "", "record": r.model_dump_json(),
    }


def pair_row(p: PreferencePair) -> dict:
    return {"id": p.id, "prompt_id": p.prompt_id, "prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected,
            "chosen_id": p.chosen_id, "rejected_id": p.rejected_id, "margin": p.margin, "source": p.source,
            "record": p.model_dump_json()}


def build_dataset(ctx: RunContext, sft: list[Example], pairs: list[PreferencePair],
                  verdicts: dict[str, JudgeVerdict], target: Path) -> dict:
    from datasets import Dataset, DatasetDict, Features, Sequence, Value

    sft = _apply_review(ctx, sft)
    dropped = ctx.rejects.ids()
    pairs = [p for p in pairs if p.chosen_id not in dropped and p.rejected_id not in dropped]
    sft_features = Features({
        "id": Value("string"), "prompt_id": Value("string"), "instruction": Value("string"),
        "input": Value("string"), "output": Value("string"), "prompt": Value("string"),
        "messages": [{"role": Value("string"), "content": Value("string")}],
        "seed_ids": Sequence(Value("string")), "strategy": Value("string"), "teacher": Value("string"),
        "request_key": Value("string"), "judge_score": Value("float64"), "judge_rationale": Value("string"),
        "record": Value("string")})
    pair_features = Features({k: Value("float64" if k == "margin" else "string") for k in
                              ["id", "prompt_id", "prompt", "chosen", "rejected", "chosen_id", "rejected_id",
                               "margin", "source", "record"]})
    def table(rows: list[dict], features) -> Dataset:
        # from_list([]) cannot see the columns; an empty split still has them
        return Dataset.from_dict({k: [r[k] for r in rows] for k in features}, features=features)

    dd = DatasetDict({
        "sft": table([sft_row(r, verdicts.get(r.id)) for r in sft], sft_features),
        "preference": table([pair_row(p) for p in pairs], pair_features),
    })
    with atomic_dir(target) as tmp:
        dd.save_to_disk(str(tmp))
        (tmp / "README.md").write_text(dataset_card(ctx, len(sft), len(pairs)), encoding="utf-8")
    return {"sft": len(sft), "preference": len(pairs)}


def dataset_card(ctx: RunContext, n_sft: int, n_pairs: int) -> str:
    funnel = []
    stats_path = ctx.out / "stats.json"
    if stats_path.is_file():
        for name, st in read_json(stats_path).get("stages", {}).items():
            funnel.append(f"| {name} | {st.get('in', '')} | {st.get('out', '')} | "
                          f"{json.dumps(st.get('rejected', {}))} |")
    source = read_json(ctx.out / "split" / "source.json")
    return "\n".join([
        "---", "license: other", "task_categories: [text-generation]", "tags: [synthetic, seedfactory]", "---",
        "# Synthetic dataset made by seedfactory", "",
        f"Seeds: `{source['seeds']}`; output schema: `{source['schema']}`.",
        f"Teacher: `{ctx.cfg.teacher.model}` ({ctx.cfg.teacher.backend}); judge: `{ctx.cfg.judge.model.model}`.", "",
        f"- `sft`: {n_sft} rows (instruction, input, output, chat `messages`, lineage, judge score)",
        f"- `preference`: {n_pairs} pairs (prompt, chosen, rejected, margin)", "",
        "Each row's `record` column holds the full record as JSON, including the raw teacher completion,",
        "the request key in the run's cache and the sampling parameters.", "",
        "## Funnel (rows in and out of each stage before this one)", "",
        "| stage | in | out | rejected by reason |", "|---|---|---|---|", *funnel, "",
        "Every dropped row is in the run's `rejects.jsonl` with its stage and reason.", "",
    ])
