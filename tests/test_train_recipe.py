"""The training recipe's reading and bookkeeping (train/recipe.py), without training: the published
dataset as training reads it (pairs below the judge's cut-off from the split's own column), the
preference plan, rows for a round, and the round's evaluation record."""

import pytest
from factories import make_example

from seedfactory.schemas import PreferencePair, RunConfig, SeedExample
from seedfactory.schemas.config import TrainConfig
from seedfactory.train.recipe import (
    RunPaths,
    continual_rows,
    preference_plan,
    read_published,
    record_round_eval,
    trains_preference,
)
from seedfactory.train.rounds import write_round
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.files import read_json


def pair(i, source="panel"):
    return PreferencePair(id=f"p{i}", prompt_id=f"t{i}", prompt="q", chosen="good" * (i + 1), rejected="bad",
                          chosen_id=f"r{i}", rejected_id=f"x{i}", margin=0.5, source=source)


def publish(run, pairs, below=None):
    from datasets import Dataset, DatasetDict

    prefs = {"record": [p.model_dump_json() for p in pairs]}
    if below is not None:
        prefs["chosen_below_cutoff"] = [p.chosen_id in below for p in pairs]
    DatasetDict({"sft": Dataset.from_dict({"record": [make_example("r0").model_dump_json()]}),
                 "preference": Dataset.from_dict(prefs)}).save_to_disk(str(run / "dataset"))


def test_read_published_counts_chosen_rows_below_the_cutoff_from_the_column(tmp_path):
    pairs = [pair(0), pair(1), pair(2, source="review")]
    publish(tmp_path, pairs, below={"r1"})
    cfg = RunConfig.model_validate({"train": {"min_pairs": 2, "max_length_bias": 1}})
    data = read_published(RunPaths(tmp_path), cfg)
    assert [r.id for r in data.sft] == ["r0"]
    assert data.pairs[0].source == "review" and sorted(p.id for p in data.pairs) == ["p0", "p1", "p2"]
    assert data.readiness["chosen_below_cutoff"] == 1 and data.readiness["pairs"] == 3
    assert data.readiness["skip"] is None


def test_a_dataset_published_before_the_column_reads_as_none_below(tmp_path):
    publish(tmp_path, [pair(0)])
    data = read_published(RunPaths(tmp_path), RunConfig())
    assert data.readiness["chosen_below_cutoff"] == 0
    assert data.readiness["skip"] == "1 preference pairs < train.min_pairs=8"
    assert not trains_preference(RunConfig().train, data.readiness)


def test_no_dataset_is_one_line_naming_the_fix(tmp_path):
    with pytest.raises(SeedfactoryError, match=r"dataset: no published dataset; run `seedfactory run --out .* "
                                               r"--until publish` first"):
        read_published(RunPaths(tmp_path), RunConfig())


def test_preference_plan_skips_adapters_that_are_not_lora():
    ready = {"pairs": 9, "skip": None}
    assert preference_plan(TrainConfig(), ready) is ready and trains_preference(TrainConfig(), ready)
    plan = preference_plan(TrainConfig(peft="prefix"), ready)
    assert plan["skip"] == "train.peft=prefix: preference tuning continues LoRA adapters only"
    assert not trains_preference(TrainConfig(dpo_steps=0), ready)


def test_rows_from_the_base_say_so_when_latest_finds_no_round():
    said = []
    rows = [{"id": "a"}, {"id": "b"}]
    got, plan = continual_rows(TrainConfig(continue_from="latest"), rows, None, 0, said.append)
    assert got == rows and plan == {"from": "base", "rows": 2, "new_rows": 2, "replayed": 0}
    assert said == ["train: train.continue_from=latest: no earlier round in train/rounds/, training from the base"]


def test_the_round_evaluation_goes_to_the_round_train_stats_name(tmp_path):
    paths = RunPaths(tmp_path)
    paths.stage.mkdir()
    (paths.stage / "stats.json").write_text("{}")
    assert record_round_eval(paths, {"continual": {"after": 1.0}}) is False  # no round recorded
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"x")
    number, folder = write_round(paths.stage / "rounds", adapter=adapter, info={}, trained=[], seen=[],
                                 eval_cases=[SeedExample(id="s", instruction="i", output="o")], config={})
    (paths.stage / "stats.json").write_text(f'{{"round": {number}}}')
    assert record_round_eval(paths, {"continual": {"after": 0.5}}) is True
    assert read_json(folder / "eval.json") == {"after": 0.5}
