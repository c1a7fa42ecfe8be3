"""`seedfactory export RUN_DIR --format merged|gguf [--quant q8_0] [--out PATH]`: the run's final
student as something to ship.

    seedfactory export runs/invoice-fields --format merged          # -> runs/invoice-fields/export/merged/
    seedfactory export runs/invoice-fields --format gguf --quant q8_0  # -> .../export/student-q8_0.gguf
    seedfactory export runs/invoice-fields --format gguf --out ~/models   # -> ~/models/student-q8_0.gguf

The base model is the run's `train.student` (from its config.yaml) and the adapter its `adapter/`
(after DPO, or the SFT adapter where DPO was skipped). `--out` is resolved by `output_path` before
any model is loaded, so a wrong path costs one line, not a merge.
"""

from __future__ import annotations

from pathlib import Path

from seedfactory.schemas import load_config
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.models import ModelNotFound, resolve_model, source_gguf

OUT_HELP = ("where to write: an existing folder (gets student-<quant>.gguf or merged/ inside it), "
            "else a new .gguf file path (gguf) or a new folder path (merged) whose parent exists; "
            "default RUN_DIR/export/")


def default_name(fmt: str, quant: str) -> str:
    return "merged" if fmt == "merged" else f"student-{quant}.gguf"


def output_path(run_dir: Path, fmt: str, quant: str, out: Path | None) -> Path:
    """The path `export_run` writes, from `--out` (see OUT_HELP); a SeedfactoryError naming the path
    where it cannot be one.

    An existing folder always means "inside it": replacing a user's folder by the merged model
    (atomic_dir swaps the target whole) or writing a file over a folder would lose or fail.
    """
    if out is None:
        return Path(run_dir) / "export" / default_name(fmt, quant)
    out = Path(out).expanduser()
    if out.is_dir():
        return out / default_name(fmt, quant)
    if fmt == "gguf" and out.is_file():
        return out  # a rerun replaces its own file (by one rename)
    what = "GGUF file" if fmt == "gguf" else "folder"
    if out.exists():  # a file (or a socket...) where merged needs a new folder
        raise SeedfactoryError(f"export --out {out}: is an existing file; --format {fmt} needs an existing "
                               f"folder or a new {what} path")
    if not out.parent.is_dir():
        why = "does not exist" if not out.parent.exists() else "is not a folder"
        raise SeedfactoryError(f"export --out {out}: its parent {out.parent} {why}; create it first "
                               "or pass an existing folder")
    return out


def export_run(run_dir: Path, fmt: str, quant: str = "q8_0", out: Path | None = None) -> Path:
    from seedfactory.train.export import export_gguf, export_merged

    run_dir = Path(run_dir)
    adapter = run_dir / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{run_dir}: no trained adapter in {adapter} (run `seedfactory run` first)")
    target = output_path(run_dir, fmt, quant, out)
    cfg = load_config(run_dir / "config.yaml")
    model_dir = resolve_model(cfg.train.student)
    if fmt == "merged":
        return export_merged(model_dir, adapter, target)
    source = source_gguf(cfg.train.student)
    if source is None:
        raise ModelNotFound(f"export gguf: train.student={cfg.train.student!r} is not a GGUF or packaged alias; "
                            "its tokenizer metadata has no GGUF to come from (export --format merged instead)")
    return export_gguf(model_dir, adapter, source, target, quant)
