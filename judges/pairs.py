"""Preference pairs from judge scores: per prompt, the best-scored response against the worst."""

from __future__ import annotations

from collections import defaultdict

from seedfactory.schemas import Example, JudgeVerdict, PreferencePair, stable_hash


def best_worst_pairs(rows: list[Example], verdicts: dict[str, JudgeVerdict], min_margin: float,
                     reject_group=None) -> list[PreferencePair]:
    """One pair per prompt group whose best and worst scores differ by at least `min_margin`.

    Rows whose verdict is an error take no part. `reject_group(prompt_id, reason, detail)` hears
    why a group gave no pair.
    """
    groups: dict[str, list[Example]] = defaultdict(list)
    for r in rows:
        groups[r.prompt_id].append(r)
    pairs = []
    for pid, members in groups.items():
        scored = [(verdicts[r.id].score, r) for r in members if r.id in verdicts and verdicts[r.id].score is not None]
        if len(scored) < 2:
            if reject_group and len(members) >= 2:
                reject_group(pid, "pair_too_few_scored", f"{len(scored)} of {len(members)} responses scored")
            continue
        # Stable order: highest score first; on equal scores the earlier row.
        scored.sort(key=lambda sr: -sr[0])
        (hi, best), (lo, worst) = scored[0], scored[-1]
        if hi - lo < min_margin or best.output_text == worst.output_text:
            if reject_group:
                reject_group(pid, "pair_margin_too_small", f"best {hi} - worst {lo} < {min_margin}")
            continue
        pairs.append(PreferencePair(
            id=stable_hash([best.id, worst.id]), prompt_id=pid, prompt=best.prompt,
            chosen=best.output_text, rejected=worst.output_text, chosen_id=best.id, rejected_id=worst.id,
            margin=hi - lo, source="judge_rubric"))
    return pairs
