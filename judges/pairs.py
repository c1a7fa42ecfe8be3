"""Preference pairs from the panel of signals that passed their checks.

Each candidate answer of a task gets a panel score in [0, 1], the mean of the signals that are
trusted for this run: the programmatic checks (1 for an answer that passed validation, 0 for one
that failed schema or grounding), consensus (its agreement with the task's other answers, or with
the task's target), and the rubric judge's score rescaled to [0, 1] only when the judge passed its
self-test on the seeds. Chosen is the task's best answer, rejected its worst; a pair needs a panel
gap of at least `min_margin`. A judge that failed its self-test never ranks anything.

    pairs, no_pair = panel_pairs(groups, failed, consensus, judge_scores, min_margin=0.2)
"""

from __future__ import annotations

from collections import Counter

from seedfactory.judges.consensus import Consensus
from seedfactory.schemas import Example, PreferencePair, stable_hash


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
        scored.sort(key=lambda t: (-t[0], t[1]))
        (hi, _, best), (lo, _, worst) = scored[0], scored[-1]
        if hi - lo < min_margin or best.output_text == worst.output_text:
            no_pair["margin_too_small"] += 1
            continue
        source = "target" if best.lineage.label == "target" else "panel"
        pairs.append(PreferencePair(
            id=stable_hash([best.id, worst.id]), prompt_id=pid, prompt=best.prompt, chosen=best.output_text,
            rejected=worst.output_text, chosen_id=best.id, rejected_id=worst.id, margin=round(hi - lo, 4),
            source=source))
    return pairs, no_pair


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
