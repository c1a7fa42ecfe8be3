"""Times of day in text, in their common written forms, and written back alike.

    times_in("see you at 2:30pm")           # [Mention(value=time(14, 30), fmt=TimeFormat(clock=12, ...))]
    times_in("half past two")               # two readings: 02:30 and 14:30 (no morning/afternoon said)
    render_time(time(9, 5), TimeFormat())   # "09:05"

Forms read: "14:30", "14:30:15", "2:30pm", "2:30 p.m.", "2 pm", "9am", "14h30", "14h", "14 Uhr",
"1430 hrs", "noon", "midnight", "half past two", "quarter to five", "ten past nine", "three o'clock",
and a day part after any of them ("in the afternoon", "in the evening", "at night", "in the morning")
which settles the 12-hour reading.

Ambiguity gives every reading, as for dates: a 12-hour form with no am/pm and no day part ("half
past two", "2:30") is both 02:30 and 14:30; a zero-padded "02:30" or an hour above 12 is 24-hour.
"18.10" is a time only by context, since it is also an amount: it reads as a time when a time word
precedes it ("at", "um", "à", "om", "kl", "alle", "from", "until", ...) or a time marker follows it
("h", "Uhr", "hrs", "am"/"pm"), and never when a currency or a percent sign is next to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time

from seedfactory.validators.values import Mention

WORD_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                "sixteen seventeen eighteen nineteen twenty").split()
_WORD_VALUE = {w: i for i, w in enumerate(WORD_NUMBERS)}
_WORD_VALUE.update({"twenty-five": 25, "twenty five": 25})


@dataclass(frozen=True)
class TimeFormat:
    """How a time was written. `sep` is ":" "." "h" or "" (1430); `ampm` is the am/pm marker as written
    for pm ("pm", " PM", " p.m."), empty for a 24-hour clock; `words` is the "half past two" style."""

    clock: int = 24
    sep: str = ":"
    hour_pad: bool = True
    minutes: str = "always"  # "always" or "nonzero" ("2pm", "14h": minutes written only when not 0)
    seconds: bool = False
    ampm: str = ""
    suffix: str = ""  # after the time: " Uhr", " hrs", "h"
    words: bool = False
    daypart: bool = False  # "in the afternoon" written after a 12-hour time

    def render(self, value) -> str:
        return render_time(value, self)


_DAYPARTS = {"in the morning": "am", "this morning": "am", "in the afternoon": "pm", "this afternoon": "pm",
             "in the evening": "pm", "this evening": "pm", "at night": "pm", "tonight": "pm"}
_DAYPART_RE = re.compile(r"\s*,?\s*(" + "|".join(_DAYPARTS) + r")\b", re.IGNORECASE)
_AMPM = r"(?P<ap>\s?(?:[ap]\.\s?m\.|[ap]m\b))"
# words after which "18.10" is a time: English, German, French, Dutch, Scandinavian, Italian, Spanish
_TIME_WORDS = r"(?:at|from|until|till|before|after|by|around|um|ab|bis|gegen|à|vers|om|tot|kl\.?|klo|alle|ore|las)"
_AMOUNT_NEXT = re.compile(r"\s?(?:%|[€$£¥]|[A-Z]{3}\b|kr\b|zł|eur|usd|chf)", re.IGNORECASE)

_DIGITAL = re.compile(
    r"(?<![\d.,:/])(?P<h>[01]?\d|2[0-3])(?P<sep>[:.h])(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?"
    r"(?![\d]|[.:,]\d)" + _AMPM + r"?(?P<suf>\s?(?:uhr|hrs|h)\b)?", re.IGNORECASE)
_HOUR_AMPM = re.compile(r"(?<![\d.,:/])(?P<h>1[0-2]|0?[1-9])" + _AMPM, re.IGNORECASE)
_HOUR_ONLY = re.compile(r"(?<![\d.,:/])(?P<h>[01]?\d|2[0-3])(?P<suf>h|\s?uhr)\b(?!\s?\d)", re.IGNORECASE)
_MILITARY = re.compile(r"(?<![\d.,:/])(?P<h>[01]\d|2[0-3])(?P<m>[0-5]\d)(?P<suf>\s?(?:hrs|hours))\b", re.IGNORECASE)
_NOON = re.compile(r"\b(?:12\s)?(?P<w>noon|midday|midnight)\b", re.IGNORECASE)
_HOUR_WORD = r"(?P<hw>one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[1-9]|1[0-2])"
_MINUTE_WORDS = {"oh five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "twenty-five": 25, "thirty": 30,
                 "thirty-five": 35, "forty": 40, "forty-five": 45, "fifty": 50, "fifty-five": 55}
# "nine in the morning", "8 in the evening", "eight thirty in the morning": an hour said with its day part
_HOUR_PART = re.compile(
    r"\b" + _HOUR_WORD + r"(?:[\s-]+(?P<mw>" + "|".join(sorted(_MINUTE_WORDS, key=len, reverse=True)) + r"))?"
    r"(?=\s*,?\s*(?:" + "|".join(_DAYPARTS) + r")\b)", re.IGNORECASE)
_WORDS = re.compile(
    r"\b(?:(?P<mw>half|quarter|a quarter|five|ten|twenty|twenty-five|twenty five|\d{1,2}(?:\s+minutes)?)\s+"
    r"(?P<rel>past|to|after)\s+"
    + _HOUR_WORD + r"|" + _HOUR_WORD.replace("hw", "hw2") + r"\s+o'?clock)\b", re.IGNORECASE)


def _readings(h: int, m: int, s: int, ampm: str | None, twelve: bool) -> list[time]:
    """The times an hour may mean: am/pm settles it; a 12-hour form without one gives both."""
    if ampm == "am":
        return [time(0 if h == 12 else h, m, s)]
    if ampm == "pm":
        return [time(h if h == 12 else h + 12, m, s)]
    if twelve and 1 <= h <= 11:
        return [time(h, m, s), time(h + 12, m, s)]
    return [time(h % 24, m, s)]


def _daypart(text: str, end: int) -> tuple[str | None, int]:
    m = _DAYPART_RE.match(text, end)
    return (_DAYPARTS[m.group(1).lower()], m.end()) if m else (None, end)


def _ap(token: str | None) -> str | None:
    return None if not token else ("am" if token.strip().lower().startswith("a") else "pm")


def _pm_spelling(token: str) -> str:
    """The pm marker in the spelling of a written am/pm marker: " a.m." -> " p.m.", "AM" -> "PM"."""
    return token.replace("a", "p").replace("A", "P")


def times_in(text: str) -> list[Mention]:
    """Every reading of every time of day in the text, with the format to write another time alike."""
    out: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, values: list[time], fmt: TimeFormat) -> None:
        if any(start < b and a < end for a, b in taken):
            return
        taken.append((start, end))
        for v in values:  # the afternoon reading of a bare "2:30" is a 12-hour clock without a marker
            pm = fmt.clock == 24 and v.hour > 12 and not fmt.hour_pad
            out.append(Mention(start, end, text[start:end], v, replace(fmt, clock=12) if pm else fmt))

    for m in _DIGITAL.finditer(text):
        h, mi, s = int(m.group("h")), int(m.group("m")), int(m.group("s") or 0)
        sep, ap, suf = m.group("sep"), m.group("ap"), m.group("suf") or ""
        if sep == "h" and ap:
            continue
        if sep == "." and not (ap or suf or _time_word_before(text, m.start())):
            continue  # "18.10" alone is an amount
        if sep == "." and _AMOUNT_NEXT.match(text, m.end()) and not (ap or suf):
            continue
        if ap and not 1 <= h <= 12:
            continue
        end = m.end()
        part, end2 = (None, end) if ap else _daypart(text, end)
        twelve = bool(ap or part) or (sep == ":" and not m.group("h").startswith("0") and h <= 11 and not suf)
        fmt = TimeFormat(12 if (ap or part) else 24, sep, len(m.group("h")) == 2, "always", m.group("s") is not None,
                         _pm_spelling(ap) if ap else "", suf if sep != "h" else "", False, bool(part))
        add(m.start(), end2, _readings(h, mi, s, _ap(ap) or part, twelve), fmt)
    for m in _MILITARY.finditer(text):
        add(m.start(), m.end(), [time(int(m.group("h")), int(m.group("m")))],
            TimeFormat(24, "", True, "always", False, "", m.group("suf")))
    for m in _HOUR_AMPM.finditer(text):
        ap = m.group("ap")
        add(m.start(), m.end(), _readings(int(m.group("h")), 0, 0, _ap(ap), True),
            TimeFormat(12, ":", len(m.group("h")) == 2, "nonzero", False, _pm_spelling(ap)))
    for m in _HOUR_ONLY.finditer(text):
        suf = m.group("suf")
        fmt = TimeFormat(24, "h", len(m.group("h")) == 2, "nonzero") if suf.lower() == "h" else \
            TimeFormat(24, ":", len(m.group("h")) == 2, "nonzero", False, "", suf)
        add(m.start(), m.end(), [time(int(m.group("h")), 0)], fmt)
    for m in _NOON.finditer(text):
        add(m.start(), m.end(), [time(0 if m.group("w").lower() == "midnight" else 12, 0)], TimeFormat(words=True))
    for m in _WORDS.finditer(text):
        hw = (m.group("hw") or m.group("hw2")).lower()
        h = int(hw) if hw.isdigit() else _WORD_VALUE[hw]
        mw = (m.group("mw") or "").lower().replace("a quarter", "quarter").removesuffix(" minutes").strip()
        mins = int(mw) if mw.isdigit() else {"": 0, "half": 30, "quarter": 15}.get(mw, _WORD_VALUE.get(mw, 0))
        rel = (m.group("rel") or "").lower()
        # "0 to 5", "4 to 9" are ranges far more often than times: a bare number before "to" needs "minutes"
        if mins >= 60 or (rel == "to" and (mins == 0 or (mw.isdigit() and "minute" not in m.group(0).lower()))):
            continue
        if rel == "to":
            h, mins = (h - 1) or 12, 60 - mins
        part, end = _daypart(text, m.end())
        add(m.start(), end, _readings(h, mins, 0, part, True), TimeFormat(12, words=True, daypart=bool(part)))
    for m in _HOUR_PART.finditer(text):
        hw = m.group("hw").lower()
        h = int(hw) if hw.isdigit() else _WORD_VALUE[hw]
        part, end = _daypart(text, m.end())
        add(m.start(), end, _readings(h, _MINUTE_WORDS.get((m.group("mw") or "").lower(), 0), 0, part, True),
            TimeFormat(12, words=True, daypart=True))
    if any(m.fmt.clock == 24 and m.value.hour >= 13 for m in out):  # a text on a 24-hour clock: "9:00" is 09:00
        out = [m for m in out if not (m.fmt.clock == 12 and not (m.fmt.ampm or m.fmt.words or m.fmt.daypart))]
    return sorted(out, key=lambda x: x.start)


def _time_word_before(text: str, start: int) -> bool:
    return re.search(rf"\b{_TIME_WORDS}\s*$", text[max(0, start - 8):start], re.IGNORECASE) is not None


# ---- writing -------------------------------------------------------------------------------------

def _hour_words(h: int) -> str:
    return WORD_NUMBERS[h % 12 or 12]


def _minute_words(m: int) -> str:
    return {15: "quarter", 30: "half", 25: "twenty-five"}.get(m) or WORD_NUMBERS[m]


def _words(value: time, fmt: TimeFormat) -> str:
    h, m = value.hour, value.minute
    if m == 0 and h in (0, 12) and not fmt.daypart:
        return "noon" if h == 12 else "midnight"
    if m % 5:
        return render_time(value, TimeFormat(12, hour_pad=False, ampm="pm"))  # "seven minutes past" is no common form
    if m == 0:
        text = f"{_hour_words(h)} o'clock"
    elif m <= 30:
        text = f"{_minute_words(m)} past {_hour_words(h)}"
    else:
        text = f"{_minute_words(60 - m)} to {_hour_words(h + 1)}"
    if not fmt.daypart:
        return text
    return f"{text} {_part_of_day(value)}"


def _part_of_day(value: time) -> str:
    return "in the morning" if value.hour < 12 else "in the afternoon" if value.hour < 18 else "in the evening"


def render_time(value: time | str, fmt: TimeFormat) -> str:
    """Write a time (or an ISO "HH:MM[:SS]" string) the way `fmt` says."""
    if isinstance(value, str):
        value = time.fromisoformat(value)
    if fmt.words:
        return _words(value, fmt)
    h = value.hour
    ap = ""
    if fmt.clock == 12:
        ap = fmt.ampm if h >= 12 else fmt.ampm.replace("p", "a").replace("P", "A")
        h = h % 12 or 12
    hour = f"{h:02d}" if fmt.hour_pad else str(h)
    if fmt.minutes == "nonzero" and value.minute == 0 and not fmt.seconds:
        body = hour + (fmt.sep if fmt.sep == "h" else "")
    else:
        body = f"{hour}{fmt.sep}{value.minute:02d}" + (f":{value.second:02d}" if fmt.seconds else "")
    if fmt.daypart:
        return f"{body} {_part_of_day(value)}"
    return body + ap + fmt.suffix


def parse_time(value) -> time | None:
    """A value as a time: a datetime.time, an ISO "HH:MM[:SS]" string, or any one time a string states."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        return None
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        found = {m.value for m in times_in(value)}
        return found.pop() if len(found) == 1 else None


