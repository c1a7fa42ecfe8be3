"""Templates across the forms a seed writes its values in: a datetime stated as a date and a time apart."""

from seedfactory.generators.targets import Target
from seedfactory.generators.template import template_text
from seedfactory.schemas import SeedExample
from seedfactory.validators.kinds import infer_kinds

SCHEMA = {"type": "object", "properties": {"who": {"type": "string"},
                                          "at": {"type": "string", "format": "date-time"}}}


def _seeds():
    rows = [("Booking for Clara Diaz on 14 March 2027, departs 07:55.", "Clara Diaz", "2027-03-14T07:55"),
            ("Tobias Weber, 2 May 2027 at 10:15am please", "Tobias Weber", "2027-05-02T10:15"),
            ("Reminder: Sato Yuki leaves Aug 3rd 2027 at 5:20pm.", "Sato Yuki", "2027-08-03T17:20")]
    return [SeedExample(id=f"s{i}", instruction="Extract.", input=t, output={"who": w, "at": a})
            for i, (t, w, a) in enumerate(rows)]


def test_a_datetime_stated_apart_takes_the_new_date_and_time_in_their_own_forms():
    seeds = _seeds()
    kinds = infer_kinds(SCHEMA, seeds)
    assert kinds["at"].kind == "datetime"
    t = Target({"who": "Ann Lee", "at": "2028-01-09T18:05"}, "s0", 1.0, changed=["who", "at"])
    assert template_text(seeds[0], t, kinds) == "Booking for Ann Lee on 9 January 2028, departs 18:05."
    t = Target({"who": "Bo Chan", "at": "2027-11-30T09:40"}, "s2", 1.0, changed=["who", "at"])
    assert template_text(seeds[2], t, kinds) == "Reminder: Bo Chan leaves Nov 30th 2027 at 9:40am."


def test_a_name_written_surname_first_is_read_and_written_back_so():
    from seedfactory.validators.values import is_stated

    assert is_stated("Chidi Okafor", "Passenger: OKAFOR/CHIDI MR", "person")
    assert is_stated("Chidi Okafor", "Okafor, Chidi (lead)", "person")
    assert not is_stated("Chidi Okafor", "Chidi and Okafor", "person")
    seeds = _seeds() + [SeedExample(id="s3", instruction="Extract.",
                                    input="Passenger: OKAFOR/CHIDI MR\nDate: 21JUN27 23:40",
                                    output={"who": "Chidi Okafor", "at": "2027-06-21T23:40"})]
    kinds = infer_kinds(SCHEMA, seeds)
    assert kinds["who"].kind == "person"
    t = Target({"who": "Ann Lee", "at": "2027-06-21T23:40"}, "s3", 1.0, changed=["who"])
    assert template_text(seeds[3], t, kinds) == "Passenger: LEE/ANN MR\nDate: 21JUN27 23:40"


MEET = {"type": "object", "properties": {"people": {"type": "array", "items": {"type": "string"}},
                                        "decisions": {"type": "integer"}}}


def _meetings():
    rows = [("Present: Ana Ruiz, Tom Berg, Li Wei. Two decisions taken.", ["Ana Ruiz", "Tom Berg", "Li Wei"], 2),
            ("Sync with Priya Nair and Omar Khalil - 1 decision.", ["Priya Nair", "Omar Khalil"], 1),
            ("Attendees: Jan Novak; Eva Holm; Marc Petit\nDecisions: 4", ["Jan Novak", "Eva Holm", "Marc Petit"], 4),
            ("Kofi Mensah, Julia Frey. agreed on 3 things.", ["Kofi Mensah", "Julia Frey"], 3)]
    return [SeedExample(id=f"m{i}", instruction="Extract.", input=t, output={"people": p, "decisions": d})
            for i, (t, p, d) in enumerate(rows)]


def test_a_list_is_drawn_and_written_item_by_item():
    from seedfactory.generators.targets import draw_targets
    from seedfactory.validators.quality import grounding_failures
    from seedfactory.validators.values import is_stated

    seeds = _meetings()
    kinds = infer_kinds(MEET, seeds)
    assert kinds["people"].info["items"].kind == "person"
    t = Target({"people": ["Bo Chan", "Ida Berg", "Al Roy"], "decisions": 3}, "m0", 1.0,
               changed=["people", "decisions"])
    assert template_text(seeds[0], t, kinds) == "Present: Bo Chan, Ida Berg, Al Roy. Three decisions taken."
    t = Target({"people": ["Bo Chan"], "decisions": 3}, "m0", 1.0, changed=["people", "decisions"])
    assert template_text(seeds[0], t, kinds) is None  # one name cannot fill a layout of three
    by_id = {s.id: s for s in seeds}
    drawn = draw_targets(seeds, MEET, n=8, seed=3, names={}, kinds=kinds)
    for t in drawn:
        base = by_id[t.base_id]
        assert len(t.object["people"]) == len(base.output["people"])
        assert not set(t.object["people"]) & set(base.output["people"])
        text = template_text(base, t, kinds)
        if text is not None:
            assert all(is_stated(p, text) for p in t.object["people"])
            assert not any(p in text for p in base.output["people"])
    assert sum(template_text(by_id[t.base_id], t, kinds) is not None for t in drawn) >= 4
    row = seeds[0].model_copy(update={"output": {"people": ["Ana Ruiz", "Zed"], "decisions": 2}})
    assert grounding_failures(row, ["people"], kinds) == ["people"]


def test_an_objects_fields_get_kinds_and_are_drawn_and_written_one_by_one():
    from seedfactory.generators.targets import draw_targets

    schema = {"type": "object", "properties": {"rooms": {"type": "integer"}, "address": {
        "type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}}}
    rows = [("2 rooms, Via Roma 7, Torino", 2, "Via Roma 7", "Torino"),
            ("Kerkstraat 88 in Amsterdam: 5 rooms", 5, "Kerkstraat 88", "Amsterdam"),
            ("3 rooms at Calle Mayor 21, Madrid", 3, "Calle Mayor 21", "Madrid"),
            ("Studio, 1 room, Gran Via 101, Barcelona", 1, "Gran Via 101", "Barcelona")]
    seeds = [SeedExample(id=f"h{i}", instruction="x", input=t, output={"rooms": n, "address": {"street": s, "city": c}})
             for i, (t, n, s, c) in enumerate(rows)]
    kinds = infer_kinds(schema, seeds)
    assert {k: fk.kind for k, fk in kinds["address"].info["fields"].items()} == {"street": "place", "city": "place"}
    by_id = {s.id: s for s in seeds}
    texts = 0
    for t in draw_targets(seeds, schema, n=8, seed=2, names={}, kinds=kinds):
        base = by_id[t.base_id]
        assert t.object["address"] != base.output["address"] and "," not in t.object["address"]["street"]
        text = template_text(base, t, kinds)
        if text is not None:
            texts += 1
            assert t.object["address"]["street"] in text and t.object["address"]["city"] in text
            assert base.output["address"]["street"] not in text
    assert texts >= 4
