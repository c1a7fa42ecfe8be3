"""The first validation stage: parse structured outputs, check them against the seed set's JSON
schema and each value against its field's kind (invalid_value: hour 76, 31 February; kinds from
validators/kinds.py), and drop rows no one should train on (empty, too short or long, echoing the
prompt, copying a seed, lacking an input where every seed has one), then the calibrated
input-quality and grounding checks of validators/quality.py.

Each check is a small function of one row returning True (keep) or (False, reason, detail),
as datatrove's filters do; `parse_and_filter` builds the list once per run, applies it in
order and sends the first failure to env.reject. Run it through the runner, or directly:

    rows = list(parse_and_filter(rows, env))
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Literal

from jsonschema import Draft202012Validator

from seedfactory.schemas import Example, SeedExample
from seedfactory.schemas.tools import tools_of
from seedfactory.validators.base import ValidationEnv
from seedfactory.validators.calls import call_kinds, calls_grounded
from seedfactory.validators.kinds import check_value
from seedfactory.validators.quality import quality_filters
from seedfactory.validators.similarity import normalise

Verdict = Literal[True] | tuple[Literal[False], str, str | None]  # pragma: no mutate (a type alias)
Filter = Callable[[Example], Verdict]


def parse_output(row: Example) -> Example:
    """A str output that is a JSON object becomes the dict; anything else is left as it is.

    Teachers asked for structured output still sometimes reply with the JSON as text; the
    schema check then judges the object, and a non-object stays a str and fails it.
    """
    if not isinstance(row.output, str):
        return row
    text = row.output.strip()
    if not text.startswith("{"):
        return row
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return row  # stays a str; the schema filter rejects it with the raw text in the row
    return row.model_copy(update={"output": parsed}) if isinstance(parsed, dict) else row


# ---- the filters -----------------------------------------------------------------------------
def not_empty(row: Example) -> Verdict:
    if isinstance(row.output, dict):
        return True if row.output else (False, "empty_output", "output is an empty object")
    return True if row.output.strip() else (False, "empty_output", None)


# no mutate: every caller passes these by keyword
def matches_schema(row: Example, *, validator: Draft202012Validator) -> Verdict:  # pragma: no mutate
    if not isinstance(row.output, dict):
        return False, "schema_invalid", "output is not a JSON object"
    # Sorted by path so "first" is the same error on every run, whatever the schema's key order.
    errors = sorted(validator.iter_errors(row.output), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return True
    return False, "schema_invalid", f"{errors[0].json_path}: {errors[0].message}"


# no mutate: every caller passes these by keyword
def length_ok(row: Example, *, min_chars: int, max_chars: int) -> Verdict:  # pragma: no mutate
    n = len(row.output_text.strip())
    if n < min_chars:
        return False, "too_short", f"{n} chars < validate.min_chars={min_chars}"
    if n > max_chars:
        return False, "too_long", f"{n} chars > validate.max_chars={max_chars}"
    return True


def not_echo(row: Example) -> Verdict:
    out = normalise(row.output_text)
    if out in (normalise(row.instruction), normalise(row.prompt)):
        return False, "echoes_instruction", None
    return True


def has_input(row: Example) -> Verdict:
    # Used only when every seed has an input: a task without one (a bare instruction) is not of
    # the seeds' kind, and small teachers often put the whole example in the instruction.
    return True if row.input.strip() else (False, "missing_input", "every seed has an input; this row has none")


def seed_key(instruction: str, input: str) -> tuple[str, str]:
    return normalise(instruction), normalise(input)


# no mutate: every caller passes these by keyword
def not_seed_copy(row: Example, *, seeds: dict[tuple[str, str], str]) -> Verdict:  # pragma: no mutate
    seed_id = seeds.get(seed_key(row.instruction, row.input))
    return (False, "copies_seed", f"same instruction and input as seed {seed_id}") if seed_id else True


def valid_values(row: Example, *, kinds: dict) -> Verdict:
    """Every output value possible for its field's kind (no hour 76, no 31 February)."""
    if not isinstance(row.output, dict):
        return True
    for name, fk in kinds.items():
        if name in row.output and (why := check_value(row.output[name], fk)):
            return False, "invalid_value", f"{name}={row.output[name]!r} ({fk.kind}): {why}"
    return True


def build_filters(env: ValidationEnv) -> list[Filter]:
    """The checks for this run, in the order they are applied (the first failure is the reason)."""
    cfg = env.cfg
    filters: list[Filter] = [not_empty]
    if env.output_schema is not None:
        # A broken schema is the seed set's fault, not the row's: raise, do not reject every row.
        Draft202012Validator.check_schema(env.output_schema)
        filters.append(partial(matches_schema, validator=Draft202012Validator(env.output_schema)))
        if env.train_seeds:
            # only kinds the seeds themselves pass: a wrong guess of ours must not empty the run
            kinds = env.get_kinds()
            table = env.get_calibration()["kinds"]
            on = {n: fk for n, fk in kinds.items() if table[n]["applied"]}
            if on:
                filters.append(partial(valid_values, kinds=on))
        if tools := tools_of(env.output_schema):  # a tool-call set: valid calls, every argument stated
            filters.append(partial(calls_grounded, tools=tools, kinds=call_kinds(tools, env.train_seeds)))
    filters += [partial(length_ok, min_chars=cfg.min_chars, max_chars=cfg.max_chars), not_echo]
    seeds: list[SeedExample] = [*env.train_seeds, *env.heldout]
    if seeds and all(s.input.strip() for s in seeds):
        filters.append(has_input)
    if env.train_seeds:
        filters += quality_filters(env.get_calibration(), env.get_kinds() or None)
    if seeds:
        keys = {}
        for s in seeds:
            keys.setdefault(seed_key(s.instruction, s.input), s.id)
        filters.append(partial(not_seed_copy, seeds=keys))
    return filters


def parse_and_filter(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Rows that parse and pass every filter, in input order; the rest go to env.reject."""
    filters = build_filters(env)
    for row in rows:
        if env.output_schema is not None:
            row = parse_output(row)
        for check in filters:
            verdict = check(row)
            if verdict is not True:
                _, reason, detail = verdict
                env.reject(row, reason, detail=detail)
                break
        else:
            yield row
