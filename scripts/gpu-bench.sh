#!/usr/bin/env bash
# GPU benchmark for a machine with a CUDA device (the lead runs it; the
# development machine has none). Prints tessera's figures, then CuPy's on
# the same sizes, then the device. Usage: scripts/gpu-bench.sh [extra args
# for `tessera bench gpu`]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/tessera
[ -x "$BIN" ] || cargo build --release
echo "== tessera gpu info"
"$BIN" gpu info
echo "== tessera bench gpu"
"$BIN" bench gpu "$@"
echo "== CuPy peer (same sizes)"
if python3 -c 'import cupy' 2>/dev/null; then
  python3 scripts/gpu_bench_cupy.py
else
  echo "skipped: cupy is not importable here (pip install cupy-cuda12x)"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
