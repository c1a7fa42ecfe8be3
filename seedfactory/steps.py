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
from typing import NamedTuple

from seedfactory.context import RunContext
from seedfactory.schemas import (
    Example,
    JudgeVerdict,
    PreferencePair,
    Reject,
    RunConfig,
    SeedExample,
    lineage_counts,
    load_schema,
    load_seeds,
)
from seedfactory.schemas.config import TrainConfig
from seedfactory.schemas.seedfile import SeedFileError, schema_next_to
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import atomic_dir, read_jsonl, write_json, write_jsonl


def eval_source(cfg: RunConfig, seeds_path: Path) -> Path | None:
    from seedfactory.seeds import eval_file_next_to

    if cfg.eval.path:
        path = Path(cfg.eval.path).expanduser()
        if not path.is_file():
            raise SeedFileError(f"eval.path={cfg.eval.path!r}: no such file")
        return path
    return eval_file_next_to(seeds_path)


class SeedSet(NamedTuple):
    path: Path
    schema_file: Path | None
    schema: dict | None
    seeds: list[SeedExample]
    eval_path: Path | None
    eval_cases: list[SeedExample] | None  # None: the held-out seeds are the evaluation cases


def read_seed_set(cfg: RunConfig) -> SeedSet:
    """The seed file, its schema and the evaluation file, read with `seeds.max_bytes`/`max_depth`
    and checked. The runner calls it before it writes anything, so a bad seed set never touches an
    existing run directory."""
    from seedfactory.seeds import resolve_seed_path

    path = resolve_seed_path(cfg.seeds.path)
    schema_file = Path(cfg.seeds.schema_path) if cfg.seeds.schema_path else schema_next_to(path)
    limits = {"max_bytes": cfg.seeds.max_bytes, "max_depth": cfg.seeds.max_depth}
    schema = load_schema(schema_file, **limits) if schema_file else None
    seeds = load_seeds(path, schema, **limits)
    eval_path = eval_source(cfg, path)
    cases = load_seeds(eval_path, schema, **limits) if eval_path else None
    return SeedSet(path, schema_file, schema, seeds, eval_path, cases)


def split(ctx: RunContext) -> dict:
    """Hold out part of the seeds; read the evaluation cases (the eval file, else the held-out seeds).
    Both are kept from the teacher, and generated rows too close to them leave (decontamination)."""
    cfg = ctx.cfg.seeds
    path, schema_file, schema, seeds, eval_path, cases = read_seed_set(ctx.cfg)
    order = list(seeds)
    random.Random(ctx.cfg.seed).shuffle(order)
    n_hold = max(1, round(len(order) * cfg.holdout))
    heldout, train = order[:n_hold], order[n_hold:]
    if len(train) < cfg.min_train:
        raise SeedFileError(f"{path}: {len(seeds)} seeds leave {len(train)} for prompts after holding out "
                            f"{n_hold}; need seeds.min_train={cfg.min_train} (add seeds or lower seeds.holdout)")
    cases = heldout if cases is None else cases
    write_jsonl(ctx.stage_dir / "train.jsonl", train)
    write_jsonl(ctx.stage_dir / "heldout.jsonl", heldout)
    write_jsonl(ctx.stage_dir / "eval.jsonl", cases)
    write_json(ctx.stage_dir / "source.json", {"seeds": str(path), "schema": str(schema_file) if schema_file else None,
                                               "eval": str(eval_path) if eval_path else "held-out seeds"})
    if schema is not None:
        write_json(ctx.stage_dir / "schema.json", schema)
    return {"in": len(seeds), "out": len(train), "heldout": len(heldout), "eval_cases": len(cases)}


