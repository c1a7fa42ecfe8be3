"""Values matched as their field kind: where a value of a kind is stated, every value of a kind a
text states, the common written forms of a value, and nulls whose value the text plainly states.

    mentions_of_kind("14:30", "see you at 2:30pm", "time")     # [Mention("2:30pm", time(14, 30))]
    values_of_kind("call +44 20 7946 0321", "phone")           # [Mention(value="+442079460321")]
    forms("14:30", "time")        # ["14:30", "2:30pm", "2:30 PM", "2:30 p.m.", "half past two in the afternoon", ...]
    null_but_in_text({"email": None}, "write to a@b.org", {"email": FieldKind(..., kind="email", ...)})

Kinds are the names of validators/kinds.py KINDS; a FieldKind (or any object with `.kind` and
`.info`) or a plain kind string is accepted where a field's kind is asked for. Reached through
values.py (`mentions(value, text, kind)`, `is_stated`, `forms`, ...); run the examples above with
`python -c "from seedfactory.validators.values import forms; print(forms('14:30', 'time'))"`.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from seedfactory.validators.value_contacts import e164, emails_in, norm_url, phone_forms, phones_in, region_of, urls_in
from seedfactory.validators.value_measures import (
    UNIT_SECONDS,
    DurationFormat,
    KiloFormat,
    _outside,
    counts_in,
    durations_in,
    money_in,
    parse_duration,
    percentages_in,
    quantities_in,
)
from seedfactory.validators.value_times import (
    WORD_NUMBERS,
    DateTimeFormat,
    TimeFormat,
    datetimes_in,
    parse_datetime,
    parse_time,
    render_time,
    times_in,
)
from seedfactory.validators.values import DateFormat, Mention, NumberFormat, dates_in, numbers_in, render

# kinds whose values a text states in a form a finder reads: a null among them can be checked
FINDABLE = ("email", "phone", "url", "date", "time", "datetime", "money", "percentage")
_PHONE_LIKE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s()./-]{5,}\d(?!\w)")
_QUANTITY = re.compile(r"\s?([^\W\d_][\w°µ/.]*|%|°\w?)")


def _kind(fk) -> tuple[str, dict]:
    return (fk, {}) if isinstance(fk, str) else (fk.kind, fk.info or {})


def _parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            found = {m.value for m in dates_in(value)}
            return found.pop() if len(found) == 1 else None
    return None


def _number(value) -> float | None:
    """A number value, or the one number a string value states ("EUR 12.50", "12%")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    found = {m.value for m in numbers_in(str(value))}
    return found.pop() if len(found) == 1 else None


def mentions_of_kind(value, text: str, kind: str, regions: list[str] | None = None) -> list[Mention] | None:
    """Where `value`, read as a value of `kind`, is stated in `text`; None for kinds matched as words
    (names, codes, spans, labels), which values.mentions handles."""
    if kind == "date":
        target = _parse_date(value)
        return [m for m in dates_in(text, target.year) if m.value == target] if target else []
    if kind == "time":
        target = parse_time(value)
        return [m for m in times_in(text) if m.value == target] if target else []
    if kind == "datetime":
        target = parse_datetime(value)
        if target is None:
            return []
        joint = [m for m in datetimes_in(text, target.year) if m.value == target]
        if joint:
            return joint
        # a date and a time stated apart ("on 3 March ... at 2:30pm") state the datetime too
        day = [m for m in dates_in(text, target.year) if m.value == target.date()]
        hour = [m for m in times_in(text) if m.value == target.time()]
        return day + hour if day and hour else []
    if kind == "duration":
        target = parse_duration(value)
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        # a number is a count of minutes, or of any whole unit a text may state it in ("7" and "a week")
        units = [UNIT_SECONDS[u] for u in ("minute", "hour", "day", "week")] if number is not None else []
        return [m for m in durations_in(text) if m.value == target
                or any(m.value.total_seconds() == number * u for u in units)]
    if kind in ("money", "number", "quantity", "count", "percentage"):
        target = _number(value)
        if target is None:
            return []
        if kind == "money":  # a signed amount is often written unsigned ("debit 12.50")
            target = abs(target)
        if kind == "count":
            pool = counts_in(text, articles=target == 1)
        elif kind == "quantity":
            pool = quantities_in(text)
        elif kind == "percentage":
            marked = percentages_in(text)
            pool = [m for m in marked if abs(target) <= 1 and abs(m.value / 100 - target) < 1e-9] or marked
        else:
            pool = _outside(text)
        found = [m for m in pool if abs(m.value - target) < 0.005 or kind == "percentage" and
                 abs(m.value / 100 - target) < 1e-9]
        unit = re.match(r"\s*[-+]?[\d.,' ]*\d\s?(\S+)", value) if isinstance(value, str) else None
        if kind == "quantity" and unit:  # "2 kg": the number with its unit
            after = unit.group(1).casefold()
            found = [m for m in found if text[m.end:m.end + 12].lstrip().casefold().startswith(after)]
        return found
    if kind == "email":
        return [m for m in emails_in(text) if m.value == str(value).strip().casefold()]
    if kind == "url":
        return [m for m in urls_in(text) if m.value == norm_url(str(value))]
    if kind == "phone":
        own = region_of(str(value))
        regions = list(dict.fromkeys(([own] if own else []) + list(regions or [])))
        target = e164(str(value), regions)
        found = [m for m in phones_in(text, regions) if m.value == target] if target else []
        digits = re.sub(r"\D", "", str(value))
        if found or len(digits) < 7:
            return found
        # a number no region reads ("555-0132" with no country): the same digits in the same order
        return [Mention(m.start(), m.end(), m.group(0), str(value), None) for m in _PHONE_LIKE.finditer(text)
                if re.sub(r"\D", "", m.group(0)) == digits]
    return None


