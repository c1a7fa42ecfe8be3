"""The stage folders install only as seedfactory.* subpackages; no bare `train` or `schemas`."""

import importlib
import pkgutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["schemas", "seeds", "generators", "validators", "judges", "review", "train"]


def test_every_stage_folder_is_mapped_under_seedfactory():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    mapping = tool["setuptools"]["package-dir"]
    for stage in STAGES:
        assert (ROOT / stage).is_dir()
        assert mapping[f"seedfactory.{stage}"] == stage
    assert all(name == "seedfactory" or name.startswith("seedfactory.") for name in mapping)
    assert "--import-mode=importlib" in tool["pytest"]["ini_options"]["addopts"]


def test_every_spine_subpackage_is_listed_for_the_wheel():
    """setuptools installs only the packages pyproject lists: a new folder (report/) must be there."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "seedfactory").rglob("__init__.py")}
    assert "seedfactory.report" in found and found <= listed


def test_importing_everything_leaves_no_bare_stage_module():
    import seedfactory

    names = [seedfactory.__name__]
    for stage in STAGES:
        pkg = importlib.import_module(f"seedfactory.{stage}")
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"seedfactory.{stage}.")]
    names += [m.name for m in pkgutil.iter_modules(seedfactory.__path__, prefix="seedfactory.")]
    for name in names:
        if name.endswith("__main__"):
            continue
        importlib.import_module(name)
    bare = [s for s in STAGES if s in sys.modules]
    assert bare == []
    assert Path(sys.modules["seedfactory.train"].__file__).parent == ROOT / "train"


def test_imports_are_light():
    """Importing the package must not load torch, vLLM or transformers (nothing happens at import)."""
    import subprocess

    code = ("import sys, seedfactory.cli, seedfactory.pipeline, seedfactory.schemas; "
            "print(sorted(m for m in ('torch', 'vllm', 'transformers', 'trl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lint_including_the_banned_bare_stage_imports():
    import shutil
    import subprocess

    ruff = Path(sys.executable).with_name("ruff")
    ruff = str(ruff) if ruff.exists() else shutil.which("ruff")
    assert ruff, "ruff is a dev dependency (make test installs it)"
    out = subprocess.run([ruff, "check", "--output-format", "concise", str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def import_graph() -> dict[str, set[str]]:
    """Which part of seedfactory imports which, read from the code (imports inside functions too).

    Parts: the stage packages by name, `util` (the leaf utilities) and `spine` (every other module
    of seedfactory/: cli, pipeline, steps, context, publish, evaluation)."""
    import ast

    def part(module: str) -> str | None:
        bits = module.split(".")
        if bits[0] != "seedfactory":
            return None
        if len(bits) == 1:
            return "spine"
        return bits[1] if bits[1] in STAGES or bits[1] == "util" else "spine"

    graph: dict[str, set[str]] = {}
    for folder in [*STAGES, "seedfactory"]:
        for path in (ROOT / folder).rglob("*.py"):
            here = folder if folder != "seedfactory" else ("util" if path.parent.name == "util" else "spine")
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                for name in names:
                    target = part(name)
                    # `from seedfactory import util` names a part by its attribute
                    if name.startswith("seedfactory.") and name.count(".") == 1 and name.split(".")[1] in STAGES:
                        target = name.split(".")[1]
                    if target and target != here:
                        graph.setdefault(here, set()).add(target)
    return graph


def test_stage_packages_never_import_the_spine_and_leaves_stay_leaves():
    graph = import_graph()
    leaning = {p: sorted(t) for p, t in graph.items() if p in STAGES and "spine" in t}
    assert leaning == {}
    assert graph.get("util", set()) == set()  # the leaf utilities import nothing of ours
    assert graph.get("schemas", set()) <= {"util"}  # the records and config use only the leaf (errors, safe reads)
    assert "spine" in graph and {"generators", "validators", "judges", "train"} <= graph["spine"]
