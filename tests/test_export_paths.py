"""`seedfactory export --out`: an existing folder gets the default name inside it, a new path is
the file (gguf) or folder (merged) itself, anything else is one line and exit 2; nothing trains.

The writers are replaced by fakes that write through the same atomic helpers as the real ones, so
a path the real writer would choke on (a folder where `atomic_file` wants a file: the
IsADirectoryError traceback of issue 27) chokes here too.
Run: .venv/bin/pytest tests/test_export_paths.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import seedfactory.export as export
import seedfactory.train.export as train_export
from seedfactory.cli import main
from seedfactory.schemas import load_config
from seedfactory.util.files import atomic_dir, atomic_file


@pytest.fixture
def run_dir(tmp_path, monkeypatch) -> Path:
    """A run directory with config.yaml and an adapter/ marker; fake writers and model look-ups."""
    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    (run / "config.yaml").write_text(yaml.safe_dump(load_config(None, []).dump()))

    def fake_gguf(model_dir, adapter_dir, source, out_file, quant="q8_0"):
        with atomic_file(out_file) as tmp:
            tmp.write_bytes(b"GGUF" + quant.encode())
        return Path(out_file)

    def fake_merged(model_dir, adapter_dir, out):
        with atomic_dir(out) as tmp:
            (tmp / "model.safetensors").write_bytes(b"weights")
        return Path(out)

    monkeypatch.setattr(train_export, "export_gguf", fake_gguf)
    monkeypatch.setattr(train_export, "export_merged", fake_merged)
    monkeypatch.setattr(export, "resolve_model", lambda spec: tmp_path / "base")
    monkeypatch.setattr(export, "source_gguf", lambda spec: tmp_path / "base.gguf")
    return run


def test_gguf_into_an_existing_folder_writes_the_default_name_inside(run_dir, tmp_path, capsys):
    dest = tmp_path / "models"
    dest.mkdir()
    assert main(["export", str(run_dir), "--format", "gguf", "--quant", "f16", "--out", str(dest)]) == 0
    assert (dest / "student-f16.gguf").read_bytes() == b"GGUFf16"
    assert capsys.readouterr().out.strip() == str(dest / "student-f16.gguf")


def test_gguf_to_a_file_path_writes_that_file_and_a_rerun_replaces_it(run_dir, tmp_path):
    dest = tmp_path / "mine.gguf"
    assert main(["export", str(run_dir), "--format", "gguf", "--out", str(dest)]) == 0
    assert main(["export", str(run_dir), "--format", "gguf", "--quant", "f32", "--out", str(dest)]) == 0
    assert dest.read_bytes() == b"GGUFf32"


def test_merged_into_an_existing_folder_keeps_what_was_there(run_dir, tmp_path):
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "other-model.txt").write_text("the user's")
    assert main(["export", str(run_dir), "--format", "merged", "--out", str(dest)]) == 0
    assert (dest / "merged" / "model.safetensors").is_file()
    assert (dest / "other-model.txt").read_text() == "the user's"  # not swapped out whole


def test_merged_to_a_new_folder_path_and_the_default(run_dir, tmp_path):
    assert main(["export", str(run_dir), "--format", "merged", "--out", str(tmp_path / "student")]) == 0
    assert (tmp_path / "student" / "model.safetensors").is_file()
    assert main(["export", str(run_dir), "--format", "gguf"]) == 0
    assert (run_dir / "export" / "student-q8_0.gguf").is_file()


@pytest.mark.parametrize("fmt,make,why", [
    ("merged", "file", "is an existing file"),
    ("gguf", "missing_parent", "does not exist"),
    ("merged", "missing_parent", "does not exist"),
    ("gguf", "file_parent", "is not a folder"),
])
def test_a_path_that_cannot_be_written_is_one_line_and_exit_2(run_dir, tmp_path, capsys, fmt, make, why):
    if make == "file":
        out = tmp_path / "taken"
        out.write_text("x")
    elif make == "missing_parent":
        out = tmp_path / "no" / "such" / "student.gguf"
    else:
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "student.gguf"
    assert main(["export", str(run_dir), "--format", fmt, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"seedfactory: export --out {out}:") and why in err
    assert "Traceback" not in err


def test_the_help_says_what_out_takes(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "existing folder" in capsys.readouterr().out
