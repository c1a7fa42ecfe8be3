"""Values in text: numbers and dates in their written forms are found, and written back alike."""

from datetime import date

import pytest

from seedfactory.validators.values import (
    DateFormat,
    NumberFormat,
    dates_in,
    is_stated,
    numbers_in,
    render,
)


@pytest.mark.parametrize("text, value", [
    ("Gesamtbetrag: 1.487,50 EUR", 1487.5),
    ("Total CHF 1'037.76", 1037.76),
    ("Att betala 1 550,00 SEK", 1550.0),
    ("Amount due: $4,500.00 (USD)", 4500.0),
    ("Total ¥2,200", 2200.0),
    ("2 kaffe + kanelbulle, 98 kr", 98.0),
    ("TOTAL USD 14.48", 14.48),
])
def test_numbers_in_their_written_forms(text, value):
    assert any(m.value == pytest.approx(value) for m in numbers_in(text))
    assert is_stated(value, text)


def test_number_readings_and_what_is_not_a_number_of_the_text():
    readings = {m.value for m in numbers_in("a 1.250 b")}
    assert readings == {1250.0, 1.25}  # German thousands or a decimal point: both
    assert {m.value for m in numbers_in("x 127.701.222")} == {127701222.0}
    assert not is_stated(30, "Date: 30/08/2024 total 12.00")  # the 30 of a date is not the number 30
    assert is_stated(30, "Date: 30/08/2024 GST $30.00")
    assert not is_stated(14.49, "TOTAL 14.48")


@pytest.mark.parametrize("text, day", [
    ("anbei unsere Rechnung vom 14.03.2024.", date(2024, 3, 14)),
    ("RCPT 004471   07-NOV-2023 14:22", date(2023, 11, 7)),
    ("Datum: 2. Februar 2024", date(2024, 2, 2)),
    ("Date: January 8th, 2024", date(2024, 1, 8)),
    ("Sent 19 Feb 2024", date(2024, 2, 19)),
    ("2024/04/18 16:05", date(2024, 4, 18)),
    ("Issued: 2024-02-29", date(2024, 2, 29)),
    ("12/10/23 18:47", date(2023, 10, 12)),
])
def test_dates_in_their_written_forms(text, day):
    assert day in {m.value for m in dates_in(text)}
    assert is_stated(day.isoformat(), text)


def test_ambiguous_dates_give_both_readings_and_wrong_days_are_not_stated():
    assert {m.value for m in dates_in("le 09/05/2024")} == {date(2024, 5, 9), date(2024, 9, 5)}
    assert not is_stated("2024-05-10", "le 09/05/2024")
    assert not is_stated("2024-12-01", "time 12:00 on 1 March 2024")  # a month number in a time is no date


def test_render_writes_a_value_the_way_the_text_wrote_one():
    assert render(12345.5, NumberFormat("'", ".", 2)) == "12'345.50"
    assert render(1550, NumberFormat(" ", ",", 2)) == "1 550,00"
    assert render(98, NumberFormat(None, None, 0)) == "98"
    [german] = dates_in("Datum: 2. Februar 2024")
    assert render(date(2025, 1, 9), german.fmt) == "9. Januar 2025"
    [upper] = dates_in("07-NOV-2023")
    assert render(date(2025, 1, 9), upper.fmt) == "09-JAN-2025"
    assert render(date(2025, 3, 4), DateFormat("{mon} {d}{sfx}, {y}", False, suffix=True)) == "March 4th, 2025"
    for text in ["Rechnung vom 14.03.2024", "Date: May 2, 2024", "RCPT 07-NOV-2023", "Sent 19 Feb 2024"]:
        m = dates_in(text)[0]
        assert render(m.value, m.fmt) == m.text  # a date written back in its own format is itself


def test_strings_are_stated_as_whole_words_ignoring_case_and_spacing():
    assert is_stated("Krämer Druck GmbH", "Mit freundlichen Grüßen\nKrämer   Druck GmbH")
    assert is_stated("THE COPPER KETTLE CAFE", "the copper kettle cafe\n12 High St")
    assert not is_stated("Druck", "Drucker GmbH")
    assert not is_stated("Acme", "nothing here")


