"""Bulk word-shingling, MinHash and LSH banding for near-duplicate search at scale: numpy, with
the per-shingle and per-pair loops compiled by numba (validators/minhash_jit.py).

Signatures are bit-identical to datasketch's default `MinHash(num_perm, seed=1)` (its "affine32"
scheme, datasketch >= 2.0) updated with each shingle's UTF-8 bytes: sha1 of the shingle, its
first 4 bytes little-endian, the MurmurHash3 finalizer, then `a*h + b mod 2^32` per permutation,
minimum over the set. Here sha1 runs once per distinct shingle and the minimum in one compiled
loop over every document, instead of a Python call per shingle per document.

Shingles are `similarity.shingles`' word 3-grams (a short text: its words; no words: the
normalised text), built for all texts at once. ASCII texts: one compiled pass over their joined
bytes finds the words, hash tables number the distinct words and 3-grams, and SHA-1 runs in the
same compiled code. Other texts: one regex pass, words numbered once, 3-grams as integer keys so
each distinct shingle is joined and hashed once with hashlib. Each document also keeps its
shingles as sorted 64-bit sha1 fingerprints, on which true Jaccard is computed by a merge
(exact unless two distinct shingles share a 64-bit sha1 prefix).

    table = shingle_table(texts)                       # ShingleTable: fingerprints + signatures
    pairs = band_pairs(table.signatures, bands=20, rows=6)
    sims = pair_jaccard(table, pairs)

`python -m bench.dedup` compares this with datasketch and rensa on the same corpus.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np

from seedfactory.validators.similarity import SHINGLE_WORDS, WORD, normalise

_WORD_OR_NUL = re.compile(WORD.pattern + r"|\0")

SEED = 1  # datasketch's default MinHash seed
# Members of one LSH bucket paired with at most this many neighbours in bucket order, so a
# bucket of thousands of copies costs linear, not quadratic, work.
BUCKET_WINDOW = 64  # pragma: no mutate (the window changes speed; Jaccard confirms)


def _jit():
    """The compiled kernels, imported on first use: importing numba takes a second, and
    importing this module should not."""
    from seedfactory.validators import minhash_jit

    return minhash_jit


@lru_cache(maxsize=8)  # pragma: no mutate (the cache size changes speed only)
def permutations(num_perm: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (odd a, any b), drawn the way it draws them."""
    gen = np.random.RandomState(seed)
    # no mutate: the same low 31 bits
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)  # pragma: no mutate
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, the pre-mix datasketch applies to every input hash."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def sha1_fingerprints(items: Iterable[str]) -> np.ndarray:
    """First 8 bytes of sha1(utf-8) as little-endian uint64; the low 32 bits are datasketch's
    sha1_hash32."""
    sha1 = hashlib.sha1
    raw = b"".join([sha1(s.encode("utf-8")).digest()[:8] for s in items])
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


