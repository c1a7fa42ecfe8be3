"""The stages of a run, in order. Each reads the previous stage's files from the run directory,
writes its own, records rejects on the context and returns its counts for the funnel.

The work itself lives in the stage packages (generators, validators, judges, review, train);
this file is the glue that says which file feeds which function.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from seedfactory.context import RunContext
from seedfactory.schemas import (
    Example,
    JudgeVerdict,
    PreferencePair,
    Reject,
    lineage_counts,
)
from seedfactory.schemas.seedfile import SeedFileError
from seedfactory.util.files import read_jsonl, write_json, write_jsonl


def split(ctx: RunContext) -> dict:
    """Hold out part of the seeds; read the evaluation cases (the eval file, else the held-out seeds).
    Both are kept from the teacher, and generated rows too close to them leave (decontamination)."""
    cfg = ctx.cfg.seeds
    path, schema_file, schema, seeds, eval_path, cases = (ctx.seed_set.path, ctx.seed_set.schema_file,
                                                          ctx.seed_set.schema, ctx.seed_set.seeds,
                                                          ctx.seed_set.eval_path, ctx.seed_set.eval_cases)
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


def pool(ctx: RunContext) -> dict:
    """The user's unlabelled inputs (`seeds.pool`): read, cleaned, split, deduplicated, kept away from
    the evaluation cases (generators/pool.py), then the PII pass (`pool.pii`, validators/pii.py)."""
    from seedfactory.generators.pool import ingest
    from seedfactory.generators.pool_read import pool_files
    from seedfactory.validators.pii import Masker, pii_pass, recogniser

    spec = ctx.cfg.seeds.pool
    if spec is None:
        write_jsonl(ctx.stage_dir / "pool.jsonl", [])
        # "out" blank, not 0: a run without a pool has nothing to warn about ("no rows left")
        return {"in": 0, "out": "", "pool": "none (seeds.pool unset)"}
    try:
        files = pool_files(spec)
    except FileNotFoundError as e:
        raise SeedFileError(str(e)) from None
    cases = ctx.eval_cases + ctx.heldout
    items, counts = ingest(files, ctx.cfg.pool, ctx.rejects, ctx.log, [c.input or c.prompt for c in cases],
                           ctx.cfg.validate_.decontam_threshold, ctx.cfg.validate_.num_perm)
    items, pii = pii_pass(items, ctx.cfg.pool.pii, recogniser(), Masker(ctx.cfg.seed), ctx.rejects)
    write_jsonl(ctx.stage_dir / "pool.jsonl", items)
    return {"in": counts["units"], "out": len(items), **counts, "pii": pii}


def pool_inputs(ctx: RunContext) -> dict:
    """The pool files' names, sizes and modification times: a changed pool reruns the pool stage."""
    from seedfactory.generators.pool_read import pool_files

    if ctx.cfg.seeds.pool is None:
        return {}
    try:
        return {str(p): [p.stat().st_size, p.stat().st_mtime_ns] for p in pool_files(ctx.cfg.seeds.pool)}
    except (FileNotFoundError, OSError):
        return {"missing": ctx.cfg.seeds.pool}  # the stage itself says what is wrong


def refuse_remote_pool(ctx: RunContext) -> None:
    """Pool inputs are the user's own data: a remote teacher or judge gets them only when allowed."""
    from seedfactory.generators.label_pool import remote_pool_refusal
    from seedfactory.schemas.config import ConfigError

    if why := remote_pool_refusal({"teacher": ctx.cfg.teacher, "judge.model": ctx.cfg.judge.model}):
        raise ConfigError(why)


