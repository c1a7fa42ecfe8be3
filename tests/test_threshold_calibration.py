"""Exact figures of `validate.calibrate` (validators/calibrate.py): each threshold is the most similar
seed pair plus its margin, held within its bounds; the figures are the seeds' own similarity summary.

    .venv/bin/python -m pytest -q tests/test_threshold_calibration.py
"""

import numpy as np
import pytest
from factories import make_env

from seedfactory.schemas import SeedExample
from seedfactory.validators.calibrate import _summary, _threshold, calibrate


@pytest.mark.parametrize("key, most_similar, threshold", [
    ("near_dup_threshold", 0.2, 0.5), ("near_dup_threshold", 0.6, 0.65), ("near_dup_threshold", 0.93, 0.95),
    ("near_dup_threshold", 0.612345, 0.6623),
    ("decontam_threshold", 0.1, 0.3), ("decontam_threshold", 0.5, 0.55), ("decontam_threshold", 0.88, 0.9),
    ("diversity_threshold", 0.5, 0.8), ("diversity_threshold", 0.9, 0.92), ("diversity_threshold", 0.98, 0.99),
])
def test_threshold_is_the_most_similar_pair_plus_margin_within_bounds(key, most_similar, threshold):
    assert _threshold(key, most_similar) == threshold


def test_summary_of_the_seed_similarities():
    values = np.array([0.222222, 0.111111, 0.555555, 0.333333, 0.444444])
    # the 0.9 quantile interpolates 60% of the way from the 4th value to the 5th
    assert _summary(values) == {"pairs": 5, "median": 0.3333, "p90": 0.5111, "max": 0.5556}
    assert _summary(np.array([])) == {"pairs": 0}


class TableEmbedder:
    """Unit vectors chosen per prompt, so cosines are known exactly."""

    def __init__(self, vectors):
        self.vectors = vectors

    def embed(self, texts):
        return np.array([self.vectors[t] for t in texts], dtype=np.float64)


def test_three_seeds_are_enough_and_only_train_heldout_pairs_set_decontamination():
    train = [SeedExample(id=f"t{i}", instruction=p, output="x") for i, p in enumerate([
        "write a poem about the quiet harbour at night", "list the rivers that cross southern germany today",
        "explain how a bicycle gear changes the effort"])]
    # two held-out seeds almost alike: a held-out pair, not a train x held-out one
    heldout = [SeedExample(id=f"h{i}", instruction=p, output="x") for i, p in enumerate([
        "name five birds that winter on the northern coast", "name five birds that winter on the northern shore"])]
    c = 0.6
    vectors = {s.prompt: v for s, v in zip(train + heldout, [[1, 0, 0], [c, (1 - c * c) ** 0.5, 0], [0, 0, 1],
                                                             [0, 1, 0], [0, 0, 1]])}
    env = make_env(train_seeds=train, heldout=heldout, embedder=TableEmbedder(vectors))
    cfg, figures = calibrate(env)
    assert figures["calibrated"] is True and figures["seeds"] == 5
    assert figures["seed_jaccard"]["pairs"] == 10 and figures["seed_jaccard_train_heldout"]["pairs"] == 6
    assert figures["seed_jaccard_train_heldout"]["max"] == 0.0
    assert figures["seed_jaccard"]["max"] == 0.75  # the held-out pair: 6 shared 3-grams of 8
    assert figures["seed_cosine"]["max"] == 1.0  # t2 and h1 share a vector
    assert figures["thresholds"] == {"near_dup_threshold": 0.8, "diversity_threshold": 0.99,
                                     "decontam_threshold": 0.3}
    assert (cfg.near_dup_threshold, cfg.diversity_threshold, cfg.decontam_threshold) == (0.8, 0.99, 0.3)
    assert figures["configured"] == {k: getattr(env.cfg, k) for k in
                                     ("near_dup_threshold", "decontam_threshold", "diversity_threshold")}
    cfg3, figures3 = calibrate(make_env(train_seeds=train, embedder=TableEmbedder(vectors)))
    assert figures3["calibrated"] is True and figures3["seed_jaccard_train_heldout"] == {"pairs": 0}
    assert "decontam_threshold" not in figures3["thresholds"] and cfg3.decontam_threshold == env.cfg.decontam_threshold
    assert figures3["thresholds"]["diversity_threshold"] == 0.8  # most similar pair 0.6 + 0.02, raised to 0.8
