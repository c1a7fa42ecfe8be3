"""Hostile or broken seed, schema and config files and overrides: each is refused with one line that
names the file (or the override), exit 2, no traceback, and an existing run directory untouched.
Remote `$ref`s and proxy variables never make a network connection."""

import json
import shutil
import socket

import pytest

from seedfactory.cli import main
from seedfactory.pipeline import run
from seedfactory.schemas import load_config

SMALL = ("generate.num_tasks=4", "review.sample_size=2")  # with fake_run (conftest.py)
GOOD_SEED = '{"instruction": "Say hi", "output": "hi"}\n'
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
YAML_BOMB_SEEDS = "- instruction: x\n  output: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"- instruction: x\n  output: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi"))
OBJ = {"type": "object", "properties": {"a": {"type": "string"}}}

# (id, what, file name, content (str or bytes) or None, extra overrides, expected words in the message)
CASES = [
    ("seed-not-utf8", "seeds", "s.jsonl", b'{"instruction": "caf\xe9", "output": "b"}\n', [], "not UTF-8 text"),
    ("seed-latin1-yaml", "seeds", "s.yaml", b"- instruction: caf\xe9\n  output: b\n", [], "not UTF-8 text"),
    ("seed-json-deep", "seeds", "s.jsonl", '{"instruction": "a", "output": ' + "[" * 100000 + "]" * 100000 + "}\n",
     [], "nested deeper than seeds.max_depth=32"),
    ("seed-json-over-depth-key", "seeds", "s.jsonl", '{"instruction": "a", "output": {"x": [[[1]]]}}\n',
     ["seeds.max_depth=3"], "nested deeper than seeds.max_depth=3"),
    ("seed-too-big", "seeds", "s.jsonl", GOOD_SEED * 50, ["seeds.max_bytes=1000"], "more than seeds.max_bytes=1000"),
    ("seed-torn-line", "seeds", "s.jsonl", GOOD_SEED * 4 + '{"instruction": "a", "outp', [], ":5: not valid JSON"),
    ("seed-not-object", "seeds", "s.jsonl", GOOD_SEED + "[1, 2]\n", [], ":2: a seed is an object"),
    ("seed-empty", "seeds", "s.jsonl", "\n\n", [], "no seeds in file"),
    ("seed-wrong-suffix", "seeds", "s.txt", GOOD_SEED, [], "seed files are .jsonl, .yaml or .yml"),
    ("seed-yaml-alias-bomb", "seeds", "s.yaml", YAML_BOMB_SEEDS, [], "YAML anchor &a refused"),
    ("seed-yaml-alias", "seeds", "s.yaml", "- &x {instruction: a, output: b}\n- *x\n", [], "YAML anchor &x refused"),
    ("seed-yaml-python-tag", "seeds", "s.yaml", '- instruction: !!python/object/apply:os.system ["echo hi"]\n'
     "  output: b\n", [], "YAML tag tag:yaml.org,2002:python/object/apply:os.system refused"),
    ("seed-yaml-local-tag", "seeds", "s.yaml", "- instruction: !shell ls\n  output: b\n", [],
     "YAML tag !shell refused"),
    ("seed-yaml-deep", "seeds", "s.yaml", "- instruction: a\n  output: " + "[" * 5000 + "]" * 5000 + "\n", [],
     "YAML nested deeper than seeds.max_depth=32"),
    ("seed-yaml-syntax", "seeds", "s.yaml", "- instruction: [a\n  output: b\n", [], "not valid YAML"),
    ("seed-yaml-mapping", "seeds", "s.yaml", "instruction: a\noutput: b\n", [], "a YAML seed file is a list"),
    ("schema-remote-ref", "schema", "s.schema.json", {**OBJ, "properties": {"a": {"$ref": "https://example.com/a"}}},
     [], "$ref 'https://example.com/a' points outside the schema"),
    ("schema-file-ref", "schema", "s.schema.json", {**OBJ, "$ref": "other.schema.json"}, [],
     "$ref 'other.schema.json' points outside the schema"),
    ("schema-dynamic-ref", "schema", "s.schema.json", {**OBJ, "$dynamicRef": "http://127.0.0.1:9/x"}, [],
     "$dynamicRef 'http://127.0.0.1:9/x' points outside the schema"),
    ("schema-dangling-ref", "schema", "s.schema.json", {**OBJ, "$ref": "#/$defs/nope"}, [],
     "$ref '/$defs/nope' does not resolve inside the schema"),
    ("schema-not-utf8", "schema", "s.schema.json", b'{"type": "object", "title": "caf\xe9"}', [], "not UTF-8 text"),
    ("schema-deep", "schema", "s.schema.json", '{"type": "object", "x": ' + "[" * 50000 + "]" * 50000 + "}", [],
     "nested deeper than seeds.max_depth=32"),
    ("schema-not-json", "schema", "s.schema.json", "{'type': 'object'}", [], "schema is not valid JSON"),
    ("schema-invalid", "schema", "s.schema.json", {"type": 12}, [], "not a valid JSON schema"),
    ("schema-not-object-type", "schema", "s.schema.json", {"type": "string"}, [], "describes an object"),
    ("schema-a-list", "schema", "s.schema.json", [1, 2], [], "a JSON schema is an object"),
    ("schema-too-big", "schema", "s.schema.json", {**OBJ, "description": "x" * 5000}, ["seeds.max_bytes=2000"],
     "more than seeds.max_bytes=2000"),
    ("config-not-utf8", "config", "c.yaml", b"seed: 1\n# caf\xe9\n", [], "not UTF-8 text"),
    ("config-alias-bomb", "config", "c.yaml", BOMB, [], "YAML anchor &a refused"),
    ("config-python-tag", "config", "c.yaml", "seed: !!python/object/apply:os.system [ls]\n", [], "YAML tag"),
    ("config-a-list", "config", "c.yaml", "- seed\n", [], "a config is a mapping of keys"),
    ("config-too-big", "config", "c.yaml", "seed: 1\n" + "#" * 1_100_000 + "\n", [], "more than the config size"),
    ("config-deep", "config", "c.yaml", "seed: " + "[" * 100 + "]" * 100 + "\n", [], "YAML nested deeper"),
    ("config-unknown-key", "config", "c.yaml", "generate:\n  num_taks: 3\n", [], "generate.num_taks: Extra inputs"),
    ("config-missing", "config", "nowhere.yaml", None, [], "cannot read"),
    ("override-not-yaml", "override", None, None, ["generate.num_tasks=[1"], "override generate.num_tasks"),
    ("override-python-tag", "override", None, None, ["seed=!!python/name:os.system"], "YAML tag"),
    ("override-alias", "override", None, None, ["seed=*x"], "override seed: YAML alias *x refused"),
    ("override-no-key", "override", None, None, ["=5"], "override '=5': expected key=value"),
    ("override-into-value", "override", None, None, ["seed.deeper=1"], "seed: Input should be a valid integer"),
    ("override-bad-value", "override", None, None, ["generate.num_tasks=-1"], "generate.num_tasks: Input should be"),
]


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, fake_run):
    out = tmp_path_factory.mktemp("base") / "run"
    run(load_config(None, fake_run(*SMALL)), out, progress=False, until="split")
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_refused_in_one_line_and_touches_nothing(case, base_run, tmp_path, capsys, fake_run):
    _, what, name, content, overrides, expected = case
    out = tmp_path / "run"
    shutil.copytree(base_run, out)
    before = snapshot(out)
    args = ["run", "--out", str(out), "--no-progress", *fake_run(*SMALL)]
    named = None
    if name is not None:
        named = tmp_path / name
        if content is not None:
            data = content if isinstance(content, bytes) else (
                content if isinstance(content, str) else json.dumps(content))
            named.write_bytes(data if isinstance(data, bytes) else data.encode())
    if what == "seeds":
        args.append(f"seeds.path={named}")
    elif what == "schema":
        seeds = tmp_path / "s.jsonl"
        seeds.write_text('{"instruction": "a", "output": {"a": "b"}}\n' * 3)
        args += [f"seeds.path={seeds}", f"seeds.schema={named}"]
    elif what == "config":
        args.insert(1, str(named))
    code = main(args + overrides)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err  # one line
    assert expected in err
    assert (str(named) in err) if named is not None else ("override" in err or "defaults" in err)
    assert snapshot(out) == before  # nothing written, nothing touched


