"""The online-RL rewards (train/rewards.py) on hand-written answers: each must rise for the better
answer and fall for the worse, with the invoice-fields seeds' own schema and field kinds."""

import json
import typing
from pathlib import Path

import pytest

from seedfactory.schemas.config import DEFAULT_REWARDS, RewardName, load_config
from seedfactory.schemas.seedfile import load_schema, load_seeds
from seedfactory.train import rewards as R
from seedfactory.validators.kinds import infer_kinds

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
INPUT = ("From: billing@nordlicht.se\nFaktura 2024-117 datum 05.02.2024\nNordlicht AB\n"
         "Moms 125,00 SEK\nAtt betala: 625,00 SEK")
TARGET = {"vendor": "Nordlicht AB", "invoice_number": "2024-117", "date": "2024-02-05", "currency": "SEK",
          "total": 625.0, "tax": 125.0}


@pytest.fixture(scope="module")
def ctx():
    schema = load_schema(SEEDS / "invoice-fields.schema.json")
    seeds = load_seeds(SEEDS / "invoice-fields.jsonl", schema)
    kinds = infer_kinds(schema, seeds)
    return R.reward_context(schema, kinds, [s.output for s in seeds])


def row(target=TARGET, source="target"):
    return {"input_text": INPUT, "target": json.dumps(target), "target_from": source, "prompt_text": INPUT}


def ans(**changes):
    return json.dumps({**TARGET, **changes})


def test_the_config_names_every_reward_and_an_unknown_one_is_refused():
    assert set(typing.get_args(RewardName)) == set(R.REWARDS) == set(DEFAULT_REWARDS)
    with pytest.raises(Exception, match="rewards"):
        load_config(None, ["train.rewards.grounding=1"])
    with pytest.raises(ValueError, match="unknown reward typo"):
        R.weights_of({"typo": 1.0})
    # an override names only what it changes; the rest keep their defaults
    weights = R.weights_of(load_config(None, ["train.rewards.grounded=3"]).train.rewards)
    assert weights["grounded"] == 3 and weights["schema_valid"] == DEFAULT_REWARDS["schema_valid"]


def test_schema_valid_orders_valid_over_invalid_over_no_object(ctx):
    r = row()
    good, bad_currency, prose = ans(), ans(currency="kronor"), "The invoice is from Nordlicht."
    assert R.schema_valid(good, r, ctx) == 1.0
    assert R.schema_valid(bad_currency, r, ctx) == 0.5
    assert R.schema_valid(prose, r, ctx) == 0.0


def test_kinds_valid_falls_for_an_impossible_date(ctx):
    r = row()
    assert R.kinds_valid(ans(), r, ctx) == 1.0
    impossible = R.kinds_valid(ans(date="2024-02-31"), r, ctx)
    assert impossible == pytest.approx(5 / 6)
    dropped = json.dumps({k: v for k, v in TARGET.items() if k != "date"})
    assert R.kinds_valid(dropped, r, ctx) < 1.0


def test_grounded_falls_for_an_invented_value_and_needs_no_label(ctx):
    unlabelled = {"input_text": INPUT}
    stated = R.grounded(ans(), unlabelled, ctx)
    invented = R.grounded(ans(vendor="Acme Widgets Ltd"), unlabelled, ctx)
    two_invented = R.grounded(ans(vendor="Acme Widgets Ltd", total=999.0), unlabelled, ctx)
    assert stated == 1.0 and stated > invented > two_invented
    assert R.grounded("no object here", unlabelled, ctx) == 0.0
    assert R.invented_share([ans(), ans(vendor="Acme Widgets Ltd")], [INPUT, INPUT], ctx) > 0
    assert R.invented_share([ans()], [INPUT], ctx) == 0.0


def test_field_match_and_consensus_apply_by_who_wrote_the_target(ctx):
    half_wrong = ans(total=1.0, tax=2.0, date=None)
    for source, applies, other in (("target", R.field_match, R.consensus), ("review", R.field_match, R.consensus),
                                   ("teacher", R.consensus, R.field_match)):
        r = row(source=source)
        assert applies(ans(), r, ctx) == 1.0
        assert applies(half_wrong, r, ctx) == pytest.approx(0.5)
        assert other(ans(), r, ctx) is None
    assert R.field_match(ans(), {"input_text": INPUT}, ctx) is None  # no target: a pool row