def signatures(fps: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int = SEED) -> np.ndarray:
    """(docs, num_perm) uint32 MinHash signatures from per-document fingerprints in CSR form.

    A document without shingles keeps datasketch's empty value (all 2^32 - 1).
    """
    a, b = permutations(num_perm, seed)
    h = fmix32((fps & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    return _jit().signature_rows(h, offsets, a, b)


@dataclass
class ShingleTable:
    """Per document: sorted distinct shingle fingerprints (CSR) and the MinHash signature."""

    offsets: np.ndarray     # int64, len(docs) + 1
    fps: np.ndarray         # uint64, sorted within each document
    signatures: np.ndarray  # uint32 (docs, num_perm)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def doc(self, i: int) -> np.ndarray:
        return self.fps[self.offsets[i]:self.offsets[i + 1]]


def _tokens(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """All texts' lowercase words in one list, and each text's word count.

    One regex pass over the texts joined by NUL (not a word character, so no word spans two
    texts; the pattern also returns it, marking the boundaries) instead of a call per text.
    """
    joined = "\0".join(texts)
    # no mutate: the per-text path: the same result, slower
    if not texts or joined.count("\0") != len(texts) - 1:  # pragma: no mutate; none, or a NUL inside a text
        toks = [WORD.findall(t.lower()) for t in texts]
        return list(chain.from_iterable(toks)), np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    flat = _WORD_OR_NUL.findall(joined.lower())
    marks = np.flatnonzero(np.fromiter(map("\0".__eq__, flat), dtype=bool, count=len(flat)))
    bounds = np.concatenate([[-1], marks, [len(flat)]])
    lens = np.diff(bounds) - 1
    words = [w for w in flat if w != "\0"] if len(marks) else flat
    return words, lens.astype(np.int64)


def _doc_keys(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-occurrence (document, shingle key) and the shingle text of every distinct key."""
    flat, lens = _tokens(texts)
    words = list(dict.fromkeys(flat))  # C-speed passes: distinct words, then each word's number
    vocab = {w: i for i, w in enumerate(words)}
    wid = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
    V = max(len(words), 1)  # pragma: no mutate (0 only with no words)
    ends = np.cumsum(lens)
    doc_of = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
    # Texts of n words or more: their n-grams. Shorter texts: their words (see shingles()).
    long_doc = lens >= n
    pos = np.flatnonzero(long_doc[doc_of] & (np.arange(len(wid)) + n <= ends[doc_of]))
    key = wid[pos]
    # no mutate: still one key per n-gram
    for k in range(1, n):  # pragma: no mutate; mixed radix; np.unique renumbers when V**n would overflow int64
        key = key * V + wid[pos + k]  # pragma: no mutate (keys are only compared for equality)
        if k < n - 1 and V ** (k + 2) >= 2 ** 62:  # pragma: no mutate (renumbering keeps the keys' order and equality)
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
    ukeys, inverse = np.unique(key, return_inverse=True)
    # Rebuild each distinct n-gram's text from one occurrence of it.
    first = np.full(len(ukeys), -1, dtype=np.int64)  # pragma: no mutate (every fill is overwritten before it is read)
    first[inverse[::-1]] = pos[::-1]
    cols = [wid[first + k].tolist() for k in range(n)]
    texts_out = [" ".join(map(words.__getitem__, t)) for t in zip(*cols)]
    docs = [doc_of[pos]]
    keys = [inverse.astype(np.int64)]
    short = np.flatnonzero(~long_doc[doc_of])
    if len(short):  # word sets of short texts, numbered after the n-grams
        uw, winv = np.unique(wid[short], return_inverse=True)
        docs.append(doc_of[short])
        keys.append(winv.astype(np.int64) + len(texts_out))
        texts_out += [words[w] for w in uw.tolist()]
    for i in np.flatnonzero(lens == 0).tolist():  # no word characters: the normalised text
        norm = normalise(texts[i])
        if norm:
            docs.append(np.array([i], dtype=np.int64))
            keys.append(np.array([len(texts_out)], dtype=np.int64))
            texts_out.append(norm)
    return np.concatenate(docs), np.concatenate(keys), texts_out


def _doc_fps(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-occurrence (document, shingle key) and the fingerprint of every distinct key.

    ASCII texts go through the compiled kernels (minhash_jit), any others through the regex
    path; when both occur, keys are renumbered by fingerprint so one shingle has one key.
    """
    fast = np.fromiter((t.isascii() and "\0" not in t for t in texts), dtype=bool, count=len(texts))
    if fast.all():
        return _ascii_fps(texts, n)
    slow = np.flatnonzero(~fast)
    docs, keys, shingle_texts = _doc_keys([texts[i] for i in slow.tolist()], n)
    if not fast.any():
        return slow[docs], keys, sha1_fingerprints(shingle_texts)
    quick = np.flatnonzero(fast)
    qdocs, qkeys, qfps = _ascii_fps([texts[i] for i in quick.tolist()], n)
    fps, inverse = np.unique(np.concatenate([qfps, sha1_fingerprints(shingle_texts)]), return_inverse=True)
    inverse = inverse.reshape(-1)  # pragma: no mutate (numpy reads reshape(-2) as reshape(-1))
    return (np.concatenate([quick[qdocs], slow[docs]]),
            np.concatenate([inverse[qkeys], inverse[len(qfps) + keys]]), fps)


def _ascii_fps(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_doc_fps for ASCII texts without NUL: one compiled pass over their joined bytes."""
    buf = np.frombuffer("\0".join(texts).lower().encode("ascii"), dtype=np.uint8)
    docs, keys, fps, empty = _jit().ascii_doc_keys(buf, len(texts), n)
    norms = [(i, t) for i, t in ((i, normalise(texts[i])) for i in empty.tolist()) if t]
    if norms:  # no word characters: the normalised text is the one shingle, if there is any
        docs = np.concatenate([docs, np.array([i for i, _ in norms], dtype=np.int64)])
        keys = np.concatenate([keys, np.arange(len(fps), len(fps) + len(norms), dtype=np.int64)])
        fps = np.concatenate([fps, sha1_fingerprints([t for _, t in norms])])
    return docs, keys, fps


def _table(texts: Sequence[str], num_perm: int, exclude: frozenset[str], n: int) -> ShingleTable:
    docs, keys, fp_of_key = _doc_fps(texts, n)
    if exclude:
        # Template shingles leave a document, unless they are all it has.
        drop = np.isin(fp_of_key[keys], sha1_fingerprints(sorted(exclude)))
        only_template = np.bincount(docs[~drop], minlength=len(texts)) == 0
        keep = ~drop | only_template[docs]
        docs, keys = docs[keep], keys[keep]
    # Number shingles in fingerprint order; one sort of (document, number) then gives each
    # document's distinct shingles in fingerprint order.
    by_fp = np.argsort(fp_of_key, kind="stable")
    rank_of_key = np.empty_like(by_fp)
    rank_of_key[by_fp] = np.arange(len(by_fp))
    scale = max(len(by_fp), 1)  # pragma: no mutate (any scale >= the ranks is one-to-one)
    combined = np.sort(docs * scale + rank_of_key[keys])  # np.unique's hash path is slower here
    combined = combined[np.diff(combined, prepend=-1) != 0]  # pragma: no mutate (values are >= 0)
    docs, ranks = combined // scale, combined % scale
    fps = fp_of_key[by_fp][ranks]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(docs, minlength=len(texts)))
    return ShingleTable(offsets, fps, signatures(fps, offsets, num_perm))


# no mutate: texts by position, the rest by keyword; the defaults only move where a pool starts
def shingle_table(texts: Sequence[str], *,  # pragma: no mutate
                  num_perm: int = 128, exclude: Iterable[str] = (), n: int = SHINGLE_WORDS,
                  workers: int = 1, min_chunk: int = 20_000) -> ShingleTable:  # pragma: no mutate
    """Shingles, fingerprints and signatures of every text; `exclude` names template shingles.

    With workers > 1 and more than `min_chunk` texts, chunks are processed in a process pool.
    """
    exclude = frozenset(exclude)
    if workers <= 1 or len(texts) <= min_chunk:
        return _table(texts, num_perm, exclude, n)
    size = max(min_chunk // 4, -(-len(texts) // (workers * 4)))  # pragma: no mutate (the chunk size cuts the work only)
    chunks = [texts[i:i + size] for i in range(0, len(texts), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(_table, chunks, [num_perm] * len(chunks), [exclude] * len(chunks),
                              [n] * len(chunks)))
    offsets = [np.zeros(1, dtype=np.int64)]
    base = 0
    for p in parts:
        offsets.append(p.offsets[1:] + base)
        base += int(p.offsets[-1])
    offsets, fps = np.concatenate(offsets), np.concatenate([p.fps for p in parts])
    return ShingleTable(offsets, fps, np.concatenate([p.signatures for p in parts]))


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(docs, bands) uint64 keys: each band's rows mixed into one 64-bit value (a collision only
    adds a candidate, which Jaccard then rejects)."""
    keys = np.zeros((len(sigs), bands), dtype=np.uint64)
    mult = np.uint64(0x9E3779B97F4A7C15)  # pragma: no mutate (any band hash: Jaccard confirms)
    for r in range(rows):
        col = sigs[:, r:bands * rows:rows].astype(np.uint64)  # row r of every band
        keys = (keys ^ col) * mult
        keys ^= keys >> np.uint64(29)  # pragma: no mutate (any band hash: Jaccard confirms)
    return keys


def band_pairs(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Distinct candidate pairs (i < j), shape (m, 2) int64, sharing at least one band.

    Within a bucket each member is paired with its next BUCKET_WINDOW members in index order.
    """
    n = len(sigs)
    if n < 2:  # pragma: no mutate (one signature gives no pair either way)
        return np.zeros((0, 2), dtype=np.int64)
    sigs = np.ascontiguousarray(sigs)
    found = _jit().band_codes(sigs, bands, rows, BUCKET_WINDOW)
    codes = np.sort(np.concatenate(found))  # np.unique's hash path is several times slower here
    codes = codes[np.diff(codes, prepend=-1) != 0]  # pragma: no mutate (codes are >= 1)
    return np.stack([codes // n, codes % n], axis=1)


def pair_jaccard(table: ShingleTable, pairs: np.ndarray, other: ShingleTable | None = None) -> np.ndarray:
    """True Jaccard of each pair's shingle sets (pairs index `table`, or `table` x `other`),
    merging the two documents' sorted fingerprints (minhash_jit.jaccard_pairs)."""
    other = table if other is None else other
    # no mutate: numpy reads reshape(-2, 2) as reshape(-1, 2)
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)  # pragma: no mutate
    return _jit().jaccard_pairs(table.offsets, table.fps, other.offsets, other.fps, pairs)
