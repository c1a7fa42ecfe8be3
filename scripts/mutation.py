"""Mutation testing with cosmic-ray: small bugs put into the code one at a time, each module's tests run on each.

A mutant its tests fail on is killed; one they pass on is a survivor (a bug our tests would let
through). Prints the score per file and every survivor, and as its last line one JSON object
`{"mutants": N, "killed": K, "score": K/N, "survivors": [...], "equivalent": [...], ...}`.

    make mutation                                   # the whole scope below (long: run it niced)
    python scripts/mutation.py judges/pairs.py      # one module, its own tests
    python scripts/mutation.py judges/pairs.py --tests tests/test_judges.py   # a fixed test set instead
    python scripts/mutation.py --fresh              # forget earlier sessions and the test map
    python scripts/mutation.py --retest-survivors   # after adding tests: run only the survivors again

Affordable because a mutant in module M runs only M's tests, fail-fast (`-x`), fastest files first.
Which tests exercise M comes from one coverage run of the fast suite with a context per test
(`.mutation/testmap.json`, made again when a file under tests/ changes), less the few tests slower
than `--max-test-seconds`. Of those, a mutant runs only the tests that execute its mutated lines
(scripts/mutation_run.py; the whole list where a line runs at import or in code coverage cannot see,
such as numba kernels; `--full-lists` to run the whole list always). Each module has its own
cosmic-ray session in `.mutation/`, so a stopped run resumes where it stopped; a module whose source
or tests changed starts over. Its timeout is its tests' baseline time on the unmutated code times
`--factor`. Tests run in subprocesses the map cannot see: a module only they exercise gets no
tests, and its mutants count as survivors.

cosmic-ray edits the files in place, one mutant at a time, and puts them back: do not edit or test
in this worktree while it runs, and stop it with Ctrl-C (SIGINT), which lets it put the file back.
Timeouts count as killed. Only the operators for the bugs we would make run (off-by-one numbers,
`<` vs `<=`, `and`/`or`, `not`, `+`/`-`, `*`/`/`, True/False, loops that never run, break/continue);
exotic swaps such as `+` -> `<<` are filtered out. Mutants listed in EQUIVALENT (mutation_equivalent.py:
no test can tell them from the code) are reported apart and never counted as killed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling scripts, also when loaded from a file
from mutation_equivalent import EQUIVALENT  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCOPE = ["validators", "judges", "generators/cache.py", "generators/openai_backend.py",
         "seedfactory/pipeline.py", "seedfactory/publish.py"]
# Modules whose kernels numba compiles: coverage never sees them run, so a test that reaches them
# only through another module is not in their list; the tests of the modules that call them are added.
COMPILED_CALLERS = {"validators/minhash_jit.py": ["validators/minhash.py"]}
# Modules too costly to run whole: each mutant of minhash_jit recompiles its numba kernels (~25 s a
# mutant here, 648 mutants); a seeded random sample of this many runs instead (`--sample MODULE=0`: all).
SAMPLED = {"validators/minhash_jit.py": 300}
SAMPLED_OUT = "sampled out"  # the output a sampled-out mutant's result carries
EXCLUDE = [
    r"core/ReplaceBinaryOperator_(?!Add_Sub$|Sub_Add$|Mul_Div$|Div_Mul$)",
    r"core/ReplaceComparisonOperator_(?!(Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Lt_GtE|GtE_Lt|Gt_LtE|LtE_Gt|Eq_NotEq|NotEq_Eq"
    r"|Is_IsNot|IsNot_Is|In_NotIn|NotIn_In)$)",
    r"core/ReplaceUnaryOperator_(?!Delete_Not$|Delete_USub$)",
    r"core/(VariableInserter|VariableReplacer|RemoveDecorator|ExceptionReplacer)$",
]
PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow"]


def modules(paths: list[str]) -> list[str]:
    """The .py files under `paths`, relative to the repo root."""
    out = []
    for p in paths:
        full = ROOT / p
        found = sorted(full.rglob("*.py")) if full.is_dir() else [full]
        out += [str(f.relative_to(ROOT)) for f in found if f.stat().st_size]
    return out


def collect_map(mods: list[str], out: Path) -> None:
    """One coverage run of the fast suite, a context per test; writes {module: [test ids fastest file first]}."""
    started = time.monotonic()
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r}); import mutation_map; " \
           f"sys.exit(mutation_map.main({str(out)!r}, {[str(ROOT / m) for m in mods]!r}))"
    print("mutation: mapping tests to modules (one coverage run of the fast suite)", file=sys.stderr)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    print(f"mutation: test map written in {time.monotonic() - started:.0f} s", file=sys.stderr)


def without_slow(collected: dict, limit: float) -> dict[str, list[str]]:
    """The map less tests slower than `limit` seconds (as timed in the coverage run): one such test in
    a module's list costs every surviving mutant that much. Their kills are lost, never invented."""
    slow = {t for t, s in collected["seconds"].items() if s > limit}
    if slow:
        print(f"mutation: {len(slow)} tests over {limit:.0f} s left out of the map: {', '.join(sorted(slow))}",
              file=sys.stderr)
    lists = {m: [t for t in tests if t not in slow] for m, tests in collected["modules"].items()}
    for module, callers in COMPILED_CALLERS.items():  # compiled code: coverage sees only its Python lines
        if module in lists:
            lists[module] += [t for c in callers for t in lists.get(c, []) if t not in lists[module]]
    return lists


