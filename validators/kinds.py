"""Field kinds: what each top-level output field holds (a date, a time, money, a code, a person's
name, a label, ...), inferred from the JSON schema and from the seeds' values and how their inputs
write them, with the evidence and what drawing and checking need (`info`).

    kinds = infer_kinds(schema, seeds, overrides={"slot": "time"})   # overrides: seeds.field_kinds
    kinds["date"].kind, kinds["date"].evidence   # "date", "schema pattern matches 2024-03-14; ..."
    check_value("76:17", kinds["slot"])          # "hour 76 is not 0-23"
    kinds_table(kinds)                           # JSON-able, for validate/calibration.json

The schema speaks first (enum, boolean, format, a pattern that a date or time matches), then the
values: shapes that parse (times before codes: "14:30" holds digits and is never an id), numbers
by what stands next to them in the input (a currency, a %, a unit), small repeated sets as labels,
names by Faker's lists of real names for the seeds' locales, codes by shape, else free text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from seedfactory.schemas import SeedExample
from seedfactory.validators.kind_checks import (
    check_value,
    date_format,
    decimals_of,
    is_email,
    is_iso_duration,
    is_url,
    iso_minutes,
    parse_datetime,
    parse_time,
    text_amount,
    time_problem,
)
from seedfactory.validators.kind_evidence import (
    CURRENCIES,
    TIME_UNITS,
    code_shape,
    context_of,
    field_name_kind,
    is_unit,
    locales_of,
    parse_phone,
    phone_regions,
)
from seedfactory.validators.values import mentions

__all__ = ["KINDS", "FieldKind", "check_value", "infer_kinds", "kinds_table"]

KINDS = ("date", "time", "datetime", "duration", "money", "quantity", "count", "percentage", "number", "email",
         "phone", "url", "code", "person", "organisation", "place", "span", "label", "boolean")
_FORMATS = {"date": "date", "time": "time", "date-time": "datetime", "email": "email", "idn-email": "email",
            "uri": "url", "iri": "url", "url": "url", "duration": "duration"}
# Values a schema pattern is tried on: a pattern that accepts one of them says the kind.
_PROBES = [("datetime", "2024-03-14T14:30:00"), ("date", "2024-03-14"), ("time", "14:30"), ("time", "14:30:00"),
           ("email", "ana.lopez@example.com"), ("url", "https://example.com/a")]


_SCHEMA_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "pattern", "minLength",
                  "maxLength")


@dataclass
class FieldKind:
    field: str
    kind: str
    nullable: bool
    evidence: str
    info: dict = field(default_factory=dict)


def _types(prop: dict) -> set[str]:
    t = prop.get("type", [])
    return {t} if isinstance(t, str) else set(t)


def _parses(kind: str, v, regions: tuple[str, ...] = ()) -> bool:
    if not isinstance(v, str):
        return False
    return {"datetime": lambda: parse_datetime(v) is not None, "date": lambda: date_format(v) is not None,
            "time": lambda: parse_time(v) is not None and time_problem(v) is None,
            "duration": lambda: is_iso_duration(v) or bool((a := text_amount(v)) and a[1].casefold() in TIME_UNITS),
            "email": lambda: is_email(v), "url": lambda: is_url(v, bare=True),
            "phone": lambda: (v.lstrip().startswith("+") or sum(c.isdigit() for c in v) >= 9)
            and parse_phone(v, list(regions)) is not None}[kind]()


def _share_line(kind: str, values: list, locales: list[str] = ()) -> tuple[float, str]:
    regions = tuple(loc.split("_")[1] for loc in locales if "_" in loc)  # for phones written without +
    k = sum(_parses(kind, v, regions) for v in values)
    return (k / len(values) if values else 0.0), f"{k}/{len(values)} seed values parse as {kind}s"


def _number_kind(pairs: list[tuple[float, str]], integral: bool) -> tuple[str, str]:
    """money, percentage, duration, quantity, count or number, by what the inputs write next to them."""
    ctx = [context_of(text, m.start, m.end) for v, text in pairs for m in mentions(v, text)[:1]]
    n = len(ctx)
    cur, pct = sum(c["currency"] for c in ctx), sum(c["percent"] for c in ctx)
    words = Counter(c["word"] for c in ctx if is_unit(c["word"]))
    if n and cur >= 0.3 * n:
        return "money", f"{cur}/{n} seed inputs write a currency next to the value"
    if n and pct >= 0.5 * n:
        return "percentage", f"{pct}/{n} seed inputs write % after the value"
    if words and (k := sum(words.values())) >= 0.5 * n:
        timed = sum(c for w, c in words.items() if w in TIME_UNITS)
        kind = "duration" if timed > k / 2 else "quantity"
        units = ", ".join(w for w, _ in words.most_common(4))
        return kind, f"{k}/{n} seed inputs write a unit after the value ({units})"
    if integral and all(v >= 0 for v, _ in pairs):
        return "count", "whole numbers, never negative, no unit or currency in the inputs"
    return "number", "numbers with no unit, currency or % in the inputs"


def _guess(prop: dict, pairs: list, locales: list[str]) -> tuple[str, str]:
    values = [v for v, _ in pairs]
    types = _types(prop)
    if "enum" in prop:
        return "label", f"schema enum of {len(prop['enum'])} values"
    if types & {"boolean"} or (values and all(isinstance(v, bool) for v in values)):
        return "boolean", "schema type boolean" if "boolean" in types else "seed values are all true/false"
    if (fmt := prop.get("format")) in _FORMATS:
        kind = _FORMATS[fmt]
        return kind, f"schema format {fmt}; " + _share_line(kind, values)[1]
    if pattern := prop.get("pattern"):
        import re

        for kind, probe in _PROBES:  # a loose pattern ("[0-9 ()-]+") accepts a date too: the seeds decide
            share, line = _share_line(kind, values, locales)
            if re.search(pattern, probe) and (share >= 0.8 or not values):
                return kind, f"schema pattern matches {probe}; {line}"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        integral = "integer" in types or all(float(v).is_integer() and "number" not in types for v in values)
        return _number_kind([(v, t) for v, t in pairs], integral)
    if not values or not all(isinstance(v, str) for v in values):
        return "span", "no seed values" if not values else "values are not plain strings; the schema checks them"
    for kind in ("datetime", "date", "time", "duration", "email", "url", "phone"):
        share, line = _share_line(kind, values, locales)
        if share >= 0.8:
            return kind, line
    amounts = [a for v in values if (a := text_amount(v))]
    if len(amounts) >= 0.8 * len(values):
        units = Counter(u for _, u in amounts)
        kind = "money" if any(u.upper() in CURRENCIES for u in units) else "quantity"
        return kind, f"{len(amounts)}/{len(values)} seed values are a number and a unit ({', '.join(units)})"
    distinct = Counter(values)
    if len(distinct) < len(values) and len(distinct) <= max(2, len(values) // 3) and max(map(len, distinct)) <= 40:
        return "label", f"{len(distinct)} distinct values repeated across {len(values)} seeds"
    kind, why = field_name_kind(values, locales)
    if kind:
        return kind, why
    coded = [v for v in values if not any(c.isspace() for c in v.strip()) and any(c.isdigit() for c in v)]
    if len(coded) >= 0.5 * len(values):
        return "code", f"{len(coded)}/{len(values)} seed values are one token with digits (shapes " + \
            ", ".join(sorted({code_shape(v) for v in coded})[:5]) + ")"
    return "span", "free text: no shape, set or name list fits the seed values"


def _number_info(values: list) -> dict:
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not nums:
        return {}
    return {"min": min(nums), "max": max(nums), "decimals": max(decimals_of(v) for v in nums),
            "integral_share": round(sum(v.is_integer() for v in nums) / len(nums), 3),
            "integer": all(isinstance(v, int) or float(v).is_integer() for v in values
                           if isinstance(v, (int, float)))}


def _info(kind: str, prop: dict, pairs: list, locales: list[str]) -> dict:
    values = [v for v, _ in pairs if v is not None]
    info: dict = {"null_share": round(1 - len(values) / len(pairs), 3) if pairs else 0.0}
    if bounds := {k: prop[k] for k in _SCHEMA_BOUNDS if k in prop}:
        info["schema"] = bounds  # what a drawn value must also meet (a pattern, a maximum)
    strs = [v for v in values if isinstance(v, str)]
    if kind in ("money", "quantity", "count", "percentage", "number", "duration"):
        info |= _number_info(values)
        ctx = [context_of(t, m.start, m.end)["word"] for v, t in pairs if v is not None
               and not isinstance(v, str) for m in mentions(v, t)[:1]]
        amounts = [a for v in strs if (a := text_amount(v))]
        units = [u for _, u in amounts] or [w for w in ctx if is_unit(w)]
        if kind in ("quantity", "duration"):  # money's neighbours are currencies, not units
            info["units"] = [u for u, _ in Counter(units).most_common(3)]
        if amounts:
            info |= _number_info([a for a, _ in amounts]) | {"form": "text"}
        if kind == "duration" and (minutes := [m for v in strs if (m := iso_minutes(v)) is not None]):
            info |= {"form": "iso", "min": min(minutes), "max": max(minutes), "integer": True}
    elif kind == "label":
        counts = Counter(str(v) for v in values)
        labels = [str(v) for v in prop.get("enum", []) if v is not None] or list(counts)
        info["labels"] = {lab: round(counts[lab] / max(1, len(values)), 3) for lab in labels}
    elif kind == "boolean":
        info["true_share"] = round(sum(v is True for v in values) / len(values), 3) if values else 0.5
    elif kind == "date":
        fmts = Counter(f for v in strs if (f := date_format(v)))
        fmt = fmts.most_common(1)[0][0] if fmts else "%Y-%m-%d"
        days = sorted(datetime.strptime(v, fmt).date() for v in strs if date_format(v) == fmt)
        info["format"] = fmt
        if days:
            info |= {"min": days[0].isoformat(), "max": days[-1].isoformat(), "span_days": (days[-1] - days[0]).days}
    elif kind in ("time", "datetime"):
        info |= _clock_info(kind, strs)
    elif kind in ("email", "url"):
        hosts = [v.split("@")[-1].lower() if kind == "email" else v.split("://")[-1].split("/")[0].lower()
                 for v in strs]
        info["domains"] = sorted(set(hosts))
        if kind == "url":
            info["bare"] = any("://" not in v for v in strs)
            info["schemes"] = sorted({v.split("://")[0] for v in strs if "://" in v}) or ["https"]
    elif kind == "phone":
        info |= _phone_info(strs, locales)
    elif kind == "code":
        info |= {"shapes": sorted({code_shape(v) for v in strs}), "max_len": max(map(len, strs), default=12),
                 "separators": "".join(sorted({c for v in strs for c in v if not c.isalnum() and not c.isspace()})),
                 "spaces": any(" " in v.strip() for v in strs), "values": strs[:50]}
    elif kind in ("person", "organisation", "place", "span"):
        info |= {"values": strs[:50], "locales": locales, "max_chars": max(map(len, strs), default=40),
                 "upper_share": round(sum(v.isupper() for v in strs) / len(strs), 3) if strs else 0.0}
    return info


def _clock_info(kind: str, strs: list[str]) -> dict:
    if kind == "time":
        times = [(v, p) for v in strs if (p := parse_time(v))]
        # 12-hour values go to 24-hour hours, so the drawn hour range is the seeds' real one
        clocks = [(h % 12 + 12 * ("p" in v.lower()) if ap else h, m) for v, (h, m, _, ap) in times]
        ampm, seconds = any(p[3] for _, p in times), any(v.count(":") == 2 for v in strs)
        form = "%I:%M %p" if ampm else "%H:%M:%S" if seconds else "%H:%M"
    else:
        stamps = [d for v in strs if (d := parse_datetime(v))]
        clocks = [(d.hour, d.minute) for d in stamps]
        form = "iso-seconds" if any(v.count(":") >= 2 for v in strs) else "iso-minutes"
    minutes = [m for _, m in clocks]
    grain = next((g for g in (60, 30, 15, 10, 5) if minutes and all(m % g == 0 for m in minutes)), 1)
    hours = [h for h, _ in clocks] or [9, 17]
    out = {"format": form, "granularity_minutes": grain, "hour_min": min(hours), "hour_max": max(hours)}
    if kind == "datetime" and stamps:
        out |= {"min": min(stamps).isoformat(), "max": max(stamps).isoformat(),
                "suffix": "Z" if any(v.endswith("Z") for v in strs) else ""}
    return out


def _phone_info(strs: list[str], locales: list[str]) -> dict:
    import phonenumbers as pn

    regions = phone_regions(strs, locales)
    styles = Counter()
    for v in strs:
        if num := parse_phone(v, regions):
            for name in ("E164", "INTERNATIONAL", "NATIONAL"):
                if pn.format_number(num, getattr(pn.PhoneNumberFormat, name)) == v.strip():
                    styles[name] += 1
                    break
    return {"regions": regions, "style": styles.most_common(1)[0][0] if styles else "INTERNATIONAL"}


def infer_kinds(schema: dict | None, seeds: list[SeedExample], overrides: dict[str, str] | None = None
                ) -> dict[str, FieldKind]:
    """The kind of every top-level output field; `overrides` (seeds.field_kinds) win."""
    if not schema:
        return {}
    props = schema.get("properties", {})
    for key, kind in (overrides or {}).items():
        if kind not in KINDS:
            raise ValueError(f"seeds.field_kinds.{key}: unknown kind {kind!r}; one of {', '.join(KINDS)}")
        if key not in props:
            raise ValueError(f"seeds.field_kinds.{key}: no such output field (fields: {', '.join(props)})")
    rows = [(s.output, s.input or s.prompt) for s in seeds if isinstance(s.output, dict)]
    locales = locales_of([t for _, t in rows])
    out = {}
    for name, prop in props.items():
        pairs = [(o.get(name), text) for o, text in rows]
        present = [(v, t) for v, t in pairs if v is not None]
        nullable = "null" in _types(prop) or None in prop.get("enum", []) or len(present) < len(pairs)
        if name in (overrides or {}):
            kind, why = overrides[name], "seeds.field_kinds override"
        else:
            kind, why = _guess(prop, present, locales)
        out[name] = FieldKind(name, kind, nullable, why, _info(kind, prop, pairs, locales))
        lists = [(v, t) for v, t in present if isinstance(v, list)]
        if lists and len(lists) == len(present) and all(not isinstance(x, (dict, list)) for v, _ in lists for x in v):
            # a list's items are this field's values many times over: their kind, inferred the same way
            items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
            each = [SeedExample(id=f"i{k}", instruction="-", input=t, output={name: x})
                    for k, (x, t) in enumerate((x, t) for v, t in lists for x in v)]
            if each:
                out[name].info["items"] = infer_kinds({"properties": {name: items}}, each)[name]
        objects = [(v, t) for v, t in present if isinstance(v, dict)]
        if objects and len(objects) == len(present) and all(not isinstance(x, (dict, list))
                                                            for v, _ in objects for x in v.values()):
            # an object's fields (an address's street, city, postcode): kinds of their own, the same way
            sub = prop.get("properties") or {k: {} for v, _ in objects for k in v}
            each = [SeedExample(id=f"o{k}", instruction="-", input=t, output=v) for k, (v, t) in enumerate(objects)]
            out[name].info["fields"] = infer_kinds({"properties": sub}, each)
    return out


def kinds_table(kinds: dict[str, FieldKind]) -> dict:
    """JSON-able {field: {kind, nullable, evidence, info}} (dates already ISO strings)."""
    def plain(x):
        return x.isoformat() if isinstance(x, date) else x
    return {name: {k: plain(v) for k, v in asdict(fk).items() if k != "field"} for name, fk in kinds.items()}
