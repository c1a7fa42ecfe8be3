"""Values of every field kind in their common written forms (validators/values.py and its siblings):
each form is read as the value it states, what is not a value is not read, forms() round-trips,
nulls whose value the text states are named, and the calibration lists the seeds it could not read."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest

from seedfactory.schemas import SeedExample
from seedfactory.validators.quality import calibrate, data_quality, quality_filters
from seedfactory.validators.values import (
    dates_in,
    datetimes_in,
    durations_in,
    emails_in,
    forms,
    is_stated,
    mentions,
    money_in,
    null_but_in_text,
    percentages_in,
    phones_in,
    render,
    times_in,
    urls_in,
    values_of_kind,
)
from tests.factories import make_example


@dataclass
class FK:  # the shape of validators/kinds.py FieldKind, built here so these tests stand alone
    field: str
    kind: str
    nullable: bool = True
    evidence: str = ""
    info: dict = field(default_factory=dict)


def readings(found):
    return {m.value for m in found}


@pytest.mark.parametrize("text, values", [
    ("at 14:30", {time(14, 30)}),
    ("14:30:15 sharp", {time(14, 30, 15)}),
    ("see you 2:30pm", {time(14, 30)}),
    ("see you 2:30 p.m.", {time(14, 30)}),
    ("2:30 PM please", {time(14, 30)}),
    ("come at 2 pm", {time(14)}),
    ("open 9am", {time(9)}),
    ("rendez-vous à 14h30", {time(14, 30)}),
    ("dès 14h", {time(14)}),
    ("um 14 Uhr", {time(14)}),
    ("at noon", {time(12)}),
    ("by midnight", {time(0)}),
    ("half past two", {time(2, 30), time(14, 30)}),
    ("half past two in the afternoon", {time(14, 30)}),
    ("quarter past eight in the evening", {time(20, 15)}),
    ("quarter to five", {time(4, 45), time(16, 45)}),
    ("ten past nine in the morning", {time(9, 10)}),
    ("three o'clock", {time(3), time(15)}),
    ("at 18.10", {time(18, 10)}),
    ("um 18.10", {time(18, 10)}),
    ("à 18.10", {time(18, 10)}),
    ("18.10 Uhr", {time(18, 10)}),
    ("1430 hrs", {time(14, 30)}),
    ("at 2:30 in the afternoon", {time(14, 30)}),
    ("02:30", {time(2, 30)}),
    ("between 9:00 and 17:30", {time(9), time(17, 30)}),  # a 24-hour text: 9:00 is not 21:00
])
def test_times_in_their_written_forms(text, values):
    assert readings(times_in(text)) == values


@pytest.mark.parametrize("text", ["price 18.10 EUR", "at 18.10 EUR", "18.10", "total 12.00", "on 14.03.2024",
                                  "VAT 18.10%", "ratio 3:2"])
def test_what_is_not_a_time(text):
    assert times_in(text) == []


def test_time_grounding_by_kind_and_by_shape():
    assert is_stated("14:30", "Can we meet at half past two in the afternoon?", "time")
    assert is_stated("14:30", "Can we meet at 2:30pm?")  # an ISO time is matched as a time by its shape
    assert not is_stated("14:30", "Can we meet at 2:30am?", "time")
    assert not is_stated("14:30", "at 14:45", "time")
    assert not is_stated(30, "at 14:30")  # the minutes of a clock time are no number
    assert [m.text for m in mentions("09:00", "from 9am to 5pm", "time")] == ["9am"]


@pytest.mark.parametrize("text, day", [
    ("March 3rd 2027", date(2027, 3, 3)),
    ("3rd March 2027", date(2027, 3, 3)),
    ("on the 8th of October 2027", date(2027, 10, 8)),
    ("Tuesday, 3 March 2027", date(2027, 3, 3)),
    ("Wed, March 3rd, 2027", date(2027, 3, 3)),
    ("due 3/3/27", date(2027, 3, 3)),
    ("3 de marzo de 2027", date(2027, 3, 3)),
    ("Aug 16, see you in 2027", date(2027, 8, 16)),
    ("16 August (2027 season)", date(2027, 8, 16)),
    ("the 8th of October, in 2027", date(2027, 10, 8)),
    ("on the 8th: 2027-10-01 was booked", date(2027, 10, 8)),
])
def test_dates_in_more_forms(text, day):
    assert day in readings(dates_in(text))


def test_yearless_dates_take_the_text_year_else_the_callers():
    assert readings(dates_in("Aug 16")) == set()
    assert readings(dates_in("Aug 16", year=2027)) == {date(2027, 8, 16)}
    assert readings(dates_in("Aug 16, booked 2026", year=2027)) == {date(2026, 8, 16)}
    assert is_stated("2027-08-16", "See you Aug 16!")  # no year in the text: any year's Aug 16
    assert is_stated("2027-08-16", "See you Aug 16!", "date")
    assert not is_stated("2027-08-16", "See you Aug 16, 2026!", "date")  # the text's year contradicts it
    assert not is_stated("2027-08-17", "See you Aug 16!", "date")
    assert not is_stated("2027-12-01", "at 12:00 on 1 March", "date")  # "12:00" holds no month
    assert readings(dates_in("Aug 16 14:30", year=2027)) == {date(2027, 8, 16)}  # "14" is no year
    assert dates_in("1 set of 3 plates, 2027") == []  # an Italian abbreviation that is an English word


def test_dates_written_back_in_their_own_layout():
    for text in ["March 3rd 2027", "Tuesday, 3 March 2027", "the 8th of October 2027", "Aug 16"]:
        m = dates_in(text, year=2027)[0]
        assert render(m.value, m.fmt) in text or text.startswith("Tuesday")  # 3 March 2027 is a Wednesday
    [m] = dates_in("Tuesday, 3 March 2027")
    assert render(date(2028, 1, 4), m.fmt) == "Tuesday, 4 January 2028"  # the weekday follows the date


@pytest.mark.parametrize("text, value", [
    ("2027-03-03T14:30", datetime(2027, 3, 3, 14, 30)),
    ("at 2027-03-03 14:30:00Z", datetime(2027, 3, 3, 14, 30)),
    ("March 3rd at 2:30pm, 2027", datetime(2027, 3, 3, 14, 30)),
    ("14:30 on 3 March 2027", datetime(2027, 3, 3, 14, 30)),
])
def test_datetimes(text, value):
    assert value in readings(datetimes_in(text))
    assert is_stated(value.isoformat(timespec="minutes"), text, "datetime")


def test_datetime_stated_in_two_places_and_by_shape():
    assert is_stated("2027-03-03T14:30:00", "On 3 March 2027 we open. Doors at 2:30pm.")
    assert not is_stated("2027-03-03T15:30:00", "On 3 March 2027 we open. Doors at 2:30pm.")


def test_contacts():
    assert readings(emails_in("write to Ana.Ruiz@Example.org.")) == {"ana.ruiz@example.org"}
    assert is_stated("ana.ruiz@example.org", "Ana.Ruiz@Example.ORG", "email")
    assert readings(urls_in("see https://www.Example.org/help/.")) == {"example.org/help"}
    assert is_stated("http://example.org/help", "see www.example.org/help", "url")
    pytest.importorskip("phonenumbers")
    assert readings(phones_in("call +44 20 7946 0321")) == {"+442079460321"}
    assert readings(phones_in("call 020 7946 0321", ["GB"])) == {"+442079460321"}
    assert phones_in("call 020 7946 0321") == []  # a national number needs its region
    assert is_stated("+44 20 7946 0321", "ring 020 7946 0321 after six", "phone")  # the value's own region
    assert is_stated("+1 415 555 0132", "(415) 555-0132", "phone")
    assert not is_stated("+44 20 7946 0322", "ring 020 7946 0321", "phone")
    # a number no region reads is matched by its digits in order
    assert is_stated("0151 2345678", "Tel. 0151/2345678", "phone")
    assert not is_stated("555-0132", "call 555 0133", "phone")


def test_money_percentages_counts():
    assert readings(money_in("Total: EUR 1.487,50, 3 items")) == {1487.5}
    assert readings(money_in("price 12.50€")) == {12.5}
    assert money_in("room 12, 3 items") == []
    assert readings(percentages_in("VAT 19 % and 12 percent off")) == {19.0, 12.0}
    assert is_stated(0.12, "12% off", "percentage") and is_stated(12, "12 percent", "percentage")
    assert not is_stated(0.12, "0.5% off", "percentage")
    assert is_stated(-12.5, "debit EUR 12.50", "money")
    assert is_stated(2, "two adults", "count") and is_stated(12, "a dozen eggs", "count")
    assert is_stated(1, "book a table", "count") and not is_stated(2, "book a table", "count")
    assert is_stated("2 kg", "flour 2 kg", "quantity") and not is_stated("2 kg", "flour 2 l", "quantity")


@pytest.mark.parametrize("text, minutes", [
    ("30 minutes", 30), ("takes 1h30.", 90), ("an hour and a half", 90), ("2 weeks", 14 * 24 * 60),
    ("PT1H30M", 90), ("half an hour", 30), ("1 hour 30 minutes", 90), ("1h 30m", 90), ("90 mins", 90),
    ("1.5 hours", 90), ("twenty minutes", 20),
])
def test_durations(text, minutes):
    assert readings(durations_in(text)) == {timedelta(minutes=minutes)}
    assert is_stated(f"PT{minutes}M", text, "duration") and is_stated(minutes, text, "duration")


def test_duration_negatives():
    assert durations_in("I am here at 5 m from the door") == []
    assert is_stated(2, "2 weeks", "duration")  # a number in the duration's own unit
    assert not is_stated(3, "2 weeks", "duration")


@pytest.mark.parametrize("value, kind, some", [
    ("14:30", "time", ["14:30", "2:30pm", "2:30 PM", "half past two in the afternoon", "14h30"]),
    ("12:00", "time", ["noon", "12pm"]),
    ("2027-03-03", "date", ["March 3rd 2027", "3 March 2027", "03/03/2027", "the 3rd of March 2027"]),
    ("2027-08-16", "date", ["16/08/2027", "August 16th 2027"]),
    ("2027-03-03T14:30", "datetime", ["March 3rd 2027 at 2:30pm", "2027-03-03T14:30"]),
    ("PT1H30M", "duration", ["90 minutes", "1h30", "an hour and a half"]),
    ("ana@example.org", "email", ["ana@example.org"]),
    ("https://example.org/help", "url", ["www.example.org/help"]),
    (0.12, "percentage", ["12%", "12 percent"]),
    (1234.5, "money", ["1,234.50", "1.234,50"]),
    (3, "count", ["3", "three"]),
])
def test_forms_are_several_and_each_reads_back(value, kind, some):
    got = forms(value, kind)
    assert set(some) <= set(got) and len(got) >= len(some)
    assert all(is_stated(value, f, kind) for f in got)


def test_forms_of_ambiguous_dates_and_phones():
    assert not any("/" in f for f in forms("2027-03-04", "date"))  # 03/04 reads two ways: left out
    pytest.importorskip("phonenumbers")
    got = forms("+44 20 7946 0321", "phone")
    assert {"+44 20 7946 0321", "020 7946 0321"} <= set(got)
    assert all(is_stated("+44 20 7946 0321", f, "phone") for f in got)


KINDS = {"email": FK("email", "email"), "when": FK("when", "date"), "due": FK("due", "date"),
         "at": FK("at", "time"), "name": FK("name", "person")}


def test_null_but_in_text():
    text = "From ana@example.org: can I come on 3 March 2027?"
    found = null_but_in_text({"email": None, "when": "2027-03-03", "due": None, "at": None, "name": None}, text, KINDS)
    # the e-mail is stated and null; the one date is the value of `when`; no time; names are not findable
    assert found == ["email=null but the input states email 'ana@example.org'"]
    assert null_but_in_text({"email": "ana@example.org"}, text, KINDS) == []
    two = "write to a@example.org or b@example.org"
    assert null_but_in_text({"email": None}, two, KINDS) == []  # two values: which one is not said
    assert null_but_in_text({"at": None}, "at 9am", {"at": "time"}) == ["at=null but the input states time '9am'"]
    assert values_of_kind("at 9am or noon", "time") and pytest.raises(ValueError, values_of_kind, "x", "person")


def seed(i, text, out):
    return SeedExample(id=f"s{i}", instruction="Extract.", input=text, output=out)


SCHEMA = {"properties": {"at": {"type": "string"}, "email": {"type": ["string", "null"]}}}


def test_calibration_reads_by_kind_lists_the_unread_seeds_and_checks_nulls():
    seeds = [seed(0, "Meet at 2:30pm, ana@example.org", {"at": "14:30", "email": "ana@example.org"}),
             seed(1, "Meet at half past nine in the morning", {"at": "09:30", "email": None}),
             seed(2, "Meet at teatime, bo@example.org", {"at": "17:00", "email": "bo@example.org"})]
    kinds = {"at": FK("at", "time"), "email": FK("email", "email")}
    checks = calibrate(seeds, SCHEMA, 0.6, kinds)["checks"]
    assert checks["ungrounded"]["fields"]["at"] == {"seed_pass_rate": 0.667, "applied": True, "unread": ["s2"],
                                                    "kind": "time"}
    assert checks["value_in_text_but_null"] == {"failing": [], "kinds": {"at": "time", "email": "email"},
                                                "seed_pass_rate": 1.0, "applied": True}
    filters = quality_filters(calibrate(seeds, SCHEMA, 0.6, kinds))
    row = make_example("r", "Extract.", input="Meet at 4pm, cy@example.org", output={"at": "16:00", "email": None})
    verdicts = [f(row) for f in filters]
    assert (False, "value_in_text_but_null", "email=null but the input states email 'cy@example.org'") in verdicts
    wrong = make_example("w", "Extract.", input="Meet at 4am", output={"at": "16:00", "email": None})
    assert any(v is not True and v[1] == "ungrounded" for v in (f(wrong) for f in filters))
    block = data_quality([row, wrong], {}, calibrate(seeds, SCHEMA, 0.6, kinds), SCHEMA)
    assert block["null_but_in_text"] == 1 and block["grounded_rows"] == 1
    # a seed set whose own nulls are in their texts turns the check off
    odd = seeds + [seed(3, "Meet at 9am, dee@example.org", {"at": "09:00", "email": None})]
    assert calibrate(odd, SCHEMA, 0.9, kinds)["checks"]["value_in_text_but_null"]["applied"] is False
    # without kinds, "14:30" is still a time by its shape, and no null check is made
    plain = calibrate(seeds, SCHEMA, 0.6)["checks"]
    assert plain["ungrounded"]["fields"]["at"]["unread"] == ["s2"] and "value_in_text_but_null" not in plain


def test_render_writes_times_datetimes_and_durations_the_way_the_text_did():
    [m] = times_in("see you 2:30 p.m.")
    assert render(time(9, 5), m.fmt) == "9:05 a.m." and render("21:05", m.fmt) == "9:05 p.m."
    [m] = times_in("dès 14h")
    assert render(time(9, 30), m.fmt) == "09h30"
    [m] = datetimes_in("March 3rd 2027 at 2:30pm")
    assert render(datetime(2028, 1, 2, 16, 45), m.fmt) == "January 2nd 2028 at 4:45pm"
    [m] = durations_in("takes 1h30")
    assert render("PT2H15M", m.fmt) == "2h15"
    assert {d.value for d in dates_in("Meeting 2027-04-18T09:45")} == {date(2027, 4, 18)}  # "T" ends a date


# Forms met in the bundled domain seed sets' texts (read there first, then written here in short).
@pytest.mark.parametrize("value, text, kind", [
    ("2027-04-11", "20270411 DD WATER PLC REF NWW00918273 GBP (41.30)", "date"),
    ("2024-03-15", "No. 2207 / 2024年3月15日 / 合計 ¥1,550", "date"),
    ("2027-07-15", "15.07.2027,16.07.2027,Beitrag,-55,08", "date"),
    ("08:00", "could I do the 21st around 8 in the morning, no hurry", "time"),
    ("08:30", "at eight thirty in the morning if you can", "time"),
    ("10:00", "he prefers 10 in the morning", "time"),
    ("16:05", "Thursday at 5 past 4 in the afternoon.", "time"),
    ("10:45", "at a quarter to eleven in the morning.", "time"),
    (26000, "Salary: 26k-28k GBP", "money"),
    (55000, "Developer / £45-55K", "money"),
    (-35, "Posted,Payee,Memo,Debit,Credit\n10/22/2027,Union,Fee,35.00,,USD", "money"),
    (3, "Take ONE capsule THREE times a day", "count"),
    (3, "5 ml every 8 hours for 5 days", "count"),
    (2, "1 capsule | every 12 h | 21", "count"),
    (3, "1 Tablette dreimal täglich", "count"),
    (3, "1 compressa tre volte al giorno", "count"),
    (1, "take one tablet at bedtime, once daily", "count"),
    (0.5, "Take HALF a tablet once a day", "quantity"),
    (0.5, "Porridge: ½ cup oats, 1 cup milk", "quantity"),
    (1.5, "1½ cups flour", "quantity"),
    (15, "takes a quarter of an hour start to finish", "duration"),
    (60, "Preparación: 1 hora.", "duration"),
    (40, "Prep forty minutes. Oven 170°C, 50 min.", "duration"),
    (35, "Preparazione: 35 minuti", "duration"),
    (25, "Portions: 6 / Prep: 25' / 400 g macaroni", "duration"),
    (5, "dreimal täglich, 5 Tage lang.", "duration"),
    (8, "2 fois par jour pendant 8 jours", "duration"),
    (7, "once daily, for a week, then we'll review", "duration"),
    (3, "Take half a tablet twice a day\nThree day course", "duration"),
    ("pennantandfinch.co.uk", "via the company site pennantandfinch.co.uk", "url"),
    ("jadeleaftea.tw", "weiling.chen@jadeleaftea.tw / jadeleaftea.tw", "url"),
])
def test_forms_from_the_domain_seed_sets(value, text, kind):
    assert is_stated(value, text, kind)


def test_thousands_written_with_k_are_written_back_alike():
    [bare] = mentions(45000, "Dev / £45-55K", "money")
    [high] = mentions(55000, "Dev / £45-55K", "money")
    assert (render(50000, bare.fmt), render(60500, high.fmt)) == ("50", "60.5K")  # the range keeps its one K
    assert "26k" in forms(26000, "money")


def test_what_the_wider_forms_do_not_read():
    assert urls_in("see notes.md and main.py, e.g. this") == []
    assert not is_stated(4, "Take half a tablet twice a day\nThree day course", "duration")  # not "a day" + 3 days
    assert not is_stated(4, "1 Tablette dreimal täglich", "count")
    assert not is_stated(27000, "Salary: 26k-28k GBP", "money")
    assert not is_stated("16:04", "at 5 past 4 in the afternoon", "time")


def test_a_second_value_of_a_single_kind_contradicts_the_output():
    from seedfactory.validators.values import contradicting

    kinds = {"day": "date", "at": "time", "who": "person"}
    out = {"day": "2027-05-01", "at": "10:40", "who": "Sierra Obrien"}
    text = "Sierra Obrien, prior to 01/05/2027. Preferred date: 10/17/2027. Preferred time: 10:40"
    assert contradicting(out, text, kinds) == {"day": "10/17/2027"}
    assert contradicting(out, "Sierra Obrien on 1 May 2027 at 10:40", kinds) == {}
    assert contradicting(out | {"at": None}, "Sierra Obrien on 1 May 2027, call 9:15 or 10:40", kinds) == {}


def test_a_teacher_text_with_a_second_date_leaves_ungrounded_a_template_keeps_the_seeds():
    from factories import make_example

    from seedfactory.schemas import SeedExample
    from seedfactory.validators.quality import calibrate, quality_filters

    kinds = {"day": "date", "who": "person"}
    seeds = [SeedExample(id=f"s{i}", instruction="Extract.", input=f"{n} asks for {i + 1} May 2027.",
                         output={"day": f"2027-05-0{i + 1}", "who": n})
             for i, n in enumerate(["Ana Ruiz", "Bo Lind", "Cy Moss", "Di Park"])]
    cal = calibrate(seeds, {"type": "object", "properties": {"day": {"type": "string"}, "who": {"type": "string"}}},
                    0.9, kinds)
    assert cal["checks"]["contradicted"]["fields"]["day"] == {"seed_pass_rate": 1.0, "applied": True}
    text = "Ana Ruiz asks for 1 May 2027, or else 3 June 2027."
    checks = quality_filters(cal, kinds)
    verdicts = [[c(make_example(f"r{k}", input=text, output={"day": "2027-05-01", "who": "Ana Ruiz"}, strategy=k))
                 for c in checks] for k in ("output_first:teacher", "output_first:template")]
    assert (False, "ungrounded", "day='2027-05-01' but the input also states '3 June 2027'") in verdicts[0]
    assert all(v is True for v in verdicts[1])


def test_a_number_range_with_to_is_not_a_time():
    # a lab's reference range "(0 to 4.0)" once crashed the finder (minute 60) and "4 to 9" read as 08:56
    assert times_in("normal range (0 to 4.0), ref 4 to 9 mmol/L") == []
    assert {str(m.value) for m in times_in("at ten to five")} == {"04:50:00", "16:50:00"}
    assert {str(m.value) for m in times_in("20 minutes to 6")} == {"05:40:00", "17:40:00"}
    assert {str(m.value) for m in times_in("20 past 3")} == {"03:20:00", "15:20:00"}