def generate(ctx: RunContext) -> dict:
    """New tasks by the strategy that fits the seeds (or `generate.strategy`), then several sampled
    answers per task; output-first tasks also carry their target as a row."""
    from seedfactory.generators import self_instruct as si
    from seedfactory.generators.evol_instruct import eliminate_responses
    from seedfactory.generators.strategies import choose, strata_personas, write_tasks

    cfg, teacher = ctx.cfg.generate, ctx.cfg.teacher
    backend = ctx.backend(teacher)
    before = backend.stats()

    def batched(reqs):
        results = []
        for start in ctx.progress(range(0, len(reqs), cfg.batch_size), desc="generate: batches"):
            results += backend.generate(reqs[start:start + cfg.batch_size])
        return results

    seeds, schema = ctx.train_seeds, ctx.output_schema
    plan = choose(seeds, schema, cfg.strategy)
    personas = strata_personas(plan, seeds, batched, teacher, cfg, ctx.cfg.seed, ctx.rejects)
    drafts = write_tasks(plan, seeds, schema, batched, teacher, cfg, ctx.cfg.seed, ctx.rejects, personas)
    write_jsonl(ctx.stage_dir / "tasks.jsonl", drafts)
    resp_pairs = si.response_requests(drafts, seeds, teacher, cfg, schema, ctx.cfg.seed)
    rows = si.target_rows(drafts, backend.name)
    rows += si.parse_responses(resp_pairs, batched([r for r, _ in resp_pairs]), backend.name, schema, ctx.rejects)
    rows = eliminate_responses(rows, ctx.rejects)  # Evol-Instruct's answer-side checks
    write_jsonl(ctx.stage_dir / "candidates.jsonl", rows)
    by_strategy: dict[str, int] = {}
    for d in drafts:
        by_strategy[d.strategy] = by_strategy.get(d.strategy, 0) + 1
    rows_by_strategy: dict[str, int] = {}
    for r in rows:
        rows_by_strategy[r.lineage.strategy] = rows_by_strategy.get(r.lineage.strategy, 0) + 1
    return {"in": len(seeds), "strategy": plan, "personas": personas, "tasks": len(drafts),
            "tasks_by_strategy": by_strategy, "rows_by_strategy": rows_by_strategy, "kept_by": lineage_counts(rows),
            "out": len(rows), **backend.stats(since=before)}


def baseline(ctx: RunContext) -> dict:
    """The teacher answers the evaluation prompts greedily, in its few-shot generation format: the
    score the student is measured against. Runs while the teacher's engine is warm."""
    from seedfactory.generators.self_instruct import reference_requests

    teacher, held = ctx.cfg.teacher, ctx.eval_cases
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
    from seedfactory.validators.calibrate import calibrate

    rows = list(read_jsonl(ctx.out / "generate" / "candidates.jsonl", Example))
    from seedfactory.validators.quality import data_quality

    env = ValidationEnv(cfg=ctx.cfg.validate_, reject=ctx.rejects, train_seeds=ctx.train_seeds,
                        heldout=ctx.heldout + ctx.eval_cases, output_schema=ctx.output_schema, embedder=ctx.embedder,
                        field_kinds=ctx.cfg.seeds.field_kinds)
    thresholds = None  # validate.calibrate: near-dup/decontam/diversity thresholds from the seeds
    if ctx.cfg.validate_.calibrate:
        env.cfg, thresholds = calibrate(env)
    stream = iter(rows)
    for step in VALIDATORS:
        stream = step(stream, env)
    kept = list(ctx.progress(stream, total=len(rows), desc="validate"))
    write_jsonl(ctx.stage_dir / "kept.jsonl", kept)
    calibration = env.get_calibration()
    write_json(ctx.stage_dir / "calibration.json", calibration)
    quality = data_quality(kept, ctx.rejects.counts(), calibration, ctx.output_schema)
    stats = {"in": len(rows), "out": len(kept), "prompts": len({r.prompt_id for r in kept}), "quality": quality,
             "kept_by": lineage_counts(kept)}
    return stats | ({"threshold_calibration": thresholds} if thresholds else {})


