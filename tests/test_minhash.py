"""Bulk shingling, MinHash and banding (validators/minhash.py, lsh.py) against the reference
definitions: datasketch's MinHash and MinHashLSH, and shingles()/jaccard() on Python sets."""

import random

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from factories import make_env, make_example

from seedfactory.schemas import SeedExample
from seedfactory.validators import near_dedup
from seedfactory.validators.lsh import ShingleIndex, lsh_params
from seedfactory.validators.minhash import band_pairs, pair_jaccard, sha1_fingerprints, shingle_table
from seedfactory.validators.similarity import jaccard, shingles, template_shingles

VOCAB = "the a of write list name email customer order short blue Über café why how 42 x_y".split()


def corpus(n=400, seed=0):
    rng = random.Random(seed)
    fixed = ["", "???", "  !! ", "hi there", "One", "Hello, world! Hello world again", "a b c"]
    return fixed + [" ".join(rng.choice(VOCAB) for _ in range(rng.randint(0, 25))) for _ in range(n)]


def reference_minhash(text, num_perm=128):
    m = MinHash(num_perm=num_perm)
    m.update_batch([s.encode("utf-8") for s in shingles(text)])
    return m


def test_signatures_and_sets_match_datasketch_and_shingles():
    texts = corpus()
    table = shingle_table(texts, num_perm=64)
    for i, text in enumerate(texts):
        assert np.array_equal(table.signatures[i], reference_minhash(text, 64).hashvalues), text
        assert len(table.doc(i)) == len(shingles(text)), text


def test_compiled_ascii_path_matches_hashlib_and_datasketch():
    # ASCII only, so every text takes minhash_jit's kernels; long words make shingles of more
    # than one 64-byte SHA-1 block, capitals and underscores test the \w rule after lowercasing.
    rng = random.Random(5)
    vocab = [w for w in VOCAB if w.isascii()] + ["Mixed_Case9", "x" * 40, "pneumonoultramicroscopicsilicovolcano" * 2]
    texts = ["", "...", "Hi", "Hi, you"] + [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 30)))
                                             for _ in range(300)]
    table = shingle_table(texts, num_perm=32)
    for i, text in enumerate(texts):
        assert table.doc(i).tolist() == sorted(sha1_fingerprints(shingles(text)).tolist()), text
        assert np.array_equal(table.signatures[i], reference_minhash(text, 32).hashvalues), text


def test_ascii_and_non_ascii_texts_share_one_numbering_of_shingles():
    texts = ["café one two three", "one two three four", "One two three four!"]
    table = shingle_table(texts, num_perm=16)
    pairs = np.array([(0, 1), (1, 2), (0, 2)])
    want = [jaccard(shingles(texts[i]), shingles(texts[j])) for i, j in pairs]
    assert pair_jaccard(table, pairs).tolist() == want == [1 / 3, 1.0, 1 / 3]


def test_pair_jaccard_equals_set_jaccard():
    texts = corpus(120, seed=1)
    table = shingle_table(texts, num_perm=16)
    pairs = np.array([(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))])
    want = [jaccard(shingles(texts[i]), shingles(texts[j])) for i, j in pairs]
    assert pair_jaccard(table, pairs).tolist() == want


def test_band_pairs_are_datasketch_lsh_candidates():
    texts = corpus(300, seed=2)
    bands, rows = lsh_params(0.5, 128)
    lsh = MinHashLSH(threshold=0.5, num_perm=128, weights=(0.1, 0.9))
    assert (lsh.b, lsh.r) == (bands, rows)
    minhashes = [reference_minhash(t) for t in texts]
    for i, m in enumerate(minhashes):
        lsh.insert(i, m)
    want = {(i, j) for i, m in enumerate(minhashes) for j in lsh.query(m) if j > i}
    got = set(map(tuple, band_pairs(shingle_table(texts).signatures, bands, rows).tolist()))
    assert got == want


def test_process_pool_gives_the_same_table():
    texts = corpus(200, seed=3)
    one = shingle_table(texts, num_perm=32)
    pooled = shingle_table(texts, num_perm=32, workers=2, min_chunk=40)
    assert np.array_equal(one.offsets, pooled.offsets) and np.array_equal(one.fps, pooled.fps)
    assert np.array_equal(one.signatures, pooled.signatures)



