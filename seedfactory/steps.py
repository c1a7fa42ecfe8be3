"""The stages of a run, in order. Each reads the previous stage's files from the run directory,
writes its own, records rejects on the context and returns its counts for the funnel.

The work itself lives in the stage packages (generators, validators, judges, review, train);
this file is the glue that says which file feeds which function.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seedfactory.context import RunContext
from seedfactory.schemas import Example, JudgeVerdict, PreferencePair, load_schema, load_seeds
from seedfactory.schemas.seedfile import SeedFileError, schema_next_to
from seedfactory.util.files import atomic_dir, read_jsonl, write_json, write_jsonl


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


def generate(ctx: RunContext) -> dict:
    """Self-Instruct: new tasks from few-shot seed prompts, then several answers per task."""
    from seedfactory.generators import self_instruct as si

    cfg, teacher = ctx.cfg.generate, ctx.cfg.teacher
    backend = ctx.backend(teacher)
    before = backend.stats()

    def batched(reqs):
        results = []
        for start in ctx.progress(range(0, len(reqs), cfg.batch_size), desc="generate: batches"):
            results += backend.generate(reqs[start:start + cfg.batch_size])
        return results

    seeds, schema = ctx.train_seeds, ctx.output_schema
    task_pairs = si.task_requests(seeds, teacher, cfg, ctx.cfg.seed)
    drafts = si.parse_tasks(task_pairs, batched([r for r, _ in task_pairs]), ctx.rejects)
    write_jsonl(ctx.stage_dir / "tasks.jsonl", drafts)
    resp_pairs = si.response_requests(drafts, seeds, teacher, cfg, schema, ctx.cfg.seed)
    rows = list(si.parse_responses(resp_pairs, batched([r for r, _ in resp_pairs]), backend.name,
                                   schema, ctx.rejects))
    write_jsonl(ctx.stage_dir / "candidates.jsonl", rows)
    return {"in": len(seeds), "tasks_requested": len(task_pairs), "tasks": len(drafts),
            "out": len(rows), **backend.stats(since=before)}


def baseline(ctx: RunContext) -> dict:
    """The teacher answers the evaluation prompts greedily, in its few-shot generation format: the
    score the student is measured against. Runs while the teacher's engine is warm."""
    from seedfactory.generators.self_instruct import reference_requests

    teacher, held = ctx.cfg.teacher, ctx.heldout
    backend = ctx.backend(teacher)
    before = backend.stats()
    reqs = reference_requests(held, ctx.train_seeds[: ctx.cfg.generate.shots], teacher, ctx.output_schema)
    results = backend.generate(reqs)
    write_jsonl(ctx.stage_dir / "answers.jsonl",
                [{"id": s.id, "answer": r.text, "error": r.error} for s, r in zip(held, results)])
    return {"in": len(held), "out": sum(r.error is None for r in results), **backend.stats(since=before)}


def validate(ctx: RunContext) -> dict:
    """Schema and heuristic filters, exact dedup, decontamination, near-dup, embedding diversity."""
    from seedfactory.validators import VALIDATORS, ValidationEnv

    rows = list(read_jsonl(ctx.out / "generate" / "candidates.jsonl", Example))
    env = ValidationEnv(cfg=ctx.cfg.validate_, reject=ctx.rejects, train_seeds=ctx.train_seeds,
                        heldout=ctx.heldout, output_schema=ctx.output_schema, embedder=ctx.embedder)
    stream = iter(rows)
    for step in VALIDATORS:
        stream = step(stream, env)
    kept = list(ctx.progress(stream, total=len(rows), desc="validate"))
    write_jsonl(ctx.stage_dir / "kept.jsonl", kept)
    return {"in": len(rows), "out": len(kept), "prompts": len({r.prompt_id for r in kept})}


