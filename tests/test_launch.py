"""`python -m seedfactory.train.launch` without training: the shipped accelerate configs parse, and a
run directory without a published dataset is refused in one line (the real DDP run:
tests/test_ddp_slow.py)."""

from __future__ import annotations

import pytest

from seedfactory.train.launch import CONFIGS, main


@pytest.mark.parametrize("name,kind", [("ddp_cpu", "MULTI_GPU"), ("fsdp", "FSDP")])
def test_shipped_accelerate_configs_parse(name, kind, capsys):
    from accelerate.commands.config.config_args import load_config_from_file

    assert main(["--config", name]) == 0
    path = capsys.readouterr().out.strip()
    assert path == str(CONFIGS / f"{name}.yaml")
    config = load_config_from_file(path)
    assert config.distributed_type.value == kind and config.num_processes == 2 and not config.use_cpu
    if name == "fsdp":
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # save_pretrained wants whole tensors


def test_a_run_without_a_published_dataset_is_refused(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("seed: 0\n")
    assert main([str(tmp_path), "train.sft_steps=2"]) == 2
    err = capsys.readouterr().err
    assert "no published dataset" in err and "--until publish" in err
    assert main([str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
