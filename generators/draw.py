"""Draw a new value for a field, valid for its kind and shaped like the seeds' values: real dates
moved within the seeds' span, clock times in the seeds' granularity and hours, e-mails and URLs on
the seeds' domains or Faker's, phones of the seeds' regions (phonenumbers), numbers in the seeds'
range and precision, codes in the seeds' shapes, names from Faker in the seeds' locales mixed with
recombined seed parts, labels and booleans in the seeds' proportions.

    rng = random.Random(7)
    draw_value(kinds["slot"], rng)                  # "10:45"
    draw_value(kinds["date"], rng, base="2024-03-14")   # "2024-05-02"

Deterministic given rng: Faker is re-seeded from rng on every call. Every value drawn passes
`validators.kinds.check_value` (tests/test_draw.py draws 200 of each kind). Nulls and rare labels
are the caller's choice (info["null_share"], info["labels"]).
"""

from __future__ import annotations

import math
import random
import re
from datetime import date, datetime, timedelta
from functools import lru_cache

from seedfactory.validators.kind_checks import check_value, date_format, parse_datetime
from seedfactory.validators.kind_evidence import code_shape
from seedfactory.validators.kinds import FieldKind


@lru_cache(maxsize=None)
def _faker_for(locale: str):
    from faker import Faker

    return Faker(locale)


def _faker(fk: FieldKind, rng: random.Random):
    f = _faker_for(rng.choice(fk.info.get("locales") or ["en_US"]))
    f.seed_instance(rng.randrange(2**32))
    return f


def _case_like(value: str, fk: FieldKind, rng: random.Random) -> str:
    return value.upper() if rng.random() < fk.info.get("upper_share", 0.0) else value


# ---- numbers -------------------------------------------------------------------------------------

def _number(fk: FieldKind, rng: random.Random, base=None) -> float | int:
    info = fk.info
    lo, hi = float(info.get("min", 0)), float(info.get("max", 100))
    if fk.kind == "count" or info.get("integer"):
        lo = max(lo, 0.0) if fk.kind == "count" else lo
    if isinstance(base, (int, float)) and not isinstance(base, bool) and base:
        x = base * rng.uniform(0.5, 1.6)  # near the base: one target's amounts keep their scale
    elif lo > 0 and hi / lo > 20:
        x = math.exp(rng.uniform(math.log(lo), math.log(hi)))  # amounts spread over magnitudes
    else:
        x = rng.uniform(lo, hi)
    if lo >= 0:
        x = abs(x)
    if "min" in info and "max" in info and fk.kind != "money":
        x = min(max(x, lo), hi)  # within the seeds' own range: an oven at 281 °C is no seed's
    bounds = info.get("schema", {})  # the schema's limits: a maximum of 300, a dose above 0
    x = min(max(x, bounds.get("minimum", -math.inf)), bounds.get("maximum", math.inf))
    if info.get("integer") or fk.kind == "count":
        n = int(round(x))
        return max(n, int(lo)) if fk.kind == "count" else n
    if isinstance(base, int) or (isinstance(base, float) and base.is_integer() and fk.kind != "money"):
        return int(round(x)) or 1  # a whole base stays whole: "2 tablets", not "2.37 tablets"
    decimals = info.get("decimals", 2)
    if rng.random() < info.get("integral_share", 0.0):
        return int(round(x))  # as the seeds write a whole amount: 1550, not 1550.0
    return round(x, decimals)


def _amount_text(fk: FieldKind, rng: random.Random) -> str:
    n = _number(fk, rng)
    unit = rng.choice(fk.info.get("units") or ["min"])
    return f"{n:g} {unit}"


def _duration(fk: FieldKind, rng: random.Random, base=None):
    form = fk.info.get("form")
    if form == "iso":  # whole quarters of an hour (or minutes, for short ones) in the seeds' range
        lo, hi = int(fk.info.get("min", 15)), int(fk.info.get("max", 240))
        step = 15 if hi >= 60 else 5
        minutes = max(step, step * round(rng.randint(lo, max(lo, hi)) / step))
        days, rest = divmod(minutes, 1440)
        h, m = divmod(rest, 60)
        clock = (f"{h}H" if h else "") + (f"{m}M" if m else "")
        return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return _amount_text(fk, rng) if form == "text" else _number(fk, rng, base)


# ---- dates and times -----------------------------------------------------------------------------

