"""Native-speed shingling for validators/minhash.py: numba kernels over the UTF-8 bytes of all
texts at once.

For ASCII text (the common case; anything else takes minhash.py's regex path) one pass finds the
words (`\\w+` is [a-z0-9_] after lowercasing), hash tables number the distinct words and the
distinct word n-grams, and SHA-1 runs once per distinct shingle, written here so that it runs
inside the same compiled loop instead of one hashlib call per shingle. The fingerprint is the
first 8 bytes of sha1(" ".join(words)) little-endian, exactly as minhash.sha1_fingerprints gives
it, so signatures stay bit-identical to datasketch's.

    docs, keys, fps, empty = ascii_doc_keys(np.frombuffer(b"\\0".join(...), np.uint8), len(texts), 3)

Kernels compile on first use and are cached on disk (numba `cache=True`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M32 = 0xFFFFFFFF
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_GOLD = np.uint64(0x9E3779B97F4A7C15)  # pragma: no mutate (any odd multiplier: the same ids and buckets)


@njit(cache=True, inline="always")  # pragma: no mutate (numba's on-disk cache: speed only)
def _is_word(c):
    # no mutate: text is lowercased before it is encoded
    return (97 <= c <= 122) or (48 <= c <= 57) or c == 95 or (65 <= c <= 90)  # pragma: no mutate


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def _tokenise(buf, ndocs):
    """Word start/end offsets in `buf` (NUL separates documents) and each document's word count."""
    n = len(buf)
    count = 0
    for i in range(n):  # words = word bytes that start a run
        if _is_word(buf[i]) and (i == 0 or not _is_word(buf[i - 1])):
            count += 1
    starts = np.empty(count, np.int64)
    ends = np.empty(count, np.int64)
    lens = np.zeros(ndocs, np.int64)
    k = 0
    d = 0
    i = 0
    while i < n:
        c = buf[i]
        if c == 0:
            d += 1
            i += 1
        elif _is_word(c):
            starts[k] = i
            while i < n and _is_word(buf[i]):
                i += 1
            ends[k] = i
            lens[d] += 1
            k += 1
        else:
            i += 1
    return starts, ends, lens


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def _word_ids(buf, starts, ends):
    """Number each token by its distinct word; returns (id per token, first token of each word)."""
    m = len(starts)
    size = 1 << 12
    while size < 4 * min(m, 1 << 16):  # pragma: no mutate (any first size gives the same ids)
        size <<= 1  # pragma: no mutate (a larger table, the same entries)
    table = np.full(size, -1, np.int64)
    first = np.empty(size, np.int64)  # per word; grown with the table (at most size / 2 words)
    hashes = np.empty(size, np.uint64)
    wid = np.empty(m, np.int64)
    nw = 0  # pragma: no mutate (ids from 1: still distinct)
    for t in range(m):
        s, e = starts[t], ends[t]
        h = _FNV_OFFSET
        for i in range(s, e):
            h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
        slot = np.int64(h & np.uint64(size - 1))
        while True:
            w = table[slot]
            if w == -1:
                table[slot] = nw
                first[nw] = t
                hashes[nw] = h
                wid[t] = nw
                nw += 1  # pragma: no mutate (ids 0, 2, 4: still distinct)
                break
            if hashes[w] == h:
                f = first[w]
                fs = starts[f]
                if ends[f] - fs == e - s:
                    same = True
                    for i in range(e - s):
                        if buf[fs + i] != buf[s + i]:
                            same = False
                            break
                    if same:
                        wid[t] = w
                        break
            slot = (slot + 1) & (size - 1)
        # no mutate: grown sooner: the same ids
        if 2 * nw > size:  # pragma: no mutate; grow: reinsert every word by its stored hash
            size <<= 1
            first = _grown(first, size)
            hashes = _grown(hashes, size)
            table = _rehash(hashes, nw, size)
    return wid, first[:nw]


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def _shingle_ids(wid, lens, n):
    """Per shingle occurrence its document and distinct-shingle number, and the word ids of each
    distinct shingle (n columns, -1 padded: a text under n words contributes its single words)."""
    ndocs = len(lens)
    total = 0
    for d in range(ndocs):
        total += lens[d] - n + 1 if lens[d] >= n else lens[d]
    docs = np.empty(total, np.int64)
    sid = np.empty(total, np.int64)
    size = 1 << 12  # pragma: no mutate (any first size gives the same ids)
    table = np.full(size, -1, np.int64)
    words = np.empty((size, n), np.int64)  # per distinct shingle; grown with the table
    hashes = np.empty(size, np.uint64)
    ns = 0
    k = 0  # pragma: no mutate (shifted alike: the same pairs)
    pos = 0
    for d in range(ndocs):
        length = lens[d]
        width = n if length >= n else 1
        count = length - n + 1 if length >= n else length
        for j in range(count):
            h = np.uint64(0)  # pragma: no mutate (any hash seed gives the same ids)
            for c in range(width):
                # no mutate: equal hashes are checked word by word
                h = (h ^ np.uint64(wid[pos + j + c] + 1)) * _GOLD  # pragma: no mutate
                h ^= h >> np.uint64(29)  # pragma: no mutate (any shift gives the same ids)
            h ^= np.uint64(width)
            slot = np.int64(h & np.uint64(size - 1))
            while True:
                s = table[slot]
                if s == -1:
                    table[slot] = ns
                    hashes[ns] = h
                    for c in range(n):
                        words[ns, c] = wid[pos + j + c] if c < width else -1
                    sid[k] = ns
                    ns += 1
                    break  # pragma: no mutate (continue re-reads the slot: the same id)
                if hashes[s] == h:
                    same = True
                    for c in range(n):
                        w = wid[pos + j + c] if c < width else -1
                        if words[s, c] != w:
                            same = False
                            break  # pragma: no mutate (same stays False either way)
                    if same:
                        sid[k] = s
                        break
                slot = (slot + 1) & (size - 1)
            docs[k] = d
            k += 1
            if 2 * ns > size:
                size <<= 1
                words = _grown(words, size)
                hashes = _grown(hashes, size)
                table = _rehash(hashes, ns, size)
        pos += length
    return docs, sid, words[:ns]


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def _rehash(hashes, count, size):
    """A fresh open-addressing table of `size` slots (a power of two) holding entries 0..count-1
    by their stored hashes, linear probing."""
    table = np.full(size, -1, np.int64)
    for i in range(count):
        slot = np.int64(hashes[i] & np.uint64(size - 1))
        while table[slot] != -1:
            slot = (slot + 1) & (size - 1)
        table[slot] = i
    return table


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def _grown(arr, size):
    """`arr` copied into a new array of `size` rows (the first len(arr) filled)."""
    out = np.empty((size,) + arr.shape[1:], arr.dtype)
    out[:len(arr)] = arr
    return out


