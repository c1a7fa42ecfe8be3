"""The student's SFT under `accelerate launch`: two CPU processes, DDP over gloo, no code changes.

A run is published with the packaged fakes (teacher, judge, hash embedder); then the shipped
`train/accelerate/ddp_cpu.yaml` starts `python -m seedfactory.train.launch` twice. Each rank logs
the row ids of every batch it trained on and the sha256 of the adapter it saved: the ranks must
have drawn different rows at every step (the global batch is split, not repeated) and still end
with byte-identical adapters (the gradients were averaged), the one rank 0 published.
Tiny: SmolLM2-135M, batch 2 per rank, 2 steps, max_length 128, one thread per process.
Run: HF_HUB_OFFLINE=1 .venv/bin/python -m pytest tests/test_ddp_slow.py  (~1-2 min)
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from seedfactory.train.launch import CONFIGS
from seedfactory.util.files import file_digest, read_json

pytestmark = pytest.mark.slow

TRAIN = ["train.sft_steps=2", "train.batch_size=2", "train.max_length=384", "train.threads=1"]


def test_two_gloo_ranks_draw_different_batches_and_save_the_same_adapter(tmp_path, student_dir, published_run):
    published = published_run("generate.strategy=self_instruct", "review.sample_size=12")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIGS / "ddp_cpu.yaml"),
           "-m", "seedfactory.train.launch", str(published), "--out", str(out), *TRAIN]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]

    ranks = [read_json(out / "ranks" / f"rank-{r}.json") for r in (0, 1)]
    print(ranks)
    assert [(r["rank"], r["world_size"], r["backend"]) for r in ranks] == [(0, 2, "gloo"), (1, 2, "gloo")]
    rows = ranks[0]["rows"]
    assert rows >= 4  # one global batch of 2 x 2 distinct rows
    for r in ranks:
        assert r["steps"] == 2 and len(r["batches"]) == 2 and all(len(b) == 2 for b in r["batches"])
        assert all(math.isfinite(x) for x in r["losses"])
    first0, first1 = ranks[0]["batches"][0], ranks[1]["batches"][0]
    assert len(set(first0) | set(first1)) == 4  # step 1: the two halves of one shuffled global batch
    assert all(b0 != b1 for b0, b1 in zip(ranks[0]["batches"], ranks[1]["batches"]))
    shas = {r["adapter_sha256"] for r in ranks}
    assert shas == {file_digest(out / "adapter_sft" / "adapter_model.safetensors")}
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # rank 1's scratch copy is gone
