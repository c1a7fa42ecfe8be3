"""Checks that catch junk, calibrated on the seeds.

Every threshold is measured on the train seeds first (what the seeds themselves show), and a check
is applied to generated rows only where at least `validate.min_seed_pass` of the seeds pass it: a
seed set of multilingual invoices turns the language check off by itself, a set whose inputs
hold `{placeholders}` turns the debris check off. `calibrate()` returns the figures as a JSON-able
dict (the validate stage writes it to validate/calibration.json); `quality_filters()` turns it into
row filters.

Input checks (reasons): symbol_run, symbol_share, repeated_ngrams, template_debris,
input_echoes_instruction, input_too_short, input_too_long, wrong_language.
Output checks: ungrounded (a structured output's value that its input does not state; per field,
matched as the field's kind where kinds are given, with the ids of the seeds whose value the finder
could not read as `unread`), value_in_text_but_null (a null while the input states exactly one value
of the field's kind: validators/value_match.null_but_in_text).
The embedding band (off_domain) is `seed_band` in diversity.py; it uses `calibrate_band` here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from seedfactory.schemas import Example, SeedExample
from seedfactory.validators.values import contradicting, is_stated, null_but_in_text, value_kind

Verdict = bool | tuple[bool, str, str | None]

# Template or markup debris: {{x}}, {% x %}, {1}, ${x}, <tag>, [NAME], function-call fragments.
# template syntax, placeholders a model leaves ("[NAME]", "[Your Name]", "[Insert date]") and a model's
# echo of a rewrite request ("Rewrite the text as follows:")
DEBRIS = re.compile(r"\{\{|\}\}|\{%|%\}|\{\d+\}|\$\{|\{#|</?[a-zA-Z][\w-]*(?:\s[^<>]{0,60})?/?>|\[[A-Z][A-Z_]{2,}\]"
                    r"|\b[a-z]+_[a-z_]+\(|(?i:\[(?:your|insert|enter|add|recipient'?s?|sender'?s?)\b[^\]\n]{0,40}\])"
                    r"|(?im:^\W*(?:rewrite the text|rewritten text|edited text|here is the rewritten)\b)")
_WORD = re.compile(r"\w+")


def longest_symbol_run(text: str) -> int:
    """Longest run of one repeated character that is neither a letter, a digit nor a space."""
    best = run = 0
    prev = ""
    for ch in text:
        run = run + 1 if ch == prev and not ch.isalnum() and not ch.isspace() else 1
        prev = ch
        if not ch.isalnum() and not ch.isspace():
            best = max(best, run)
    return best


def symbol_share(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(not c.isalnum() for c in chars) / len(chars) if chars else 0.0


def repeated_ngram_share(text: str, n: int = 3) -> float:
    """Share of word n-grams that repeat an earlier one: a loop reads near 1, prose near 0."""
    words = _WORD.findall(text.lower())
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def echo_score(text: str, instruction: str) -> float:
    """Jaccard of the word sets: how much an input is the instruction said again."""
    a, b = set(_WORD.findall(text.lower())), set(_WORD.findall(instruction.lower()))
    return len(a & b) / len(a | b) if a and b else 0.0  # pragma: no mutate (an empty set: 0.0 either way)


def language(text: str) -> str:
    import py3langid

    return py3langid.classify(text)[0]


# ---- calibration ---------------------------------------------------------------------------------

def span_fields(schema: dict | None, outputs: list[dict], kinds: dict | None = None) -> list[str]:
    """Top-level fields whose values can be spans of the input: strings, numbers and dates that are
    not enums or booleans in the schema (nor labels or booleans by their field kind)."""
    if not schema:
        return []
    fields = []
    for name, prop in schema.get("properties", {}).items():
        if "enum" in prop or "const" in prop or _kind_of(kinds, name) in ("label", "boolean"):
            continue
        shapes = {value_kind(o.get(name)) for o in outputs if o.get(name) is not None}
        if shapes and None not in shapes:
            fields.append(name)
    return fields


def _leaves(value) -> list:
    """The scalar values inside a list or an object, at any depth (booleans and nulls are no spans)."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [] if value is None or isinstance(value, bool) else [value]


def list_fields(schema: dict | None, outputs: list[dict]) -> list[str]:
    """Top-level fields whose values are lists or objects (attendees, tags, an address): each string or
    number inside is a span of the input, as a span field's value is."""
    fields = []
    for name in (schema or {}).get("properties", {}):
        values = [o.get(name) for o in outputs if o.get(name) is not None]
        if values and all(isinstance(v, (list, dict)) for v in values) and any(_leaves(v) for v in values) \
                and all(value_kind(x) is not None for v in values for x in _leaves(v)):
            fields.append(name)
    return fields


