"""A headless Chromium for browser tests, shared by every test that needs one.

Playwright for Python drives the system's Debian `chromium` (scripts/bootstrap.sh installs it);
`playwright install` is never run, so no browser is downloaded. Tests that use the `browser`
fixture (tests/conftest.py) skip with a reason when either piece is missing.

    def test_page(browser):
        page = browser.new_page()
        page.goto(url)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = os.environ.get("SEEDFACTORY_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; scripts/bootstrap.sh does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e .[dev])"
    return None


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A Playwright Browser on the system Chromium, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def review_three(run_dir: Path) -> None:
    """Decide the first three pending rows of the run's review queue: accepted, rejected, accepted."""
    from seedfactory.review import ReviewStore

    with ReviewStore(run_dir / "review" / "queue.sqlite") as store:
        first, second, third = [i.id for i in store.pending()][:3]
        store.decide(first, "accepted", reviewer="ana")
        store.decide(second, "rejected", reviewer="ana", note="off topic")
        store.decide(third, "accepted", reviewer="ana")


def render_and_check(run_dir: Path, browser, trained: bool) -> Path:
    """Open run_dir/report.html (the run report), check every section is drawn and nothing else is
    fetched, save a full-page screenshot beside it; returns the screenshot's path. Expects the
    verdicts of `review_three`. SEEDFACTORY_REPORT_SCREENSHOT=FILE.png keeps a copy of the screenshot."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((run_dir / "report.html").as_uri())
    for key in ["funnel", "diversity", "judges", "review", "training", "eval", "samples"]:
        sec = page.locator(f"section#{key}")
        assert sec.count() == 1, key
        assert sec.bounding_box()["height"] > 40, key
    assert page.locator("section#funnel table tr").count() > 5
    assert page.locator("section#diversity svg .pt.seed").count() > 1
    assert page.locator("section#judges svg.chart").count() >= 1
    assert "1/3" in page.locator("section#review").inner_text()  # one rejected of three reviewed
    assert "Cohen" in page.locator("section#judges").inner_text()
    if trained:
        dpo = json.loads((run_dir / "train" / "stats.json").read_text())["preference"]
        curve = [json.loads(line) for line in (run_dir / "train" / "curve.jsonl").read_text().splitlines()]
        held = any(r.get("heldout") is not None for r in curve)
        rewards = any(c.get("margin") is not None or c.get("accuracy") is not None for c in dpo.get("curve", []))
        # the held-out score against the step; one loss chart per phase; the preference rewards
        charts = held + len({r["phase"] for r in curve if r.get("loss") is not None}) + rewards
        assert charts >= (1 if "skipped" in dpo else 2)
        assert page.locator("section#training svg.chart").count() == charts
        assert page.locator('section#training svg[aria-label^="held-out"]').count() == held
        assert page.locator("section#eval table tr").count() >= 5  # header + base, sft, dpo, teacher
    else:
        assert page.locator("section#training .missing").count() == 1
        assert page.locator("section#eval .missing").count() == 1
    assert requests == [(run_dir / "report.html").as_uri()]  # self-contained: nothing else fetched
    shot = run_dir / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    assert shot.stat().st_size > 50_000
    if os.environ.get("SEEDFACTORY_REPORT_SCREENSHOT"):  # for people to look at
        shutil.copy(shot, os.environ["SEEDFACTORY_REPORT_SCREENSHOT"])
    return shot
