"""GPU-only paths, written for real; skipped cleanly on machines without CUDA."""

import pytest

pytestmark = [pytest.mark.cuda, pytest.mark.slow]


def test_vllm_cuda_engine_honours_per_request_seeds():
    from seedfactory.generators.vllm_engine import VLLMBackend
    from seedfactory.schemas import GenerationRequest, Message, Sampling
    from seedfactory.schemas.config import ModelConfig
    from seedfactory.util.models import resolve_model

    backend = VLLMBackend(ModelConfig(max_model_len=1024), resolve_model("smollm2-135m"))
    try:
        def req(seed):
            return GenerationRequest(model="smollm2-135m", messages=[Message(role="user", content="Name a colour.")],
                                     sampling=Sampling(temperature=1.0, max_tokens=16, seed=seed))

        a, b, c = backend.generate([req(1), req(1), req(2)])
        assert a.text == b.text and a.error is None
        assert a.completion_tokens > 0
    finally:
        backend.close()


def test_qlora_sft_on_cuda(tmp_path, student_dir):
    from seedfactory.schemas.config import TrainConfig
    from seedfactory.train.common import load_student, use_qlora
    from seedfactory.train.sft import train_sft

    cfg = TrainConfig(sft_steps=2, batch_size=2, max_length=128)
    assert use_qlora(cfg)
    model, _ = load_student(student_dir, qlora=True)
    assert getattr(model, "is_loaded_in_4bit", False)
    rows = [{"prompt": [{"role": "user", "content": f"Say {i}."}],
             "completion": [{"role": "assistant", "content": f"{i}"}]} for i in range(4)]
    stats = train_sft(student_dir, rows, tmp_path / "adapter", cfg, seed=0)
    assert stats["steps"] == 2 and (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
