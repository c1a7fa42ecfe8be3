"""Text similarity shared by the validators: normalisation, word shingles and true Jaccard on
shingle sets, the reference definitions. validators/minhash.py computes the same shingles for
many texts at once and validators/lsh.py the MinHash-LSH index over them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from seedfactory.schemas import Example

WORD = re.compile(r"\w+")
SHINGLE_WORDS = 3


def normalise(text: str) -> str:
    """Lowercase with runs of whitespace collapsed to one space: the key exact matching uses."""
    return " ".join(text.lower().split())


def words(text: str) -> list[str]:
    """Lowercase word tokens. Punctuation is dropped so it never makes two prompts differ."""
    return WORD.findall(text.lower())


def shingles(text: str, n: int = SHINGLE_WORDS) -> frozenset[str]:
    """Word n-grams of the normalised text.

    A text under n words falls back to its word set (a 2-word prompt still has something to
    compare); a text with no word characters at all ("???") is its own single shingle. Word
    sets and n-grams never collide, since every n-gram contains a space and a word does not.
    """
    toks = words(text)
    if len(toks) >= n:
        return frozenset(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
    if toks:
        return frozenset(toks)
    norm = normalise(text)
    return frozenset([norm]) if norm else frozenset()


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a & b| / |a | b|; two empty sets share nothing we can measure, so 0."""
    if not a or not b:  # pragma: no mutate (an empty set: 0.0 either way)
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def template_shingles(texts: Iterable[str], n: int = SHINGLE_WORDS) -> frozenset[str]:
    """Shingles every one of (at least two) texts shares: a fixed instruction or boilerplate
    header the seeds all carry, which would otherwise make every pair of rows look alike."""
    sets = [shingles(t, n) for t in texts]
    if len(sets) < 2:
        return frozenset()
    return frozenset.intersection(*sets)


def prompt_groups(rows: Iterable[Example]) -> dict[str, list[Example]]:
    """Rows by prompt_id, groups in order of first appearance (dicts keep insertion order).

    Rows sharing a prompt_id are responses to one prompt, so they are compared as one prompt:
    the group's first row carries the prompt text.
    """
    groups: dict[str, list[Example]] = {}
    for row in rows:
        groups.setdefault(row.prompt_id, []).append(row)
    return groups
