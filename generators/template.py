"""Template texts: a base seed's own input with each of its output values replaced by a target's,
written the way the seed wrote it (dates, thousands separators, decimals), and the seed's other money
amounts scaled by the target's factor. Grounded by construction, but only as varied as the seeds'
layouts.

    text = template_text(seed_by_id[t.base_id], t)      # None when the seed's layout cannot carry it
"""

from __future__ import annotations

from datetime import date

from seedfactory.generators.targets import Target
from seedfactory.schemas import SeedExample
from seedfactory.validators.values import dates_in, is_stated, mentions, numbers_in, render, value_kind


def template_text(base: SeedExample, target: Target) -> str | None:
    """The base seed's input with its values replaced by the target's, or None when the layout
    cannot carry the target (a value not found once, two fields on one span, a leftover old value)."""
    if not target.templatable:
        return None
    text = base.input
    edits: list[tuple[int, int, str]] = []
    claimed: set[tuple[int, int]] = set()
    for name in target.changed:
        old, new = base.output[name], target.object[name]
        found = mentions(old, text)
        if not found:
            return None
        for m in found:
            if value_kind(old) == "string":
                rendered = new
            else:
                if value_kind(old) == "date":
                    rendered = render(date.fromisoformat(new), m.fmt)
                else:
                    rendered = render(new, m.fmt)
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
    edits.sort()
    if any(a2 < b1 for (_, b1, _), (a2, _, _) in zip(edits, edits[1:])):
        return None  # two edits on one span: the layout is ambiguous for this target
    out, pos = [], 0
    for a, b, new in edits:
        out.append(text[pos:a] + new)
        pos = b
    result = "".join(out) + text[pos:]
    for name in target.changed:
        if not is_stated(target.object[name], result):
            return None
        old = base.output[name]
        if value_kind(old) == "string" and is_stated(old, result):
            return None  # the seed's value survived somewhere the search did not reach
    return result
