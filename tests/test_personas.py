"""Personas and topics as strata: each persona leads its share of requests in input_variation,
self_instruct and evol_instruct (in-breadth), config topics join the seeds' own, `auto` personas
come from one cached teacher request, and every row's lineage names its topic and persona, through
to the published dataset and the kept-rows tables. Fake teacher only."""

import json
from collections import Counter

from seedfactory.generators import answers, input_variation
from seedfactory.generators import evol_instruct as evol
from seedfactory.generators import self_instruct as si
from seedfactory.generators.cache import CachedBackend
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.personas import parse_personas, resolve_personas, stratum
from seedfactory.schemas import RejectLog, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig

PERSONAS = ["a night-shift nurse", "a retired bike mechanic", "a student on a budget"]
SEEDS = [SeedExample(id=f"s{i}", topic=t, instruction="Answer the customer.", input=f"My {t} question number {i}?",
                     output="Here is how.") for i, t in enumerate(["battery", "battery", "app", "theft", "app"])]


def persona_of(text: str) -> str | None:
    return next((p for p in PERSONAS if f"written by or for this person: {p}." in text), None)


def test_stratum_gives_each_persona_its_share_of_any_prefix_and_meets_every_topic():
    topics = ["a", "b", "c", "d"]  # 4 topics and 2 personas share a factor: a plain i mod P would pair
    personas = ["p", "q"]         # p with a and c only
    seen = [stratum(i, topics, personas) for i in range(16)]
    for k in range(1, 17):
        counts = Counter(p for _, p in seen[:k])
        assert max(counts.values()) - min(counts.get(p, 0) for p in personas) <= 1
    assert set(seen) == {(t, p) for t in topics for p in personas}
    assert [t for t, _ in seen[:8]] == topics * 2
    assert stratum(5, [], []) == (None, None) and stratum(5, [], ["p", "q"]) == (None, "q")


def test_input_variation_personas_lead_their_share_and_drafts_carry_them():
    cfg = GenerateConfig(num_tasks=9, shots=2, topics=["warranty", "app"])  # "app" is a seed topic already
    pairs = input_variation.input_requests(SEEDS, ModelConfig(), cfg, seed=0, personas=PERSONAS)
    users = [r.messages[-1].content for r, _ in pairs]
    assert Counter(persona_of(u) for u in users) == {p: 3 for p in PERSONAS}
    assert [spec.persona for _, spec in pairs] == [persona_of(u) for u in users]
    assert [spec.topic for _, spec in pairs][:4] == ["app", "battery", "theft", "warranty"]
    warranty = [u for (_, spec), u in zip(pairs, users) if spec.topic == "warranty"]
    assert warranty and all("same task about warranty:" in u for u in warranty)  # a seedless config topic
    replies = [json.dumps({"input": f"A new question {i} about my bike?"}) for i in range(len(pairs))]
    drafts = input_variation.parse_inputs(pairs, FakeBackend(script=replies).generate([r for r, _ in pairs]),
                                          RejectLog("generate"))
    assert [(d.topic, d.persona) for d in drafts] == [(spec.topic, spec.persona) for _, spec in pairs]


def test_without_personas_or_config_topics_the_prompts_are_unchanged():
    plain = input_variation.input_requests(SEEDS, ModelConfig(), GenerateConfig(num_tasks=4), seed=0)
    assert not any("this person" in r.messages[-1].content for r, _ in plain)
    assert [s.topic for _, s in plain] == ["app", "battery", "theft", "app"]


def test_self_instruct_rows_name_their_topic_and_persona():
    rows_by_persona: Counter = Counter()
    cfg = GenerateConfig(num_tasks=6, shots=2, pool_round=3, responses_per_prompt=1, topics=["shipping"])
    teacher = FakeBackend()
    drafts = si.grow_tasks(SEEDS, teacher.generate, ModelConfig(), cfg, 0, RejectLog("generate"), PERSONAS)
    assert len(teacher.calls) == 6 and len(drafts) == 6  # two rounds; the fake teacher's tasks are all new
    assert Counter(persona_of(r.messages[-1].content) for r in teacher.calls) == {p: 2 for p in PERSONAS}
    assert any("of the same kind about shipping," in r.messages[-1].content for r in teacher.calls)
    by_key = {r.key: r.messages[-1].content for r in teacher.calls}
    for d in drafts:
        assert persona_of(by_key[d.request_key]) == d.persona and d.topic in {"app", "battery", "theft", "shipping"}
    pairs = answers.response_requests(drafts, SEEDS, ModelConfig(), cfg, None, 0)
    rows = list(answers.parse_responses(pairs, FakeBackend().generate([r for r, _ in pairs]), "t", None, RejectLog()))
    for r in rows:
        rows_by_persona[r.lineage.persona] += 1
        d = next(d for d in drafts if d.prompt_id == r.prompt_id)
        assert (r.lineage.topic, r.lineage.persona) == (d.topic, d.persona)
    assert rows_by_persona == {p: 2 for p in PERSONAS}


