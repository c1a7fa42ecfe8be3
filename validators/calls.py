"""Tool calls as outputs: each argument's kind, and the checks a call-writing row must pass.

An argument gets a field kind (validators/kinds.py) the way an output field does: from its JSON
schema (type, format, pattern, enum) and the values the seeds' calls give it, read against the seeds'
requests. Array arguments are kinded by their items. A row's calls must be valid under their tools'
schemas (`call_invalid`) and every argument value must be stated in the request (`ungrounded_call`,
the value finder of validators/values.py matching each value as its kind: "half past two" states
14:30, "March 3rd" states 2027-03-03 when the text gives the year). Booleans are not checked for a
mention: a request says "remind everyone" rather than "true".

    kinds = call_kinds(tools, seeds)                      # {tool: {argument: FieldKind}}
    calls_grounded(row, tools=tools, kinds=kinds)         # True or (False, reason, detail)
"""

from __future__ import annotations

from seedfactory.schemas import Example, SeedExample
from seedfactory.schemas.tools import call_errors
from seedfactory.validators.kinds import FieldKind, infer_kinds
from seedfactory.validators.values import is_stated


def _item_schema(prop: dict) -> dict:
    """An array argument's item schema (its kind is its items'); any other argument's own."""
    return prop.get("items", {}) if prop.get("type") == "array" else prop


def call_kinds(tools: list[dict], seeds: list[SeedExample]) -> dict[str, dict[str, FieldKind]]:
    """{tool: {argument: kind}} from each tool's parameter schema and the seeds' calls of it: every
    call (every item of an array argument) is one value, read in the request that asked for it."""
    out = {}
    for tool in tools:
        props = tool["parameters"].get("properties", {})
        schema = {"type": "object", "properties": {k: _item_schema(p) for k, p in props.items()}}
        rows = []
        for s in seeds:
            calls = s.output.get("tool_calls", []) if isinstance(s.output, dict) else []
            for i, c in enumerate(c for c in calls if c.get("name") == tool["name"]):
                args = c.get("arguments", {})
                width = max([len(v) for v in args.values() if isinstance(v, list)], default=1)
                for j in range(width):  # one pseudo-row per array item, scalars repeated
                    obj = {k: (v[j] if j < len(v) else None) if isinstance(v, list) else v for k, v in args.items()}
                    rows.append(SeedExample(id=f"{s.id}#{i}.{j}", instruction=s.prompt, output=obj))
        out[tool["name"]] = infer_kinds(schema, rows) if props else {}
    return out


def _values(prop: dict, value) -> list:
    return value if prop.get("type") == "array" and isinstance(value, list) else [value]


def unstated(calls: list[dict], text: str, tools: list[dict], kinds: dict) -> list[str]:
    """`tool.argument=value` for each argument value the text does not state."""
    by_name = {t["name"]: t for t in tools}
    missing = []
    for c in calls:
        props = by_name[c["name"]]["parameters"].get("properties", {})
        for arg, value in c["arguments"].items():
            fk = kinds.get(c["name"], {}).get(arg)
            for v in _values(props.get(arg, {}), value):
                if isinstance(v, bool) or v is None:
                    continue
                # a numeric enum ("minutes_before": 15) is a label by its schema, but written as a number
                kind = fk.kind if fk and not (fk.kind == "label" and not isinstance(v, str)) else None
                if not is_stated(v, text, kind):
                    missing.append(f"{c['name']}.{arg}={v!r}")
    return missing


# no mutate: every caller passes these by keyword
def calls_grounded(row: Example, *, tools: list[dict], kinds: dict) -> tuple | bool:  # pragma: no mutate
    """The row's calls are valid under their tools and every argument is stated in its request."""
    errors = call_errors(row.output, tools)
    if errors:
        return False, "call_invalid", errors[0]
    missing = unstated(row.output["tool_calls"], row.prompt, tools, kinds)
    if missing:
        return False, "ungrounded_call", f"the request does not state {', '.join(missing[:4])}"
    return True
