"""The judge is tested on the seeds before it is trusted.

From the train seeds alone a labelled check set is built: each seed's own output is a known-good
answer, and known-bad answers are made from it programmatically. Structured outputs: one field's
value swapped with another seed's, a required field dropped, a date or number altered, the answer of
a different seed. Text outputs: the answer of a different seed (off-topic), a truncated answer, the
instruction echoed back, a sentence repeated. The judge scores them with the prompt and settings it
uses for generated rows; the report gives the AUC of its scores (good above bad) and its pairwise
accuracy on good against its own corrupted twin, read in both orders.

    checks = check_set(seeds, rng)                  # [(good Example, bad Example, kind), ...]
    report = self_test(checks, backend, judge, schema)
    report["auc"], report["passed"]
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

from seedfactory.judges.pairwise import judge_both_orders
from seedfactory.judges.rubric import judge_rows
from seedfactory.schemas import Example, Lineage, Sampling, SeedExample, output_text, stable_hash
from seedfactory.schemas.config import ModelConfig


def _row(seed: SeedExample, output, kind: str) -> Example:
    return Example(id=stable_hash([seed.id, kind, output_text(output)]), prompt_id=seed.id,
                   instruction=seed.instruction, input=seed.input, output=output,
                   lineage=Lineage(seed_ids=[seed.id], strategy=f"selftest:{kind}", teacher="seed", prompt_hash="",
                                   request_key="", raw=output_text(output), sampling=Sampling()))


def _alter(value, rng: random.Random):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return round(value * rng.choice([0.5, 0.9, 1.1, 2.0]) + rng.choice([1, 7]), 2)
    if (day := _iso_date(value)) is not None:
        shift = timedelta(days=rng.choice([-40, -3, 3, 40]))
        try:
            return (day + shift).isoformat()
        except OverflowError:  # past the calendar's first or last day: the other way
            return (day - shift).isoformat()
    return None


def _dropped(obj: dict, keys: list[str], rng: random.Random) -> dict | None:
    """`obj` without one of `keys` (None: no keys)."""
    if not keys:
        return None
    k = rng.choice(keys)
    return {kk: v for kk, v in obj.items() if kk != k}


def _altered(obj: dict, keys: list[str], rng: random.Random) -> dict | None:
    """`obj` with one of `keys` altered by `_alter` (None: none of them can be)."""
    alterable = [k for k in keys if _alter(obj[k], rng) is not None]
    if not alterable:
        return None
    k = rng.choice(alterable)
    return {**obj, k: _alter(obj[k], rng)}


def _iso_date(value) -> date | None:
    """The date an ISO string (YYYY-MM-DD) names, or None when it is no such string or no real date."""
    if not (isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _is_date(value) -> bool:
    return _iso_date(value) is not None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _misspelled(key: str, rng: random.Random) -> str:
    """`key` with one inner character dropped ("invoice_number" -> "invoice_nmber")."""
    if len(key) < 3:
        return key + key[-1]
    i = rng.randrange(1, len(key) - 1)
    return key[:i] + key[i + 1:]


def minimal_edits(obj: dict, rng: random.Random, schema: dict | None = None) -> list[tuple[str, str, dict]]:
    """(kind, field, edited object) for one field of `obj` changed the way a small student slips:
    a date moved (`_alter`: a day or month off), a number altered (`_alter`), an enum value swapped
    for another of the schema's, a key misspelled or given a leading space (`" tax"`), a field
    dropped (`_dropped`). Each edit touches exactly one field; kinds whose field is missing are left out."""
    keys = [k for k in obj if obj[k] is not None]
    props = (schema or {}).get("properties", {})
    out: list[tuple[str, str, dict]] = []

    def add(kind: str, edited: dict | None) -> None:
        if edited is not None and edited != obj:
            changed = [k for k in set(obj) | set(edited) if obj.get(k, ...) != edited.get(k, ...)]
            out.append((kind, sorted(changed, key=lambda k: k not in obj)[0], edited))

    add("date_altered", _altered(obj, [k for k in keys if _is_date(obj[k])], rng))
    add("number_altered", _altered(obj, [k for k in keys if _number(obj[k])], rng))
    enums = [k for k in keys if len(props.get(k, {}).get("enum", [])) > 1 and obj[k] in props[k]["enum"]]
    if enums:
        k = rng.choice(enums)
        add("enum_swapped", {**obj, k: rng.choice([v for v in props[k]["enum"] if v != obj[k]])})
    if keys:
        for kind, rename in (("key_misspelled", lambda k: _misspelled(k, rng)), ("key_leading_space", " ".__add__)):
            k = rng.choice(keys)
            add(kind, {(rename(kk) if kk == k else kk): v for kk, v in obj.items()})
    add("field_dropped", _dropped(obj, keys, rng))
    return out


def corruptions(seed: SeedExample, others: list[SeedExample], rng: random.Random) -> list[tuple[str, object]]:
    """(kind, bad output) pairs made from one seed's output."""
    other = rng.choice(others)
    out: list[tuple[str, object]] = [("other_seed_answer", other.output)] if other.output != seed.output else []
    if isinstance(seed.output, dict):
        obj = seed.output
        keys = [k for k in obj if obj[k] is not None]
        swappable = [k for k in keys if isinstance(other.output, dict) and other.output.get(k) not in (None, obj[k])]
        if swappable:
            k = rng.choice(swappable)
            out.append(("field_swapped", {**obj, k: other.output[k]}))
        if (dropped := _dropped(obj, keys, rng)) is not None:
            out.append(("field_dropped", dropped))
        if (altered := _altered(obj, keys, rng)) is not None:
            out.append(("value_altered", altered))
        return out
    text = seed.output
    sentences = [s.strip() for s in text.replace("\n", " ").split(". ") if s.strip()]
    out.append(("truncated", text[: max(8, len(text) * 2 // 5)].rstrip()))
    out.append(("instruction_echoed", seed.instruction))
    if sentences:
        s = rng.choice(sentences).rstrip(".") + "."
        out.append(("sentence_repeated", f"{text} {s} {s} {s}"))
    return out


def check_set(seeds: list[SeedExample], rng: random.Random, limit: int) -> list[tuple[Example, Example, str]]:
    chosen = rng.sample(seeds, min(limit, len(seeds)))
    checks = []
    for s in chosen:
        others = [o for o in seeds if o.id != s.id]
        if not others:
            continue  # pragma: no mutate (every seed is skipped either way)
        good = _row(s, s.output, "good")
        checks += [(good, _row(s, bad, kind), kind) for kind, bad in corruptions(s, others, rng)]
    return checks


def auc(good: list[float], bad: list[float]) -> float:
    """P(a random good scores above a random bad), ties half (the Mann-Whitney form of ROC AUC)."""
    if not good or not bad:
        return 0.5
    wins = sum((g > b) + 0.5 * (g == b) for g in good for b in bad)
    return wins / (len(good) * len(bad))


def self_test(checks: list[tuple[Example, Example, str]], backend, judge: ModelConfig, output_schema: dict | None,
              criteria: str | None = None, pairwise: bool = True, check=None) -> dict:
    """Score the check set as the judge stage scores rows; AUC, pairwise accuracy, per-kind AUC."""
    goods = {g.id: g for g, _, _ in checks}
    bads = [b for _, b, _ in checks]
    rows = list(goods.values()) + bads
    verdicts = {v.example_id: v for v in judge_rows(rows, backend, judge, output_schema=output_schema,
                                                    criteria=criteria, check=check)}
    score = {i: v.score for i, v in verdicts.items() if v.score is not None}
    errors = sum(v.score is None for v in verdicts.values())
    good_scores = [score[i] for i in goods if i in score]
    report: dict = {"n_good": len(goods), "n_bad": len(bads), "judge_errors": errors,
                    "auc": round(auc(good_scores, [score[b.id] for b in bads if b.id in score]), 4),
                    "mean_good": round(sum(good_scores) / len(good_scores), 3) if good_scores else None}
    kinds = sorted({k for _, _, k in checks})
    report["auc_by_kind"] = {
        k: round(auc(good_scores, [score[b.id] for _, b, kk in checks if kk == k and b.id in score]), 4)
        for k in kinds}
    if pairwise:
        items = [(g.prompt, g.output_text, b.output_text) for g, b, _ in checks]
        both = judge_both_orders(items, backend, judge)
        right = [v.p_a for v in both if v.p_a is not None]
        report["pairwise"] = {
            "n": len(both), "errors": len(both) - len(right),
            "accuracy_both_orders": round(sum((p > 0.5) + 0.5 * (p == 0.5) for p in right) / len(right), 4)
            if right else None,
            "accuracy_hard_votes": round(sum({"a": 1.0, "tie": 0.5}.get(v.winner or "tie", 0.0) for v in both)
                                         / len(both), 4) if both else None,
            # position bias: the share of replies, over both orders, that pick the response shown first
            "picks_first_position": round(sum((v.forward == "a") + (v.backward == "a") for v in both)
                                          / (2 * len(both)), 4) if both else None}
    report["examples"] = [{"kind": k, "good": g.output_text[:200], "bad": b.output_text[:200],
                           "good_score": score.get(g.id), "bad_score": score.get(b.id)} for g, b, k in checks[:6]]
    return json.loads(json.dumps(report))
