"""Mutation testing with cosmic-ray: small bugs put into the code one at a time, the fast suite run on each.

A mutant the suite fails on is killed; one it passes on is a survivor (a bug our tests would let
through). Prints the score per file and every survivor, and as its last line one JSON object
`{"mutants": N, "killed": K, "score": K/N, "survivors": [...]}`.

    make mutation                                   # the whole scope below, the fast suite (long)
    python scripts/mutation.py judges/pairs.py --tests tests/test_judges.py tests

cosmic-ray edits the files in place, one mutant at a time, and puts them back: do not edit or test
in this worktree while it runs. Timeouts count as killed. Only the operators for the bugs we would
make run (off-by-one numbers, `<` vs `<=`, `and`/`or`, `not`, `+`/`-`, `*`/`/`, True/False, loops
that never run, break/continue); exotic swaps such as `+` -> `<<` are filtered out.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SCOPE = ["validators", "judges", "generators/cache.py", "generators/openai_backend.py",
         "seedfactory/pipeline.py", "seedfactory/publish.py"]
EXCLUDE = [
    r"core/ReplaceBinaryOperator_(?!Add_Sub$|Sub_Add$|Mul_Div$|Div_Mul$)",
    r"core/ReplaceComparisonOperator_(?!(Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Lt_GtE|GtE_Lt|Gt_LtE|LtE_Gt|Eq_NotEq|NotEq_Eq"
    r"|Is_IsNot|IsNot_Is|In_NotIn|NotIn_In)$)",
    r"core/ReplaceUnaryOperator_(?!Delete_Not$|Delete_USub$)",
    r"core/(VariableInserter|VariableReplacer|RemoveDecorator|ExceptionReplacer)$",
]


def config(paths: list[str], tests: list[str], timeout: float) -> str:
    test_cmd = shlex.join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                           *tests])
    return "\n".join([
        "[cosmic-ray]", f"module-path = {json.dumps(paths)}", f"timeout = {timeout}", "excluded-modules = []",
        f"test-command = {json.dumps(test_cmd)}", "", "[cosmic-ray.distributor]", 'name = "local"', "",
        "[cosmic-ray.filters.operators-filter]", f"exclude-operators = {json.dumps(EXCLUDE)}", ""])


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def results(session: Path) -> tuple[list[str], Counter, Counter]:
    """Survivors as `file:line operator`, and per file the mutants run and killed (filtered ones left out)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    survivors, run, killed = [], Counter(), Counter()
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            m = item.mutations[0]
            run[str(m.module_path)] += 1
            if result.test_outcome == TestOutcome.SURVIVED:
                survivors.append(f"{m.module_path}:{m.start_pos[0]} {m.operator_name.removeprefix('core/')}"
                                 f"#{m.occurrence}")
            else:  # killed, or incompetent (the mutant would not even import)
                killed[str(m.module_path)] += 1
    return sorted(survivors, key=lambda s: (s.split(":")[0], int(s.split(":")[1].split()[0]))), run, killed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=SCOPE, help="files or folders to mutate (default: the scope)")
    ap.add_argument("--tests", nargs="+", default=["tests"], help="test paths given to pytest (default: tests)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per test run before a mutant is killed")
    args = ap.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        cfg, session = Path(tmp) / "cosmic-ray.toml", Path(tmp) / "session.sqlite"
        cfg.write_text(config(args.paths, args.tests, args.timeout))
        subprocess.run([tool("cosmic-ray"), "init", str(cfg), str(session)], check=True)
        subprocess.run([tool("cr-filter-operators"), str(session), str(cfg)], check=True)
        subprocess.run([tool("cosmic-ray"), "exec", str(cfg), str(session)], check=True)
        survivors, run, killed = results(session)
    for path in sorted(run):
        print(f"{path}: {killed[path]}/{run[path]} killed")
    print("survivors:" if survivors else "no survivors", *survivors, sep="\n  ")
    n, k = sum(run.values()), sum(killed.values())
    print(f"{k}/{n} mutants killed in {time.monotonic() - started:.0f} s")
    print(json.dumps({"mutants": n, "killed": k, "score": round(k / n, 4) if n else None, "survivors": survivors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
