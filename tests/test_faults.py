"""The generate stage through the fault-injection proxy: every task accounted for exactly once, and
a `seedfactory run` killed with SIGKILL mid-generate resumes without asking a saved request again."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from seedfactory.cli import main
from seedfactory.generators import answers
from seedfactory.generators import self_instruct as si
from seedfactory.generators.fake_server import FakeOpenAIServer, schema_reply
from seedfactory.generators.fault_proxy import FAULTS, FaultProxy
from seedfactory.generators.plan import TaskDraft
from seedfactory.schemas import SeedExample, load_config, stable_hash
from seedfactory.util.files import read_jsonl, read_jsonl_dicts

RATES = {"429": 0.08, "500": 0.05, "503": 0.07, "reset": 0.05, "slow": 0.04, "garbage": 0.06, "truncated": 0.06}
SMALL = ["validate.embedder=hash", "generate.strategy=self_instruct", "generate.num_tasks=10",
         "generate.responses_per_prompt=2", "--no-progress", "teacher.backoff=0.05"]


def openai_args(url: str, timeout: float = 1.0) -> list[str]:
    return ["teacher.backend=openai", f"teacher.base_url={url}", f"teacher.timeout={timeout}"]


def upstream(srv) -> str:
    return srv.url.rsplit("/v1", 1)[0]


def test_every_task_is_a_row_a_reject_or_quarantined_exactly_once(tmp_path):
    out = tmp_path / "run"
    args = ["run", "--out", str(out), "--until", "generate", *SMALL]
    with FakeOpenAIServer([], default=schema_reply) as srv, \
            FaultProxy(upstream(srv), RATES, slow_seconds=1.5) as proxy:
        assert main([*args, *openai_args(proxy.url), "teacher.max_retries=3"]) == 0
    seen = Counter(e["fault"] for e in proxy.log)
    assert set(FAULTS) <= set(seen)  # every kind of fault was injected (draws are seeded per request)

    cfg = load_config(None, [a for a in SMALL if "=" in a])
    seeds = list(read_jsonl(out / "split" / "train.jsonl", SeedExample))
    schema_file = out / "split" / "schema.json"
    schema = __import__("json").loads(schema_file.read_text()) if schema_file.is_file() else None
    task_pairs = si.task_requests(seeds, cfg.teacher.model_copy(update={"backend": "openai"}), cfg.generate, cfg.seed)
    drafts = list(read_jsonl(out / "generate" / "tasks.jsonl", TaskDraft))
    rows = read_jsonl_dicts(out / "generate" / "candidates.jsonl")
    rejects = read_jsonl_dicts(out / "generate" / "rejects.jsonl")

    # tasks: each task request is a draft or a reject, never both, never twice
    task_keys = [r.key for r, _ in task_pairs]
    outcomes = Counter([d.request_key for d in drafts] + [r["row_id"] for r in rejects if r["row_id"] in task_keys])
    assert sorted(outcomes) == sorted(task_keys) and set(outcomes.values()) == {1}
    # answers: each response request of each draft is a row or a reject, exactly once
    resp_pairs = answers.response_requests(drafts, seeds, cfg.teacher, cfg.generate, schema, cfg.seed)
    want = [stable_hash([d.prompt_id, r.key]) for r, d in resp_pairs]
    got = Counter([r["id"] for r in rows] + [r["row_id"] for r in rejects if r["row_id"] not in task_keys])
    assert sorted(got) == sorted(want) and set(got.values()) == {1}
    # a quarantined request is a reject that says why and keeps the raw text it had
    for r in rejects:
        if r["reason"] == "teacher_error":
            assert "quarantined after 4 attempts" in r["detail"] and "| raw:" in r["detail"]
    # every proxied request belongs to one of those tasks
    assert {e["key"] for e in proxy.log} <= set(task_keys) | {r.key for r, _ in resp_pairs}


def _saved_keys(cache) -> set[str]:
    with sqlite3.connect(cache) as db:
        return {k for (k,) in db.execute("SELECT key FROM responses")}


@pytest.mark.slow
def test_sigkill_mid_generate_then_rerun_asks_no_saved_request_again(tmp_path):
    def slow_reply(body):
        time.sleep(0.05)  # slow enough that the kill lands mid-stage
        return schema_reply(body)

    ref, out = tmp_path / "ref", tmp_path / "killed"
    with FakeOpenAIServer([], default=schema_reply) as srv:  # the same run, never killed
        assert main(["run", "--out", str(ref), "--until", "generate", *SMALL, *openai_args(srv.url, 10)]) == 0
    with FakeOpenAIServer([], default=slow_reply) as srv, FaultProxy(upstream(srv)) as proxy:
        cmd = [sys.executable, "-m", "seedfactory", "run", "--out", str(out), "--until", "generate", *SMALL,
               *openai_args(proxy.url, 10), "teacher.concurrency=2"]
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
        deadline = time.monotonic() + 120
        while sum(e["delivered"] for e in proxy.log) < 16 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        cut = len(proxy.log)
        answered = {e["key"] for e in proxy.log if e["delivered"]}
        saved = _saved_keys(out / "cache.sqlite")
        assert not (out / "generate" / ".done").exists() and len(saved) >= 14

        assert main(["run", "--out", str(out), "--until", "generate", *SMALL, *openai_args(proxy.url, 10)]) == 0
        again = [e["key"] for e in proxy.log[cut:]]
    assert not saved & set(again)  # nothing answered and saved before the kill was sent again
    assert len(answered - saved) <= 2  # at most the requests in flight at the kill were lost
    rows = read_jsonl_dicts(out / "generate" / "candidates.jsonl")
    assert [r["id"] for r in rows] == [r["id"] for r in read_jsonl_dicts(ref / "generate" / "candidates.jsonl")]
    assert len({r["id"] for r in rows}) == len(rows)  # none lost, none doubled
    print(f"\nSIGKILL: {len(answered)} answered before the kill, {len(saved)} saved, "
          f"{len(answered - saved)} answered but unsaved, {len(again)} sent after, total {len(rows)} rows")
