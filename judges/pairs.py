"""Preference pairs from judge scores: per prompt, the best-scored response against the worst."""

from __future__ import annotations

from collections import Counter, defaultdict

from seedfactory.schemas import Example, JudgeVerdict, PreferencePair, stable_hash


def best_worst_pairs(rows: list[Example], verdicts: dict[str, JudgeVerdict],
                     min_margin: float) -> tuple[list[PreferencePair], Counter[str]]:
    """One pair per prompt group whose best and worst scores differ by at least `min_margin`, and
    per reason how many groups of two or more rows gave none. Rows whose verdict is an error take
    no part."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for r in rows:
        groups[r.prompt_id].append(r)
    pairs, no_pair = [], Counter()
    for pid, members in groups.items():
        scored = [(verdicts[r.id].score, r) for r in members if r.id in verdicts and verdicts[r.id].score is not None]
        if len(scored) < 2:
            if len(members) >= 2:
                no_pair["too_few_scored"] += 1
            continue
        # Stable order: highest score first; on equal scores the earlier row.
        scored.sort(key=lambda sr: -sr[0])
        (hi, best), (lo, worst) = scored[0], scored[-1]
        if hi - lo < min_margin or best.output_text == worst.output_text:
            no_pair["margin_too_small"] += 1
            continue
        pairs.append(PreferencePair(
            id=stable_hash([best.id, worst.id]), prompt_id=pid, prompt=best.prompt,
            chosen=best.output_text, rejected=worst.output_text, chosen_id=best.id, rejected_id=worst.id,
            margin=hi - lo, source="judge_rubric"))
    return pairs, no_pair
