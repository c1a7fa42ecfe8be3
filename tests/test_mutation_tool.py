"""The mutation tool's own logic (scripts/mutation.py, mutation_map.py): which tests a module's
mutants run, in which order, and which survivors are reported apart as equivalent."""

import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


mutation = load("mutation")
mutation_map = load("mutation_map")


def test_tests_are_grouped_by_file_fastest_file_first_then_fastest_test():
    seconds = {"tests/b.py::x": 0.1, "tests/b.py::y": 0.2, "tests/a.py::slow": 3.0, "tests/a.py::quick": 0.01,
               "tests/c.py::z": 0.05}
    got = mutation_map.ordered(set(seconds), seconds)
    assert got == ["tests/c.py::z", "tests/b.py::x", "tests/b.py::y", "tests/a.py::quick", "tests/a.py::slow"]


def test_tests_over_the_limit_leave_every_module_list():
    collected = {"modules": {"m.py": ["t::a", "t::b"], "n.py": ["t::b"]}, "seconds": {"t::a": 30.0, "t::b": 30.5}}
    assert mutation.without_slow(collected, 30.0) == {"m.py": ["t::a"], "n.py": []}



def test_compiled_kernels_run_the_tests_of_the_modules_that_call_them():
    # numba kernels are invisible to coverage: a test reaching minhash_jit only through minhash.band_pairs
    # must still be in minhash_jit's list, after its own tests, once
    collected = {"seconds": {"t::own": 1, "t::band": 1, "t::slow": 99},
                 "modules": {"validators/minhash_jit.py": ["t::own"],
                             "validators/minhash.py": ["t::band", "t::own", "t::slow"]}}
    lists = mutation.without_slow(collected, 30.0)
    assert lists["validators/minhash_jit.py"] == ["t::own", "t::band"]
    assert lists["validators/minhash.py"] == ["t::band", "t::own"]

def test_equivalent_mutants_match_by_file_operator_and_line_text(monkeypatch):
    monkeypatch.setattr(mutation, "EQUIVALENT", [("validators/quality.py", "ReplaceAndWithOr",
                                                  "if a and b else 0.0", "why")])
    line = next(i for i, t in enumerate((mutation.ROOT / "validators/quality.py").read_text().splitlines(), 1)
                if "if a and b else 0.0" in t)
    assert mutation.equivalent_reason("validators/quality.py", "ReplaceAndWithOr", line) == "why"
    assert mutation.equivalent_reason("validators/quality.py", "ReplaceOrWithAnd", line) is None
    assert mutation.equivalent_reason("validators/quality.py", "ReplaceAndWithOr", line + 1) is None


def test_an_equivalent_entry_can_name_only_some_replacements_on_a_line(monkeypatch):
    monkeypatch.setattr(mutation, "EQUIVALENT", [("validators/quality.py", "NumberReplacer", "if a and b else 0.0",
                                                  "why", "else -1.0")])
    line = next(i for i, t in enumerate((mutation.ROOT / "validators/quality.py").read_text().splitlines(), 1)
                if "if a and b else 0.0" in t)
    diff = "--- a\n+++ b\n@@ -1 +1 @@\n y = 2\n-    x = 1 if a and b else 0.0\n+    x = 1 if a and b else {}\n"
    got = [mutation.equivalent_reason("validators/quality.py", "NumberReplacer", line,
                                      mutation.mutant_side(diff.format(v))) for v in ("-1.0", "1.0")]
    assert got == ["why", None]
    assert mutation.mutant_side(diff.format("-1.0")) == "y = 2\n    x = 1 if a and b else -1.0"  # context kept
    # the original line comes from the diff: an edit that moved the file's lines since does not unhook it
    moved = mutation.equivalent_reason("validators/quality.py", "NumberReplacer", line + 7,
                                       mutation.mutant_side(diff.format("-1.0")), mutation.removed_lines(diff))
    assert moved == "why"


