"""A run directory you can trust: outages are asked again, damaged files are noticed and redone, one
writer at a time, a corrupt request cache is rebuilt. Fake teacher/judge and the fake HTTP server."""

import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest

from seedfactory import generators
from seedfactory.cli import main
from seedfactory.generators.fake import FakeBackend, default_responder, synth_instance
from seedfactory.generators.fake_server import FakeOpenAIServer
from seedfactory.pipeline import run
from seedfactory.rundir import Marker
from seedfactory.schemas import load_config
from seedfactory.util.files import read_json, read_jsonl_dicts


@pytest.fixture
def out(tmp_path):
    return tmp_path / "run"


def ran(logs):
    return [line.split()[1].rstrip(":") for line in logs if line.endswith("...")]


def server_reply(body: dict) -> str:
    """What a healthy OpenAI-compatible server answers: a schema instance for structured requests."""
    rng = random.Random(json.dumps(body["messages"], sort_keys=True) + str(body.get("seed")))
    fmt = body.get("response_format")
    if fmt:
        return json.dumps(synth_instance(fmt["json_schema"]["schema"], rng))
    return "Fake answer: " + " ".join(rng.choice(["amber", "delta", "kettle", "north"]) for _ in range(6)) + "."


@pytest.mark.slow  # ~80 s of real backoff waits against a server answering 503
def test_outage_stops_the_run_with_the_server_error_and_the_same_command_completes_later(out, capsys, fake_run):
    from datasets import load_from_disk

    state = {"down": True}
    with FakeOpenAIServer([], default=lambda body: ("status", 503) if state["down"] else server_reply(body)) as srv:
        args = ["run", "--out", str(out), "--no-progress", "--until", "publish", *fake_run(), "teacher.backend=openai",
                f"teacher.base_url={srv.url}", "teacher.max_retries=0", "generate.num_tasks=6"]
        assert main(args) == 2
        err = capsys.readouterr().err
        failed = re.search(r"seedfactory: generate: (\d+) of \1 model requests failed \(100% > "
                           r"generate.max_failed_share=0.5\); last server error: .*HTTP 503", err)
        assert failed and "Traceback" not in err
        assert (out / "split" / ".done").is_file() and not (out / "generate" / ".done").exists()
        assert len(srv.requests) == int(failed.group(1))  # nothing got further than the teacher's first batch
        state["down"] = False
        assert main(args) == 0
    summary = capsys.readouterr()
    stats = read_json(out / "stats.json")["stages"]
    assert stats["generate"]["tasks"] > 0 and stats["generate"]["quarantined"] == 0
    assert stats["judge"]["out"] > 0
    sft = load_from_disk(str(out / "dataset"))["sft"]
    assert len(sft) == stats["judge"]["out"] > 0  # recovered rows reach the dataset
    print(summary.out)  # the funnel, for the record (pytest -s)


def test_a_partial_outage_leaves_requests_owed_and_the_next_run_asks_only_those(out, monkeypatch, fake_run):
    state = {"down": True}
    sent = []

    def flaky(req):
        sent.append(req.key)
        if state["down"] and int(req.key[:8], 16) % 5 == 0:  # about a fifth of requests fail
            return ConnectionError("server went away")
        return default_responder(req)

    monkeypatch.setitem(generators.backends.BACKENDS, "fake",
                        lambda cfg, progress: FakeBackend(responder=flaky, name="fake"))
    cfg = load_config(None, fake_run())
    first = run(cfg, out, progress=False, until="publish")["stages"]
    owed = Marker.read(out / "generate" / ".done").owed
    assert owed == first["generate"]["quarantined"] > 0
    state["down"] = False
    sent.clear()
    logs = []
    second = run(cfg, out, progress=False, until="publish", log=logs.append)["stages"]
    assert f"warning: generate: {owed} requests still owed from a server outage; asking them again" in logs
    assert Marker.read(out / "generate" / ".done").owed == 0
    g = second["generate"]
    assert g["requests_sent"] >= owed and g["quarantined"] == 0
    assert g["out"] > first["generate"]["out"]
    # the recovered rows flow on: every stage that reads them ran again
    assert {"validate", "judge", "review", "publish"} <= set(ran(logs))
    # the recovered rows reach validation (whether the fake's answers to them pass is not this test's matter)
    assert second["validate"]["in"] > first["validate"]["in"] and second["judge"]["in"] == second["validate"]["out"]


