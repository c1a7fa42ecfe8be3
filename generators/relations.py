"""Relations between two fields of one output that every seed keeps, kept by the drawn targets too.

Values drawn one field at a time can break what the seeds take for granted: a reference range whose
low end is above its high end, a salary's minimum above its maximum, a trip whose destination is its
origin. No field name says so; the seeds do. A relation is kept when it holds in every seed that has
both values (at least `MIN_SEEDS` of them):

  a < b    two fields of one ordered family (numbers, money, dates, times, durations), a < b in every seed
  a <= b   the same, where some seeds have them equal
  a != b   two text fields of one kind whose values differ in every seed

    rels = seed_relations(outputs, kinds)        # [("ref_low", "<=", "ref_high"), ("from", "!=", "to")]
    broken = kept(obj, rels, kinds)              # the relations obj breaks (none: [])
"""

from __future__ import annotations

from itertools import combinations

MIN_SEEDS = 3
# kinds whose values compare with each other: a bound read as "number" and its pair read as "quantity"
FAMILY = {"money": "number", "count": "number", "number": "number", "quantity": "number", "percentage": "number",
          "date": "date", "datetime": "datetime", "time": "time", "duration": "duration"}
TEXT = ("span", "code", "place", "person", "organisation", "email", "phone", "url")


def order_key(value, kind: str):
    """A value as something that sorts within its kind, or None when it cannot be read as one."""
    from seedfactory.validators.value_match import _parse_date
    from seedfactory.validators.value_measures import parse_duration
    from seedfactory.validators.value_times import parse_datetime, parse_time

    if isinstance(value, bool):
        return None
    try:
        if kind == "date":
            return _parse_date(value)
        if kind == "time":
            return parse_time(value)
        if kind == "datetime":
            return parse_datetime(value)
        if kind == "duration" and not isinstance(value, (int, float)):
            return parse_duration(value)
        return float(value) if isinstance(value, (int, float)) else None
    except (TypeError, ValueError):
        return None


def seed_relations(outputs: list[dict], kinds: dict) -> list[tuple[str, str, str]]:
    """The order and inequality relations every seed output keeps between two fields of one kind."""
    rels = []
    for a, b in combinations(sorted(kinds), 2):
        kind, other = kinds[a].kind, kinds[b].kind
        pairs = [(o[a], o[b]) for o in outputs if o.get(a) is not None and o.get(b) is not None]
        if len(pairs) < MIN_SEEDS:
            continue
        if FAMILY.get(kind) is not None and FAMILY.get(kind) == FAMILY.get(other):
            keys = [(order_key(x, kind), order_key(y, other)) for x, y in pairs]
            if any(x is None or y is None for x, y in keys):
                continue
            for lo, hi, ks in ((a, b, keys), (b, a, [(y, x) for x, y in keys])):
                if all(x < y for x, y in ks):  # strictly in every seed: a range's bounds never meet
                    rels.append((lo, "<", hi))
                elif all(x <= y for x, y in ks) and any(x < y for x, y in ks):
                    rels.append((lo, "<=", hi))
        elif kind == other and kind in TEXT and all(isinstance(x, str) and x.casefold() != str(y).casefold()
                                                    for x, y in pairs):
            rels.append((a, "!=", b))
    return rels


def broken(obj: dict, rels: list[tuple[str, str, str]], kinds: dict) -> list[tuple[str, str, str]]:
    """The relations `obj` breaks (a null on either side breaks none)."""
    out = []
    for a, op, b in rels:
        x, y = obj.get(a), obj.get(b)
        if x is None or y is None:
            continue
        if op == "!=" and str(x).casefold() == str(y).casefold():
            out.append((a, op, b))
        else:
            kx, ky = order_key(x, kinds[a].kind), order_key(y, kinds[b].kind)
            if kx is not None and ky is not None and (kx > ky or (op == "<" and kx == ky)):
                out.append((a, op, b))
    return out


def keep_relations(obj: dict, base: dict, rels: list[tuple[str, str, str]], kinds: dict, redraw) -> None:
    """Mend `obj` in place: an order broken is mended by swapping the two values (each valid for the
    other field's kind), an equality by drawing the second again (`redraw(field)`), else the base seed's
    values of both fields, which kept every relation."""
    from seedfactory.validators.kinds import check_value

    for _ in range(3):  # a chain (a <= b <= c) may take more than one pass of swaps
        todo = broken(obj, rels, kinds)
        if not todo:
            return
        for a, op, b in todo:
            swappable = check_value(obj[b], kinds[a]) is None and check_value(obj[a], kinds[b]) is None
            if op != "!=" and obj[a] != obj[b] and swappable:
                obj[a], obj[b] = obj[b], obj[a]  # each value valid for the other's kind (a count takes no 2.5)
            else:  # equal where the seeds never are: draw the second again
                for _ in range(10):
                    obj[b] = redraw(b)
                    if not broken(obj, [(a, op, b)], kinds):
                        break
    for a, _, b in broken(obj, rels, kinds):
        obj[a], obj[b] = base.get(a), base.get(b)