def generate(ctx: RunContext) -> dict:
    """New tasks by the strategy that fits the seeds (or `generate.strategy`), then several sampled
    answers per task; output-first tasks also carry their target as a row."""
    from seedfactory.generators.answers import answer_tasks
    from seedfactory.generators.plan import Env
    from seedfactory.generators.pool import PoolItem
    from seedfactory.generators.strategies import choose, strata_personas, write_tasks

    cfg, seeds, schema = ctx.cfg.generate, ctx.train_seeds, ctx.output_schema
    pool_items = list(read_jsonl(ctx.out / "pool" / "pool.jsonl", PoolItem))
    mix = choose(seeds, schema, cfg.strategy, pool=bool(pool_items))
    if "label_pool" in mix:
        refuse_remote_pool(ctx)  # before a backend exists: no pool input has left the machine
    backend = ctx.backend(ctx.cfg.teacher)
    before = backend.stats()

    def batched(reqs):
        starts = ctx.progress(range(0, len(reqs), cfg.batch_size), desc="generate: batches")
        return [res for start in starts for res in backend.generate(reqs[start:start + cfg.batch_size])]

    env = Env(batched, ctx.cfg.teacher, cfg, ctx.cfg.seed, ctx.rejects, schema, kinds=ctx.kinds, pool=pool_items)
    env.personas = strata_personas(mix, seeds, env)
    write_jsonl(ctx.stage_dir / "tasks.jsonl", drafts := write_tasks(mix, seeds, env))
    write_jsonl(ctx.stage_dir / "candidates.jsonl", rows := answer_tasks(drafts, seeds, env, backend.name))
    return {"in": len(seeds), "strategy": mix, "personas": env.personas, "tasks": len(drafts),
            "tasks_by_strategy": dict(Counter(d.strategy for d in drafts)),
            "rows_by_strategy": dict(Counter(r.lineage.strategy for r in rows)), "kept_by": lineage_counts(rows),
            "out": len(rows), **env.notes, **backend.stats(since=before)}


def baseline(ctx: RunContext) -> dict:
    """The teacher answers the evaluation prompts greedily, in its few-shot generation format: the
    score the student is measured against. Runs while the teacher's engine is warm."""
    from seedfactory.generators.answers import reference_requests

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
    from seedfactory.validators.quality import data_quality, finder_failures

    rows = list(read_jsonl(ctx.out / "generate" / "candidates.jsonl", Example))
    env = ValidationEnv(cfg=ctx.cfg.validate_, reject=ctx.rejects, train_seeds=ctx.train_seeds,
                        heldout=ctx.heldout + ctx.eval_cases, output_schema=ctx.output_schema, embedder=ctx.embedder,
                        field_kinds=ctx.cfg.seeds.field_kinds, kinds=ctx.kinds)
    thresholds = None  # validate.calibrate: near-dup/decontam/diversity thresholds from the seeds
    if ctx.cfg.validate_.calibrate:
        env.cfg, thresholds = calibrate(env)
    stream = iter(rows)
    for step in VALIDATORS:
        stream = step(stream, env)
    kept = list(ctx.progress(stream, total=len(rows), desc="validate"))
    write_jsonl(ctx.stage_dir / "kept.jsonl", kept)
    write_json(ctx.stage_dir / "calibration.json", calibration := env.get_calibration())
    for line in finder_failures(calibration, env.train_seeds):  # a check the seeds fail is the finder's fault
        ctx.log(f"validate: {line}")
    quality = data_quality(kept, ctx.rejects.counts(), calibration, ctx.output_schema, env.get_kinds() or None)
    return {"in": len(rows), "out": len(kept), "prompts": len({r.prompt_id for r in kept}), "quality": quality,
            "kept_by": lineage_counts(kept)} | ({"threshold_calibration": thresholds} if thresholds else {})


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
    """Self-test the judge on the seeds, score every row, then select (judges/select.py): consensus
    per task picks its SFT row, the judge filters and ranks only if it passed, pairs are confirmed
    by the pairwise judge in both orders when it is trusted."""
    from seedfactory.generators.waste import answers_used
    from seedfactory.judges import judge_both_orders, judge_rows, strip_grader_text
    from seedfactory.judges.select import select

    jc, schema = ctx.cfg.judge, ctx.output_schema
    rows = list(read_jsonl(ctx.out / "validate" / "kept.jsonl", Example))
    if any(r.lineage.strategy == "label_pool" for r in rows):
        refuse_remote_pool(ctx)
    backend, (check, check_note) = ctx.backend(jc.model), grader_check(ctx)
    before, criteria = backend.stats(), ctx.seed_set.criteria
    cal, self_test_requests = judge_self_test(ctx, backend, criteria, check)
    verdicts = judge_rows(rows, backend, jc.model, output_schema=schema, progress=ctx.progress, criteria=criteria,
                          check=check)
    write_jsonl(ctx.stage_dir / "verdicts.jsonl", verdicts)
    out = select(rows, verdicts, list(read_jsonl(ctx.out / "validate" / "rejects.jsonl", Reject)), jc, cal["passed"],
                 None if schema else ctx.embedder().embed, lambda items: judge_both_orders(items, backend, jc.model))
    record_selection(ctx, supported_labels(ctx, out))
    candidates = read_jsonl(ctx.out / "generate" / "candidates.jsonl", Example)
    return {"in": len(rows), **out.stats(), "judge_trusted": cal["passed"], "judge_auc": cal["auc"],
            # per strategy, the teacher's answers selection used or threw away (generators/waste.py)
            "answers_used": answers_used(candidates, out.sft, out.pairs),
            "judge_errors": sum(v.error is not None for v in verdicts),
            # answers the neutraliser changed before judging: text addressed to the grader (judges/fence.py)
            "responses_neutralised": sum(strip_grader_text(r.output_text) != r.output_text for r in rows),
            # answers the grader check flagged (judges/addressed.py): worst score, left with reason addressed_grader
            "addressed_grader": out.flagged, "grader_check": check_note,
            "self_test_requests": self_test_requests, **backend.stats(since=before)}


