"""`seedfactory export RUN_DIR --format merged|gguf [--quant q8_0] [--out PATH]`: the run's final
student as something to ship.

    seedfactory export runs/invoice-fields --format merged          # -> runs/invoice-fields/export/merged/
    seedfactory export runs/invoice-fields --format gguf --quant q8_0  # -> .../export/student-q8_0.gguf

The base model is the run's `train.student` (from its config.yaml) and the adapter its `adapter/`
(after DPO, or the SFT adapter where DPO was skipped).
"""

from __future__ import annotations

from pathlib import Path

from seedfactory.schemas import load_config
from seedfactory.util.models import ModelNotFound, resolve_model, source_gguf


def export_run(run_dir: Path, fmt: str, quant: str = "q8_0", out: Path | None = None) -> Path:
    from seedfactory.train.export import export_gguf, export_merged

    run_dir = Path(run_dir)
    adapter = run_dir / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{run_dir}: no trained adapter in {adapter} (run `seedfactory run` first)")
    cfg = load_config(run_dir / "config.yaml")
    model_dir = resolve_model(cfg.train.student)
    if fmt == "merged":
        return export_merged(model_dir, adapter, out or run_dir / "export" / "merged")
    source = source_gguf(cfg.train.student)
    if source is None:
        raise ModelNotFound(f"export gguf: train.student={cfg.train.student!r} is not a GGUF or packaged alias; "
                            "its tokenizer metadata has no GGUF to come from (export --format merged instead)")
    return export_gguf(model_dir, adapter, source, out or run_dir / "export" / f"student-{quant}.gguf", quant)