def test_the_scope_is_real_files():
    mods = mutation.modules(mutation.SCOPE)
    assert "validators/quality.py" in mods and "seedfactory/publish.py" in mods
    assert all((mutation.ROOT / m).is_file() for m in mods)


mutation_run = load("mutation_run")

MODULE = '''"""doc"""
LIMIT = 3
import functools

def decorate(f):
    return f


@decorate
def clip(x, top=LIMIT):
    if x > top:
        return top
    if x < -100:
        return -100
    return x


@functools.lru_cache(maxsize=4)
def table(n):
    return [n] * n


class Box:
    size = 2

    def area(self):
        return self.size * (
            self.size)
'''


def spec_for(tmp_path, lines, tests=("t::a", "t::b", "t::c")):
    pristine = tmp_path / "pristine.py"
    pristine.write_text(MODULE)
    return {"module": "m.py", "pristine": str(pristine), "tests": list(tests),
            "lines": {str(k): v for k, v in lines.items()}}


def mutate(old, new):
    assert MODULE.count(old) == 1
    return MODULE.replace(old, new)


def test_changed_lines_are_numbered_in_the_pristine_source():
    before = ["a", "b", "c", "d"]
    assert mutation_run.changed_lines(before, ["a", "B", "c", "d"]) == {2}
    assert mutation_run.changed_lines(before, ["a", "c", "d"]) == {2}
    assert mutation_run.changed_lines(before, before) == set()


def test_a_mutant_runs_only_the_tests_that_execute_its_lines_in_list_order(tmp_path):
    # line numbers of MODULE: 11 `if x > top`, 12 `return top`, 13 `if x < -100`, 14 `return -100`,
    # 15 `return x`, 27-28 the two lines of one return statement
    lines = {11: ["t::c", "t::a"], 12: ["t::c"], 13: ["t::a"], 15: ["t::a"], 20: ["t::a"], 27: ["t::b"],
             28: ["t::c"]}
    spec = spec_for(tmp_path, lines)
    assert mutation_run.select(spec, mutate("if x > top:", "if x >= top:")) == ["t::a", "t::c"]
    assert mutation_run.select(spec, mutate("return top\n", "return top + 1\n")) == ["t::c"]
    # a statement over two lines: the tests seen on either line
    assert mutation_run.select(spec, mutate("self.size)", "self.size + 1)")) == ["t::b", "t::c"]
    # a line in a function tests run, that no test executes: nothing can kill it
    assert mutation_run.select(spec, mutate("return -100", "return -101")) == []


def test_import_time_lines_and_unseen_functions_run_the_whole_list(tmp_path):
    spec = spec_for(tmp_path, {11: ["t::a"], 15: ["t::a"]})
    for old, new in [("LIMIT = 3", "LIMIT = 4"),  # module level
                     ("top=LIMIT", "top=LIMIT + 1"),  # a default, evaluated at import
                     ("@decorate\n", "@decorate\n@decorate\n"),  # a decorator
                     ("size = 2", "size = 3"),  # class level
                     ("return self.size * (", "return self.size / (")]:  # a function no coverage saw run
        assert mutation_run.select(spec, mutate(old, new)) is None, old
    # memoised: line 20 ran in the first test only, later ones read the cached result
    spec = spec_for(tmp_path, {11: ["t::a"], 20: ["t::a"]})
    assert mutation_run.select(spec, mutate("return [n] * n", "return [n] * (n + 1)")) is None


def test_the_selection_matches_real_coverage_of_a_real_test_run(tmp_path, monkeypatch):
    # the map mutation_map.py writes, made here by coverage on two tiny tests, drives the selection
    import coverage

    pkg = tmp_path / "m.py"
    pkg.write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    cov = coverage.Coverage(data_file=None, include=[str(pkg)])
    cov.start()
    import m

    for name, arg in [("t::small", 1), ("t::big", 5)]:
        cov.switch_context(name)
        m.clip(arg)
    cov.switch_context("")
    cov.stop()
    by_line = {n: sorted(c for c in ctxs if c) for n, ctxs in cov.get_data().contexts_by_lineno(str(pkg)).items()}
    spec = spec_for(tmp_path, {n: c for n, c in by_line.items() if c}, tests=["t::big", "t::small"])
    assert mutation_run.select(spec, mutate("return top\n", "return -top\n")) == ["t::big"]
    assert mutation_run.select(spec, mutate("if x < -100", "if x <= -100")) == ["t::small"]
    assert mutation_run.select(spec, mutate("return -100", "return 100")) == []
    assert mutation_run.select(spec, mutate("LIMIT = 3", "LIMIT = 2")) is None
    sys.modules.pop("m", None)


