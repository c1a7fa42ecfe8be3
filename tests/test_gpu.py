"""GPU-only paths, written for real; skipped cleanly on machines without CUDA."""

import pytest

pytestmark = [pytest.mark.cuda, pytest.mark.slow]


def test_vllm_cuda_engine_honours_per_request_seeds():
    from seedfactory.generators.vllm_engine import VLLMBackend
    from seedfactory.schemas import GenerationRequest, Message, Sampling
    from seedfactory.schemas.config import ModelConfig

    backend = VLLMBackend(ModelConfig(max_model_len=1024), progress=False)
    try:
        def req(seed):
            return GenerationRequest(model="smollm2-135m", messages=[Message(role="user", content="Name a colour.")],
                                     sampling=Sampling(temperature=1.0, max_tokens=16, seed=seed))

        a, b, c = backend.generate([req(1), req(1), req(2)])
        assert a.text == b.text and a.error is None
        assert a.completion_tokens > 0
    finally:
        backend.close()
