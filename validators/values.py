"""Values in text: find the numbers and dates a text states, in their common written forms, and
write a value back in the form a text used.

    numbers_in("Gesamtbetrag: 1.487,50 EUR")   # [Mention(value=1487.5, fmt=NumberFormat('.', ',', 2), ...)]
    dates_in("Datum: 2. Februar 2024")           # [Mention(value=date(2024, 2, 2), fmt=DateFormat(...), ...)]
    render(1234.5, NumberFormat("'", ".", 2))    # "1'234.50"

Grounding (is an output value stated in its input?) and output-first templates (replace a seed's
values by new ones, written the way the seed wrote them) both stand on this. Ambiguous forms give
every reading: "03/04/2024" is both 3 April and 4 March, "1.250" both 1250 and 1.25.

    is_stated("14:30", "see you at half past two in the afternoon", kind="time")    # True
    is_stated("2027-08-16", "Aug 16")              # True: no year in the text contradicts 2027

Other kinds live in sibling modules and are re-exported here: value_times.py (times, datetimes),
value_contacts.py (e-mails, phones, URLs), value_measures.py (money, percentages, counts,
durations), value_match.py (matching by field kind, `values_of_kind`, `forms`, `null_but_in_text`).
Measured against dateparser by `python -m bench.values`.
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
    suffix: bool = False  # "8th"
    weekday_abbreviated: bool = False  # "Tue, 3 March" (the weekday is written for the new date)
    weekday_case: str = "title"


_DAY = r"(?P<d>\d{1,2})"
_MON = r"(?P<m>\d{1,2})"
_YEAR = r"(?P<y>\d{4}|\d{2})"
_NAME = rf"(?P<mon>{_MONTH_RE})\.?"
_SFX = r"(?P<sfx>st|nd|rd|th)?"
WEEKDAYS = {"en": "monday tuesday wednesday thursday friday saturday sunday".split(),
            "de": "montag dienstag mittwoch donnerstag freitag samstag sonntag".split(),
            "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche".split()}
_WEEKDAY_RE = "|".join(sorted({n for names in WEEKDAYS.values() for w in names for n in (w, w[:3])}, key=len,
                              reverse=True))
_WD = rf"(?:(?P<wd>{_WEEKDAY_RE})(?P<wds>\.?,?\s+(?:the\s+)?))?"
_D_MON = _WD + _DAY + _SFX + r"(?P<s1>\.?\s*|-|\s+of\s+|\s+de\s+)" + _NAME
_MON_D = _WD + _NAME + r"(?P<s1>\s+(?:the\s+)?)" + _DAY + _SFX
_PATTERNS: list[tuple[str, str]] = [  # (regex, layout); numeric day/month order is settled later
    (r"(?P<y>\d{4})(?P<s>[-/.])(?P<a>\d{1,2})(?P=s)(?P<b>\d{1,2})", "ymd"),
    (r"(?P<y>(?:19|20)\d{2})(?P<s>)(?P<a>0[1-9]|1[0-2])(?P<b>0[1-9]|[12]\d|3[01])", "ymd"),  # 20270411
    (r"(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)" + _YEAR, "abY"),
    (_D_MON + r"(?P<s2>\s*|-|,\s*|\s+de\s+)" + _YEAR, "d mon y"),
    (_MON_D + r"(?P<s2>,?\s+)" + _YEAR, "mon d y"),
    (_D_MON, "d mon"),  # no year written: the year comes from the text or the caller
    (_MON_D, "mon d"),
]
_END = r"(?!(?!T\d)\w|[:.]\d)"  # "16 Aug 14:30" is no year 2014; "2027-04-18T09:45" is a date
_DATE_RES = [(re.compile(rf"(?<![\w]){rx}{_END}", re.IGNORECASE), kind) for rx, kind in _PATTERNS]
# year, month and day marked by characters (2024年3月15日): letters may touch it on either side
_DATE_RES.insert(0, (re.compile(r"(?<!\d)(?P<y>\d{4})(?P<s>)年\s?(?P<a>\d{1,2})月\s?(?P<b>\d{1,2})日"), "cjk"))
_THE_NTH = re.compile(r"\bthe\s+(?P<d>\d{1,2})(?P<sfx>st|nd|rd|th)\b(?!\s+of\b)", re.IGNORECASE)
_YEAR_TOKEN = re.compile(r"(?<![\d.,:/-])(?:19|20)\d{2}(?![\d]|[.,:/-]\d)")
# abbreviations of other languages that are common words ("1 set of", "Sie"): read only with a year
_YEARLESS_NOT = {"set", "sie", "lip", "gru", "lis", "kwi", "lut", "sty", "cze", "mar", "dic", "gen", "ott", "mai"}


def _year(y: str) -> int:
    return int(y) if len(y) == 4 else 2000 + int(y)


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _case(word: str) -> str:
    return "upper" if word.isupper() else "lower" if word.islower() else "title"


def _years_of(text: str, full: list[Mention]) -> list[int]:
    """The years a text states: those of its dated mentions, else its year-like tokens."""
    years = list(dict.fromkeys(m.value.year for m in full))
    return years or list(dict.fromkeys(int(t) for t in _YEAR_TOKEN.findall(text)))


def dates_in(text: str, year: int | None = None) -> list[Mention]:
    """Every reading of every date in the text, with the format to write another date the same way.

    A date written without a year ("Aug 16", "16 August", "the 8th of October") takes the year the
    text states elsewhere (each, when it states several), else `year`; without either it is no date.
    So a yearless date matches an ISO date of any year only when no year in the text contradicts it.
    "the 8th" alone takes the month and year of the text's other dates when they agree on one."""
    out: list[Mention] = []
    yearless: list[tuple[re.Match, str]] = []
    for rx, kind in _DATE_RES:
        for m in rx.finditer(text):
            if any(o.start <= m.start() < o.end or m.start() <= o.start < m.end() for o in out):
                continue  # "3 March 2027" is read once, not again as "3 March"
            g = m.groupdict()
            if kind in ("ymd", "cjk"):
                s, (a, b) = g["s"], (g["a"], g["b"])
                d = _safe_date(int(g["y"]), int(a), int(b))
                layout = "{y}年{m}月{d}日" if kind == "cjk" else f"{{y}}{s}{{m}}{s}{{d}}"
                fmt = DateFormat(layout, len(b) == 2, len(a) == 2)
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
            if kind in ("d mon", "mon d"):
                yearless.append((m, kind))
                continue
            mention = _named_date(m, kind, _year(g["y"]))
            if mention:
                out.append(mention)
    years = _years_of(text, out) or ([year] if year else [])
    for m, kind in yearless:
        mon = m.group("mon").lower()
        if any(o.start < m.end() and m.start() < o.end for o in out) or (
                mon in _YEARLESS_NOT or _MONTH_NUMBER[mon][1] != "en" and len(mon) == 3):
            continue
        out.extend(filter(None, (_named_date(m, kind, y) for y in years)))
    months = {(o.value.year, o.value.month) for o in out}
    if len(months) == 1:
        (y, mo), = months
        for m in _THE_NTH.finditer(text):
            d = _safe_date(y, mo, int(m.group("d")))
            if d and not any(o.start <= m.start() < o.end for o in out):
                out.append(Mention(m.start("d"), m.end(), m.group(0)[m.start("d") - m.start():], d,
                                   DateFormat("{d}{sfx}", False, suffix=True)))
    return sorted(out, key=lambda o: o.start)


