"""The run configuration: one pydantic model, loaded from YAML plus dotted `key=value` overrides.

Unknown keys are errors that name the key; each field's description is its help text
(`seedfactory keys`). The resolved config is written into the run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seedfactory.util.dotted import set_dotted
from seedfactory.util.errors import SeedfactoryError
from seedfactory.util.safe_input import load_yaml, read_text

BackendName = Literal["vllm", "openai", "fake"]
EmbedderName = Literal["minilm", "hash"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(Section):
    backend: BackendName = Field("vllm", description="vllm (in-process engine), openai (any OpenAI-compatible server) or fake (tests)")
    model: str = Field("smollm2-135m", description="packaged model alias, a Hugging Face model folder, a .gguf file, or the served model name for openai")
    base_url: str | list[str] | None = Field(None, description="OpenAI-compatible server URL, or a list of them (a fleet of replicas: requests are spread over them, a failing one is backed off) (openai backend)")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (openai backend)")
    temperature: float = Field(0.8, ge=0, description="sampling temperature")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling")
    max_tokens: int = Field(256, gt=0, description="longest completion, in tokens")
    max_model_len: int = Field(2048, gt=0, description="context length for the in-process engine")
    kv_cache_gib: int = Field(2, gt=0, description="KV cache of the in-process engine on the CPU, GiB (VLLM_CPU_KVCACHE_SPACE; 2 holds ~90k tokens of a 135M model; python -m bench.engine)")
    max_num_seqs: int | None = Field(None, gt=0, description="most sequences the in-process engine runs in one batch (unset: vLLM's default; python -m bench.engine)")
    concurrency: int = Field(8, gt=0, description="requests in flight at once (openai backend)")
    timeout: float = Field(120.0, gt=0, description="seconds before a request is abandoned and retried")
    max_retries: int = Field(3, ge=0, description="retries for 429, 5xx, timeouts, dropped connections and unparseable replies before a request is quarantined (a 400 is never retried)")
    backoff: float = Field(0.5, gt=0, description="first retry delay in seconds; doubles per attempt up to 30 s, with full jitter; a server's Retry-After wins (openai backend)")
    requests_per_minute: int | None = Field(None, gt=0, description="most requests sent per minute, over all servers (openai backend; unset: no limit)")
    tokens_per_minute: int | None = Field(None, gt=0, description="most tokens (prompt estimate + max_tokens) sent per minute (openai backend; unset: no limit)")
    send_seed: bool = Field(False, description="send each request's sampling seed to the server; off because a vllm-cpu server's engine dies on seeded requests (the request cache is what makes reruns reproducible)")
    price_prompt: float = Field(0.0, ge=0, description="price per million prompt tokens, for cost accounting and --dry-run")
    price_completion: float = Field(0.0, ge=0, description="price per million completion tokens, for cost accounting and --dry-run")
    max_cost: float | None = Field(None, gt=0, description="stop cleanly once this model's requests have cost this much (all runs sharing the cache); raise it to resume")
    max_tokens_total: int | None = Field(None, gt=0, description="stop cleanly once this model's requests have used this many tokens (prompt + completion); raise it to resume")
    tensor_parallel_size: int = Field(1, gt=0, description="GPUs one in-process vLLM engine is split over (CUDA only)")
    data_parallel_size: int = Field(1, gt=0, description="replicas of the in-process vLLM engine (CUDA only)")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="share of GPU memory the in-process vLLM engine may take (CUDA only)")

    @model_validator(mode="after")
    def _cost_cap_needs_prices(self) -> "ModelConfig":
        if self.max_cost is not None and not (self.price_prompt or self.price_completion):
            raise ValueError("max_cost needs price_prompt and/or price_completion (per million tokens); "
                             "with no prices nothing ever costs anything (max_tokens_total caps tokens)")
        return self
    allow_remote_pool: bool = Field(False, description="send the user's pool inputs (seeds.pool) to this model when it is remote (openai backend at a host other than localhost); off: such a run stops before any pool input leaves the machine")
    structured: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema", description="how structured output is asked for: json_schema (vLLM, OpenAI), json_object (llama.cpp) or none (prompt only)")


FieldKindName = Literal["date", "time", "datetime", "duration", "money", "quantity", "count", "percentage", "number",
                        "email", "phone", "url", "code", "person", "organisation", "place", "span", "label",
                        "boolean"]


class SeedsConfig(Section):
    path: str = Field("invoice-fields", description="a bundled seed set name (see seeds/README.md) or a .jsonl/.yaml file")
    schema_path: str | None = Field(None, alias="schema", description="JSON schema file for outputs; default: <seeds>.schema.json next to the seeds, if present")
    holdout: float = Field(0.25, gt=0, lt=1, description="share of seeds held out for evaluation and decontamination")
    min_train: int = Field(3, ge=1, description="fewest seeds left for few-shot prompts after the hold-out")
    max_bytes: int = Field(20_000_000, gt=0, description="largest seed or schema file read, in bytes (a guard against runaway input)")
    max_depth: int = Field(32, gt=0, description="deepest nesting of objects and lists in a seed or schema")
    pool: str | None = Field(None, description="the user's unlabelled inputs: a file, a folder or a glob of .jsonl/.csv/.parquet rows (an input column), .txt, .md, .html, .pdf or .docx; read, cleaned, split and deduplicated by the pool.* keys, then labelled by the teacher (generate.strategy label_pool)")
    field_kinds: dict[str, FieldKindName] = Field({}, description="output field -> kind, overriding the inferred one (validate/calibration.json lists each field's kind and why): date, time, datetime, duration, money, quantity, count, percentage, number, email, phone, url, code, person, organisation, place, span, label, boolean")

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


StrategyName = Literal["output_first", "input_variation", "self_instruct", "evol_instruct", "conversation",
                       "tool_calls", "label_pool", "document_qa"]


class PoolConfig(Section):
    """How `seeds.pool` is read (generators/pool.py) and its personal data handled (validators/pii.py)."""

    unit: Literal["row", "paragraph", "chunk"] = Field("row", description="one pool input per table row or document (PDF: per page), per paragraph, or per chunk of pool.chunk_tokens tokens")
    chunk_tokens: int = Field(200, gt=0, description="pool.unit=chunk: tokens (words and punctuation marks) per chunk")
    chunk_overlap: int = Field(20, ge=0, description="pool.unit=chunk: tokens shared by consecutive chunks")
    column: str | None = Field(None, description="the input column of .jsonl/.csv/.parquet pool files (default: the first of input, text, content, body, message)")
    min_chars: int = Field(20, ge=1, description="shortest pool input kept, in characters (pool_too_short)")
    max_bytes: int = Field(50_000_000, gt=0, description="largest pool file read, and most bytes a DOCX may expand to; a larger file is skipped")
    max_items: int | None = Field(None, gt=0, description="most pool inputs kept after dedup (in file order; unset: all)")
    near_dup_threshold: float = Field(0.8, gt=0, le=1, description="Jaccard similarity of word 3-shingles at which two pool inputs are near-duplicates (pool_near_duplicate)")
    pii: Literal["report", "mask", "drop"] = Field("report", description="personal data found in pool inputs (e-mails, phones, cards, IBANs, national ids, names, addresses): report (count it), mask (replace each with a consistent fake of its kind) or drop (the input leaves, pii_found)")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "PoolConfig":
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(f"chunk_overlap={self.chunk_overlap} must be below chunk_tokens={self.chunk_tokens}")
        return self


class GenerateConfig(Section):
    strategy: Literal["auto"] | StrategyName | dict[StrategyName, float] = Field(
        "auto", description="auto (tool_calls for a seed set with NAME.tools.json, conversation when a seed has earlier turns, label_pool when seeds.pool is set and the seeds have a schema, document_qa when it is set and they have none, output_first for a schema, input_variation when every seed has an input, else self_instruct), one of those names, or a mix {name: share}")
    with_context: bool = Field(True, description="document_qa: the row's prompt holds its chunk (RAG-style fine-tuning); false: the question alone (closed-book), the chunk kept in lineage.source")
    num_tasks: int = Field(64, gt=0, description="new tasks (prompts) the teacher is asked to write; output_first: target objects drawn")
    shots: int = Field(3, gt=0, description="seed examples shown in each few-shot prompt")
    responses_per_prompt: int = Field(3, gt=0, description="responses sampled per task; 2 or more make consensus and preference pairs")
    texts_per_target: int = Field(2, ge=0, description="output_first: teacher-written texts per target (the grounding check keeps those that state every value)")
    templates: bool = Field(True, description="output_first: also write each target into its base seed's own text (grounded by construction)")
    template_uses: int = Field(1, ge=1, description="output_first: targets written into each seed's own text before its targets take the teacher's rewrites of it (generate.rewrites_per_seed) in turn")
    rewrite_slots: Literal["values", "placeholders"] = Field("values", description="output_first rewrites: values (the teacher rewrites the seed's own text keeping its values, and the finder slots them; what a 135M teacher can do) or placeholders (the teacher rewrites the text with {slots}; needs a stronger teacher: SmolLM2-135M kept them in 1 of 96)")
    rewrites_per_seed: int = Field(4, ge=0, description="output_first: teacher rewrites asked for each seed's text (generate.rewrite_slots says how); a rewrite that keeps every value the seed stated becomes a layout that targets are written into (new wording, grounded by construction; SmolLM2-135M: about 1 in 7 kept); 0 turns rewrites off")
    task_temperature: float = Field(0.9, ge=0, description="sampling temperature for writing new tasks, inputs, texts and names")
    task_max_tokens: int = Field(512, gt=0, description="longest new task (self_instruct), in tokens")
    batch_size: int = Field(32, gt=0, description="requests sent together (each reply is cached as it arrives)")
    pool_round: int = Field(16, gt=0, description="self_instruct / evol_instruct: tasks asked for per round; a round's accepted tasks join the pool the next round draws from")
    novelty_threshold: float = Field(0.7, gt=0, le=1, description="self_instruct / evol_instruct: a new task whose ROUGE-L to a task in the pool (or, evolved, to its base) reaches this is rejected (not_novel / evol_no_gain)")
    min_keep_share: float = Field(0.2, ge=0, le=1, description="output_first teacher texts: the teacher first restyles each train seed's own text; where the grounding check keeps under this share of those, only that proportion of the targets' text requests is asked (kept 5% against 0.2: a quarter); stats adaptive says why. 0: always ask all")
    max_failed_share: float = Field(0.5, ge=0, le=1, description="share of teacher requests that may fail (quarantined) before the run stops; fewer are asked again next run")
    topics: list[str] = Field([], description="topics to generate about, next to the seeds' own `topic` fields: each takes its turn leading requests (input_variation, self_instruct, evol_instruct in-breadth)")
    personas: Literal["auto", "off"] | list[str] = Field("off", description="personas the new tasks are written by or for, taking turns like topics (input_variation, self_instruct, evol_instruct in-breadth): a list, auto (the teacher drafts generate.num_personas from the seeds in one cached request) or off")
    num_personas: int = Field(4, gt=0, le=32, description="personas the teacher drafts when generate.personas=auto")

    @field_validator("personas", mode="before")
    @classmethod
    def _off_is_off(cls, v):
        return "off" if v is False or v is None else v  # YAML reads a bare `off` as false


class ValidateConfig(Section):
    min_chars: int = Field(2, ge=0, description="shortest output kept, in characters")
    max_chars: int = Field(2000, gt=0, description="longest output kept, in characters")
    near_dup_threshold: float = Field(0.7, gt=0, le=1, description="Jaccard similarity of word 3-shingles at which two prompts are near-duplicates")
    num_perm: int = Field(128, ge=2, description="MinHash permutations")
    embedder: EmbedderName = Field("minilm", description="minilm (sentence-transformers all-MiniLM-L6-v2) or hash (deterministic, tests)")
    diversity_threshold: float = Field(0.92, gt=0, le=1, description="cosine similarity to an already kept prompt at which a prompt is dropped")
    decontam_threshold: float = Field(0.5, gt=0, le=1, description="Jaccard similarity to a held-out seed at which a row is dropped")
    min_seed_pass: float = Field(0.9, ge=0, le=1, description="a calibrated check (grounding per field, debris, language, ...) applies only when at least this share of the train seeds pass it")
    band_margin: float = Field(0.05, ge=0, le=1, description="off_domain: an input whose cosine to its nearest seed is this far below the seeds' own lowest nearest-seed cosine leaves")
    workers: int = Field(1, ge=1, description="processes that shingle and hash prompts for near-dedup (used above 20k prompts)")
    calibrate: bool = Field(False, description="set the near-dup, decontamination and diversity thresholds from the seeds' own pairwise similarities (reported in the validate stats)")
    label_check: bool = Field(True, description="an enum or boolean label on a teacher-written input must not contradict a classifier fit on the seeds' inputs (validators/labels.py), else the row leaves (label_unsupported); template rows carry their label by construction")
    label_min_accuracy: float = Field(0.7, ge=0, le=1, description="the label classifier of a field is used only when its leave-one-out accuracy on the seeds reaches this (and beats always answering the commonest label)")


class JudgeConfig(Section):
    model: ModelConfig = Field(default_factory=ModelConfig,
                               description="the judge model; unset keys follow the teacher, read greedily (temperature 0, 160 tokens)")
    min_score: float = Field(1.0, ge=1, le=5, description="rows scored below this (1-5 rubric, probability-weighted) leave the SFT set (only when the judge passed its self-test)")
    drop_fraction: float = Field(0.2, ge=0, lt=1, description="the lowest-scored share of rows also leaves the SFT set (only when the judge passed its self-test)")
    min_margin: float = Field(0.2, ge=0, le=1, description="smallest panel-score gap (0-1) between chosen and rejected for a preference pair")
    min_auc: float = Field(0.65, ge=0, le=1, description="the judge filters rows and ranks pairs only when its AUC on the seed check set (good vs corrupted answers) reaches this")
    self_test_size: int = Field(12, ge=0, description="train seeds the judge's self-test corrupts (each gives 3-4 known-bad answers); 0 skips the test and the judge is not trusted")
    min_consensus: float = Field(0.5, ge=0, le=1, description="a teacher-labelled task whose answers agree less than this (field share, or mean cosine for text) leaves (no_consensus)")
    criteria: list[str] | str | None = Field(None, description="rubric criteria: a list of lines or a text file; replaces the default rubric (seed sets may ship <name>.criteria.txt)")
    grader_check: bool = Field(True, description="flag answers with a sentence addressed to the grader (judges/addressed.py, by meaning, with the run's embedder: minilm has a calibrated threshold, hash none): they get the worst score and leave with reason addressed_grader")
    max_failed_share: float = Field(0.5, ge=0, le=1, description="share of judge requests that may fail (quarantined) before the run stops; fewer are asked again next run")


class ReviewConfig(Section):
    sample_size: int = Field(12, ge=0, description="rows sampled into the human review queue")
    lease_minutes: float = Field(30.0, gt=0, description="minutes a row stays with the reviewer it was handed to; an expired lease returns it to the queue")
    overlap: float = Field(0.0, ge=0, le=1, description="share of queued rows reviewed by two reviewers, for agreement (kappa)")
    max_defect_rate: float | None = Field(None, gt=0, le=1, description="training refuses when the 95% Wilson upper bound of the rejected share among reviewed rows is above this (default off)")
    min_reviewed: int = Field(0, ge=0, description="training waits until this many queued rows have a verdict")


RewardName = Literal["schema_valid", "kinds_valid", "grounded", "field_match", "consensus", "judge", "length"]
DEFAULT_REWARDS = {"schema_valid": 1.0, "kinds_valid": 0.5, "grounded": 1.0, "field_match": 1.0, "consensus": 0.5,
                   "judge": 0.5, "length": 0.2}


class TrainConfig(Section):
    student: str = Field("smollm2-135m", description="packaged model alias, Hugging Face model folder or .gguf file")
    sft_steps: int = Field(32, gt=0, description="SFT optimiser steps")
    preference: Literal["dpo", "orpo", "kto", "grpo", "online_dpo"] = Field("dpo", description="preference method after SFT, through trl: dpo, orpo (reference-free) or kto (unpaired good/bad rows) on the judged pairs; grpo (online RL, rewards from the run's checks: train.rewards) or online_dpo (the student's own best vs worst of train.rl_generations samples, train.rl_rounds times) on the training prompts; the dpo_* keys set its steps, learning rate and beta")
    dpo_steps: int = Field(8, ge=0, description="DPO optimiser steps (0 skips DPO)")
    min_pairs: int = Field(8, ge=0, description="fewest preference pairs DPO trains on; fewer skips DPO with the reason")
    max_length_bias: float = Field(0.9, gt=0.5, le=1, description="DPO is skipped when chosen is longer (or shorter) than rejected in more than this share of pairs")
    batch_size: int = Field(4, gt=0, description="examples per step")
    learning_rate: float = Field(1e-3, gt=0, description="SFT learning rate")
    dpo_learning_rate: float = Field(5e-5, gt=0, description="DPO learning rate")
    dpo_beta: float = Field(0.1, gt=0, description="DPO beta")
    rewards: dict[RewardName, float] = Field(default_factory=lambda: dict(DEFAULT_REWARDS), description="grpo and online_dpo: weight of each reward (seedfactory/train/rewards.py), a name left out keeps its default: schema_valid, kinds_valid (values possible for their field kind), grounded (values the input states), field_match (output-first and reviewed targets), consensus (the teacher's answer), judge (free text, a judge that passed its self-test), length (penalty past 1.5x the target); 0 turns one off")
    rl_generations: int = Field(4, ge=2, description="grpo: answers sampled per prompt (the group); online_dpo: answers sampled per prompt, best vs worst becomes a pair")
    rl_max_new_tokens: int = Field(96, gt=0, description="grpo and online_dpo: longest sampled answer, in tokens")
    rl_beta: float = Field(0.04, ge=0, description="grpo: weight of the KL penalty to the SFT adapter (0: no reference model, no KL logged)")
    rl_rounds: int = Field(2, gt=0, description="online_dpo: sampling rounds; each samples fresh answers from the current adapter and trains train.dpo_steps / rl_rounds DPO steps on them")
    peft: Literal["lora", "prefix", "prompt"] = Field("lora", description="adapter type through peft: lora, prefix (prefix tuning) or prompt (prompt tuning); only lora is merged, exported and preference-tuned")
    virtual_tokens: int = Field(16, gt=0, description="virtual tokens of a prefix- or prompt-tuning adapter")
    lora_r: int = Field(8, gt=0, description="LoRA rank")
    lora_alpha: int = Field(16, gt=0, description="LoRA alpha")
    max_length: int = Field(512, gt=0, description="longest training sequence, in tokens")
    padding_free: bool = Field(True, description="SFT and DPO with LoRA: each batch is its rows end to end in one sequence, no padding computed, the LM head run on the answer tokens only (same loss; python -m bench.train measures the speed)")
    threads: int = Field(0, ge=0, description="torch threads (0: all cores)")
    save_steps: int = Field(16, ge=0, description="save a resumable checkpoint every this many steps (0: none); a rerun after a crash or kill resumes from the newest")
    curve: bool = Field(True, description="score the held-out set at every checkpoint (greedy, batched) for the learning curve in train/curve.jsonl")
    curve_cases: int = Field(8, gt=0, description="evaluation cases (the first N) scored at each checkpoint for the learning curve")
    curve_max_new_tokens: int = Field(96, gt=0, description="longest answer generated for a learning-curve point, in tokens")
    continue_from: str | None = Field(None, description="continuous fine-tuning: latest (this run's newest round in train/rounds/) or a path to an adapter or round folder; the SFT starts from that adapter and trains on the rows it has not seen plus a replay sample of those it has (train.replay). Unset: from the base model")
    replay: int | float = Field(0.25, ge=0, description="continuous fine-tuning: old rows replayed next to the new ones, a share of the rows the adapter has seen (a float up to 1.0) or a count (a whole number such as 20); seeded by `seed`")
    qlora: bool = Field(True, description="4-bit QLoRA when a CUDA GPU is present (bitsandbytes, the `cuda` extra); plain LoRA in float32 on the CPU")
    launcher: Literal["in_process", "accelerate"] = Field("in_process", description="how the train stage trains: in_process (this process) or accelerate (`accelerate launch` of train.processes DDP processes, gloo on CPUs, NCCL on CUDA GPUs; the same recipe writes the same adapters, which evaluate, export and serve read)")
    processes: int = Field(2, gt=0, description="train.launcher=accelerate: processes started, at most one per CUDA GPU; each trains train.batch_size rows of every step (a global batch of batch_size x processes)")
    report_to: list[Literal["tensorboard", "mlflow"]] = Field([], description="trl's report_to: tensorboard (event files in <run>/tracking/tensorboard/<phase>) and/or mlflow (one MLflow run per run directory and config: SFT and DPO as child runs, the pipeline's figures, config.yaml and report.html on the parent); the `tracking` extra")
    mlflow_uri: str | None = Field(None, description="MLflow tracking URI (a server http://HOST:5000, sqlite:///FILE.db, a folder); unset: sqlite:///<run>/tracking/mlflow.db with artifacts in <run>/tracking/mlruns")
    mlflow_experiment: str = Field("seedfactory", min_length=1, description="MLflow experiment the runs go to (created if missing)")

    @model_validator(mode="after")
    def _replay_share_or_count(self) -> "TrainConfig":
        if isinstance(self.replay, float) and self.replay > 1:
            raise ValueError(f"train.replay={self.replay}: a share is at most 1.0; a count is a whole number (e.g. 20)")
        return self


class EvalConfig(Section):
    path: str | None = Field(None, description="evaluation cases (a seed-format .jsonl/.yaml file, never shown to the teacher); default: <seeds>.eval.jsonl or .eval.yaml next to the seeds, else the held-out seeds")
    max_new_tokens: int = Field(160, gt=0, description="longest student answer, in tokens")
    batch_size: int = Field(16, gt=0, description="evaluation prompts generated together")
    bootstrap: int = Field(2000, ge=100, description="bootstrap resamples for the 95% intervals in eval.json")
    engine: Literal["merged", "transformers", "vllm"] = Field(
        "merged", description="how the base, sft and dpo answers are generated: merged (each adapter merged into its own copy of the base, transformers fp32), transformers (one fp32 base, every system's prompts in one pass of peft mixed-adapter batches: the same answers, no less CPU time on a CPU, python -m bench.eval_speed) or vllm (one engine, multi-LoRA; float32 on CPU, slow to start there)")
    gguf: Literal["none", "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"] = Field(
        "none", description="also export the final student as a GGUF of this type (export/student-<type>.gguf) and score it, for the cost table")


class TuneConfig(Section):
    """`seedfactory tune RUN_DIR`: an Optuna search over the train settings on the run's published dataset."""

    trials: int = Field(8, gt=0, description="trials in the study, counting those a previous `seedfactory tune` finished (a rerun runs only the rest; trial 0 is the run's own settings)")
    max_minutes: float | None = Field(None, gt=0, description="start no new trial after this many minutes of one `seedfactory tune` (unset: no limit)")
    learning_rate: tuple[float, float] = Field((1e-4, 3e-3), description="SFT learning rate range, searched on a log scale (widened to include train.learning_rate)")
    lora_r: list[int] = Field([4, 8, 16], min_length=1, description="LoRA ranks tried (train.lora_r joins them; lora_alpha keeps the run's alpha/r ratio)")
    sft_steps: tuple[int, int] = Field((16, 64), description="SFT steps range (widened to include train.sft_steps)")
    dpo_beta: tuple[float, float] = Field((0.05, 0.5), description="DPO beta range, log scale (widened to include train.dpo_beta); searched only where the run trains DPO")
    eval_cases: int = Field(0, ge=0, description="evaluation cases scored per trial and per checkpoint (the first N; 0: all)")
    startup_trials: int = Field(2, ge=0, description="trials that must finish before pruning starts (Optuna's MedianPruner: a trial whose held-out score at a checkpoint is worse than the median of earlier trials at that step stops)")

    @model_validator(mode="after")
    def _ranges_ordered(self) -> "TuneConfig":
        for key in ("learning_rate", "sft_steps", "dpo_beta"):
            lo, hi = getattr(self, key)
            if not 0 < lo <= hi:
                raise ValueError(f"{key}: a range [low, high] with 0 < low <= high, got [{lo}, {hi}]")
        if min(self.lora_r) <= 0:
            raise ValueError(f"lora_r: ranks must be positive, got {self.lora_r}")
        return self