def grader_check(ctx: RunContext):
    """The grader check with the run's embedder and a note for the stats: its threshold, or why it is off."""
    from seedfactory.judges.addressed import THRESHOLDS, GraderCheck

    if not ctx.cfg.judge.grader_check:
        return None, "off (judge.grader_check=false)"
    name = ctx.cfg.validate_.embedder
    embedder = ctx.embedder()
    if embedder.name not in THRESHOLDS:
        ctx.log(f"judge: no grader check with validate.embedder={name} (no calibrated threshold; minilm has one)")
        return None, f"off (no calibrated threshold for validate.embedder={name})"
    return GraderCheck(embedder), f"on (threshold {THRESHOLDS[embedder.name]})"


def judge(ctx: RunContext) -> dict:
    """Self-test the judge on the seeds; consensus per task picks its SFT row (the target for
    output-first tasks); the judge filters and ranks only if it passed; pairs from the signals that
    passed their checks, confirmed by the pairwise judge in both orders when it is trusted."""
    from seedfactory import judges as J
    from seedfactory.validators.similarity import prompt_groups

    jc, schema = ctx.cfg.judge, ctx.output_schema
    rows = all_rows = list(read_jsonl(ctx.out / "validate" / "kept.jsonl", Example))
    backend = ctx.backend(jc.model)
    before = backend.stats()
    criteria = J.load_criteria(jc.criteria, ctx.seeds_path)
    check, check_note = grader_check(ctx)

    checks = J.check_set(ctx.train_seeds, random.Random(ctx.cfg.seed), jc.self_test_size)
    cal = J.self_test(checks, backend, jc.model, schema, criteria, check=check) if checks else {"auc": None}
    self_test_requests = backend.stats(since=before)  # a fixed cost, whatever the number of rows (--dry-run)
    trusted = cal["auc"] is not None and cal["auc"] >= jc.min_auc
    cal.update(min_auc=jc.min_auc, passed=trusted, judge=jc.model.model)
    write_json(ctx.stage_dir / "calibration.json", cal)
    if not trusted:
        ctx.log(f"judge: {jc.model.model} failed its self-test on the seeds (AUC {cal['auc']} < judge.min_auc="
                f"{jc.min_auc}); it does not filter rows or rank pairs: consensus, schema and grounding decide")

    verdicts = J.judge_rows(rows, backend, jc.model, output_schema=schema, progress=ctx.progress, criteria=criteria,
                            check=check)
    write_jsonl(ctx.stage_dir / "verdicts.jsonl", verdicts)
    scores = {v.example_id: v.score for v in verdicts if v.score is not None}
    # answers that address the grader leave, scored and flagged; they stay pair material (rejected side)
    flagged = {v.example_id: v.flag for v in verdicts if v.flag}
    scored = [r.model_copy(update={"scores": {**r.scores, "judge": scores[r.id], "addressed_grader": 1.0}})
              for r in rows if r.id in flagged]
    for r in scored:
        ctx.rejects(r, "addressed_grader", score=scores[r.id], detail=flagged[r.id])
    rows = [r for r in rows if r.id not in flagged]
    groups = prompt_groups(rows)
    failed: dict[str, list[Example]] = {}  # answers that failed schema or grounding: pair material
    for rj in read_jsonl(ctx.out / "validate" / "rejects.jsonl", Reject):
        if rj.reason in ("schema_invalid", "ungrounded") and rj.row and rj.row["prompt_id"] in groups:
            failed.setdefault(rj.row["prompt_id"], []).append(Example.model_validate(rj.row))
    for r in scored:
        if r.prompt_id in groups:
            failed.setdefault(r.prompt_id, []).append(r)
    embed = None if schema else ctx.embedder().embed
    # a target task's teacher answers that failed validation still count against the target: the
    # teacher's accuracy on its own texts is measured over every answer it gave
    cons = {pid: J.consensus(g + failed.get(pid, []) if any(r.lineage.label == "target" for r in g) else g, embed)
            for pid, g in groups.items()}
    sft = []
    for pid, group in groups.items():
        c = cons[pid]
        for r in group:
            extra = {"consensus": c.per_row.get(r.id, 0.0)} | ({"judge": scores[r.id]} if r.id in scores else {})
            scored.append(r.model_copy(update={"scores": {**r.scores, **extra}}))
        if not c.against_target and c.agreement < jc.min_consensus:
            for r in group:
                ctx.rejects(r, "no_consensus", score=c.agreement,
                            detail=f"answers agree {c.agreement:.2f} < judge.min_consensus={jc.min_consensus}")
            continue
        chosen = next(r for r in scored[-len(group):] if r.id == c.best.id)
        for r in group:
            if r.id != chosen.id:
                ctx.rejects(r, "not_selected", dup_of=chosen.id, detail="another answer of this task was chosen")
        sft.append(chosen)
    cutoff = None
    if trusted:
        cutoff = J.score_cutoff([r.scores["judge"] for r in sft if "judge" in r.scores], jc.min_score,
                                jc.drop_fraction)
        keep = []
        for r in sft:
            if "judge" not in r.scores or r.scores["judge"] < cutoff:
                why = "judge_error" if "judge" not in r.scores else "low_judge_score"
                ctx.rejects(r, why, score=r.scores.get("judge"), detail=f"below {cutoff:.3f}")
            else:
                keep.append(r)
        sft = keep
    pairs, no_pair = J.panel_pairs(groups, failed, cons, scores if trusted else None, jc.min_margin)
    if trusted and pairs:
        both = J.judge_both_orders([(p.prompt, p.chosen, p.rejected) for p in pairs], backend, jc.model)
        no_pair["judge_disagreed"] += sum(v.winner != "a" for v in both)
        pairs = [p for p, v in zip(pairs, both) if v.winner == "a"]
    for reason, n in no_pair.items():
        ctx.count(f"no_pair.{reason}", n)
    write_jsonl(ctx.stage_dir / "scored.jsonl", scored)
    write_jsonl(ctx.stage_dir / "sft.jsonl", sft)
    write_jsonl(ctx.stage_dir / "pairs.jsonl", pairs)
    agreements = [c.agreement for c in cons.values() if not c.against_target]
    teacher_vs_target = [c.agreement for c in cons.values() if c.against_target]
    return {"in": len(all_rows), "out": len(sft), "kept_by": lineage_counts(sft), "pairs": len(pairs), "cutoff": cutoff,
            "judge_trusted": trusted,
            "judge_auc": cal["auc"], "judge_errors": sum(v.error is not None for v in verdicts),
            "consensus_mean": round(sum(agreements) / len(agreements), 3) if agreements else None,
            "teacher_field_accuracy_on_targets":
                round(sum(teacher_vs_target) / len(teacher_vs_target), 3) if teacher_vs_target else None,
            # answers the neutraliser changed before judging: text addressed to the grader (judges/fence.py)
            "responses_neutralised": sum(J.strip_grader_text(r.output_text) != r.output_text for r in all_rows),
            # answers the grader check flagged (judges/addressed.py): worst score, left with reason addressed_grader
            "addressed_grader": len(flagged), "grader_check": check_note,
            "self_test_requests": self_test_requests, **backend.stats(since=before)}


