"""Amounts with a currency, percentages, small counts and durations in text.

    money_in("Total: EUR 1.487,50")           # value 1487.5 (a number next to a currency mark)
    percentages_in("VAT 19 % incl.")         # value 19.0 ("12 percent", "12 pct", "12 Prozent" too)
    counts_in("two adults and 3 children")   # values 2 and 3 (digits, and the words one..twenty, "a dozen")
    durations_in("an hour and a half")       # value timedelta(minutes=90)

A duration value in an output is an ISO-8601 duration ("PT1H30M"), a number of minutes, or any
one duration a string states ("90 minutes"); `parse_duration` reads each. A number matches a
duration stated in minutes, or one stated in its own unit ("2" and "2 weeks"). A month is 30 days
and a year 365 in both directions, so "P2M" and "2 months" agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from seedfactory.validators.value_times import WORD_NUMBERS, times_in
from seedfactory.validators.values import Mention, dates_in, numbers_in

_SYMBOLS = r"[$€£¥₹₩₽₺₪฿]|R\$|kr\.?|zł|Fr\.|Kč|Ft|lei|руб"


def _codes() -> str:
    try:
        from babel.numbers import list_currencies

        return "|".join(sorted(list_currencies()))
    except ImportError:  # babel is a dependency; the fallback keeps the common ones
        return "EUR|USD|GBP|CHF|JPY|SEK|NOK|DKK|PLN|CZK|HUF|CAD|AUD|NZD|INR|CNY|BRL|ZAR|MXN"


_MARK = rf"(?:{_SYMBOLS}|\b(?:{_codes()})\b)"
_CURRENCY_BEFORE = re.compile(rf"{_MARK}\s?[-\u2212]?$")
_CURRENCY_AFTER = re.compile(rf"\s?{_MARK}")
_PERCENT = re.compile(r"\s?(?:%|per\s?cent\b|pct\b|prozent\b|pour\s?cent\b|por\s?ciento\b)", re.IGNORECASE)


def _outside(text: str) -> list[Mention]:
    """The numbers of a text that are not part of a date or a clock time written with a colon."""
    spans = [(d.start, d.end) for d in dates_in(text)] + [(t.start, t.end) for t in times_in(text) if ":" in t.text]
    return [m for m in numbers_in(text) if not any(a <= m.start and m.end <= b for a, b in spans)]


def money_in(text: str) -> list[Mention]:
    """Numbers with a currency mark just before or after them ("$4,500.00", "1 550,00 SEK")."""
    text = text.replace("\u00a0", " ")
    return [m for m in _outside(text) if _CURRENCY_BEFORE.search(text[max(0, m.start - 6):m.start])
            or _CURRENCY_AFTER.match(text, m.end)]


def percentages_in(text: str) -> list[Mention]:
    return [m for m in _outside(text) if _PERCENT.match(text, m.end)]


_COUNT_WORDS = {w: i for i, w in enumerate(WORD_NUMBERS) if i}
_COUNT_WORDS.update({"a dozen": 12, "half a dozen": 6, "a couple of": 2, "a pair of": 2})
_COUNT_RE = re.compile(r"\b(" + "|".join(sorted(_COUNT_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def counts_in(text: str, articles: bool = False) -> list[Mention]:
    """Whole numbers written in digits or as words (one..twenty, "a dozen"); with `articles`, "a" and
    "an" count as one (only when asking whether a count of 1 is stated: every text has an "a")."""
    out = [Mention(m.start, m.end, m.text, m.value, None) for m in _outside(text)
           if m.value == int(m.value) and not (m.fmt.decimal and m.fmt.decimals)]
    out += [Mention(m.start(), m.end(), m.group(0), float(_COUNT_WORDS[m.group(1).lower()]), None)
            for m in _COUNT_RE.finditer(text)]
    if articles:
        out += [Mention(m.start(), m.end(), m.group(0), 1.0, None) for m in re.finditer(r"\ban?\b", text, re.I)]
    return sorted(out, key=lambda m: m.start)


# ---- durations -----------------------------------------------------------------------------------

UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800, "month": 2592000,
                "year": 31536000}
_UNITS = {"s": "second", "sec": "second", "secs": "second", "seconds": "second", "second": "second",
          "m": "minute", "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute",
          "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
          "d": "day", "day": "day", "days": "day", "w": "week", "wk": "week", "wks": "week", "week": "week",
          "weeks": "week", "month": "month", "months": "month", "mo": "month", "y": "year", "yr": "year",
          "yrs": "year", "year": "year", "years": "year"}
_UNIT_RE = "|".join(sorted(_UNITS, key=len, reverse=True))
# a first part's unit is never one letter but "h": "5 m" is as likely metres, "a m" is "am"
_FIRST_UNIT_RE = "|".join(sorted((u for u in _UNITS if len(u) > 2 or u in ("h", "hr")), key=len, reverse=True))
_WORDS_RE = r"half an?|an?|" + "|".join(reversed(WORD_NUMBERS[1:]))
_PART = re.compile(rf"(?<![\w.,])(?:(?P<n>\d+(?:[.,]\d+)?)\s*-?\s*|(?P<w>{_WORDS_RE})[\s-]+)"
                   rf"(?P<u>{_FIRST_UNIT_RE})(?![a-z])", re.IGNORECASE)
_MORE = re.compile(rf"\s*(?:,\s*|and\s+)?(?:(?P<n>\d+)\s*|(?P<w>{_WORDS_RE})\s+)(?P<u>{_UNIT_RE})\b"
                   r"|(?P<half>\s+and\s+a\s+half)\b|(?P<mins>[0-5]\d)\b", re.IGNORECASE)
_ISO = re.compile(r"\bP(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
                  r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?\b")


@dataclass(frozen=True)
class DurationFormat:
    """How a duration was written: "iso" (PT1H30M), "compact" (1h30), "words" (an hour and a half) or
    "unit" (a number of one unit, spelt as written: "90 min", "2 weeks")."""

    style: str = "unit"
    unit: str = "minute"
    spelling: str = "minutes"

    def render(self, value) -> str:
        return render_duration(parse_duration(value), self)


def _amount(token: str) -> float:
    token = token.lower()
    if token.startswith("half"):
        return 0.5
    if token in ("a", "an"):
        return 1.0
    return float(WORD_NUMBERS.index(token)) if token in WORD_NUMBERS else float(token.replace(",", "."))


def durations_in(text: str) -> list[Mention]:
    out = []
    for m in _ISO.finditer(text):
        if m.group(0) != "P" and (td := parse_duration(m.group(0))):
            out.append(Mention(m.start(), m.end(), m.group(0), td, DurationFormat("iso")))
    for m in _PART.finditer(text):
        if any(o.start <= m.start() < o.end for o in out):
            continue
        unit = _UNITS[m.group("u").lower()]
        seconds, end, style, parts = _amount(m.group("n") or m.group("w")) * UNIT_SECONDS[unit], m.end(), "unit", 1
        smaller = unit
        while (more := _MORE.match(text, end)) and more.end() > end:
            if more.group("half"):
                seconds += UNIT_SECONDS[smaller] / 2
                style = "words"
            elif more.group("mins"):  # "1h30": minutes after an hour written compactly
                if unit != "hour" or len(m.group("u")) > 1 or parts > 1:
                    break
                seconds += int(more.group("mins")) * 60
                style = "compact"
            else:
                smaller = _UNITS[more.group("u").lower()]
                seconds += _amount(more.group("n") or more.group("w")) * UNIT_SECONDS[smaller]
                style = "compact" if len(more.group("u")) <= 3 else "words"
            end, parts = more.end(), parts + 1
        if style == "unit" and m.group("w"):
            style = "words"
        out.append(Mention(m.start(), end, text[m.start():end], timedelta(seconds=seconds),
                           DurationFormat(style, unit, m.group("u"))))
    return sorted(out, key=lambda x: x.start)


def parse_duration(value) -> timedelta | None:
    """A value as a duration: a timedelta, an ISO-8601 duration, a number of minutes, or a string
    stating one duration."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return timedelta(minutes=value)
    m = _ISO.fullmatch(value.strip())
    if m and value.strip() != "P":
        units = {"Y": "year", "M": "month", "W": "week", "D": "day", "h": "hour", "m": "minute", "s": "second"}
        return timedelta(seconds=sum(int(m.group(k) or 0) * UNIT_SECONDS[u] for k, u in units.items()))
    found = {d.value for d in durations_in(value)}
    return found.pop() if len(found) == 1 else None


