"""The calibrated checks: thresholds come from the seeds, a check the seeds fail is not applied,
and each junk kind the skeleton published is caught with its reason."""

import pytest
from factories import make_env, make_example

from seedfactory.schemas import SeedExample
from seedfactory.validators import parse_and_filter, seed_band
from seedfactory.validators.quality import calibrate, data_quality, span_fields

SCHEMA = {"type": "object", "properties": {
    "vendor": {"type": "string"}, "number": {"type": ["string", "null"]}, "total": {"type": "number"},
    "currency": {"type": "string", "enum": ["EUR", "USD"]}}, "required": ["vendor", "total"]}
INSTR = "Extract the invoice fields as JSON."


def seed(i, text, out, instruction=INSTR):
    return SeedExample(id=f"s{i}", instruction=instruction, input=text, output=out)


SEEDS = [
    seed(0, "Rechnung RE-11 vom Krämer Druck GmbH. Gesamtbetrag: 1.487,50 EUR",
         {"vendor": "Krämer Druck GmbH", "number": "RE-11", "total": 1487.5, "currency": "EUR"}),
    seed(1, "PINECREST HARDWARE receipt 8812, TOTAL USD 14.48, thank you",
         {"vendor": "PINECREST HARDWARE", "number": "8812", "total": 14.48, "currency": "USD"}),
    seed(2, "Invoice 20931 from Maple Ridge Office Supply. TOTAL DUE 301.71 USD",
         {"vendor": "Maple Ridge Office Supply", "number": "20931", "total": 301.71, "currency": "USD"}),
    seed(3, "Hi Dana, the invoice INV-882 is attached, amount due $4,500.00. Brightline Studio",
         {"vendor": "Brightline Studio", "number": "INV-882", "total": 4500, "currency": "USD"}),
]


def run(rows, **env):
    e = make_env(train_seeds=SEEDS, output_schema=SCHEMA, **env)
    kept = list(parse_and_filter(rows, e))
    return kept, {r.row_id: (r.reason, r.detail) for r in e.reject.records}, e


def row(id, text, out, instruction=INSTR):
    return make_example(id, instruction, input=text, output=out)


GOOD = {"vendor": "Oakfield Bakery", "number": "77", "total": 12.5, "currency": "EUR"}


def test_calibration_measures_the_seeds_and_turns_off_what_they_fail():
    cal = calibrate(SEEDS, SCHEMA, min_seed_pass=0.9)
    checks = cal["checks"]
    assert span_fields(SCHEMA, [s.output for s in SEEDS]) == ["vendor", "number", "total"]  # not the enum
    assert {f: v["applied"] for f, v in checks["ungrounded"]["fields"].items()} == dict.fromkeys(
        ["vendor", "number", "total"], True)
    assert checks["wrong_language"]["applied"] is False  # de/en mix: a language that occurs once fails LOO
    assert checks["input_length"]["min"] == min(len(s.input) for s in SEEDS) // 2
    # a seed whose own value is not in its text lowers that field's pass rate below 0.9: not applied
    odd = SEEDS + [seed(9, "a receipt from somewhere, total 3.00", {"vendor": "Nowhere Ltd", "number": None,
                                                                   "total": 3.0, "currency": "EUR"})]
    fields = calibrate(odd, SCHEMA, 0.9)["checks"]["ungrounded"]["fields"]
    assert fields["vendor"] == {"seed_pass_rate": 0.8, "applied": False, "unread": ["s9"]}
    assert fields["total"]["applied"]


def test_each_junk_kind_is_caught_with_its_reason():
    rows = [
        row("ok", "Oakfield Bakery bill 77, total 12,50 EUR, thanks", GOOD),
        row("colons", ":" * 60 + " Oakfield Bakery 77 12.50", GOOD),
        row("debris", "{% create_json( Oakfield Bakery 77 12.50 total here %}", GOOD),
        row("echo", "Extract the invoice fields as JSON please", GOOD),
        row("short", "hi", GOOD),
        row("loop", " ".join(["Oakfield Bakery 77 12.50 paid"] * 5), GOOD),
        row("copied", "Oakfield Bakery bill 77, total 12,50 EUR, thanks",
            {**GOOD, "vendor": "Krämer Druck GmbH"}),  # a seed's vendor, not in this text
    ]
    kept, rejects, _ = run(rows)
    assert [r.id for r in kept] == ["ok"]
    assert {k: v[0] for k, v in rejects.items()} == {
        "colons": "symbol_run", "debris": "template_debris", "echo": "input_echoes_instruction",
        "short": "input_too_short", "loop": "repeated_ngrams", "copied": "ungrounded"}
    assert rejects["copied"][1] == "vendor='Krämer Druck GmbH' not in the input"


