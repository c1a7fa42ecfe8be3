"""Multi-GPU settings reach the in-process vLLM engine on CUDA, and are refused without it."""

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
