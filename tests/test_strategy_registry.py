"""The strategy registry: every name of the config's StrategyName literal is a module with one entry
point of one signature, and a new strategy is one module plus the literal (shown with a trivial one)."""

import sys
import types
from typing import Literal, get_args

import pytest

from seedfactory.generators import strategies
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.plan import Env, Plan, TaskDraft
from seedfactory.schemas import RejectLog, SeedExample
from seedfactory.schemas.config import GenerateConfig, ModelConfig, StrategyName

SEEDS = [SeedExample(id=f"s{i}", instruction="Sort these words.", input=f"pear apple {i}", output=f"apple pear {i}")
         for i in range(4)]


@pytest.mark.parametrize("name", get_args(StrategyName))
def test_every_literal_name_is_a_module_with_the_entry_point(name):
    module = strategies.strategy(name)
    assert module.__name__ == f"seedfactory.generators.{name}"
    assert callable(module.write_tasks) and isinstance(module.USES_PERSONAS, bool)
    assert list(module.write_tasks.__code__.co_varnames[:3]) == ["seeds", "plan", "env"]


def test_an_unknown_name_is_an_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown strategy 'nope'.*output_first"):
        strategies.strategy("nope")


def test_a_new_strategy_is_one_module_plus_the_literal(monkeypatch):
    """A trivial strategy: each seed's input reversed. Nothing but the module and the literal changes."""
    module = types.ModuleType("seedfactory.generators.reverse_inputs")
    module.USES_PERSONAS = False

    def write_tasks(seeds, plan, env):
        return [TaskDraft(prompt_id=f"rev{i}", instruction=s.instruction, input=s.input[::-1], seed_ids=[s.id],
                          request_key=f"rev:{i}", raw="", strategy="reverse_inputs")
                for i, s in zip(range(plan.tasks), seeds * plan.tasks)]

    module.write_tasks = write_tasks
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(strategies, "StrategyName", Literal[(*get_args(StrategyName), "reverse_inputs")])
    env = Env(FakeBackend().generate, ModelConfig(), GenerateConfig(num_tasks=6), 0, RejectLog("generate"))
    tasks = strategies.write_tasks({"reverse_inputs": 0.5, "input_variation": 0.5}, SEEDS, env)
    mine = [t for t in tasks if t.strategy == "reverse_inputs"]
    assert [t.input for t in mine] == ["0 elppa raep", "1 elppa raep", "2 elppa raep"]
    assert len(tasks) - len(mine) == 3 and all(t.strategy == "input_variation" for t in tasks if t not in mine)
    assert strategies.strata_personas({"reverse_inputs": 1.0}, SEEDS, env) == []
    assert Plan("reverse_inputs", 3, 0.5).tasks == 3
