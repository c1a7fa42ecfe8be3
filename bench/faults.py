"""The fault matrix: the generate stage through the fault-injection proxy, and what became of the
requests each fault hit (answered on a retry and kept as a row or task, rejected with a reason, or
quarantined with its raw text). Uses the loopback fake server, so it runs in seconds.

    .venv/bin/python -m bench.faults [--tasks 24] [--responses 3] [--retries 3]

Prints a table to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path

from seedfactory.cli import main as cli
from seedfactory.generators import answers
from seedfactory.generators import self_instruct as si
from seedfactory.generators.fake_server import FakeOpenAIServer, schema_reply
from seedfactory.generators.fault_proxy import FAULTS, FaultProxy
from seedfactory.generators.plan import TaskDraft
from seedfactory.schemas import SeedExample, load_config, stable_hash
from seedfactory.util.files import read_jsonl, read_jsonl_dicts

RATES = {"429": 0.08, "500": 0.05, "503": 0.05, "reset": 0.05, "slow": 0.04, "garbage": 0.06, "truncated": 0.06}


def outcomes(out: Path, overrides: list[str]) -> dict[str, str]:
    """Request key -> what became of it: task, row, or the reject reason."""
    cfg = load_config(None, overrides)
    seeds = list(read_jsonl(out / "split" / "train.jsonl", SeedExample))
    schema_file = out / "split" / "schema.json"
    schema = json.loads(schema_file.read_text()) if schema_file.is_file() else None
    rejects = {r["row_id"]: r["reason"] for r in read_jsonl_dicts(out / "generate" / "rejects.jsonl")}
    drafts = list(read_jsonl(out / "generate" / "tasks.jsonl", TaskDraft))
    done = {d.request_key: "task" for d in drafts}
    for req, _ in si.task_requests(seeds, cfg.teacher, cfg.generate, cfg.seed):
        done.setdefault(req.key, rejects.get(req.key, "missing"))
    rows = {r["id"] for r in read_jsonl_dicts(out / "generate" / "candidates.jsonl")}
    for req, d in answers.response_requests(drafts, seeds, cfg.teacher, cfg.generate, schema, cfg.seed):
        rid = stable_hash([d.prompt_id, req.key])
        done[req.key] = "row" if rid in rows else rejects.get(rid, "missing")
    return done


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=24)
    p.add_argument("--responses", type=int, default=3)
    p.add_argument("--retries", type=int, default=3)
    args = p.parse_args()
    overrides = ["validate.embedder=hash", "generate.strategy=self_instruct", f"generate.num_tasks={args.tasks}",
                 f"generate.pool_round={args.tasks}",  # one round: the accounting rebuilds its requests
                 f"generate.responses_per_prompt={args.responses}", "teacher.backoff=0.05",
                 f"teacher.max_retries={args.retries}", "teacher.timeout=1", "teacher.backend=openai"]
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer([], default=schema_reply) as srv, \
            FaultProxy(srv.url.rsplit("/v1", 1)[0], RATES, slow_seconds=1.5) as proxy:
        out = Path(tmp) / "run"
        rc = cli(["run", "--out", str(out), "--until", "generate", "--no-progress", *overrides,
                  f"teacher.base_url={proxy.url}"])
        done = outcomes(out, overrides)
        with sqlite3.connect(out / "cache.sqlite") as db:
            saved = {k for (k,) in db.execute("SELECT key FROM responses")}
        log = list(proxy.log)
    matrix = {}
    for fault in FAULTS:
        keys = {e["key"] for e in log if e["fault"] == fault}
        fate = Counter(("answered on retry -> " if k in saved else "quarantined -> ") + done.get(k, "?")
                       for k in keys)
        matrix[fault] = {"rate": RATES[fault], "injected": sum(e["fault"] == fault for e in log),
                         "requests_hit": len(keys), "fate": dict(fate)}
        print(f"{fault:<10} rate {RATES[fault]:.2f}  injected {matrix[fault]['injected']:>3}  "
              f"requests {len(keys):>3}  {dict(fate)}", file=sys.stderr)
    final = Counter(done.values())
    accounted = len(done) == len(set(done)) and "missing" not in final
    print(json.dumps({"exit_code": rc, "requests": len(done), "attempts": len(log), "outcomes": dict(final),
                      "every_request_accounted_once": accounted, "matrix": matrix}))


if __name__ == "__main__":
    main()
