"""The runner end to end with the packaged fakes (fake teacher/judge, hashing embedder): files,
funnel, rejects, resume without paying twice, review verdicts flowing into the dataset, CLI errors."""

import json

import pytest

from seedfactory import generators
from seedfactory.cli import main
from seedfactory.generators.fake import FakeBackend, default_responder
from seedfactory.pipeline import run
from seedfactory.schemas import load_config
from seedfactory.steps import STAGES
from seedfactory.util.files import read_json, read_jsonl_dicts

SELF_INSTRUCT = "generate.strategy=self_instruct"  # with fake_run (conftest.py): a small run on fakes


@pytest.fixture
def out(tmp_path):
    return tmp_path / "run"


def test_run_until_publish_writes_everything_and_a_consistent_funnel(out, fake_run):
    from datasets import load_from_disk

    stats = run(load_config(None, fake_run(SELF_INSTRUCT)), out, progress=False, until="publish")
    for f in ["config.yaml", "rejects.jsonl", "stats.json", "split/train.jsonl", "split/heldout.jsonl",
              "generate/candidates.jsonl", "validate/kept.jsonl", "judge/verdicts.jsonl", "judge/pairs.jsonl",
              "review/queue.sqlite", "dataset/README.md"]:
        assert (out / f).is_file(), f
    st = stats["stages"]
    assert list(st) == ["split", "generate", "baseline", "validate", "judge", "review", "publish"]
    assert st["baseline"]["in"] == st["split"]["eval_cases"] == 50  # the teacher answered every evaluation case
    assert st["split"]["in"] == 22 and st["split"]["out"] + st["split"]["heldout"] == 22
    assert 0 < st["generate"]["tasks"] <= 12 and st["generate"]["out"] == 3 * st["generate"]["tasks"]
    assert st["generate"]["tasks_by_strategy"] == {"self_instruct": st["generate"]["tasks"]}
    assert st["validate"]["in"] == st["generate"]["out"]
    # every row that went into a stage came out or was rejected with a reason
    for name in ["validate", "judge"]:
        assert st[name]["in"] == st[name]["out"] + sum(st[name]["rejected"].values())
    rejects = read_jsonl_dicts(out / "rejects.jsonl")
    assert all(r["stage"] and r["reason"] for r in rejects)
    assert len(rejects) == stats["rejects"]
    ds = load_from_disk(str(out / "dataset"))
    assert set(ds) == {"sft", "preference"}
    assert len(ds["sft"]) == st["judge"]["out"] and len(ds["sft"]) > 0
    row = ds["sft"][0]
    assert row["seed_ids"] and row["teacher"] == "fake:smollm2-135m" and row["judge_score"] is not None
    assert json.loads(row["output"]).keys() >= {"vendor", "total"}  # the schema domain's JSON output
    assert row["messages"][1]["content"] == row["output"]
    assert len(ds["preference"]) == st["judge"]["pairs"]
    assert "| validate |" in (out / "dataset" / "README.md").read_text()


def test_judge_stage_accounts_for_every_row(out, fake_run):
    stats = run(load_config(None, fake_run(SELF_INSTRUCT)), out, progress=False, until="judge")
    j = stats["stages"]["judge"]
    assert j["in"] == j["out"] + sum(j["rejected"].values())
    assert j["responses_neutralised"] == 0  # the fake teacher writes nothing addressed to the grader


def test_rerun_skips_finished_stages_and_config_change_reruns_from_there(out, capsys, fake_run):
    cfg = load_config(None, fake_run(SELF_INSTRUCT))
    run(cfg, out, progress=False, until="publish")
    first = read_json(out / "stats.json")
    logs = []
    run(cfg, out, progress=False, until="publish", log=logs.append)
    assert all("skipped" in line for line in logs)
    assert read_json(out / "stats.json")["stages"] == first["stages"]
    logs.clear()
    cfg = load_config(None, fake_run(SELF_INSTRUCT, "judge.min_consensus=0.99"))
    run(cfg, out, progress=False, until="publish", log=logs.append)
    ran = [line.split()[1].rstrip(":") for line in logs if line.endswith("...")]
    assert ran == ["judge", "review", "publish"]
    assert not [line for line in logs if line.startswith("warning")]  # a changed key is no cause for warning
    assert read_json(out / "stats.json")["stages"]["judge"]["out"] < first["stages"]["judge"]["out"]


