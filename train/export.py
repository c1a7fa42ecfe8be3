"""Ship the student: the adapter merged into its base, as a safetensors folder or a GGUF file.

`export_merged` folds the LoRA product into the base weights (peft's `merge_and_unload`) and saves
a plain transformers model folder: no peft needed to load it. `export_gguf` writes that merged
model as a GGUF file with the `gguf` package's own writer and quantisers (f32, f16, bf16, q8_0,
q4_0, q4_1, q5_0, q5_1: the types `gguf.quants` can quantise; k-quants such as q4_k_m need
llama.cpp's C quantiser, so they are refused rather than approximated). Hyper-parameters and the
tokenizer (vocab, merges, chat template) are copied from the student's source GGUF, tensor names
come from gguf's own name map, and Q/K rows are permuted into llama.cpp's rotary layout exactly as
llama.cpp's converter does, so transformers and llama.cpp runtimes read the file back.

    seedfactory export runs/x --format merged --out runs/x/export/merged
    seedfactory export runs/x --format gguf --quant q8_0
"""

from __future__ import annotations

from pathlib import Path

from seedfactory.util.errors import SeedfactoryError


class ExportError(SeedfactoryError, ValueError):
    """A student that cannot be exported as asked (adapter type, quant, architecture); the CLI
    prints it as one line. A ValueError too, as it was before it had its own type."""


QUANTS = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1")
# the file-type code llama.cpp records for each (gguf.LlamaFileType)
_FILE_TYPE = {"f32": "ALL_F32", "f16": "MOSTLY_F16", "bf16": "MOSTLY_BF16", "q8_0": "MOSTLY_Q8_0",
              "q4_0": "MOSTLY_Q4_0", "q4_1": "MOSTLY_Q4_1", "q5_0": "MOSTLY_Q5_0", "q5_1": "MOSTLY_Q5_1"}
# keys the writer sets itself, or that describe the source file rather than the model
_SKIP_KEYS = ("GGUF.", "general.architecture", "general.file_type", "general.quantization_version")


def merged_model(model_dir: Path, adapter_dir: Path):
    """(model, tokenizer): the base with the LoRA adapter folded into its weights, float32."""
    from peft import PeftModel

    from seedfactory.train.common import load_student

    base, tokenizer = load_student(Path(model_dir))
    model = PeftModel.from_pretrained(base, Path(adapter_dir))
    if model.peft_config["default"].is_prompt_learning:
        raise ExportError(f"export: {adapter_dir} is a {model.peft_config['default'].peft_type.value} adapter, which "
                         "has no weights to merge into the base; only LoRA students (train.peft=lora) export")
    return model.merge_and_unload(), tokenizer


def export_merged(model_dir: Path, adapter_dir: Path, out: Path) -> Path:
    """Save base+adapter as one safetensors model folder at `out` (write-then-rename)."""
    from seedfactory.util.files import atomic_dir

    model, tokenizer = merged_model(model_dir, adapter_dir)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return Path(out)


def _permute(w, n_head: int):
    """HF's rotary layout to llama.cpp's (llama.cpp convert_hf_to_gguf.py, LlamaModel.permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _copy_metadata(reader, writer) -> None:
    """Every key of the source GGUF but the ones the writer or the new file type own."""
    from gguf import GGUFValueType

    for key, field in reader.fields.items():
        if key.startswith(_SKIP_KEYS):
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            writer.add_key_value(key, field.contents(), vtype, sub_type=field.types[1])
        else:
            writer.add_key_value(key, field.contents(), vtype)


def _tensor(name: str, data, quant: str):
    """(array, ggml type) for one tensor: 1-D tensors (norms) stay f32, as llama.cpp keeps them."""
    import numpy as np
    from gguf import GGMLQuantizationType, quants

    if data.ndim == 1 or quant == "f32":
        return data.astype(np.float32), GGMLQuantizationType.F32
    if quant == "f16":
        return data.astype(np.float16), GGMLQuantizationType.F16
    qtype = GGMLQuantizationType[quant.upper()]
    try:
        return quants.quantize(data.astype(np.float32), qtype), qtype
    except quants.QuantError as e:  # a row length the block size does not divide
        raise ExportError(f"export gguf: cannot quantise {name} {data.shape} as {quant}: {e}") from None


def export_gguf(model_dir: Path, adapter_dir: Path, source_gguf: Path, out_file: Path, quant: str = "q8_0") -> Path:
    """Write base+adapter as a GGUF file (llama architecture), metadata from `source_gguf`."""
    import gguf

    from seedfactory.util.files import atomic_file

    if quant not in QUANTS:
        raise ExportError(f"export gguf: --quant {quant!r} is not one of {', '.join(QUANTS)} (gguf's own quantisers)")
    reader = gguf.GGUFReader(source_gguf)
    arch = reader.fields["general.architecture"].contents()
    if arch != "llama":
        raise ExportError(f"export gguf: {source_gguf} is a {arch!r} model; only llama-architecture students export")
    model, _ = merged_model(model_dir, adapter_dir)
    cfg = model.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    with atomic_file(out_file) as tmp:
        writer = gguf.GGUFWriter(tmp, arch)
        _copy_metadata(reader, writer)
        writer.add_file_type(getattr(gguf.LlamaFileType, _FILE_TYPE[quant]))
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        for hf_name, t in model.state_dict().items():
            if hf_name == "lm_head.weight" and cfg.tie_word_embeddings:
                continue  # tied to token_embd, as in the source file
            name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if name is None:
                raise ExportError(f"export gguf: no GGUF name for tensor {hf_name}")
            data = t.detach().float().numpy()
            if hf_name.endswith("q_proj.weight"):
                data = _permute(data, cfg.num_attention_heads)
            elif hf_name.endswith("k_proj.weight"):
                data = _permute(data, cfg.num_key_value_heads)
            arr, qtype = _tensor(hf_name, data, quant)
            writer.add_tensor(name, arr, raw_dtype=qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return Path(out_file)
