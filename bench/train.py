"""Benchmark: SFT and DPO with trl's defaults against this project's trainer settings, in one
process on the same 64 rows, model (SmolLM2-135M), LoRA, learning rate, beta, batch and steps.

Rows are Self-Instruct seed tasks (instruction + input -> output, as chat prompt-completion; DPO's
rejected answer is another task's output), so lengths vary as in real data; DPO reads them in the
caller's order (train_sampling_strategy="sequential"), nothing is sorted. "trl default" is
SFTConfig/DPOConfig with only the shared settings given (trl then turns on bf16 autocast and
gradient checkpointing by itself); "project" is seedfactory.train's train_sft/train_preference, the code
the pipeline runs: padding-free batches for SFT and DPO (DPO's [chosen; rejected] rows packed into
one sequence for the policy and the reference forward alike, `seedfactory.train.packed`), the LM
head run on the answer tokens only, sdpa per packed row, the frozen base in bf16 under bf16 autocast
with LoRA inputs left in bf16, no gradient checkpointing. trl's `precompute_ref_log_probs` is not
used: it runs in DPOTrainer's __init__, over every row (64 here, of which 8 steps train on 32), on
trl's padded path; measured with construction and training both timed, 16 rows and 4 steps (its best
case, every row trained once), two rounds took 59.6 s wall / 33.4 s CPU and 41.9 / 29.2 against
49.8 / 26.4 and 33.9 / 23.6 for the reference forward inline (packed). Ratios are given by wall time and
by this process's CPU time (one thread: the CPU-time ratio is what survives a shared, loaded
machine). Tokens/s counts the non-padding tokens of the rows trained on. An untimed warm-up runs
first (the first trainer in a process pays for kernel set-up). Last line JSON.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python -m bench.train [--sft-steps 16] [--dpo-steps 8]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from seedfactory.schemas.config import TrainConfig  # noqa: E402
from seedfactory.train.common import losses, use_cpu  # noqa: E402
from seedfactory.train.dpo import train_preference  # noqa: E402
from seedfactory.train.sft import lora_config, train_sft  # noqa: E402
from seedfactory.util.models import resolve_model  # noqa: E402

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "self-instruct" / "seed_tasks.jsonl"


def rows(path: Path, n: int) -> tuple[list[dict], list[dict]]:
    with path.open() as f:
        tasks = [json.loads(line) for line in f if line.strip()][:n]
    prompts = [f"{t['instruction']}\n\n{t['instances'][0]['input']}".strip() for t in tasks]
    outs = [t["instances"][0]["output"] for t in tasks]
    sft = [{"prompt": [{"role": "user", "content": p}], "completion": [{"role": "assistant", "content": o}]}
           for p, o in zip(prompts, outs)]
    dpo = [{"prompt": [{"role": "user", "content": p}], "chosen": [{"role": "assistant", "content": o}],
            "rejected": [{"role": "assistant", "content": outs[(i + 7) % len(outs)]}]}
           for i, (p, o) in enumerate(zip(prompts, outs))]
    return sft, dpo


def count_tokens(tokenizer, records: list[dict], keys: tuple[str, ...]) -> int:
    total = 0
    for r in records:
        for k in keys:
            msgs = r["prompt"] + r[k] if k != "prompt" else r["prompt"]
            ids = tokenizer.apply_chat_template(msgs, tokenize=True)
            total += len(ids["input_ids"] if hasattr(ids, "keys") else ids)
    return total


def trl_default(kind: str, model_dir: Path, records: list[dict], cfg: TrainConfig, steps: int, adapter: Path | None,
                work: Path) -> dict:
    """trl as its docs show it: the config's defaults plus the settings both contenders share."""
    from datasets import Dataset
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.pad_token = tok.pad_token or tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    shared = dict(output_dir=str(work / kind), max_steps=steps, per_device_train_batch_size=cfg.batch_size,
                  max_length=cfg.max_length, seed=0, report_to=[], logging_steps=1, save_strategy="no",
                  use_cpu=use_cpu(), disable_tqdm=True)
    if kind == "sft":
        args = SFTConfig(**shared, learning_rate=cfg.learning_rate)
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tok,
                             peft_config=lora_config(cfg))
    else:
        model = PeftModel.from_pretrained(model, adapter, is_trainable=True)
        args = DPOConfig(**shared, learning_rate=cfg.dpo_learning_rate, beta=cfg.dpo_beta)
        trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(records),
                             processing_class=tok)
    t0, c0 = time.monotonic(), time.process_time()
    trainer.train()
    return {"seconds": time.monotonic() - t0, "cpu_seconds": time.process_time() - c0,
            "last_loss": losses(trainer.state.log_history)[-1]}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--sft-steps", type=int, default=16)
    p.add_argument("--dpo-steps", type=int, default=8)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup-steps", type=int, default=2, help="untimed SFT steps before the contenders")
    p.add_argument("--seeds-file", type=Path, default=SEEDS)
    args = p.parse_args(argv)

    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    model_dir = resolve_model("smollm2-135m")
    sft_rows, dpo_rows = rows(args.seeds_file, args.rows)
    cfg = TrainConfig(sft_steps=args.sft_steps, dpo_steps=args.dpo_steps, batch_size=4, max_length=args.max_length,
                      threads=args.threads)
    tok = AutoTokenizer.from_pretrained(model_dir)
    seen = lambda steps: min(len(sft_rows), steps * cfg.batch_size)  # noqa: E731
    sft_tokens = count_tokens(tok, sft_rows[: seen(args.sft_steps)], ("completion",))
    dpo_tokens = count_tokens(tok, dpo_rows[: seen(args.dpo_steps)], ("chosen", "rejected"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # Untimed warm-up: oneDNN builds its bf16 kernels on first use, which would otherwise be
        # charged to whichever contender runs first.
        trl_default("sft", model_dir, sft_rows, cfg, args.warmup_steps, None, work)
        show = lambda who, r: print(f"{who}: {r['seconds']:.1f}s wall, {r['cpu_seconds']:.1f}s CPU, last loss "  # noqa: E731
                                    f"{r['last_loss']:.4f}, load {os.getloadavg()[0]:.1f}", flush=True)
        ours = train_sft(model_dir, sft_rows, work / "sft", cfg, seed=0)
        show("project sft", ours)
        base = trl_default("sft", model_dir, sft_rows, cfg, args.sft_steps, None, work)
        show("trl default sft", base)
        dpo = train_preference(model_dir, work / "sft", dpo_rows, work / "dpo", cfg, seed=0)
        show("project dpo", dpo)
        dbase = trl_default("dpo", model_dir, dpo_rows, cfg, args.dpo_steps, work / "sft", work)
        show("trl default dpo", dbase)
    result = {
        "rows": len(sft_rows), "sft_steps": args.sft_steps, "dpo_steps": args.dpo_steps, "threads": args.threads,
        "tokens_per_s": round(sft_tokens / ours["seconds"], 1),
        "trl_default_tokens_per_s": round(sft_tokens / base["seconds"], 1),
        "ratio_vs_trl_default": round(base["seconds"] / ours["seconds"], 2),
        "cpu_ratio_vs_trl_default": round(base["cpu_seconds"] / ours["cpu_seconds"], 2),
        "final_loss": round(ours["last_loss"], 4), "trl_default_final_loss": round(base["last_loss"], 4),
        "dpo_tokens_per_s": round(dpo_tokens / dpo["seconds"], 1),
        "dpo_trl_default_tokens_per_s": round(dpo_tokens / dbase["seconds"], 1),
        "dpo_ratio_vs_trl_default": round(dbase["seconds"] / dpo["seconds"], 2),
        "dpo_cpu_ratio_vs_trl_default": round(dbase["cpu_seconds"] / dpo["cpu_seconds"], 2),
        "dpo_final_loss": round(dpo["last_loss"], 4), "dpo_trl_default_final_loss": round(dbase["last_loss"], 4),
        "load_average": round(os.getloadavg()[0], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
