"""Backend registry: a plain dict from the config's `backend` name to a constructor."""

from __future__ import annotations

from seedfactory.schemas.config import ModelConfig
from seedfactory.util.progress import NO_PROGRESS, Progress


def _vllm(cfg: ModelConfig, progress: Progress):
    from seedfactory.generators.vllm_engine import VLLMBackend
    from seedfactory.util.models import resolve_model

    return VLLMBackend(cfg, resolve_model(cfg.model), progress=progress)


def _openai(cfg: ModelConfig, progress: Progress):
    from seedfactory.generators.openai_backend import OpenAIBackend

    return OpenAIBackend(cfg)


def _fake(cfg: ModelConfig, progress: Progress):
    from seedfactory.generators.fake import FakeBackend

    return FakeBackend(name=f"fake:{cfg.model}")


BACKENDS = {"vllm": _vllm, "openai": _openai, "fake": _fake}


def build_backend(cfg: ModelConfig, progress: Progress = NO_PROGRESS):
    return BACKENDS[cfg.backend](cfg, progress)
