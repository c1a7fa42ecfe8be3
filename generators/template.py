"""Template texts: a base seed's own input with each of its output values replaced by a target's,
written the way the seed wrote it (dates, thousands separators, decimals), and the seed's other money
amounts scaled by the target's factor. Grounded by construction, but only as varied as the seeds'
layouts.

    text = template_text(seed_by_id[t.base_id], t)      # None when the seed's layout cannot carry it
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time

from seedfactory.generators.lists import compound, flatten, item_kind
from seedfactory.generators.targets import Target
from seedfactory.schemas import SeedExample
from seedfactory.validators.values import (
    dates_in,
    is_stated,
    mentions,
    numbers_in,
    render,
    render_surname_first,
    value_kind,
)


def _kind(kinds: dict | None, name: str) -> str | None:
    fk = (kinds or {}).get(name)
    return getattr(fk, "kind", fk)


# the English words the renderers below write; a mention in other words keeps its own (digits changed)
ENGLISH = {"every", "hour", "hours", "times", "time", "a", "an", "day", "days", "daily", "week", "weeks", "minute",
           "minutes", "min", "mins", "h", "hr", "hrs", "once", "twice", "thrice", "and", "half", "quarter", "of",
           "g", "kg", "mg", "ml", "l", "cup", "cups", "tbsp", "tsp", "piece", "pieces", "month", "months", "year",
           "years", "second", "seconds", "sec", "secs", "d", "w", "wk", "wks", "m", "s"}


def _number_words() -> set[str]:
    from seedfactory.validators.value_times import WORD_NUMBERS

    return set(WORD_NUMBERS) | {"twenty", "thirty", "forty", "fifty", "sixty"}


def _words(n: int) -> str:
    from seedfactory.validators.value_times import WORD_NUMBERS

    return WORD_NUMBERS[n] if 0 <= n < len(WORD_NUMBERS) else str(n)


def written_mentions(value, text: str, kind: str | None) -> list:
    """Where a value is written in a text, one mention per span, without the articles a finder counts
    as one ("a day", "an hour"): those are words of the sentence, not the value to replace."""
    found = mentions(value, text, kind) if kind else mentions(value, text)
    return list({(m.start, m.end): m for m in found if m.text.strip().lower() not in ("a", "an")}.values())


def assign_mentions(found: dict[str, list]) -> dict[str, list]:
    """Each field's mentions, with a span two fields both claim ("2 puffs twice daily": the 2 is the dose
    and could be the count) left to the field that has no other mention; the other keeps its others.
    Mentions are anything with `start` and `end`."""
    own = {f: list(ms) for f, ms in found.items()}

    def clash(a, b) -> bool:
        return a.start < b.end and b.start < a.end

    for _ in range(len(own) + 1):
        moved = False
        for f in own:
            for g in own:
                if f == g:
                    continue
                for m in list(own[f]):
                    against = [n for n in own[g] if clash(m, n)]
                    # g needs this span (it has nothing else), f can do without it: f lets it go
                    if against and len(own[g]) == len(against) and len(own[f]) > 1:
                        own[f].remove(m)
                        moved = True
        if not moved:
            break
    return own


def _render_like(old, new, m, kind: str | None) -> str | None:
    """`new` written the way mention `m` wrote `old` (its format, its unit, digits or words); None when
    no such form reads back as `new`."""
    from seedfactory.validators.values import forms

    if kind == "datetime" and not isinstance(m.value, datetime) and isinstance(m.value, (date, time)):
        return _datetime_part(old, new, m)
    rendered = None
    said = m.text.strip().lower()
    foreign = [w for w in re.findall(r"[^\W\d_]+", said) if w not in ENGLISH and w not in _number_words()]
    try:
        if foreign and kind in ("count", "duration", "quantity"):
            # words we cannot write in the seed's language ("zweimal", "10 Tage"): change the digits only,
            # where the digits are the value itself, else give the target up
            digits = re.findall(r"\d+(?:[.,]\d+)?", said)
            whole = isinstance(new, (int, float)) and float(new).is_integer()
            if len(digits) == 1 and float(digits[0].replace(",", ".")) == float(old) and whole:
                a = m.text.index(digits[0])
                rendered = m.text[:a] + str(int(new)) + m.text[a + len(digits[0]):]
        elif kind == "count" and isinstance(new, int) and said.startswith("every ") and new > 0:
            rendered = f"every {24 // new} hours" if 24 % new == 0 else f"{new} times a day"  # a per-day count
        elif kind == "count" and isinstance(new, int) and said in ("once", "twice", "thrice"):
            rendered = {1: "once", 2: "twice"}.get(new) or f"{_words(new)} times"
        elif isinstance(new, str) and isinstance(m.fmt, str) and m.fmt.startswith("surname-first"):
            rendered = render_surname_first(new, m)
        elif isinstance(new, str) and (m.fmt is None or isinstance(m.fmt, str)):
            rendered = new  # names, codes, e-mails, phones: the value itself
        elif kind == "duration" and isinstance(old, (int, float)) and old and isinstance(new, (int, float)):
            per = round(m.value.total_seconds() / old)  # the unit the value counts: "a week" for 7 is days
            unit = {60: "minute", 3600: "hour", 86400: "day", 604800: "week"}.get(per)
            number = f"{new:g}"
            rendered = f"{number} {unit}{'' if new == 1 else 's'}" if unit else None
        elif m.fmt is not None and not isinstance(m.fmt, str):
            if kind == "money" and isinstance(new, (int, float)) and not m.text.lstrip().startswith("-"):
                new = abs(new)  # the text carries the sign outside the amount ("DR", "-£", "debit"): keep it so
            rendered = render(date.fromisoformat(new) if value_kind(old) == "date" else new, m.fmt)
    except (TypeError, ValueError, AttributeError):
        rendered = None
    if rendered is None or not is_stated(new, rendered, kind):
        options = [f for f in (forms(new, kind) if kind else []) if is_stated(new, f, kind)]
        wordy = m.text.strip()[:1].isalpha()  # "three" stays a word, "3" stays digits
        same = [f for f in options if f.strip()[:1].isalpha() == wordy]
        rendered = (same or options or [None])[0]
    if rendered and not isinstance(new, str) and m.text[:1].isupper() and rendered[:1].islower():
        rendered = rendered[0].upper() + rendered[1:]  # "Two decisions" at a sentence's start: "Three", not "three"
    return rendered


def _datetime_part(old, new, m) -> str | None:
    """A datetime the seed states apart ("on 14 March 2027 ... departs 07:55"): the date mention takes
    the new date and the time mention the new time, each in the mention's own form."""
    from seedfactory.validators.value_times import parse_datetime

    was, now = parse_datetime(old), parse_datetime(new)
    if was is None or now is None:
        return None
    if isinstance(m.value, date):
        return _render_like(was.date().isoformat(), now.date().isoformat(), m, "date")
    return _render_like(was.time().isoformat("minutes"), now.time().isoformat("minutes"), m, "time")