# One key per config section (and per dotted key a stage names) -> exactly the stages that read it, i.e.
# whose own fingerprint changes (a stage downstream reruns when its upstream files change: their digests
# are held fixed here).
RERUNS = [
    ("seed=1", ["split"]),
    ("seeds.holdout=0.3", ["split"]),
    ("teacher.temperature=0.5", ["generate", "baseline"]),
    ("generate.num_tasks=5", ["generate"]),
    ("validate.min_chars=3", ["validate"]),
    ("judge.min_score=2", ["judge", "evaluate"]),
    ("review.sample_size=3", ["review"]),
    ("review.min_reviewed=1", ["train"]),
    ("review.max_defect_rate=0.5", ["train"]),
    ("review.lease_minutes=5", []),  # the review server's setting: no stage output depends on it
    ("train.sft_steps=2", ["train"]),
    ("eval.max_new_tokens=10", ["baseline", "evaluate"]),
    ("eval.engine=transformers", ["baseline", "evaluate"]),  # the baseline stage hashes the whole eval section
    ("tune.trials=2", []),  # `seedfactory tune` only: no stage output depends on it
]


def fingerprints(out, args):
    """Every stage's fingerprint as `run` computes it, with every upstream stage's files unchanged."""
    from seedfactory.context import RunContext
    from seedfactory.pipeline import fingerprint

    class SameFiles:
        def data_digest(self):
            return "unchanged"

    ctx = RunContext(load_config(None, args), out, progress=False)
    markers = {name: SameFiles() for name in STAGES}
    return {name: fingerprint(ctx, name, markers) for name in STAGES}


@pytest.mark.parametrize("change,reruns", RERUNS, ids=[c for c, _ in RERUNS])
def test_one_config_change_reruns_exactly_the_stages_that_read_it(out, change, reruns, fake_run):
    before, after = fingerprints(out, fake_run(SELF_INSTRUCT)), fingerprints(out, fake_run(SELF_INSTRUCT, change))
    assert [name for name in STAGES if before[name] != after[name]] == reruns


def test_every_config_section_has_a_rerun_case():
    sections = {c.split("=")[0].split(".")[0] for c, _ in RERUNS}
    assert sections == set(load_config(None, []).dump())


@pytest.mark.parametrize("crash_at", ["rejects.jsonl", "stats.json"])
def test_a_crash_before_the_marker_leaves_the_stage_unfinished(out, monkeypatch, crash_at, fake_run):
    """A crash while a stage writes its files must not leave a `.done`: the next run redoes the stage."""
    from seedfactory import pipeline

    class Crash(Exception):
        pass

    def crashing(real):
        def write(path, *a, **kw):
            if path == out / "validate" / crash_at:
                raise Crash(str(path))
            return real(path, *a, **kw)
        return write

    monkeypatch.setattr(pipeline, "write_jsonl", crashing(pipeline.write_jsonl))
    monkeypatch.setattr(pipeline, "write_json", crashing(pipeline.write_json))
    cfg = load_config(None, fake_run(SELF_INSTRUCT))
    with pytest.raises(Crash):
        run(cfg, out, progress=False, until="validate", log=lambda m: None)
    assert (out / "generate" / ".done").is_file() and not (out / "validate" / ".done").exists()
    monkeypatch.undo()
    logs = []
    run(cfg, out, progress=False, until="validate", log=logs.append)
    assert [line.split()[1].rstrip(":") for line in logs if line.endswith("...")] == ["validate"]