def iso_duration(value: timedelta) -> str:
    """ISO-8601 with days, hours, minutes and seconds ("P1DT2H", "PT1H30M")."""
    days, rest = divmod(int(value.total_seconds()), 86400)
    h, rest = divmod(rest, 3600)
    mi, s = divmod(rest, 60)
    clock = "".join(f"{n}{u}" for n, u in ((h, "H"), (mi, "M"), (s, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "") if days or clock else "PT0M"


def render_duration(value: timedelta, fmt: DurationFormat) -> str:
    seconds = value.total_seconds()
    if fmt.style == "iso":
        return iso_duration(value)
    if fmt.style == "compact" and seconds % 60 == 0 and seconds < 86400:
        h, mi = divmod(int(seconds) // 60, 60)
        return f"{h}h{mi:02d}" if mi else f"{h}h"
    if fmt.style == "words" and seconds % 1800 == 0 and seconds <= 43200:
        h, half = divmod(int(seconds) // 1800, 2)
        whole = "an hour" if h == 1 else f"{WORD_NUMBERS[h]} hours" if h else ""
        return (f"{whole} and a half" if whole else "half an hour") if half else whole
    unit = fmt.unit if fmt.style == "unit" else "minute" if seconds < 7200 else "hour"
    amount = seconds / UNIT_SECONDS[unit]
    spelling = fmt.spelling if fmt.style == "unit" else unit + "s"
    if amount != round(amount, 1) or amount < 0.5:  # "0.0 weeks": write it in the largest whole unit
        unit = max((u for u, n in UNIT_SECONDS.items() if seconds % n == 0), key=UNIT_SECONDS.get, default="second")
        amount, spelling = seconds / UNIT_SECONDS[unit], unit + "s"
    if amount == 1 and len(spelling) > 3 and spelling.endswith("s"):
        spelling = spelling[:-1]
    elif amount != 1 and spelling.lower() in ("minute", "hour", "day", "week", "month", "year", "second"):
        spelling += "s"
    number = f"{amount:g}" if amount == int(amount) else f"{amount:.1f}"
    return f"{number} {spelling}"
