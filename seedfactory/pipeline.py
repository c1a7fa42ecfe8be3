"""The runner: a short loop over the stages, with resume.

Each stage's fingerprint hashes the config sections the stage reads, the digests of the files its
upstream stages wrote (`Stage.after`, as recorded in their markers) and what else it reads
(`Stage.inputs`: seed files, review verdicts). So changing `judge.min_score` reruns judge and what
its new files feed, and nothing before; a stage that reruns and writes the same bytes stops the
ripple there. A stage's `.done` marker is written after all its files and records their sizes and
digests: a run killed mid-stage redoes that stage, a damaged output is noticed (and the stage
redone) on the next run, and the request cache means no answered request is paid for twice.

A stage that lost some requests to a server outage is finished only as far as it got: its marker
says how many requests are still owed and the next run asks those again. One that lost more than
`max_failed_share` of them stops the run with one message naming the server error. A stage that
leaves no rows says so (a warning naming its rejects); publish writes empty splits and train stops
with one line.

    stats = run(load_config(None, ["teacher.backend=fake"]), Path("runs/x"), until="publish")
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from seedfactory import __version__
from seedfactory.context import RunContext
from seedfactory.generators.cache import BudgetExceeded
from seedfactory.rundir import Marker, RunDirLock, describe_outputs, prepare_out
from seedfactory.schemas import RunConfig, stable_hash
from seedfactory.seedset import read_seed_set
from seedfactory.steps import STAGES, Stage
from seedfactory.timing import stage_times
from seedfactory.util.dotted import get_dotted
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import DamagedFile, atomic_write_text, read_json, read_jsonl_dicts, write_json, write_jsonl

# A new release may generate or filter differently, so it starts stages afresh.
VERSION = f"seedfactory-run-2/{__version__}"  # what the stage fingerprints start from


class StageFailed(SeedfactoryError):
    """A stage that cannot hand anything useful on: more of its requests failed than its config allows."""


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)  # pragma: no mutate (stderr is line-buffered)


def fingerprint(ctx: RunContext, name: str, markers: dict[str, Marker]) -> str:
    """A stage's fingerprint: its config sections, the digests of its upstream stages' files and
    what else it reads (`Stage.inputs`). Computed when the stage is reached, so files written by
    earlier stages of this run are seen."""
    stage, tree = STAGES[name], ctx.cfg.dump()
    extra = stage.inputs(ctx) if stage.inputs else None
    return stable_hash([VERSION, name, {k: get_dotted(tree, k) for k in stage.sections},
                        [markers[dep].data_digest() for dep in stage.after], extra])


TOKEN_KEYS = ("prompt_tokens", "completion_tokens", "requests_sent", "attempts", "cache_hits", "cost")


def gather(out: Path, log=_log) -> dict:
    """Rebuild rejects.jsonl and stats.json (the funnel) from the per-stage files of finished stages.
    A damaged stage file is left out with a warning (its stage reruns when it is next reached)."""
    rejects, stages = [], {}
    for name in STAGES:
        if Marker.read(out / name / ".done") is None:
            continue
        try:
            rejects += read_jsonl_dicts(out / name / "rejects.jsonl")
            if (out / name / "stats.json").is_file():
                stages[name] = read_json(out / name / "stats.json")
        except DamagedFile as e:
            log(f"warning: {e}; left out of the funnel")
    write_jsonl(out / "rejects.jsonl", rejects)
    totals, by_model = Counter(), {}
    for st in stages.values():
        for k in TOKEN_KEYS:
            totals[k] += st.get(k, 0) or 0
        if st.get("model"):  # a stage that sent model requests: account them to that model
            m = by_model.setdefault(st["model"], Counter())
            for k in TOKEN_KEYS:
                m[k] += st.get(k, 0) or 0
    stats = {"stages": stages, "rejects": len(rejects),
             "rejects_by_reason": dict(Counter(f"{r.get('stage')}:{r.get('reason')}" for r in rejects)),
             "seconds": round(sum(st.get("seconds", 0) for st in stages.values()), 1), "tokens": dict(totals),
             "tokens_by_model": {m: {k: round(v, 6) for k, v in c.items()} for m, c in by_model.items()}}
    stats["time"] = stage_times(stats)  # each stage's seconds and share of the run (seedfactory/timing.py)
    write_json(out / "stats.json", stats)
    return stats


def why_rerun(name: str, old: Marker | None, fp: str, out: Path) -> tuple[str, bool] | None:
    """Why a stage must run (and whether to warn about it), or None when its finished files stand."""
    if old is None:
        return "not finished", False
    if old.fingerprint != fp:
        return "its config or inputs changed", False
    if old.owed:
        return f"{old.owed} requests still owed from a server outage; asking them again", True
    if damage := old.damaged(out):
        return f"{damage}; rerunning {name}", True
    return None


def failed_share_limits(cfg: RunConfig) -> dict[str, float]:
    """The keys a `Stage.max_failed` names, with their values."""
    return {"generate.max_failed_share": cfg.generate.max_failed_share,
            "judge.max_failed_share": cfg.judge.max_failed_share}


def _outage(ctx: RunContext, name: str, stage: Stage, result: dict) -> str | None:
    """A message when more of the stage's requests were quarantined than its config allows."""
    failed = result.get("quarantined", 0) or 0  # pragma: no mutate (a negative share never exceeds a limit)
    asked = (result.get("requests_sent", 0) or 0) + (result.get("cache_hits", 0) or 0)
    if not stage.max_failed or not failed or not asked:
        return None
    limit = failed_share_limits(ctx.cfg)[stage.max_failed]
    if failed / asked <= limit:
        return None
    return (f"{name}: {failed} of {asked} model requests failed ({failed / asked:.0%} > {stage.max_failed}="
            f"{limit}); last server error: {result.get('last_error') or 'unknown'}. Run the same command "
            "again once the server answers: requests already answered come from the cache")


