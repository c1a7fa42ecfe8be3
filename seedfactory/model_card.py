"""The adapter's model card (`<run>/model_card.md`, a Hugging Face README with a YAML header), next
to the dataset card (`<run>/dataset/README.md`) and rewritten with it whenever the report is built.

    write_model_card(Path("runs/default"))   # False when the run has no trained adapter yet

What it says: the base model and its licence, the data (the run's published dataset, its teacher
and judge), the training (adapter type and settings, steps, losses), the evaluation with 95%
intervals and paired differences, the intended use and the limits the run's own figures show. It
is kept outside `adapter/` (whose files the train stage's marker records); `seedfactory push`
uploads it as the model repository's README.md.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from seedfactory.util.files import atomic_write_text, read_json

# Packaged student aliases: (upstream model id, licence id on the Hub). A folder or file named by
# path has no licence we can know: the card says so.
BASE_MODELS = {
    "smollm2-135m": ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0"),
    "qwen2.5-coder-1.5b": ("Qwen/Qwen2.5-Coder-1.5B-Instruct", "apache-2.0"),
}


HUB = "https://huggingface.co"


def base_model(student: str) -> tuple[str, str | None]:
    """(the base model's name, its licence id or None when unknown)."""
    return BASE_MODELS.get(student, (student, None))


def _ci(e: dict) -> str:
    lo_hi = e.get("ci95")
    return f"{lo_hi[0]:.3f} to {lo_hi[1]:.3f}" if lo_hi else "-"


def _g(x) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _training(cfg: dict, stats: dict) -> list[str]:
    t = cfg["train"]
    sft, pref = stats.get("sft") or {}, stats.get("preference") or {}
    adapter = (f"LoRA r={t['lora_r']}, alpha={t['lora_alpha']}" if t["peft"] == "lora"
               else f"{t['peft']} tuning, {t['virtual_tokens']} virtual tokens")
    lines = ["## Training", "", f"- Adapter: {adapter} (peft), trained with trl on the CPU or GPU the run had.",
             f"- SFT: {sft.get('steps', t['sft_steps'])} steps, batch {t['batch_size']}, learning rate "
             f"{t['learning_rate']}, on {sft.get('rows', '?')} rows; loss {_g(sft.get('first_loss'))} -> "
             f"{_g(sft.get('last_loss'))}."]
    if "skipped" in pref:
        lines.append(f"- {t['preference'].upper()}: skipped ({pref['skipped']}); the adapter is the SFT adapter.")
    elif pref:
        lines.append(f"- {t['preference'].upper()}: {pref.get('steps', t['dpo_steps'])} steps, learning rate "
                     f"{t['dpo_learning_rate']}, beta {t['dpo_beta']}; loss {_g(pref.get('first_loss'))} -> "
                     f"{_g(pref.get('last_loss'))}.")
    lines.append(f"- Seed {cfg['seed']}; the whole config is the run's `config.yaml`.")
    return lines + [""]


def _evaluation(ev: dict | None) -> list[str]:
    if not ev:
        return ["## Evaluation", "", "Not evaluated yet.", ""]
    systems = [s for s in ("base", "sft", "dpo", "teacher") if s in ev]
    rows = [f"| {s} | {ev[s].get('metric', '')} | {ev[s].get('value', 0):.3f} | {_ci(ev[s])} | {ev[s].get('n', '')} |"
            for s in systems]
    diffs = [f"| {k.replace('_minus_', ' - ')} | {d.get('value', 0):.3f} | {_ci(d)} | {d.get('n', '')} |"
             for k, d in (ev.get("differences") or {}).items()]
    out = ["## Evaluation", "", f"On {ev.get('eval_source', 'held-out seeds')}, never shown to the teacher. "
           "base is the student before training, dpo the final adapter. 95% bootstrap intervals over the cases.", "",
           "| system | metric | value | 95% interval | n |", "|---|---|---|---|---|", *rows, ""]
    if diffs:
        out += ["Paired differences on the same cases:", "", "| difference | mean | 95% interval | n |",
                "|---|---|---|---|", *diffs, ""]
    return out


def _limits(out: Path, ev: dict | None) -> list[str]:
    stats = read_json(out / "stats.json") if (out / "stats.json").is_file() else {}
    judge = (stats.get("stages") or {}).get("judge") or {}
    lines = ["## Limits", "",
             "- Trained on synthetic rows a teacher model wrote from a handful of seeds: it learns their format and "
             "their kinds of input, not the world beyond them."]
    if judge and not judge.get("judge_trusted", True):
        lines.append(f"- The judge failed its self-test on the seeds (AUC {judge.get('judge_auc')}): rows were "
                     "chosen by consensus, schema and grounding checks, not by its scores.")
    n = next((ev[s].get("n") for s in ("dpo", "sft", "base") if ev and s in ev), None)
    if n is not None:
        lines.append(f"- Evaluated on {n} cases: the intervals above are as wide as that allows; read them, "
                     "not the point values.")
    lines.append("- Not tested for safety, bias or inputs unlike the seeds'.")
    return lines + [""]


def model_card(out: Path, dataset_repo: str | None = None) -> str:
    """The card's text from the run directory `out` (module docstring)."""
    out = Path(out)
    cfg = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    stats = read_json(out / "train" / "stats.json") if (out / "train" / "stats.json").is_file() else {}
    ev = read_json(out / "eval.json") if (out / "eval.json").is_file() else None
    source = read_json(out / "split" / "source.json") if (out / "split" / "source.json").is_file() else {}
    published = read_json(out / "publish" / "stats.json") if (out / "publish" / "stats.json").is_file() else {}
    base, licence = base_model(cfg["train"]["student"])
    header = ["---", f"license: {licence or 'other'}", f"base_model: {base}", "library_name: peft",
              "pipeline_tag: text-generation", "tags: [seedfactory, peft, trl, lora, synthetic-data]"]
    if dataset_repo:
        header.append(f"datasets: [{dataset_repo}]")
    licence_line = (f"The base model's licence is {licence}; this adapter is released under the same terms."
                    if licence else "The base model's licence is not known to seedfactory: check it before "
                    "sharing this adapter.")
    return "\n".join([
        *header, "---", f"# {cfg['train']['peft']} adapter for {base}, trained by seedfactory", "",
        "## Base model", "", f"`{base}` (seedfactory student `{cfg['train']['student']}`). {licence_line}", "",
        "## Data", "",
        f"The run's published dataset{f' ([{dataset_repo}]({HUB}/datasets/{dataset_repo}))' if dataset_repo else ''}: "
        f"{published.get('sft', '?')} SFT rows and {published.get('preference', '?')} preference pairs, written by "
        f"the teacher `{cfg['teacher']['model']}` ({cfg['teacher']['backend']}) from the seeds "
        f"`{source.get('seeds', cfg['seeds']['path'])}`, "
        f"validated, and judged by `{cfg['judge']['model']['model']}`. Its card has the funnel and the checks.", "",
        *_training(cfg, stats), *_evaluation(ev),
        "## Intended use", "",
        "The task the seeds show, in their format: answer prompts like the seeds' with outputs like theirs. Load it "
        f"with peft on top of `{base}` (`PeftModel.from_pretrained(base, REPO)`), or merge it "
        "(`seedfactory export RUN_DIR --format merged`).", "",
        *_limits(out, ev),
    ])


def write_model_card(out: Path, dataset_repo: str | None = None) -> bool:
    """Write `<out>/model_card.md`; False (nothing written) without a trained adapter."""
    out = Path(out)
    if not (out / "adapter" / "adapter_config.json").is_file() or not (out / "config.yaml").is_file():
        return False
    atomic_write_text(out / "model_card.md", model_card(out, dataset_repo))
    return True
