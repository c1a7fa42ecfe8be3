"""Judge selection: which answer of each task becomes its SFT row, which rows the judge's cut-off
removes, and which pairs of answers become preference pairs. The judge stage (`seedfactory.steps`)
reads the files, calls these and records the outcome.

    cal = calibration(train_seeds, backend, cfg.judge, schema, criteria, check, seed)  # may the judge filter?
    verdicts = judge_rows(rows, backend, cfg.judge.model, ...)
    out = select(rows, verdicts, validate_rejects, cfg.judge, cal["passed"], embed, confirm)
    out.sft, out.scored, out.pairs, out.rejects   # rejects: (row, reason, kwargs for the reject log)

Consensus per task picks its SFT row (for an output-first task: agreement with its target); the
judge removes rows and ranks pairs only when it passed its self-test on the seeds (`calibration`);
a judge pair is kept only when the pairwise judge prefers its chosen side in both orders (`confirm`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from seedfactory.judges.consensus import Consensus, consensus
from seedfactory.judges.pairs import panel_pairs
from seedfactory.judges.rubric import score_cutoff
from seedfactory.judges.selftest import check_set, self_test
from seedfactory.schemas import Example, JudgeVerdict, PreferencePair, Reject, SeedExample, lineage_counts
from seedfactory.schemas.config import JudgeConfig
from seedfactory.validators.similarity import prompt_groups

# (pairs) -> one pairwise verdict per pair, `.winner == "a"` when chosen wins in both orders
Confirm = Callable[[list[tuple[str, str, str]]], list]


@dataclass
class Selection:
    """What judge selection decided; the stage writes the lists and logs the rejects in order."""

    sft: list[Example]
    scored: list[Example]  # every judged row with its scores (consensus, judge), flagged ones first
    pairs: list[PreferencePair]
    rejects: list[tuple[Example, str, dict]] = field(default_factory=list)  # (row, reason, RejectLog kwargs)
    no_pair: Counter[str] = field(default_factory=Counter)  # tasks without a pair, by reason
    consensus: dict[str, Consensus] = field(default_factory=dict)
    cutoff: float | None = None
    flagged: int = 0  # answers addressed to the grader

    def stats(self) -> dict:
        agreements = [c.agreement for c in self.consensus.values() if not c.against_target]
        vs_target = [c.agreement for c in self.consensus.values() if c.against_target]
        return {"out": len(self.sft), "kept_by": lineage_counts(self.sft), "pairs": len(self.pairs),
                "cutoff": self.cutoff,
                "consensus_mean": round(sum(agreements) / len(agreements), 3) if agreements else None,
                "teacher_field_accuracy_on_targets": round(sum(vs_target) / len(vs_target), 3) if vs_target else None}


def calibration(seeds: list[SeedExample], backend, jc: JudgeConfig, schema: dict | None, criteria: str | None,
                check, seed: int) -> dict:
    """The judge's self-test on corrupted seeds: its AUC and `passed` (AUC >= judge.min_auc)."""
    checks = check_set(seeds, random.Random(seed), jc.self_test_size)
    cal = self_test(checks, backend, jc.model, schema, criteria, check=check) if checks else {"auc": None}
    trusted = cal["auc"] is not None and cal["auc"] >= jc.min_auc
    return cal | {"min_auc": jc.min_auc, "passed": trusted, "judge": jc.model.model}


# validation's reasons whose rows are a task's wrong answers (the rejected side of a pair), not bad tasks
PAIR_MATERIAL = ("schema_invalid", "invalid_value", "ungrounded", "value_in_text_but_null")


def failed_answers(rejects: list[Reject], flagged: list[Example], groups: dict) -> dict[str, list[Example]]:
    """Answers that failed the schema, a value's kind or grounding (or left a value in the text null), and
    those addressed to the grader, by task: pair material."""
    failed: dict[str, list[Example]] = {}
    for rj in rejects:
        if rj.reason in PAIR_MATERIAL and rj.row and rj.row["prompt_id"] in groups:
            failed.setdefault(rj.row["prompt_id"], []).append(Example.model_validate(rj.row))
    for r in flagged:
        if r.prompt_id in groups:
            failed.setdefault(r.prompt_id, []).append(r)
    return failed