def test_judge_outage_above_its_share_stops_the_run(out, monkeypatch, fake_run):
    def judge_down(req):
        return ConnectionError("judge unreachable") if req.purpose.startswith("judge") else default_responder(req)

    monkeypatch.setitem(generators.backends.BACKENDS, "fake",
                        lambda cfg, progress: FakeBackend(responder=judge_down, name="fake"))
    from seedfactory.pipeline import StageFailed

    with pytest.raises(StageFailed, match=r"judge: (\d+) of \1 model requests failed .* judge.max_failed_share=0.5"):
        run(load_config(None, fake_run()), out, progress=False, until="publish")
    assert (out / "validate" / ".done").is_file() and not (out / "judge" / ".done").exists()


def test_no_rows_left_is_a_clear_message_not_a_crash(out, capsys, fake_run):
    from datasets import load_from_disk

    args = ["run", "--out", str(out), "--no-progress", *fake_run(), "validate.min_chars=100000"]
    assert main([*args, "--until", "publish"]) == 0  # an empty dataset, said so, not a crash
    err = capsys.readouterr().err
    # every row left: too long for min_chars, or an impossible value the fake teacher wrote (checked first)
    found = re.search(r"warning: validate: no rows left \((\d+) in; ([^)]*)\)", err)
    assert found and "Traceback" not in err
    drops = dict((r, int(n)) for r, n in re.findall(r"(\w+) (\d+)", found.group(2)))
    assert set(drops) <= {"too_short", "invalid_value"} and drops["too_short"] > 0
    assert sum(drops.values()) == int(found.group(1))
    assert len(load_from_disk(str(out / "dataset"))["sft"]) == 0
    assert main([*args, "--until", "train"]) == 2
    err = capsys.readouterr().err
    assert f"seedfactory: {out / 'dataset'}: no rows in the sft split; see rejects.jsonl for why" in err
    assert "Traceback" not in err


def test_publish_of_no_rows_writes_an_empty_dataset(out, fake_run):
    from datasets import load_from_disk

    from seedfactory.context import RunContext
    from seedfactory.publish import build_dataset

    run(load_config(None, fake_run()), out, progress=False, until="review")
    ctx = RunContext(load_config(None, fake_run()), out, progress=False)
    ctx.begin("publish")
    counts = build_dataset(ctx, [], [], {}, out / "empty")
    assert (counts["sft"], counts["preference"]) == (0, 0)
    ds = load_from_disk(str(out / "empty"))
    assert len(ds["sft"]) == 0 and "messages" in ds["sft"].column_names


@pytest.fixture(scope="module")
def finished(published_run):
    """A run finished up to publish, copied by each test that damages it."""
    return published_run()


def tear(path):
    """Cut a file in the middle of its last line, as a kill during a non-atomic write would."""
    data = path.read_bytes().rstrip(b"\n")
    last = data.rfind(b"\n") + 1
    path.write_bytes(data[: last + (len(data) - last) // 2])


@pytest.mark.parametrize("rel,stage", [
    ("split/train.jsonl", "split"), ("split/schema.json", "split"), ("generate/candidates.jsonl", "generate"),
    ("generate/tasks.jsonl", "generate"), ("validate/kept.jsonl", "validate"), ("judge/verdicts.jsonl", "judge"),
    ("judge/rejects.jsonl", "judge"), ("judge/stats.json", "judge"), ("review/sample.jsonl", "review"),
    ("dataset/sft/data-00000-of-00001.arrow", "publish"), ("dataset/dataset_dict.json", "publish"),
])
def test_a_torn_stage_file_is_named_and_its_stage_redone(finished, out, rel, stage, fake_run):
    cfg = load_config(None, fake_run())
    shutil.copytree(finished, out)
    first = read_json(out / "stats.json")
    tear(out / rel)
    logs = []
    second = run(cfg, out, progress=False, until="publish", log=logs.append)
    assert any(line.startswith(f"warning: {stage}: {out / rel} is ") and f"rerunning {stage}" in line
               for line in logs), logs
    assert ran(logs)[0] == stage
    def funnel(stats):
        return {k: (v["in"], v["out"], v["rejected"]) for k, v in stats["stages"].items()}

    assert funnel(second) == funnel(first)  # the same funnel, the damage mended
    assert Marker.read(out / stage / ".done").damaged(out) is None


def test_a_torn_marker_or_rejects_of_an_unfinished_stage_reruns_quietly(out, fake_run):
    cfg = load_config(None, fake_run())
    run(cfg, out, progress=False, until="judge")
    tear(out / "validate" / ".done")
    (out / "review").mkdir()
    (out / "review" / "rejects.jsonl").write_text('{"stage": "review", "rea')  # a stage killed mid-write
    logs = []
    stats = run(cfg, out, progress=False, until="review", log=logs.append)
    assert ran(logs) == ["validate", "review"]  # same validate output, so judge stands
    assert stats["stages"]["review"]["queued"] == 5
    assert read_jsonl_dicts(out / "rejects.jsonl")  # the funnel is whole again


def test_reading_a_torn_file_names_file_and_line(out, fake_run):
    from seedfactory.context import RunContext
    from seedfactory.util.files import DamagedFile

    run(load_config(None, fake_run()), out, progress=False, until="split")
    tear(out / "split" / "train.jsonl")
    n = len((out / "split" / "train.jsonl").read_text().splitlines())
    with pytest.raises(DamagedFile, match=rf"{out / 'split' / 'train.jsonl'}:{n}: bad SeedExample record"):
        RunContext(load_config(None, fake_run()), out, progress=False).train_seeds


def test_a_corrupt_request_cache_is_set_aside_and_rebuilt(out, capsys, fake_run):
    cfg = load_config(None, fake_run())
    first = run(cfg, out, progress=False, until="generate")["stages"]["generate"]
    cache = out / "cache.sqlite"
    with sqlite3.connect(cache) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert db.execute("SELECT count(*) FROM responses").fetchone()[0] > 0
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 2])
    (out / "generate" / ".done").unlink()  # generate must ask its questions again
    logs = []
    stats = run(cfg, out, progress=False, until="generate", log=logs.append)
    err = capsys.readouterr().err
    assert f"warning: {cache}: unreadable request cache" in err and "starting an empty one" in err
    assert list(out.glob("cache.sqlite.corrupt-*"))
    g = stats["stages"]["generate"]
    assert g["requests_sent"] == first["requests_sent"] > 0  # every request asked again: nothing came from
    assert g["cache_hits"] == first["cache_hits"]  # the old cache (only repeats within a batch are hits)
    assert ran(logs) == ["generate"]  # split's files stand: the run resumed from its stage files


