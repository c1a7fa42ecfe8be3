"""Evaluate the student on the held-out seeds: base model, after SFT, after DPO, and the teacher.

Where the seed set declares an output schema the metric is programmatic (field-level exact match
against the held-out outputs, plus schema validity); otherwise a judge compares each answer with
the held-out reference in both orders (win rate, a flip counts half).

The student's answers come from `student_answers`: each adapter merged into its own copy of the
base (`eval.engine=merged`, the cost table's merged student), or every system over one loaded base
(`transformers`: peft adapters switched; `vllm`: multi-LoRA), as `seedfactory serve` answers.
"""

from __future__ import annotations

import time
from pathlib import Path

from seedfactory.context import RunContext
from seedfactory.schemas.config import EvalConfig
from seedfactory.schemas.tools import tools_of
from seedfactory.util.files import file_digest, read_json, read_jsonl_dicts, write_json, write_jsonl
from seedfactory.util.progress import NO_PROGRESS, Progress
from seedfactory.util.stats import bootstrap_ci, paired_difference


def _judge_scorer(ctx: RunContext, prompts: list[str], refs: list[str],
                  systems: dict[str, list[str]]) -> tuple[dict, dict]:
    """Every system's answers against the references, both orders, in one batch (the cache sends
    a request shared by two systems once). Returns the scores and the judge's request counts."""
    from seedfactory.judges import judge_both_orders, win_rate

    judge = ctx.cfg.judge.model
    backend = ctx.backend(judge)
    before = backend.stats()
    names = list(systems)
    items = [(p, a, r) for n in names for p, a, r in zip(prompts, systems[n], refs)]
    verdicts = judge_both_orders(items, backend, judge)
    k = len(prompts)
    return {n: win_rate(verdicts[i * k:(i + 1) * k]) for i, n in enumerate(names)}, backend.stats(since=before)


def _gguf_answers(ctx: RunContext, model_dir, prompts: list[str], cost: dict) -> list[str]:
    """Export the final student as GGUF (`eval.gguf`), read it back with transformers, answer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from seedfactory.export import export_run
    from seedfactory.train.evaluate import generate_with

    e = ctx.cfg.eval
    path = export_run(ctx.out, "gguf", e.gguf)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype="float32")
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    answers = generate_with(model, tokenizer, prompts, e.max_new_tokens, e.batch_size, ctx.progress, cost)
    cost.update(file_mb=round(path.stat().st_size / 2**20, 1), file=str(path.relative_to(ctx.out)))
    return answers


def cost_table(ctx: RunContext, report: dict, costs: dict[str, dict]) -> dict:
    """Student (merged; GGUF where `eval.gguf` asks) next to the teacher: score, tokens/s, memory.

    The students' tokens/s is measured here (greedy, batched, this machine, `train.threads`
    untouched) and `weights_mb` is their loaded weights; the teacher's tokens/s comes from the
    baseline stage's own generation of the same prompts, and its `weights_mb` from its weights as
    stored (`teacher_weights`), null only with the reason in `weights`."""
    import os

    rows = {"student_merged": {"score": report["dpo"]["value"], **costs["dpo"],
                               "runtime": RUNTIMES[ctx.cfg.eval.engine]}}
    if "gguf" in costs:
        rows["student_gguf"] = {"score": report["gguf"]["value"], **costs["gguf"],
                                "runtime": "transformers (dequantised to fp32 on load)"}
    base = read_json(ctx.out / "baseline" / "stats.json") if (ctx.out / "baseline" / "stats.json").is_file() else {}
    fresh = base.get("requests_sent", 0) > 0 and not base.get("cache_hits")
    weights_mb, weights = teacher_weights(ctx.cfg.teacher)
    rows["teacher"] = {"score": report["teacher"]["value"], "model": ctx.cfg.teacher.model,
                       "runtime": ctx.cfg.teacher.backend, "new_tokens": base.get("completion_tokens"),
                       "seconds": base.get("seconds"),
                       "tokens_per_s": round(base["completion_tokens"] / base["seconds"], 2)
                       if fresh and base.get("seconds") else None,
                       "weights_mb": weights_mb, "weights": weights,
                       "note": "tokens/s from the baseline stage (null when it was answered from the cache); "
                       "weights as stored, not the engine's memory"}
    return {"machine": {"cpus": os.cpu_count()}, "metric": report["dpo"]["metric"], "systems": rows}


def teacher_weights(teacher) -> tuple[float | None, str]:
    """(MiB, what was measured) of the teacher's weights; (None, why) where they are not here: a
    server's model (the openai backend) or the fake."""
    from seedfactory.util.models import weights_on_disk

    if teacher.backend == "openai":
        return None, f"served by teacher.base_url ({teacher.model}): its weights are not on this machine"
    if teacher.backend == "fake":
        return None, "the fake teacher has no weights"
    return weights_on_disk(teacher.model)