def stated(value, text: str, kind: str | None = None) -> bool:
    """`is_stated` for a field's value; a list's or an object's every value inside it included (each
    matched by its own shape: the field kinds describe scalars)."""
    if isinstance(value, (list, dict)):
        return all(is_stated(x, text) for x in _leaves(value))
    return is_stated(value, text, kind)


def _kind_of(kinds: dict | None, name: str) -> str | None:
    """A field's kind name: kinds map fields to FieldKinds (validators/kinds.py) or to kind names."""
    fk = (kinds or {}).get(name)
    return fk if fk is None or isinstance(fk, str) else fk.kind


def _rate(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 3) if flags else 1.0  # pragma: no mutate (never empty where called)


def calibrate(seeds: list[SeedExample], schema: dict | None, min_seed_pass: float, kinds: dict | None = None) -> dict:
    """What the seeds themselves show, and which checks apply to generated rows. With `kinds`
    (field -> FieldKind), values are matched as their kind and nulls are checked against the text."""
    inputs = [s.input for s in seeds if s.input.strip()]
    checks: dict[str, dict] = {}

    def add(name: str, passed: list[bool], **figures) -> None:
        rate = _rate(passed)
        checks[name] = {**figures, "seed_pass_rate": rate, "applied": bool(passed) and rate >= min_seed_pass}

    if inputs and len(inputs) == len(seeds):
        run = max(longest_symbol_run(t) for t in inputs)
        add("symbol_run", [True] * len(inputs), threshold=2 * run + 2, seeds_max=run)
        share = max(symbol_share(t) for t in inputs)
        add("symbol_share", [True] * len(inputs), threshold=round(min(0.9, 1.5 * share + 0.05), 3),
            seeds_max=round(share, 3))
        rep = max(repeated_ngram_share(t) for t in inputs)
        add("repeated_ngrams", [True] * len(inputs), threshold=round(min(0.9, rep + 0.15), 3), seeds_max=round(rep, 3))
        add("template_debris", [not DEBRIS.search(t) for t in inputs])
        echo = [echo_score(s.input, s.instruction) for s in seeds]
        add("input_echoes_instruction", [e < 0.5 for e in echo], threshold=0.5, seeds_max=round(max(echo), 3))
        lengths = [len(t.strip()) for t in inputs]
        add("input_length", [True] * len(inputs), min=max(1, min(lengths) // 2), max=2 * max(lengths))
        langs = [language(t) for t in inputs]
        # leave one out: a seed passes when another seed shares its language
        add("wrong_language", [langs.count(lang) > 1 for lang in langs], languages=sorted(set(langs)))
    if schema:
        outputs = [s.output for s in seeds if isinstance(s.output, dict)]
        fields = {}
        for name in span_fields(schema, outputs, kinds) + list_fields(schema, outputs):
            read = {s.id: stated(s.output[name], s.input or s.prompt, _kind_of(kinds, name)) for s in seeds
                    if isinstance(s.output, dict) and s.output.get(name) is not None}
            rate = _rate(list(read.values()))
            # the seeds whose own value the finder could not read: what the run log names when a field fails
            fields[name] = {"seed_pass_rate": rate, "applied": rate >= min_seed_pass,
                            "unread": [i for i, ok in read.items() if not ok]}
            if _kind_of(kinds, name):
                fields[name]["kind"] = _kind_of(kinds, name)
        checks["ungrounded"] = {"fields": fields, "applied": any(f["applied"] for f in fields.values())}
        if kinds:
            failing = [s.id for s in seeds if isinstance(s.output, dict)
                       and null_but_in_text(s.output, s.input or s.prompt, kinds)]
            add("value_in_text_but_null", [s.id not in failing for s in seeds if isinstance(s.output, dict)],
                failing=failing, kinds={f: _kind_of(kinds, f) for f in kinds})
            # a teacher's text that states a second date (time, e-mail...) beside the target's contradicts it;
            # per field, applied only where the seeds' own texts hold one value of its kind
            other = {s.id: contradicting(s.output, s.input or s.prompt, kinds) for s in seeds
                     if isinstance(s.output, dict)}
            per_field = {}
            for name in kinds:
                held = [s for s in seeds if isinstance(s.output, dict) and s.output.get(name) is not None]
                if held and _kind_of(kinds, name) in ("date", "time", "datetime", "email", "phone", "url"):
                    rate = _rate([name not in other[s.id] for s in held])
                    per_field[name] = {"seed_pass_rate": rate, "applied": rate >= min_seed_pass}
            checks["contradicted"] = {"fields": per_field, "applied": any(f["applied"] for f in per_field.values()),
                                      "kinds": {f: _kind_of(kinds, f) for f in per_field}}
    return {"seeds": len(seeds), "min_seed_pass": min_seed_pass, "checks": checks}


def calibrate_band(seed_vectors: np.ndarray, margin: float) -> dict:
    """The seeds' own similarity band: each seed's cosine to its nearest other seed. A generated
    input whose nearest seed is further than the furthest of these (less a margin) is off-domain."""
    if len(seed_vectors) < 3:
        return {"applied": False, "why": "fewer than 3 seeds"}
    sims = seed_vectors @ seed_vectors.T
    np.fill_diagonal(sims, -1.0)  # pragma: no mutate (cosines are >= -1)
    nearest = sims.max(axis=1)  # pragma: no mutate (a Gram matrix is symmetric)
    return {"applied": True, "threshold": round(float(nearest.min()) - margin, 4),
            "seeds_nearest_min": round(float(nearest.min()), 4),
            "seeds_nearest_median": round(float(np.median(nearest)), 4), "seed_pass_rate": 1.0}


# ---- filters -------------------------------------------------------------------------------------

def grounding_failures(row: Example, fields: list[str], kinds: dict | None = None) -> list[str]:
    """The fields among `fields` whose non-null value the row's input does not state (as its kind)."""
    if not isinstance(row.output, dict):
        return []
    text = row.input or row.prompt
    return [f for f in fields if row.output.get(f) is not None
            and not stated(row.output[f], text, _kind_of(kinds, f))]


def quality_filters(cal: dict, kinds: dict | None = None) -> list[Callable[[Example], Verdict]]:
    """Row filters for the checks the calibration applies, cheapest first. Field kinds come from
    `kinds` (FieldKinds, which carry phone regions) or else from the kind names the calibration kept."""
    c = cal["checks"]
    kinds = kinds or _kinds_kept(c)
    on = {name for name, figures in c.items() if figures.get("applied")}
    out: list[Callable[[Example], Verdict]] = []

    def check_input(row: Example) -> Verdict:
        text = row.input
        if not text.strip():
            return True
        if "input_length" in on:
            n = len(text.strip())
            if n < c["input_length"]["min"]:
                return False, "input_too_short", f"{n} chars < {c['input_length']['min']} (half the shortest seed)"
            if n > c["input_length"]["max"]:
                return False, "input_too_long", f"{n} chars > {c['input_length']['max']} (twice the longest seed)"
        if "symbol_run" in on and (run := longest_symbol_run(text)) > c["symbol_run"]["threshold"]:
            return False, "symbol_run", f"a run of {run} symbols > {c['symbol_run']['threshold']}"
        if "symbol_share" in on and (share := symbol_share(text)) > c["symbol_share"]["threshold"]:
            return False, "symbol_share", f"{share:.2f} of characters are symbols > {c['symbol_share']['threshold']}"
        if "repeated_ngrams" in on and (rep := repeated_ngram_share(text)) > c["repeated_ngrams"]["threshold"]:
            return False, "repeated_ngrams", f"{rep:.2f} of word 3-grams repeat > {c['repeated_ngrams']['threshold']}"
        if "template_debris" in on and (m := DEBRIS.search(text)):
            return False, "template_debris", f"{m.group(0)!r} at {m.start()}"
        if "input_echoes_instruction" in on and (e := echo_score(text, row.instruction)) >= 0.5:
            return False, "input_echoes_instruction", f"word overlap {e:.2f} with the instruction"
        if "wrong_language" in on and (lang := language(text)) not in c["wrong_language"]["languages"]:
            return False, "wrong_language", f"{lang}, seeds are {', '.join(c['wrong_language']['languages'])}"
        return True

    out.append(check_input)
    if "ungrounded" in on:
        fields = [f for f, figures in c["ungrounded"]["fields"].items() if figures["applied"]]

        def grounded(row: Example) -> Verdict:
            missing = grounding_failures(row, fields, kinds)
            if not missing:
                return True
            return False, "ungrounded", "; ".join(f"{f}={row.output[f]!r} not in the input" for f in missing)

        out.append(grounded)
    if "value_in_text_but_null" in on and kinds:

        def null_checked(row: Example) -> Verdict:
            found = null_but_in_text(row.output, row.input or row.prompt, kinds) if isinstance(row.output, dict) else []
            return (False, "value_in_text_but_null", "; ".join(found)) if found else True

        out.append(null_checked)
    if "contradicted" in on and kinds:
        single = [f for f, figures in c["contradicted"]["fields"].items() if figures["applied"]]

        def not_contradicted(row: Example) -> Verdict:
            if row.lineage.strategy in CODE_WRITTEN or not isinstance(row.output, dict):
                return True  # the seed's own layout: a second time there ("Voicemail 08:12") is the seed's
            found = {f: v for f, v in contradicting(row.output, row.input or row.prompt, kinds).items() if f in single}
            return (False, "ungrounded", "; ".join(f"{f}={row.output[f]!r} but the input also states {v!r}"
                                                   for f, v in found.items())) if found else True

        out.append(not_contradicted)
    return out


# rows whose input code wrote from a seed's text: their other values are the seed's own
CODE_WRITTEN = ("output_first:template", "output_first:rewrite")


def _kinds_kept(checks: dict) -> dict[str, str]:
    """The field kinds a calibration recorded (kind names), for filters built from calibration.json."""
    kept = dict(checks.get("value_in_text_but_null", {}).get("kinds", {}))
    for field, figures in checks.get("ungrounded", {}).get("fields", {}).items():
        if figures.get("kind"):
            kept.setdefault(field, figures["kind"])
    return kept


QUALITY_REASONS = ("symbol_run", "symbol_share", "repeated_ngrams", "template_debris", "input_echoes_instruction",
                   "input_too_short", "input_too_long", "wrong_language", "ungrounded", "value_in_text_but_null",
                   "off_domain")


def data_quality(kept: list[Example], reject_counts: dict[str, int], cal: dict, schema: dict | None,
                 kinds: dict | None = None) -> dict:
    """The data-quality block of stats.json: grounded share of kept rows, drops per check, the
    seeds' own pass rates (and whether each check was applied), kept rows with a null whose value
    the input states (`null_but_in_text`, counted where field kinds are known)."""
    checks = cal["checks"]
    kinds = kinds or _kinds_kept(checks)
    block: dict = {"drops_per_check": {r: reject_counts.get(r, 0) for r in QUALITY_REASONS},
                   "seed_pass_rates": {}}
    for name, figures in checks.items():
        if name == "ungrounded":
            for field, f in figures["fields"].items():
                block["seed_pass_rates"][f"ungrounded.{field}"] = {"rate": f["seed_pass_rate"], "applied": f["applied"]}
        elif "seed_pass_rate" in figures:
            block["seed_pass_rates"][name] = {"rate": figures["seed_pass_rate"], "applied": figures["applied"]}
    if schema and "ungrounded" in checks:
        fields = list(checks["ungrounded"]["fields"])
        structured = [r for r in kept if isinstance(r.output, dict)]
        grounded = sum(not grounding_failures(r, fields, kinds) for r in structured)
        block.update(grounded_rows=grounded, structured_rows=len(structured),
                     grounded_share=round(grounded / len(structured), 4) if structured else None)
        if kinds:
            block["null_but_in_text"] = sum(bool(null_but_in_text(r.output, r.input or r.prompt, kinds))
                                            for r in structured)
    return block


def finder_failures(cal: dict, seeds: list[SeedExample]) -> list[str]:
    """One line per grounding check the seeds themselves fail below `validate.min_seed_pass`: the field,
    its kind, its pass rate, and the seed texts whose value the finder could not read. Such a check is
    off for the run, which is a failure of the value finder (or a kind to set in `seeds.field_kinds`),
    not a property of the data; the run log, the report and bench.domains show it."""
    by_id = {s.id: s for s in seeds}
    lines = []
    for name, f in cal.get("checks", {}).get("ungrounded", {}).get("fields", {}).items():
        if f.get("applied"):
            continue
        unread = [by_id[i] for i in f.get("unread", []) if i in by_id]
        shown = "; ".join(f"{s.id}: {s.output.get(name)!r} in {' '.join(s.input.split())[:80]!r}" for s in unread[:3])
        lines.append(f"grounding of {name} ({f.get('kind', 'no kind')}) is off: the finder read it in "
                     f"{f['seed_pass_rate']:.0%} of the seeds < validate.min_seed_pass={cal['min_seed_pass']}; "
                     f"could not read {len(unread)}: {shown}")
    return lines