def judge_self_test(ctx: RunContext, backend, criteria, check) -> tuple[dict, dict]:
    """The judge's self-test on the seeds into judge/calibration.json, and its request counts: a
    fixed cost whatever the number of rows (--dry-run shows it)."""
    from seedfactory.judges.select import calibration

    jc, before = ctx.cfg.judge, backend.stats()
    cal = calibration(ctx.train_seeds, backend, jc, ctx.output_schema, criteria, check, ctx.cfg.seed)
    write_json(ctx.stage_dir / "calibration.json", cal)
    if not cal["passed"]:
        ctx.log(f"judge: {jc.model.model} failed its self-test on the seeds (AUC {cal['auc']} < judge.min_auc="
                f"{jc.min_auc}); it does not filter rows or rank pairs: consensus, schema and grounding decide")
    return cal, backend.stats(since=before)


def supported_labels(ctx: RunContext, out):
    """The selection less the SFT rows whose enum or boolean label a classifier calibrated on the seeds
    contradicts (validators/labels.py; template rows carry theirs by construction), and the pairs they
    chose; the classifier's leave-one-out figures go to judge/labels.json."""
    from seedfactory.validators.labels import label_check_for_run, label_verdicts

    fields = [f for f, fk in ctx.kinds.items() if fk.kind in ("label", "boolean")] or None
    if ctx.output_schema is None or not ctx.cfg.validate_.label_check or not out.sft:
        return out
    check = label_check_for_run(ctx.train_seeds, ctx.output_schema, ctx.embedder(), ctx.cfg.validate_, fields)
    if check is None:
        return out
    write_json(ctx.stage_dir / "labels.json", check.table())
    # templates carry the seed's label by construction; a rewrite of a seed's text keeps its meaning
    # (flagged only when contradicted); a label the teacher chose needs the classifier's agreement
    out.sft, unsupported = label_verdicts(out.sft, check, lenient=("output_first:rewrite",))
    gone = {row.id for row, _, _ in unsupported}
    out.pairs = [p for p in out.pairs if p.chosen_id not in gone]
    out.rejects += [(row, reason, {"detail": detail}) for row, reason, detail in unsupported]
    return out


def record_selection(ctx: RunContext, out) -> None:
    """The judge's selection into the run: rejects with their reasons, no-pair counts, the files."""
    for row, reason, kwargs in out.rejects:
        ctx.rejects(row, reason, **kwargs)
    for reason, n in out.no_pair.items():
        ctx.count(f"no_pair.{reason}", n)
    write_jsonl(ctx.stage_dir / "scored.jsonl", out.scored)
    write_jsonl(ctx.stage_dir / "sft.jsonl", out.sft)
    write_jsonl(ctx.stage_dir / "pairs.jsonl", out.pairs)


