"""How varied a set of inputs is beyond its values: an input's layout is its text with every output
value's mention replaced by the field's slot, digits by 0 and month names by M, case and spacing
folded. Two rows that differ only in their values share a layout; a template row shares its base
seed's layout; a rewrite in new words does not.

    layout("Meet Ana Ruiz on 3 March at 14:30", {"name": "Ana Ruiz", ...}, kinds)
        -> "meet <name> on <date> at <time>"
    layout_stats(rows, seeds, kinds)
        -> {"rows", "distinct_layouts", "top_layout_share", "not_seed_wording"}
"""

from __future__ import annotations

import re
from collections import Counter

from seedfactory.validators.values import MONTHS, fold, mentions

_DIGITS = re.compile(r"\d+")
_MONTH = re.compile(r"\b(?:" + "|".join(sorted({m for names in MONTHS.values() for m in names}
                                                 | {m[:3] for names in MONTHS.values() for m in names},
                                                 key=len, reverse=True)) + r")\b\.?", re.IGNORECASE)


def _kind(kinds: dict | None, name: str) -> str | None:
    fk = (kinds or {}).get(name)
    return getattr(fk, "kind", fk)


def _find(value, text: str, kind: str | None) -> list[tuple[int, int]]:
    try:
        found = mentions(value, text, kind=kind) if kind else mentions(value, text)
    except TypeError:  # a finder without kinds
        found = mentions(value, text)
    return [(m.start, m.end) for m in found]


def layout(text: str, output: dict | None, kinds: dict | None = None) -> str:
    """The input with its values masked (see the module doc)."""
    spans: list[tuple[int, int, str]] = []
    for name, value in (output or {}).items():
        if value is None or isinstance(value, (bool, dict, list)):
            continue
        spans += [(a, b, name) for a, b in _find(value, text, _kind(kinds, name))]
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out, pos = [], 0
    for a, b, name in spans:
        if a < pos:
            continue  # inside a longer mention already masked
        out.append(text[pos:a] + f"\x00{name}\x01")
        pos = b
    masked = "".join(out) + text[pos:]
    masked = _MONTH.sub("M", _DIGITS.sub("0", masked))
    return fold(masked).replace("\x00", "<").replace("\x01", ">")


def layout_stats(rows: list, seeds: list, kinds: dict | None = None) -> dict:
    """Distinct layouts among the rows' inputs, the share of the most common one, and the share of
    rows whose layout is none of the seeds' (wording that is not a seed's)."""
    def of(r) -> str:
        return layout(r.input or "", r.output if isinstance(r.output, dict) else None, kinds)

    seen = Counter(of(r) for r in rows)
    seed_layouts = {of(s) for s in seeds}
    n = sum(seen.values())
    return {"rows": n, "distinct_layouts": len(seen),
            "top_layout_share": round(max(seen.values()) / n, 4) if n else None,
            "not_seed_wording": round(sum(c for lay, c in seen.items() if lay not in seed_layouts) / n, 4) if n
            else None}