def review(ctx: RunContext) -> dict:
    """Sample rows into the human review queue (SQLite); a later step serves it as a web page."""
    from seedfactory.review import ReviewStore, sample_for_review

    rows = list(read_jsonl(ctx.out / "judge" / "scored.jsonl", Example))
    scores = {r.id: r.scores["judge"] for r in rows if "judge" in r.scores}
    sample = sample_for_review(rows, scores, ctx.cfg.review.sample_size, ctx.cfg.seed)
    with ReviewStore(ctx.stage_dir / "queue.sqlite", schema=ctx.output_schema) as store:
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
    return {"in": len(sft), "out": counts["sft"], **counts}


def review_gate(ctx: RunContext) -> None:
    """Refuse to train on data the reviewers found too defective, or before enough verdicts."""
    from seedfactory.review import ReviewGateError, ReviewStore, gate_message

    cfg = ctx.cfg.review
    if cfg.max_defect_rate is None and cfg.min_reviewed == 0:
        return
    queue = ctx.out / "review" / "queue.sqlite"
    counts = {}
    if queue.is_file():
        with ReviewStore(queue) as store:
            counts = store.counts()
    message = gate_message(counts, cfg.max_defect_rate, cfg.min_reviewed)
    if message:
        raise ReviewGateError(message)