def test_killed_run_resumes_without_paying_for_a_request_twice(out, monkeypatch, fake_run):
    class Killed(Exception):
        pass

    sent, state = [], {"recovered": False}

    def flaky(req):
        sent.append(req.key)
        if len(sent) > 20 and not state["recovered"]:
            raise Killed("the machine went down")  # mid-way through the third batch of answers
        return default_responder(req)

    monkeypatch.setitem(generators.backends.BACKENDS, "fake",
                        lambda cfg, progress: FakeBackend(responder=flaky, name="fake"))
    cfg = load_config(None, fake_run(SELF_INSTRUCT, "generate.batch_size=4"))
    with pytest.raises(Killed):
        run(cfg, out, progress=False, until="generate")
    assert not (out / "generate" / ".done").exists()
    answered = set(sent[:20])  # 12 tasks + 2 batches of 4 answers came back before the crash
    state["recovered"] = True
    sent.clear()
    stats = run(cfg, out, progress=False, until="generate")
    g = stats["stages"]["generate"]
    assert g["cache_hits"] == 20
    assert g["requests_sent"] == 12 + 3 * g["tasks"] - 20
    assert not answered & set(sent)  # nothing that was answered before is asked again


def test_review_verdicts_flow_into_the_dataset(out, fake_run):
    from datasets import load_from_disk

    from seedfactory.review import ReviewStore

    cfg = load_config(None, fake_run(SELF_INSTRUCT))
    run(cfg, out, progress=False, until="publish")
    with ReviewStore(out / "review" / "queue.sqlite") as store:
        in_sft = {r["id"] for r in read_jsonl_dicts(out / "judge" / "sft.jsonl")}
        items = [item for item in store.pending() if item.id in in_sft]  # the queue also samples low scores
        rejected, edited = items[0].id, items[1].id
        store.decide(rejected, "rejected", reviewer="ann", note="wrong total")
        new = {"vendor": "Edited GmbH", "invoice_number": None, "date": None, "currency": "EUR", "total": 1.0,
               "tax": None}
        store.decide(edited, "edited", edited_output=new, reviewer="ann")
    logs = []
    run(cfg, out, progress=False, until="publish", log=logs.append)  # the verdicts are an input of publish
    assert [line.split()[1].rstrip(":") for line in logs if line.endswith("...")] == ["publish"]
    sft = load_from_disk(str(out / "dataset"))["sft"]
    assert rejected not in sft["id"]
    assert json.loads(sft[sft["id"].index(edited)]["output"]) == new
    reasons = [(r["stage"], r["reason"], r["detail"]) for r in read_jsonl_dicts(out / "rejects.jsonl")
               if r["row_id"] == rejected]
    assert ("publish", "review", "wrong total (reviewer ann)") in reasons


def test_the_label_check_sends_away_labels_the_teacher_chose_without_a_second_signal(out, fake_run):
    """The fake teacher's currency is random: with the check on, a self-instruct row keeps its label only
    where the text writes it; the check's figures are in judge/labels.json."""
    cfg = load_config(None, fake_run(SELF_INSTRUCT, "validate.label_check=true"))
    run(cfg, out, progress=False, until="judge")
    labels = json.loads((out / "judge" / "labels.json").read_text())
    assert "currency" in labels and labels["currency"]["applied"] is False  # hash embedder: no reliable classifier
    gone = [r for r in read_jsonl_dicts(out / "judge" / "rejects.jsonl") if r["reason"] == "label_unsupported"]
    assert gone and all("currency=" in r["detail"] for r in gone)
    for row in read_jsonl_dicts(out / "judge" / "sft.jsonl"):  # what stays writes its currency in the text
        assert row["output"]["currency"].casefold() in row["input"].casefold()