# ---- date and time together ----------------------------------------------------------------------

@dataclass(frozen=True)
class DateTimeFormat:
    """A date and a time written together: each in its own format, joined by `joiner`."""

    date_fmt: object  # DateFormat, or None for ISO "2027-03-03T14:30"
    time_fmt: TimeFormat
    joiner: str = " "
    time_first: bool = False

    def render(self, value) -> str:
        from seedfactory.validators.values import render_date

        value = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        if self.date_fmt is None:
            return value.isoformat(sep=self.joiner, timespec="seconds" if self.time_fmt.seconds else "minutes")
        parts = [render_date(value.date(), self.date_fmt), render_time(value.time(), self.time_fmt)]
        return self.joiner.join(parts[::-1] if self.time_first else parts)


_ISO_DATETIME = re.compile(r"(?<![\d])(\d{4}-\d{2}-\d{2})([T ])(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?"
                           r"(?:Z|[+-]\d{2}:?\d{2})?(?!\d)")
_JOIN = re.compile(r"(?:\s*,\s*|\s+)(?:(?:at|um|à|om|kl\.?|,|-|@|on|the)\s+)*", re.IGNORECASE)


def datetimes_in(text: str, year: int | None = None) -> list[Mention]:
    """Dates with a time: ISO "2027-03-03T14:30" (an offset is read and dropped: values compare as
    written, in local time), and a date and a time next to each other in either order ("March 3rd
    at 2:30pm", "14:30 on 3 March 2027"). Values are naive datetime.datetime."""
    from seedfactory.validators.values import dates_in

    out = []
    for m in _ISO_DATETIME.finditer(text):
        value = datetime.fromisoformat(f"{m.group(1)}T{m.group(3)}")
        out.append(Mention(m.start(), m.end(), m.group(0), value,
                           DateTimeFormat(None, TimeFormat(seconds=m.group(3).count(":") == 2), m.group(2))))
    iso = [(m.start, m.end) for m in out]
    dates = [d for d in dates_in(text, year) if not any(a <= d.start < b for a, b in iso)]
    times = [t for t in times_in(text) if not any(a <= t.start < b for a, b in iso)]
    for d in dates:
        for t in times:
            first, second = (d, t) if d.end <= t.start else (t, d)
            gap = _JOIN.fullmatch(text, first.end, second.start)
            if second.start < first.end or not gap:
                continue
            value = datetime.combine(d.value, t.value)
            out.append(Mention(first.start, second.end, text[first.start:second.end], value,
                               DateTimeFormat(d.fmt, t.fmt, gap.group(0), first is t)))
    return sorted(out, key=lambda x: x.start)


def parse_datetime(value) -> datetime | None:
    """A value as a naive datetime: a datetime or an ISO string (an offset or "Z" is dropped)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return None
    return None
