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


def test_equivalent_mutants_match_by_file_operator_and_line_text(monkeypatch):
    monkeypatch.setattr(mutation, "EQUIVALENT", [("validators/quality.py", "ReplaceAndWithOr",
                                                  "if a and b else 0.0", "why")])
    line = next(i for i, t in enumerate((mutation.ROOT / "validators/quality.py").read_text().splitlines(), 1)
                if "if a and b else 0.0" in t)
    assert mutation.equivalent_reason("validators/quality.py", "ReplaceAndWithOr", line) == "why"
    assert mutation.equivalent_reason("validators/quality.py", "ReplaceOrWithAnd", line) is None
    assert mutation.equivalent_reason("validators/quality.py", "ReplaceAndWithOr", line + 1) is None


def test_the_scope_is_real_files():
    mods = mutation.modules(mutation.SCOPE)
    assert "validators/quality.py" in mods and "seedfactory/publish.py" in mods
    assert all((mutation.ROOT / m).is_file() for m in mods)