def test_judge_only_when_trusted_and_for_free_text(ctx):
    assert R.judge(ans(), row(), ctx) is None  # no judge
    judged = R.RewardContext(None, judge=lambda prompt, answer: 0.9 if "thanks" in answer else 0.1)
    assert R.judge("thanks, done", row(), judged) > R.judge("done", row(), judged)
    with_schema = R.RewardContext(ctx.schema, judge=lambda p, a: 1.0)
    assert R.judge(ans(), row(), with_schema) is None  # schema tasks have checks, not a judge


def test_length_penalises_rambling_past_the_target(ctx):
    r = row()
    assert R.length(ans(), r, ctx) == 0.0
    ramble = ans() + " Here is some more text. " * 10
    longer = ans() + " Here is some more text. " * 40
    assert 0 > R.length(ramble, r, ctx) > R.length(longer, r, ctx) >= -1.0


def test_composite_ranks_answers_and_leaves_out_what_does_not_apply(ctx):
    weights = R.weights_of({})
    score = R.composite(ctx, weights)
    r = row()
    good, invented, broken = ans(), ans(vendor="Acme Widgets Ltd"), '{"vendor": "Nordlicht AB", "total": '
    assert score(good, r) > score(invented, r) > score(broken, r)
    # the consensus reward does not apply to an output-first row: the sum has no term for it
    parts = R.scores(good, r, ctx, weights)
    assert parts["consensus"] is None
    assert score(good, r) == pytest.approx(sum(weights[n] * v for n, v in parts.items() if v is not None))
    # a weight of 0 turns a reward off
    assert "grounded" not in R.scores(good, r, ctx, R.weights_of({"grounded": 0}))


def test_trl_reward_funcs_read_dataset_columns_and_are_named(ctx):
    funcs, ws = R.trl_reward_funcs(ctx, R.weights_of({"judge": 0}))
    assert [f.__name__ for f in funcs] == [n for n in DEFAULT_REWARDS if n != "judge"]
    assert ws == [DEFAULT_REWARDS[f.__name__] for f in funcs]
    grounded = funcs[[f.__name__ for f in funcs].index("grounded")]
    completions = [[{"role": "assistant", "content": ans()}], [{"role": "assistant", "content": ans(vendor="Zed")}]]
    out = grounded(prompts=[[], []], completions=completions, input_text=[INPUT, INPUT], target=["", ""],
                   target_from=["teacher", "teacher"], trainer_state=None)
    assert out[0] == 1.0 and out[1] < 1.0


def test_online_dpo_pairs_the_best_against_the_worst_and_skips_ties(ctx):
    from seedfactory.train.rl import best_worst_pairs

    score = R.composite(ctx, R.weights_of({}))
    rows = [{**row(), "prompt": [{"role": "user", "content": p}]} for p in ("a", "b")]
    answers = [[ans(vendor="Acme Widgets Ltd"), ans(), "prose"], [ans(), ans()]]
    pairs, seen = best_worst_pairs(rows, answers, score)
    assert len(pairs) == 1 and len(seen) == 5  # the second prompt's answers tie: no pair
    assert pairs[0]["chosen"][0]["content"] == ans() and pairs[0]["rejected"][0]["content"] == "prose"


def test_online_methods_do_not_wait_for_judged_pairs_and_dpo_refuses_them():
    from seedfactory.schemas.config import TrainConfig
    from seedfactory.train.dpo import train_preference
    from seedfactory.train.recipe import preference_plan

    few_pairs = {"skip": "3 pairs < train.min_pairs=8"}
    assert preference_plan(TrainConfig(preference="dpo"), few_pairs)["skip"]
    assert preference_plan(TrainConfig(preference="grpo"), few_pairs)["skip"] is None
    assert preference_plan(TrainConfig(preference="online_dpo", peft="prefix"), few_pairs)["skip"]
    with pytest.raises(ValueError, match="own answers"):
        train_preference(Path("m"), Path("a"), [{"prompt": "x"}], Path("o"), TrainConfig(preference="grpo"), 0)


def test_data_rows_for_rl_say_who_wrote_the_target():
    from factories import make_example

    from seedfactory.train.data import rl_records

    ex = make_example("e1", input=INPUT, output=TARGET)
    target = ex.model_copy(update={"lineage": ex.lineage.model_copy(update={"label": "target"})})
    reviewed = ex.model_copy(update={"lineage": ex.lineage.model_copy(update={"original_output": {"vendor": "x"}})})
    rows = rl_records([ex, target, reviewed])
    assert [r["target_from"] for r in rows] == ["teacher", "target", "review"]
    assert rows[0]["input_text"] == INPUT and json.loads(rows[0]["target"]) == TARGET
