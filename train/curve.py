"""The learning curve: the training loss at every step and a held-out score at every checkpoint.

Each checkpoint's adapter answers the held-out prompts (greedy, batched) and is scored like the
final eval where that is programmatic (`score_json` for tasks with an output schema); free-text
tasks get the reference answers' per-token NLL instead, since their real metric needs a judge.
Rows, one per step, go to `train/curve.jsonl`:

    {"phase": "sft", "step": 4, "loss": 1.93, "heldout": 0.41, "metric": "field_exact_match"}
    {"phase": "dpo", "step": 2, "loss": 0.01, "reward": 2.7, "kl": 0.003}   # GRPO

    rows = curve_rows("sft", stats["losses"], checkpoint_scores(model_dir, folder, scorer))

`checkpoint_reporter` scores each checkpoint while training runs, for a caller that acts on the
score at once (`seedfactory tune` reports it to the Optuna trial, which may stop a bad trial).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from seedfactory.train.checkpoints import checkpoints
from seedfactory.util.progress import NO_PROGRESS, Progress

Scorer = Callable[[Path, Path | None], dict]  # (model_dir, adapter) -> {"metric", "value", ...}


def heldout_scorer(prompts: list[str] | list[list[dict]], references: list, schema: dict | None, max_new_tokens: int,
                   batch_size: int = 8) -> Scorer:
    """A scorer for the held-out set: JSON field match with a schema, reference NLL without."""
    from seedfactory.schemas.tools import tools_of
    from seedfactory.train.evaluate import generate_answers, reference_loss, score_json

    def score(model_dir: Path, adapter: Path | None) -> dict:
        if schema is None:
            return reference_loss(model_dir, adapter, prompts, [str(r) for r in references])
        answers = generate_answers(model_dir, adapter, prompts, max_new_tokens, batch_size)
        if tools := tools_of(schema):  # calls: the exact call match, as evaluation scores them
            from seedfactory.train.calls import score_calls

            report = score_calls(answers, references, tools)
        else:
            report = score_json(answers, references, schema)
        return {k: v for k, v in report.items() if k != "per_example"}

    return score


def checkpoint_scores(model_dir: Path, folder: Path, score: Scorer,
                      progress: Progress = NO_PROGRESS) -> dict[int, dict]:
    """{step: score} for every complete checkpoint in a trainer folder."""
    found = checkpoints(folder)
    return {step: score(model_dir, path) for step, path in progress(found, desc="curve: checkpoints")}


def one_pass_scores(model_dir: Path, points: dict, prompts: list[str], references: list, schema: dict | None,
                    max_new_tokens: int, batch_size: int = 8) -> dict | None:
    """{key: score} for every point (a key and its LoRA adapter folder, None for the base) answered
    in one pass over one loaded base (peft mixed-adapter batches: `PeftAdapters.generate_many`),
    instead of a model load and a pass per checkpoint. None where that does not apply: free-text
    tasks (scored by reference NLL) or an adapter that is not LoRA."""
    from seedfactory.train.adapters import PeftAdapters, is_lora
    from seedfactory.train.evaluate import score_json

    adapters = {f"p{i}": path for i, path in enumerate(points.values()) if path is not None}
    if schema is None or not adapters or not all(is_lora(p) for p in adapters.values()):
        return None
    names = {key: (f"p{i}" if path is not None else None) for i, (key, path) in enumerate(points.items())}
    opened = PeftAdapters(Path(model_dir), adapters, batch_size)
    try:
        answers = opened.generate_many({str(i): n for i, n in enumerate(names.values())},
                                       [[{"role": "user", "content": p}] for p in prompts], max_new_tokens)
    finally:
        opened.close()
    out = {}
    for i, key in enumerate(names):
        report = score_json(answers[str(i)], references, schema)
        out[key] = {k: v for k, v in report.items() if k != "per_example"}
    return out


def curve_rows(phase: str, losses: list[float], scores: dict[int, dict],
               per_step: list[dict] | None = None) -> list[dict]:
    """One row per optimiser step (logging_steps=1), with the held-out score where a checkpoint was
    and, from `per_step` (the phase's stats curve), GRPO's mean reward and KL."""
    logged = {c["step"]: c for c in per_step or []}
    rows = []
    for step, loss in enumerate(losses, start=1):
        row = {"phase": phase, "step": step, "loss": loss}
        row |= {k: logged[step][k] for k in ("reward", "kl") if k in logged.get(step, {})}
        if step in scores:
            row |= {"heldout": scores[step]["value"], "metric": scores[step]["metric"]}
        rows.append(row)
    return rows


def checkpoint_reporter(model_dir: Path, score: Scorer, report: Callable[[int, float], None], offset: int = 0):
    """A transformers TrainerCallback that scores every checkpoint as soon as it is saved and calls
    `report(offset + step, value)`. An exception raised by `report` (optuna.TrialPruned) stops the
    training there. `.scores` keeps {step: score} (offset not added)."""
    from transformers import TrainerCallback

    class CheckpointReporter(TrainerCallback):
        def __init__(self):
            self.scores: dict[int, dict] = {}

        def on_save(self, args, state, control, **kwargs):
            step = state.global_step
            # transformers calls on_save after the checkpoint folder is complete.
            self.scores[step] = score(Path(model_dir), Path(args.output_dir) / f"checkpoint-{step}")
            report(offset + step, self.scores[step]["value"])

    return CheckpointReporter()
