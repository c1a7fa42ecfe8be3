"""Paid-for waste: teacher requests whose results are thrown away, per strategy, and adaptive shares.

Two places throw teacher work away. Generation drops a teacher-written text that does not state its
target's values (output-first `ungrounded`), a rewrite it cannot use, an answer that does not parse;
selection (the judge stage) uses only some of each task's answers, as the SFT row or a side of a
preference pair. `requests_kept` counts the first, `answers_used` the second, both per strategy
(`lineage.strategy`), into the stage's stats:

    {"output_first:teacher": {"asked": 128, "kept": 19, "thrown_away": 109, "thrown_away_share": 0.852}}

Adaptive shares: before a strategy's requests go out, `adaptive_share` asks the same kind of request
for the train seeds' own objects (the seeds' calibration: one request per seed, cached), reads the
share the check keeps, and, when that share is under `generate.min_keep_share`, asks only that
proportion of the requests: keep 0.05 against a bar of 0.2 asks a quarter of them (the first quarter:
request lists are prefix-stable, so the dry run's sample is still the run's start). The share asked
and the reason go to the stats (`adaptive`).
"""

from __future__ import annotations

import math
from collections import Counter


def kept_counts(asked: Counter, kept: Counter) -> dict[str, dict]:
    """{strategy: {asked, kept, thrown_away, thrown_away_share}} from two counters keyed by strategy."""
    out = {}
    for name in sorted(asked):
        n, k = asked[name], min(kept[name], asked[name])
        out[name] = {"asked": n, "kept": k, "thrown_away": n - k,
                     "thrown_away_share": round((n - k) / n, 3) if n else 0.0}
    return out


def answers_used(candidates, sft, pairs) -> dict[str, dict]:
    """Per strategy, the teacher's answers (candidate rows other than output-first targets, which
    code writes) that selection used (an SFT row, or a side of a preference pair) and those it threw away."""
    used = {r.id for r in sft} | {p.chosen_id for p in pairs} | {p.rejected_id for p in pairs}
    asked, kept = Counter(), Counter()
    for row in candidates:
        if row.lineage.label == "target":
            continue
        asked[row.lineage.strategy] += 1
        kept[row.lineage.strategy] += row.id in used
    return kept_counts(asked, kept)


def adaptive_share(kept: int, asked: int, min_keep_share: float) -> tuple[float, str]:
    """(share of the requests to ask, reason) from the seeds' calibration: `kept` of `asked` passed."""
    if asked == 0:
        return 1.0, "no calibration requests (no seed could serve): asked in full"
    share = kept / asked
    if share >= min_keep_share:
        return 1.0, f"kept {kept} of {asked} on the seeds ({share:.0%} >= generate.min_keep_share={min_keep_share})"
    asked_share = share / min_keep_share
    return round(asked_share, 3), (f"kept {kept} of {asked} on the seeds ({share:.0%} < generate.min_keep_share="
                                   f"{min_keep_share}): asked {asked_share:.0%} of its requests")


def first_share(items: list, share: float, per: int = 1) -> list:
    """The first `share` of `items`, in whole groups of `per` (a target's texts go or stay together)."""
    groups = math.ceil(len(items) / per) if per else 0
    return items[: math.ceil(groups * share) * per]
