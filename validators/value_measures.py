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
from seedfactory.validators.values import Mention, NumberFormat, dates_in, numbers_in

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


_CELL = re.compile(r"(?:(?<=,)|^)\s*[-\u2212(]?(?P<n>\d+(?:\.\d+)?)\)?\s*(?=,|$)", re.MULTILINE)
_KILO = re.compile(r"(?<![\w.,])(?P<a>\d+(?:[.,]\d+)?)\s?(?:[-\u2013]\s?[€£$]?\s?(?P<b>\d+(?:[.,]\d+)?)\s?)?[kK]\b")


@dataclass(frozen=True)
class KiloFormat:
    """Thousands written with a "k" ("26k", "55K"), or bare where a range's k covers them (the 45 of "45-55K")."""

    suffix: str = "k"

    def render(self, value) -> str:
        return f"{float(value) / 1000:g}{self.suffix}"


def _outside(text: str) -> list[Mention]:
    """The numbers of a text that are not part of a date or a clock time written with a colon, with
    the cells of comma-separated lines (",35.00,") and thousands written "26k" or "45-55K"."""
    spans = [(d.start, d.end) for d in dates_in(text)] + [(t.start, t.end) for t in times_in(text) if ":" in t.text]
    found = numbers_in(text)
    if text.count(",") >= 2:
        seen = {(m.start, m.end) for m in found}
        found += [Mention(m.start("n"), m.end("n"), m.group("n"), float(m.group("n")), NumberFormat(
            None, "." if "." in m.group("n") else None, len(m.group("n").partition(".")[2])))
            for m in _CELL.finditer(text) if (m.start("n"), m.end("n")) not in seen]
    for m in _KILO.finditer(text):
        kilo = KiloFormat(text[m.end() - 1])
        a = float(m.group("a").replace(",", ".")) * 1000
        if m.group("b"):  # "45-55K": the 45 is written bare (the k is the range's), the 55 with its k
            found.append(Mention(m.start("a"), m.end("a"), m.group("a"), a, KiloFormat("")))
            found.append(Mention(m.start("b"), m.end(), text[m.start("b"):m.end()],
                                 float(m.group("b").replace(",", ".")) * 1000, kilo))
        else:
            found.append(Mention(m.start(), m.end(), m.group(0), a, kilo))
    return [m for m in found if not any(a <= m.start and m.end <= b for a, b in spans)]


def money_in(text: str) -> list[Mention]:
    """Numbers with a currency mark just before or after them ("$4,500.00", "1 550,00 SEK")."""
    text = text.replace("\u00a0", " ")
    return [m for m in _outside(text) if _CURRENCY_BEFORE.search(text[max(0, m.start - 6):m.start])
            or _CURRENCY_AFTER.match(text, m.end)]


def percentages_in(text: str) -> list[Mention]:
    return [m for m in _outside(text) if _PERCENT.match(text, m.end)]


_COUNT_WORDS = {w: i for i, w in enumerate(WORD_NUMBERS) if i}
_COUNT_WORDS.update({"a dozen": 12, "half a dozen": 6, "a couple of": 2, "a pair of": 2, "once": 1, "twice": 2,
                     "thrice": 3, "einmal": 1, "zweimal": 2, "dreimal": 3, "viermal": 4})
# "every 8 hours" is three times a day
_EVERY = re.compile(r"\b(?:every|alle|toutes les|cada|ogni|elke)\s+(?P<n>\d+|" + "|".join(WORD_NUMBERS[1:13])
                    + r")\s*(?:hours?|h|hrs|stunden|heures|horas|ore|uur)\b", re.IGNORECASE)
# "tre volte", "trois fois", "drei Mal", "tres veces": small numbers said with "times" in other languages
_ABROAD = {w: i + 1 for words in ("uno due tre quattro", "un deux trois quatre", "ein zwei drei vier",
                                  "uno dos tres cuatro") for i, w in enumerate(words.split())}
