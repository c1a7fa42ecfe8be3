"""Backend registry: a plain dict from the config's `backend` name to a constructor."""

from __future__ import annotations

from seedfactory.schemas.config import ModelConfig


def _vllm(cfg: ModelConfig, progress: bool):
    from seedfactory.generators.vllm_engine import VLLMBackend

    return VLLMBackend(cfg, progress=progress)


def _openai(cfg: ModelConfig, progress: bool):
    from seedfactory.generators.openai_backend import OpenAIBackend

    return OpenAIBackend(cfg, progress=progress)


def _fake(cfg: ModelConfig, progress: bool):
    from seedfactory.generators.fake import FakeBackend

    return FakeBackend(name=f"fake:{cfg.model}")


BACKENDS = {"vllm": _vllm, "openai": _openai, "fake": _fake}


def build_backend(cfg: ModelConfig, progress: bool = True):
    return BACKENDS[cfg.backend](cfg, progress)
