"""Teacher backends (in-process vLLM, OpenAI-compatible servers, fakes), the request cache, and
generation strategies."""

from seedfactory.generators.backends import BACKENDS, build_backend
from seedfactory.generators.base import Backend
from seedfactory.generators.cache import CachedBackend
from seedfactory.generators.fake import FakeBackend

__all__ = ["BACKENDS", "Backend", "CachedBackend", "FakeBackend", "build_backend"]