def select(rows: list[Example], verdicts: list[JudgeVerdict], validate_rejects: list[Reject], jc: JudgeConfig,
           trusted: bool, embed=None, confirm: Confirm | None = None) -> Selection:
    """Flag, choose, cut and pair (module docstring). `embed` is for free-text consensus (None with
    a schema); `confirm` asks the pairwise judge, used only when the judge is `trusted`."""
    scores = {v.example_id: v.score for v in verdicts if v.score is not None}
    # answers that address the grader leave, scored and flagged; they stay pair material (rejected side)
    flagged = {v.example_id: v.flag for v in verdicts if v.flag}
    scored = [r.model_copy(update={"scores": {**r.scores, "judge": scores[r.id], "addressed_grader": 1.0}})
              for r in rows if r.id in flagged]
    out = Selection(sft=[], scored=scored, pairs=[], flagged=len(flagged))
    out.rejects = [(r, "addressed_grader", {"score": scores[r.id], "detail": flagged[r.id]}) for r in scored]
    groups = prompt_groups(r for r in rows if r.id not in flagged)
    failed = failed_answers(validate_rejects, scored, groups)
    # a target task's teacher answers that failed validation still count against the target: the
    # teacher's accuracy on its own texts is measured over every answer it gave
    out.consensus = {pid: consensus(g + failed.get(pid, []) if any(r.lineage.label == "target" for r in g) else g,
                                    embed) for pid, g in groups.items()}
    for pid, group in groups.items():
        chosen = _choose(group, out.consensus[pid], scores, jc.min_consensus, out)
        if chosen is not None:
            out.sft.append(chosen)
    if trusted:
        out.cutoff = score_cutoff([r.scores["judge"] for r in out.sft if "judge" in r.scores], jc.min_score,
                                  jc.drop_fraction)
        out.sft = [r for r in out.sft if _above(r, out.cutoff, out)]
    out.pairs, out.no_pair = panel_pairs(groups, failed, out.consensus, scores if trusted else None, jc.min_margin)
    if trusted and out.pairs and confirm is not None:
        both = confirm([(p.prompt, p.chosen, p.rejected) for p in out.pairs])
        out.no_pair["judge_disagreed"] += sum(v.winner != "a" for v in both)
        out.pairs = [p for p, v in zip(out.pairs, both) if v.winner == "a"]
    return out


def _choose(group: list[Example], c: Consensus, scores: dict[str, float], min_consensus: float,
            out: Selection) -> Example | None:
    """Score a task's answers into `out.scored` and return its SFT row (consensus's best), or None
    when the answers agree too little; the others are rejected on `out`."""
    rescored = [r.model_copy(update={"scores": {**r.scores, "consensus": c.per_row.get(r.id, 0.0),
                                                **({"judge": scores[r.id]} if r.id in scores else {})}})
                for r in group]
    out.scored += rescored
    if not c.against_target and c.agreement < min_consensus:
        detail = f"answers agree {c.agreement:.2f} < judge.min_consensus={min_consensus}"
        out.rejects += [(r, "no_consensus", {"score": c.agreement, "detail": detail}) for r in group]
        return None
    chosen = {r.id: r for r in rescored}[c.best.id]
    out.rejects += [(r, "not_selected", {"dup_of": chosen.id, "detail": "another answer of this task was chosen"})
                    for r in group if r.id != chosen.id]
    return chosen


def _above(r: Example, cutoff: float, out: Selection) -> bool:
    """Whether an SFT row passes the judge's cut-off; a row below it (or unscored) is rejected on `out`."""
    if "judge" in r.scores and r.scores["judge"] >= cutoff:
        return True
    why = "judge_error" if "judge" not in r.scores else "low_judge_score"
    out.rejects.append((r, why, {"score": r.scores.get("judge"), "detail": f"below {cutoff:.3f}"}))
    return False
