"""The mutation check (scripts/mutation.py) on a toy module: which tests it picks, which mutants
cosmic-ray's filters leave (only our operators, none on a `# pragma: no mutate` line), and one whole
run that finds the toy's one real survivor."""

import importlib.util
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
spec = importlib.util.spec_from_file_location("mutation", SCRIPTS / "mutation.py")
mutation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutation)

MODULE = '''\
def clip(x, top=3):
    if x > top:
        return top
    return x


def inc(x):
    return x + 1


def half(x):
    return x / 2  # pragma: no mutate (no test reads it)
'''
# clip(3) is 3 either way, so `x > top` -> `x >= top` survives; every other mutant of clip is killed.
# inc(1) is 1 << 1 as well, but `+` -> `<<` is not an operator we run.
TESTS = '''\
from m import clip, inc


def test_clip():
    assert clip(5) == 3 and clip(3) == 3 and clip(1) == 1


def test_inc():
    assert inc(1) == 2
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A repo of m.py, its test file, an unrelated one, and a root conftest (m importable)."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "m.py").write_text(MODULE)
    (tmp_path / "conftest.py").write_text("")
    (tmp_path / "tests" / "test_m.py").write_text(TESTS)
    (tmp_path / "tests" / "test_other.py").write_text("def test_other():\n    assert 'x' not in 'clap'\n")
    monkeypatch.setattr(mutation, "ROOT", tmp_path)
    return tmp_path


def named(items) -> list[tuple[int, str]]:
    return sorted((i.mutations[0].start_pos[0], i.mutations[0].operator_name.removeprefix("core/")) for i in items)


def mutants(session: Path) -> dict[str, list[tuple[int, str]]]:
    """'pending' and 'skipped' (by a filter): each mutant as (line, operator)."""
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(session), WorkDB.Mode.open) as db:
        return {"pending": named(db.pending_work_items), "skipped": named(i for i, _ in db.completed_work_items)}


def test_the_tests_of_a_module_are_the_files_that_name_it():
    assert mutation.tests_for("judges/pairs.py")[:1] == ["tests/test_judges.py"]  # names panel_pairs
    assert "tests/test_lsh_index.py" not in mutation.tests_for("judges/pairs.py")
    assert "tests/test_mutation_tool.py" not in mutation.tests_for("validators/base.py")


def test_the_toy_picks_its_own_test_file(toy):
    assert mutation.tests_for("m.py") == ["tests/test_m.py"]


def test_filters_leave_our_operators_and_nothing_on_a_pragma_line(toy):
    cfg, session = toy / "m.toml", toy / "m.sqlite"
    cfg.write_text(mutation.config("m.py", ["tests/test_m.py"], 30))
    mutation.cosmic_ray("cosmic_ray.cli:main", "init", str(cfg), str(session))
    everything = mutants(session)["pending"]
    mutation.cosmic_ray("cosmic_ray.tools.filters.operators_filter:main", str(session), str(cfg))
    mutation.cosmic_ray("cosmic_ray.tools.filters.pragma_no_mutate:main", str(session))
    got = mutants(session)
    assert sorted(got["pending"] + got["skipped"]) == everything
    assert (2, "ReplaceComparisonOperator_Gt_GtE") in got["pending"]
    assert (8, "ReplaceBinaryOperator_Add_Sub") in got["pending"]
    assert (8, "ReplaceBinaryOperator_Add_LShift") in got["skipped"]  # an exotic swap: filtered out
    assert [line for line, _ in got["skipped"] if line == 12] and all(line != 12 for line, _ in got["pending"])
    assert mutation.counts(session) == (0, 0)  # skipped mutants are neither killed nor run


def test_the_baseline_refuses_tests_that_fail_on_the_unmutated_code(toy):
    (toy / "tests" / "test_m.py").write_text(TESTS.replace("== 3 and", "== 4 and"))
    with pytest.raises(SystemExit, match="the tests fail on the unmutated code"):
        mutation.baseline(["tests/test_m.py"])


def test_a_run_stopped_mid_mutant_puts_the_module_back(toy, monkeypatch):
    def stopped(entry, *args):  # cosmic-ray killed while it restores the file: left empty
        if "exec" in args:
            (toy / "m.py").write_text("")
            raise KeyboardInterrupt

    monkeypatch.setattr(mutation, "cosmic_ray", stopped)
    monkeypatch.setattr(mutation, "baseline", lambda tests: 1.0)
    (toy / ".mutation").mkdir()
    with pytest.raises(KeyboardInterrupt):
        mutation.check("m.py", ["tests/test_m.py"], toy / ".mutation", 3.0)
    assert (toy / "m.py").read_text() == MODULE


@pytest.mark.slow  # runs pytest once per mutant (8 here, about 40 s)
def test_a_run_finds_the_one_survivor_and_resumes_without_running_again(toy, capfd):
    assert mutation.main(["m.py", "--work", str(toy / ".mutation")]) == 1
    out = capfd.readouterr().out
    killed, run = map(int, out.strip().splitlines()[-1].split()[1].split("/"))
    assert run - killed == 1 and run >= 4
    assert "ReplaceComparisonOperator_Gt_GtE" in out and "-    if x > top:\n+    if x >= top:" in out
    assert (toy / "m.py").read_text() == MODULE  # cosmic-ray put the file back
    assert mutation.main(["m.py", "--work", str(toy / ".mutation")]) == 1  # the same session, nothing pending
    assert capfd.readouterr().out.strip().splitlines()[-1] == out.strip().splitlines()[-1]
    assert len(list((toy / ".mutation").glob("*.sqlite"))) == 1
