"""Which fast tests exercise which module: one coverage run of the fast suite, a context per test.

Called by scripts/mutation.py (not on its own): `main(out, files)` runs `pytest -m "not slow"` in this
process under coverage, switching the coverage context to each test's node id, and writes
`{"modules": {module: [node ids]}, "lines": {module: {line: [node ids]}}, "seconds": {node id: seconds}}`
for the `files` given (absolute paths; modules are named relative to the repo root; "lines" holds the
tests that executed each line, import-time runs outside any test left out). Each module's list is grouped by test file,
the fastest files first and the fastest tests first within a file, so that `pytest -x` on a mutant
stops as early as it can. Lines run in threads count for the test that started them; lines run in
subprocesses are not seen.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import coverage
import pytest

ROOT = Path(__file__).resolve().parent.parent


class Contexts:
    """A pytest plugin: the coverage context is the running test's node id; call times are kept."""

    def __init__(self, cov: coverage.Coverage):
        self.cov, self.seconds = cov, defaultdict(float)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.cov.switch_context(item.nodeid)
        yield
        self.cov.switch_context("")

    def pytest_runtest_logreport(self, report):
        self.seconds[report.nodeid] += report.duration


def ordered(tests: set[str], seconds: dict[str, float]) -> list[str]:
    """Grouped by file (module fixtures are set up once), fastest files first, fastest tests first in each."""
    by_file = defaultdict(list)
    for t in tests:
        by_file[t.split("::")[0]].append(t)
    files = sorted(by_file, key=lambda f: (sum(seconds[t] for t in by_file[f]), f))
    return [t for f in files for t in sorted(by_file[f], key=lambda t: (seconds[t], t))]


def main(out: str, files: list[str], tests: tuple[str, ...] = ("tests",)) -> int:
    cov = coverage.Coverage(data_file=None, include=sorted({f"{Path(f).parent}/*" for f in files}))
    plugin = Contexts(cov)
    cov.start()
    try:
        code = pytest.main(["-q", "-p", "no:cacheprovider", "-m", "not slow", *tests], plugins=[plugin])
    finally:
        cov.stop()
    if code:
        raise SystemExit(f"mutation_map: the fast suite fails (exit {code}); fix it before mutation testing")
    data = cov.get_data()
    test_map, line_map = {}, {}
    for f in files:
        by_line = {n: sorted(c for c in ctxs if c) for n, ctxs in data.contexts_by_lineno(f).items()}
        name = str(Path(f).relative_to(ROOT))
        test_map[name] = ordered({c for ctxs in by_line.values() for c in ctxs}, plugin.seconds)
        line_map[name] = {n: ctxs for n, ctxs in sorted(by_line.items()) if ctxs}
    seconds = {t: round(s, 2) for t, s in plugin.seconds.items()}
    Path(out).write_text(json.dumps({"modules": test_map, "lines": line_map, "seconds": seconds}))
    return 0