def test_a_reviewer_rejecting_a_pairs_chosen_row_removes_the_pair(out, fake_run):
    from datasets import load_from_disk

    from seedfactory.review import ReviewStore

    # every row is queued; the fake teacher's random labels would leave without the seeds' classifier
    cfg = load_config(None, fake_run(SELF_INSTRUCT, "review.sample_size=100"))
    run(cfg, out, progress=False, until="publish")
    pairs = read_jsonl_dicts(out / "judge" / "pairs.jsonl")
    assert len(pairs) >= 2
    with ReviewStore(out / "review" / "queue.sqlite") as store:
        queued = {item.id for item in store.items()}
        assert pairs[0]["chosen_id"] in queued
        # a losing side the reviewers saw, if any (most are validation's rejects: an impossible value)
        losing = [p["rejected_id"] for p in pairs[1:] if p["rejected_id"] in queued][:1]
        store.decide(pairs[0]["chosen_id"], "rejected", reviewer="ann")
        for row_id in losing:
            store.decide(row_id, "rejected", reviewer="ann")  # the losing side: the pair stands
    run(cfg, out, progress=False, until="publish", log=lambda m: None)
    ds = load_from_disk(str(out / "dataset"))
    assert ds["preference"]["id"] == [p["id"] for p in pairs[1:]]
    assert pairs[0]["chosen_id"] not in ds["sft"]["id"]


def test_an_edited_seed_file_reruns_the_split_and_what_follows(out, tmp_path, fake_run):
    from seedfactory.seeds import resolve_seed_path

    seeds = tmp_path / "mine.jsonl"
    seeds.write_text(resolve_seed_path("invoice-fields").read_text())
    schema = tmp_path / "mine.schema.json"
    schema.write_text(resolve_seed_path("invoice-fields").with_name("invoice-fields.schema.json").read_text())
    cfg = load_config(None, fake_run(SELF_INSTRUCT, f"seeds.path={seeds}"))
    run(cfg, out, progress=False, until="validate")
    logs = []
    run(cfg, out, progress=False, until="validate", log=logs.append)
    assert all(line.endswith("skipped") for line in logs)
    first = seeds.read_text().splitlines()
    seeds.write_text("\n".join(first[:-1]) + "\n")  # one seed fewer, same config
    logs.clear()
    stats = run(cfg, out, progress=False, until="validate", log=logs.append)
    assert [line.split()[1].rstrip(":") for line in logs if line.endswith("...")] == [
        "split", "generate", "baseline", "validate"]
    assert stats["stages"]["split"]["in"] == len(first) - 1


def test_cli_bad_seed_file_names_file_line_and_field(tmp_path, capsys):
    seeds = tmp_path / "mine.jsonl"
    seeds.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c"}\n')
    code = main(["run", f"seeds.path={seeds}", "--out", str(tmp_path / "r"), "--no-progress", "teacher.backend=fake"])
    assert code == 2
    assert f"{seeds}:2: field 'output': Field required" in capsys.readouterr().err


def test_cli_unknown_key_and_keys_listing(tmp_path, capsys, monkeypatch):
    # Guard: were unknown keys ever ignored, this must not fall through to a real engine run (minutes at
    # 100% CPU): fakes, a stop after the split, and the real engine replaced by one that fails at once.
    def no_engine(cfg, progress):
        raise AssertionError("a fast test reached the real vLLM engine")

    monkeypatch.setitem(generators.backends.BACKENDS, "vllm", no_engine)
    fakes = ["teacher.backend=fake", "judge.model.backend=fake", "validate.embedder=hash", "--until", "split"]
    assert main(["run", "generate.num_tasx=3", *fakes, "--out", str(tmp_path / "r")]) == 2
    assert "generate.num_tasx: Extra inputs are not permitted" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing started
    assert main(["keys"]) == 0
    assert "judge.min_score = 1.0" in capsys.readouterr().out


def test_text_domain_yaml_seeds_run_through(out, fake_run):
    cfg = load_config(None, fake_run(SELF_INSTRUCT, "seeds.path=clause-classify"))
    stats = run(cfg, out, progress=False, until="publish")
    assert stats["stages"]["split"]["in"] >= 10
    kept = read_jsonl_dicts(out / "validate" / "kept.jsonl")
    assert kept and all(isinstance(r["output"], str) for r in kept)


