"""The run config: YAML + dotted overrides, errors that name the key, every key read somewhere."""

import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from seedfactory.schemas import ConfigError, RunConfig, load_config
from seedfactory.schemas.config import BackendName, EmbedderName, config_help

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_need_no_server_key_or_network():
    cfg = load_config()
    assert cfg.teacher.backend == "vllm" and cfg.teacher.model == "smollm2-135m"
    assert cfg.train.student == "smollm2-135m" and cfg.validate_.embedder == "minilm"
    assert cfg.seeds.path == "invoice-fields"


def test_yaml_then_overrides_typed(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("generate:\n  num_tasks: 5\nteacher:\n  backend: fake\n")
    cfg = load_config(f, ["generate.num_tasks=7", "judge.min_score=3.5", "seeds.schema=x.json"])
    assert cfg.generate.num_tasks == 7 and cfg.teacher.backend == "fake"
    assert cfg.judge.min_score == 3.5 and cfg.seeds.schema_path == "x.json"


def test_judge_follows_teacher_unless_set():
    cfg = load_config(None, ["teacher.backend=openai", "teacher.model=big", "judge.model.max_tokens=99"])
    assert (cfg.judge.model.backend, cfg.judge.model.model) == ("openai", "big")
    assert cfg.judge.model.temperature == 0.0 and cfg.judge.model.max_tokens == 99
    cfg = load_config(None, ["judge.model.model=other"])
    assert cfg.judge.model.model == "other" and cfg.teacher.model == "smollm2-135m"


@pytest.mark.parametrize("override, needle", [
    (["generate.num_taks=3"], "generate.num_taks: Extra inputs are not permitted"),
    (["generate.num_tasks=zero"], "generate.num_tasks: Input should be a valid integer"),
    (["teacher.backend=gpu"], "teacher.backend: Input should be 'vllm', 'openai' or 'fake'"),
    (["seeds.holdout=1.5"], "seeds.holdout: Input should be less than 1"),
    (["justakey"], "expected key=value"),
])
def test_bad_overrides_name_the_key(override, needle):
    with pytest.raises(ConfigError) as e:
        load_config(None, override)
    assert needle in str(e.value)


def test_bad_yaml_names_the_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("train:\n  sft_steps: [1\n")
    with pytest.raises(ConfigError, match="bad.yaml: cannot read config"):
        load_config(f)
    f.write_text("train:\n  sft_stepz: 1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: invalid config\n  train.sft_stepz"):
        load_config(f)


def test_resolved_config_round_trips():
    cfg = load_config(None, ["teacher.model=x", "generate.num_tasks=3"])
    again = RunConfig.model_validate(cfg.dump())
    assert again == cfg


def _leaves(model: type[BaseModel], prefix=""):
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _leaves(ann, prefix + name + ".")
        else:
            yield prefix + name, name


def test_every_config_key_is_read_somewhere():
    """A key nothing reads is a lie in --help: each leaf name must be read as an attribute in code."""
    code = "\n".join(p.read_text() for d in ["seedfactory", "generators", "validators", "judges", "review", "train"]
                     for p in (ROOT / d).rglob("*.py"))
    unread = [key for key, name in _leaves(RunConfig) if not re.search(rf"\.{name}\b", code)]
    assert unread == []


def test_help_lists_every_key_with_its_description():
    lines = config_help()
    assert any(line.startswith("generate.num_tasks = 64  # new tasks") for line in lines)
    assert any(line.startswith("validate.near_dup_threshold") for line in lines)
    assert len(lines) == len(list(_leaves(RunConfig)))


def test_registries_match_config_literals():
    from seedfactory.generators.backends import BACKENDS
    from seedfactory.validators.embedders import EMBEDDERS

    assert set(BACKENDS) == set(get_args(BackendName))
    assert set(EMBEDDERS) == set(get_args(EmbedderName))