def judge(ctx: RunContext) -> dict:
    """Rubric score per row; rows below `judge.min_score` or unjudgeable leave; best/worst pairs."""
    from seedfactory.judges import best_worst_pairs, judge_rows, score_cutoff

    rows = list(read_jsonl(ctx.out / "validate" / "kept.jsonl", Example))
    backend = ctx.backend(ctx.cfg.judge.model)
    before = backend.stats()
    verdicts = judge_rows(rows, backend, ctx.cfg.judge.model, output_schema=ctx.output_schema,
                          progress=ctx.progress)
    write_jsonl(ctx.stage_dir / "verdicts.jsonl", verdicts)
    by_id = {v.example_id: v for v in verdicts}
    scored = []
    for r in rows:
        v = by_id[r.id]
        if v.error is not None:
            ctx.rejects(r, "judge_error", detail=f"{v.error} | raw: {v.raw[:300]}")
        else:
            scored.append(r.model_copy(update={"scores": {**r.scores, "judge": v.score}}))
    cutoff = score_cutoff([r.scores["judge"] for r in scored], ctx.cfg.judge.min_score, ctx.cfg.judge.drop_fraction)
    sft = []
    for r in scored:
        if r.scores["judge"] < cutoff:
            ctx.rejects(r, "low_judge_score", score=r.scores["judge"],
                       detail=f"below {cutoff:.3f} | {by_id[r.id].rationale}")
        else:
            sft.append(r)
    pairs, no_pair = best_worst_pairs(scored, by_id, ctx.cfg.judge.min_margin)
    for reason, n in no_pair.items():
        ctx.count(f"no_pair.{reason}", n)
    write_jsonl(ctx.stage_dir / "scored.jsonl", scored)
    write_jsonl(ctx.stage_dir / "sft.jsonl", sft)
    write_jsonl(ctx.stage_dir / "pairs.jsonl", pairs)
    errors = sum(v.error is not None for v in verdicts)
    return {"in": len(rows), "out": len(sft), "judge_errors": errors, "pairs": len(pairs), "cutoff": cutoff,
            "mean_score": round(sum(r.scores["judge"] for r in scored) / len(scored), 3) if scored else None,
            **backend.stats(since=before)}


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

    from seedfactory.train.data import dpo_records, sft_records
    from seedfactory.train.dpo import train_dpo
    from seedfactory.train.sft import train_sft
    from seedfactory.util.models import resolve_model

    ds = load_from_disk(str(ctx.out / "dataset"))
    sft_rows = [Example.model_validate_json(j) for j in ds["sft"]["record"]]
    pairs = [PreferencePair.model_validate_json(j) for j in ds["preference"]["record"]]
    if not sft_rows:
        raise RuntimeError("no rows survived to the sft split; see rejects.jsonl for why")
    model_dir = resolve_model(ctx.cfg.train.student)
    stats = {"in": len(sft_rows), "out": len(sft_rows), "student": ctx.cfg.train.student}
    stats["sft"] = train_sft(model_dir, sft_records(sft_rows), ctx.out / "adapter_sft", ctx.cfg.train,
                             ctx.cfg.seed, progress=ctx.progress)
    final = ctx.out / "adapter"
    if pairs and ctx.cfg.train.dpo_steps > 0:
        stats["dpo"] = train_dpo(model_dir, ctx.out / "adapter_sft", dpo_records(pairs), final, ctx.cfg.train,
                                 ctx.cfg.seed, progress=ctx.progress)
    else:
        why = "no preference pairs" if not pairs else "train.dpo_steps=0"
        stats["dpo"] = {"skipped": why}
        with atomic_dir(final) as tmp:
            shutil.copytree(ctx.out / "adapter_sft", tmp, dirs_exist_ok=True)
    return stats


def evaluate(ctx: RunContext) -> dict:
    from seedfactory.evaluation import evaluate_run

    return evaluate_run(ctx)


@dataclass(frozen=True)
class Stage:
    fn: Callable[[RunContext], dict]
    sections: list[str]  # config sections whose change makes the stage run again
    after: list[str] = field(default_factory=list)  # stages whose files it reads
    alone: bool = False  # wants the machine to itself: the runner frees model engines first
    inputs: Callable[[RunContext], object] | None = None  # what else it reads, hashed into its fingerprint


def seed_inputs(ctx: RunContext) -> dict:
    """The seed file's and schema's contents: editing a seed reruns the split and what follows."""
    from seedfactory.seeds import resolve_seed_path
    from seedfactory.util.files import file_digest

    try:
        path = resolve_seed_path(ctx.cfg.seeds.path)
    except SeedFileError:
        return {"seeds": None}  # the split stage reports it
    schema = Path(ctx.cfg.seeds.schema_path) if ctx.cfg.seeds.schema_path else schema_next_to(path)
    return {"seeds": file_digest(path), "schema": file_digest(schema) if schema and schema.is_file() else None}


def review_inputs(ctx: RunContext) -> dict:
    """The reviewers' verdicts so far: a new verdict reruns publish, train and evaluate."""
    from seedfactory.review import ReviewStore
    from seedfactory.schemas import stable_hash

    queue = ctx.out / "review" / "queue.sqlite"
    if not queue.is_file():
        return {"verdicts": None}
    with ReviewStore(queue) as store:
        return {"verdicts": stable_hash(store.verdicts(), n=32)}


STAGES = {
    "split": Stage(split, ["seed", "seeds"], inputs=seed_inputs),
    "generate": Stage(generate, ["teacher", "generate"], after=["split"]),
    "baseline": Stage(baseline, ["teacher", "eval"], after=["split"]),
    "validate": Stage(validate, ["validate"], after=["split", "generate"]),
    "judge": Stage(judge, ["judge"], after=["split", "validate"]),
    "review": Stage(review, ["review"], after=["judge"]),
    "publish": Stage(publish, [], after=["split", "judge", "review"], inputs=review_inputs),
    "train": Stage(train, ["train"], after=["publish"], alone=True),
    "evaluate": Stage(evaluate, ["eval", "judge"], after=["split", "train", "baseline"]),
}
