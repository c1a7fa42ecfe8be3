"""List fields (attendees, tags, ingredients) and object fields (an address) in output-first targets:
each value drawn for its kind, and written into a seed's text one by one.

A list's items are one field's values many times over: validators/kinds.py infers their kind the way
a field's is and keeps it in the list field's `info["items"]`. For templating, a list is flattened into
one pseudo-field per item (`people[0]`, `people[1]`), which the template code treats like any other.

    new = draw_list(base_list, kinds["people"].info["items"], rng)
    flat, flat_kinds = flatten(output, kinds)
"""

from __future__ import annotations

import random

from seedfactory.validators.kinds import FieldKind


def draw_list(base: list, fk: FieldKind, rng: random.Random) -> list:
    """As many new items as the base has, each valid for the items' kind, none repeated and none the
    base's own (a list that kept an item would leave the seed's value in the text)."""
    from seedfactory.generators.draw import draw_value

    if fk.kind in ("label", "boolean"):
        return list(base)  # a list of labels is the seed's; its items are not spans to redraw
    seen = {str(x).casefold() for x in base}
    out = []
    for x in base:
        for _ in range(10):
            new = draw_value(fk, rng, base=x)
            if str(new).casefold() not in seen:
                break
        seen.add(str(new).casefold())
        out.append(new)
    return out


def item_kind(kinds: dict | None, name: str) -> FieldKind | None:
    return getattr((kinds or {}).get(name), "info", {}).get("items")


def field_kinds(kinds: dict | None, name: str) -> dict | None:
    return getattr((kinds or {}).get(name), "info", {}).get("fields")


def compound(kinds: dict | None, name: str) -> bool:
    """A list field with an item kind, or an object field with kinds for its fields."""
    return item_kind(kinds, name) is not None or field_kinds(kinds, name) is not None


def draw_object(base: dict, fks: dict, draw) -> dict:
    """An object field's values drawn anew for their kinds (`draw(name, value, fk)`); labels, booleans
    and nulls stay the base's."""
    return {k: draw(k, v, fks[k]) if v is not None and k in fks and fks[k].kind not in ("label", "boolean") else v
            for k, v in base.items()}


def flatten(output: dict, kinds: dict | None) -> tuple[dict, dict]:
    """The output with each list field replaced by one pseudo-field per item (`people[0]`) and each
    object field by one per field (`address.city`), and the kinds to match them by."""
    flat, flat_kinds = {}, dict(kinds or {})
    for name, value in output.items():
        fk, fks = item_kind(kinds, name), field_kinds(kinds, name)
        if fk is not None and isinstance(value, list):
            for i, x in enumerate(value):
                flat[f"{name}[{i}]"] = x
                flat_kinds[f"{name}[{i}]"] = fk
            flat_kinds.pop(name, None)
        elif fks is not None and isinstance(value, dict):
            for k, x in value.items():
                flat[f"{name}.{k}"] = x
                if k in fks:
                    flat_kinds[f"{name}.{k}"] = fks[k]
            flat_kinds.pop(name, None)
        else:
            flat[name] = value
    return flat, flat_kinds
