"""`seedfactory run --dry-run` is paid once: every strategy's request list is prefix-stable (request i
is the same for num_tasks=k as for N > k), so the sample the dry run sends is the start of the real
run, which finds it in the cache. Fake teacher and a counting fake OpenAI-compatible server."""

import pytest

from seedfactory.cli import main
from seedfactory.generators.answers import response_requests
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.fake_server import FakeOpenAIServer, schema_reply
from seedfactory.generators.plan import Env
from seedfactory.generators.strategies import _split, choose, strata_personas, write_tasks
from seedfactory.schemas import RejectLog, load_schema, load_seeds
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.seeds import resolve_seed_path
from seedfactory.util.files import read_json


@pytest.fixture(scope="module")
def invoices():
    path = resolve_seed_path("invoice-fields")
    schema = load_schema(path.with_name("invoice-fields.schema.json"))
    return load_seeds(path, schema), schema


def asked(seeds, schema, strategy, n: int) -> list[str]:
    """Keys of every task and answer request a generate stage of `n` tasks sends (in order)."""
    teacher = FakeBackend()
    cfg = GenerateConfig(strategy=strategy, num_tasks=n, pool_round=4, responses_per_prompt=2, personas="auto")
    mix = choose(seeds, schema, strategy)
    env = Env(teacher.generate, ModelConfig(), cfg, 0, RejectLog("generate"), schema)
    env.personas = strata_personas(mix, seeds, env)
    drafts = write_tasks(mix, seeds, env)
    answers = response_requests(drafts, seeds, ModelConfig(), cfg, schema, 0)
    return [r.key for r in teacher.calls] + [r.key for r, _ in answers]


@pytest.mark.parametrize("strategy", ["output_first", "input_variation", "self_instruct", "evol_instruct",
                                      {"output_first": 2, "self_instruct": 1, "evol_instruct": 1}])
def test_every_strategy_asks_a_small_run_s_requests_again_in_a_large_run(invoices, strategy):
    seeds, schema = invoices
    small, large = asked(seeds, schema, strategy, 5), asked(seeds, schema, strategy, 37)
    assert len(small) > 5 and not set(small) - set(large)


def test_a_mix_never_gives_a_strategy_fewer_tasks_in_a_larger_run():
    plan = {"a": 0.45, "b": 0.45, "c": 0.1}
    counts = [_split(n, plan) for n in range(60)]
    assert all(abs(c[k] - n * plan[k]) <= 1 for n, c in enumerate(counts) for k in plan)
    assert all(later[k] >= earlier[k] for earlier, later in zip(counts, counts[1:]) for k in plan)


def test_dry_run_then_real_run_sends_none_of_the_dry_runs_requests_again(tmp_path):
    out = tmp_path / "run"
    mix = "generate.strategy={output_first: 0.4, self_instruct: 0.2, input_variation: 0.2, evol_instruct: 0.2}"
    with FakeOpenAIServer([], default=schema_reply) as srv:
        args = ["run", "--out", str(out), "--no-progress", "teacher.backend=openai", f"teacher.base_url={srv.url}",
                "validate.embedder=hash", "generate.num_tasks=24", "generate.pool_round=4",
                "generate.responses_per_prompt=2", "generate.personas=auto", mix]
        assert main([*args, "--dry-run", "--sample", "4"]) == 0
        dry = {b["_key"] for b in srv.requests}
        sampled = read_json(out / "dry_run.json")["stages"]
        n_dry = len(srv.requests)
        assert main([*args, "--until", "judge"]) == 0
        again = {b["_key"] for b in srv.requests[n_dry:]} & dry
    assert not again  # the counting server never saw a dry-run request twice
    real = read_json(out / "stats.json")["stages"]
    for stage in ("generate", "judge"):  # and every request the dry run paid for was used by the real run
        assert real[stage]["cache_hits"] == sampled[stage]["sampled_requests"] > 0, stage
    assert real["generate"]["requests_sent"] > 0 and set(real["generate"]["tasks_by_strategy"]) >= {
        "self_instruct", "input_variation", "output_first:template"}
