"""Preference pairs from the panel of signals that passed their checks.

Each candidate answer of a task gets a panel score in [0, 1], the mean of the signals that are
trusted for this run: the programmatic checks (1 for an answer that passed validation, 0 for one
that failed schema or grounding), consensus (its agreement with the task's other answers, or with
the task's target), and the rubric judge's score rescaled to [0, 1] only when the judge passed its
self-test on the seeds. Chosen is the task's best answer, rejected its worst; a pair needs a panel
gap of at least `min_margin`. A judge that failed its self-test never ranks anything.

    pairs, no_pair = panel_pairs(groups, failed, consensus, judge_scores, min_margin=0.2)

Minimal-edit pairs: the chosen answer is a validated one, the rejected the same answer with one
field corrupted the way a small student slips (`selftest.minimal_edits`), kept only where the
programmatic checks reject it (schema-invalid, or the changed value is not stated in the input
while the chosen one is), so it is ranked by a signal that works, not by a judge.

    pairs = minimal_edit_pairs(sft_rows, schema, random.Random(seed), per_prompt=3, stated=is_stated)
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from seedfactory.judges.consensus import Consensus
from seedfactory.judges.selftest import minimal_edits
from seedfactory.schemas import Example, PreferencePair, SeedExample, output_text, stable_hash
from seedfactory.schemas.seedfile import schema_validator


def panel_score(row: Example, passed: bool, cons: Consensus | None, judge_score: float | None) -> float:
    parts = [1.0 if passed else 0.0]
    if cons is not None and row.id in cons.per_row:
        parts.append(cons.per_row[row.id])
    elif not passed:
        parts.append(0.0)  # a failed answer takes no part in consensus: it agrees with nothing
    if judge_score is not None:
        parts.append((judge_score - 1.0) / 4.0)
    return sum(parts) / len(parts)


def panel_pairs(groups: dict[str, list[Example]], failed: dict[str, list[Example]], consensus: dict[str, Consensus],
                judge_scores: dict[str, float] | None, min_margin: float) -> tuple[list[PreferencePair], Counter[str]]:
    """One pair per task whose best and worst answers differ in panel score by `min_margin` or more,
    and per reason how many tasks gave none."""
    pairs, no_pair = [], Counter()
    for pid, rows in groups.items():
        cons = consensus.get(pid)
        cands = [(r, True) for r in rows] + [(r, False) for r in failed.get(pid, [])]
        if len(cands) < 2:
            no_pair["one_answer"] += 1
            continue
        scored = [(panel_score(r, ok, cons, (judge_scores or {}).get(r.id)), i, r) for i, (r, ok) in enumerate(cands)]
        scored.sort(key=lambda t: (-t[0], t[1]))  # pragma: no mutate (the stable sort keeps index order)
        (hi, _, best), (lo, _, worst) = scored[0], scored[-1]
        if hi - lo < min_margin or best.output_text == worst.output_text:
            no_pair["margin_too_small"] += 1
            continue
        source = "target" if best.lineage.label == "target" else "panel"
        pairs.append(PreferencePair(
            id=stable_hash([best.id, worst.id]), prompt_id=pid, prompt=best.prompt, chosen=best.output_text,
            rejected=worst.output_text, chosen_id=best.id, rejected_id=worst.id, margin=round(hi - lo, 4),
            source=source, history=best.history))
    return pairs, no_pair


def edit_fails(row: Example | SeedExample, field: str, edited: dict, validator,
               stated: Callable[[object, str], bool]) -> str | None:
    """Why the programmatic checks reject `edited` (row's output with `field` changed), or None:
    "schema" when it does not validate, "ungrounded" when the row's input states the old value of
    `field` and not the new one."""
    if validator is not None and not validator.is_valid(edited):
        return "schema"
    text, old, new = row.input or row.prompt, row.output.get(field), edited.get(field)
    if old is not None and new is not None and stated(old, text) and not stated(new, text):
        return "ungrounded"
    return None


def minimal_edit_pairs(rows: list[Example | SeedExample], schema: dict | None, rng: random.Random, per_prompt: int,
                       stated: Callable[[object, str], bool]) -> list[PreferencePair]:
    """Up to `per_prompt` pairs per structured row: chosen its output, rejected that output with one
    field corrupted (`minimal_edits`, a random mix of kinds, one edit per kind) that the checks
    reject (`edit_fails`). Rows in the order given, edits in a seeded order."""
    validator = schema_validator(schema) if schema else None
    pairs = []
    for row in rows:
        if not isinstance(row.output, dict):
            continue
        edits = [(kind, edited) for kind, field, edited in minimal_edits(row.output, rng, schema)
                 if edit_fails(row, field, edited, validator, stated)]
        rng.shuffle(edits)
        chosen = output_text(row.output)
        for kind, edited in edits[:per_prompt]:
            rejected = output_text(edited)
            pairs.append(PreferencePair(
                id=stable_hash([row.id, kind, rejected]), prompt_id=getattr(row, "prompt_id", row.id),
                prompt=row.prompt, chosen=chosen, rejected=rejected, chosen_id=row.id, rejected_id=f"{row.id}:{kind}",
                margin=1.0,
                source="minimal_edit", history=getattr(row, "history", [])))
    return pairs


def dpo_readiness(pairs: list[PreferencePair], below_cutoff: set[str], min_pairs: int, max_length_bias: float) -> dict:
    """Is this preference split worth training on? Counts, length bias, chosen rows below the SFT
    cut-off; `skip` says why not (None: ready)."""
    n = len(pairs)
    longer = sum(len(p.chosen) > len(p.rejected) for p in pairs)
    share_longer = round(longer / n, 4) if n else None
    below = sum(p.chosen_id in below_cutoff for p in pairs)
    skip = None
    if n < min_pairs:
        skip = f"{n} preference pairs < train.min_pairs={min_pairs}"
    elif share_longer is not None and max(share_longer, 1 - share_longer) > max_length_bias:
        skip = (f"length bias: chosen is longer in {share_longer:.0%} of pairs "
                f"(more than train.max_length_bias={max_length_bias:.0%} one way)")
    return {"pairs": n, "chosen_longer_share": share_longer, "chosen_below_cutoff": below,
            "sources": dict(Counter(p.source for p in pairs)), "skip": skip}
