"""Semantic diversity: drop prompts that mean nearly the same as one already kept.

Near-dedup catches reworded copies that share words; this catches paraphrases that do not.
Each prompt group's prompt is embedded (one batch, env.get_embedder()) and kept greedily in input
order if its cosine to everything kept so far, starting from the train seeds' prompts, stays
under validate.diversity_threshold. Seeds start the kept set because a generated prompt that
restates a few-shot example adds nothing the seeds do not already teach.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from seedfactory.schemas import Example
from seedfactory.validators.base import ValidationEnv
from seedfactory.validators.similarity import prompt_groups


def diversity_filter(rows: Iterable[Example], env: ValidationEnv) -> Iterator[Example]:
    """Keep groups whose max cosine to the kept prompts is < the threshold, in input order.
    Output-first template groups (a seed's layout with new values) pass: their variety is in the
    values, and generation already takes each seed's layout only in turn.

    A dropped group's rows are rejected as "too_similar" with score and similarity the max
    cosine and dup_of the nearest kept prompt: a kept group's first row id, or a seed id.
    Holds all rows in memory.
    """
    threshold = env.cfg.diversity_threshold
    rows = list(rows)
    groups = list(prompt_groups(rows).values())
    if not groups:
        return
    seeds = env.train_seeds
    vecs = env.get_embedder().embed([s.prompt for s in seeds] + [g[0].prompt for g in groups])

    # The kept set grows as groups pass; rows of `kept` are vectors, `kept_ids` their names.
    kept = np.empty((len(seeds) + len(groups), vecs.shape[1]), dtype=np.float32)
    kept[:len(seeds)] = vecs[:len(seeds)]
    kept_ids = [s.id for s in seeds]
    dropped: dict[str, tuple[str, float]] = {}  # prompt_id -> (nearest kept id, cosine)
    for g, vec in zip(groups, vecs[len(seeds):]):
        if g[0].lineage.strategy.endswith(":template"):
            continue  # a seed's own layout with new values: its variety is in the values, by design
        n = len(kept_ids)
        if n:
            sims = kept[:n] @ vec
            nearest = int(np.argmax(sims))
            if sims[nearest] >= threshold:
                dropped[g[0].prompt_id] = (kept_ids[nearest], float(sims[nearest]))
                continue
        kept[n] = vec
        kept_ids.append(g[0].id)

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
    seed_vecs = emb.embed([text(s) for s in seeds]) if seeds else np.zeros((0, 1), dtype=np.float32)
    band = calibrate_band(seed_vecs, env.cfg.band_margin)
    band["embedder"] = getattr(emb, "name", "")
    env.get_calibration()["checks"]["off_domain"] = band
    if not band["applied"] or not groups:
        yield from rows
        return
    vecs = emb.embed([text(g[0]) for g in groups])
    sims = vecs @ seed_vecs.T
    far = {}
    for g, row_sims in zip(groups, sims):
        j = int(np.argmax(row_sims))
        if row_sims[j] < band["threshold"]:
            far[g[0].prompt_id] = (seeds[j].id, float(row_sims[j]))
    for row in rows:
        if row.prompt_id in far:
            near_id, sim = far[row.prompt_id]
            env.reject(row, "off_domain", score=sim, dup_of=near_id, similarity=sim,
                       detail=f"nearest seed {near_id} at cosine {sim:.3f} < {band['threshold']} (the seeds' band)")
        else:
            yield row
