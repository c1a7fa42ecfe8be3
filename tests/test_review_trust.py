"""The review page says when the judge failed its self-test (judge/calibration.json `passed`
false): the row view carries `trusted`, the AUC and judge.min_auc, and the page greys the score and
rationale out with the note beside the score. A trusted judge and a run without a self-test show
no note. One headless-Chromium screenshot of the untrusted page (slow).
Run: .venv/bin/pytest tests/test_review_trust.py [-m slow]
"""

import os

import pytest
from factories import make_example
from starlette.testclient import TestClient
from test_review_leases import SCHEMA

from seedfactory.review import ReviewStore
from seedfactory.review.rows import RowContext, judge_trust
from seedfactory.review.web import create_app, serve_in_thread
from seedfactory.schemas import JudgeVerdict
from seedfactory.util.files import write_json, write_jsonl

RATIONALE = "The patient is extremely difficult to treat and the answer reflects this."
SCREENSHOT = os.environ.get("SEEDFACTORY_SCREENSHOT_DIR", "/tmp") + "/review-untrusted-judge.png"


def make_run(tmp_path, passed: bool | None):
    """A run directory holding only what the page reads: the judge's verdict (and self-test)."""
    run = tmp_path / "run"
    row = make_example("row-1", "Extract the fields.", input="V1 sold it for 12.5",
                       output={"vendor": "V1", "total": 12.5}, scores={"judge": 1.31})
    write_jsonl(run / "judge" / "verdicts.jsonl", [JudgeVerdict(kind="rubric", example_id="row-1", score=1.31,
                                                                rationale=RATIONALE, judge_model="smollm2-135m")])
    if passed is not None:
        write_json(run / "judge" / "calibration.json",
                   {"auc": 0.5123 if not passed else 0.91, "min_auc": 0.7, "passed": passed, "judge": "smollm2-135m"})
    store = ReviewStore(tmp_path / "q.sqlite", schema=SCHEMA)
    store.add([row], {"row-1": 1.31})
    token = store.add_reviewer("ana")
    return create_app(store, RowContext.load(run, SCHEMA)), store, token


@pytest.mark.parametrize("passed", [False, True, None])
def test_the_row_view_says_whether_the_judge_passed_its_self_test(tmp_path, passed):
    app, store, token = make_run(tmp_path, passed)
    with store:
        judge = TestClient(app).get("/api/next", headers={"Authorization": f"Bearer {token}"}).json()["item"]["judge"]
    assert judge["score"] == 1.31 and judge["rationale"] == RATIONALE
    assert judge["trusted"] is passed
    if passed is False:
        assert judge["selftest"] == {"auc": 0.5123, "min_auc": 0.7}
        assert judge["note"] == ("the judge failed its self-test on the seeds (AUC 0.51 < judge.min_auc 0.7): "
                                 "its score and rationale are not a verdict")
    else:
        assert judge["note"] == ""


def test_judge_trust_without_an_auc_or_without_a_verdict():
    assert judge_trust({"auc": None, "min_auc": 0.7, "passed": False})["note"].startswith(
        "the judge failed its self-test on the seeds (AUC none < judge.min_auc 0.7)")
    assert judge_trust({"auc": 0.8}) == {"trusted": None, "auc": None, "min_auc": None, "note": ""}


@pytest.mark.slow  # a real browser
def test_untrusted_judge_in_a_browser(tmp_path, browser):
    app, store, token = make_run(tmp_path, False)
    with store, serve_in_thread(app) as base:
        page = browser.new_page()
        page.goto(base + "/")
        page.fill("#token", token)
        page.press("#token", "Enter")
        page.wait_for_selector("#row:not([hidden])")
        assert page.text_content("#judge-score") == "1.31"
        note = page.text_content("#judge-trust")
        assert note.startswith("untrusted: the judge failed its self-test") and "AUC 0.51 < judge.min_auc 0.7" in note
        grey = "rgb(153, 153, 153)"
        assert page.eval_on_selector("#judge-score", "e => getComputedStyle(e).color") == grey
        assert page.eval_on_selector("#judge-rationale", "e => getComputedStyle(e).color") == grey
        assert page.eval_on_selector("#output", "e => getComputedStyle(e).color") != grey  # only the judge
        page.screenshot(path=SCREENSHOT, full_page=True)


@pytest.mark.parametrize("passed", [False, True])
def test_the_reports_sample_rows_grey_an_untrusted_judges_scores(tmp_path, passed):
    from seedfactory.report.funnel import samples
    from seedfactory.report.reader import Run

    make_run(tmp_path, passed)[1].close()
    row = make_example("row-1", "Extract the fields.", output={"vendor": "V1", "total": 12.5}, scores={"judge": 1.31})
    write_jsonl(tmp_path / "run" / "judge" / "sft.jsonl", [row])
    html = samples(Run(tmp_path / "run"))
    if passed:
        assert "untrusted" not in html and "row-1 · judge 1.31 · seeds s1" in html
    else:
        assert ('<p class="untrusted">Judge scores below are greyed: the judge failed its self-test on the seeds '
                "(AUC 0.51 &lt; judge.min_auc 0.7)") in html
        assert '<span class="tag untrusted">row-1 · judge (untrusted) 1.31 · seeds s1</span>' in html
