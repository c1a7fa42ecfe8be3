"""Backends, the request cache and Self-Instruct parsing, with fakes (no model, no network)."""

import json

import jsonschema
import pytest

from seedfactory.generators import answers
from seedfactory.generators import self_instruct as si
from seedfactory.generators.cache import CachedBackend
from seedfactory.generators.fake import FakeBackend, synth_instance
from seedfactory.generators.fake_server import FakeOpenAIServer
from seedfactory.generators.openai_backend import OpenAIBackend, RemoteModelBlocked
from seedfactory.schemas import GenerationRequest, Message, RejectLog, Sampling, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["vendor", "total", "currency", "date"],
          "properties": {"vendor": {"type": "string", "minLength": 2}, "total": {"type": "number", "minimum": 0},
                         "currency": {"enum": ["EUR", "USD"]}, "date": {"type": ["string", "null"]}}}


def req(text="hi", schema=None, seed=None):
    return GenerationRequest(model="m", messages=[Message(role="user", content=text)],
                             sampling=Sampling(seed=seed), response_schema=schema)


def test_request_key_covers_content_and_sampling_seed():
    assert req("a").key == req("a").key
    assert req("a").key != req("b").key
    assert req("a", seed=1).key != req("a", seed=2).key
    assert req("a").key != req("a", schema=SCHEMA).key
    assert req("a", seed=1).prompt_hash == req("a", seed=2).prompt_hash


def test_fake_backend_answers_schema_requests_with_valid_instances():
    import random

    for i in range(20):
        jsonschema.validate(synth_instance(SCHEMA, random.Random(i)), SCHEMA)
    res = FakeBackend().generate([req("x", schema=SCHEMA), req("y")])
    jsonschema.validate(json.loads(res[0].text), SCHEMA)
    assert res[1].text.startswith("Fake answer")
    assert FakeBackend().generate([req("x", schema=SCHEMA)])[0].text == res[0].text  # deterministic


def test_cache_serves_repeats_and_does_not_store_errors(tmp_path):
    fake = FakeBackend(responder=lambda r: RuntimeError("boom") if "bad" in r.messages[0].content else "ok")
    cached = CachedBackend(fake, tmp_path / "run" / "generate" / "cache.sqlite")  # its folders are made
    first = cached.generate([req("a"), req("bad"), req("a")])
    assert [r.text for r in first] == ["ok", "", "ok"] and first[1].error
    assert len(fake.calls) == 2  # the duplicate in one batch went out once
    again = cached.generate([req("a"), req("bad")])
    assert again[0].cached and again[0].text == "ok"
    assert len(fake.calls) == 3  # only the failed request is asked again
    cached.close()
    reopened = CachedBackend(FakeBackend(script=[]), tmp_path / "run" / "generate" / "cache.sqlite")
    assert reopened.generate([req("a")])[0].cached  # survives a restart (a killed run)
    assert reopened.stats()["requests_sent"] == 0