def _date(fk: FieldKind, rng: random.Random, base=None) -> str:
    info = fk.info
    fmt = info.get("format", "%Y-%m-%d")
    lo = date.fromisoformat(info.get("min", "2024-01-01"))
    span = max(30, int(info.get("span_days", 0)))
    start = (datetime.strptime(base, fmt).date() if isinstance(base, str) and date_format(base) == fmt
             else lo + timedelta(days=rng.randint(0, span)))
    return (start + timedelta(days=rng.randint(-span // 2, span // 2) or 1)).strftime(fmt)


def _clock(fk: FieldKind, rng: random.Random) -> tuple[int, int]:
    info = fk.info
    grain = int(info.get("granularity_minutes", 5))
    hour = rng.randint(int(info.get("hour_min", 8)), int(info.get("hour_max", 18)))
    return hour, rng.randrange(0, 60, grain) if grain < 60 else 0


def _time(fk: FieldKind, rng: random.Random) -> str:
    hour, minute = _clock(fk, rng)
    fmt = fk.info.get("format", "%H:%M")
    text = datetime(2000, 1, 1, hour, minute).strftime(fmt)
    return text.lstrip("0") if fmt.startswith("%I") and rng.random() < 0.5 else text


def _datetime(fk: FieldKind, rng: random.Random, base=None) -> str:
    info = fk.info
    start = (parse_datetime(base) if isinstance(base, str) else None) or \
        parse_datetime(info.get("min", "2024-01-01T09:00:00")) or datetime(2024, 1, 1)
    day = start.date() + timedelta(days=rng.randint(-30, 30))
    hour, minute = _clock(fk, rng)
    stamp = datetime(day.year, day.month, day.day, hour, minute)
    spec = "seconds" if info.get("format") == "iso-seconds" else "minutes"
    return stamp.isoformat(timespec=spec) + info.get("suffix", "")


# ---- contacts ------------------------------------------------------------------------------------

def _ascii(text: str) -> str:
    import unicodedata

    return re.sub(r"[^a-z0-9.]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def _email(fk: FieldKind, rng: random.Random) -> str:
    f = _faker(fk, rng)
    domains = fk.info.get("domains") or []
    domain = rng.choice(domains) if domains and rng.random() < 0.5 else f.free_email_domain()
    local = _ascii(rng.choice([f"{f.first_name()}.{f.last_name()}", f.first_name(), f.user_name()])).strip(".")
    return f"{local or 'info'}@{domain}"


def _phone(fk: FieldKind, rng: random.Random) -> str:
    import phonenumbers as pn

    region = rng.choice(fk.info.get("regions") or ["US"])
    kind = rng.choice([pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE])
    example = pn.example_number_for_type(region, kind) or pn.example_number(region) or pn.example_number("US")
    style = getattr(pn.PhoneNumberFormat, fk.info.get("style", "INTERNATIONAL"))
    digits = str(example.national_number)
    keep = max(2, len(digits) - 4)  # the area / mobile prefix stays, the subscriber digits change
    for _ in range(30):
        tail = "".join(str(rng.randint(0, 9)) for _ in range(len(digits) - keep))
        num = pn.PhoneNumber(country_code=example.country_code, national_number=int(digits[:keep] + tail))
        if pn.is_valid_number(num):
            return pn.format_number(num, style)
    return pn.format_number(example, style)


def _url(fk: FieldKind, rng: random.Random) -> str:
    f = _faker(fk, rng)
    domains = fk.info.get("domains") or []
    host = rng.choice(domains) if domains and rng.random() < 0.5 else f"www.{f.domain_name()}"
    path = f.uri_path() if rng.random() < 0.6 else ""
    scheme = "" if fk.info.get("bare") and rng.random() < 0.5 else rng.choice(fk.info.get("schemes") or ["https"]) + "://"
    return f"{scheme}{host}/{path}".rstrip("/")


# ---- codes, names, text --------------------------------------------------------------------------

def _code(fk: FieldKind, rng: random.Random, base=None) -> str:
    values = fk.info.get("values") or ["A-0000"]
    template = base if isinstance(base, str) and code_shape(base) in fk.info.get("shapes", []) else rng.choice(values)
    redraw_letters = rng.random() < 0.25
    out = []
    for i, ch in enumerate(template):
        if ch.isdigit():
            first = i == 0 or not template[i - 1].isdigit()
            out.append(str(rng.randint(1 if first and ch != "0" else 0, 9)))
        elif ch.isascii() and ch.isalpha() and redraw_letters:
            letter = chr(rng.randint(ord("a"), ord("z")))
            out.append(letter.upper() if ch.isupper() else letter)
        else:
            out.append(ch)
    return "".join(out)


def _recombined(fk: FieldKind, rng: random.Random) -> str | None:
    """The first word of one seed value with the rest of another (Ana + Lopez, Krämer + Druck GmbH)."""
    values = [v for v in fk.info.get("values", []) if len(v.split()) >= 2]
    if len(values) < 2:
        return None
    a, b = rng.sample(values, 2)
    head = a.split()[0]
    head = head.upper() if b.isupper() else head.capitalize() if head.isupper() else head  # b's case
    return " ".join([head, *b.split()[1:]])


def _name(fk: FieldKind, rng: random.Random) -> str:
    f = _faker(fk, rng)
    # an organisation's head word may be an article ("The Copper Kettle"): it takes a Faker name below
    # a person's first name with another's surname is a person; a place's or a title's halves are not one
    if fk.kind == "person" and rng.random() < 0.3 and (mixed := _recombined(fk, rng)):
        return mixed
    if fk.kind == "person":
        name = f"{f.first_name()} {f.last_name()}"
    elif fk.kind == "organisation":
        values = [v for v in fk.info.get("values", []) if len(v.split()) >= 2]
        if values and rng.random() < 0.5:  # a seed's tail (its trade and legal form) on a new name
            name = " ".join([f.last_name(), *rng.choice(values).split()[1:]])
        else:
            name = f.company()
    else:
        values = fk.info.get("values", [])
        with_numbers = any(any(c.isdigit() for c in v) for v in values)
        with_city = any("," in v for v in values)  # "Via Roma 7" is a street alone; "12 High St, Leeds" has its town
        name = (f"{f.street_address()}, {f.city()}" if with_city else f.street_address()) if with_numbers else f.city()
    return _case_like(name, fk, rng)


def _span(fk: FieldKind, rng: random.Random) -> str:
    # a seed's whole value: halves of two ("Vitamin" + "glucose") read as nonsense in any domain
    return rng.choice(fk.info.get("values") or ["text"])


def _label(fk: FieldKind, rng: random.Random):
    labels = fk.info.get("labels") or {}
    names = list(labels)
    weights = [labels[n] for n in names]
    return rng.choices(names, weights=weights if sum(weights) > 0 else None)[0] if names else None


def draw_value(fk: FieldKind, rng: random.Random, base=None):
    """A new value for the field, valid for its kind and for the schema's own limits; `base` (the
    base seed's value) anchors dates, numbers and codes so one target's values stay in proportion."""
    kind = fk.kind
    if kind == "boolean":
        return rng.random() < fk.info.get("true_share", 0.5)
    if kind == "label":
        return _label(fk, rng)
    text_form = fk.info.get("form") == "text"  # "250 g" strings rather than numbers
    numeric = kind in ("money", "count", "percentage", "number") or (kind == "quantity" and not text_form)
    draw = {"quantity": lambda: _amount_text(fk, rng), "duration": lambda: _duration(fk, rng, base),
            "date": lambda: _date(fk, rng, base), "time": lambda: _time(fk, rng),
            "datetime": lambda: _datetime(fk, rng, base), "email": lambda: _email(fk, rng),
            "phone": lambda: _phone(fk, rng), "url": lambda: _url(fk, rng), "code": lambda: _code(fk, rng, base),
            "span": lambda: _span(fk, rng)}.get(kind, lambda: _name(fk, rng))
    if numeric:
        def draw():
            return _number(fk, rng, base)
    for _ in range(30):  # a rare bad draw (an odd Faker name, a code off the schema's pattern): again
        value = draw()
        if check_value(value, fk) is None and fits_schema(value, fk.info.get("schema", {})):
            return value
    raise ValueError(f"{fk.field}: no valid {fk.kind} drawn in 30 tries (last {value!r}: {check_value(value, fk)})")


def fits_schema(value, bounds: dict) -> bool:
    """The property's scalar constraints (pattern, bounds, lengths), checked by jsonschema."""
    if not bounds:
        return True
    from jsonschema import Draft202012Validator

    return Draft202012Validator(bounds).is_valid(value)