def test_a_pool_starts_only_above_min_chunk_texts(monkeypatch):
    import seedfactory.validators.minhash as mh

    def no_pool(*a, **k):
        raise AssertionError("a process pool was started")

    texts = corpus(33, seed=4)  # 7 fixed texts + 33
    one = shingle_table(texts, num_perm=16)
    monkeypatch.setattr(mh, "ProcessPoolExecutor", no_pool)
    at = shingle_table(texts, num_perm=16, workers=2, min_chunk=len(texts))
    alone = shingle_table(texts, num_perm=16, workers=1, min_chunk=1)  # one worker is never a pool
    assert np.array_equal(one.signatures, at.signatures) and np.array_equal(one.signatures, alone.signatures)
    with pytest.raises(AssertionError, match="process pool"):
        shingle_table(texts, num_perm=16, workers=2, min_chunk=len(texts) - 1)


def test_non_ascii_texts_without_words_are_their_own_single_shingle():
    texts = ["→ ✓", "\u00a0\u2003", "★★ ☆", "café au lait", "→  ✓"]  # the 2nd is only (non-ASCII) spaces
    table = shingle_table(texts, num_perm=16)
    for i, text in enumerate(texts):
        assert table.doc(i).tolist() == sorted(sha1_fingerprints(shingles(text)).tolist()), text
    assert [len(table.doc(i)) for i in range(3)] == [1, 0, 1]
    assert pair_jaccard(table, np.array([(0, 4), (0, 2)])).tolist() == [1.0, 0.0]

TEMPLATE = ("You are a helpful support agent for the bike shop on Mill Street. Answer the customer politely "
            "and briefly, in plain English, without promising refunds or delivery dates, and sign every "
            "reply with the name of the shop and a friendly greeting for the weekend.")


def test_template_every_seed_shares_does_not_make_rows_alike():
    seeds = [SeedExample(id=f"s{i}", instruction=TEMPLATE, input=q, output="ok") for i, q in
             enumerate(["Where is my order?", "Do you repair gears?", "Can I return a helmet?"])]
    template = template_shingles(s.prompt for s in seeds)
    assert template and template <= shingles(TEMPLATE)
    rows = [make_example("a", TEMPLATE, input="Is the shop open on Sunday?"),
            make_example("b", TEMPLATE, input="How much is a new chain?")]
    assert jaccard(shingles(rows[0].prompt), shingles(rows[1].prompt)) >= 0.7  # alike by template alone
    env = make_env(train_seeds=seeds)
    assert [r.id for r in near_dedup(rows, env)] == ["a", "b"] and env.reject.records == []
    # Without the seeds the template is not known and the two collide.
    env = make_env()  # (b is kept: more distinct words in its prompt, see keep_best)
    assert [r.id for r in near_dedup(rows, env)] == ["b"]
    assert [(r.row_id, r.reason) for r in env.reject.records] == [("a", "near_duplicate")]


def test_index_matches_a_query_by_true_jaccard():
    texts = ["reply to this customer about the late blue mugs order today",
             "list three rivers in germany and their cities"]
    index = ShingleIndex(texts, threshold=0.5, num_perm=128)
    query = "reply to this client about the late blue mugs order today"
    assert index.matches(query) == [(0, jaccard(shingles(texts[0]), shingles(query)))]
    assert index.matches("something else entirely different here") == []


def test_a_nul_inside_a_text_does_not_split_it():
    texts = ["one two\0three four five", "six seven eight", ""]
    table = shingle_table(texts, num_perm=16)
    assert [len(table.doc(i)) for i in range(3)] == [len(shingles(t)) for t in texts]
    assert len(shingle_table([], num_perm=16)) == 0


def test_calibration_sets_thresholds_just_above_the_most_similar_seeds():
    from seedfactory.validators.calibrate import calibrate

    prompts = ["Write a haiku about the sea at night and the moon over the water",
               "Write a haiku about the sea at dawn and the moon over the water",
               "List three rivers in Germany and the cities they pass through",
               "Explain how a bicycle gear works to a child"]
    seeds = [SeedExample(id=f"s{i}", instruction=p, output="x") for i, p in enumerate(prompts)]
    env = make_env(train_seeds=seeds[:3], heldout=seeds[3:])
    top = jaccard(shingles(prompts[0]), shingles(prompts[1]))
    cfg, figures = calibrate(env)
    assert figures["seed_jaccard"]["max"] == round(top, 4) and figures["seed_jaccard"]["pairs"] == 6
    assert cfg.near_dup_threshold == round(min(0.95, max(0.5, top + 0.05)), 4) != env.cfg.near_dup_threshold
    assert cfg.decontam_threshold == 0.3  # the held-out seed shares nothing with the train seeds
    assert figures["configured"]["near_dup_threshold"] == env.cfg.near_dup_threshold
    assert calibrate(make_env(train_seeds=seeds[:2]))[1] == {"calibrated": False, "reason": "fewer than 3 seeds"}