def train(ctx: RunContext) -> dict:
    """LoRA SFT of the student on the sft split, then DPO on the preference split. Checkpoints go
    to train/checkpoints/{sft,dpo} every `train.save_steps`, so a killed run resumes where it was;
    the learning curve (loss per step, held-out score per checkpoint) to train/curve.jsonl.
    With `train.continue_from` the SFT starts from an earlier adapter, on the rows it has not seen
    plus a replay sample (`continual_rows`). Every round is recorded in train/rounds/N/."""
    from seedfactory.train.continual import resolve_start
    from seedfactory.train.data import dpo_records, sft_records
    from seedfactory.train.dpo import train_dpo
    from seedfactory.train.sft import train_sft
    from seedfactory.util.models import resolve_model

    review_gate(ctx)
    sft_rows, pairs, readiness = training_data(ctx)
    cfg = ctx.cfg.train
    model_dir = resolve_model(cfg.student)
    ckpts = ctx.stage_dir / "checkpoints"
    unfinished_rounds(ctx)
    start = resolve_start(cfg.continue_from, ctx.stage_dir / "rounds")
    rows, plan = continual_rows(ctx, sft_records(sft_rows), start)
    stats = {"in": len(sft_rows), "out": len(sft_rows), "student": cfg.student, "continual": plan}
    stats["sft"] = train_sft(model_dir, rows, ctx.out / "adapter_sft", cfg, ctx.cfg.seed, progress=ctx.progress,
                             checkpoint_dir=ckpts / "sft", init_adapter=start.adapter if start else None)
    final = ctx.out / "adapter"
    stats["dpo_readiness"] = readiness
    ready = preference_plan(ctx.cfg.train, readiness)
    if ready["skip"] is None and cfg.dpo_steps > 0:
        stats["dpo"] = train_dpo(model_dir, ctx.out / "adapter_sft", dpo_records(pairs), final, cfg,
                                 ctx.cfg.seed, progress=ctx.progress, checkpoint_dir=ckpts / "dpo")
    else:
        why = ready["skip"] or "train.dpo_steps=0"
        ctx.log(f"train: DPO skipped: {why}; the final adapter is the SFT adapter")
        stats["dpo"] = {"skipped": why}
        with atomic_dir(final) as tmp:
            shutil.copytree(ctx.out / "adapter_sft", tmp, dirs_exist_ok=True)
    write_jsonl(ctx.stage_dir / "curve.jsonl", learning_curve(ctx, model_dir, stats, ckpts))
    stats["round"] = record_round(ctx, rows, start, plan, stats)
    return stats


def unfinished_rounds(ctx: RunContext) -> None:
    """Set aside a round that a killed or failed train stage wrote after its last finished run
    (train/stats.json names the last finished round), so `latest` never points at it."""
    from seedfactory.train.rounds import set_aside_unfinished
    from seedfactory.util.files import read_json

    prev = ctx.stage_dir / "stats.json"
    last = read_json(prev).get("round", 0) if prev.is_file() else 0
    for n in set_aside_unfinished(ctx.stage_dir / "rounds", last):
        ctx.log(f"train: round {n} was written by a run that did not finish; "
                f"set aside as train/rounds/.unfinished-{n}-*")


