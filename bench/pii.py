"""Benchmark: the PII recognisers (validators/pii.py) on a labelled sample, precision and recall per kind.

The sample (tests/fixtures/pii-sample.txt) is one text a line with its personal data marked
`[[kind:value]]`, next to look-alikes that are not personal data (order numbers, dates, versions,
card-shaped numbers failing Luhn, excluded SSN areas). A found entity is right when it overlaps a
marked one of the same kind; recall is the share of marked entities some right find overlaps.
Then the masker: each text masked, is every fake card Luhn-valid and every fake IBAN mod-97-valid,
and does the recogniser find the same kinds in the masked text (a fake of the same kind)? Last, the
recall of person names on the bundled appointment pool (whose names scripts/make_pool.py knows).
Last line JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.pii [--sample FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from seedfactory.validators.pii import KINDS, Entity, Masker, iban_ok, luhn_ok, recogniser

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"\[\[(\w+):(.+?)\]\]")


def read_sample(path: Path) -> list[tuple[str, list[Entity]]]:
    """(plain text, marked entities with their spans in it) per line."""
    out = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, gold, at = [], [], 0
        for m in MARK.finditer(line):
            text.append(line[at:m.start()])
            start = sum(map(len, text))
            gold.append(Entity(m.group(1), start, start + len(m.group(2)), m.group(2)))
            text.append(m.group(2))
            at = m.end()
        text.append(line[at:])
        out.append(("".join(text), gold))
    return out


def overlaps(a: Entity, b: Entity) -> bool:
    return a.kind == b.kind and a.start < b.end and b.start < a.end


def score(sample, rec) -> dict:
    tp_pred, n_pred, hit_gold, n_gold = Counter(), Counter(), Counter(), Counter()
    misses, false = [], []
    for text, gold in sample:
        found = rec.find(text)
        for f in found:
            n_pred[f.kind] += 1
            if any(overlaps(f, g) for g in gold):
                tp_pred[f.kind] += 1
            else:
                false.append(f"{f.kind}: {f.text!r}")
        for g in gold:
            n_gold[g.kind] += 1
            if any(overlaps(f, g) for f in found):
                hit_gold[g.kind] += 1
            else:
                misses.append(f"{g.kind}: {g.text!r}")
    per = {k: {"gold": n_gold[k], "found": n_pred[k],
               "precision": round(tp_pred[k] / n_pred[k], 3) if n_pred[k] else None,
               "recall": round(hit_gold[k] / n_gold[k], 3) if n_gold[k] else None} for k in KINDS}
    return {"per_kind": per, "misses": misses, "false_positives": false}


def masking(sample, rec) -> dict:
    masker, cards, ibans, kept, total = Masker(seed=0), [], [], 0, 0
    for text, _ in sample:
        found = rec.find(text)
        masked = masker.mask(text, found)
        again = Counter(e.kind for e in rec.find(masked))
        total += len(found)
        kept += sum(min(n, again[k]) for k, n in Counter(e.kind for e in found).items())
        for e in found:
            fake = masker.fake(e.kind, e.text)
            assert fake != e.text or e.kind == "person", f"{e.kind} {e.text!r} masked to itself"
            if e.kind == "card":
                cards.append(luhn_ok(re.sub(r"\D", "", fake)))
            if e.kind == "iban":
                ibans.append(iban_ok(fake.replace(" ", "")))
    return {"fake_cards_luhn_valid": f"{sum(cards)}/{len(cards)}",
            "fake_ibans_mod97_valid": f"{sum(ibans)}/{len(ibans)}",
            "kinds_found_again_in_masked_text": round(kept / total, 3) if total else None}


def pool_names(rec) -> dict:
    """Recall of person names on the bundled appointment pool: scripts/make_pool.py knows whose name each
    input holds (no labels needed); a name counts as found when a person entity overlaps it."""
    import importlib.util

    from seedfactory.generators.pool import ingest
    from seedfactory.generators.pool_read import pool_files
    from seedfactory.schemas import RejectLog
    from seedfactory.schemas.config import PoolConfig

    spec = importlib.util.spec_from_file_location("make_pool", ROOT / "scripts" / "make_pool.py")
    make_pool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_pool)
    items, _ = ingest(pool_files(str(ROOT / "seeds" / "pools" / "appointment-requests")), PoolConfig(), RejectLog(),
                      lambda m: None)
    names = found = 0
    for it in items:
        low = it.text.casefold()
        for name in make_pool.NAMES:
            at = low.find(name.casefold())
            if at >= 0:
                names += 1
                found += any(e.kind == "person" and e.start < at + len(name) and at < e.end for e in rec.find(it.text))
    return {"inputs": len(items), "names": names, "recall": round(found / names, 3) if names else None}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default=str(ROOT / "tests" / "fixtures" / "pii-sample.txt"))
    args = ap.parse_args(argv)
    sample, rec = read_sample(Path(args.sample)), recogniser()
    t0 = time.perf_counter()
    result = score(sample, rec)
    seconds = time.perf_counter() - t0
    print(f"{len(sample)} texts, recogniser {rec.name}, {seconds:.2f} s")
    print(f"{'kind':<12} {'gold':>5} {'found':>6} {'precision':>10} {'recall':>7}")
    for k, r in result["per_kind"].items():
        print(f"{k:<12} {r['gold']:>5} {r['found']:>6} {str(r['precision']):>10} {str(r['recall']):>7}")
    for line in result["misses"]:
        print(f"  missed {line}")
    for line in result["false_positives"]:
        print(f"  false  {line}")
    mask = masking(sample, rec)
    print(f"masking: {mask}")
    pool = pool_names(rec)
    print(f"person names on the bundled appointment pool: {pool}")
    out = {"bench": "pii", "texts": len(sample), "recogniser": rec.name, "seconds": round(seconds, 3),
           "per_kind": result["per_kind"], "masking": mask, "pool_person_recall": pool}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