def test_cluster_edges_join_copies_to_their_first_and_give_the_same_clusters():
    texts = corpus(150, seed=4)
    texts = texts + texts[20:60] + ["Hello world again, hello"]  # copies, and a reordered copy of a set
    index = ShingleIndex(texts, threshold=0.5, num_perm=128)
    edges, sims = index.cluster_edges()
    first = {j: i for (i, j), s in zip(edges.tolist(), sims.tolist()) if s == 1.0}
    assert all(first[len(corpus(150, seed=4)) + k] <= 20 + k for k in range(40) if shingles(texts[20 + k]))

    def components(pairs):
        parent = list(range(len(texts)))

        def find(i):
            while parent[i] != i:
                i = parent[i]
            return i
        for i, j in pairs:
            parent[find(j)] = find(i)
        roots = {find(i) for i in range(len(texts))}
        return sorted(sorted(i for i in range(len(texts)) if find(i) == r) for r in roots)
    assert components(edges.tolist()) == components([(i, j) for i, j, _ in index.similar_pairs()])


def test_index_keeps_a_pair_exactly_at_the_threshold_and_drops_one_just_under():
    # 6 word 3-grams each, 4 shared: Jaccard 4/8 = 0.5 exactly; the third shares 3 of 10 with each (0.3)
    texts = ["w1 w2 w3 w4 w5 w6 w7 w8", "w1 w2 w3 w4 w5 w6 x y", "w1 w2 w3 w4 w5 p q r s"]
    assert jaccard(shingles(texts[0]), shingles(texts[1])) == 0.5
    index = ShingleIndex(texts, threshold=0.5, num_perm=128)
    assert (0, 1) in index.candidate_pairs()
    assert index.similar_pairs() == [(0, 1, 0.5)]
    edges, sims = index.cluster_edges()
    assert edges.tolist() == [[0, 1]] and sims.tolist() == [0.5]
    assert index.matches(texts[1]) == [(1, 1.0), (0, 0.5)]
    assert ShingleIndex(texts, threshold=0.51, num_perm=128).similar_pairs() == []


def test_a_template_needs_two_texts_and_is_what_both_share():
    assert template_shingles(["a b c d", "a b c e"]) == frozenset({"a b c"})
    assert template_shingles(["a b c d"]) == frozenset() and template_shingles([]) == frozenset()


def test_a_text_made_only_of_template_shingles_keeps_them():
    template = shingles(TEMPLATE)
    texts = [TEMPLATE, f"{TEMPLATE} Where is my order?", "Where is my order?", f"{TEMPLATE} Thanks."]
    table = shingle_table(texts, num_perm=16, exclude=template)
    assert table.doc(3).tolist() == sha1_fingerprints(["the weekend thanks"]).tolist()  # one of its own: that alone
    assert table.doc(0).tolist() == sorted(sha1_fingerprints(template).tolist())  # all it has: kept
    assert table.doc(1).tolist() == sorted(sha1_fingerprints(shingles(texts[1]) - template).tolist())
    assert table.doc(2).tolist() == sorted(sha1_fingerprints(shingles(texts[2])).tolist())


def test_long_shingles_over_a_large_vocabulary_are_renumbered_and_stay_exact():
    # with 8-word shingles, 300 distinct words pass the int64 guard (300**8 >= 2**62) on the path for
    # non-ASCII texts, so keys are renumbered mid-way
    rng = random.Random(9)
    vocab = [f"wört{i}" for i in range(300)]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(6, 30))) for _ in range(60)]
    texts += [texts[0], texts[1][:-1]]
    table = shingle_table(texts, num_perm=16, n=8)
    for i, text in enumerate(texts):
        assert table.doc(i).tolist() == sorted(sha1_fingerprints(shingles(text, 8)).tolist()), text
    assert pair_jaccard(table, np.array([(0, 60)])).tolist() == [1.0]


def test_a_querys_candidates_are_datasketch_lsh_candidates():
    texts = corpus(200, seed=6)
    index = ShingleIndex(texts, threshold=0.5, num_perm=128, weights=(0.1, 0.9))
    lsh = MinHashLSH(threshold=0.5, num_perm=128, weights=(0.1, 0.9))
    for i, t in enumerate(texts):
        lsh.insert(i, reference_minhash(t))
    queries = texts[10:40] + corpus(30, seed=7)[7:]
    found = [sorted(index.candidates(q)) for q in queries]
    assert found == [sorted(lsh.query(reference_minhash(q))) for q in queries]
    assert 0 < sum(map(len, found)) < len(queries) * len(texts) // 4  # some, and far from all


