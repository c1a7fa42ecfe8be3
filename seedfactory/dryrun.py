"""`seedfactory run --dry-run`: what a run would cost, from a small sample of its real requests.

Runs the stages up to judge on `sample` tasks (a scratch folder `<out>/dry-run/`, sharing the
run's request cache, so the sampled requests are not paid for twice: the real run finds them
there, because every strategy's request list is prefix-stable: request i is the same for `sample`
tasks as for `num_tasks`, and a mix never gives a strategy fewer tasks in the larger run).
Generate and judge requests grow linearly with the number of tasks, so the sample's requests,
attempts (retries included) and tokens are scaled by `num_tasks / sample`; the judge's
self-test on the seeds is a fixed cost, counted once; the teacher baseline is run whole; the
evaluation's pairwise judge requests (text seed sets only) are counted exactly and priced at the
judge's mean tokens per request. Money comes from each model's `price_prompt` / `price_completion`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from seedfactory.generators.cache import BudgetExceeded, cost
from seedfactory.schemas import RunConfig
from seedfactory.util.files import write_json

COLUMNS = ["requests", "attempts", "prompt_tokens", "completion_tokens", "cost"]


KEYS = ["requests_sent", "cache_hits", "attempts", "all_prompt_tokens", "all_completion_tokens"]


def _estimate(st: dict, scale: float, model_cfg, fixed: dict | None = None) -> dict:
    """Whole-run figures from a sampled stage's counters (cached replies count: a fresh run pays them).
    `fixed`: the part of the counters that does not grow with the tasks (the judge's self-test)."""
    fixed = fixed or {}
    grown = {k: st[k] - fixed.get(k, 0) for k in KEYS}
    n_fixed = fixed.get("requests_sent", 0) + fixed.get("cache_hits", 0)
    n = n_fixed + (grown["requests_sent"] + grown["cache_hits"]) * scale
    per_attempt = st["attempts"] / st["requests_sent"] if st["requests_sent"] else 1.0
    est = {"requests": round(n), "attempts": round(n * per_attempt),
           "prompt_tokens": round(fixed.get("all_prompt_tokens", 0) + grown["all_prompt_tokens"] * scale),
           "completion_tokens": round(fixed.get("all_completion_tokens", 0) + grown["all_completion_tokens"] * scale)}
    n = st["requests_sent"] + st["cache_hits"]
    return {"model": st["model"], "sampled_requests": n, **est,
            "cost": round(cost(model_cfg, est["prompt_tokens"], est["completion_tokens"]), 4)}


def dry_run(cfg: RunConfig, out: Path, sample: int = 4, progress: bool = True) -> dict:
    from seedfactory.pipeline import run

    out = Path(out)
    n = min(sample, cfg.generate.num_tasks)
    scale = cfg.generate.num_tasks / n
    small = RunConfig.model_validate(cfg.dump() | {"generate": cfg.generate.model_dump() | {"num_tasks": n}})
    scratch = out / "dry-run"
    shutil.rmtree(scratch, ignore_errors=True)
    stats = run(small, scratch, progress=progress, until="judge", cache_path=out / "cache.sqlite")
    if "stopped" in stats:
        raise BudgetExceeded(stats["stopped"])
    st = stats["stages"]
    table = {"generate": _estimate(st["generate"], scale, cfg.teacher),
             "baseline": _estimate(st["baseline"], 1.0, cfg.teacher)}
    if st["judge"].get("model"):
        table["judge"] = _estimate(st["judge"], scale, cfg.judge.model, st["judge"].get("self_test_requests"))
        if not (scratch / "split" / "schema.json").is_file():  # evaluate judges 4 systems x held-out x 2 orders
            heldout = st["split"]["heldout"]
            j, k = table["judge"], 8 * heldout
            per = {c: j[c] / max(j["requests"], 1) for c in COLUMNS}
            ev = {c: round(per[c] * k) for c in ("attempts", "prompt_tokens", "completion_tokens")}
            table["evaluate"] = {"model": j["model"], "sampled_requests": 0, "requests": k, **ev,
                                 "cost": round(cost(cfg.judge.model, ev["prompt_tokens"], ev["completion_tokens"]), 4)}
    total = {c: round(sum(r[c] for r in table.values()), 4) for c in COLUMNS}
    report = {"sample_tasks": n, "num_tasks": cfg.generate.num_tasks, "scale": scale, "stages": table, "total": total}
    write_json(out / "dry_run.json", report)
    return report


def render(report: dict) -> str:
    head = f"{'stage':<10}{'model':<22}{'sampled':>8}{'requests':>10}{'attempts':>10}{'prompt tok':>12}" \
           f"{'compl. tok':>12}{'cost':>10}"
    lines = [f"dry run: {report['sample_tasks']} of {report['num_tasks']} tasks sampled, scaled x{report['scale']:g}",
             head]
    for name, r in report["stages"].items():
        lines.append(f"{name:<10}{r['model'][:21]:<22}{r['sampled_requests']:>8}{r['requests']:>10}{r['attempts']:>10}"
                     f"{r['prompt_tokens']:>12}{r['completion_tokens']:>12}{r['cost']:>10.4f}")
    t = report["total"]
    lines.append(f"{'total':<10}{'':<22}{'':>8}{t['requests']:>10.0f}{t['attempts']:>10.0f}{t['prompt_tokens']:>12.0f}"
                 f"{t['completion_tokens']:>12.0f}{t['cost']:>10.4f}")
    return "\n".join(lines)
