"""The runner: a short loop over the stages, with resume.

Each stage's fingerprint hashes the config sections the stage reads and the fingerprints of the
stages whose files it reads (`Stage.after`), so changing `judge.min_score` reruns judge and what
depends on it, and nothing before; changing `eval.max_new_tokens` reruns the teacher baseline and
evaluate, not training. A stage's `.done` marker holds its fingerprint and is written after all its files: a run
killed mid-stage redoes that stage on the next call, and the request cache means no request that
was already answered is paid for again.
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
from seedfactory.schemas import RunConfig, stable_hash
from seedfactory.steps import STAGES
from seedfactory.util.files import atomic_write_text, read_json, read_jsonl_dicts, write_json, write_jsonl

# A new release may generate or filter differently, so it starts stages afresh.
VERSION = f"seedfactory-run-1/{__version__}"  # what the stage fingerprints start from


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _lookup(tree: dict, dotted: str):
    for key in dotted.split("."):
        tree = tree[key]
    return tree


def fingerprint(ctx: RunContext, name: str, upstream: dict[str, str]) -> str:
    """A stage's fingerprint: its config sections, its upstream stages' fingerprints and what else
    it reads (`Stage.inputs`: seed file contents, review verdicts). Computed when the stage is
    reached, so inputs written by earlier stages of this run are seen."""
    stage, tree = STAGES[name], ctx.cfg.dump()
    extra = stage.inputs(ctx) if stage.inputs else None
    return stable_hash([VERSION, name, {k: _lookup(tree, k) for k in stage.sections},
                        [upstream[dep] for dep in stage.after], extra])


TOKEN_KEYS = ("prompt_tokens", "completion_tokens", "requests_sent", "attempts", "cache_hits", "cost")


def gather(out: Path, started: dict | None = None) -> dict:
    """Rebuild rejects.jsonl and stats.json (the funnel) from the per-stage files."""
    rejects, stages = [], {}
    for name in STAGES:
        rejects += read_jsonl_dicts(out / name / "rejects.jsonl")
        if (out / name / "stats.json").is_file() and (out / name / ".done").is_file():
            stages[name] = read_json(out / name / "stats.json")
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
             "rejects_by_reason": dict(Counter(f"{r['stage']}:{r['reason']}" for r in rejects)),
             "seconds": round(sum(st.get("seconds", 0) for st in stages.values()), 1), "tokens": dict(totals),
             "tokens_by_model": {m: {k: round(v, 6) for k, v in c.items()} for m, c in by_model.items()}}
    write_json(out / "stats.json", stats)
    return stats


def run(cfg: RunConfig, out: Path, *, progress: bool = True, until: str | None = None, log=_log,
        cache_path: Path | None = None) -> dict:
    """Every stage up to `until`, skipping finished ones. `cache_path`: a request cache other than
    `<out>/cache.sqlite` (the dry run samples into a scratch folder with the run's own cache)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.dump(), sort_keys=False))
    ctx = RunContext(cfg, out, progress=progress, cache_path=cache_path)
    fps: dict[str, str] = {}
    names = list(STAGES)
    for i, name in enumerate(names, start=1):
        stage = STAGES[name]
        fps[name] = fingerprint(ctx, name, fps)
        marker = out / name / ".done"
        if marker.is_file() and marker.read_text().strip() == fps[name]:
            log(f"[{i}/{len(names)}] {name}: done before, skipped")
        else:
            marker.unlink(missing_ok=True)
            if stage.alone:
                ctx.close_backends()  # engines hold GBs and CPU threads the stage wants
            ctx.begin(name)
            log(f"[{i}/{len(names)}] {name} ...")
            try:
                result = stage.fn(ctx)
            except BudgetExceeded as e:  # a clean stop: answers so far are in the cache, no .done
                log(f"[{i}/{len(names)}] {name}: stopped at the budget cap: {e}")
                ctx.close_backends()
                return gather(out) | {"stopped": f"{name}: {e}"}
            reasons = Counter(ctx.rejects.counts())
            stats = {**result, "rejected": dict(reasons), "counters": dict(ctx.counters),
                     "seconds": round(ctx.elapsed(), 1), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
            write_jsonl(ctx.stage_dir / "rejects.jsonl", ctx.rejects.records)
            write_json(ctx.stage_dir / "stats.json", stats)
            atomic_write_text(marker, fps[name] + "\n")  # last: the stage is finished
            gather(out)
            drop = ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "none dropped"
            log(f"[{i}/{len(names)}] {name}: {result.get('in', '?')} in -> {result.get('out', '?')} out "
                f"({drop}) in {stats['seconds']} s")
        if name == until:
            break
    ctx.close_backends()
    stats = gather(out)
    from seedfactory.report import build_report

    # report.html (with the embedder validation loaded, if any); also rewrites the dataset card
    build_report(out, embedder=ctx.loaded_embedder)
    return stats