def test_teacher_and_judge_sharing_an_engine_report_their_own_requests(out, fake_run):
    stats = run(load_config(None, fake_run(SELF_INSTRUCT)), out, progress=False, until="judge")
    st = stats["stages"]
    cal = read_json(out / "judge" / "calibration.json")  # the self-test: a rubric score per check, pairs both ways
    assert st["judge"]["requests_sent"] == st["judge"]["in"] + cal["n_good"] + cal["n_bad"] + 2 * cal["pairwise"]["n"]
    per_stage = [st[name]["requests_sent"] for name in ("generate", "baseline", "judge")]
    assert st["baseline"]["requests_sent"] == st["split"]["eval_cases"]
    assert stats["tokens"]["requests_sent"] == sum(per_stage)


def test_output_first_run_keeps_one_grounded_target_per_task(out, fake_run):
    """The default strategy for a schema seed set, with the packaged fakes: the fake teacher writes
    texts that state their target's values, and extracts answers from what a text says."""
    from datasets import load_from_disk

    cfg = load_config(None, fake_run("generate.num_tasks=16", "generate.responses_per_prompt=2",
                                     "review.sample_size=4"))
    stats = run(cfg, out, progress=False, until="publish")
    st = stats["stages"]
    by = st["generate"]["tasks_by_strategy"]
    assert set(by) == {"output_first:template", "output_first:teacher"} and by["output_first:teacher"] > 0
    assert st["generate"]["strategy"] == {"output_first": 1.0}
    sft = read_jsonl_dicts(out / "judge" / "sft.jsonl")
    assert sft and all(r["lineage"]["label"] == "target" for r in sft)
    assert len({r["prompt_id"] for r in sft}) == len(sft)  # one row per task
    assert st["validate"]["quality"]["grounded_share"] == 1.0
    assert (out / "validate" / "calibration.json").is_file() and (out / "judge" / "calibration.json").is_file()
    ds = load_from_disk(str(out / "dataset"))
    assert set(ds["sft"]["strategy"]) <= {"output_first:template", "output_first:teacher"}
    pairs = read_jsonl_dicts(out / "judge" / "pairs.jsonl")
    assert all(p["source"] == "target" for p in pairs)
    assert all(p["chosen_id"] in {r["id"] for r in sft} for p in pairs)


def test_budget_cap_stops_the_stage_cleanly_and_a_raised_cap_resumes(tmp_path, capsys, fake_run):
    full = tmp_path / "full"
    assert main(["run", "--out", str(full), "--until", "generate", "--no-progress", *fake_run(SELF_INSTRUCT)]) == 0
    want = read_jsonl_dicts(full / "generate" / "candidates.jsonl")
    capped = tmp_path / "capped"
    args = ["run", "--out", str(capped), "--until", "generate", "--no-progress", *fake_run(SELF_INSTRUCT)]
    assert main([*args, "teacher.max_tokens_total=3000"]) == 3
    err = capsys.readouterr().err
    assert "stopped cleanly at the budget cap" in err and "raise teacher.max_tokens_total" in err
    assert not (capped / "generate" / ".done").exists()
    assert main([*args, "teacher.max_tokens_total=1000000"]) == 0
    stats = read_json(capped / "stats.json")
    g = stats["stages"]["generate"]
    assert g["cache_hits"] > 0  # what was paid for under the first cap was not asked again
    assert read_jsonl_dicts(capped / "generate" / "candidates.jsonl") == want  # no row lost or doubled
    assert stats["tokens_by_model"]["fake:smollm2-135m"]["requests_sent"] == g["requests_sent"]


