"""Benchmark: the whole run on every bundled schema domain, read the way a reviewer would read it.

For each bundled seed set with an output schema, a run on the embedded defaults with fast settings
(named in the output), then per domain, from its run directory:
  rows              SFT rows published (judge/sft.jsonl)
  valid_share       rows whose every value is valid under the schema and for its field's kind
  grounded_share    rows whose every non-null span value the input states (kinds-aware finder)
  null_but_in_text  rows with a null field whose value of that kind the input plainly holds
  labels_supported  rows whose enum/boolean labels have a second signal (written by construction, or
                    the seeds' classifier agrees); null when the schema has no labels
  seeds_templated   train seeds that served as a template or a rewrite layout, of all train seeds
  distinct_layouts  distinct inputs once values, digits and month names are masked; also the share
                    of the most common layout and of rows whose wording is not a seed's
  base / sft / dpo  the student's field match on the domain's evaluation file, with 95% intervals
  finder_failures   per-field grounding checks the seeds themselves pass below validate.min_seed_pass
                    (a failure of the value finder: the benchmark exits 1 when there is one)

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m bench.domains [--domains a,b] [--tasks 24] [--no-train]

The last stdout line is one JSON object {"domains": {NAME: {...}}, "settings": {...}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jsonschema

from seedfactory.schemas import Example, SeedExample, load_schema, schema_next_to
from seedfactory.seeds import bundled_sets
from seedfactory.util.files import read_json, read_jsonl


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def schema_domains() -> dict[str, Path]:
    return {name: p for name, p in bundled_sets().items() if schema_next_to(p) is not None}


def row_checks(row: Example, schema: dict, kinds: dict, label_check, text_fields: list[str]) -> dict:
    """The per-row measurements: valid, grounded, null but in text, label supported (None: no labels)."""
    from seedfactory.validators.kinds import check_value
    from seedfactory.validators.values import is_stated, null_but_in_text

    out = row.output if isinstance(row.output, dict) else {}
    valid = isinstance(row.output, dict) and not list(jsonschema.Draft202012Validator(schema).iter_errors(out))
    valid = valid and all(check_value(out.get(f), fk) is None for f, fk in kinds.items() if out.get(f) is not None)
    grounded = all(is_stated(out[f], row.input, kind=kinds[f].kind) for f in text_fields
                   if out.get(f) is not None and f in kinds)
    nulls = bool(null_but_in_text(out, row.input, kinds))
    labels = None
    if label_check is not None and (label_check.models or label_check.skipped):
        # the pipeline's own rule (validators/labels.py): a template carries its label, a rewrite must not
        # be contradicted, a label the teacher chose needs the classifier's agreement
        strategy = row.lineage.strategy
        labels = (strategy == "output_first:template" or not (
            label_check.unsupported(out, row.input) if strategy == "output_first:rewrite"
            else label_check.unconfirmed(out, row.input)))
    return {"valid": valid, "grounded": grounded, "null_but_in_text": nulls, "labels": labels}


def measure(run: Path, name: str) -> dict:
    """The table's figures for one run directory."""
    from seedfactory.validators.kinds import infer_kinds
    from seedfactory.validators.layout import layout_stats

    schema = load_schema(run / "split" / "schema.json")
    train = list(read_jsonl(run / "split" / "train.jsonl", SeedExample))
    kinds = infer_kinds(schema, train)
    rows = list(read_jsonl(run / "judge" / "sft.jsonl", Example)) if (run / "judge" / "sft.jsonl").is_file() else []
    text_fields = [f for f, fk in kinds.items() if fk.kind not in ("label", "boolean")]
    label_check = None
    cal = read_json(run / "validate" / "calibration.json") if (run / "validate" / "calibration.json").is_file() else {}
    try:
        from seedfactory.validators.embedders import build_embedder
        from seedfactory.validators.labels import fit_label_check, label_fields

        fields = [f for f, fk in kinds.items() if fk.kind in ("label", "boolean")] or label_fields(schema, train)
        if fields:
            label_check = fit_label_check(train, fields, build_embedder("minilm"), 0.7)
    except ImportError:
        pass
    checks = [row_checks(r, schema, kinds, label_check, text_fields) for r in rows]

    def share(key: str):
        vals = [c[key] for c in checks if c[key] is not None]
        return round(sum(vals) / len(vals), 4) if vals else None

    gen = read_json(run / "generate" / "stats.json") if (run / "generate" / "stats.json").is_file() else {}
    templated = gen.get("seeds_templated", {})
    ev = read_json(run / "eval.json") if (run / "eval.json").is_file() else {}
    failures = {f: {"seed_pass_rate": v["seed_pass_rate"], "unread": v.get("unread", [])}
                for f, v in cal.get("checks", {}).get("ungrounded", {}).get("fields", {}).items() if not v["applied"]}
    lay = layout_stats(rows, train, kinds)
    return {"rows": len(rows), "valid_share": share("valid"), "grounded_share": share("grounded"),
            "null_but_in_text": share("null_but_in_text"), "labels_supported": share("labels"),
            "seeds_templated": f"{templated.get('used', '?')}/{templated.get('of', len(train))}",
            "distinct_layouts": lay["distinct_layouts"], "top_layout_share": lay["top_layout_share"],
            "wording_not_seed": lay["not_seed_wording"],
            **{s: ({"value": ev[s]["value"], "ci95": ev[s].get("ci95")} if s in ev else None)
               for s in ("base", "sft", "dpo")},
            "finder_failures": failures, "kinds": {f: fk.kind for f, fk in kinds.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--domains", default="", help="comma-separated set names (default: every bundled schema set)")
    ap.add_argument("--tasks", type=int, default=24, help="generate.num_tasks per domain")
    ap.add_argument("--sft-steps", type=int, default=24)
    ap.add_argument("--dpo-steps", type=int, default=4)
    ap.add_argument("--no-train", action="store_true", help="stop after judge: data figures only, no student")
    ap.add_argument("--out", default="runs/bench-domains", help="one run directory per domain under it (resumable)")
    ap.add_argument("--measure-only", action="store_true", help="read existing run directories, run nothing")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="more config overrides (fast settings)")
    args = ap.parse_args(argv)
    from seedfactory.pipeline import run
    from seedfactory.schemas import load_config

    names = [n for n in args.domains.split(",") if n] or sorted(schema_domains())
    settings = {"generate.num_tasks": args.tasks, "train.sft_steps": args.sft_steps,
                "train.dpo_steps": args.dpo_steps, "train.curve": False, "until": "judge" if args.no_train else
                "evaluate", "teacher": "smollm2-135m (embedded vLLM CPU)", "student": "smollm2-135m LoRA",
                **dict(kv.split("=", 1) for kv in args.set)}
    table = {}
    for name in names:
        out = Path(args.out) / name
        t0 = time.monotonic()
        if not args.measure_only:
            cfg = load_config(None, [f"seeds.path={name}", f"generate.num_tasks={args.tasks}",
                                     f"train.sft_steps={args.sft_steps}", f"train.dpo_steps={args.dpo_steps}",
                                     "train.curve=false", *args.set])
            log(f"bench.domains: {name} ...")
            run(cfg, out, progress=False, until=settings["until"], log=lambda m: log(f"  {name}: {m}"))
        table[name] = measure(out, name) | {"seconds": round(time.monotonic() - t0, 1)}
        t = table[name]
        log(f"{name}: rows {t['rows']} valid {t['valid_share']} grounded {t['grounded_share']} "
            f"null_but_in_text {t['null_but_in_text']} labels {t['labels_supported']} templated "
            f"{t['seeds_templated']} layouts {t['distinct_layouts']} (top {t['top_layout_share']}, not seed "
            f"{t['wording_not_seed']}) base {t['base']} sft {t['sft']} dpo {t['dpo']} "
            f"finder failures {sorted(t['finder_failures'])}")
    print(json.dumps({"domains": table, "settings": settings}, ensure_ascii=False))
    return 1 if any(t["finder_failures"] for t in table.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