def values_of_kind(text: str, kind: str, regions: list[str] | None = None, year: int | None = None) -> list[Mention]:
    """Every value of `kind` the text states (an ambiguous span gives each of its readings)."""
    finders = {"date": lambda: dates_in(text, year), "time": lambda: times_in(text),
               "datetime": lambda: datetimes_in(text, year), "duration": lambda: durations_in(text),
               "money": lambda: money_in(text), "percentage": lambda: percentages_in(text),
               "count": lambda: counts_in(text), "number": lambda: _outside(text),
               "quantity": lambda: [m for m in quantities_in(text) if _QUANTITY.match(text, m.end)],
               "email": lambda: emails_in(text), "url": lambda: urls_in(text),
               "phone": lambda: phones_in(text, regions)}
    if kind not in finders:
        raise ValueError(f"values_of_kind: no finder for kind {kind!r}; kinds: {', '.join(finders)}")
    return finders[kind]()


def null_but_in_text(output: dict, text: str, kinds: dict) -> list[str]:
    """Fields whose value is null while the text states exactly one value of the field's kind that no
    other field's value already accounts for (findable kinds only): one detail string each."""
    if not isinstance(output, dict):
        return []
    claimed = []
    for name, value in output.items():
        if value is not None and name in kinds:
            kind, info = _kind(kinds[name])
            claimed += [(m.start, m.end) for m in (mentions_of_kind(value, text, kind, info.get("regions")) or [])]
    details = []
    for name, fk in kinds.items():
        kind, info = _kind(fk)
        if kind not in FINDABLE or name not in output or output[name] is not None:
            continue
        spans = {(m.start, m.end): m.text for m in values_of_kind(text, kind, info.get("regions"))
                 if not any(m.start < b and a < m.end for a, b in claimed)}
        if len(spans) == 1:
            details.append(f"{name}=null but the input states {kind} {next(iter(spans.values()))!r}")
    return details


def contradicting(output: dict, text: str, kinds: dict) -> dict[str, str]:
    """Fields whose value is stated, but the text also states another value of the field's kind that no
    field's value accounts for ("Preferred date: 10/17/2027" in a text written for 1 May): field -> the
    other value as written. Kinds whose values are single (dates, times, e-mails, phones, URLs) only."""
    if not isinstance(output, dict):
        return {}
    claimed = []
    for name, value in output.items():
        if value is not None and name in kinds:
            kind, info = _kind(kinds[name])
            claimed += [(m.start, m.end) for m in (mentions_of_kind(value, text, kind, info.get("regions")) or [])]
    out = {}
    for name, fk in kinds.items():
        kind, info = _kind(fk)
        if kind not in SINGLE or output.get(name) is None:
            continue
        others = [m for m in values_of_kind(text, kind, info.get("regions"))
                  if not any(m.start < b and a < m.end for a, b in claimed)]
        if others:
            out[name] = others[0].text
    return out


SINGLE = ("date", "time", "datetime", "email", "phone", "url")


