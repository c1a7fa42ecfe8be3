"""The LSH index's shortcuts (validators/lsh.py): copies joined to their first text before banding,
the permutation floor, and cluster edges named by position in the whole corpus.

    .venv/bin/python -m pytest -q tests/test_lsh_index.py
"""

import pytest

from seedfactory.validators.lsh import ShingleIndex, identical_sets
from seedfactory.validators.minhash import shingle_table

A = "w1 w2 w3 w4 w5 w6 w7 w8"
NEAR_A = "w1 w2 w3 w4 w5 w6 x y"  # Jaccard 0.5 with A


def test_identical_sets_join_each_copy_to_its_first_text_and_leave_empty_texts_alone():
    texts = ["", A, "???", "", "W1 w2, w3 w4 w5 w6 w7 w8!", NEAR_A, A, "hello", "Hello"]  # one shingle each
    assert identical_sets(shingle_table(texts)).tolist() == [0, 1, 2, 3, 1, 5, 1, 7, 7]


def test_cluster_edges_name_texts_by_their_position_in_the_corpus():
    index = ShingleIndex([A, A, NEAR_A], threshold=0.5, num_perm=128)
    edges, sims = index.cluster_edges()
    assert sorted(zip(map(tuple, edges.tolist()), sims.tolist())) == [((0, 1), 1.0), ((0, 2), 0.5)]


def test_two_permutations_are_the_floor():
    assert len(ShingleIndex([A, NEAR_A], threshold=0.5, num_perm=2)) == 2
    with pytest.raises(ValueError, match="validate.num_perm must be at least 2 for MinHash-LSH, got 1"):
        ShingleIndex([A], threshold=0.5, num_perm=1)


def test_matches_are_best_first_whatever_their_positions():
    index = ShingleIndex([A, NEAR_A, A], threshold=0.5, num_perm=128)
    assert index.matches(A) == [(0, 1.0), (2, 1.0), (1, 0.5)]
