"""The test command cosmic-ray runs on each mutant: only the module's tests that execute the mutated lines.

Called by scripts/mutation.py (not on its own) as
`python scripts/mutation_run.py SPEC.json -- PYTHON -m pytest ARGS... TESTS...`. SPEC names the
module, a pristine copy of its source, and the per-line test map of the coverage run
(mutation_map.py). The mutated lines are the ones that differ from the pristine copy; a test that
executes none of them runs the same code as on the unmutated module, so it cannot kill the mutant
and is left out. The module's full list runs instead where a line-level map cannot be trusted:

- a line executed at import (module or class level, a function's header, defaults or decorators);
- a line in a function no test's coverage saw run at all (numba-compiled kernels, subprocesses);
- a line in a memoised function (a decorator named like `lru_cache`/`cache`): only the first test
  that calls it runs its lines, later ones read the cached result and depend on them all the same.

A line inside a function that tests do run, but that no test executes, gets no test: the mutant
survives at once, as it would after the full list. The selected tests keep the list's order
(fastest files first), so `pytest -x` still stops at the first failure.
"""

from __future__ import annotations

import ast
import difflib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)  # a lambda at module level runs at import: not one


def changed_lines(before: list[str], after: list[str]) -> set[int]:
    """1-based lines of `before` that `after` replaced or deleted (an insertion marks its neighbours)."""
    out: set[int] = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag != "equal":
            out.update(range(i1 + 1, i2 + 1) if i2 > i1 else {max(i1, 1), i1 + 1})
    return out


def own_lines(node: ast.stmt) -> range:
    """The lines a statement runs itself: a compound statement's header, a simple one's whole span."""
    body = getattr(node, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        return range(node.lineno, max(body[0].lineno, node.lineno + 1))
    return range(node.lineno, (node.end_lineno or node.lineno) + 1)


def locate(tree: ast.Module, line: int) -> tuple[ast.stmt | None, ast.AST | None]:
    """The innermost statement whose own lines hold `line`, and the innermost function around it."""
    found: tuple[ast.stmt | None, ast.AST | None] = (None, None)

    def visit(node: ast.AST, func: ast.AST | None) -> None:
        nonlocal found
        for child in ast.iter_child_nodes(node):
            start = min([child.lineno, *[d.lineno for d in getattr(child, "decorator_list", [])]]) \
                if hasattr(child, "lineno") else None
            if start is None or not start <= line <= (child.end_lineno or child.lineno):
                if not hasattr(child, "lineno"):
                    visit(child, func)
                continue
            if isinstance(child, ast.stmt) and (line in own_lines(child) or line < child.lineno):
                found = (child, func)
            visit(child, child if isinstance(child, FUNCS) else func)

    visit(tree, None)
    return found


def select(spec: dict, source: str) -> list[str] | None:
    """The tests to run on this mutant, in the list's order; None means the module's full list."""
    pristine = Path(spec["pristine"]).read_text()
    tree = ast.parse(pristine)
    by_line = {int(k): set(v) for k, v in spec["lines"].items()}
    chosen: set[str] = set()
    for line in changed_lines(pristine.splitlines(), source.splitlines()):
        stmt, func = locate(tree, line)
        if stmt is None or func is None or isinstance(stmt, FUNCS):
            return None  # import time: module or class level, a def's header, defaults, decorators
        if any("cache" in ast.unparse(d) for d in func.decorator_list):
            return None  # memoised: tests after the first depend on lines they do not run
        span = range(func.lineno, (func.end_lineno or func.lineno) + 1)
        if not any(by_line.get(n) for n in span):
            return None  # a function no coverage saw run (compiled or in a subprocess)
        for n in own_lines(stmt):
            chosen |= by_line.get(n, set())
    return [t for t in spec["tests"] if t in chosen]


def main(argv: list[str]) -> int:
    spec_file, sep, *command = argv
    assert sep == "--", "usage: mutation_run.py SPEC.json -- PYTHON -m pytest ARGS... TESTS..."
    spec = json.loads(Path(spec_file).read_text())
    tests = select(spec, (ROOT / spec["module"]).read_text())
    if tests is None:
        return subprocess.call(command, cwd=ROOT)
    if not tests:
        print(f"mutation_run: no test executes the mutated lines of {spec['module']}")
        return 0
    base = command[:len(command) - len(spec["tests"])]
    return subprocess.call([*base, *tests], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