def toy_session(tmp_path: Path, name: str, filtered: bool = True) -> Path:
    """A cosmic-ray session of MODULE (m.py, written to tmp_path), its operators filtered as a run does."""
    import subprocess

    (tmp_path / "m.py").write_text(MODULE)
    cfg, path = tmp_path / "m.toml", tmp_path / f"{name}.sqlite"
    cfg.write_text(mutation.config("m.py", ["tests"], 30))
    subprocess.run([mutation.tool("cosmic-ray"), "init", str(cfg), str(path)], cwd=tmp_path, check=True,
                   capture_output=True)
    if filtered:
        subprocess.run([mutation.tool("cr-filter-operators"), str(path), str(cfg)], cwd=tmp_path, check=True,
                       capture_output=True)
    return path


def test_a_sample_keeps_n_pending_mutants_drawn_the_same_way_each_time(tmp_path):
    from cosmic_ray.work_db import WorkDB, use_db

    kept = []
    for name in ("a", "b"):
        session = toy_session(tmp_path, name)
        with use_db(str(session), WorkDB.Mode.open) as db:
            before = len(list(db.pending_work_items))
        assert mutation.sample_session(session, 5) == (5, before) and before > 5
        with use_db(str(session), WorkDB.Mode.open) as db:
            pending = sorted((str(i.mutations[0].start_pos), i.mutations[0].operator_name, i.mutations[0].occurrence)
                             for i in db.pending_work_items)
        assert len(pending) == 5
        kept.append(pending)
    assert kept[0] == kept[1]
    assert mutation.results(tmp_path / "a.sqlite")["mutants"] == 0  # sampled-out mutants are not counted


def test_a_larger_sample_keeps_the_mutants_run_and_runs_only_those_it_gains(tmp_path, monkeypatch):
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    def key(item) -> tuple:
        m = item.mutations[0]
        return str(m.start_pos), m.operator_name, m.occurrence

    def pending(path: Path) -> set:
        with use_db(str(path), WorkDB.Mode.open) as db:
            return {key(i) for i in db.pending_work_items}

    grown, direct, whole = (toy_session(tmp_path, name) for name in ("grown", "direct", "whole"))
    monkeypatch.setattr(mutation, "ROOT", tmp_path)  # results() reads the mutated lines from m.py there
    total = len(pending(whole))
    assert mutation.sample_session(grown, 4) == (4, total) and total > 8
    first = pending(grown)
    with use_db(str(grown), WorkDB.Mode.open) as db:  # the first draw is run: two killed, two survived
        for n, item in enumerate(db.pending_work_items):
            db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NORMAL, output="ran",
                                                  test_outcome=TestOutcome.KILLED if n % 2 else TestOutcome.SURVIVED))
    assert mutation.results(grown)["mutants"] == 4

    assert mutation.sample_session(grown, 8) == (8, total)
    assert mutation.sample_session(direct, 8) == (8, total)
    gained = pending(grown)
    assert len(gained) == 4 and not gained & first  # only the new four run; the four run keep their results
    assert gained | first == pending(direct)  # the same eight as a sample of eight drawn at once
    assert mutation.results(grown)["mutants"] == 4

    assert mutation.sample_session(grown, 2) == (4, total)  # never below what was run: the unrun four drop
    assert pending(grown) == set()
    assert mutation.sample_session(grown, None) == (total, total)  # all of them
    assert len(pending(grown)) == total - 4 and not pending(grown) & first


