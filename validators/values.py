"""Values in text: find the numbers and dates a text states, in their common written forms, and
write a value back in the form a text used.

    numbers_in("Gesamtbetrag: 1.487,50 EUR")   # [Mention(value=1487.5, fmt=NumberFormat('.', ',', 2), ...)]
    dates_in("Datum: 2. Februar 2024")           # [Mention(value=date(2024, 2, 2), fmt=DateFormat(...), ...)]
    render(1234.5, NumberFormat("'", ".", 2))    # "1'234.50"

Grounding (is an output value stated in its input?) and output-first templates (replace a seed's
values by new ones, written the way the seed wrote them) both stand on this. Ambiguous forms give
every reading: "03/04/2024" is both 3 April and 4 March, "1.250" both 1250 and 1.25.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# ---- numbers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberFormat:
    thousands: str | None  # "," "." "'" " " or None
    decimal: str | None  # "." "," or None (no fraction written)
    decimals: int


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    value: object  # float for numbers, datetime.date for dates
    fmt: object  # NumberFormat or DateFormat: how to write another value the same way


_GROUPED = r"\d{1,3}(?:(?P<t>[,.'\u2019 \u00a0])\d{3})(?:(?P=t)\d{3})*(?:(?P<d>[.,])(?P<f>\d{1,2}))?"
_PLAIN = r"\d+(?:(?P<d2>[.,])(?P<f2>\d+))?"
_NUMBER = re.compile(rf"(?<![\w.,])(?:{_GROUPED}|{_PLAIN})(?![\d])")


def numbers_in(text: str) -> list[Mention]:
    """Every reading of every number in the text (a token may give two readings)."""
    out = []
    for m in _NUMBER.finditer(text):
        token = m.group(0)
        if m.group("t") is not None:
            t, d, f = m.group("t"), m.group("d"), m.group("f") or ""
            if d == t:  # "1.250.5": not a grouping after all
                continue
            whole = token[: m.start("d") - m.start()] if d else token
            digits = whole.replace(t, "")
            out.append(Mention(m.start(), m.end(), token, float(f"{digits}.{f or 0}"), NumberFormat(t, d, len(f))))
            if d is None and t in ".," and token.count(t) == 1:  # "1.250" may also be 1.25
                out.append(Mention(m.start(), m.end(), token, float(token.replace(t, ".")),
                                   NumberFormat(None, t, 3)))
        else:
            d, f = m.group("d2"), m.group("f2") or ""
            whole = token.split(d)[0] if d else token
            out.append(Mention(m.start(), m.end(), token, float(f"{whole}.{f or 0}"), NumberFormat(None, d, len(f))))
    return out


def render_number(value: float, fmt: NumberFormat) -> str:
    text = f"{abs(value):.{fmt.decimals}f}"
    whole, _, frac = text.partition(".")
    if fmt.thousands:
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = fmt.thousands.join([whole, *groups])
    sign = "-" if value < 0 else ""
    return sign + whole + (f"{fmt.decimal}{frac}" if fmt.decimals and fmt.decimal else "")


# ---- dates ---------------------------------------------------------------------------------------

MONTHS: dict[str, list[str]] = {  # month names and abbreviations by language, January first
    "en": "january february march april may june july august september october november december".split(),
    "de": "januar februar märz april mai juni juli august september oktober november dezember".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre".split(),
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split(),
    "nl": "januari februari maart april mei juni juli augustus september oktober november december".split(),
    "sv": "januari februari mars april maj juni juli augusti september oktober november december".split(),
    "da": "januar februar marts april maj juni juli august september oktober november december".split(),
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia".split(),
}
_MONTH_NUMBER: dict[str, tuple[int, str, bool]] = {}  # name -> (month, language, abbreviated)
for _lang, _names in MONTHS.items():
    for _i, _name in enumerate(_names, start=1):
        _MONTH_NUMBER.setdefault(_name, (_i, _lang, False))
        _MONTH_NUMBER.setdefault(_name[:3], (_i, _lang, True))
_MONTH_RE = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))  # pragma: no mutate (at most one month name matches)


@dataclass(frozen=True)
class DateFormat:
    """How a date was written: a layout with slots {d} {m} {y} {mon}, and how each slot looks."""

    layout: str  # e.g. "{d}.{m}.{y}", "{mon} {d}, {y}", "{d}-{mon}-{y}"
    day_pad: bool = True
    month_pad: bool = True
    year_digits: int = 4
    language: str = "en"
    abbreviated: bool = False
    case: str = "title"  # title, upper or lower month names
    suffix: bool = False  # pragma: no mutate (the flag is never read back); "8th"


_DAY = r"(?P<d>\d{1,2})"
_MON = r"(?P<m>\d{1,2})"
_YEAR = r"(?P<y>\d{4}|\d{2})"
_NAME = rf"(?P<mon>{_MONTH_RE})\.?"
_PATTERNS: list[tuple[str, str]] = [  # (regex, layout); numeric day/month order is settled later
    (r"(?P<y>\d{4})(?P<s>[-/.])(?P<a>\d{1,2})(?P=s)(?P<b>\d{1,2})", "ymd"),
    (r"(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)" + _YEAR, "abY"),
    (_DAY + r"(?P<s1>\.?\s*|-)" + _NAME + r"(?P<s2>\s*|-|,\s*)" + _YEAR, "d mon y"),
    (_NAME + r"\s+" + _DAY + r"(?P<sfx>st|nd|rd|th)?,?\s+" + _YEAR, "mon d y"),
]
_DATE_RES = [(re.compile(rf"(?<![\w]){rx}(?![\w])", re.IGNORECASE), kind) for rx, kind in _PATTERNS]


def _year(y: str) -> int:
    return int(y) if len(y) == 4 else 2000 + int(y)


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _case(word: str) -> str:
    return "upper" if word.isupper() else "lower" if word.islower() else "title"


def dates_in(text: str) -> list[Mention]:
    """Every reading of every date in the text, with the format to write another date the same way."""
    out = []
    for rx, kind in _DATE_RES:
        for m in rx.finditer(text):
            g = m.groupdict()
            if kind == "ymd":
                s, (a, b) = g["s"], (g["a"], g["b"])
                d = _safe_date(int(g["y"]), int(a), int(b))
                fmt = DateFormat(f"{{y}}{s}{{m}}{s}{{d}}", len(b) == 2, len(a) == 2)
                if d:
                    out.append(Mention(m.start(), m.end(), m.group(0), d, fmt))
                continue
            if kind == "abY":
                s, a, b, y = g["s"], g["a"], g["b"], _year(g["y"])
                for day, month, layout, dpad, mpad in [(a, b, f"{{d}}{s}{{m}}{s}{{y}}", len(a) == 2, len(b) == 2),
                                                       (b, a, f"{{m}}{s}{{d}}{s}{{y}}", len(b) == 2, len(a) == 2)]:
                    d = _safe_date(y, int(month), int(day))
                    if d:
                        out.append(Mention(m.start(), m.end(), m.group(0), d,
                                           DateFormat(layout, dpad, mpad, len(g["y"]))))
                continue
            mon = g["mon"].lower()
            number, lang, abbr = _MONTH_NUMBER[mon]
            d = _safe_date(_year(g["y"]), number, int(g["d"]))
            if not d:
                continue
            if kind == "d mon y":
                dot = "." if m.group(0)[m.end("mon") - m.start():].startswith(".") else ""
                layout = f"{{d}}{g['s1']}{{mon}}{dot}{g['s2']}{{y}}"
            else:
                layout = "{mon} {d}" + ("{sfx}" if g.get("sfx") else "") + ", {y}"
            # "19 Feb": a two-digit day says nothing about padding; "09 Feb" does
            out.append(Mention(m.start(), m.end(), m.group(0), d, DateFormat(
                layout, g["d"].startswith("0"), True,  # pragma: no mutate (no {m} slot with month names)
                len(g["y"]), lang, abbr, _case(g["mon"]), bool(g.get("sfx")))))
    return out


def _ordinal(n: int) -> str:
    # no mutate: days 9, 10, 19, 20 get 'th' anyway
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")  # pragma: no mutate


def render_date(value: date, fmt: DateFormat) -> str:
    name = MONTHS[fmt.language][value.month - 1]
    name = name[:3] if fmt.abbreviated else name
    name = {"upper": name.upper(), "lower": name, "title": name.capitalize()}[fmt.case]
    year = f"{value.year:04d}" if fmt.year_digits == 4 else f"{value.year % 100:02d}"
    return fmt.layout.format(d=f"{value.day:02d}" if fmt.day_pad else str(value.day),
                             m=f"{value.month:02d}" if fmt.month_pad else str(value.month),
                             y=year, mon=name, sfx=_ordinal(value.day))


def render(value, fmt) -> str:
    return render_date(value, fmt) if isinstance(fmt, DateFormat) else render_number(value, fmt)


# ---- strings -------------------------------------------------------------------------------------

def fold(text: str) -> str:
    """Casefolded, NFKC-normalised, whitespace collapsed: how strings are compared with a text."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def string_spans(value: str, text: str) -> list[tuple[int, int]]:
    """Where `value` occurs in `text`, ignoring case and runs of whitespace."""
    words = [re.escape(w) for w in value.split()]
    if not words:
        return []
    rx = re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end()) for m in rx.finditer(unicodedata.normalize("NFKC", text))]


# ---- grounding -----------------------------------------------------------------------------------

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def value_kind(value) -> str | None:
    """'number', 'date' or 'string' for values that can be spans of a text; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "date" if ISO_DATE.match(value) else "string"
    return None


def mentions(value, text: str) -> list[Mention]:
    """Where a value is stated in a text, in any written form (empty when it is not)."""
    kind = value_kind(value)
    if kind == "number":  # a number inside a date ("30" of 30/08/2024) is part of the date
        in_dates = [(d.start, d.end) for d in dates_in(text)]
        return [m for m in numbers_in(text) if abs(m.value - float(value)) < 0.005
                and not any(a <= m.start and m.end <= b for a, b in in_dates)]
    if kind == "date":
        y, mo, d = map(int, value.split("-"))
        target = _safe_date(y, mo, d)
        return [m for m in dates_in(text) if m.value == target]
    if kind == "string":
        return [Mention(a, b, text[a:b], value, None) for a, b in string_spans(value, text)]
    return []


def is_stated(value, text: str) -> bool:
    kind = value_kind(value)
    if kind == "string":
        return bool(value.strip()) and fold(value) in fold(text) and bool(mentions(value, text) or len(value) < 3)
    return bool(mentions(value, text))
