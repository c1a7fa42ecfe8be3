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
import os
from collections.abc import Iterator

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