def test_a_bucket_larger_than_the_window_pairs_each_member_with_its_next_window_members():
    from seedfactory.validators.minhash import BUCKET_WINDOW

    n = BUCKET_WINDOW + 40  # one band bucket holds every document
    got = band_pairs(np.zeros((n, 8), np.uint64), 2, 4)
    want = [[i, j] for i in range(n) for j in range(i + 1, min(i + BUCKET_WINDOW, n - 1) + 1)]
    assert got.tolist() == want


def test_the_compiled_shingle_table_grows_past_its_first_size_and_stays_exact():
    # ASCII words w0, w1, ...: 10000 distinct shingles, more than the table's first 4096 slots hold, so
    # it grows and rehashes twice in the middle of the first text (a table that stays at 4096 slots
    # fills and never finds a free one); then the same words again and the next text: every shingle
    # must be found where the rehash put it, not counted twice
    words = " ".join(f"w{i}" for i in range(10000))
    texts = [f"{words} {words}", "w0 w1 w2 w3"]
    table = shingle_table(texts, num_perm=16)
    for i, text in enumerate(texts):
        assert table.doc(i).tolist() == sorted(sha1_fingerprints(shingles(text)).tolist()), i


def test_the_kernels_run_as_plain_python_give_the_compiled_results(tmp_path):
    # Compiled numba code checks no index: a kernel that writes past its buffer may still give the
    # right answer, or corrupt memory quietly. Run as plain Python (NUMBA_DISABLE_JIT), numpy checks
    # every index, and the results must be the compiled ones. The first word is the longest, so the
    # longest shingle holds word 0; lengths around SHA-1's 55/56/64-byte block edges; every ASCII
    # punctuation byte, each one a word break (the compiled path's words must be the regex path's).
    import json
    import os
    import string
    import subprocess
    import sys

    texts = ["q" * 300 + " a b c", "x" * 51 + " y z", "x" * 52 + " y z", "x" * 59 + " y z", "x" * 60 + " y z",
             "One two, THREE four", "a b c d e", "x[y]z {a} b|c d~e f`g h^i j\\k l@m n:o p/q" + string.punctuation,
             *corpus(60, seed=4)]
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    script = f"""
import json, numpy as np
from seedfactory.validators.minhash import band_pairs, pair_jaccard, shingle_table
texts = json.load(open({str(tmp_path / "texts.json")!r}))
t = shingle_table(texts, num_perm=32)
pairs = np.array([(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))])
edge = shingle_table([{"x" * 52 + " y z"!r}], num_perm=2)  # its longest shingle pads to 72 more bytes
np.savez({str(tmp_path / "plain.npz")!r}, offsets=t.offsets, fps=t.fps, sigs=t.signatures,
         bands=band_pairs(t.signatures, 8, 4), jac=pair_jaccard(t, pairs), edge=edge.fps)
"""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", script], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    plain = np.load(tmp_path / "plain.npz")
    table = shingle_table(texts, num_perm=32)
    pairs = np.array([(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))])
    assert np.array_equal(plain["offsets"], table.offsets) and np.array_equal(plain["fps"], table.fps)
    assert np.array_equal(plain["sigs"], table.signatures)
    assert np.array_equal(plain["bands"], band_pairs(table.signatures, 8, 4))
    assert np.array_equal(plain["jac"], pair_jaccard(table, pairs))
    # a table whose longest shingle is 56 bytes, the length SHA-1 pads most (to 128): the scratch
    # buffer is sized by the longest shingle of the call, so this one is measured alone
    assert plain["edge"].tolist() == shingle_table(["x" * 52 + " y z"], num_perm=2).fps.tolist()
    for i, text in enumerate(texts):  # and the compiled path's shingles are the regex path's
        assert table.doc(i).tolist() == sorted(sha1_fingerprints(shingles(text)).tolist()), text


def test_the_compiled_word_table_grows_past_its_largest_first_size_and_stays_exact():
    # The word table starts at four times the tokens, capped at 4 * 65536 slots, and grows when half
    # full: 270,000 distinct words make it grow twice (a table that grew only when full would fill at
    # 262,144 and never find a free slot); the first words come again at the end and in the next text
    n = 270_000
    texts = [" ".join(f"w{i}" for i in range(n)) + " w0 w1 w2", "w0 w1 w2"]
    table = shingle_table(texts, num_perm=2)
    first = table.doc(0)
    assert len(first) == n and len(np.unique(first)) == n  # n - 2 runs of three words and two across the end, once
    assert table.doc(1).tolist() == sha1_fingerprints(["w0 w1 w2"]).tolist()
    assert np.isin(table.doc(1), first).all()