HOLD = ("import sys, time\nfrom seedfactory.rundir import RunDirLock\nlock = RunDirLock(sys.argv[1]).__enter__()\n"
        "print('held', flush=True)\ntime.sleep(120)\n")


def test_a_second_run_on_the_same_out_stops_at_once_naming_the_holder(out, capsys, fake_run):
    assert main(["run", "--out", str(out), "--no-progress", "--until", "split", *fake_run()]) == 0
    config_before = (out / "config.yaml").read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        capsys.readouterr()
        code = main(["run", "--out", str(out), "--no-progress", *fake_run(), "generate.num_tasks=5"])
        err = capsys.readouterr().err
        assert code == 2
        assert f"{out}: another seedfactory run is writing here (pid {holder.pid} on " in err
        assert (out / "config.yaml").read_bytes() == config_before  # the other run's files untouched
    finally:
        holder.kill()  # as a crash would: the lock is left behind, unreleased
        holder.wait()
    assert (out / "run.lock").exists() and (out / "run.lock.holder").exists()
    assert main(["run", "--out", str(out), "--no-progress", "--until", "generate", *fake_run()]) == 0  # taken over
    assert (out / "generate" / ".done").is_file() and not (out / "run.lock.holder").exists()


def test_out_that_is_a_file_is_a_clear_error(tmp_path, capsys, fake_run):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    assert main(["run", "--out", str(f), "--no-progress", *fake_run()]) == 2
    assert f"seedfactory: --out {f}: {f} exists and is not a folder" in capsys.readouterr().err
    assert main(["run", "--out", str(f / "run"), "--no-progress", *fake_run()]) == 2
    assert f"{f} exists and is not a folder" in capsys.readouterr().err
    assert f.read_text() == "x"


def test_a_bug_keeps_its_traceback(out, monkeypatch, fake_run):
    def broken(req):
        raise KeyError("a bug, not the user's doing")

    monkeypatch.setitem(generators.backends.BACKENDS, "fake",
                        lambda cfg, progress: FakeBackend(responder=broken, name="fake"))
    with pytest.raises(KeyError):
        main(["run", "--out", str(out), "--no-progress", "--until", "generate", *fake_run()])


def test_a_damaged_review_queue_is_one_line(finished, out, capsys, fake_run):
    shutil.copytree(finished, out)
    queue = out / "review" / "queue.sqlite"
    with sqlite3.connect(queue) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(queue.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # the pages after the header, overwritten
    queue.write_bytes(bytes(data))
    code = main(["run", "--out", str(out), "--no-progress", "--until", "publish", *fake_run()])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"seedfactory: {queue}: " in err and ("damaged review queue" in err or "cannot open" in err)
