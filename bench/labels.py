"""Benchmark: the label check (validators/labels.py) on seed sets with an evaluation file.

Per label field: the chosen method and its leave-one-out accuracy on the train seeds (nested:
the choice of method inside the LOO), the one-sided 95% lower bound, the LOO of always answering
the commonest label, each method's own LOO, labels seen in one seed only, and whether the check
applies. Then, fit on every train seed, the accuracy on the set's evaluation file and how many
evaluation rows the check flags with their true label (false alarms) and with a wrong one (the
next label in sorted order; caught). Last line JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.labels [--embedder hash|minilm] [SET ...]

A SET is `train_path[:field,field]`; the evaluation file is the train path with `.eval` before
its suffix, the schema `<stem>.schema.json` beside it when present; fields default to
label_fields(schema, seeds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from seedfactory.schemas.seedfile import load_schema, load_seeds
from seedfactory.validators.embedders import build_embedder
from seedfactory.validators.labels import fit_label_check, label_fields, label_of, text_of

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETS = ["seeds/clause-classify.yaml:Label", "seeds/invoice-fields.jsonl",
                "tests/fixtures/labels-tickets.jsonl"]


def wrong_label(output, name: str, classes: list[str]):
    """The output with `name` set to the label after its own in `classes` (booleans flipped)."""
    have = label_of(output, name)
    other = classes[(classes.index(have) + 1) % len(classes)]
    if isinstance(output, dict):
        value = output[name]
        return {**output, name: (not value) if isinstance(value, bool) else other}
    return "\n".join(f"{name}: {other}" if line.split(":")[0].strip().casefold() == name.casefold() else line
                     for line in output.splitlines())


def run_set(spec: str, embedder) -> dict:
    path_s, _, names = spec.partition(":")
    path = ROOT / path_s if not Path(path_s).is_absolute() else Path(path_s)
    schema_path = path.with_name(path.stem + ".schema.json")
    schema = load_schema(schema_path) if schema_path.is_file() else None
    train = load_seeds(path, schema)
    held = load_seeds(path.with_name(path.stem + ".eval" + path.suffix), schema)
    fields = names.split(",") if names else label_fields(schema, train)
    start = time.perf_counter()
    check = fit_label_check(train, fields, embedder)
    out = {"fit_seconds": round(time.perf_counter() - start, 1), "fields": {}}
    preds = check.predict([text_of(s) for s in held])
    print(f"== {path.name} ({embedder.name}, fit {out['fit_seconds']}s)")
    for name in fields:
        print("  ", check.why(name))
        row = check.table()[name]
        if name in check.models:
            classes = check.models[name].classes
            cases = [(s, p) for s, p in zip(held, preds) if label_of(s.output, name) in classes]
            acc = float(np.mean([label_of(s.output, name) == p[name][0].casefold() for s, p in cases]))
            false = sum(bool(check.unsupported(s.output, text_of(s), p)) for s, p in cases)
            caught = sum(bool(check.unsupported(wrong_label(s.output, name, classes), text_of(s), p)) for s, p in cases)
            print(f"     each method's LOO {row['methods']}; seen once: {row['singletons']}")
            print(f"     eval: accuracy {acc:.2f} on {len(cases)} (fit on all {row['seeds']} seeds); flagged with "
                  f"the true label {false}, with a wrong one {caught}")
            row |= {"eval_accuracy": round(acc, 4), "eval_cases": len(cases), "flag_true": false, "flag_wrong": caught}
        out["fields"][name] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedder", default="hash", choices=["hash", "minilm"])
    ap.add_argument("sets", nargs="*", default=DEFAULT_SETS)
    args = ap.parse_args()
    embedder = build_embedder(args.embedder)
    results = {spec: run_set(spec, embedder) for spec in args.sets}
    print(json.dumps({"embedder": embedder.name, "sets": results}))


if __name__ == "__main__":
    main()
