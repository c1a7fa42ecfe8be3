"""label_pool (generators/label_pool.py): pool inputs become tasks, rows keep their source, uncertain
rows are queued first, a remote teacher never gets the pool unless allowed; fake runs end to end."""

import json
import shutil
from pathlib import Path

import pytest

from seedfactory.generators import label_pool
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.plan import Env, Plan
from seedfactory.generators.pool import PoolItem
from seedfactory.generators.strategies import choose
from seedfactory.pipeline import run
from seedfactory.publish import pool_card
from seedfactory.schemas import Example, RejectLog, SeedExample, load_config
from seedfactory.schemas.config import ConfigError, GenerateConfig, ModelConfig
from seedfactory.util.files import read_json, read_jsonl
from tests.factories import make_example

SEEDS = [SeedExample(id=f"s{i}", instruction=f"Extract the fields ({i}).", input=f"text {i}", output={"a": str(i)})
         for i in range(4)]
POOL = [PoolItem(id=f"p{i}", text=f"pool input number {i}", file="in.jsonl", row=i + 1, start=0, end=19)
        for i in range(10)]


def env(pool=POOL):
    return Env(FakeBackend().generate, ModelConfig(), GenerateConfig(shots=2), 0, RejectLog("generate"), pool=pool)


def test_pool_inputs_become_prefix_stable_tasks_with_their_source():
    e = env()
    few = label_pool.write_tasks(SEEDS, Plan("label_pool", 3), e)
    many = label_pool.write_tasks(SEEDS, Plan("label_pool", 8), env())
    assert [t.input for t in few] == [f"pool input number {i}" for i in range(3)]
    assert [t.model_dump() for t in many[:3]] == [t.model_dump() for t in few]
    assert few[0].source == {"file": "in.jsonl", "row": 1, "start": 0, "end": 19, "pool_id": "p0"}
    assert all(len(t.seed_ids) == 2 and t.instruction in {s.instruction for s in SEEDS} for t in few)
    assert e.notes == {"pool_inputs_labelled": 3, "pool_inputs_left": 7}
    with pytest.raises(ValueError, match="label_pool needs pool inputs: set seeds.pool"):
        label_pool.write_tasks(SEEDS, Plan("label_pool", 3), env(pool=[]))


def test_auto_picks_label_pool_only_with_a_pool_and_a_schema():
    assert choose(SEEDS, {"type": "object"}, "auto", pool=True) == {"label_pool": 1.0}
    assert choose(SEEDS, {"type": "object"}, "auto", pool=False) == {"output_first": 1.0}
    assert choose(SEEDS, None, "auto", pool=True) == {"document_qa": 1.0}
    assert choose(SEEDS, None, "auto", pool=False) == {"input_variation": 1.0}


def test_uncertain_pool_rows_come_first_least_agreement_first():
    def row(pid, rid, consensus, strategy="label_pool"):
        r = make_example(id=rid, prompt_id=pid)
        return r.model_copy(update={"scores": {"consensus": consensus},
                                    "lineage": r.lineage.model_copy(update={"strategy": strategy})})

    rows = [row("a", "a1", 1.0), row("a", "a2", 1.0), row("b", "b1", 0.5), row("b", "b2", 0.75),
            row("c", "c1", 0.25), row("d", "d1", 0.1, strategy="output_first")]
    assert [r.id for r in label_pool.uncertainty(rows)] == ["c1", "b2"]  # b's most agreed-with answer


def test_a_remote_model_gets_the_pool_only_when_allowed():
    local = ModelConfig(backend="openai", base_url="http://127.0.0.1:8000/v1")
    remote = ModelConfig(backend="openai", base_url=["http://127.0.0.1:8000/v1", "https://api.example.com/v1"])
    assert label_pool.remote_pool_refusal({"teacher": local, "judge.model": ModelConfig()}) is None
    why = label_pool.remote_pool_refusal({"teacher": local, "judge.model": remote})
    assert why.startswith("judge.model is remote") and "judge.model.allow_remote_pool=true" in why
    assert label_pool.remote_pool_refusal({"teacher": ModelConfig(backend="openai")}).startswith(
        "teacher is remote (the OpenAI API)")
    allowed = remote.model_copy(update={"allow_remote_pool": True})
    assert label_pool.remote_pool_refusal({"teacher": allowed}) is None