def config(path: str, tests: list[str], timeout: float, spec: Path | None = None) -> str:
    """cosmic-ray's config for one module; with `spec`, each mutant runs through mutation_run.py,
    which keeps only the tests that execute its mutated lines."""
    select = [sys.executable, str(ROOT / "scripts" / "mutation_run.py"), str(spec), "--"] if spec else []
    test_cmd = shlex.join([*select, sys.executable, *PYTEST, *tests])
    return "\n".join([
        "[cosmic-ray]", f"module-path = {json.dumps(path)}", f"timeout = {timeout:.0f}", "excluded-modules = []",
        f"test-command = {json.dumps(test_cmd)}", "", "[cosmic-ray.distributor]", 'name = "local"', "",
        "[cosmic-ray.filters.operators-filter]", f"exclude-operators = {json.dumps(EXCLUDE)}", ""])


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def baseline(tests: list[str]) -> float:
    """Seconds the module's tests take on the unmutated code; they must pass, or no mutant means anything."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, *PYTEST, *tests], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"mutation: the tests fail on the unmutated code:\n{proc.stdout[-3000:]}")
    return time.monotonic() - started


def execute(cfg: Path, session: Path, desc: str) -> None:
    """`cosmic-ray exec` on the pending mutants of one session, with a progress bar read from its database."""
    from cosmic_ray.work_db import WorkDB, use_db
    from tqdm import tqdm

    with use_db(str(session), WorkDB.Mode.open) as db:
        total, done = db.num_work_items, db.num_results
    with tqdm(total=total, initial=done, desc=desc, file=sys.stderr, dynamic_ncols=True) as bar:
        proc = subprocess.Popen([tool("cosmic-ray"), "exec", str(cfg), str(session)], cwd=ROOT)
        while True:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            with use_db(str(session), WorkDB.Mode.open) as db:
                bar.update(db.num_results - bar.n)
            if proc.returncode is not None:
                break
    if proc.returncode:
        sys.exit(f"mutation: cosmic-ray exec failed on {desc} (exit {proc.returncode})")


def mutant_side(diff: str | None) -> str:
    """The mutant's side of a cosmic-ray diff's hunk: the lines it adds with their context lines."""
    lines = (diff or "").splitlines()
    hunk = next((i for i, d in enumerate(lines) if d.startswith("@@")), len(lines))
    return "\n".join(d[1:] for d in lines[hunk + 1:] if d[:1] in ("+", " "))


def removed_lines(diff: str | None) -> str:
    """The lines a cosmic-ray diff takes out: the mutated line(s) as the session's source had them."""
    return "\n".join(d[1:] for d in (diff or "").splitlines() if d.startswith("-") and not d.startswith("---"))


def equivalent_reason(path: str, operator: str, line: int, mutant: str = "", original: str = "") -> str | None:
    """Why the mutant is named equivalent, or None. An EQUIVALENT entry matches by file, operator and
    a snippet of the original line (`original`, from the mutant's diff; else line `line` of the file
    as it is now, which edits since the session may have moved); one with a fifth element also needs
    it in the mutant's side of the diff (`mutant`, its lines with their context), for when only some
    replacements on a line, or only one of several lines alike, are equivalent."""
    text = original or (ROOT / path).read_text().splitlines()[line - 1]
    return next((entry[3] for entry in EQUIVALENT if entry[:2] == (path, operator) and entry[2] in text
                 and (len(entry) < 5 or entry[4] in mutant)), None)


