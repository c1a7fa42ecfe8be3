"""Which fast tests exercise which module: one coverage run of the fast suite, a context per test.

Called by scripts/mutation.py (not on its own): `main(out, files)` runs `pytest -m "not slow"` in this
process under coverage, switching the coverage context to each test's node id, and writes
`{"modules": {module: [node ids]}, "lines": {module: {line: [node ids]}}, "seconds": {node id: seconds}}`
for the `files` given (absolute paths; modules are named relative to the repo root; "lines" holds the
tests that executed each line, import-time runs outside any test left out). Each module's list is grouped by test file,
the fastest files first and the fastest tests first within a file, so that `pytest -x` on a mutant
stops as early as it can. Lines run in threads count for the test that started them; lines run in
subprocesses are not seen. Lines run while a module-, class-, package- or session-scoped fixture is
set up count for every test that uses that fixture (set up once, its output read by all of them),
not only for the first.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import coverage
import pytest

ROOT = Path(__file__).resolve().parent.parent


FIXTURE = "fixture|"  # the context of a shared fixture's setup: FIXTURE + scope node id + "|" + name


class Contexts:
    """A pytest plugin: the coverage context is the running test's node id, or a shared fixture's
    while it is set up; call times and the fixtures each test uses are kept."""

    def __init__(self, cov: coverage.Coverage):
        self.cov, self.seconds, self.uses, self.stack = cov, defaultdict(float), {}, [""]

    def switch(self, context: str | None = None) -> None:
        if context is None:
            self.stack.pop()
        else:
            self.stack.append(context)
        self.cov.switch_context(self.stack[-1])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.uses[item.nodeid] = set(item.fixturenames)
        self.switch(item.nodeid)
        yield
        self.switch()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        shared = fixturedef.scope != "function"
        if shared:  # fixtures it depends on are set up inside this hook: a stack of contexts
            self.switch(f"{FIXTURE}{request.node.nodeid}|{fixturedef.argname}")
        try:
            yield
        finally:
            if shared:
                self.switch()

    def pytest_runtest_logreport(self, report):
        self.seconds[report.nodeid] += report.duration


def ordered(tests: set[str], seconds: dict[str, float]) -> list[str]:
    """Grouped by file (module fixtures are set up once), fastest files first, fastest tests first in each."""
    by_file = defaultdict(list)
    for t in tests:
        by_file[t.split("::")[0]].append(t)
    files = sorted(by_file, key=lambda f: (sum(seconds[t] for t in by_file[f]), f))
    return [t for f in files for t in sorted(by_file[f], key=lambda t: (seconds[t], t))]


def users(context: str, uses: dict[str, set[str]]) -> list[str]:
    """The tests a context stands for: itself, or for a shared fixture's setup every test under its
    scope node that uses the fixture (directly or through other fixtures)."""
    if not context.startswith(FIXTURE):
        return [context] if context else []
    node, name = context.removeprefix(FIXTURE).rsplit("|", 1)
    return [t for t, names in uses.items() if name in names
            and (not node or t == node or t.startswith((f"{node}::", f"{node}/")))]


def main(out: str, files: list[str], tests: tuple[str, ...] = ("tests",), root: Path = ROOT) -> int:
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
        by_line = {n: sorted({t for c in ctxs for t in users(c, plugin.uses)})
                   for n, ctxs in data.contexts_by_lineno(f).items()}
        name = str(Path(f).relative_to(root))
        test_map[name] = ordered({c for ctxs in by_line.values() for c in ctxs}, plugin.seconds)
        line_map[name] = {n: ctxs for n, ctxs in sorted(by_line.items()) if ctxs}
    seconds = {t: round(s, 2) for t, s in plugin.seconds.items()}
    Path(out).write_text(json.dumps({"modules": test_map, "lines": line_map, "seconds": seconds}))
    return 0
