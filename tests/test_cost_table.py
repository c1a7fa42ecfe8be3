"""eval.json `cost`: the students' measured speed and weights next to the teacher's, whose speed
comes from the baseline stage and whose weights from its files as stored (null only with the
reason); and the same table in the dataset card and the report. Fake ctx, no model runs.
Run: .venv/bin/pytest tests/test_cost_table.py
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from seedfactory.evaluation import cost_table
from seedfactory.publish import _eval_results
from seedfactory.report.evaluation import cost_html
from seedfactory.schemas import load_config
from seedfactory.util.files import write_json
from seedfactory.util.models import packaged_gguf, weights_on_disk

MIB = 2**20
REPORT = {"dpo": {"value": 0.61, "metric": "field_match"}, "teacher": {"value": 0.55}, "gguf": {"value": 0.6}}
STUDENT = {"new_tokens": 400, "seconds": 2.0, "tokens_per_s": 200.0, "weights_mb": 513.1}


def ctx_for(tmp_path, *overrides, baseline: dict | None = None):
    out = tmp_path / "run"
    if baseline is not None:
        write_json(out / "baseline" / "stats.json", baseline)
    return SimpleNamespace(cfg=load_config(None, list(overrides)), out=out)


def sized(path, mib: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(int(mib * MIB))
    return path


def test_teacher_row_from_its_folder_and_a_fresh_baseline(tmp_path):
    folder = tmp_path / "teacher"
    sized(folder / "model-00001-of-00002.safetensors", 3)
    sized(folder / "model-00002-of-00002.safetensors", 1.5)
    sized(folder / "tokenizer.json", 2)  # not a weight file
    (folder / "config.json").write_text("{}")
    ctx = ctx_for(tmp_path, f"teacher.model={folder}", "eval.engine=merged",
                  baseline={"requests_sent": 40, "cache_hits": 0, "completion_tokens": 500, "seconds": 4.0})
    table = cost_table(ctx, REPORT, {"dpo": dict(STUDENT)})
    assert table["metric"] == "field_match" and table["machine"]["cpus"] >= 1
    merged = {"score": 0.61, **STUDENT, "runtime": "transformers fp32 (LoRA merged)"}
    assert table["systems"]["student_merged"] == merged
    teacher = table["systems"]["teacher"]
    assert {k: teacher[k] for k in ("score", "model", "runtime", "new_tokens", "seconds", "tokens_per_s",
                                    "weights_mb", "weights")} == {
        "score": 0.55, "model": str(folder), "runtime": "vllm", "new_tokens": 500, "seconds": 4.0,
        "tokens_per_s": 125.0, "weights_mb": 4.5, "weights": "2 weight file(s) in teacher/"}
    assert "student_gguf" not in table["systems"]


def test_a_cached_baseline_has_no_speed_and_the_gguf_student_has_its_row(tmp_path):
    gguf = sized(tmp_path / "t.Q4_1.gguf", 2.5)
    ctx = ctx_for(tmp_path, f"teacher.model={gguf}",
                  baseline={"requests_sent": 40, "cache_hits": 40, "completion_tokens": 500, "seconds": 0.1})
    table = cost_table(ctx, REPORT, {"dpo": dict(STUDENT), "gguf": {"tokens_per_s": 90.0, "file_mb": 130.2}})
    teacher = table["systems"]["teacher"]
    assert teacher["tokens_per_s"] is None and teacher["weights_mb"] == 2.5
    assert teacher["weights"] == "file size of t.Q4_1.gguf"
    assert table["systems"]["student_gguf"]["file_mb"] == 130.2 and table["systems"]["student_gguf"]["score"] == 0.6


@pytest.mark.parametrize("overrides,why", [
    (["teacher.backend=openai", "teacher.model=big-model", "teacher.base_url=http://127.0.0.1:9/v1"],
     "served by teacher.base_url (big-model): its weights are not on this machine"),
    (["teacher.backend=fake"], "the fake teacher has no weights"),
    (["teacher.model=/no/such/model"], "'/no/such/model' is not a model file or a folder of weight files"),
])
def test_teacher_weights_are_null_only_with_the_reason(tmp_path, overrides, why):
    teacher = cost_table(ctx_for(tmp_path, *overrides), REPORT, {"dpo": dict(STUDENT)})["systems"]["teacher"]
    assert teacher["weights_mb"] is None and teacher["weights"].startswith(why)
    assert teacher["tokens_per_s"] is None  # no baseline/stats.json


def test_weights_of_a_packaged_alias_and_of_an_opt_in_model_not_installed(tmp_path, monkeypatch):
    path = packaged_gguf("smollm2-135m")
    assert weights_on_disk("smollm2-135m") == (round(path.stat().st_size / MIB, 1), f"file size of {path.name}")
    monkeypatch.setenv("SEEDFACTORY_CACHE", str(tmp_path))
    mb, why = weights_on_disk("qwen2.5-coder-1.5b")
    assert mb is None and "make models" in why


def test_the_card_and_the_report_show_the_cost_table(tmp_path):
    ctx = ctx_for(tmp_path, "teacher.backend=fake", "eval.engine=merged",
                  baseline={"requests_sent": 4, "completion_tokens": 80, "seconds": 2})
    cost = cost_table(ctx, REPORT, {"dpo": dict(STUDENT), "gguf": {"tokens_per_s": 90.0, "weights_mb": 520.0,
                                                                    "file_mb": 130.2, "runtime": "x"}})
    write_json(ctx.out / "eval.json", {"dpo": {"metric": "field_match", "value": 0.61, "n": 40}, "cost": cost})
    card = "\n".join(_eval_results(ctx.out, {"train": {"student": "smollm2-135m"}}))
    assert "## Cost to run" in card
    assert "| student_merged | transformers fp32 (LoRA merged) | 0.61 | 200 | 513.1 MiB |" in card
    assert "| student_gguf | transformers (dequantised to fp32 on load) | 0.6 | 90 | 520 MiB; 130.2 MiB file |" in card
    assert "| teacher | fake | 0.55 | 40 | - (the fake teacher has no weights) |" in card
    html = cost_html(cost)
    assert "<h3>Cost to run</h3>" in html and "<td>the fake teacher has no weights</td>" in html
    assert "<td>loaded</td>" in html and cost_html(None) == ""
