"""Is a value possible for its field's kind? Parsers for the written forms of dates, times,
datetimes, durations, e-mails and URLs, and `check_value`, which says why a value is impossible
(hour 76, 31 February, "a@b", a label outside the set, a count below zero) or None when it is fine.

    check_value("76:17", fk_time)       # "hour 76 is not 0-23"
    check_value("2027-02-31", fk_date)  # "'2027-02-31' is not a real date in the form %Y-%m-%d"

The bounds are generous on purpose: a number may lie far outside the seeds' range (100 times it),
only the impossible and the plainly wrong-shaped leave. `validators.kinds` re-exports check_value.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from seedfactory.validators.kind_evidence import TIME_UNITS, code_shape, parse_phone

if TYPE_CHECKING:
    from seedfactory.validators.kinds import FieldKind

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%Y%m%d")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])?\.?(?:[Mm]\.?)?$")
_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(?:\.\d+)?S)?)?$")
_TEXT_AMOUNT = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*([^\W\d_][^\W\d_ .]{0,15})\.?\s*$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")


# ---- parsers: a value in, the parsed value (or None) out ----------------------------------------

def date_format(value: str) -> str | None:
    """The first of DATE_FORMATS that reads the value as a real date."""
    for fmt in DATE_FORMATS:
        try:
            datetime.strptime(value, fmt)
            return fmt
        except ValueError:
            continue
    return None


def parse_time(value: str) -> tuple[int, int, int, bool] | None:
    """(hour, minute, second, has_am_pm) of a value shaped like a clock time; not range-checked."""
    m = _TIME.match(value.strip()) if isinstance(value, str) else None
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), m.group(4) is not None


def time_problem(value: str) -> str | None:
    parsed = parse_time(value)
    if parsed is None:
        return f"{value!r} is not a time (HH:MM)"
    hour, minute, second, ampm = parsed
    if ampm and not 1 <= hour <= 12:
        return f"hour {hour} is not 1-12 with am/pm"
    if hour > 23:
        return f"hour {hour} is not 0-23"
    if minute > 59:
        return f"minute {minute} is not 0-59"
    if second > 59:
        return f"second {second} is not 0-59"
    return None


def parse_datetime(value: str) -> datetime | None:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def is_iso_duration(value) -> bool:
    return isinstance(value, str) and bool(_ISO_DURATION.match(value))


def iso_minutes(value: str) -> float | None:
    """Minutes of an ISO 8601 duration ("PT1H30M" -> 90); years and months as 365 and 30 days."""
    m = _ISO_DURATION.match(value) if isinstance(value, str) else None
    if not m:
        return None
    per = {"Y": 525600, "M": 43200, "W": 10080, "D": 1440}
    total = sum(float(g[:-1]) * per[g[-1]] for g in m.groups()[:4] if g)
    time_per = {"H": 60, "M": 1, "S": 1 / 60}
    return total + sum(float(g[:-1]) * time_per[g[-1]] for g in m.groups()[5:] if g)


def text_amount(value) -> tuple[float, str] | None:
    """(number, unit) of a string like "250 g", "45 min" or "3,5 kg"."""
    m = _TEXT_AMOUNT.match(value) if isinstance(value, str) else None
    return (float(m.group(1).replace(",", ".")), m.group(2)) if m else None


def is_email(value) -> bool:
    return isinstance(value, str) and bool(EMAIL.match(value)) and ".." not in value


def is_url(value, bare: bool = False) -> bool:
    """An http(s)/ftp URL with a real host name; with bare, "www.x.org/path" (no scheme) too."""
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value if "://" in value or not bare else "http://" + value)
    return parts.scheme in ("http", "https", "ftp") and bool(_HOST.match(parts.hostname or ""))


def decimals_of(value: float) -> int:
    if isinstance(value, int) or float(value).is_integer():
        return 0
    return len(repr(float(value)).split(".")[1].rstrip("0")) if "e" not in repr(float(value)) else 6


# ---- the check ------------------------------------------------------------------------------------

def _number_problem(value, fk: FieldKind) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} is not a number"
    info = fk.info
    if info.get("integer") and not float(value).is_integer():
        return f"{value} is not a whole number (the seeds' {fk.field} values all are)"
    if value < 0 and (fk.kind == "count" or info.get("min", 0) >= 0):
        return f"{value} is negative; the seeds' {fk.field} values never are"
    allowed = max(2, info.get("decimals", 0)) if fk.kind == "money" else info.get("decimals", 0) + 2
    if decimals_of(value) > allowed:
        return f"{value} has {decimals_of(value)} decimals; at most {allowed} for {fk.kind}"
    scale = max(abs(info.get("min", 0)), abs(info.get("max", 0)), 1.0)
    if fk.kind == "percentage":
        top = max(2 * info.get("max", 0), 1.0 if info.get("max", 0) <= 1 else 100.0)
        if abs(value) > top:
            return f"{value} is beyond {top:g} for a percentage"
    elif abs(value) > 100 * scale:
        return f"{value} is beyond 100 times the seeds' largest {fk.field} ({scale:g})"
    return None


def _code_problem(value, fk: FieldKind) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{value!r} is not a code"
    info = fk.info
    if any(c.isspace() for c in value) and not info.get("spaces"):
        return f"{value!r} holds spaces; no seed code does"
    shapes = info.get("shapes", [])
    if not shapes or code_shape(value) in shapes:
        return None
    # many shapes in the seeds: the field takes free codes; ask only for the seeds' characters
    if len(shapes) >= 3 and len(value) <= 2 * info.get("max_len", len(value)):
        extra = {c for c in value if not c.isalnum()} - set(info.get("separators", ""))
        if not extra:
            return None
    return f"{value!r} (shape {code_shape(value)}) matches none of the seeds' shapes {', '.join(shapes[:6])}"


def _name_problem(value, fk: FieldKind) -> str | None:
    if not isinstance(value, str) or not any(c.isalpha() for c in value):
        return f"{value!r} is not a name of a {fk.kind}"
    if "@" in value or "://" in value or len(value.split()) > 12:
        return f"{value!r} does not read as the name of a {fk.kind}"
    if fk.kind == "person" and any(c.isdigit() for c in value):
        return f"{value!r} holds digits; a person's name does not"
    return None


def _date_problem(value, fk: FieldKind) -> str | None:
    fmt = fk.info.get("format", "%Y-%m-%d")
    try:
        d = datetime.strptime(value, fmt).date() if isinstance(value, str) else None
    except ValueError:
        d = None
    if d is None:
        return f"{value!r} is not a real date in the form {fmt}"
    lo, hi = (date.fromisoformat(fk.info[k]) if fk.info.get(k) else None for k in ("min", "max"))
    if lo and hi and not lo.year - 30 <= d.year <= hi.year + 30:
        return f"year {d.year} is far from the seeds' {lo.year}-{hi.year}"
    return None


def _duration_problem(value, fk: FieldKind) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_problem(value, fk)
    if is_iso_duration(value):
        return None
    amount = text_amount(value)
    if amount and (amount[1].casefold() in TIME_UNITS or amount[1] in fk.info.get("units", [])):
        return None if amount[0] >= 0 else f"{value!r} is a negative duration"
    return f"{value!r} is not a duration"


def check_value(value, fk: FieldKind) -> str | None:
    """None when `value` is possible for the field's kind, else a short reason."""
    if value is None:
        return None if fk.nullable else f"null, but the seeds' {fk.field} is never null"
    kind, info = fk.kind, fk.info
    if kind == "boolean":
        return None if isinstance(value, bool) else f"{value!r} is not true/false"
    if kind == "label":
        labels = info.get("labels", {})
        return None if not labels or str(value) in labels else f"{value!r} is not one of {sorted(labels)[:8]}"
    if kind in ("money", "count", "percentage", "number") or (kind == "quantity" and not isinstance(value, str)):
        return _number_problem(value, fk)
    if kind == "quantity":
        return None if text_amount(value) else f"{value!r} is not a number with a unit"
    if kind == "duration":
        return _duration_problem(value, fk)
    if not isinstance(value, str):
        return None if kind == "span" else f"{value!r} is not a string"
    if kind == "date":
        return _date_problem(value, fk)
    if kind == "time":
        return time_problem(value)
    if kind == "datetime":
        if parse_datetime(value) is None:
            head = value[11:16] if len(value) >= 16 else ""
            return (time_problem(head) if head and time_problem(head) else None) or f"{value!r} is not a datetime"
        return None
    if kind == "email":
        return None if is_email(value) else f"{value!r} is not an e-mail address"
    if kind == "url":
        return None if is_url(value, bare=info.get("bare", False)) else f"{value!r} is not a URL"
    if kind == "phone":
        if date_format(value) not in (None, "%Y%m%d"):  # phonenumbers reads "2024-03-14" as a Berlin number
            return f"{value!r} is a date, not a phone number"
        return None if parse_phone(value, info.get("regions", []), loose=True) else f"{value!r} is not a phone number"
    if kind == "code":
        return _code_problem(value, fk)
    if kind in ("person", "organisation", "place"):
        return _name_problem(value, fk)
    return None if value.strip() or fk.nullable else "empty text"
