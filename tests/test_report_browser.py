"""The report rendered in headless Chromium: every section drawn, nothing fetched, a full-page
screenshot saved, and no secret from the environment anywhere in the run directory.

The run: fake teacher, a judge behind a real HTTP server (the packaged fake OpenAI server, so the
API key in the environment is really sent), hashing embedder, until publish, then three review
verdicts and `seedfactory report`. Training and evaluation sections of a real run are rendered
by tests/test_e2e_real.py. Marked slow for the browser (~10 s)."""

import pytest
from browser import render_and_check, review_three

from seedfactory.cli import main
from seedfactory.generators.fake_server import FakeOpenAIServer

pytestmark = pytest.mark.slow

TINY = ("generate.num_tasks=4", "generate.responses_per_prompt=3",  # with fake_run (conftest.py)
        "review.sample_size=6", "judge.self_test_size=3", "judge.model.max_retries=0", "--no-progress")
SECRETS = {"OPENAI_API_KEY": "sk-test-REPORTSECRET-4f9a1c", "HF_TOKEN": "hf_REPORTSECRET_b7e2d0",
           "SEEDFACTORY_API_TOKEN": "tok-REPORTSECRET-91aa"}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, fake_run):
    out = tmp_path_factory.mktemp("report_browser") / "run"
    replies = [f'{{"score": {s}, "rationale": "<b>bold</b> claim {s}"}}' for s in [2, 5, 3, 4] * 10]
    # rubric replies; pairwise requests get them too and fail to parse (no retries: max_retries=0)
    with pytest.MonkeyPatch.context() as mp, FakeOpenAIServer(replies, default=replies[0]) as judge:
        for k, v in SECRETS.items():
            mp.setenv(k, v)
        args = fake_run(*TINY, "judge.model.backend=openai", f"judge.model.base_url={judge.url}",
                        "judge.model.model=served")
        assert main(["run", "--out", str(out), "--until", "publish", *args]) == 0
        assert judge.requests, "the judge server was never asked"
        review_three(out)
        assert main(["report", str(out)]) == 0
    return out


def test_no_secret_from_the_environment_reaches_the_run_directory(full_run):
    files = [p for p in full_run.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in files) and len(files) > 30
    for p in files:
        data = p.read_bytes()
        for value in SECRETS.values():
            assert value.encode() not in data, f"{p} holds the value of an environment secret"


def test_report_renders_every_section_in_chromium(full_run, browser):
    render_and_check(full_run, browser, trained=False)
