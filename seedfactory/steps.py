"""The stages of a run, in order. Each reads the previous stage's files from the run directory,
writes its own, records rejects on the context and returns its counts for the funnel.

The work itself lives in the stage packages (generators, validators, judges, review, train);
this file is the glue that says which file feeds which function.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from seedfactory.context import RunContext
from seedfactory.rundir import read_jsonl, write_json, write_jsonl
from seedfactory.schemas import Example, JudgeVerdict, PreferencePair, SeedExample, load_schema, load_seeds
from seedfactory.schemas.seedfile import SeedFileError, schema_next_to


def split(ctx: RunContext) -> dict:
    """Hold out part of the seeds for evaluation and decontamination."""
    from seedfactory.seeds import resolve_seed_path

    cfg = ctx.cfg.seeds
    path = resolve_seed_path(cfg.path)
    schema_file = Path(cfg.schema_path) if cfg.schema_path else schema_next_to(path)
    schema = load_schema(schema_file) if schema_file else None
    seeds = load_seeds(path, schema)
    order = list(seeds)
    random.Random(ctx.cfg.seed).shuffle(order)
    n_hold = max(1, round(len(order) * cfg.holdout))
    heldout, train = order[:n_hold], order[n_hold:]
    if len(train) < cfg.min_train:
        raise SeedFileError(f"{path}: {len(seeds)} seeds leave {len(train)} for prompts after holding out "
                            f"{n_hold}; need seeds.min_train={cfg.min_train} (add seeds or lower seeds.holdout)")
    write_jsonl(ctx.stage_dir / "train.jsonl", train)
    write_jsonl(ctx.stage_dir / "heldout.jsonl", heldout)
    write_json(ctx.stage_dir / "source.json", {"seeds": str(path), "schema": str(schema_file) if schema_file else None})
    if schema is not None:
        write_json(ctx.stage_dir / "schema.json", schema)
    return {"in": len(seeds), "out": len(train), "heldout": len(heldout)}


def load_split(ctx: RunContext) -> None:
    d = ctx.out / "split"
    ctx.train_seeds = list(read_jsonl(d / "train.jsonl", SeedExample))
    ctx.heldout = list(read_jsonl(d / "heldout.jsonl", SeedExample))
    ctx.output_schema = load_schema(d / "schema.json") if (d / "schema.json").is_file() else None


def generate(ctx: RunContext) -> dict:
    """Self-Instruct: new tasks from few-shot seed prompts, then several answers per task."""
    from seedfactory.generators import self_instruct as si

    cfg, teacher = ctx.cfg.generate, ctx.cfg.teacher
    backend = ctx.backend(teacher)
    before = backend.stats()

    def reject(row_id, reason, detail):
        ctx.reject(row_id, reason, detail=detail)

    def batched(reqs):
        results = []
        for start in ctx.progress(range(0, len(reqs), cfg.batch_size), desc="generate: batches"):
            results += backend.generate(reqs[start:start + cfg.batch_size])
        return results

    task_pairs = si.task_requests(ctx.train_seeds, teacher, cfg, ctx.cfg.seed)
    drafts = si.parse_tasks(task_pairs, batched([r for r, _ in task_pairs]), reject)
    write_jsonl(ctx.stage_dir / "tasks.jsonl", drafts)
    resp_pairs = si.response_requests(drafts, ctx.train_seeds, teacher, cfg, ctx.output_schema, ctx.cfg.seed)
    rows = list(si.parse_responses(resp_pairs, batched([r for r, _ in resp_pairs]), backend.name,
                                   ctx.output_schema, reject))
    write_jsonl(ctx.stage_dir / "candidates.jsonl", rows)

    # The teacher answers the held-out prompts too (its engine is warm now): the eval baseline.
    hreqs = si.reference_requests(ctx.heldout, ctx.train_seeds[: cfg.shots], teacher, ctx.output_schema)
    hres = backend.generate(hreqs)
    write_jsonl(ctx.stage_dir / "heldout_teacher.jsonl",
                [{"id": s.id, "answer": r.text, "error": r.error} for s, r in zip(ctx.heldout, hres)])
    return {"in": len(ctx.train_seeds), "tasks_requested": len(task_pairs), "tasks": len(drafts),
            "out": len(rows), **backend.stats(since=before)}


def validate(ctx: RunContext) -> dict:
    """Schema and heuristic filters, exact dedup, decontamination, near-dup, embedding diversity."""
    from seedfactory.validators import VALIDATORS

    rows = list(read_jsonl(ctx.out / "generate" / "candidates.jsonl", Example))
    stream = iter(rows)
    for step in VALIDATORS:
        stream = step(stream, ctx)
    kept = list(ctx.progress(stream, total=len(rows), desc="validate"))
    write_jsonl(ctx.stage_dir / "kept.jsonl", kept)
    return {"in": len(rows), "out": len(kept), "prompts": len({r.prompt_id for r in kept})}


def judge(ctx: RunContext) -> dict:
    """Rubric score per row; rows below `judge.min_score` or unjudgeable leave; best/worst pairs."""
    from seedfactory.judges import best_worst_pairs, judge_rows

    rows = list(read_jsonl(ctx.out / "validate" / "kept.jsonl", Example))
    backend = ctx.backend(ctx.cfg.judge.model)
    before = backend.stats()
    note = ("\nThe response must be a JSON object following the task's schema." if ctx.output_schema else "")
    verdicts = judge_rows(rows, backend, ctx.cfg.judge.model, schema_note=note, progress=ctx.progress)
    write_jsonl(ctx.stage_dir / "verdicts.jsonl", verdicts)
    by_id = {v.example_id: v for v in verdicts}
    scored = []
    for r in rows:
        v = by_id[r.id]
        if v.error is not None:
            ctx.reject(r, "judge_error", detail=f"{v.error} | raw: {v.raw[:300]}")
        else:
            scored.append(r.model_copy(update={"scores": {**r.scores, "judge": v.score}}))
    cutoff = score_cutoff([r.scores["judge"] for r in scored], ctx.cfg.judge.min_score, ctx.cfg.judge.drop_fraction)
    sft = []
    for r in scored:
        if r.scores["judge"] < cutoff:
            ctx.reject(r, "low_judge_score", score=r.scores["judge"],
                       detail=f"below {cutoff:.3f} | {by_id[r.id].rationale}")
        else:
            sft.append(r)
    pairs = best_worst_pairs(scored, by_id, ctx.cfg.judge.min_margin,
                             reject_group=lambda pid, reason, detail: ctx.count(f"no_pair.{reason}"))
    write_jsonl(ctx.stage_dir / "scored.jsonl", scored)
    write_jsonl(ctx.stage_dir / "sft.jsonl", sft)
    write_jsonl(ctx.stage_dir / "pairs.jsonl", pairs)
    ctx.close_backends()  # free the engine's memory and threads before training
    errors = sum(v.error is not None for v in verdicts)
    return {"in": len(rows), "out": len(sft), "judge_errors": errors, "pairs": len(pairs), "cutoff": cutoff,
            "mean_score": round(sum(r.scores["judge"] for r in scored) / len(scored), 3) if scored else None,
            **backend.stats(since=before)}


def score_cutoff(scores: list[float], min_score: float, drop_fraction: float) -> float:
    """The lowest score kept: `min_score`, raised to the `drop_fraction` quantile of the scores."""
    ordered = sorted(scores)
    k = int(len(ordered) * drop_fraction)
    return max(min_score, ordered[k]) if ordered and k else min_score


def review(ctx: RunContext) -> dict:
    """Sample rows into the human review queue (SQLite); a later step serves it as a web page."""
    from seedfactory.review import ReviewStore, sample_for_review

    rows = list(read_jsonl(ctx.out / "judge" / "scored.jsonl", Example))
    scores = {r.id: r.scores["judge"] for r in rows}
    sample = sample_for_review(rows, scores, ctx.cfg.review.sample_size, ctx.cfg.seed)
    with ReviewStore(ctx.stage_dir / "queue.sqlite") as store:
        store.add(sample, scores)
        counts = store.counts()
    write_jsonl(ctx.stage_dir / "sample.jsonl", [{"id": r.id} for r in sample])
    return {"in": len(rows), "out": len(rows), "queued": len(sample), "queue": counts}


def publish(ctx: RunContext) -> dict:
    """A Hugging Face DatasetDict (sft, preference) with lineage, written then renamed into place."""
    from seedfactory.publish import build_dataset

    sft = list(read_jsonl(ctx.out / "judge" / "sft.jsonl", Example))
    pairs = list(read_jsonl(ctx.out / "judge" / "pairs.jsonl", PreferencePair))
    verdicts = {v.example_id: v for v in read_jsonl(ctx.out / "judge" / "verdicts.jsonl", JudgeVerdict)}
    counts = build_dataset(ctx, sft, pairs, verdicts, ctx.out / "dataset")
    return {"in": len(sft), "out": counts["sft"], "preference": counts["preference"], **counts}


def train(ctx: RunContext) -> dict:
    """LoRA SFT of the student on the sft split, then DPO on the preference split."""
    from datasets import load_from_disk

    from seedfactory.models import resolve_model
    from seedfactory.train.data import dpo_records, sft_records
    from seedfactory.train.dpo import train_dpo
    from seedfactory.train.sft import train_sft

    ds = load_from_disk(str(ctx.out / "dataset"))
    sft_rows = [Example.model_validate_json(j) for j in ds["sft"]["record"]]
    pairs = [PreferencePair.model_validate_json(j) for j in ds["preference"]["record"]]
    if not sft_rows:
        raise RuntimeError("no rows survived to the sft split; see rejects.jsonl for why")
    model_dir = resolve_model(ctx.cfg.train.student)
    stats = {"in": len(sft_rows), "out": len(sft_rows), "student": ctx.cfg.train.student}
    stats["sft"] = train_sft(model_dir, sft_records(sft_rows), ctx.out / "adapter_sft", ctx.cfg.train,
                             ctx.cfg.seed, progress=ctx.show_progress)
    final = ctx.out / "adapter"
    if pairs and ctx.cfg.train.dpo_steps > 0:
        stats["dpo"] = train_dpo(model_dir, ctx.out / "adapter_sft", dpo_records(pairs), final, ctx.cfg.train,
                                 ctx.cfg.seed, progress=ctx.show_progress)
    else:
        why = "no preference pairs" if not pairs else "train.dpo_steps=0"
        stats["dpo"] = {"skipped": why}
        tmp = final.with_name("adapter.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(ctx.out / "adapter_sft", tmp)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    return stats


def evaluate(ctx: RunContext) -> dict:
    from seedfactory.evaluation import evaluate_run

    return evaluate_run(ctx)


# name -> (function, config sections whose change makes the stage run again)
STAGES = {
    "split": (split, ["seed", "seeds"]),
    "generate": (generate, ["teacher", "generate"]),
    "validate": (validate, ["validate"]),
    "judge": (judge, ["judge"]),
    "review": (review, ["review"]),
    "publish": (publish, []),
    "train": (train, ["train"]),
    "evaluate": (evaluate, ["eval"]),
}