def test_dry_run_estimates_the_real_run_and_its_sample_is_not_paid_twice(tmp_path, capsys, fake_run):
    out = tmp_path / "run"
    prices = ["teacher.price_prompt=0.5", "teacher.price_completion=1.5", "generate.num_tasks=24"]
    fakes = fake_run(SELF_INSTRUCT)
    assert main(["run", "--out", str(out), "--dry-run", "--sample", "4", "--no-progress", *fakes, *prices]) == 0
    table = capsys.readouterr().out
    assert "dry run: 4 of 24 tasks sampled, scaled x6" in table and table.splitlines()[-1].startswith("total")
    est = read_json(out / "dry_run.json")["stages"]
    assert not (out / "generate" / ".done").exists()  # it only sampled
    assert main(["run", "--out", str(out), "--until", "judge", "--no-progress", *fakes, *prices]) == 0
    real = read_json(out / "stats.json")["stages"]
    g = real["generate"]
    assert est["generate"]["requests"] == g["requests_sent"] + g["cache_hits"]  # linear in tasks: exact
    assert g["cache_hits"] == est["generate"]["sampled_requests"]  # the sample was not paid for again
    assert abs(est["generate"]["prompt_tokens"] - g["all_prompt_tokens"]) < 0.1 * g["all_prompt_tokens"]
    assert abs(est["judge"]["requests"] - real["judge"]["requests_sent"] - real["judge"]["cache_hits"]) \
        <= 0.2 * est["judge"]["requests"]
    assert est["generate"]["cost"] == round((est["generate"]["prompt_tokens"] * 0.5
                                             + est["generate"]["completion_tokens"] * 1.5) / 1e6, 4)


def test_the_funnel_keeps_later_finished_stages_when_an_earlier_one_is_unfinished(out, fake_run):
    import yaml

    from seedfactory.pipeline import gather

    cfg = load_config(None, fake_run(SELF_INSTRUCT))
    run(cfg, out, progress=False, until="judge")
    assert list(yaml.safe_load((out / "config.yaml").read_text())) == list(cfg.dump())  # the config's own order
    (out / "validate" / ".done").unlink()  # as when a rerun of validate was killed mid-way
    stats = gather(out, log=lambda msg: None)
    assert "validate" not in stats["stages"] and {"split", "generate", "judge"} <= set(stats["stages"])


def test_an_outage_is_a_share_of_every_request_asked_cache_hits_included(fake_run):
    from types import SimpleNamespace

    from seedfactory.pipeline import _outage

    ctx = SimpleNamespace(cfg=load_config(None, fake_run(SELF_INSTRUCT, "judge.max_failed_share=0.2")))
    judge = STAGES["judge"]
    assert _outage(ctx, "judge", judge, {"quarantined": 1, "requests_sent": 1, "cache_hits": 9}) is None  # 1 of 10
    message = _outage(ctx, "judge", judge, {"quarantined": 3, "requests_sent": 1, "cache_hits": 9})
    assert message.startswith("judge: 3 of 10 model requests failed (30% > judge.max_failed_share=0.2)")
    assert _outage(ctx, "judge", judge, {"quarantined": 2}) is None  # nothing asked: no share to speak of
    assert _outage(ctx, "judge", judge, {"requests_sent": 2}) is None  # nothing quarantined
    assert _outage(ctx, "judge", judge, {"quarantined": 0, "requests_sent": 2, "cache_hits": 0}) is None
    assert _outage(ctx, "judge", judge, {"quarantined": 2, "requests_sent": 5, "cache_hits": 5}) is None  # at it
    assert _outage(ctx, "judge", judge, {"quarantined": 1, "cache_hits": 5}) is None  # 1 of 5, all from the cache
    assert _outage(ctx, "validate", STAGES["validate"], {"quarantined": 5, "requests_sent": 5}) is None  # no limit