@njit(cache=True, inline="always")  # pragma: no mutate (numba's on-disk cache: speed only)
def _rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & _M32


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def _sha1_fp(msg, length, w):
    """First 8 bytes of SHA-1(msg[:length]) as a little-endian integer. `msg` has room for the
    padding (length + 72 bytes); `w` is an 80-word scratch array. 32-bit words held in int64."""
    msg[length] = 0x80
    padded = ((length + 8) // 64 + 1) * 64
    for i in range(length + 1, padded - 8):  # pragma: no mutate (that byte is written just after)
        msg[i] = 0
    bits = length * 8
    for i in range(8):
        msg[padded - 1 - i] = (bits >> (8 * i)) & 0xFF
    h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
    for blk in range(0, padded, 64):
        for t in range(16):
            o = blk + 4 * t
            w[t] = (np.int64(msg[o]) << 24) | (np.int64(msg[o + 1]) << 16) | (np.int64(msg[o + 2]) << 8) | msg[o + 3]
        for t in range(16, 80):
            w[t] = _rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
        a, b, c, d, e = h0, h1, h2, h3, h4
        # Four branch-free loops, one per round function.
        for t in range(20):
            tmp = (_rotl(a, 5) + ((b & c) | ((~b) & d & _M32)) + e + 0x5A827999 + w[t]) & _M32
            e, d, c, b, a = d, c, _rotl(b, 30), a, tmp
        for t in range(20, 40):
            tmp = (_rotl(a, 5) + (b ^ c ^ d) + e + 0x6ED9EBA1 + w[t]) & _M32
            e, d, c, b, a = d, c, _rotl(b, 30), a, tmp
        for t in range(40, 60):
            tmp = (_rotl(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8F1BBCDC + w[t]) & _M32
            e, d, c, b, a = d, c, _rotl(b, 30), a, tmp
        for t in range(60, 80):
            tmp = (_rotl(a, 5) + (b ^ c ^ d) + e + 0xCA62C1D6 + w[t]) & _M32
            e, d, c, b, a = d, c, _rotl(b, 30), a, tmp
        h0 = (h0 + a) & _M32
        h1 = (h1 + b) & _M32
        h2 = (h2 + c) & _M32
        h3 = (h3 + d) & _M32
        h4 = (h4 + e) & _M32
    return _bswap32(h0) | (_bswap32(h1) << 32)


@njit(cache=True, inline="always")  # pragma: no mutate (numba's on-disk cache: speed only)
def _bswap32(x):
    return ((x & 0xFF) << 24) | ((x & 0xFF00) << 8) | ((x >> 8) & 0xFF00) | (x >> 24)


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def _shingle_fps(buf, starts, ends, first, words):
    """sha1 fingerprint (as uint64) of each distinct shingle: its words joined by single spaces."""
    ns, n = words.shape
    longest = 0  # pragma: no mutate (otherwise longest >= 0)
    for s in range(ns):
        length = n - 1  # pragma: no mutate (a larger buffer, the same fingerprints)
        for c in range(n):
            if words[s, c] >= 0:  # pragma: no mutate (a larger buffer, the same fingerprints)
                t = first[words[s, c]]
                length += ends[t] - starts[t]
        longest = max(longest, length)
    msg = np.empty(longest + 72, np.uint8)  # pragma: no mutate (a larger buffer, the same fingerprints)
    w = np.empty(80, np.int64)
    out = np.empty(ns, np.uint64)
    for s in range(ns):
        length = 0
        for c in range(n):
            if words[s, c] < 0:
                break  # pragma: no mutate (padding only at the end)
            if c:
                msg[length] = 32
                length += 1
            t = first[words[s, c]]
            for i in range(starts[t], ends[t]):
                msg[length] = buf[i]
                length += 1
        out[s] = np.uint64(_sha1_fp(msg, length, w))
    return out


def ascii_doc_keys(buf: np.ndarray, ndocs: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(document, shingle number) per occurrence, each distinct shingle's fingerprint, and the
    documents without a word (their shingle is the normalised text, which the caller adds).

    `buf`: the lowercased ASCII texts joined by NUL, as uint8.
    """
    starts, ends, lens = _tokenise(buf, ndocs)
    wid, first = _word_ids(buf, starts, ends)
    docs, sid, words = _shingle_ids(wid, lens, n)
    fps = _shingle_fps(buf, starts, ends, first, words)
    return docs, sid, fps, np.flatnonzero(lens == 0)


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def signature_rows(h, offsets, a, b):
    """(docs, num_perm) uint32 minimum of `a*h + b mod 2^32` over each document's hashes `h`
    (CSR by `offsets`); a document without any keeps 2^32 - 1, datasketch's empty value."""
    n = len(offsets) - 1
    num_perm = len(a)
    out = np.full((n, num_perm), np.uint32(_M32), np.uint32)
    for d in range(n):
        row = out[d]
        for j in range(offsets[d], offsets[d + 1]):
            hj = h[j]
            for p in range(num_perm):
                v = np.uint32(a[p] * hj + b[p])
                if v < row[p]:
                    row[p] = v
    return out


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def jaccard_pairs(off_a, fps_a, off_b, fps_b, pairs):
    """True Jaccard of each pair's sets (`pairs[:, 0]` in a, `pairs[:, 1]` in b), each set a run
    of ascending fingerprints; merged in one pass per pair. An empty set gives 0."""
    out = np.zeros(len(pairs))
    for k in range(len(pairs)):
        p, pe = off_a[pairs[k, 0]], off_a[pairs[k, 0] + 1]
        q, qe = off_b[pairs[k, 1]], off_b[pairs[k, 1] + 1]
        na, nb = pe - p, qe - q
        if na == 0 or nb == 0:  # pragma: no mutate (nb is never negative)
            continue
        inter = 0
        while p < pe and q < qe:
            x, y = fps_a[p], fps_b[q]
            if x == y:
                inter += 1
                p += 1
                q += 1  # pragma: no mutate (distinct ascending sets)
            elif x < y:  # pragma: no mutate (x == y is taken before)
                p += 1
            else:
                q += 1
        out[k] = inter / (na + nb - inter)
    return out


@njit(cache=True)  # pragma: no mutate (numba's on-disk cache: speed only)
def band_codes(sigs, bands, rows, window):
    """Candidate pairs (as i * n + j, i < j, unsorted, may repeat across bands) of documents whose
    band of `rows` signature values agree; within a bucket each member is paired with its next
    `window` members in index order. A band's rows are mixed into one 64-bit key exactly as
    minhash.band_keys does, then grouped by a hash table instead of a sort."""
    n = sigs.shape[0]
    size = 1  # pragma: no mutate (doubles to >= 2n either way)
    while size < 2 * n:  # pragma: no mutate (any size >= n: the same buckets)
        size <<= 1
    table = np.empty(size, np.int64)
    tkeys = np.empty(size, np.uint64)
    tail = np.empty(n, np.int64)    # per bucket (numbered by its first member): last member so far
    count = np.empty(n, np.int64)   # per bucket: members
    nxt = np.empty(n, np.int64)     # per document: the next member of its bucket, or -1
    bucket = np.empty(n, np.int64)  # per document: its bucket
    rank = np.empty(n, np.int64)    # per document: its place in its bucket
    parts = []
    for band in range(bands):
        table[:] = -1
        total = 0
        for d in range(n):
            key = np.uint64(0)
            for r in range(rows):
                key = (key ^ np.uint64(sigs[d, band * rows + r])) * _GOLD
                key ^= key >> np.uint64(29)  # pragma: no mutate (any shift: the same buckets)
            slot = np.int64(key & np.uint64(size - 1))
            while table[slot] != -1 and tkeys[slot] != key:
                slot = (slot + 1) & (size - 1)  # pragma: no mutate (steps of two still find room)
            nxt[d] = -1
            if table[slot] == -1:
                table[slot] = d
                tkeys[slot] = key
                bucket[d] = d
                tail[d] = d
                count[d] = 1
                rank[d] = 0
            else:
                b = table[slot]
                bucket[d] = b
                nxt[tail[b]] = d
                tail[b] = d
                rank[d] = count[b]
                count[b] += 1
        for d in range(n):
            total += min(window, count[bucket[d]] - rank[d] - 1)
        out = np.empty(total, np.int64)
        k = 0
        for d in range(n):
            j = nxt[d]
            m = 0
            while j != -1 and m < window:
                out[k] = d * n + j
                k += 1
                m += 1
                j = nxt[j]
        parts.append(out)
    return parts
