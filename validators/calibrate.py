"""Thresholds calibrated from the seeds' own pairwise similarity (`validate.calibrate=true`).

Seeds are distinct examples by construction, so no threshold should call two of them
duplicates: each threshold is set just above the most similar pair of seeds, within bounds.

    near_dup_threshold   max Jaccard between two seed prompts (template left out) + 0.05, in [0.5, 0.95]
    decontam_threshold   max Jaccard between a train and a held-out seed prompt + 0.05, in [0.3, 0.9]
    diversity_threshold  max embedding cosine between two seed prompts + 0.02, in [0.8, 0.99]

`calibrate(env)` returns the new config section and the figures for the validate stats.
"""

from __future__ import annotations

import numpy as np

from seedfactory.schemas.config import ValidateConfig
from seedfactory.validators.base import ValidationEnv
from seedfactory.validators.minhash import pair_jaccard, shingle_table
from seedfactory.validators.similarity import template_shingles

MIN_SEEDS = 3
# (margin above the most similar seed pair, lowest, highest) per threshold
BOUNDS = {"near_dup_threshold": (0.05, 0.5, 0.95), "decontam_threshold": (0.05, 0.3, 0.9),
          "diversity_threshold": (0.02, 0.8, 0.99)}


def _summary(values: np.ndarray) -> dict:
    if not len(values):
        return {"pairs": 0}
    q = np.quantile(values, [0.5, 0.9])
    return {"pairs": int(len(values)), "median": round(float(q[0]), 4), "p90": round(float(q[1]), 4),
            "max": round(float(values.max()), 4)}


def _threshold(key: str, most_similar: float) -> float:
    margin, lo, hi = BOUNDS[key]
    return round(min(hi, max(lo, most_similar + margin)), 4)


def seed_similarities(env: ValidationEnv) -> dict[str, np.ndarray]:
    """Pairwise Jaccard among all seed prompts, train x held-out Jaccard, and cosine among all."""
    seeds = env.seeds
    prompts = [s.prompt for s in seeds]
    table = shingle_table(prompts, exclude=template_shingles(prompts))
    ii, jj = np.triu_indices(len(seeds), k=1)
    jac = pair_jaccard(table, np.stack([ii, jj], axis=1))
    n_train = len(env.train_seeds)
    across = (ii < n_train) & (jj >= n_train)  # seeds are train first, then held-out
    vecs = env.get_embedder().embed(prompts)
    cos = np.einsum("ij,ij->i", vecs[ii], vecs[jj])
    return {"jaccard": jac, "jaccard_train_heldout": jac[across], "cosine": cos}


def calibrate(env: ValidationEnv) -> tuple[ValidateConfig, dict]:
    """The validate section with calibrated thresholds, and what they were computed from."""
    cfg = env.cfg
    if len(env.seeds) < MIN_SEEDS:
        return cfg, {"calibrated": False, "reason": f"fewer than {MIN_SEEDS} seeds"}
    sims = seed_similarities(env)
    sources = {"near_dup_threshold": sims["jaccard"], "diversity_threshold": sims["cosine"],
               "decontam_threshold": sims["jaccard_train_heldout"]}
    update = {k: _threshold(k, float(v.max())) for k, v in sources.items() if len(v)}
    figures = {"calibrated": True, "seeds": len(env.seeds),
               "configured": {k: getattr(cfg, k) for k in BOUNDS}, "thresholds": update,
               **{f"seed_{k}": _summary(v) for k, v in sims.items()}}
    return cfg.model_copy(update=update), figures