def test_ordinal_suffixes_of_every_kind_of_day():
    fmt = DateFormat("{mon} {d}{sfx}, {y}", False, suffix=True)
    days = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 20: "20th", 21: "21st",
            22: "22nd", 23: "23rd", 30: "30th", 31: "31st"}
    assert {d: render(date(2025, 1, d), fmt) for d in days} == {d: f"January {s}, 2025" for d, s in days.items()}


def test_both_readings_of_a_slash_date_write_it_back_as_it_was_written():
    for text in ["le 9/05/2024", "le 09/5/2024", "on 03/7/24"]:
        readings = dates_in(text)
        assert len(readings) == 2, text
        assert all(render(m.value, m.fmt) == m.text for m in readings), text


def test_every_date_of_a_text_is_found_not_only_the_first():
    assert {m.value for m in dates_in("from 13/02/2024 to 14/03/2024")} == {date(2024, 2, 13), date(2024, 3, 14)}
    assert {m.value for m in dates_in("2024-02-13 and 2024-03-14")} == {date(2024, 2, 13), date(2024, 3, 14)}


def test_every_date_written_back_in_its_own_format_is_itself():
    for text in ["Sent 19 Feb. 2024", "Issued: 2024-2-5", "Issued: 2024-02-05", "am 5.3.2024", "Sent 19 Feb 2024"]:
        readings = dates_in(text)
        assert readings and all(m.text in text and render(m.value, m.fmt) == m.text for m in readings), text
    assert [m.text for m in dates_in("Issued: 2024-02-29.")] == ["2024-02-29"]  # the whole date, nothing else


def test_zero_and_negative_numbers_are_written_with_a_sign_only_below_zero():
    fmt = NumberFormat(",", ".", 2)
    assert render(0, fmt) == "0.00" and render(-1234.5, fmt) == "-1,234.50" and render(0.0, fmt) == "0.00"


def test_a_found_format_is_frozen():
    [m] = [m for m in numbers_in("Total 1,234.50") if m.value == 1234.5]
    with pytest.raises(AttributeError):
        m.fmt.decimals = 0


def test_numbers_are_grouped_in_threes_from_the_right_and_signed_below_zero():
    assert render(123456, NumberFormat(",", ".", 0)) == "123,456"
    assert render(1234567.5, NumberFormat(".", ",", 2)) == "1.234.567,50"
    assert render(-0.5, NumberFormat(",", ".", 2)) == "-0.50"
    assert render(-123456, NumberFormat(" ", None, 0)) == "-123 456"


def test_a_grouping_read_as_a_decimal_keeps_its_three_places():
    [grouped, decimal] = numbers_in("a 1.250 b")
    assert (grouped.value, decimal.value) == (1250.0, 1.25)
    assert render(grouped.value, grouped.fmt) == "1.250" and render(decimal.value, decimal.fmt) == "1.250"


def test_a_date_format_pads_both_by_default_and_a_found_one_is_frozen():
    assert render(date(2025, 1, 9), DateFormat("{y}-{m}-{d}")) == "2025-01-09"
    [m] = dates_in("Issued: 2024-02-29")
    with pytest.raises(AttributeError):
        m.fmt.day_pad = False


def test_a_number_is_stated_within_half_a_cent_and_not_inside_a_date():
    assert is_stated(14.484, "TOTAL 14.48") and not is_stated(14.486, "TOTAL 14.48")
    assert not is_stated(0, "a fee of 0.005")  # exactly half a cent off (0.005 - 0 is exact in floats)
    assert not is_stated(2024, "Date: 30/08/2024") and is_stated(2024, "Date: 30/08/2024, ref 2024")


def test_scanning_goes_on_past_a_token_that_is_no_number_and_a_date_that_does_not_exist():
    assert 42.0 in {m.value for m in numbers_in("1.250.5 and 42")}
    assert {m.value for m in dates_in("31 Feb 2024 and 3 Mar 2024")} == {date(2024, 3, 3)}
    assert render(1234567890, NumberFormat(",", ".", 0)) == "1,234,567,890"


def test_strings_under_three_characters_are_stated_anywhere_longer_ones_as_words():
    assert is_stated("ab", "xaby") and not is_stated("abc", "xabcy") and is_stated("abc", "x abc y")


def test_a_mention_is_frozen():
    [m] = dates_in("Issued: 2024-02-29")
    with pytest.raises(AttributeError):
        m.value = date(2024, 3, 1)