# ---- written forms -------------------------------------------------------------------------------

def _time_forms(t) -> list[str]:
    fmts = [TimeFormat(), TimeFormat(12, hour_pad=False, minutes="nonzero", ampm="pm"),
            TimeFormat(12, hour_pad=False, ampm=" PM"), TimeFormat(12, hour_pad=False, ampm=" p.m."),
            TimeFormat(12, words=True, daypart=not (t.minute == 0 and t.hour in (0, 12))),
            TimeFormat(24, "h", minutes="nonzero"), TimeFormat(24, ".", suffix=" Uhr"),
            TimeFormat(24, "", suffix=" hrs")]
    return [render_time(t, f) for f in fmts]


def _date_forms(d: date) -> list[str]:
    fmts = [DateFormat("{mon} {d}{sfx} {y}", False, suffix=True), DateFormat("{d} {mon} {y}", False),
            DateFormat("the {d}{sfx} of {mon} {y}", False, suffix=True), DateFormat("{wd}, {d} {mon} {y}", False),
            DateFormat("{mon} {d}, {y}", False, abbreviated=True), DateFormat("{y}-{m}-{d}"),
            DateFormat("{d}. {mon} {y}", False, language="de")]
    if d.day > 12 or d.day == d.month:  # a numeric day/month order is read both ways otherwise
        fmts += [DateFormat("{d}/{m}/{y}"), DateFormat("{d}.{m}.{y}")]
    return [render(d, f) for f in fmts]


def _number_forms(v: float, decimals: int) -> list[str]:
    fmts = [NumberFormat(",", ".", decimals), NumberFormat(".", ",", decimals), NumberFormat(None, ".", decimals),
            NumberFormat(" ", ",", decimals), NumberFormat("'", ".", decimals)]
    return [render(v, f) for f in fmts]


def forms(value, kind: str, regions: list[str] | None = None) -> list[str]:
    """Several common written forms of a value of `kind`, each one `is_stated(value, form, kind)` finds."""
    from seedfactory.validators.values import is_stated

    if kind == "time" and (t := parse_time(value)):
        out = _time_forms(t)
    elif kind == "date" and (d := _parse_date(value)):
        out = _date_forms(d)
    elif kind == "datetime" and (dt := parse_datetime(value)):
        out = [dt.isoformat(timespec="minutes"), dt.isoformat(" ", timespec="minutes")]
        out += [f"{a} at {b}" for a, b in zip(_date_forms(dt.date())[:4], _time_forms(dt.time())[1:5])]
        out.append(DateTimeFormat(DateFormat("{d}.{m}.{y}"), TimeFormat(suffix=" Uhr"), ", ").render(dt))
    elif kind == "duration" and (td := parse_duration(value)):
        out = [DurationFormat(s, "minute", "minutes").render(td) for s in ("iso", "unit", "compact", "words")]
        out.append(DurationFormat("unit", "hour", "hours").render(td))
    elif kind == "phone":
        out = phone_forms(str(value), regions)
    elif kind == "email":
        out = [str(value), f"mailto:{value}", f"<{value}>"]
    elif kind == "url":
        bare = norm_url(str(value))
        out = [f"https://{bare}", f"www.{bare}", bare]
    elif kind == "count" and (n := _number(value)) is not None:
        out = [f"{n:g}"] + ([WORD_NUMBERS[int(n)]] if 0 < n <= 20 and n == int(n) else [])
    elif kind == "percentage" and (n := _number(value)) is not None:
        n = n * 100 if abs(n) < 1 and not str(value).rstrip().endswith("%") else n
        out = [f"{n:g}%", f"{n:g} %", f"{n:g} percent"]
    elif kind in ("money", "number", "quantity") and (n := _number(value)) is not None:
        out = _number_forms(n, 0 if n == int(n) and kind != "money" else 2)
        if kind == "money" and n >= 1000 and n % 100 == 0:
            out.append(KiloFormat().render(n))  # "26k"
        unit = re.match(r"\s*[-+]?[\d.,' ]*\d\s?(\S+)", value) if isinstance(value, str) else None
        if unit:  # "2 kg" is written with its unit
            out = [f"{f}{sep}{unit.group(1)}" for f in out[:3] for sep in (" ", "")]
    else:
        out = [str(value)]
    return [f for f in dict.fromkeys(out) if is_stated(value, f, kind)]