def test_language_check_applies_when_the_seeds_share_one():
    english = [seed(i, f"My order number {i}00 has not arrived after {i + 2} weeks, what can I do?", "We will check.",
                    "Reply to the customer.") for i in range(4)]
    env = make_env(train_seeds=english)
    rows = [make_example("en", "Reply to the customer.", input="My parcel with the blue mugs never came, please help.",
                         output="Sorry."),
            make_example("de", "Reply to the customer.",
                         input="Meine Bestellung ist nach drei Wochen immer noch nicht angekommen, bitte helfen Sie.",
                         output="Sorry.")]
    kept = list(parse_and_filter(rows, env))
    assert [r.id for r in kept] == ["en"]
    assert env.reject.records[0].reason == "wrong_language" and "seeds are en" in env.reject.records[0].detail


def test_seed_band_drops_inputs_further_from_every_seed_than_the_seeds_are_from_each_other():
    texts = ["invoice total paid amount vendor receipt number", "receipt total amount paid vendor invoice date",
             "vendor invoice number total amount tax receipt", "invoice vendor tax total amount receipt paid"]
    seeds = [seed(i, t, {"vendor": "x"}) for i, t in enumerate(texts)]
    env = make_env(train_seeds=seeds)
    near = make_example("near", INSTR, input="invoice total amount vendor receipt tax paid", output="x")
    far = make_example("far", INSTR, input="the migration of arctic terns over the southern ocean", output="x")
    kept = list(seed_band([near, far], env))
    assert [r.id for r in kept] == ["near"]
    [rej] = env.reject.records
    band = env.calibration["checks"]["off_domain"]
    assert rej.reason == "off_domain" and rej.similarity < band["threshold"] <= band["seeds_nearest_min"]


def test_data_quality_block_counts_grounded_rows_and_drops():
    cal = calibrate(SEEDS, SCHEMA, 0.9)
    kept = [row("a", "Oakfield Bakery 77 total 12.50", GOOD), row("b", "Oakfield Bakery total 12.50", GOOD)]
    block = data_quality(kept, {"ungrounded": 3, "symbol_run": 1}, cal, SCHEMA)
    assert block["grounded_rows"] == 1 and block["grounded_share"] == 0.5  # b does not state its number
    assert block["drops_per_check"]["ungrounded"] == 3 and block["drops_per_check"]["off_domain"] == 0
    assert block["seed_pass_rates"]["ungrounded.vendor"] == {"rate": 1.0, "applied": True}


@pytest.mark.parametrize("min_pass, applied", [(0.9, True), (1.0, True)])
def test_min_seed_pass_is_read(min_pass, applied):
    assert calibrate(SEEDS, SCHEMA, min_pass)["checks"]["ungrounded"]["applied"] is applied


def test_seed_band_with_fewer_than_three_seeds_passes_every_row_and_says_why():
    seeds = [seed(i, t, {"vendor": "x"}) for i, t in enumerate(["invoice total vendor", "receipt total tax"])]
    env = make_env(train_seeds=seeds)
    far = make_example("far", INSTR, input="the migration of arctic terns over the southern ocean", output="x")
    assert [r.id for r in seed_band([far], env)] == ["far"] and env.reject.records == []
    assert env.calibration["checks"]["off_domain"]["applied"] is False
    env = make_env(train_seeds=[])
    assert [r.id for r in seed_band([far], env)] == ["far"] and env.reject.records == []


def test_seed_band_keeps_an_input_exactly_at_its_threshold(monkeypatch):
    from seedfactory.validators import quality

    texts = ["invoice total paid amount vendor", "receipt total amount paid vendor", "vendor invoice number total tax"]
    seeds = [seed(i, t, {"vendor": "x"}) for i, t in enumerate(texts)]
    env = make_env(train_seeds=seeds)
    row = make_example("edge", INSTR, input="invoice vendor total", output="x")
    emb = env.get_embedder()
    at = float((emb.embed([row.input]) @ emb.embed(texts).T).max())
    monkeypatch.setattr(quality, "calibrate_band", lambda vecs, margin: {"applied": True, "threshold": at})
    # off-domain means further than the band: a cosine equal to the threshold stays
    assert [r.id for r in seed_band([row], env)] == ["edge"] and env.reject.records == []
    monkeypatch.setattr(quality, "calibrate_band", lambda vecs, margin: {"applied": True, "threshold": at + 1e-6})
    assert list(seed_band([row], env)) == [] and env.reject.records[0].reason == "off_domain"


