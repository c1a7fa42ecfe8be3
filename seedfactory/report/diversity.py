"""The report's diversity section: a PCA map of the kept rows' embeddings with the seeds and the
dropped near-duplicates, offspring per seed, and rows per seed topic. Reads config.yaml
(validate.embedder), split/train.jsonl, validate/kept.jsonl, validate/rejects.jsonl (duplicates),
judge/sft.jsonl (offspring); embeddings are cached in report/embeddings.npz by content.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from html import escape

import numpy as np

from seedfactory.report.html import bar, missing, table
from seedfactory.report.reader import Run
from seedfactory.util.svg import scatter

DUP_REASONS = ("exact_duplicate", "near_duplicate", "too_similar", "contaminated")
MAP_ROWS = 2000  # most kept (and as many dropped) rows the map embeds; an even spread beyond that


def spread(rows: list, n: int = MAP_ROWS) -> list:
    """At most n rows, evenly spaced through the list (deterministic)."""
    return rows if len(rows) <= n else [rows[i * len(rows) // n] for i in range(n)]


def _text(row: dict) -> str:
    out = row.get("output")
    out = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
    return f"{row.get('instruction', '')}\n\n{row.get('input', '')}\n\n{out}"


def _embed(run: Run, texts: list[str]) -> np.ndarray:
    """The run's configured embedder over texts, cached in report/embeddings.npz by content."""
    from seedfactory.schemas import stable_hash
    from seedfactory.validators.embedders import build_embedder

    name = run.cfg("validate.embedder", "minilm")
    key = stable_hash([name, texts], n=32)
    cache = run.path / "report" / "embeddings.npz"
    if cache.is_file():
        with np.load(cache) as z:
            if str(z["key"]) == key:
                return z["vectors"]
    vecs = (run.embedder or build_embedder(name)).embed(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.tmp.npz")
    np.savez_compressed(tmp, key=np.array(key), vectors=vecs)
    os.replace(tmp, cache)  # a cache is never half-written
    return vecs


def pca2(vecs: np.ndarray) -> np.ndarray:
    """The rows projected on their first two principal components (zeros where rank is short)."""
    centred = vecs - vecs.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = centred @ vt[:2].T
    return np.pad(proj, ((0, 0), (0, 2 - proj.shape[1])))


def diversity(run: Run) -> str:
    seeds, kept = run.jsonl("split/train.jsonl"), run.jsonl("validate/kept.jsonl")
    if not run.stage("validate"):
        return missing("Validation has not run yet: no kept rows to map.")
    dups = [r for r in run.jsonl("validate/rejects.jsonl") if r.get("reason") in DUP_REASONS and r.get("row")]
    parts = []
    items = ([(s, "seed", f"seed {s['id']} ({s.get('topic') or 'no topic'})") for s in seeds]
             + [(r, "kept", f"kept {r['id']}: {r['instruction'][:80]}") for r in spread(kept)]
             + [(d["row"], "dup", f"{d['reason']} of {d.get('dup_of')}: {d['row']['instruction'][:80]}")
                for d in spread(dups)])
    if len(items) >= 3:
        xy = pca2(_embed(run, [_text(r) for r, _, _ in items]))
        pts = [(float(x), float(y), cls, tip) for (_, cls, tip), (x, y) in zip(items, xy)]
        parts.append(scatter(pts, legend={"dup": f"dropped near-duplicates ({len(dups)})",
                                          "kept": f"kept rows ({len(kept)})", "seed": f"seeds ({len(seeds)})"}))
        parts.append(f'<p class="tag">PCA of {escape(str(run.cfg("validate.embedder", "?")))} embeddings of '
                     "instruction, input and output; hover a point for its row.</p>")
    else:
        parts.append(missing("Too few rows for a map."))
    final = run.jsonl("judge/sft.jsonl") if run.stage("judge") else kept
    which = "SFT rows (after the judge)" if run.stage("judge") else "rows kept by validation"
    lead = Counter(r["lineage"]["seed_ids"][0] for r in final if r["lineage"]["seed_ids"])
    shots = Counter(sid for r in final for sid in r["lineage"]["seed_ids"])
    topic = {s["id"]: s.get("topic") or "(none)" for s in seeds}
    right = [f"<h3>Offspring per seed, in {escape(which)}</h3>"]
    top = max(shots.values(), default=1)
    rows = [[s["id"], topic[s["id"]], lead.get(s["id"], 0), shots.get(s["id"], 0),
             bar(shots.get(s["id"], 0), top, px=120)]
            for s in sorted(seeds, key=lambda s: -shots.get(s["id"], 0))]
    right.append(table(["seed", "topic", "led the prompt", "in the prompt", ""], rows, {2, 3}))
    barren = [s["id"] for s in seeds if not shots.get(s["id"])]
    if barren:
        right.append(f'<p class="tag">Seeds with no offspring: {escape(", ".join(barren))}</p>')
    parts.append("<h3>Strata coverage (seed topics)</h3>")
    seeds_per = Counter(topic.values())
    rows_per = Counter(topic.get(sid, "(unknown)") for sid in (r["lineage"]["seed_ids"][0] for r in final
                                                                 if r["lineage"]["seed_ids"]))
    most = max(rows_per.values(), default=1)
    parts.append(table(["topic", "seeds", "rows led", ""],
                       [[t, n, rows_per.get(t, 0), bar(rows_per.get(t, 0), most)] for t, n in seeds_per.most_common()],
                       {1, 2}))
    return f'<div class="split"><div>{"".join(parts)}</div><div>{"".join(right)}</div></div>'
