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
    seeds = _seeds() + [SeedExample(id="s3", instruction="Extract.", input="Passenger: OKAFOR/CHIDI MR\nDate: 21JUN27 23:40",
                                    output={"who": "Chidi Okafor", "at": "2027-06-21T23:40"})]
    kinds = infer_kinds(SCHEMA, seeds)
    assert kinds["who"].kind == "person"
    t = Target({"who": "Ann Lee", "at": "2027-06-21T23:40"}, "s3", 1.0, changed=["who"])
    assert template_text(seeds[3], t, kinds) == "Passenger: LEE/ANN MR\nDate: 21JUN27 23:40"
