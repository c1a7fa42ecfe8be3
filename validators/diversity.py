"""Semantic diversity: drop prompts that mean nearly the same as one already kept.

Near-dedup catches reworded copies that share words; this catches paraphrases that do not.
Each prompt group's prompt is embedded (one batch, env.get_embedder()) and kept greedily in input
order if its cosine to everything kept so far, starting from the train seeds' prompts, stays
under validate.diversity_threshold; blocks of candidates go through matrix products, so 100k
rows need no n x n matrix (greedy_select). Seeds start the kept set because a generated prompt that
restates a few-shot example adds nothing the seeds do not already teach.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from seedfactory.schemas import Example
from seedfactory.validators.base import ValidationEnv
from seedfactory.validators.similarity import prompt_groups

BLOCK = 512      # pragma: no mutate (cuts the work, not a decision); candidates compared to the kept set at once
# no mutate: cuts the work, not a decision
KEPT_CHUNK = 8192  # pragma: no mutate; kept vectors per matrix product: a BLOCK x KEPT_CHUNK float32 tile is 16 MB


def greedy_select(vecs: np.ndarray, fixed: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy diversity selection in input order; the first `fixed` rows start the kept set.

    Row i (i >= fixed) is kept when its max cosine to every row kept before it is < threshold.
    Returns, per row after the fixed ones, the nearest earlier kept row (-1 if kept) and that
    cosine. Same decisions as comparing one row at a time, but candidates go through in blocks:
    one matrix product per block and kept chunk against the rows kept before the block, then
    a short loop inside the block. Memory stays O(rows x dim + BLOCK x KEPT_CHUNK); no n x n matrix.
    """
    n = len(vecs) - fixed
    nearest = np.full(n, -1, dtype=np.int64)
    best = np.zeros(n, dtype=np.float32)
    kept = list(range(fixed))
    for b0 in range(0, n, BLOCK):
        block = vecs[fixed + b0: fixed + b0 + BLOCK]
        pre_sim = np.full(len(block), -np.inf, dtype=np.float32)
        pre_idx = np.full(len(block), -1, dtype=np.int64)  # pragma: no mutate (read only beside a -inf similarity)
        kept_arr = np.asarray(kept, dtype=np.int64)
        for k0 in range(0, len(kept_arr), KEPT_CHUNK):
            ids = kept_arr[k0:k0 + KEPT_CHUNK]
            sims = block @ vecs[ids].T
            arg = sims.argmax(axis=1)
            top = sims[np.arange(len(block)), arg]
            better = top > pre_sim  # strictly: on a tie the earlier kept row stays nearest
            pre_sim[better], pre_idx[better] = top[better], ids[arg[better]]
        inner = block @ block.T
        in_block: list[int] = []  # positions in the block kept so far
        for i in range(len(block)):
            sim, idx = pre_sim[i], pre_idx[i]
            if in_block:
                row = inner[i, in_block]
                j = int(row.argmax())
                if row[j] > sim:
                    sim, idx = row[j], fixed + b0 + in_block[j]
            if idx >= 0 and sim >= threshold:  # pragma: no mutate (idx is -1 only beside a -inf similarity)
                nearest[b0 + i], best[b0 + i] = idx, sim
            else:
                in_block.append(i)
        kept.extend(fixed + b0 + i for i in in_block)
    return nearest, best


def diversity_filter(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Keep groups whose max cosine to the kept prompts is < the threshold, in input order.
    Output-first template groups (a seed's layout with new values) pass: their variety is in the
    values, and generation already takes each seed's layout only in turn.

    A dropped group's rows are rejected as "too_similar" with score and similarity the max
    cosine and dup_of the nearest kept prompt: a kept group's first row id, or a seed id.
    Holds all rows in memory.
    """
    rows = list(rows)
    # A seed's own layout with new values: its variety is in the values, by design; such groups
    # are neither compared nor added to the kept set.
    groups = [g for g in prompt_groups(rows).values()
              if not g[0].lineage.strategy.endswith(":template")]  # pragma: no mutate (a group: one strategy)
    if not groups:
        yield from rows
        return
    seeds = env.train_seeds
    # no mutate: a prompt group shares its prompt
    vecs = env.get_embedder().embed([s.prompt for s in seeds] + [g[0].prompt for g in groups])  # pragma: no mutate
    nearest, sims = greedy_select(vecs, len(seeds), env.cfg.diversity_threshold)
    ids = [s.id for s in seeds] + [g[0].id for g in groups]
    dropped = {g[0].prompt_id: (ids[j], float(sim))  # pragma: no mutate (a group shares its prompt_id)
               for g, j, sim in zip(groups, nearest.tolist(), sims) if j >= 0}
    for row in rows:
        if row.prompt_id in dropped:
            near_id, sim = dropped[row.prompt_id]
            env.reject(row, "too_similar", score=sim, dup_of=near_id, similarity=sim)
        else:
            yield row


def seed_band(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Drop prompt groups whose input is further from every seed input than the seeds are from each
    other ("off_domain"): the band is measured on the train seeds (validators.quality.calibrate_band)
    and recorded in the calibration. Inputs when every seed has one, else whole prompts."""
    from seedfactory.validators.quality import calibrate_band

    rows = list(rows)
    seeds = env.train_seeds
    use_input = bool(seeds) and all(s.input.strip() for s in seeds)

    def text(x) -> str:
        return x.input if use_input else x.prompt

    groups = list(prompt_groups(rows).values())
    emb = env.get_embedder()
    # no mutate: under 3 seed rows the band is not applied
    seed_vecs = emb.embed([text(s) for s in seeds]) if seeds else np.zeros((0, 1), np.float32)  # pragma: no mutate
    band = calibrate_band(seed_vecs, env.cfg.band_margin)
    band["embedder"] = getattr(emb, "name", "")
    env.get_calibration()["checks"]["off_domain"] = band
    if not band["applied"] or not groups:
        yield from rows
        return
    vecs = emb.embed([text(g[0]) for g in groups])  # pragma: no mutate (a prompt group shares its prompt)
    sims = vecs @ seed_vecs.T
    far = {}
    for g, row_sims in zip(groups, sims):
        j = int(np.argmax(row_sims))
        if row_sims[j] < band["threshold"]:
            # no mutate: a prompt group shares its prompt_id
            far[g[0].prompt_id] = (seeds[j].id, float(row_sims[j]))  # pragma: no mutate
    for row in rows:
        if row.prompt_id in far:
            near_id, sim = far[row.prompt_id]
            env.reject(row, "off_domain", score=sim, dup_of=near_id, similarity=sim,
                       detail=f"nearest seed {near_id} at cosine {sim:.3f} < {band['threshold']} (the seeds' band)")
        else:
            yield row
