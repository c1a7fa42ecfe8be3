"""Mutation check of a changed module with cosmic-ray: small bugs put into it one at a time, its tests run on each.

A mutant its tests fail on is killed; one they pass on is a survivor (a bug our tests would let
through). Prints each survivor's diff (cosmic-ray's `cr-report`), then `K/N killed`.

    make mutation MUTATE=judges/pairs.py                      # the module's tests, found by its names
    make mutation MUTATE=judges/pairs.py MUTATION_TESTS="tests/test_judges.py"   # a fixed test set
    python scripts/mutation.py validators/lsh.py --tests tests/test_lsh_index.py

What is ours, and what cosmic-ray does:
- the tests: by default the fast (`-m "not slow"`) test files that name one of the module's public
  functions or classes, or the module itself; run fail-fast, so a killed mutant costs little;
- the operators: only the bugs we would make (off-by-one numbers, `<` vs `<=`, `and`/`or`, `not`,
  `+`/`-`, `*`/`/`, True/False, break/continue); exotic swaps such as `+` -> `<<` are filtered out;
- equivalent mutants (no test can tell them from the code) are marked where they stand, with why:
  `# pragma: no mutate` on the mutated line, which cosmic-ray's cr-filter-pragma skips;
- the session (`.mutation/<module>-<hash of module and tests>.sqlite`) is cosmic-ray's: run the same
  command again to go on where it stopped; a changed module or test file starts a new one.

cosmic-ray edits the file in place, one mutant at a time, and puts it back: do not edit or test in
this worktree while it runs. Stopped (Ctrl-C), this script puts the module back itself: cosmic-ray,
interrupted while it restores the file, can leave it empty.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXCLUDE = [
    r"core/ReplaceBinaryOperator_(?!Add_Sub$|Sub_Add$|Mul_Div$|Div_Mul$)",
    r"core/ReplaceComparisonOperator_(?!(Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Lt_GtE|GtE_Lt|Gt_LtE|LtE_Gt|Eq_NotEq|NotEq_Eq"
    r"|Is_IsNot|IsNot_Is|In_NotIn|NotIn_In)$)",
    r"core/ReplaceUnaryOperator_(?!Delete_Not$|Delete_USub$)",
    r"core/(VariableInserter|VariableReplacer|RemoveDecorator|ExceptionReplacer)$",
]
PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow"]


def tests_for(module: str) -> list[str]:
    """The test files that name the module (`judges.pairs`) or one of its public top-level names."""
    tree = ast.parse((ROOT / module).read_text())
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name[0] != "_"}
    names.add(module.removesuffix(".py").replace("/", "."))
    pattern = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in sorted(names)))
    return [str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests").glob("test_*.py"))
            if p.name != "test_mutation_tool.py" and pattern.search(p.read_text())]


def config(module: str, tests: list[str], timeout: float) -> str:
    """cosmic-ray's TOML config for one module."""
    return "\n".join([
        "[cosmic-ray]", f"module-path = {json.dumps(module)}", f"timeout = {timeout:.0f}", "excluded-modules = []",
        f"test-command = {json.dumps(shlex.join([sys.executable, *PYTEST, *tests]))}", "",
        "[cosmic-ray.distributor]", 'name = "local"', "",
        "[cosmic-ray.filters.operators-filter]", f"exclude-operators = {json.dumps(EXCLUDE)}", ""])


def cosmic_ray(entry: str, *args: str) -> None:
    """One of cosmic-ray's commands by its entry point (`module:function`), from this interpreter."""
    module, func = entry.split(":")
    script = f"import sys; from {module} import {func}; sys.exit({func}())"
    if code := subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT).returncode:
        sys.exit(f"mutation: cosmic-ray {func} {' '.join(args[:1])} failed or was stopped (exit {code})")


def baseline(tests: list[str]) -> float:
    """Seconds the tests take on the unmutated code; they must pass, or no mutant means anything."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, *PYTEST, *tests], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"mutation: the tests fail on the unmutated code:\n{proc.stdout[-3000:]}")
    return time.monotonic() - started


def counts(session: Path) -> tuple[int, int]:
    """(killed, run): mutants skipped by a filter are neither (cr-report would count them as killed)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    with use_db(str(session), WorkDB.Mode.open) as db:
        run = [r for _, r in db.results if r.worker_outcome != WorkerOutcome.SKIPPED]
    return sum(r.test_outcome != TestOutcome.SURVIVED for r in run), len(run)


def check(module: str, tests: list[str], work: Path, factor: float) -> tuple[int, int]:
    """Init (or resume) the module's session, run its pending mutants, print its survivors."""
    if not tests:
        sys.exit(f"mutation: no test file names {module} or its public names; give them with --tests")
    digest = hashlib.sha256(b"".join((ROOT / p).read_bytes() for p in [module, *tests])).hexdigest()[:12]
    slug = f"{module.replace('/', '__').removesuffix('.py')}-{digest}"
    cfg, session = work / f"{slug}.toml", work / f"{slug}.sqlite"
    if not session.exists():
        print(f"mutation: {module}: {len(tests)} test files: {' '.join(tests)}", file=sys.stderr)
        cfg.write_text(config(module, tests, max(30.0, factor * baseline(tests))))
        cosmic_ray("cosmic_ray.cli:main", "init", str(cfg), str(session))
        cosmic_ray("cosmic_ray.tools.filters.operators_filter:main", str(session), str(cfg))
        cosmic_ray("cosmic_ray.tools.filters.pragma_no_mutate:main", str(session))
    pristine = (ROOT / module).read_bytes()
    try:
        cosmic_ray("cosmic_ray.cli:main", "exec", str(cfg), str(session))
    finally:  # stopped mid-mutant (Ctrl-C, a kill), cosmic-ray can leave the mutant, or an empty file
        if (ROOT / module).read_bytes() != pristine:
            (ROOT / module).write_bytes(pristine)
            print(f"mutation: {module} put back as it was", file=sys.stderr)
    cosmic_ray("cosmic_ray.tools.report:report", "--surviving-only", "--show-diff", str(session))
    killed, run = counts(session)
    print(f"{module}: {killed}/{run} mutants killed")
    return killed, run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="+", help="the .py files to mutate, relative to the repo root")
    ap.add_argument("--tests", nargs="+", help="test paths for every module (default: those naming it)")
    ap.add_argument("--work", type=Path, default=ROOT / ".mutation", help="cosmic-ray's sessions (resumable)")
    ap.add_argument("--factor", type=float, default=3.0, help="a mutant's timeout: this x the tests' baseline time")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    results = [check(m, args.tests or tests_for(m), args.work, args.factor) for m in args.modules]
    survived = sum(run - killed for killed, run in results)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