def test_evol_breadth_rewrites_take_personas_in_turn_and_depth_keeps_its_bases():
    cfg = GenerateConfig(num_tasks=15, pool_round=15, novelty_threshold=1.0)
    triples = evol.evolve_requests(SEEDS, ["app", "battery", "theft"], ModelConfig(), cfg, 0, 0,
                                   si.task_schema(SEEDS), PERSONAS)
    breadth = [r.messages[0].content for r, _, op in triples if op == "breadth"]
    assert [persona_of(s) for s in breadth] == PERSONAS
    assert not any(persona_of(r.messages[0].content) for r, _, op in triples if op != "breadth")
    drafts = evol.evolve_tasks(SEEDS, FakeBackend().generate, ModelConfig(), cfg, 0, RejectLog(), PERSONAS)
    assert Counter(d.persona for d in drafts if d.strategy.endswith("breadth")) == {p: 1 for p in PERSONAS}
    assert all(d.persona is None and d.topic in {"app", "battery", "theft"}  # evolved from a seed: its topic
               for d in drafts if not d.strategy.endswith("breadth"))


def test_auto_personas_are_one_cached_request_and_a_useless_reply_is_a_reject(tmp_path):
    cfg = GenerateConfig(personas="auto", num_personas=3)
    reply = json.dumps({"personas": ["A nurse on night shifts.", "{bad} {worse} x", "a nurse on night shifts", "Elena",
                                     "a bike courier"]})
    cached = CachedBackend(FakeBackend(script=[reply]), tmp_path / "c.sqlite")
    got = resolve_personas(SEEDS, cached.generate, ModelConfig(), cfg, 0, RejectLog())
    assert got == ["A nurse on night shifts", "a bike courier"]  # debris, a bare name and a repeat left out
    again = resolve_personas(SEEDS, cached.generate, ModelConfig(), cfg, 0, RejectLog())
    assert again == got and cached.stats()["cache_hits"] == 1 and cached.stats()["requests_sent"] == 1
    rejects = RejectLog("generate")
    assert resolve_personas(SEEDS, FakeBackend(script=["no json"]).generate, ModelConfig(), cfg, 1, rejects) == []
    assert [r.reason for r in rejects.records] == ["unusable_personas"] and "raw: no json" in rejects.records[0].detail
    stuck = "Ethahaikewahaiwahaiwahaiwahai ww A"  # what SmolLM2-135M wrote under the schema
    assert parse_personas(json.dumps({"personas": ["a b " + "x" * 80, stuck, "an ok person"]}), 4) == ["an ok person"]
    off = GenerateConfig(personas="off")
    assert resolve_personas(SEEDS, FakeBackend(script=[]).generate, ModelConfig(), off, 0, RejectLog()) == []
    listed = GenerateConfig(personas=[" a  courier ", "a courier", "a chef"])
    assert resolve_personas(SEEDS, None, ModelConfig(), listed, 0, RejectLog()) == ["a courier", "a chef"]


def test_a_run_publishes_topic_and_persona_and_reports_kept_rows_per_stratum(tmp_path, capsys, fake_run):
    import re

    from datasets import load_from_disk

    from seedfactory.cli import main
    from seedfactory.util.files import read_json

    out = tmp_path / "run"
    args = fake_run("generate.strategy={input_variation: 0.5, self_instruct: 0.5}",
                    f"generate.personas={json.dumps(PERSONAS)}", "generate.responses_per_prompt=2",
                    "review.sample_size=4")
    assert main(["run", "--out", str(out), "--until", "publish", "--no-progress", *args]) == 0
    printed = capsys.readouterr().out
    st = read_json(out / "stats.json")["stages"]
    assert st["generate"]["personas"] == PERSONAS
    assert st["generate"]["kept_by"]["persona"] == {p: 8 for p in PERSONAS}  # 4 tasks x 2 answers each
    for stage in ("generate", "validate", "judge", "publish"):
        for dim in ("strategy", "topic", "persona"):
            assert sum(st[stage]["kept_by"][dim].values()) == st[stage]["out"], (stage, dim)
    sft = load_from_disk(str(out / "dataset"))["sft"]
    assert len(sft) == st["publish"]["out"] > 0
    for row in sft:
        lineage = json.loads(row["record"])["lineage"]
        assert row["persona"] == lineage["persona"] in PERSONAS and row["topic"] == lineage["topic"]
    published = Counter(sft["persona"])
    assert st["publish"]["kept_by"]["persona"] == dict(published)
    line = re.search(r"^  (a night-shift nurse) +8 > (\d+) > (\d+) > (\d+)  ([\d.]+)%$", printed, re.M)
    assert line and int(line.group(4)) == published["a night-shift nurse"]
    assert float(line.group(5)) == round(100 * published["a night-shift nurse"] / len(sft), 1)
    html = (out / "report.html").read_text()
    assert "Kept rows per strategy" in html and "Kept rows per persona" in html and "a retired bike mechanic" in html


def test_personas_config_reads_off_auto_or_a_list_and_names_the_key_when_wrong():
    import pytest

    from seedfactory.schemas import ConfigError, load_config

    assert load_config(None, ["generate.personas=off"]).generate.personas == "off"  # YAML's bare off is false
    assert load_config(None, ["generate.personas=auto"]).generate.personas == "auto"
    assert load_config(None, ["generate.personas=[a chef, a courier]"]).generate.personas == ["a chef", "a courier"]
    assert load_config(None, ["generate.topics=[shipping, refunds]"]).generate.topics == ["shipping", "refunds"]
    with pytest.raises(ConfigError, match="generate.personas"):
        load_config(None, ["generate.personas=sometimes"])
