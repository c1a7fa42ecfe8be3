"""`seedfactory export`: the adapter merged into SmolLM2-135M as a safetensors folder and as GGUF
files, read back with plain transformers (and its GGUF loader), answering like the adapter does.

The adapter is a LoRA with random (non-zero) factors, so merging visibly changes the model without
spending a training run. f32 GGUF must answer exactly like the merged folder (same weights, so a
wrong tensor name, a missing Q/K permutation or a dropped tensor shows up as a different answer);
q8_0 is checked tensor by tensor against the merged weights within its quantisation error.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_export_slow.py  (~1-3 min)
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from seedfactory.cli import main
from seedfactory.schemas import load_config
from seedfactory.train.evaluate import generate_answers, generate_with
from seedfactory.util.models import ModelNotFound, resolve_model

pytestmark = pytest.mark.slow
torch.set_num_threads(1)

PROMPTS = ["Extract the invoice fields as JSON.\n\nInvoice 2024-117 from Acme GmbH, total 1,204.50 EUR.",
           "What is the capital of France?",
           "Extract the fields.\n\nReceipt: Blue Bottle Coffee, 2 lattes, $11.00, paid by card on March 3."]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run directory holding only what export reads: config.yaml and adapter/."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    try:
        base_dir = resolve_model("smollm2-135m")
    except ModelNotFound as e:
        pytest.skip(str(e))
    run = tmp_path_factory.mktemp("export") / "run"
    (run).mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(load_config(None, []).dump()))
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM")
    get_peft_model(base, lora).save_pretrained(run / "adapter", safe_serialization=True)
    return run


@pytest.fixture(scope="module")
def merged(run_dir) -> Path:
    assert main(["export", str(run_dir), "--format", "merged"]) == 0
    return run_dir / "export" / "merged"


def test_merged_folder_loads_with_plain_transformers_and_answers_like_the_adapter(run_dir, merged):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert (merged / "model.safetensors").is_file() and not (merged / "adapter_config.json").exists()
    model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)
    assert not any("lora" in k for k in model.state_dict())
    plain = generate_with(model, AutoTokenizer.from_pretrained(merged), PROMPTS, 24, 4)
    with_adapter = generate_answers(resolve_model("smollm2-135m"), run_dir / "adapter", PROMPTS, 24, 4)
    without = generate_answers(resolve_model("smollm2-135m"), None, PROMPTS, 24, 4)
    print("merged", plain, "\nbase", without)
    assert plain == with_adapter
    assert plain != without  # the random adapter changed the model: the merge is not a no-op


def test_f32_gguf_answers_exactly_like_the_merged_folder(run_dir, merged):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = run_dir / "export" / "student-f32.gguf"
    assert main(["export", str(run_dir), "--format", "gguf", "--quant", "f32", "--out", str(out)]) == 0
    model = AutoModelForCausalLM.from_pretrained(out.parent, gguf_file=out.name, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(out.parent, gguf_file=out.name)
    from_gguf = generate_with(model, tok, PROMPTS, 24, 4)
    ref = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)
    print("gguf f32", from_gguf)
    assert from_gguf == generate_with(ref, AutoTokenizer.from_pretrained(merged), PROMPTS, 24, 4)
    out.unlink()  # 540 MB


def test_q8_0_gguf_holds_the_merged_weights_within_quantisation_error(run_dir, merged):
    import gguf
    from safetensors.torch import load_file

    out = run_dir / "export" / "student-q8_0.gguf"
    assert main(["export", str(run_dir), "--format", "gguf", "--quant", "q8_0", "--out", str(out)]) == 0
    reader = gguf.GGUFReader(out)
    assert reader.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q8_0
    assert "{% if add_generation_prompt %}" in reader.fields["tokenizer.chat_template"].contents()
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == 272 and tensors["blk.0.attn_v.weight"].tensor_type == gguf.GGMLQuantizationType.Q8_0
    assert tensors["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32
    weights = load_file(merged / "model.safetensors")
    v = weights["model.layers.0.self_attn.v_proj.weight"].numpy()
    back = gguf.quants.dequantize(tensors["blk.0.attn_v.weight"].data, gguf.GGMLQuantizationType.Q8_0)
    # q8_0: one f16 scale per 32 values, 8 bits each: error about half a step of max|w|/127 per block
    # (plus the scale's own f16 rounding, times up to 127).
    assert back.shape == v.shape
    assert np.abs(back - v).max() <= np.abs(v).max() / 127 * 0.6
    assert np.abs(back - v).max() > 0  # it was quantised, not stored as floats
    size = out.stat().st_size
    print("q8_0 gguf bytes", size)
    assert 134.5e6 * 34 / 32 < size < 134.5e6 * 34 / 32 * 1.1  # 34 bytes per block of 32 weights