def test_open_cache_makes_its_folders_itself(tmp_path):
    # callers other than CachedBackend (tools reading a run's cache) give a path whose folders may not exist
    from seedfactory.generators.cache import open_cache

    db = open_cache(tmp_path / "a" / "b" / "cache.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert (tmp_path / "a" / "b" / "cache.sqlite").is_file()

def openai_cfg(url, **kw):
    return ModelConfig(backend="openai", model="served", base_url=url, max_retries=kw.pop("max_retries", 3),
                       timeout=kw.pop("timeout", 5.0), backoff=kw.pop("backoff", 0.01), **kw)


def test_openai_backend_retries_429_500_garbage_and_empty_then_succeeds():
    script = [("status", 429), ("status", 500), ("garbage", None), "", '{"vendor": "Acme"}']
    with FakeOpenAIServer(script) as srv:
        backend = OpenAIBackend(openai_cfg(srv.url, max_retries=4))
        [res] = backend.generate([req("x", schema={"type": "object"})])
    assert res.error is None and json.loads(res.text) == {"vendor": "Acme"}
    assert len(srv.requests) == 5
    assert srv.requests[-1]["response_format"]["type"] == "json_schema"


def test_openai_backend_quarantines_after_retries_and_keeps_raw_text():
    with FakeOpenAIServer(["not json"] * 3) as srv:
        backend = OpenAIBackend(openai_cfg(srv.url, max_retries=2))
        [res] = backend.generate([req("x", schema={"type": "object"})])
    assert res.error.startswith("quarantined after 3 attempts: unusable: reply is not JSON")
    assert res.text == "not json"


def test_openai_backend_does_not_retry_a_400_and_times_out_a_hang():
    with FakeOpenAIServer([("status", 400), ("sleep", 3), "fine"]) as srv:
        backend = OpenAIBackend(openai_cfg(srv.url, max_retries=1, timeout=1.0))
        [bad] = backend.generate([req("x")])
        assert "HTTP 400" in bad.error and len(srv.requests) == 1
        [slow] = backend.generate([req("y")])
    assert slow.error is None and slow.text == "fine"  # the hang timed out, the retry answered


def test_openai_json_object_mode_for_llama_cpp_style_servers():
    with FakeOpenAIServer(['{"a": 1}']) as srv:
        OpenAIBackend(openai_cfg(srv.url, structured="json_object")).generate([req("x", schema=SCHEMA)])
    assert srv.requests[0]["response_format"] == {"type": "json_object", "schema": SCHEMA}


def test_remote_servers_are_blocked_in_tests():
    with pytest.raises(RemoteModelBlocked):
        OpenAIBackend(openai_cfg("https://api.openai.com/v1"))


SEEDS = [SeedExample(id=f"s{i}", instruction=f"Extract fields {i}", input=f"Invoice {i}",
                     output={"vendor": f"V{i}", "total": i, "currency": "EUR", "date": None}) for i in range(5)]


def test_self_instruct_prompts_parse_and_reject_with_reasons():
    teacher = ModelConfig()
    cfg = GenerateConfig(num_tasks=4, shots=2, responses_per_prompt=2)
    pairs = si.task_requests(SEEDS, teacher, cfg, seed=0)
    assert len(pairs) == 4 and all(len(ids) == 2 for _, ids in pairs)
    assert len({r.key for r, _ in pairs}) == 4
    replies = ['{"instruction": "Extract the total", "input": "ACME 12 EUR"}', "oops",
               '{"instruction": "Extract the total", "input": "ACME 12 EUR"}',
               '{"instruction": "Read it", "input": "Z"}']
    results = FakeBackend(script=replies).generate([r for r, _ in pairs])
    rejects = RejectLog("generate")
    drafts = si.parse_tasks(pairs, results, rejects)
    assert [d.instruction for d in drafts] == ["Extract the total", "Read it"]
    assert [(r.row_id, r.reason) for r in rejects.records] == [(pairs[1][0].key, "unparseable_task"),
                                                               (pairs[2][0].key, "duplicate_task")]
    assert "raw: oops" in rejects.records[0].detail

    rpairs = answers.response_requests(drafts, SEEDS, teacher, cfg, SCHEMA, seed=0)
    assert len(rpairs) == 4
    first = rpairs[0][0]
    # few-shot seeds appear as earlier chat turns, the task last; sampling seeds differ per response
    assert [m.role for m in first.messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert rpairs[0][0].sampling.seed != rpairs[1][0].sampling.seed
    out = ['{"vendor": "ACME", "total": 12, "currency": "EUR", "date": null}', "[1, 2]", "{bad", '{"vendor": "Z"}']
    rejects = RejectLog("generate")
    rows = list(answers.parse_responses(rpairs, FakeBackend(script=out).generate([r for r, _ in rpairs]),
                                   "teacher-x", SCHEMA, rejects))
    assert [r.output for r in rows] == [{"vendor": "ACME", "total": 12, "currency": "EUR", "date": None},
                                        {"vendor": "Z"}]
    assert [r.reason for r in rejects.records] == ["unparseable_output", "unparseable_output"]
    assert rows[0].lineage.raw == out[0] and rows[0].lineage.teacher == "teacher-x"
    # rows answer their own task: the first two replies belong to task 0, the last to task 1
    assert [r.prompt_id for r in rows] == [drafts[0].prompt_id, drafts[1].prompt_id]
    assert rows[0].lineage.seed_ids == drafts[0].seed_ids and rows[1].lineage.seed_ids == drafts[1].seed_ids


def test_topics_take_turns_leading_the_few_shot_prompts():
    seeds = [SeedExample(id=f"a{i}", topic="common", instruction=f"A {i}", output="x") for i in range(8)]
    seeds += [SeedExample(id="rare", topic="rare", instruction="R", output="y")]
    pairs = si.task_requests(seeds, ModelConfig(), GenerateConfig(num_tasks=10, shots=2), seed=0)
    with_rare = [ids for _, ids in pairs if "rare" in ids]
    assert len(with_rare) >= 5  # every other prompt is led by the one-seed topic
    assert all(len(set(ids)) == 2 for _, ids in pairs)


def test_task_schema_requires_an_input_only_when_every_seed_has_one():
    mixed = si.task_schema([*SEEDS, SeedExample(id="x", instruction="Hi", output="y")])
    assert "minLength" not in mixed["properties"]["input"]
    schema = si.task_schema(SEEDS)
    assert schema["properties"]["input"]["minLength"] == 9 and "input" in schema["required"]  # "Invoice 0" is 9 long
    assert si.task_requests(SEEDS, ModelConfig(), GenerateConfig(num_tasks=1), 0)[0][0].response_schema == schema
    # the cap keeps a whole task inside the request's token budget
    assert si.TASK_SCHEMA["properties"]["input"]["maxLength"] <= 360


def test_cache_stats_since_a_point(tmp_path):
    cached = CachedBackend(FakeBackend(), tmp_path / "c.sqlite")
    cached.generate([req("a"), req("b")])
    mark = cached.stats()
    cached.generate([req("a"), req("c")])
    got = cached.stats(since=mark)
    assert {k: got[k] for k in ("cache_hits", "requests_sent", "attempts", "quarantined", "model")} == {
        "cache_hits": 1, "requests_sent": 1, "attempts": 1, "quarantined": 0, "model": "fake"}
    # tokens paid count only the new request; all_* include the cached reply too
    assert got["all_prompt_tokens"] == 2 * got["prompt_tokens"] > 0
    assert cached.stats()["requests_sent"] == 3


def test_cache_counts_tokens_cost_and_hits_exactly(tmp_path):
    # each request "w1 .. wn" is n prompt tokens; each reply "r r r" is 3 completion tokens
    fake = FakeBackend(responder=lambda r: RuntimeError("boom") if "bad" in r.messages[0].content else "r r r")
    cfg = ModelConfig(price_prompt=2.0, price_completion=4.0)
    cached = CachedBackend(fake, tmp_path / "cache.sqlite", cfg)
    cached.generate([req("a b"), req("a b"), req("bad x y")])
    before = cached.stats()
    assert before == {"cache_hits": 1, "requests_sent": 2, "attempts": 2, "quarantined": 1, "prompt_tokens": 5,
                      "completion_tokens": 3, "all_prompt_tokens": 5, "all_completion_tokens": 3,
                      "last_error": "RuntimeError: boom", "model": "fake", "cost": (5 * 2 + 3 * 4) / 1e6}
    cached.generate([req("a b"), req("c")])
    after = cached.stats(since=before)
    assert after == {"cache_hits": 1, "requests_sent": 1, "attempts": 1, "quarantined": 0, "prompt_tokens": 1,
                     "completion_tokens": 3, "all_prompt_tokens": 3, "all_completion_tokens": 6, "model": "fake",
                     "cost": (1 * 2 + 3 * 4) / 1e6}
    assert cached.spent() == {"requests": 3, "attempts": 3, "prompt_tokens": 6, "completion_tokens": 6,
                              "cost": (6 * 2 + 6 * 4) / 1e6}
    assert CachedBackend(FakeBackend(), tmp_path / "other.sqlite").spent()["cost"] == 0.0  # no prices: free


def test_cache_stops_at_the_token_cap_exactly(tmp_path):
    from seedfactory.generators.cache import BudgetExceeded

    cached = CachedBackend(FakeBackend(responder=lambda r: "r r r"), tmp_path / "c.sqlite",
                           ModelConfig(max_tokens_total=10))
    cached.generate([req("a b c d"), req("e f g h i j")])  # 4 + 3, then the cap is 10 > 7: the second goes out
    assert cached.spent()["prompt_tokens"] + cached.spent()["completion_tokens"] == 16
    with pytest.raises(BudgetExceeded, match="16 tokens used, max_tokens_total is 10"):
        cached.generate([req("k")])
    at_cap = CachedBackend(FakeBackend(responder=lambda r: "r r r"), tmp_path / "d.sqlite",
                           ModelConfig(max_tokens_total=10))
    at_cap.generate([req("a b c d e f g")])  # 7 + 3: exactly the cap
    with pytest.raises(BudgetExceeded, match="10 tokens used"):
        at_cap.generate([req("k")])


def test_cache_spend_starts_at_zero_and_stops_at_the_cost_cap_exactly(tmp_path):
    from seedfactory.generators.cache import BudgetExceeded

    fresh = CachedBackend(FakeBackend(), tmp_path / "e.sqlite", ModelConfig(price_prompt=1.0))
    assert fresh.spent() == {"requests": 0, "attempts": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
    # one prompt token costs 1.0 at a price of 1e6 per million: two tokens reach a cap of 2.0 exactly
    capped = CachedBackend(FakeBackend(responder=lambda r: ""), tmp_path / "f.sqlite",
                           ModelConfig(max_cost=2.0, price_prompt=1e6))
    capped.generate([req("a b")])
    with pytest.raises(BudgetExceeded, match="cost 2.0000 reached max_cost 2.0"):
        capped.generate([req("c")])


def test_a_cap_reached_mid_batch_keeps_the_answers_and_stops(tmp_path):
    from seedfactory.generators.cache import BudgetExceeded

    cached = CachedBackend(FakeBackend(responder=lambda r: "r r r"), tmp_path / "g.sqlite",
                           ModelConfig(max_tokens_total=5))
    with pytest.raises(BudgetExceeded, match="7 tokens used"):
        cached.generate([req("a b c d"), req("e f"), req("g h")])  # 4 + 3 after the first: the rest not sent
    assert cached.spent()["prompt_tokens"] == 4 and cached.stats()["quarantined"] == 2  # the two not sent


def test_cache_cost_is_rounded_to_six_places(tmp_path):
    cached = CachedBackend(FakeBackend(responder=lambda r: ""), tmp_path / "h.sqlite", ModelConfig(price_prompt=0.4))
    cached.generate([req("a b c d e")])  # 5 tokens at 0.4 per million: 2e-06
    assert cached.stats()["cost"] == 2e-06
    cached.generate([req("a b c d e f g h")])  # 13 tokens in all: 5.2e-06, 5e-06 to six places
    assert cached.stats()["cost"] == 5e-06


def test_a_response_format_goes_only_with_a_schema_and_never_when_structured_is_none():
    with FakeOpenAIServer([], default='{"a": 1}') as srv:
        OpenAIBackend(openai_cfg(srv.url)).generate([req("x")])
        OpenAIBackend(openai_cfg(srv.url)).generate([req("y", schema=SCHEMA)])
        OpenAIBackend(openai_cfg(srv.url, structured="none")).generate([req("z", schema=SCHEMA)])
    assert "response_format" not in srv.requests[0]
    assert srv.requests[1]["response_format"] == {"type": "json_schema", "json_schema": {"name": "reply",
                                                                                         "schema": SCHEMA}}
    assert "response_format" not in srv.requests[2]