def _named_date(m: re.Match, kind: str, year: int) -> Mention | None:
    """A date written with a month name, in the layout it was written in."""
    g = m.groupdict()
    mon = g["mon"].lower()
    number, lang, abbr = _MONTH_NUMBER[mon]
    d = _safe_date(year, number, int(g["d"]))
    if not d:
        return None
    dot = "." if m.group(0)[m.end("mon") - m.start():].startswith(".") else ""
    sfx = "{sfx}" if g.get("sfx") else ""
    wd = f"{{wd}}{g['wds']}" if g.get("wd") else ""
    if kind.startswith("d mon"):
        layout = f"{wd}{{d}}{sfx}{g['s1']}{{mon}}{dot}" + (f"{g['s2']}{{y}}" if kind == "d mon y" else "")
    else:
        layout = f"{wd}{{mon}}{dot}{g['s1']}{{d}}{sfx}" + (f"{g['s2']}{{y}}" if kind == "mon d y" else "")
    y = g.get("y") or str(year)
    wd_case = _case(g["wd"]) if g.get("wd") else "title"
    # "19 Feb": a two-digit day says nothing about padding; "09 Feb" does
    return Mention(m.start(), m.end(), m.group(0), d, DateFormat(
        layout, g["d"].startswith("0"), True, len(y), lang, abbr, _case(g["mon"]), bool(g.get("sfx")),
        len(g["wd"]) <= 3 if g.get("wd") else False, wd_case))


def _ordinal(n: int) -> str:
    # no mutate: days 9, 10, 19, 20 get 'th' anyway
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")  # pragma: no mutate


def render_date(value: date, fmt: DateFormat) -> str:
    name = MONTHS[fmt.language][value.month - 1]
    name = name[:3] if fmt.abbreviated else name
    name = {"upper": name.upper(), "lower": name, "title": name.capitalize()}[fmt.case]
    year = f"{value.year:04d}" if fmt.year_digits == 4 else f"{value.year % 100:02d}"
    lang = fmt.language if fmt.language in WEEKDAYS else "en"
    wd = WEEKDAYS[lang][value.weekday()]
    wd = wd[:3] if fmt.weekday_abbreviated else wd
    wd = {"upper": wd.upper(), "lower": wd, "title": wd.capitalize()}[fmt.weekday_case]
    return fmt.layout.format(d=f"{value.day:02d}" if fmt.day_pad else str(value.day),
                             m=f"{value.month:02d}" if fmt.month_pad else str(value.month),
                             y=year, mon=name, sfx=_ordinal(value.day), wd=wd)


