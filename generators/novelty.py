"""ROUGE-L between task texts: the novelty test of Self-Instruct (Wang et al. 2023) and of
Evol-Instruct's "no information gain" elimination (Xu et al. 2023).

    rouge_l("extract the total", "extract the total amount")   # 0.857
    most_similar("new task", pool)                              # (0.4, index in pool)
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[-1]))
        prev = cur
    return prev[-1]


def rouge_l(a: str | list[str], b: str | list[str]) -> float:
    """ROUGE-L F1 over lower-cased word tokens (0 when either side is empty)."""
    ta = tokens(a) if isinstance(a, str) else a
    tb = tokens(b) if isinstance(b, str) else b
    if not ta or not tb:
        return 0.0
    lcs = _lcs(ta, tb)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(tb), lcs / len(ta)
    return 2 * p * r / (p + r)


def most_similar(text: str, pool: list[list[str]]) -> tuple[float, int]:
    """The highest ROUGE-L of `text` against a pool of tokenised texts, and where it is (-1 if none)."""
    t = tokens(text)
    best, where = 0.0, -1
    for i, other in enumerate(pool):
        score = rouge_l(t, other)
        if score > best:
            best, where = score, i
    return best, where