def _score(ctx: RunContext, cases: list, systems: dict[str, list[str]]) -> tuple[dict, dict]:
    """Every system's answers on `cases`: JSON field match with an output schema, else the judge's
    win rate against the references. Returns (scores by system, the judge's request counts)."""
    from seedfactory.schemas import conversation_text, output_text
    from seedfactory.train.evaluate import score_json

    if tools := tools_of(ctx.output_schema):  # calls: exact match, tool names, argument F1, execution
        from seedfactory.seeds import tool_implementation
        from seedfactory.train.calls import score_calls

        execute = tool_implementation(ctx.seed_set.path)
        return {n: score_calls(a, [s.output for s in cases], tools, execute) for n, a in systems.items()}, {}
    if ctx.output_schema is not None:
        return {n: score_json(a, [s.output for s in cases], ctx.output_schema) for n, a in systems.items()}, {}
    return _judge_scorer(ctx, [conversation_text(s.history, s.prompt) for s in cases],
                         [output_text(s.output) for s in cases], systems)


def _per_case(score: dict) -> list[float]:
    return [p.get("field_match", p.get("score")) for p in score["per_example"]]


def continual_report(ctx: RunContext, report: dict, per_case: dict, plan: dict, model_dir) -> dict:
    """This training round in figures: where it started, the rows it trained on, the primary metric
    before (the adapter it continued, or the base model) and after on this eval set, and, for a
    continued round, before and after on the eval cases of the round it continued (forgetting)."""
    from seedfactory.schemas import SeedExample
    from seedfactory.train.evaluate import generate_answers
    from seedfactory.util.files import read_jsonl

    e, seed = ctx.cfg.eval, ctx.cfg.seed
    before = "before" if "before" in report else "base"
    out = {"metric": report["dpo"]["metric"], "from": plan.get("from", "base"),
           "rows": {k: plan.get(k) for k in ("rows", "new_rows", "replayed")},
           "before": report[before]["value"], "after": report["dpo"]["value"], "before_system": before,
           "after_minus_before": paired_difference(per_case["dpo"], per_case[before], e.bootstrap, seed),
           "old_cases": None}
    if before != "before" or not plan.get("old_eval_cases"):
        return out
    old = list(read_jsonl(Path(plan["old_eval_cases"]), SeedExample))
    current = {s.id: (i, s) for i, s in enumerate(ctx.eval_cases)}
    if all(s.id in current and current[s.id][1] == s for s in old):  # all still in this eval set: reuse their scores
        at = [current[s.id][0] for s in old]
        old_scores = {"before": [per_case["before"][i] for i in at], "after": [per_case["dpo"][i] for i in at]}
    else:
        prompts = [s.student_prompt for s in old]
        systems = {name: generate_answers(model_dir, adapter, prompts, e.max_new_tokens, e.batch_size, ctx.progress)
                   for name, adapter in [("before", Path(plan["from_adapter"])), ("after", ctx.out / "adapter")]}
        old_scores = {n: _per_case(sc) for n, sc in _score(ctx, old, systems)[0].items()}
    mean = {n: round(sum(v) / len(v), 4) if v else 0.0 for n, v in old_scores.items()}
    out["old_cases"] = {"n": len(old), "source": plan["old_eval_cases"], **mean,
                        "after_minus_before": paired_difference(old_scores["after"], old_scores["before"],
                                                                e.bootstrap, seed),
                        "note": "the eval cases of the round it continued; after below before is forgetting"}
    return out


RUNTIMES = {"merged": "transformers fp32 (LoRA merged)", "transformers": "transformers fp32 + peft (one base, "
            "every system in mixed-adapter batches)", "vllm": "vLLM multi-LoRA (one engine)"}


def student_answers(model_dir: Path, systems: dict[str, Path | None], prompts: list[str] | list[list[dict]],
                    e: EvalConfig,
                    progress: Progress = NO_PROGRESS) -> tuple[dict[str, list[str]], dict[str, dict]]:
    """Greedy answers of each system (an adapter folder, or None for the base model) and its cost
    (tokens/s, weights). `eval.engine=merged` loads the base once per system and merges the adapter
    into it; transformers and vllm load it once for all of them (`seedfactory.train.adapters`);
    transformers answers every system in one pass (their costs share its seconds: `shared_by`)."""
    from seedfactory.train.adapters import is_lora, open_adapters
    from seedfactory.train.evaluate import generate_answers

    costs: dict[str, dict] = {name: {} for name in systems}
    if e.engine == "merged" or not all(is_lora(path) for path in systems.values() if path is not None):
        # prefix and prompt tuning change the input, not the weights: one base cannot hold them
        return {name: generate_answers(model_dir, adapter, prompts, e.max_new_tokens, e.batch_size, progress,
                                       costs[name]) for name, adapter in systems.items()}, costs
    adapters = {name: path for name, path in systems.items() if path is not None}
    conversations = [p if isinstance(p, list) else [{"role": "user", "content": p}] for p in prompts]
    with open_adapters(model_dir, adapters, e.engine, batch_size=e.batch_size) as opened:
        if hasattr(opened, "generate_many"):  # transformers: every system in one pass of mixed-adapter batches
            named = {name: name if path is not None else None for name, path in systems.items()}
            return opened.generate_many(named, conversations, e.max_new_tokens, costs, progress), costs
        answers = {name: opened.generate(name if path is not None else None, conversations, e.max_new_tokens,
                                         costs[name])
                   for name, path in progress(list(systems.items()), desc="evaluate: systems")}
    return answers, costs


