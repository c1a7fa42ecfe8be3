"""Generation strategies: chosen from the seeds, targets drawn from them, templates grounded by
construction, teacher texts that miss a value leave before anyone answers them, names shaped like
the seeds', and input variation keeping the user's instruction."""

import json
import random

import pytest

from seedfactory.generators import input_variation, targets, template
from seedfactory.generators.fake import FakeBackend
from seedfactory.generators.plan import Env
from seedfactory.generators.strategies import choose, write_tasks
from seedfactory.schemas import RejectLog, SeedExample, load_schema, load_seeds
from seedfactory.schemas.config import GenerateConfig, ModelConfig
from seedfactory.seeds import resolve_seed_path
from seedfactory.validators.values import is_stated


@pytest.fixture(scope="module")
def invoices():
    path = resolve_seed_path("invoice-fields")
    schema = load_schema(path.with_name("invoice-fields.schema.json"))
    return load_seeds(path, schema), schema


def test_auto_strategy_follows_the_seeds(invoices):
    seeds, schema = invoices
    assert choose(seeds, schema, "auto") == {"output_first": 1.0}
    text = [SeedExample(id=f"t{i}", instruction="Reply.", input=f"question {i}", output="answer") for i in range(3)]
    assert choose(text, None, "auto") == {"input_variation": 1.0}
    bare = text + [SeedExample(id="b", instruction="Write a poem.", output="roses")]
    assert choose(bare, None, "auto") == {"self_instruct": 1.0}
    assert choose(bare, None, {"self_instruct": 3, "input_variation": 1}) == {"self_instruct": 0.75,
                                                                              "input_variation": 0.25}
    assert choose(bare, None, "input_variation") == {"input_variation": 1.0}


def test_targets_are_valid_varied_and_templates_state_every_new_value(invoices):
    import jsonschema

    seeds, schema = invoices
    names = {"vendor": ["Oakfield Bakery", "Casa Verde SRL", "Nordlicht Papier GmbH"]}
    drawn = targets.draw_targets(seeds, schema, 44, 3, names)
    by_id = {s.id: s for s in seeds}
    made = 0
    for t in drawn:
        jsonschema.validate(t.object, schema)
        base = by_id[t.base_id].output
        if base["total"]:  # the factor keeps the tax/total ratio of the base seed
            assert t.object["total"] == pytest.approx(base["total"] * t.factor, abs=0.6)
        text = template.template_text(by_id[t.base_id], t)
        if text is None:
            continue
        made += 1
        for field in t.changed:
            assert is_stated(t.object[field], text), (field, text)
            if isinstance(base[field], str) and not base[field].isdigit():
                assert not is_stated(base[field], text)  # the seed's value is gone
    assert made >= 15
    assert len({json.dumps(t.object, sort_keys=True) for t in drawn}) == len(drawn)


def test_template_keeps_the_seed_layout_and_writes_values_its_way():
    s = SeedExample(id="x", instruction="Extract.", input="Rechnung RE-2024-0193 vom 14.03.2024\nGesamt: 1.487,50 EUR\n"
                    "Netto 1.250,00 EUR\nKrämer Druck GmbH",
                    output={"vendor": "Krämer Druck GmbH", "number": "RE-2024-0193", "date": "2024-03-14",
                            "total": 1487.5})
    t = targets.Target({"vendor": "Oakfield Bakery", "number": "RE-2031-7741", "date": "2025-01-09",
                             "total": 2975.0}, "x", 2.0, ["vendor", "number", "date", "total"])
    assert template.template_text(s, t) == ("Rechnung RE-2031-7741 vom 09.01.2025\nGesamt: 2.975,00 EUR\n"
                                                "Netto 2.500,00 EUR\nOakfield Bakery")  # net scaled too


def test_proposed_names_are_shape_checked_and_recombined_names_are_new():
    examples = ["Krämer Druck GmbH", "Alpenblick Software AG", "Maple Ridge Office Supply"]
    texts = [json.dumps({"values": ["Nordlicht Papier GmbH", "vendor:vendor:joy", "Vendor 8. SEMI 2018-10-31",
                                    "x", "Krämer Druck GmbH", "oakfield bakery"]})]
    assert targets.parse_names(texts, examples) == ["Nordlicht Papier GmbH"]
    made = targets.recombine_names(examples, random.Random(0), 10)
    assert made and not set(made) & set(examples)
    assert all(m.split()[0] in {"Krämer", "Alpenblick", "Maple"} for m in made)


def test_ungrounded_teacher_texts_leave_before_they_are_answered(invoices):
    seeds, schema = invoices
    calls = []

    def teacher(req):
        calls.append(req.purpose)
        if req.purpose == "names":
            return json.dumps({"values": ["Oakfield Bakery", "Casa Verde SRL", "Blue Harbor Traders"]})
        if req.purpose == "text":
            return "Thanks for your order!"  # states nothing
        raise AssertionError(req.purpose)

    rejects = RejectLog("generate")
    cfg = GenerateConfig(num_tasks=8, texts_per_target=2, rewrites_per_seed=0, min_keep_share=0)  # no calibration
    env = Env(FakeBackend(responder=teacher).generate, ModelConfig(), cfg, 0, rejects, schema)
    tasks = write_tasks({"output_first": 1.0}, seeds, env)
    assert tasks and all(t.strategy == "output_first:template" and t.target for t in tasks)
    assert calls.count("text") == 16
    assert env.notes["requests_kept"]["output_first:teacher"] == {"asked": 16, "kept": 0, "thrown_away": 16,
                                                                  "thrown_away_share": 1.0}
    assert [r.reason for r in rejects.records] == ["ungrounded"] * 16
    assert "text misses vendor" in rejects.records[0].detail


def test_input_variation_keeps_the_users_instruction_and_cycles_topics():
    seeds = [SeedExample(id=f"s{i}", topic=t, instruction=f"Reply as support ({i}).", input=f"My {t} question {i}?",
                         output="ok") for i, t in enumerate(["battery", "battery", "app", "warranty"])]
    pairs = input_variation.input_requests(seeds, ModelConfig(), GenerateConfig(num_tasks=6, shots=2), seed=0)
    assert [spec.topic for _, spec in pairs] == ["app", "battery", "warranty"] * 2
    assert all(spec.instruction in {s.instruction for s in seeds} for _, spec in pairs)
    replies = [json.dumps({"input": "My battery died after a week, what now?"}), "oops",
               json.dumps({"input": "My battery died after a week, what now?"}), json.dumps({"input": "Hi"}),
               json.dumps({"input": ""}), json.dumps({"input": "Can I ride in rain?"})]
    rejects = RejectLog("generate")
    drafts = input_variation.parse_inputs(pairs, FakeBackend(script=replies).generate([r for r, _ in pairs]), rejects)
    assert [d.input for d in drafts] == ["My battery died after a week, what now?", "Hi", "Can I ride in rain?"]
    assert [r.reason for r in rejects.records] == ["unparseable_task", "duplicate_task", "unparseable_task"]
    assert all(d.strategy == "input_variation" for d in drafts)