def continual_rows(ctx: RunContext, current: list[dict], start) -> tuple[list[dict], dict]:
    """The SFT rows of this round and where it starts: every row from the base, or (continuing an
    adapter) the rows it has not seen plus `train.replay` of those it has."""
    from seedfactory.train.continual import ContinueError, plan_rows

    cfg = ctx.cfg.train
    if start is None:
        if cfg.continue_from == "latest":
            ctx.log("train: train.continue_from=latest: no earlier round in train/rounds/, training from the base")
        return current, {"from": "base", "rows": len(current), "new_rows": len(current), "replayed": 0}
    rows, info = plan_rows(current, start.seen, cfg.replay, ctx.cfg.seed)
    if info["new_rows"] == 0:
        raise ContinueError(f"train.continue_from={cfg.continue_from}: {start.label} has seen all {len(current)} "
                            "rows of the dataset; nothing new to train on (add seeds or review verdicts, or unset "
                            "train.continue_from to retrain from the base)")
    ctx.log(f"train: continuing {start.label}: {info['new_rows']} new rows + {info['replayed']} replayed "
            f"(train.replay={cfg.replay}) of the {info['seen_before']} it has seen")
    return rows, {"from": start.label, "from_round": start.round, "from_adapter": str(start.adapter),
                  "old_eval_cases": str(start.eval_cases) if start.eval_cases else None, **info}


def record_round(ctx: RunContext, rows: list[dict], start, plan: dict, stats: dict) -> int:
    """Keep this round's adapter, rows, config and eval cases as train/rounds/N; return N."""
    from seedfactory.train.continual import merge_seen
    from seedfactory.train.rounds import write_round

    losses = {phase: {k: stats[phase].get(k) for k in ("steps", "first_loss", "last_loss")}
              for phase in ("sft", "dpo") if "losses" in stats[phase]}
    info = {"from": plan["from"], "rows": plan["rows"], "new_rows": plan["new_rows"], "replayed": plan["replayed"],
            "student": ctx.cfg.train.student, **losses}
    number, _ = write_round(ctx.stage_dir / "rounds", adapter=ctx.out / "adapter", info=info, trained=rows,
                            seen=merge_seen(start.seen if start else [], rows), eval_cases=ctx.eval_cases,
                            config=ctx.cfg.dump())
    return number


def training_data(ctx: RunContext) -> tuple[list[Example], list[PreferencePair], dict]:
    """The published dataset as the train stage reads it: SFT rows, preference pairs in DPO's order
    (reviewers' edits first), and `dpo_readiness` of those pairs. `seedfactory tune` reads the same."""
    from datasets import load_from_disk

    from seedfactory.judges import dpo_readiness
    from seedfactory.train.data import dpo_order

    if not (ctx.out / "dataset" / "dataset_dict.json").is_file():
        raise SeedfactoryError(f"{ctx.out / 'dataset'}: no published dataset; run `seedfactory run --out {ctx.out}` "
                               "(at least --until publish) first")
    ds = load_from_disk(str(ctx.out / "dataset"))
    sft_rows = [Example.model_validate_json(j) for j in ds["sft"]["record"]]
    pairs = [PreferencePair.model_validate_json(j) for j in ds["preference"]["record"]]
    pairs = dpo_order(pairs, ctx.cfg.seed)
    if not sft_rows:
        raise SeedfactoryError(f"{ctx.out / 'dataset'}: no rows in the sft split; see rejects.jsonl for why")
    cfg = ctx.cfg.train
    below = {r.row_id for r in read_jsonl(ctx.out / "judge" / "rejects.jsonl", Reject) if r.reason == "low_judge_score"}
    return sft_rows, pairs, dpo_readiness(pairs, below, cfg.min_pairs, cfg.max_length_bias)


def preference_plan(cfg: TrainConfig, readiness: dict) -> dict:
    """`readiness` with the config's own reason to skip preference tuning added (non-LoRA adapters);
    `["skip"] is None` (and `train.dpo_steps` > 0) means DPO trains."""
    if cfg.peft != "lora":
        return {**readiness, "skip": f"train.peft={cfg.peft}: preference tuning continues LoRA adapters only"}
    return readiness