def review(ctx: RunContext) -> dict:
    """Sample rows into the human review queue (SQLite); a later step serves it as a web page."""
    from seedfactory.generators.label_pool import uncertainty
    from seedfactory.review import ReviewStore, sample_for_review

    rows = list(read_jsonl(ctx.out / "judge" / "scored.jsonl", Example))
    scores = {r.id: r.scores["judge"] for r in rows if "judge" in r.scores}
    k = ctx.cfg.review.sample_size
    first = uncertainty(rows)[:k]  # pool inputs the teacher's answers disagree on are queued first
    taken = {r.id for r in first}
    sample = first + sample_for_review([r for r in rows if r.id not in taken], scores, k - len(first), ctx.cfg.seed)
    with ReviewStore(ctx.stage_dir / "queue.sqlite", schema=ctx.output_schema) as store:
        store.add(sample, scores)
        counts = store.counts()
    write_jsonl(ctx.stage_dir / "sample.jsonl", [{"id": r.id} for r in sample])
    return {"in": len(rows), "out": len(rows), "queued": len(sample), "queued_uncertain": len(first), "queue": counts}


def publish(ctx: RunContext) -> dict:
    """A Hugging Face DatasetDict (sft, preference) with lineage, written then renamed into place.
    The preference split marks pairs whose chosen row the judge's cut-off removed, so that training
    reads nothing of the judge's files."""
    from seedfactory.publish import build_dataset
    from seedfactory.schemas import output_text
    from seedfactory.validators.layout import layout_stats
    from seedfactory.validators.pii import count_pii, recogniser

    sft = list(read_jsonl(ctx.out / "judge" / "sft.jsonl", Example))
    pairs = list(read_jsonl(ctx.out / "judge" / "pairs.jsonl", PreferencePair))
    verdicts = {v.example_id: v for v in read_jsonl(ctx.out / "judge" / "verdicts.jsonl", JudgeVerdict)}
    below = {r.row_id for r in read_jsonl(ctx.out / "judge" / "rejects.jsonl", Reject) if r.reason == "low_judge_score"}
    counts = build_dataset(ctx, sft, pairs, verdicts, ctx.out / "dataset", below)
    # how varied the wording is beyond the values: distinct layouts, the commonest one's share, rows not a seed's
    layouts = layout_stats(sft, ctx.train_seeds, ctx.kinds)
    # personal data in what is published (its inputs and outputs), counted for the report and the card
    pii = count_pii([f"{r.input}\n{output_text(r.output)}" for r in sft], recogniser())
    return {"in": len(sft), "out": counts["sft"], **counts, "layouts": layouts, "pii": pii}


def train(ctx: RunContext) -> dict:
    """LoRA SFT of the student on the sft split, then the preference method on the preference split
    (`seedfactory.train.recipe`: checkpoints, learning curve, continual rounds in train/rounds/N).
    Refuses first when the review gate says so (`seedfactory.review.gate`)."""
    from seedfactory.review import review_gate
    from seedfactory.train.recipe import RunPaths, read_published, train_round

    review_gate(ctx.out / "review" / "queue.sqlite", ctx.cfg.review)
    paths = RunPaths(ctx.out)
    data = read_published(paths, ctx.cfg)
    return train_round(ctx.cfg, paths, data, ctx.eval_cases, ctx.output_schema, ctx.progress, ctx.log,
                       kinds=ctx.kinds)


def evaluate(ctx: RunContext) -> dict:
    """Score base, SFT, final adapter and teacher on the eval cases (`seedfactory.evaluation`), then
    record the figures of this training round in train/rounds/N/eval.json."""
    from seedfactory.evaluation import evaluate_run
    from seedfactory.train.recipe import RunPaths, record_round_eval
    from seedfactory.util.files import read_json

    stats = evaluate_run(ctx)
    record_round_eval(RunPaths(ctx.out), read_json(ctx.out / "eval.json"))
    return stats


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
    """The seed, schema and eval files' contents: editing a seed reruns the split and what follows."""
    return ctx.seed_set.digests()


def review_inputs(ctx: RunContext) -> dict:
    """The reviewers' verdicts so far: a new verdict reruns publish, train and evaluate."""
    from seedfactory.publish import review_verdicts
    from seedfactory.schemas import stable_hash

    verdicts = review_verdicts(ctx.out)
    return {"verdicts": None if verdicts is None else stable_hash(verdicts, n=32)}


STAGES = {
    "split": Stage(split, ["seed", "seeds"], inputs=seed_inputs),
    "pool": Stage(pool, ["seeds.pool", "pool", "seed", "validate.decontam_threshold", "validate.num_perm"],
                  after=["split"], inputs=pool_inputs),
    "generate": Stage(generate, ["teacher", "generate"], after=["split", "pool"],
                      max_failed="generate.max_failed_share"),
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