def render(value, fmt) -> str:
    """Write `value` the way `fmt` says: a number, a date, or (formats with a `render` method) a time,
    a datetime or a duration."""
    if isinstance(fmt, DateFormat):
        return render_date(value if isinstance(value, date) else date.fromisoformat(value), fmt)
    if isinstance(fmt, NumberFormat):
        return render_number(value, fmt)
    return fmt.render(value)


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
ISO_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
                          r"(?:Z|[+-]\d{2}:?\d{2})?$")


def value_kind(value) -> str | None:
    """'number', 'date', 'time', 'datetime' or 'string' for values that can be spans of a text (a
    string is a date, time or datetime by its ISO shape); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        for kind, shape in (("date", ISO_DATE), ("time", ISO_TIME), ("datetime", ISO_DATETIME)):
            if shape.match(value):
                return kind
        return "string"
    return None


def mentions(value, text: str, kind: str | None = None) -> list[Mention]:
    """Where a value is stated in a text, in any written form (empty when it is not). With a field
    kind (validators/kinds.py KINDS) the value is matched as that kind ("14:30" as a time, a phone
    by its E.164 form); without one, by the value's shape (`value_kind`)."""
    shape = value_kind(value)
    # a number inside a date ("30" of 30/08/2024) or a clock time ("14:30") is part of it, not a number
    if kind is not None or shape in ("number", "time", "datetime"):
        from seedfactory.validators.value_match import mentions_of_kind

        found = mentions_of_kind(value, text, kind or shape)
        if found is not None:
            return found
    if shape == "date":
        y, mo, d = map(int, value.split("-"))
        target = _safe_date(y, mo, d)
        return [m for m in dates_in(text, year=y) if m.value == target]
    if shape in ("string", "time", "datetime"):
        found = [Mention(a, b, text[a:b], value, None) for a, b in string_spans(value, text)]
        if not found and kind == "person" and shape == "string":
            found = surname_first(value, text)
        return found
    return []


def surname_first(value: str, text: str) -> list[Mention]:
    """A person's name written surname first, as tickets, forms and lists do ("OKAFOR/CHIDI MR",
    "Okafor, Chidi"): its format is the separator, which `render_surname_first` writes back."""
    words = value.split()
    if len(words) < 2:
        return []
    rx = re.compile(r"(?<!\w)" + re.escape(words[-1]) + r"(?P<sep>\s*[,/]\s*|\s+)"
                    + r"\s+".join(re.escape(w) for w in words[:-1]) + r"(?!\w)", re.IGNORECASE)
    norm = unicodedata.normalize("NFKC", text)
    return [Mention(m.start(), m.end(), text[m.start():m.end()], value, "surname-first" + m.group("sep"))
            for m in rx.finditer(norm)]


def render_surname_first(new: str, mention: Mention) -> str:
    """`new` written as `mention` wrote its name: surname first, the same separator, the same case."""
    words = new.split()
    out = words[-1] + mention.fmt.removeprefix("surname-first") + " ".join(words[:-1])
    return out.upper() if mention.text.isupper() else out


def is_stated(value, text: str, kind: str | None = None) -> bool:
    """Whether the text states the value: a string as whole words (ignoring case and spacing), any
    other value in any written form of its kind (see `mentions`)."""
    if value_kind(value) == "string" and kind == "person":
        return bool(value.strip()) and bool(mentions(value, text, kind) or len(value) < 3 and fold(value) in fold(text))
    if value_kind(value) == "string" and kind in _WORD_KINDS:
        return bool(value.strip()) and fold(value) in fold(text) and bool(mentions(value, text) or len(value) < 3)
    return bool(mentions(value, text, kind))


_WORD_KINDS = (None, "code", "person", "organisation", "place", "span", "label", "boolean")


# Times, datetimes, contacts, amounts and durations live in sibling modules; they are re-exported
# here lazily (they import Mention from this module).
_SIBLINGS = {
    "seedfactory.validators.value_times": ("TimeFormat", "DateTimeFormat", "times_in", "datetimes_in", "render_time",
                                           "parse_time", "parse_datetime"),
    "seedfactory.validators.value_contacts": ("emails_in", "phones_in", "urls_in"),
    "seedfactory.validators.value_measures": ("DurationFormat", "money_in", "percentages_in", "counts_in",
                                              "durations_in", "parse_duration", "render_duration"),
    "seedfactory.validators.value_match": ("values_of_kind", "forms", "null_but_in_text", "FINDABLE", "contradicting"),
}


def __getattr__(name: str):
    import importlib

    for module, names in _SIBLINGS.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