@pytest.fixture(scope="module")
def pool_dir(tmp_path_factory):
    """20 rows of the bundled pool, one of them twice, and an evaluation case's input copied in."""
    d = tmp_path_factory.mktemp("pool")
    lines = Path("seeds/pools/appointment-requests/requests.jsonl").read_text().splitlines()[:20]
    case = json.loads(Path("seeds/appointment-requests.eval.jsonl").read_text().splitlines()[0])
    lines += [lines[3], json.dumps({"text": case["input"]})]
    (d / "inbox.jsonl").write_text("\n".join(lines) + "\n")
    shutil.copy("seeds/pools/appointment-requests/notes/webform-1.html", d / "web.html")
    return d


def pool_run(tmp_path, fake_run, pool_dir, *overrides, until="review"):
    cfg = load_config(None, fake_run("seeds.path=appointment-requests", f"seeds.pool={pool_dir}",
                                     "generate.num_tasks=8", "review.sample_size=4", *overrides))
    run(cfg, tmp_path, progress=False, until=until, log=lambda m: None)
    return read_json(tmp_path / "stats.json")["stages"]


def test_a_fake_run_labels_the_pool_and_queues_uncertain_rows_first(tmp_path, fake_run, pool_dir):
    stages = pool_run(tmp_path / "report", fake_run, pool_dir, until="publish")
    assert stages["pool"]["files_read"] == 2 and stages["pool"]["rejected"] == {"pool_duplicate": 1,
                                                                                 "pool_contaminated": 1}
    assert stages["pool"]["out"] == 21 and stages["pool"]["pii"]["entities"]["person"] > 0
    assert stages["generate"]["strategy"] == {"label_pool": 1.0} and stages["generate"]["pool_inputs_left"] == 13
    rows = list(read_jsonl(tmp_path / "report" / "generate" / "candidates.jsonl", Example))
    assert rows and all(r.lineage.strategy == "label_pool" and r.lineage.source["file"].endswith("inbox.jsonl")
                        for r in rows)
    pool_texts = [json.loads(line)["text"] for line in (pool_dir / "inbox.jsonl").read_text().splitlines()]
    assert all(pool_texts[r.lineage.source["row"] - 1] == r.input for r in rows)
    scored = {r.id: r for r in read_jsonl(tmp_path / "report" / "judge" / "scored.jsonl", Example)}
    sample = tmp_path / "report" / "review" / "sample.jsonl"
    queued = [json.loads(line)["id"] for line in sample.read_text().splitlines()]
    first = queued[: stages["review"]["queued_uncertain"]]
    assert first, "the fake teacher's answers disagree on some pool input"
    agreement = [scored[i].scores["consensus"] for i in first]
    assert agreement == sorted(agreement) and max(agreement) < 1.0
    card = pool_card(tmp_path / "report")
    assert card[0] == "## Pool" and card[2].startswith("Pool: 2 of 2 files read (0 skipped), 23 inputs, 21 kept")
    assert "reported only (pool.pii=report)" in card[2]
    published = stages["publish"]["pii"]
    assert published["rows"] == stages["publish"]["sft"] and published["rows_with_pii"] > 0  # names copied out
    assert card[3].startswith(f"Published rows with personal data in their input or output: "
                              f"{published['rows_with_pii']} of {published['rows']} (")
    # masking: nobody's phone, e-mail or name reaches the teacher, and grounding is unchanged
    masked = pool_run(tmp_path / "mask", fake_run, pool_dir, "pool.pii=mask", until="validate")
    assert masked["pool"]["pii"]["masked"] == stages["pool"]["pii"]["inputs_with_pii"] > 0
    masked_rows = list(read_jsonl(tmp_path / "mask" / "generate" / "candidates.jsonl", Example))
    assert not any("@example" in r.input and r.input in pool_texts for r in masked_rows)
    assert masked["validate"]["quality"]["grounded_share"] == stages["validate"]["quality"]["grounded_share"]


def test_a_mix_and_a_remote_teacher(tmp_path, fake_run, pool_dir):
    stages = pool_run(tmp_path / "mix", fake_run, pool_dir, "generate.strategy={label_pool: 1, output_first: 1}",
                      until="generate")
    assert stages["generate"]["tasks_by_strategy"]["label_pool"] == 4
    assert stages["generate"]["tasks_by_strategy"]["output_first:template"] == 4
    with pytest.raises(ConfigError, match="teacher is remote .*teacher.allow_remote_pool=true"):
        pool_run(tmp_path / "remote", fake_run, pool_dir, "teacher.backend=openai",
                 "teacher.base_url=https://api.example.com/v1", until="generate")
