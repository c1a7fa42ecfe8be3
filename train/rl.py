"""Online preference tuning of the student from the run's own checks (`seedfactory.train.rewards`).

`train.preference=grpo`: trl's GRPOTrainer continues the SFT LoRA adapter. Each step samples
`train.rl_generations` answers per training prompt (transformers generation on the CPU, vLLM in
colocate mode on CUDA where it is installed), scores each with the weighted rewards of
`train.rewards` and moves the policy toward the answers that score above their group's mean,
with a KL penalty (`train.rl_beta`) to trl's frozen "ref" copy of the SFT adapter (as DPO's
reference, `seedfactory.train.dpo`). Reward and KL per step go into the stats' curve.

`train.preference=online_dpo`: the cheaper alternative. `train.rl_rounds` times, the current
adapter samples k answers per prompt, the same reward ranks them, best vs worst (where they
differ) becomes a DPO pair, and one DPO round of `train.dpo_steps / rl_rounds` steps trains on
them. Each finished round's adapter is kept in the checkpoint folder, so a killed run resumes at
the next round.

    stats = train_grpo(model_dir, sft_adapter, rl_records(rows), out_dir, cfg.train, seed, reward_ctx)
    stats = train_online_dpo(model_dir, sft_adapter, rl_records(rows), out_dir, cfg.train, seed, reward_ctx)

Prompts come from the training rows (`train.data.rl_records`), never from the evaluation file.
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import time
from pathlib import Path

from seedfactory.schemas.config import TrainConfig
from seedfactory.train import checkpoints as ckpt
from seedfactory.train.common import (
    ADAPTER_FILES,
    bf16_lora_inputs,
    curve,
    job_key,
    load_student,
    loss_stats,
    losses,
    process_rank,
    resumed_step,
    staged_adapter,
    trainable_params,
    trainer_args,
    use_qlora,
)
from seedfactory.train.rewards import RewardContext, composite, trl_reward_funcs, weights_of
from seedfactory.util.files import atomic_dir, file_digest, read_json, write_json
from seedfactory.util.progress import NO_PROGRESS, Progress


def _check_inputs(sft_adapter: Path, records: list[dict], cfg: TrainConfig, ctx: RewardContext) -> None:
    if cfg.dpo_steps == 0:
        raise ValueError(f"train.preference={cfg.preference}: train.dpo_steps is 0, preference tuning is off")
    if not records:
        raise ValueError(f"train.preference={cfg.preference}: no training prompts")
    if ctx.schema is None and ctx.judge is None:
        raise ValueError(f"train.preference={cfg.preference}: a task without an output schema needs a trusted "
                         "judge for its reward, and none passed its self-test")
    missing = [f for f in ADAPTER_FILES if not (Path(sft_adapter) / f).is_file()]
    if missing:
        raise ValueError(f"{sft_adapter} is not an SFT adapter folder (missing {', '.join(missing)})")


def _vllm_generation() -> dict:
    """GRPO samples through vLLM (colocated) on CUDA where it is installed; transformers elsewhere."""
    import torch

    if torch.cuda.is_available() and importlib.util.find_spec("vllm") is not None:
        return {"use_vllm": True, "vllm_mode": "colocate"}
    return {}


def train_grpo(model_dir: Path, sft_adapter: Path, records: list[dict], out_dir: Path, cfg: TrainConfig, seed: int,
               ctx: RewardContext, progress: Progress = NO_PROGRESS, checkpoint_dir: Path | None = None,
               callbacks: list | None = None) -> dict:
    """GRPO on the training prompts from the SFT adapter (module docstring); returns step stats
    with `curve` rows holding loss, reward and KL per step."""
    _check_inputs(sft_adapter, records, cfg, ctx)
    from datasets import Dataset
    from peft import PeftModel
    from trl import GRPOConfig, GRPOTrainer

    weights = weights_of(cfg.rewards)
    funcs, ws = trl_reward_funcs(ctx, weights)
    base, tokenizer = load_student(Path(model_dir), cfg.threads, qlora=use_qlora(cfg), bf16_base=True)
    model = PeftModel.from_pretrained(base, sft_adapter, is_trainable=True)
    group = cfg.rl_generations
    with staged_adapter(out_dir, publish=process_rank() == 0) as (work, adapter_dir):
        trainer_dir, saving = work / "trainer", {}
        if checkpoint_dir is not None:
            key = job_key("grpo", model_dir, records, cfg, seed, file_digest(sft_adapter / ADAPTER_FILES[0]))
            trainer_dir = ckpt.prepare(checkpoint_dir, key)
            saving = ckpt.checkpoint_args(cfg.save_steps)
        common = trainer_args(cfg, seed=seed, steps=cfg.dpo_steps, output_dir=trainer_dir, progress=progress)
        common.pop("max_length")  # GRPO bounds the answer (max_completion_length), not the sequence
        # whole groups per step: train.batch_size rounded to a multiple of the group, at least one group
        common["per_device_train_batch_size"] = group * max(1, cfg.batch_size // group)
        args = GRPOConfig(
            **{**common, **saving},
            num_generations=group,
            max_completion_length=cfg.rl_max_new_tokens,
            learning_rate=cfg.dpo_learning_rate,
            beta=cfg.rl_beta,
            reward_weights=ws,
            temperature=1.0,
            **_vllm_generation(),
        )
        trainer = GRPOTrainer(model=model, reward_funcs=funcs, args=args, train_dataset=Dataset.from_list(records),
                              processing_class=tokenizer, callbacks=callbacks)
        bf16_lora_inputs(trainer.model)
        reference = "sft_adapter" if "ref" in trainer.model.peft_config else "none (train.rl_beta=0)"
        resume = ckpt.last_checkpoint(trainer_dir) if checkpoint_dir is not None else None
        ckpt.note_resume(trainer_dir, resume)
        if resume is not None:
            shutil.rmtree(resume / "ref", ignore_errors=True)  # "ref" is rebuilt from the SFT adapter (dpo.py)
        started, cpu_started = time.monotonic(), time.process_time()
        if ckpt.finished(resume, cfg.dpo_steps):
            history = ckpt.final_result(resume, adapter_dir)
        else:
            with ckpt.weights_only_loads():
                trainer.train(resume_from_checkpoint=str(resume) if resume else None)
            trainer.model.save_pretrained(adapter_dir, safe_serialization=True, selected_adapters=["default"])
            history = trainer.state.log_history
        seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
    rewards = [float(h["reward"]) for h in history if "reward" in h]
    return {
        "method": "grpo", "steps": len(losses(history)), **loss_stats(history),
        "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2), "rows": len(records),
        "trainable_params": trainable_params(trainer.model), "reference": reference,
        "curve": curve(history), "resumed_from": resumed_step(resume), "losses": losses(history),
        "group": group, "rewards": {n: w for n, w in weights.items() if w != 0},
        "first_reward": rewards[0] if rewards else None, "last_reward": rewards[-1] if rewards else None,
    }


def sample_answers(model_dir: Path, adapter: Path, prompts: list[str], k: int, max_new_tokens: int, seed: int,
                   batch_size: int = 8, progress: Progress = NO_PROGRESS) -> list[list[str]]:
    """k answers per prompt from the student with its adapter, sampled at temperature 1."""
    import torch

    from seedfactory.train.evaluate import with_adapter

    torch.manual_seed(seed)
    model, tok = load_student(Path(model_dir))
    model = with_adapter(model, adapter).eval()
    tok.padding_side = "left"
    texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
             for p in prompts]
    out: list[list[str]] = []
    for i in progress(range(0, len(texts), batch_size), desc="online_dpo: sample"):
        enc = tok(texts[i:i + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=True, temperature=1.0, top_p=1.0,
                                 num_return_sequences=k, pad_token_id=tok.pad_token_id)
        dec = [d.strip() for d in tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)]
        out += [dec[j * k:(j + 1) * k] for j in range(len(dec) // k)]
    return out


def best_worst_pairs(rows: list[dict], answers: list[list[str]], score) -> tuple[list[dict], list[float]]:
    """One DPO row per prompt whose best and worst sampled answers score differently; the rewards
    of every answer (for the stats)."""
    pairs, seen = [], []
    for row, group in zip(rows, answers):
        scored = sorted(((score(a, row), a) for a in group), key=lambda x: x[0])
        seen += [s for s, _ in scored]
        (low, worst), (high, best) = scored[0], scored[-1]
        if high > low:
            pairs.append({"prompt": row["prompt"], "chosen": [{"role": "assistant", "content": best}],
                          "rejected": [{"role": "assistant", "content": worst}]})
    return pairs, seen


def train_online_dpo(model_dir: Path, sft_adapter: Path, records: list[dict], out_dir: Path, cfg: TrainConfig,
                     seed: int, ctx: RewardContext, progress: Progress = NO_PROGRESS,
                     checkpoint_dir: Path | None = None) -> dict:
    """Rounds of sample, rank, DPO from the SFT adapter (module docstring); returns step stats."""
    from seedfactory.train.dpo import train_preference

    _check_inputs(sft_adapter, records, cfg, ctx)
    score = composite(ctx, weights_of(cfg.rewards))
    per_round = max(1, cfg.dpo_steps // cfg.rl_rounds)
    dpo_cfg = cfg.model_copy(update={"preference": "dpo", "dpo_steps": per_round})
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else Path(out_dir).parent / f".{Path(out_dir).name}.rl"
    folder = folder / job_key("online_dpo", model_dir, records, cfg, seed, file_digest(sft_adapter / ADAPTER_FILES[0]))
    adapter, rounds, started, cpu_started = Path(sft_adapter), [], time.monotonic(), time.process_time()
    for r in range(cfg.rl_rounds):
        done = folder / f"round-{r + 1}"
        # the prompts of this round: the next stretch of a seeded shuffle, enough for its steps
        n = per_round * cfg.batch_size
        rows = [records[order[(r * n + i) % len(order)]] for i in range(n)]
        if (done / "round.json").is_file():
            rounds.append(read_json(done / "round.json"))
            adapter = done / "adapter"
            continue
        answers = sample_answers(model_dir, adapter, [x["prompt_text"] for x in rows], cfg.rl_generations,
                                 cfg.rl_max_new_tokens, seed + r, progress=progress)
        pairs, rewards = best_worst_pairs(rows, answers, score)
        info = {"round": r + 1, "prompts": len(rows), "pairs": len(pairs),
                "mean_reward": round(sum(rewards) / len(rewards), 4) if rewards else None}
        if pairs:
            with atomic_dir(done) as tmp:
                stats = train_preference(model_dir, adapter, pairs, tmp / "adapter", dpo_cfg, seed + r,
                                         progress=progress)
                info |= {"losses": stats["losses"], "curve": stats["curve"]}
                write_json(tmp / "round.json", info)
            adapter = done / "adapter"
        rounds.append(info)
    with atomic_dir(out_dir) as tmp:
        shutil.copytree(adapter, tmp, dirs_exist_ok=True)
    all_losses = [x for rd in rounds for x in rd.get("losses", [])]
    steps = [dict(c, step=i + 1) for i, c in enumerate(c for rd in rounds for c in rd.get("curve", []))]
    return {
        "method": "online_dpo", "steps": len(all_losses), "losses": all_losses, "curve": steps,
        "first_loss": all_losses[0] if all_losses else None, "last_loss": all_losses[-1] if all_losses else None,
        "seconds": round(time.monotonic() - started, 2), "cpu_seconds": round(time.process_time() - cpu_started, 2),
        "rows": sum(rd["pairs"] for rd in rounds),
        "rounds": [{k: v for k, v in rd.items() if k not in ("losses", "curve")} for rd in rounds],
        "reference": "the adapter each round starts from",
    }