_TIMES = re.compile(r"\b(?P<n>" + "|".join(_ABROAD) + r")\s+(?:volte|fois|mal|veces)\b", re.IGNORECASE)
_FRACTION = re.compile(r"(?<![\d.,])(?P<w>\d+)?\s?(?P<f>[½¼¾⅓⅔])|\bhalf\b", re.IGNORECASE)
_FRACTIONS = {"½": 0.5, "¼": 0.25, "¾": 0.75, "⅓": 1 / 3, "⅔": 2 / 3}
_COUNT_RE = re.compile(r"\b(" + "|".join(sorted(_COUNT_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def counts_in(text: str, articles: bool = False) -> list[Mention]:
    """Whole numbers written in digits or as words (one..twenty, "a dozen"); with `articles`, "a" and
    "an" count as one (only when asking whether a count of 1 is stated: every text has an "a")."""
    out = [Mention(m.start, m.end, m.text, m.value, None) for m in _outside(text)
           if m.value == int(m.value) and not (m.fmt.decimal and m.fmt.decimals)]
    out += [Mention(m.start(), m.end(), m.group(0), float(_COUNT_WORDS[m.group(1).lower()]), None)
            for m in _COUNT_RE.finditer(text)]
    for m in _EVERY.finditer(text):
        n = m.group("n").lower()
        hours = int(n) if n.isdigit() else WORD_NUMBERS.index(n)
        if hours and 24 % hours == 0:
            out.append(Mention(m.start(), m.end(), m.group(0), float(24 // hours), None))
    out += [Mention(m.start(), m.end(), m.group(0), float(_ABROAD[m.group("n").lower()]), None)
            for m in _TIMES.finditer(text)]
    if articles:
        out += [Mention(m.start(), m.end(), m.group(0), 1.0, None) for m in re.finditer(r"\ban?\b", text, re.I)]
    return sorted(out, key=lambda m: m.start)


_FREQUENCY = re.compile(r"^(?:once|twice|thrice)$|^every\b|\btimes?\b", re.IGNORECASE)


def quantities_in(text: str) -> list[Mention]:
    """Amounts of something: numbers, number words ("ONE capsule") and fractions ("½ cup", "half a")."""
    # number words count things ("ONE capsule"); how often ("twice", "every 8 hours") is a count, not an amount
    out = _outside(text) + [m for m in counts_in(text) if not m.text[0].isdigit() and not _FREQUENCY.search(m.text)]
    for m in _FRACTION.finditer(text):
        value = 0.5 if m.group(0).lower() == "half" else int(m.group("w") or 0) + _FRACTIONS[m.group("f")]
        out.append(Mention(m.start(), m.end(), m.group(0), value, None))
    return sorted(out, key=lambda m: m.start)


# ---- durations -----------------------------------------------------------------------------------

UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800, "month": 2592000,
                "year": 31536000}
_UNITS_ABROAD = {  # de, fr, es, it, nl, sv/da/no
    "day": "tag tage tagen jour jours día días dia dias giorno giorni dag dagen dage dagar",
    "hour": "stunde stunden std heure heures hora horas ora ore uur timme timmar timer",
    "minute": "minuten minuti minuto minutos minuter",
    "week": "woche wochen semaine semaines semana semanas settimana settimane weken veckor uker",
    "month": "monat monate mois mes meses mese mesi maand maanden",
    "year": "jahr jahre ans año años anno anni jaar jaren"}
_UNITS = {"s": "second", "sec": "second", "secs": "second", "seconds": "second", "second": "second",
          "m": "minute", "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute",
          "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
          "d": "day", "day": "day", "days": "day", "w": "week", "wk": "week", "wks": "week", "week": "week",
          "weeks": "week", "month": "month", "months": "month", "mo": "month", "y": "year", "yr": "year",
          "yrs": "year", "year": "year", "years": "year"}
_UNITS.update({w: unit for unit, words in _UNITS_ABROAD.items() for w in words.split()})
_UNIT_RE = "|".join(sorted(_UNITS, key=len, reverse=True))
# a first part's unit is never one letter but "h": "5 m" is as likely metres, "a m" is "am"
_FIRST_UNIT_RE = "|".join(sorted((u for u in _UNITS if len(u) > 2 or u in ("h", "hr")), key=len, reverse=True))
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_WORDS_RE = (r"half an?|an?|(?:twenty|thirty|forty|fifty)[- ](?:one|two|three|four|five|six|seven|eight|nine)|"
             + "|".join(list(_TENS)[1:]) + "|" + "|".join(reversed(WORD_NUMBERS[1:])))
_PRIME = re.compile(r"(?<![\w.,'])(\d{1,3})\s?['\u2032](?![\w'\d])")
_QUARTERS = re.compile(r"\b(?P<q>a|one|three)\s+quarters?\s+of\s+an\s+hour\b", re.IGNORECASE)
_PART = re.compile(rf"(?<![\w.,])(?:(?P<n>\d+(?:[.,]\d+)?)\s*-?\s*|(?P<w>{_WORDS_RE})[\s-]+)"
                   rf"(?P<u>{_FIRST_UNIT_RE})(?![a-z])", re.IGNORECASE)
_MORE = re.compile(rf"[ \t]*(?:,[ \t]*|and[ \t]+)?(?:(?P<n>\d+)[ \t]*|(?P<w>{_WORDS_RE})[ \t]+)(?P<u>{_UNIT_RE})\b"
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
    tens, _, ones = token.replace(" ", "-").partition("-")
    if tens in _TENS:
        return float(_TENS[tens] + (WORD_NUMBERS.index(ones) if ones else 0))
    return float(WORD_NUMBERS.index(token)) if token in WORD_NUMBERS else float(token.replace(",", "."))


def durations_in(text: str) -> list[Mention]:
    out = []
    for m in _ISO.finditer(text):
        if m.group(0) != "P" and (td := parse_duration(m.group(0))):
            out.append(Mention(m.start(), m.end(), m.group(0), td, DurationFormat("iso")))
    for m in _PRIME.finditer(text):  # "Prep: 25'": minutes written with a prime
        out.append(Mention(m.start(), m.end(), m.group(0), timedelta(minutes=int(m.group(1))),
                           DurationFormat("unit", "minute", "'")))
    for m in _QUARTERS.finditer(text):
        minutes = 45 if m.group("q").lower() == "three" else 15
        out.append(Mention(m.start(), m.end(), m.group(0), timedelta(minutes=minutes), DurationFormat("words")))
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
                if UNIT_SECONDS[_UNITS[more.group("u").lower()]] >= UNIT_SECONDS[smaller]:
                    break  # "a day, three days": two durations, not one
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
    return f"{number}{spelling}" if spelling == "'" else f"{number} {spelling}"