def learning_curve(ctx: RunContext, model_dir: Path, stats: dict, ckpts: Path) -> list[dict]:
    """Loss per step for SFT and DPO, with the held-out score at each checkpoint (`train.curve`)."""
    from seedfactory.train.curve import checkpoint_scores, curve_rows, heldout_scorer

    score = None
    if ctx.cfg.train.curve:
        held = ctx.eval_cases[: ctx.cfg.train.curve_cases]  # the eval set's first cases: cheap
        score = heldout_scorer([s.prompt for s in held], [s.output for s in held], ctx.output_schema,
                               ctx.cfg.train.curve_max_new_tokens)
    rows = []
    for phase in ("sft", "dpo"):
        if "losses" not in stats[phase]:
            continue
        scores = checkpoint_scores(model_dir, ckpts / phase, score, ctx.progress) if score else {}
        if phase == "sft" and score:  # where the curve starts: the base model, or the adapter it continued
            started = stats["sft"].get("started_from", "base")
            scores[0] = score(model_dir, None if started == "base" else Path(started))
        rows += curve_rows(phase, stats[phase]["losses"], scores)
        if 0 in scores:
            rows.insert(0, {"phase": phase, "step": 0, "loss": None, "heldout": scores[0]["value"],
                            "metric": scores[0]["metric"]})
    return rows


def evaluate(ctx: RunContext) -> dict:
    from seedfactory.evaluation import evaluate_run

    return evaluate_run(ctx)


@dataclass(frozen=True)
class Stage:
    fn: Callable[[RunContext], dict]
    sections: list[str]  # config sections (or dotted keys) whose change makes the stage run again
    after: list[str] = field(default_factory=list)  # stages whose files it reads
    alone: bool = False  # wants the machine to itself: the runner frees model engines first
    inputs: Callable[[RunContext], object] | None = None  # what else it reads, hashed into its fingerprint
    outputs: list[str] = field(default_factory=list)  # what it writes outside its folder (run-dir paths)
    max_failed: str | None = None  # config key: the largest share of quarantined requests it may pass on


def seed_inputs(ctx: RunContext) -> dict:
    """The seed file's and schema's contents: editing a seed reruns the split and what follows."""
    from seedfactory.seeds import resolve_seed_path
    from seedfactory.util.files import file_digest

    try:
        path = resolve_seed_path(ctx.cfg.seeds.path)
    except SeedFileError:
        return {"seeds": None}  # the split stage reports it
    schema = Path(ctx.cfg.seeds.schema_path) if ctx.cfg.seeds.schema_path else schema_next_to(path)
    try:
        cases = eval_source(ctx.cfg, path)
    except SeedFileError:
        cases = None
    return {"seeds": file_digest(path), "schema": file_digest(schema) if schema and schema.is_file() else None,
            "eval": [str(cases), file_digest(cases)] if cases else None}


def review_inputs(ctx: RunContext) -> dict:
    """The reviewers' verdicts so far: a new verdict reruns publish, train and evaluate."""
    from seedfactory.publish import review_verdicts
    from seedfactory.schemas import stable_hash

    verdicts = review_verdicts(ctx.out)
    return {"verdicts": None if verdicts is None else stable_hash(verdicts, n=32)}


STAGES = {
    "split": Stage(split, ["seed", "seeds"], inputs=seed_inputs),
    "generate": Stage(generate, ["teacher", "generate"], after=["split"], max_failed="generate.max_failed_share"),
    "baseline": Stage(baseline, ["teacher", "eval"], after=["split"], max_failed="generate.max_failed_share"),
    "validate": Stage(validate, ["validate"], after=["split", "generate"]),
    "judge": Stage(judge, ["judge"], after=["split", "validate"], max_failed="judge.max_failed_share"),
    "review": Stage(review, ["review.sample_size"], after=["judge"]),
    "publish": Stage(publish, [], after=["split", "judge", "review"], inputs=review_inputs,
                     outputs=["dataset/sft", "dataset/preference", "dataset/dataset_dict.json"]),  # card: report
    "train": Stage(train, ["train", "review.max_defect_rate", "review.min_reviewed"], after=["judge", "publish"],
                   alone=True, outputs=["adapter_sft", "adapter"]),
    "evaluate": Stage(evaluate, ["eval", "judge"], after=["split", "train", "baseline"], outputs=["eval.json"],
                      max_failed="judge.max_failed_share"),
}
