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
    (["teacher.max_cost=5"], "teacher: Value error, max_cost needs price_prompt"),
])
def test_bad_overrides_name_the_key(override, needle):
    with pytest.raises(ConfigError) as e:
        load_config(None, override)
    assert needle in str(e.value)


def test_bad_yaml_names_the_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("train:\n  sft_steps: [1\n")
    with pytest.raises(ConfigError, match="bad.yaml:3: not valid YAML: expected ',' or ']'"):
        load_config(f)
    f.write_text("train:\n  sft_stepz: 1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: invalid config\n  train.sft_stepz"):
        load_config(f)


def test_resolved_config_round_trips():
    cfg = load_config(None, ["teacher.model=x", "generate.num_tasks=3"])
    again = RunConfig.model_validate(cfg.dump())
    assert again == cfg


def _leaves(model: type[BaseModel], prefix=""):
    """(dotted key, section class, field name) for every leaf key, dotted by field name."""
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _leaves(ann, prefix + name + ".")
        else:
            yield prefix + name, model.__name__, name


def config_reads(sources: list[str]) -> set[tuple[str, str]]:
    """(config class, field) pairs the code reads, found by a small type inference over the AST.

    Types come from annotations: parameters (`cfg: GenerateConfig`, `ctx: RunContext`), class
    fields (`cfg: ValidateConfig` in a dataclass, pydantic fields) and `self.x = param` in a method;
    a local assigned from a typed expression takes its type (`cfg = ctx.cfg.generate`, tuples too).
    `ctx.cfg.generate.num_tasks` then reads (GenerateConfig, num_tasks), and only that: the same
    field name read from another section does not count."""
    import ast

    trees = [ast.parse(src) for src in sources]
    classes = {n.name: n for t in trees for n in ast.walk(t) if isinstance(n, ast.ClassDef)}

    def named(annotation) -> str | None:
        text = ast.unparse(annotation) if annotation is not None else ""
        hits = [c for c in classes if re.search(rf"\b{c}\b", text)]
        return max(hits, key=len) if hits else None

    def params(fn) -> dict[str, str]:
        args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
        return {a.arg: t for a in args if (t := named(a.annotation))}

    def assignments(fn):
        """(target, value) of every assignment in a function, tuples unpacked pairwise."""
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    yield from (zip(target.elts, node.value.elts) if isinstance(target, ast.Tuple)
                                and isinstance(node.value, ast.Tuple) else [(target, node.value)])

    fields: dict[str, dict[str, str]] = {}  # class -> attribute -> class
    for name, cls in classes.items():
        own = fields.setdefault(name, {})
        for node in cls.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and named(node.annotation):
                own[node.target.id] = named(node.annotation)
        for fn in [n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            typed = params(fn)
            for t, v in assignments(fn):
                if (isinstance(t, ast.Attribute) and ast.unparse(t.value) == "self"
                        and isinstance(v, ast.Name) and v.id in typed):
                    own[t.attr] = typed[v.id]
    config_classes = {"RunConfig"} | {c for c in classes if c.endswith("Config")}

    def type_of(node, local: dict[str, str]) -> str | None:
        if isinstance(node, ast.Name):
            return local.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = type_of(node.value, local)
            return fields.get(owner, {}).get(node.attr) if owner else None
        return None

    reads = set()
    for tree in trees:
        scopes = [(fn, cls) for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
                  for fn in cls.body if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))]
        in_class = {id(fn) for fn, _ in scopes}
        scopes += [(fn, None) for fn in ast.walk(tree)
                   if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and id(fn) not in in_class]
        for fn, cls in scopes:
            local = params(fn) | ({"self": cls.name} if cls else {})
            for t, v in assignments(fn):
                if isinstance(t, ast.Name) and (tv := type_of(v, local)):
                    local[t.id] = tv
            for node in ast.walk(fn):
                if isinstance(node, ast.Attribute) and (owner := type_of(node.value, local)) in config_classes:
                    reads.add((owner, node.attr))
    return reads


def test_every_config_key_is_read_somewhere():
    """A key nothing reads is a lie in `seedfactory keys`: each dotted key must be read from its own
    section (teacher and judge.model share ModelConfig, so either one reading a field counts)."""
    folders = ["schemas", "seedfactory", "generators", "validators", "judges", "review", "train"]
    sources = [p.read_text() for d in folders for p in (ROOT / d).rglob("*.py")]
    reads = config_reads(sources)
    unread = [key for key, section, name in _leaves(RunConfig) if (section, name) not in reads]
    assert unread == []


def test_config_reads_tell_sections_apart():
    code = ("class RunContext:\n    def __init__(self, cfg: RunConfig):\n        self.cfg = cfg\n"
            "def f(ctx: RunContext, teacher: ModelConfig):\n"
            "    cfg = ctx.cfg.generate\n    a = cfg.num_tasks + ctx.cfg.train.sft_steps + teacher.top_p\n"
            "    b, c = ctx.cfg.review, ctx.cfg.seed\n    return b.sample_size\n")
    config = (ROOT / "schemas" / "config.py").read_text()
    got = config_reads([config, code])
    assert {("GenerateConfig", "num_tasks"), ("TrainConfig", "sft_steps"), ("ModelConfig", "top_p"),
            ("ReviewConfig", "sample_size"), ("RunConfig", "seed")} <= got
    # the same field name read from another section does not count for this one
    assert ("TrainConfig", "num_tasks") not in got and ("GenerateConfig", "sft_steps") not in got


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