def test_retesting_runs_the_survivors_again_but_not_the_equivalent_ones(tmp_path, monkeypatch):
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    session = toy_session(tmp_path, "m", filtered=False)
    with use_db(str(session), WorkDB.Mode.open) as db:
        lines = {}  # one mutant per line, three lines
        for i in sorted(db.pending_work_items, key=lambda i: (tuple(i.mutations[0].start_pos),
                                                              i.mutations[0].occurrence)):
            lines.setdefault(i.mutations[0].start_pos[0], i)
        items = list(lines.values())[:3]
        outcomes = [TestOutcome.SURVIVED, TestOutcome.SURVIVED, TestOutcome.KILLED]
        for item, outcome in zip(items, outcomes):
            db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=outcome))
    equivalent = items[1].mutations[0]
    line = (tmp_path / "m.py").read_text().splitlines()[equivalent.start_pos[0] - 1]
    monkeypatch.setattr(mutation, "ROOT", tmp_path)
    monkeypatch.setattr(mutation, "EQUIVALENT", [("m.py", equivalent.operator_name.removeprefix("core/"), line, "why")])
    assert mutation.forget_survivors(session) == 1
    with use_db(str(session), WorkDB.Mode.open) as db:
        done = {item.job_id for item, _ in db.completed_work_items}
    assert done == {items[1].job_id, items[2].job_id}


def test_a_second_run_on_the_same_work_folder_is_refused(tmp_path):
    import pytest

    held = mutation.hold_lock(tmp_path)
    with pytest.raises(SystemExit, match="another run holds"):
        mutation.main(["--work", str(tmp_path), "validators/base.py"])
    held.close()
    assert mutation.hold_lock(tmp_path)  # free again once the first one ends


def test_a_shared_fixtures_setup_counts_for_every_test_that_uses_it(tmp_path):
    # a real map of a tiny project: `run` is module-scoped and set up during the first test only, yet
    # the lines it runs count for both tests that read its output, not for the test that does not use it
    import json
    import subprocess

    (tmp_path / "m.py").write_text(MODULE)
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_m.py").write_text(
        "import pytest\nimport m\n\n\n@pytest.fixture(scope='module')\ndef run():\n    return m.table(3)\n\n\n"
        "@pytest.fixture\ndef doubled(run):\n    return run * 2\n\n\n"
        "def test_first(run):\n    assert run == [3, 3, 3]\n\n\n"
        "def test_second(doubled):\n    assert len(doubled) == 6\n\n\n"
        "def test_other():\n    assert m.clip(5) == 3\n")
    out = tmp_path / "map.json"
    code = (f"import sys; sys.path[:0] = [{str(SCRIPTS)!r}, {str(tmp_path)!r}]; import mutation_map; "
            f"from pathlib import Path; mutation_map.main({str(out)!r}, [{str(tmp_path / 'm.py')!r}], "
            f"tests=({str(tests)!r},), root=Path({str(tmp_path)!r}))")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True)
    got = json.loads(out.read_text())
    stripped = [line.strip() for line in MODULE.splitlines()]
    table_line, clip_line = (str(stripped.index(text) + 1) for text in ("return [n] * n", "return top"))
    assert got["lines"]["m.py"][table_line] == ["tests/test_m.py::test_first", "tests/test_m.py::test_second"]
    assert got["lines"]["m.py"][clip_line] == ["tests/test_m.py::test_other"]
    assert set(got["modules"]["m.py"]) == {f"tests/test_m.py::test_{n}" for n in ("first", "second", "other")}


def test_minhash_jit_is_sampled_unless_told_otherwise():
    import pytest

    assert mutation.sample_sizes([]) == {"validators/minhash_jit.py": 300}
    assert mutation.sample_sizes(["validators/minhash_jit.py=0", "judges/pairs.py=5"]) == {"judges/pairs.py": 5}
    with pytest.raises(SystemExit, match="expected MODULE=N"):
        mutation.sample_sizes(["validators/minhash_jit.py"])