def item_equivalence(item, result) -> str | None:
    """Why a cosmic-ray work item's mutant (with its result, which holds the diff) is equivalent, or None."""
    m = item.mutations[0]
    return equivalent_reason(str(m.module_path), m.operator_name.removeprefix("core/"), m.start_pos[0],
                             mutant_side(result.diff), removed_lines(result.diff))


def outcomes(session: Path):
    """Each mutant run in a session (filtered and sampled-out ones left out) as (`file:line operator#n`,
    "killed" | "equivalent" | "survivor", why it is equivalent or None, its diff)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            m = item.mutations[0]
            name = f"{m.module_path}:{m.start_pos[0]} {m.operator_name.removeprefix('core/')}#{m.occurrence}"
            if result.test_outcome != TestOutcome.SURVIVED:  # killed, timed out, or would not even import
                yield name, "killed", None, result.diff
            elif why := item_equivalence(item, result):
                yield name, "equivalent", why, result.diff
            else:
                yield name, "survivor", None, result.diff


def results(session: Path) -> dict:
    """Per session: mutants run, killed, survivors and equivalent ones as `file:line operator#n`."""
    out = {"mutants": 0, "killed": 0, "survivors": [], "equivalent": []}
    for name, kind, why, _ in outcomes(session):
        out["mutants"] += 1
        if kind == "killed":
            out["killed"] += 1
        elif kind == "equivalent":
            out["equivalent"].append(f"{name}: {why}")
        else:
            out["survivors"].append(name)
    return out


def digest(paths: list[str]) -> str:
    """One hash of these files' contents (a test id names its file before `::`)."""
    h = hashlib.sha256()
    for p in sorted({p.split("::")[0] for p in paths}):
        h.update(p.encode() + b"\0" + (ROOT / p).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def tests_digest() -> str:
    return digest([str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests").glob("*.py"))])


def forget_survivors(session: Path) -> int:
    """Drop the results of surviving mutants so that the next exec runs them again; how many.
    Survivors named in EQUIVALENT keep their result: no test can kill them, so they are not rerun."""
    from cosmic_ray.work_db import WorkDB, WorkResultStorage, use_db
    from cosmic_ray.work_item import TestOutcome

    with use_db(str(session), WorkDB.Mode.open) as db:
        again = [item.job_id for item, result in db.completed_work_items
                 if result.test_outcome == TestOutcome.SURVIVED and not item_equivalence(item, result)]
        with db._session_maker.begin() as s:
            return s.query(WorkResultStorage).filter(WorkResultStorage.job_id.in_(again)).delete()


def sample_session(session: Path, keep: int | None, seed: int = 0) -> tuple[int, int]:
    """Leave `keep` (None: all) of the session's mutants to run, drawn at random (seeded), and mark the
    others skipped, so that a module too costly to run whole is measured on a sample; (kept, of how many).

    Called again on a sampled session with a larger `keep`, it grows the sample: the same seeded draw
    of more mutants starts with the smaller draw's, so only the mutants new to it run. Mutants already
    run keep their results, so a sample never shrinks below what was run."""
    import random

    from cosmic_ray.work_db import WorkDB, WorkResultStorage, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        results = dict(db.results)
        # the operators filter skipped some mutants for good; the rest are drawn from, in a stable
        # order (job ids are random per init), so a draw is repeatable
        items = sorted((i for i in db.work_items if i.job_id not in results
                        or results[i.job_id].worker_outcome != WorkerOutcome.SKIPPED
                        or results[i.job_id].output == SAMPLED_OUT),
                       key=lambda i: (str(i.mutations[0].module_path), tuple(i.mutations[0].start_pos),
                                      i.mutations[0].operator_name, i.mutations[0].occurrence))
        jobs = [i.job_id for i in items]
        drawn = set(random.Random(seed).sample(jobs, len(jobs) if keep is None else min(keep, len(jobs))))
        out = {j for j in jobs if j in results and results[j].output == SAMPLED_OUT}
        with db._session_maker.begin() as s:  # drawn now, sampled out before: to run
            s.query(WorkResultStorage).filter(WorkResultStorage.job_id.in_(drawn & out)).delete()
        skip = [j for j in jobs if j not in drawn and j not in results]  # pending, not drawn
        for job in skip:
            db.set_result(job, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=SAMPLED_OUT))
    return len(jobs) - len(out - drawn) - len(skip), len(jobs)


def run_module(path: str, tests: list[str], work: Path, factor: float, floor: float, retest: bool = False,
               lines: dict[str, list[str]] | None = None, sample: int | None = None) -> dict:
    """Init (or resume) the module's session, run its pending mutants, and return its results.

    A module whose source or tests changed starts over; with `retest`, a module whose tests alone
    changed keeps its killed mutants and runs its survivors again (for tests that were only added).
    With `lines` (line -> tests that execute it), each mutant runs only the tests on its lines.
    With `sample`, a new session keeps that many of its mutants, drawn at random; a sampled session
    asked for more (None: all) runs the mutants its sample gains."""
    slug = path.replace("/", "__").removesuffix(".py")
    cfg, session, meta = work / f"{slug}.toml", work / f"{slug}.sqlite", work / f"{slug}.json"
    spec = None
    if lines is not None:
        spec, pristine = work / f"{slug}.select.json", work / f"{slug}.pristine.py"
        shutil.copyfile(ROOT / path, pristine)
        spec.write_text(json.dumps({"module": path, "pristine": str(pristine), "tests": tests, "lines": lines}))
    if not tests:
        print(f"mutation: no test exercises {path}; every mutant counts as a survivor", file=sys.stderr)
        tests = ["--co", "-q", "tests/test_packaging.py"]  # collects, runs nothing, passes
    info = json.loads(meta.read_text()) if meta.exists() else {}
    source, suite = digest([path]), digest([t for t in tests if not t.startswith("-")])
    if info.get("source") != source or not session.exists():
        info = {"source": source, "exec_s": 0.0}
        session.unlink(missing_ok=True)
    if info.get("tests") != tests or info.get("suite") != suite:
        # a retest keeps the baseline it had (tests were only added: the timeout's factor covers them)
        kept = info.get("baseline_s") if retest and session.exists() else None
        info.update(tests=tests, suite=suite, baseline_s=kept if kept is not None else round(baseline(tests), 1))
        if session.exists() and retest:
            print(f"mutation: {path}: {forget_survivors(session)} survivors to run again", file=sys.stderr)
        elif session.exists():
            session.unlink()
    cfg.write_text(config(path, tests, max(floor, factor * info["baseline_s"]), spec))
    if not session.exists():
        subprocess.run([tool("cosmic-ray"), "init", str(cfg), str(session)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([tool("cr-filter-operators"), str(session), str(cfg)], cwd=ROOT, check=True)
        info.pop("sampled", None)
        if sample is not None:
            info["sampled"] = sample_session(session, sample)
    elif info.get("sampled") and (sample is None or sample > info["sampled"][0]):  # a larger sample asked
        info["sampled"] = sample_session(session, sample)
        print(f"mutation: {path}: sample grown to {info['sampled'][0]} of {info['sampled'][1]}", file=sys.stderr)
        if info["sampled"][0] == info["sampled"][1]:
            info.pop("sampled")
    meta.write_text(json.dumps(info))
    started = time.monotonic()
    execute(cfg, session, path)
    info["exec_s"] = round(info["exec_s"] + time.monotonic() - started, 1)
    meta.write_text(json.dumps(info))
    res = results(session)
    return res | {"seconds": info["exec_s"], "baseline_s": info["baseline_s"], "tests": len(tests),
                  "sampled": info.get("sampled")}


def hold_lock(work: Path):
    """An exclusive lock on `work`: two runs in one worktree would mutate its files under each other
    (one reads a file the other has mutated as a changed source, and drops its session)."""
    import fcntl

    handle = open(work / ".lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"mutation: another run holds {work / '.lock'}; stop it (Ctrl-C) before starting one")
    return handle


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=SCOPE, help="files or folders to mutate (default: the scope)")
    ap.add_argument("--tests", nargs="+", help="one fixed set of test paths for every module (default: the map)")
    ap.add_argument("--work", type=Path, default=ROOT / ".mutation", help="sessions and test map (resumable)")
    ap.add_argument("--fresh", action="store_true", help="start over: drop earlier sessions and the test map")
    ap.add_argument("--report", action="store_true", help="only summarise the sessions already run (runs nothing)")
    ap.add_argument("--retest-survivors", action="store_true",
                    help="where only tests changed (added), keep the killed mutants and run the survivors again")
    ap.add_argument("--sample", action="append", default=[], metavar="MODULE=N",
                    help="run a random N of MODULE's mutants (a module too costly to run whole), e.g."
                         " validators/minhash_jit.py=150, or 0 for all of them; a sampled session asked for more"
                         " runs only the mutants it gains"
                         f" (default: {', '.join(f'{m}={n}' for m, n in SAMPLED.items())})")
    ap.add_argument("--full-lists", action="store_true",
                    help="run every mutant on its module's whole test list, not only the tests on its lines")
    ap.add_argument("--factor", type=float, default=3.0, help="timeout = this x the tests' baseline time")
    ap.add_argument("--max-test-seconds", type=float, default=30.0,
                    help="tests slower than this in the coverage run are left out of the map")
    ap.add_argument("--min-timeout", type=float, default=30.0, help="seconds: the timeout's floor")
    args = ap.parse_args(argv)
    if args.fresh and not args.report:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.report:
        lock = hold_lock(args.work)  # noqa: F841 (held until the process ends)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started, mods = time.monotonic(), modules(args.paths)
    if args.report:
        return report(mods, args.work, started)
    line_map = None
    if args.tests:
        test_map = {m: args.tests for m in mods}
    else:
        map_file = args.work / "testmap.json"
        collected = json.loads(map_file.read_text()) if map_file.exists() else {}
        if not set(mods) <= set(collected.get("modules", {})) or collected.get("tests_digest") != tests_digest() \
                or "lines" not in collected:
            collect_map(sorted(set(modules(SCOPE + args.paths))), map_file)  # new or changed tests: map again
            map_file.write_text(json.dumps({**json.loads(map_file.read_text()), "tests_digest": tests_digest()}))
        collected = json.loads(map_file.read_text())
        test_map = without_slow(collected, args.max_test_seconds)
        line_map = None if args.full_lists else collected["lines"]
    samples = sample_sizes(args.sample)
    per = {m: run_module(m, test_map[m], args.work, args.factor, args.min_timeout, args.retest_survivors,
                         None if args.tests or line_map is None else line_map.get(m, {}), samples.get(m))
           for m in mods}
    return summary(args.paths, per, started)


def sample_sizes(given: list[str]) -> dict[str, int]:
    """Module -> how many of its mutants to run: SAMPLED, then `--sample MODULE=N` (0: all of them)."""
    sizes = dict(SAMPLED)
    for arg in given:
        module, _, n = arg.rpartition("=")
        if not module or not n.isdigit():
            sys.exit(f"mutation: --sample {arg!r}: expected MODULE=N, e.g. validators/minhash_jit.py=30")
        sizes[module] = int(n)
    return {m: n for m, n in sizes.items() if n}


def report(mods: list[str], work: Path, started: float) -> int:
    """The summary of the sessions already in `work`, running nothing (modules without one left out)."""
    per = {}
    for m in mods:
        slug = m.replace("/", "__").removesuffix(".py")
        session, meta = work / f"{slug}.sqlite", work / f"{slug}.json"
        if session.exists() and meta.exists():
            info = json.loads(meta.read_text())
            per[m] = results(session) | {"seconds": info["exec_s"], "baseline_s": info["baseline_s"],
                                         "tests": len(info["tests"]), "sampled": info.get("sampled")}
    return summary(list(per), per, started)


def summary(scope: list[str], per: dict[str, dict], started: float) -> int:
    """Per module and in all: killed, survivors, equivalent mutants; the last line one JSON object."""
    for m, r in per.items():
        rate = r["mutants"] / r["seconds"] if r["seconds"] else 0.0
        sampled = f" (a random sample of {r['sampled'][1]})" if r.get("sampled") else ""
        print(f"{m}: {r['killed']}/{r['mutants']} killed{sampled}, {len(r['equivalent'])} equivalent, "
              f"{r['tests']} tests, {r['seconds']:.0f} s ({rate:.2f} mutants/s)")
    survivors = [s for r in per.values() for s in r["survivors"]]
    equivalent = [s for r in per.values() for s in r["equivalent"]]
    print("survivors:" if survivors else "no survivors", *survivors, sep="\n  ")
    print("equivalent (not counted as killed):" if equivalent else "no equivalent mutants", *equivalent, sep="\n  ")
    n, k = sum(r["mutants"] for r in per.values()), sum(r["killed"] for r in per.values())
    wall = time.monotonic() - started
    print(f"{k}/{n} mutants killed in {wall:.0f} s this run ({sum(r['seconds'] for r in per.values()):.0f} s "
          "of mutant runs over all resumed sessions)")
    print(json.dumps({"scope": scope, "mutants": n, "killed": k, "score": round(k / n, 4) if n else None,
                      "score_without_equivalent": round(k / (n - len(equivalent)), 4) if n > len(equivalent) else None,
                      "survivors": survivors, "equivalent": equivalent,
                      "sampled": {m: f"{r['sampled'][0]} of {r['sampled'][1]}"
                                  for m, r in per.items() if r.get("sampled")},
                      "seconds": round(sum(r["seconds"] for r in per.values()))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