def run_stage(ctx: RunContext, name: str, fp: str, log) -> Marker:
    stage = STAGES[name]
    marker_path = ctx.out / name / ".done"
    marker_path.unlink(missing_ok=True)
    if stage.alone:
        ctx.close_backends()  # engines hold GBs and CPU threads the stage wants
    ctx.begin(name)
    result = stage.fn(ctx)
    reasons = Counter(ctx.rejects.counts())
    stats = {**result, "rejected": dict(reasons), "counters": dict(ctx.counters),
             # no mutate: the rounding of a stage's seconds
             "seconds": round(ctx.elapsed(), 1), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}  # pragma: no mutate
    write_jsonl(ctx.stage_dir / "rejects.jsonl", ctx.rejects.records)
    write_json(ctx.stage_dir / "stats.json", stats)
    drop = ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "none dropped"
    if failed := _outage(ctx, name, stage, result):
        raise StageFailed(failed)
    marker = Marker(fp, owed=int(result.get("quarantined", 0) or 0),
                    outputs=describe_outputs(ctx.out, [ctx.stage_dir, *(ctx.out / p for p in stage.outputs)]))
    marker.write(marker_path)  # last: the stage is finished (as far as it got, when it owes requests)
    gather(ctx.out, log)  # the funnel so far (publish's dataset card reads it)
    owed = f"; {marker.owed} requests owed, asked again next run" if marker.owed else ""
    log(f"{name}: {result.get('in', '?')} in -> {result.get('out', '?')} out ({drop}) in {stats['seconds']} s{owed}")
    if result.get("out") == 0:  # later stages get empty files; training says so and stops
        log(f"warning: {name}: no rows left ({result.get('in', 0)} in; {drop});"  # pragma: no mutate (wording)
            f" see {ctx.stage_dir / 'rejects.jsonl'}")
    return marker


# no mutate: keyword-only; callers pass progress
def live_report(ctx: RunContext, done: int, names: list[str], log=_log) -> None:
    """`seedfactory run --watch`: report.html as far as the run got, reloading itself in the browser."""
    from seedfactory.report import build_report

    nxt = f"; next: {names[done]}" if done < len(names) else ""
    page = build_report(ctx.out, refresh_card=False, embedder=ctx.loaded_embedder,
                        live=f"{done} of {len(names)} stages done{nxt}")
    if done == 0:
        log(f"watch: {page.resolve().as_uri()} (reloads itself until the run ends)")


def run(cfg: RunConfig, out: Path, *, progress: bool = True, until: str | None = None, log=_log,  # pragma: no mutate
        cache_path: Path | None = None, watch: bool = False) -> dict:
    """Every stage up to `until`, skipping finished ones. `cache_path`: a request cache other than
    `<out>/cache.sqlite` (the dry run samples into a scratch folder with the run's own cache).
    `watch`: report.html is rebuilt after each stage and reloads itself while the run goes."""
    seed_set = read_seed_set(cfg)  # a bad seed set stops here, before anything is written
    out = prepare_out(out)
    with RunDirLock(out):
        atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.dump(), sort_keys=False))
        ctx = RunContext(cfg, out, progress=progress, cache_path=cache_path, seed_set=seed_set)
        stopped = None
        markers: dict[str, Marker] = {}
        names = list(STAGES)
        try:
            if watch:
                live_report(ctx, 0, names, log)
            for i, name in enumerate(names, start=1):
                fp = fingerprint(ctx, name, markers)
                old = Marker.read(out / name / ".done")
                why = why_rerun(name, old, fp, out)
                if why is None:
                    log(f"[{i}/{len(names)}] {name}: done before, skipped")
                    markers[name] = old
                else:
                    if why[1]:
                        log(f"warning: {name}: {why[0]}")
                    log(f"[{i}/{len(names)}] {name} ...")
                    try:
                        markers[name] = run_stage(ctx, name, fp, lambda m, i=i: log(f"[{i}/{len(names)}] {m}"))
                    except BudgetExceeded as e:  # a clean stop: answers so far are in the cache, no .done
                        log(f"[{i}/{len(names)}] {name}: stopped at the budget cap: {e}")
                        stopped = f"{name}: {e}"
                        break
                if watch and name != until and i < len(names):
                    live_report(ctx, i, names, log)
                if name == until:
                    break
        finally:
            ctx.close_backends()
            stats = gather(out, log)
            if watch:  # a stop or a crash: the page stops reloading
                from seedfactory.report import build_report

                build_report(out, refresh_card=False, embedder=ctx.loaded_embedder)
        if stopped:
            return stats | {"stopped": stopped}
        from seedfactory.report import build_report

        # report.html (with the embedder validation loaded, if any); also rewrites the dataset card
        build_report(out, embedder=ctx.loaded_embedder)
        from seedfactory.tracking import log_run

        log_run(cfg, out)  # train.report_to with mlflow: the figures, config and report on the MLflow run
        return stats
