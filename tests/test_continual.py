"""Continuous fine-tuning without a model: which rows a continued round trains on (new + seeded
replay), which adapter `train.continue_from` names, the round history and `seedfactory runs`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_example

from seedfactory.cli import main
from seedfactory.schemas import ConfigError, load_config
from seedfactory.train.continual import ContinueError, merge_seen, plan_rows, replay_count, resolve_start, row_key
from seedfactory.train.data import sft_records
from seedfactory.train.rounds import (
    data_digest,
    list_rounds,
    rounds_table,
    set_aside_unfinished,
    write_round,
    write_round_eval,
)


def rows(*names: str) -> list[dict]:
    return sft_records([make_example(n, f"Question {n}?", output=f"Answer {n}.") for n in names])


def test_row_key_is_content_not_id():
    a, b = rows("x")[0], {**rows("x")[0], "id": "other"}
    assert row_key(a) == row_key(b)
    assert row_key(a) != row_key(rows("y")[0])


@pytest.mark.parametrize("replay,old,want", [(0.25, 8, 2), (0.5, 3, 2), (1.0, 5, 5), (0.0, 9, 0),
                                             (3, 8, 3), (20, 8, 8), (0, 8, 0), (1, 8, 1)])
def test_replay_is_a_share_when_float_and_a_count_when_int(replay, old, want):
    assert replay_count(replay, old) == want


def test_plan_trains_new_rows_plus_a_seeded_replay_of_seen_rows():
    seen = rows("a", "b", "c", "d")
    current = rows("c", "d", "e", "f", "g")  # c and d were seen; a and b left the dataset
    got, info = plan_rows(current, seen, 0.5, seed=0)
    assert [r["id"] for r in got[:3]] == ["e", "f", "g"]
    replayed = got[3:]
    assert len(replayed) == 2 and all(r in seen for r in replayed)
    assert info == {"rows": 5, "new_rows": 3, "replayed": 2, "seen_before": 4,
                    "replayed_ids": [r["id"] for r in replayed]}
    assert plan_rows(current, seen, 0.5, seed=0)[0] == got  # seeded
    draws = {tuple(plan_rows(current, seen, 0.5, seed=s)[1]["replayed_ids"]) for s in range(8)}
    assert len(draws) > 1  # the seed chooses the sample


def test_plan_from_nothing_seen_is_every_row_and_no_replay():
    current = rows("a", "b")
    got, info = plan_rows(current, [], 0.5, seed=0)
    assert got == current and info["new_rows"] == 2 and info["replayed"] == 0


def test_merge_seen_adds_only_unseen_rows_in_order():
    merged = merge_seen(rows("a", "b"), rows("b", "c", "a", "d"))
    assert [r["id"] for r in merged] == ["a", "b", "c", "d"]


def test_replay_above_one_as_a_float_is_refused_with_the_key():
    with pytest.raises(ConfigError, match=r"train\.replay=1\.5: a share is at most 1\.0"):
        load_config(None, ["train.replay=1.5"])
    assert load_config(None, ["train.replay=20"]).train.replay == 20
    assert isinstance(load_config(None, ["train.replay=1.0"]).train.replay, float)


def _adapter(folder: Path, payload: bytes = b"weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_model.safetensors").write_bytes(payload)
    (folder / "adapter_config.json").write_text("{}")
    return folder


def _round(rounds: Path, tmp_path: Path, trained: list[dict], seen: list[dict], **info) -> int:
    adapter = _adapter(tmp_path / f"adapter-{len(list(tmp_path.iterdir()))}", json.dumps(info).encode())
    base = {"from": "base", "rows": len(trained), "new_rows": len(trained), "replayed": 0}
    number, _ = write_round(rounds, adapter=adapter, info=base | info, trained=trained, seen=seen,
                            eval_cases=[make_example("case1")], config={"seed": 0})
    return number


def test_rounds_are_numbered_and_keep_adapter_rows_seen_and_digest(tmp_path):
    rounds = tmp_path / "rounds"
    assert _round(rounds, tmp_path, rows("a", "b"), rows("a", "b")) == 1
    assert _round(rounds, tmp_path, rows("c", "a"), rows("a", "b", "c"), **{"from": "round 1", "new_rows": 1,
                                                                           "replayed": 1}) == 2
    folder = rounds / "2"
    for f in ["adapter/adapter_model.safetensors", "config.yaml", "rows.jsonl", "seen.jsonl", "eval_cases.jsonl"]:
        assert (folder / f).is_file(), f
    listed = list_rounds(rounds)
    assert [r["round"] for r in listed] == [1, 2] and listed[1]["from"] == "round 1"
    assert listed[1]["data_sha256"] == data_digest(rows("a", "c")) != listed[0]["data_sha256"]  # order-free
    assert listed[0]["eval"] is None
    (rounds / "3").mkdir()  # a round interrupted before its round.json: not a round
    assert [r["round"] for r in list_rounds(rounds)] == [1, 2]


def test_resolve_start_latest_path_and_errors(tmp_path):
    rounds = tmp_path / "rounds"
    assert resolve_start(None, rounds) is None
    assert resolve_start("latest", rounds) is None  # the first round trains from the base
    _round(rounds, tmp_path, rows("a"), rows("a"))
    _round(rounds, tmp_path, rows("b"), rows("a", "b"))
    start = resolve_start("latest", rounds)
    assert start.round == 2 and start.label == "round 2" and start.adapter == (rounds / "2" / "adapter").resolve()
    assert [r["id"] for r in start.seen] == ["a", "b"] and start.eval_cases == rounds / "2" / "eval_cases.jsonl"
    by_path = resolve_start(str(rounds / "1" / "adapter"), rounds)  # an adapter inside a round: its history too
    assert by_path.round == 1 and [r["id"] for r in by_path.seen] == ["a"]
    bare = resolve_start(str(_adapter(tmp_path / "elsewhere")), rounds)
    assert bare.seen == [] and bare.eval_cases is None and bare.round is None
    with pytest.raises(ContinueError, match=r"train\.continue_from='/nope': no such adapter"):
        resolve_start("/nope", rounds)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContinueError, match="no adapter_model.safetensors"):
        resolve_start(str(tmp_path / "empty"), rounds)


def test_runs_lists_rounds_with_before_after_and_old_cases(tmp_path, capsys):
    run = tmp_path / "run"
    rounds = run / "train" / "rounds"
    (run).mkdir()
    (run / "config.yaml").write_text("seed: 0\n")
    assert main(["runs", str(run)]) == 0
    assert "no training rounds yet" in capsys.readouterr().out
    _round(rounds, tmp_path, rows("a", "b"), rows("a", "b"))
    _round(rounds, tmp_path, rows("c", "a"), rows("a", "b", "c"), **{"from": "round 1", "new_rows": 1, "replayed": 1})
    write_round_eval(rounds, 1, {"metric": "field_exact_match", "before": 0.1, "after": 0.4, "old_cases": None})
    write_round_eval(rounds, 2, {"metric": "field_exact_match", "before": 0.4, "after": 0.55,
                                 "old_cases": {"before": 0.5, "after": 0.45}})
    assert main(["runs", str(run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["round", "date", "rows", "new", "replayed", "from", "metric", "before", "after",
                                "old", "before", "old", "after"]
    first, second = lines[1].split(), lines[2].split()
    assert first[0] == "1" and first[3:8] == ["2", "2", "0", "base", "field_exact_match"]
    assert first[8:] == ["0.100", "0.400", "-", "-"]
    assert second[3:7] == ["2", "1", "1", "round"] and second[-4:] == ["0.400", "0.550", "0.500", "0.450"]
    with pytest.raises(FileNotFoundError):
        write_round_eval(rounds, 9, {})


def test_runs_on_a_folder_that_is_no_run_exits_2(tmp_path, capsys):
    assert main(["runs", str(tmp_path / "nothing")]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_rounds_table_of_nothing_is_the_header():
    assert rounds_table([]).split()[:3] == ["round", "date", "rows"]


def test_a_round_left_by_an_unfinished_train_stage_is_set_aside_not_deleted(tmp_path):
    rounds = tmp_path / "rounds"
    for name in "abc":
        _round(rounds, tmp_path, rows(name), rows(name))
    assert set_aside_unfinished(rounds, 1) == [2, 3]
    assert [r["round"] for r in list_rounds(rounds)] == [1]
    assert resolve_start("latest", rounds).round == 1
    kept = sorted(p.name.split("-")[1] for p in rounds.iterdir() if p.name.startswith(".unfinished-"))
    assert kept == ["2", "3"]
    assert _round(rounds, tmp_path, rows("d"), rows("d")) == 2
    assert set_aside_unfinished(rounds, 2) == []


def test_report_shows_the_round_with_old_cases():
    from seedfactory.report.evaluation import continual_round

    assert continual_round(None) == ""
    diff = {"value": 0.15, "ci95": [0.0, 0.3], "n": 6}
    html = continual_round({"from": "round 1", "rows": {"rows": 12, "new_rows": 8, "replayed": 4},
                            "before": 0.4, "after": 0.55, "before_system": "before", "after_minus_before": diff,
                            "old_cases": {"n": 4, "before": 0.5, "after": 0.45,
                                          "after_minus_before": {"value": -0.05}}})
    assert "Training round (from round 1)" in html and "12 rows: 8 new, 4 replayed" in html
    assert "old cases (n=4)" in html and "-0.05" in html and "0.55" in html