def template_text(base: SeedExample, target: Target, kinds: dict | None = None) -> str | None:
    """The base seed's input with its values replaced by the target's, or None when the layout
    cannot carry the target (a value not found once, two fields on one span, a leftover old value).
    With `kinds`, values are found and written as their fields' kinds (validators/kinds.py)."""
    if not target.templatable:
        return None
    if any(compound(kinds, f) for f in base.output):  # lists and objects: one pseudo-field per value
        if any(len(target.object.get(f) or []) != len(base.output.get(f) or []) for f in base.output
               if item_kind(kinds, f) is not None):
            return None  # a list of another length needs another layout
        old_flat, flat_kinds = flatten(base.output, kinds)
        new_flat, _ = flatten(target.object, kinds)
        base = base.model_copy(update={"output": old_flat})
        target = replace(target, object=new_flat, changed=[f for f in new_flat if new_flat[f] != old_flat.get(f)])
        kinds = flat_kinds
    text = base.input
    edits: list[tuple[int, int, str]] = []
    claimed: set[tuple[int, int]] = set()
    done: dict = {}  # old value -> new value already replaced (two fields that shared one value)
    found_by = {name: written_mentions(v, text, _kind(kinds, name)) for name, v in base.output.items()
                if v is not None and not isinstance(v, (bool, dict, list))}
    found_by = assign_mentions(found_by)
    for name in target.changed:
        old, new, kind = base.output[name], target.object[name], _kind(kinds, name)
        if repr(old) in done:
            if done[repr(old)] != repr(new):
                return None  # one span, two new values: this layout cannot carry the target
            continue
        done[repr(old)] = repr(new)
        found = found_by.get(name) or []
        if not found:
            return None
        for m in found:
            rendered = _render_like(old, new, m, kind)
            if rendered is None:
                return None
            edits.append((m.start, m.end, rendered))
            claimed.add((m.start, m.end))
    # Other money amounts (two decimals, not a percentage, not inside a date) scale with the totals,
    # so the line items still add up.
    date_spans = [(d.start, d.end) for d in dates_in(text)]
    for m in numbers_in(text):
        inside = any(a <= m.start and m.end <= b for a, b in date_spans + list(claimed))
        overlaps = any(m.start < b and a < m.end for a, b in claimed)
        if m.fmt.decimals == 2 and not inside and not overlaps and not text[m.end:m.end + 2].lstrip().startswith("%"):
            edits.append((m.start, m.end, render(round(m.value * target.factor, 2), m.fmt)))
            claimed.add((m.start, m.end))
    # an edit inside a longer edit is carried by it (the target's outer value holds the new inner one)
    edits = [(a, b, r) for a, b, r in edits if not any(a2 <= a and b <= b2 and (b2 - a2) > (b - a)
                                                        for a2, b2, _ in edits)]
    edits.sort()
    if any(a2 < b1 for (_, b1, _), (a2, _, _) in zip(edits, edits[1:])):
        return None  # two edits on one span: the layout is ambiguous for this target
    out, pos = [], 0
    for a, b, new in edits:
        out.append(text[pos:a] + new)
        pos = b
    result = "".join(out) + text[pos:]
    for name, value in target.object.items():  # every value the seed stated, changed or not, still stated
        kind = _kind(kinds, name)
        old = base.output.get(name)
        if value is None or old is None or isinstance(old, bool) or (name not in target.changed
                                                                     and not is_stated(old, base.input, kind)):
            continue
        if not is_stated(value, result, kind):
            return None
    for name in target.changed:
        kind = _kind(kinds, name)
        old = base.output[name]
        if value_kind(old) == "string" and kind not in ("date", "time", "datetime") and is_stated(old, result, kind):
            return None  # the seed's value survived somewhere the search did not reach
    return result