def evaluate_run(ctx: RunContext) -> dict:
    from seedfactory.schemas import output_text
    from seedfactory.util.models import resolve_model

    held = ctx.eval_cases
    prompts = [s.student_prompt for s in held]
    model_dir = resolve_model(ctx.cfg.train.student)
    e = ctx.cfg.eval
    train_stats = read_json(ctx.out / "train" / "stats.json")
    plan = train_stats.get("continual") or {}
    adapters = {"base": None, "sft": ctx.out / "adapter_sft", "dpo": ctx.out / "adapter"}
    if plan.get("from_adapter"):  # a continued round: the adapter it started from, on the same cases
        adapters["before"] = Path(plan["from_adapter"])
    preference = train_stats.get("preference", train_stats.get("dpo", {}))  # "dpo": stats written before the rename
    skipped = "skipped" in preference
    # With DPO skipped the final adapter is a copy of the SFT one: the same greedy answers.
    started = time.perf_counter()
    systems, costs = student_answers(model_dir, {n: a for n, a in adapters.items() if not (skipped and n == "dpo")},
                                     prompts, e, ctx.progress)
    student_seconds = round(time.perf_counter() - started, 1)  # loading and answering: the stage's time budget
    if skipped:
        systems["dpo"], costs["dpo"] = systems["sft"], dict(costs["sft"])
    systems, costs = {n: systems[n] for n in adapters}, {n: costs[n] for n in adapters}
    if e.gguf != "none":
        systems["gguf"] = _gguf_answers(ctx, model_dir, prompts, costs.setdefault("gguf", {}))
    teacher = {r["id"]: r["answer"] for r in read_jsonl_dicts(ctx.out / "baseline" / "answers.jsonl")}
    systems["teacher"] = [teacher.get(s.id, "") for s in held]

    scores, requests = _score(ctx, held, systems)
    report = {name: {k: v for k, v in sc.items() if k != "per_example"} for name, sc in scores.items()}
    per_case = {name: _per_case(sc) for name, sc in scores.items()}
    for name in report:
        report[name]["ci95"] = bootstrap_ci(per_case[name], e.bootstrap, ctx.cfg.seed)
    report["differences"] = {
        "sft_minus_base": paired_difference(per_case["sft"], per_case["base"], e.bootstrap, ctx.cfg.seed),
        "dpo_minus_sft": paired_difference(per_case["dpo"], per_case["sft"], e.bootstrap, ctx.cfg.seed),
        "sft_minus_teacher": paired_difference(per_case["sft"], per_case["teacher"], e.bootstrap, ctx.cfg.seed)}
    report["dpo_readiness"] = train_stats.get("dpo_readiness")
    if skipped:
        report["dpo"]["note"] = f"DPO skipped ({preference['skipped']}): the dpo adapter is the sft adapter"
    report["teacher"]["note"] = "the teacher answers greedily with the few-shot prompt it generated with"
    report["cost"] = cost_table(ctx, report, costs)
    report["curve"] = read_jsonl_dicts(ctx.out / "train" / "curve.jsonl")  # loss and held-out score per step
    report["eval_ids"] = [s.id for s in held]
    report["eval_source"] = read_json(ctx.out / "split" / "source.json").get("eval", "held-out seeds")
    report["student"] = ctx.cfg.train.student
    report["adapters"] = {n: file_digest(Path(a) / "adapter_model.safetensors") for n, a in adapters.items() if a}
    report["teacher_model"] = ctx.cfg.teacher.model
    if "round" in train_stats:  # steps.evaluate records it in train/rounds/N/eval.json
        report["continual"] = continual_report(ctx, report, per_case, plan, model_dir)
    write_json(ctx.out / "eval.json", report)
    write_jsonl(ctx.stage_dir / "answers.jsonl",
                [{"id": s.id, "prompt": p, "reference": output_text(s.output),
                  **{n: systems[n][i] for n in systems},
                  **{f"{n}_score": scores[n]["per_example"][i] for n in systems}}
                 for i, (s, p) in enumerate(zip(held, prompts))])
    return {"in": len(held), "out": len(held), **requests,
            **{n: report[n]["value"] for n in ("base", "sft", "dpo", "teacher", "gguf") if n in report},
            "metric": report["base"]["metric"], "engine": e.engine, "student_seconds": student_seconds}
