"""What the review page shows about one queued row, gathered from the run directory's files.

    shown = RowContext.load(run_dir, schema)
    shown.view(item)   # JSON-able dict: task, response, schema check, judge, consensus, seeds, near-dups

A judge that failed its self-test on the seeds (judge/calibration.json `passed` false) still
scores every row; the view says so beside the score (`judge.trusted`, `judge.selftest`) so that
a reviewer does not read a 135M model's musing as a verdict.

Everything here is data for the page to show as text; nothing is HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedfactory.review.store import ReviewItem
from seedfactory.schemas import JudgeVerdict, SeedExample, output_text
from seedfactory.util.files import read_jsonl, read_jsonl_dicts


def pretty(output: Any) -> str:
    return output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False)


def schema_errors(output: Any, schema: dict | None) -> list[str]:
    """Where a JSON output breaks the seed set's schema, one line per error (empty when it fits)."""
    if schema is None or not isinstance(output, dict):
        return []
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(output), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in errors]


def judge_trust(cal: dict | None) -> dict[str, Any]:
    """Whether the judge's scores mean anything, from judge/calibration.json (None: no self-test ran):
    {"trusted": True | False | None, "auc", "min_auc", "note"}; `note` is the sentence to show
    beside an untrusted score (empty otherwise)."""
    if not isinstance(cal, dict) or "passed" not in cal:
        return {"trusted": None, "auc": None, "min_auc": None, "note": ""}
    auc, min_auc = cal.get("auc"), cal.get("min_auc")
    note = "" if cal["passed"] else (
        f"the judge failed its self-test on the seeds (AUC {'none' if auc is None else f'{auc:.2f}'} < "
        f"judge.min_auc {min_auc}): its score and rationale are not a verdict")
    return {"trusted": bool(cal["passed"]), "auc": auc, "min_auc": min_auc, "note": note}


@dataclass
class RowContext:
    """The judge's verdicts, the seeds and the near-duplicate rejects of one run, by row id."""

    schema: dict | None = None
    judge: dict[str, JudgeVerdict] = field(default_factory=dict)
    seeds: dict[str, SeedExample] = field(default_factory=dict)
    dups: dict[str, list[dict]] = field(default_factory=dict)
    trust: dict[str, Any] = field(default_factory=lambda: judge_trust(None))

    @classmethod
    def load(cls, run_dir: Path, schema: dict | None) -> "RowContext":
        run_dir = Path(run_dir)
        ctx = cls(schema=schema)
        verdicts = run_dir / "judge" / "verdicts.jsonl"
        cal = run_dir / "judge" / "calibration.json"
        if cal.is_file():
            ctx.trust = judge_trust(json.loads(cal.read_text(encoding="utf-8")))
        if verdicts.is_file():
            ctx.judge = {v.example_id: v for v in read_jsonl(verdicts, JudgeVerdict) if v.kind == "rubric"}
        for name in ("train.jsonl", "heldout.jsonl"):
            path = run_dir / "split" / name
            if path.is_file():
                ctx.seeds.update({s.id: s for s in read_jsonl(path, SeedExample)})
        rejects = run_dir / "rejects.jsonl"
        if rejects.is_file():
            for r in read_jsonl_dicts(rejects):
                if r.get("dup_of"):
                    ctx.dups.setdefault(r["dup_of"], []).append(r)
        return ctx

    def view(self, item: ReviewItem) -> dict[str, Any]:
        ex = item.example
        v = self.judge.get(ex.id)
        dups = [{"id": d["row_id"], "reason": d["reason"], "similarity": d.get("similarity"),
                 "output": output_text(d["row"]["output"]) if d.get("row") else "",
                 "instruction": d["row"]["instruction"] if d.get("row") else ""}
                for d in self.dups.get(ex.id, [])]
        seeds = [{"id": s, "instruction": self.seeds[s].instruction if s in self.seeds else "(not in this run)",
                  "input": self.seeds[s].input if s in self.seeds else "",
                  "output": pretty(self.seeds[s].output) if s in self.seeds else ""} for s in ex.lineage.seed_ids]
        return {
            "id": item.id, "version": item.version, "status": item.status,
            "instruction": ex.instruction, "input": ex.input,
            "kind": "text" if isinstance(ex.output, str) else "json",
            "output": pretty(ex.output), "schema_errors": schema_errors(ex.output, self.schema),
            "judge": {"score": ex.scores.get("judge", item.judge_score),
                      "rationale": v.rationale if v else "", "model": v.judge_model if v else "",
                      "trusted": self.trust["trusted"], "note": self.trust["note"],
                      "selftest": {"auc": self.trust["auc"], "min_auc": self.trust["min_auc"]}},
            "consensus": {k: s for k, s in ex.scores.items() if k != "judge"},
            "seeds": seeds, "near_duplicates": dups,
            "verdict": {"status": item.status, "reviewer": item.reviewer, "reason": item.reason, "note": item.note,
                        "edited_output": None if item.edited_output is None else pretty(item.edited_output)},
        }