def test_seed_band_compares_whole_prompts_when_a_seed_has_no_input():
    from seedfactory.validators import HashEmbedder

    class Recording(HashEmbedder):
        def __init__(self):
            super().__init__()
            self.seen = []

        def embed(self, texts):
            self.seen.append(list(texts))
            return super().embed(texts)

    texts = ["invoice total paid amount vendor", "receipt total amount paid vendor", "vendor invoice number total"]
    seeds = [seed(i, t, {"vendor": "x"}) for i, t in enumerate(texts)] + [seed(3, "", {"vendor": "x"})]
    emb = Recording()
    row = make_example("r", INSTR, input="invoice vendor total", output="x")
    list(seed_band([row], make_env(train_seeds=seeds, embedder=emb)))
    assert emb.seen[0] == [s.prompt for s in seeds] and emb.seen[1] == [row.prompt]


def test_a_list_fields_every_item_must_be_in_the_input():
    from seedfactory.validators.quality import calibrate, grounding_failures, list_fields

    schema = {"type": "object", "properties": {"day": {"type": "string"},
                                               "people": {"type": "array", "items": {"type": "string"}}}}
    seeds = [SeedExample(id=f"s{i}", instruction="x", input=f"On {d}: {', '.join(p)}.", output={"day": d, "people": p})
             for i, (d, p) in enumerate([("Monday", ["Ana Ruiz", "Li Wei"]), ("Friday", ["Tom Berg"]),
                                         ("Sunday", ["Eva Holm", "Jan Novak", "Mia Jensen"])])]
    assert list_fields(schema, [s.output for s in seeds]) == ["people"]
    cal = calibrate(seeds, schema, 0.9)
    assert cal["checks"]["ungrounded"]["fields"]["people"] == {"seed_pass_rate": 1.0, "applied": True, "unread": []}
    row = make_example("r", input="On Monday: Ana Ruiz, Li Wei.",
                       output={"day": "Monday", "people": ["Ana Ruiz", "Omar Khalil"]})
    assert grounding_failures(row, ["day", "people"]) == ["people"]
    row.output["people"] = ["Li Wei", "Ana Ruiz"]
    assert grounding_failures(row, ["day", "people"]) == []


@pytest.mark.parametrize("text, debris", [
    ("Dear team,\n[Your Name]\n[Your Address]", True), ("Date: [insert date here]", True),
    ("Rewrite the text as follows:\n\nThe app crashes.", True), ("@help Edited text. Locked out again", False),
    ("Edited text. Locked out again", True), ("Order [A12] shipped, see [3]", False),
    ("Here is my order number", False), ("We edited text files all day", False)])
def test_placeholders_and_echoes_a_model_leaves_are_debris(text, debris):
    # seen in a real 135M teacher's rewrites of support tickets: "[Your Name]" and "Rewrite the text as follows:"
    from seedfactory.validators.quality import DEBRIS

    assert bool(DEBRIS.search(text)) is debris


def test_an_objects_values_must_be_in_the_input():
    from seedfactory.validators.quality import calibrate, grounding_failures, list_fields

    schema = {"type": "object", "properties": {"rooms": {"type": "integer"}, "address": {"type": "object"}}}
    rows = [("2 rooms, Via Roma 7, 10121 Torino", 2, {"street": "Via Roma 7", "city": "Torino", "zip": "10121"}),
            ("Kerkstraat 88, 1017 GM Amsterdam: 5 rooms", 5, {"street": "Kerkstraat 88", "city": "Amsterdam",
                                                            "zip": "1017 GM"}),
            ("3 rooms at Calle Mayor 21, 28013 Madrid", 3,
             {"street": "Calle Mayor 21", "city": "Madrid", "zip": "28013"})]
    seeds = [SeedExample(id=f"h{i}", instruction="x", input=t, output={"rooms": n, "address": a})
             for i, (t, n, a) in enumerate(rows)]
    assert list_fields(schema, [s.output for s in seeds]) == ["address"]
    assert calibrate(seeds, schema, 0.9)["checks"]["ungrounded"]["fields"]["address"]["applied"]
    row = make_example("r", input="2 rooms, Via Roma 7, 10121 Torino",
                       output={"rooms": 2, "address": {"street": "Via Roma 7", "city": "Milano", "zip": "10121"}})
    assert grounding_failures(row, ["rooms", "address"]) == ["address"]
    row.output["address"]["city"] = "Torino"
    assert grounding_failures(row, ["rooms", "address"]) == []