def test_at_least_25_hostile_cases():
    assert len(CASES) >= 25 and len({c[0] for c in CASES}) == len(CASES)


@pytest.fixture
def listener():
    """A loopback TCP listener that counts on nobody connecting to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def assert_no_connection(sock):
    with pytest.raises(BlockingIOError):  # a connection made during the call would be waiting here
        sock.accept()


def test_remote_ref_is_an_error_naming_it_and_opens_no_connection(listener, tmp_path, capsys, fake_run):
    port = listener.getsockname()[1]
    ref = f"http://127.0.0.1:{port}/invoice.schema.json"
    seeds = tmp_path / "s.jsonl"
    seeds.write_text('{"instruction": "a", "output": {"a": "b"}}\n' * 4)
    schema = tmp_path / "s.schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"$ref": ref}}}))
    code = main(["run", "--out", str(tmp_path / "r"), "--no-progress", *fake_run(*SMALL), f"seeds.path={seeds}"])
    assert code == 2
    assert f"{schema}: $ref '{ref}' points outside the schema" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    assert_no_connection(listener)


def test_the_validators_registry_retrieves_nothing(listener):
    from referencing.exceptions import Unresolvable

    from seedfactory.schemas.seedfile import schema_validator

    ref = f"http://127.0.0.1:{listener.getsockname()[1]}/a.json"
    validator = schema_validator({"type": "object", "properties": {"a": {"$ref": ref}}})
    with pytest.raises(Unresolvable):
        validator.is_valid({"a": 1})
    assert_no_connection(listener)


def test_loopback_model_server_is_reached_directly_whatever_the_proxy_variables_say(listener, monkeypatch):
    from seedfactory.generators.fake_server import FakeOpenAIServer
    from seedfactory.generators.openai_backend import OpenAIBackend
    from seedfactory.schemas import GenerationRequest, Message, Sampling
    from seedfactory.schemas.config import ModelConfig

    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with FakeOpenAIServer(["hello there"]) as srv:
        backend = OpenAIBackend(ModelConfig(backend="openai", model="m", base_url=srv.url, max_retries=0))
        req = GenerationRequest(model="m", purpose="t", messages=[Message(role="user", content="hi")],
                                sampling=Sampling(temperature=0.0, top_p=1.0, max_tokens=8))
        [res] = backend.generate([req])
        backend.close()
    assert res.error is None and res.text == "hello there"
    assert len(srv.requests) == 1
    assert_no_connection(listener)


def test_blocked_remote_model_is_one_line(tmp_path, capsys, monkeypatch, fake_run):
    monkeypatch.setenv("SEEDFACTORY_BLOCK_REMOTE", "1")
    code = main(["run", "--out", str(tmp_path / "r"), "--no-progress", *fake_run(*SMALL), "teacher.backend=openai",
                 "teacher.base_url=https://api.example.com/v1", "--until", "generate"])
    err = capsys.readouterr().err
    assert code == 2
    assert "seedfactory: SEEDFACTORY_BLOCK_REMOTE=1: refusing to send requests to https://api.example.com/v1" in err
    assert "Traceback" not in err

