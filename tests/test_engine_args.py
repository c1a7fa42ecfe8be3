"""Multi-GPU settings reach the in-process vLLM engine on CUDA, and are refused without it."""

import os
import sys
import types

import pytest

from seedfactory.schemas.config import ModelConfig


@pytest.fixture
def fake_vllm(monkeypatch):
    """A stand-in `vllm` module whose LLM records its arguments (no engine is started)."""
    seen = {}

    class LLM:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def get_tokenizer(self):
            return None

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM))
    return seen


def test_parallel_and_memory_settings_reach_vllm_on_cuda(fake_vllm, monkeypatch, tmp_path):
    import torch

    from seedfactory.generators.vllm_engine import VLLMBackend

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    VLLMBackend(ModelConfig(tensor_parallel_size=4, data_parallel_size=2, gpu_memory_utilization=0.7), tmp_path)
    assert (fake_vllm["tensor_parallel_size"], fake_vllm["data_parallel_size"],
            fake_vllm["gpu_memory_utilization"]) == (4, 2, 0.7)
    assert fake_vllm["dtype"] == "auto" and fake_vllm["enforce_eager"] is False


def test_cpu_engine_gets_no_gpu_arguments_and_refuses_several_gpus(fake_vllm, monkeypatch, tmp_path):
    import torch

    from seedfactory.generators.vllm_engine import VLLMBackend

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    VLLMBackend(ModelConfig(gpu_memory_utilization=0.5), tmp_path)
    assert "gpu_memory_utilization" not in fake_vllm and "tensor_parallel_size" not in fake_vllm
    with pytest.raises(RuntimeError, match="tensor_parallel_size=2.*CUDA is not available"):
        VLLMBackend(ModelConfig(tensor_parallel_size=2), tmp_path)


@pytest.mark.slow  # imports vLLM (no engine, no model): ~10 s of CPU
def test_a_schema_the_engine_cannot_compile_is_quarantined_alone_and_persona_schemas_compile():
    pytest.importorskip("vllm")
    from seedfactory.generators.personas import persona_request
    from seedfactory.generators.vllm_engine import VLLMBackend
    from seedfactory.schemas import GenerationRequest, Message, SeedExample
    from seedfactory.schemas.config import GenerateConfig

    class Engine:  # what vllm.LLM.chat returns, for the requests it is given
        def __init__(self):
            self.asked = []

        def chat(self, messages, params, use_tqdm=False):
            self.asked += messages
            return [types.SimpleNamespace(prompt_token_ids=[1], outputs=[types.SimpleNamespace(
                text='{"x": "ok"}', token_ids=[1, 2], finish_reason="stop", logprobs=None)]) for _ in messages]

    backend = object.__new__(VLLMBackend)  # no engine: the batch goes to the stand-in above
    backend.cfg, backend.name, backend.cuda, backend._schema_errors = ModelConfig(), "m", False, {}
    backend.progress = types.SimpleNamespace(enabled=False)
    backend.llm, backend.tokenizer = Engine(), types.SimpleNamespace(apply_chat_template=lambda *a, **k: [1, 2])
    bad = {"type": "object", "properties": {"x": {"type": "string", "minLength": 3, "maxLength": 100,  # failed a run
                                                  "pattern": r"^[A-Za-z][A-Za-z,.'-]*( [A-Za-z,.'-]+){2,14}$"}}}
    good = {"type": "object", "properties": {"x": {"type": "string", "maxLength": 50}}}
    reqs = [GenerationRequest(model="m", messages=[Message(role="user", content=f"q{i}")], response_schema=s)
            for i, s in enumerate([good, bad, good])]
    out = backend.generate(reqs)
    assert [r.error is None for r in out] == [True, False, True] and [r.text for r in out] == ['{"x": "ok"}', "",
                                                                                            '{"x": "ok"}']
    assert "cannot compile the response schema" in out[1].error and len(backend.llm.asked) == 2
    seeds = [SeedExample(id="s", instruction="Answer.", input="My bike?", output="ok")]
    persona = persona_request(seeds, ModelConfig(), GenerateConfig(personas="auto"), 0)
    assert backend.schema_error(persona) is None  # the auto-persona schema compiles under guidance


def test_cpu_engine_gets_its_kv_cache_and_batch_size_from_the_config(fake_vllm, monkeypatch, tmp_path):
    import torch

    from seedfactory.generators.vllm_engine import VLLMBackend

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "9")
    VLLMBackend(ModelConfig(kv_cache_gib=3, max_num_seqs=12), tmp_path)
    assert os.environ["VLLM_CPU_KVCACHE_SPACE"] == "3" and fake_vllm["max_num_seqs"] == 12
    fake_vllm.clear()
    VLLMBackend(ModelConfig(), tmp_path)
    assert os.environ["VLLM_CPU_KVCACHE_SPACE"] == "2" and "max_num_seqs" not in fake_vllm


def test_the_cpu_engine_runs_float32_unless_the_cpu_computes_bfloat16_natively():
    from seedfactory.generators.vllm_engine import cpu_dtype

    assert cpu_dtype("flags : fpu sse avx2 fma") == "float32"
    assert cpu_dtype("flags : fpu avx2 avx512f avx512_bf16") == "bfloat16"
    assert cpu_dtype("flags : fpu avx2 amx_tile amx_bf16") == "bfloat16"