def test_the_funnel_sums_missing_counts_as_zero_and_rounds_seconds_and_costs(out):
    # hand-written stage stats over finished markers: a count a stage did not report is 0, not 1, a
    # reported 0 stays 0; seconds are summed to a tenth, costs per model to a millionth
    from seedfactory.pipeline import TOKEN_KEYS, gather
    from seedfactory.rundir import Marker
    from seedfactory.util.files import write_json

    stats = {"split": {"seconds": 1.26}, "generate": {"model": "m", "prompt_tokens": 0, "cost": 1.23e-6},
             "judge": {"model": "m", "completion_tokens": 5, "seconds": 0.0}, "validate": {}}
    for name, st in stats.items():
        (out / name).mkdir(parents=True)
        Marker("fp").write(out / name / ".done")
        write_json(out / name / "stats.json", st)
    got = gather(out, log=lambda msg: None)
    assert got["seconds"] == 1.3
    want = dict.fromkeys(TOKEN_KEYS, 0) | {"completion_tokens": 5}
    assert got["tokens"] == want | {"cost": 1.23e-6}
    assert got["tokens_by_model"] == {"m": want | {"cost": 1e-6}}


def test_the_engines_are_freed_before_a_stage_that_runs_alone_and_kept_otherwise(out, monkeypatch, fake_run):
    # a stage runs with the engine earlier stages loaded, unless it runs alone (training); the log
    # says how many quarantined requests a stage owes, and nothing about owing when it owes none
    from seedfactory.context import RunContext
    from seedfactory.pipeline import run_stage
    from seedfactory.rundir import prepare_out
    from seedfactory.steps import Stage

    cfg = load_config(None, fake_run(SELF_INSTRUCT))
    ctx = RunContext(cfg, prepare_out(out), progress=False)
    engine = ctx.backend(cfg.teacher)
    same, logged = [], []

    def fn(owed):
        def stage(c):
            same.append(c.backend(cfg.teacher) is engine)
            return {"in": 3, "out": 2, "quarantined": owed, "requests_sent": 10}
        return stage

    monkeypatch.setitem(STAGES, "shares", Stage(fn(0), []))
    monkeypatch.setitem(STAGES, "owes", Stage(fn(1), []))
    monkeypatch.setitem(STAGES, "alone", Stage(fn(0), [], alone=True))
    for name in ("shares", "owes", "alone"):
        run_stage(ctx, name, "fp", logged.append)
    ctx.close_backends()
    assert same == [True, True, False]
    assert [("owed" in m, m.endswith("; 1 requests owed, asked again next run")) for m in logged] == \
        [(False, False), (True, True), (False, False)]


def test_a_first_run_numbers_its_stages_from_one_and_warns_about_nothing(out, fake_run):
    from seedfactory.pipeline import why_rerun

    assert why_rerun("split", None, "fp", out) == ("not finished", False)
    logged = []
    run(load_config(None, fake_run(SELF_INSTRUCT)), out, progress=False, until="generate", log=logged.append)
    assert logged[0] == f"[1/{len(STAGES)}] split ..." and f"[2/{len(STAGES)}] generate ..." in logged
    assert not [m for m in logged if m.startswith("warning")]


def test_an_outage_message_names_the_last_server_error_or_says_it_is_unknown(fake_run):
    from types import SimpleNamespace

    from seedfactory.pipeline import _outage

    ctx = SimpleNamespace(cfg=load_config(None, fake_run(SELF_INSTRUCT, "judge.max_failed_share=0.2")))
    judge = STAGES["judge"]
    down = {"quarantined": 5, "requests_sent": 5}
    assert "; last server error: unknown. Run the same command" in _outage(ctx, "judge", judge, down)
    message = _outage(ctx, "judge", judge, down | {"last_error": "HTTP 503: busy"})
    assert "; last server error: HTTP 503: busy. Run the same command" in message
    # a count missing or 0 adds nothing to what was asked: 1 of 5 is at the limit, not above it
    for asked in ({"requests_sent": 5}, {"requests_sent": 5, "cache_hits": 0}, {"requests_sent": 0, "cache_hits": 5},
                  {"cache_hits": 5}):
        assert _outage(ctx, "judge", judge, {"quarantined": 1} | asked) is None, asked