class RunConfig(Section):
    seed: int = Field(0, description="seed for splits, sampling and training")
    teacher: ModelConfig = Field(default_factory=ModelConfig, description="the teacher model")
    seeds: SeedsConfig = Field(default_factory=SeedsConfig)
    pool: PoolConfig = Field(default_factory=PoolConfig, description="reading the unlabelled pool (seeds.pool)")
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    validate_: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    tune: TuneConfig = Field(default_factory=TuneConfig, description="`seedfactory tune` only; no stage reads it")

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @model_validator(mode="after")
    def _judge_follows_teacher(self) -> "RunConfig":
        # Judge keys left unset follow the teacher (read greedily); keys set on the judge win.
        judge = self.judge.model
        merged = self.teacher.model_dump() | {"temperature": 0.0, "max_tokens": 160}
        merged |= judge.model_dump(include=judge.model_fields_set)
        object.__setattr__(self.judge, "model", ModelConfig.model_validate(merged))
        self.judge.model.__pydantic_fields_set__ = set(judge.model_fields_set)
        return self

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class ConfigError(SeedfactoryError, ValueError):
    """A config that cannot be used; the message names the file and key."""


# A config is a few dozen keys: anything much larger or deeper is not one.
MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH = 1_000_000, 8


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> RunConfig:
    """YAML file (optional) + `a.b=value` overrides (values parsed as YAML) -> RunConfig."""
    tree: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        text = read_text(Path(path), MAX_CONFIG_BYTES, ConfigError, "the config size limit")
        tree = load_yaml(text, Path(path), MAX_CONFIG_DEPTH, ConfigError, "the config nesting limit") or {}
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: a config is a mapping of keys, got {type(tree).__name__}")
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r}: expected key=value")
        value = load_yaml(raw, f"override {key.strip()}", MAX_CONFIG_DEPTH, ConfigError,
                          "the config nesting limit") if raw != "" else ""
        set_dotted(tree, key.strip(), value, ConfigError)
    if overrides:
        where = f"{where} with overrides"
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as e:
        lines = [f"{where}: invalid config"]
        for err in e.errors():
            key = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {key}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def config_help(model: type[BaseModel] = RunConfig, prefix: str = "") -> list[str]:
    """One line per key: dotted name, default and description (the field docstrings)."""
    out = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.extend(config_help(ann, key + "."))
        else:
            default = field.get_default(call_default_factory=True)
            if isinstance(default, BaseModel):
                out.extend(config_help(type(default), key + "."))
                continue
            out.append(f"{key} = {default!r}  # {field.description or ''}")
    return out
