#!/usr/bin/env bash
# gpu-check.sh: the whole GPU verification of tessera in one command, on a
# machine with a CUDA device and none of tessera's build tools (it ships in
# the bundle `make gpu-bundle` makes; docs/gpu.md). Writes everything under
# $OUT (default ./gpu-check-out): the log, each step's output, the job
# outputs, and the summary table printed at the end. Takes 1-3 minutes on an
# H100/H200; each step has a time limit so that the whole stays under 5.
#
#   1. finds NVRTC (ldconfig -p, /usr/local/cuda*/lib64, the Python
#      environment's nvidia/*/lib), keeps the first folder with which
#      `tessera gpu info` says the GPU is usable, puts it on
#      LD_LIBRARY_PATH and prints the libraries loaded (toolkit stubs
#      directories are dropped from LD_LIBRARY_PATH first)
#   2. tessera gpu selftest (every kernel against its CPU twin)
#   3. each job of inputs/jobs.txt with --backend gpu, compared with the CPU
#      output carried in ref/ (`tessera gpu compare`, the stated tolerances)
#   4. tessera bench gpu (MC samples/s, Lomb-Scargle curves/s, 4096^2 x 15^2
#      convolution with transfers apart)
#   5. the CuPy peers on the same sizes (gpu_bench_cupy.py)
# TESSERA_REQUIRE_GPU=1 is set: nothing here may quietly fall back to the CPU.
# Exit 0 when steps 1-3 pass (4 and 5 are figures), 1 otherwise.
set -uo pipefail
H=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/gpu-check-out}
mkdir -p "$OUT/jobs"
exec > >(tee "$OUT/gpu-check.log") 2>&1
export TESSERA_REQUIRE_GPU=1
T=$H/tessera
declare -a SUMMARY
note() { SUMMARY+=("$(printf '%-28s %-6s %7s  %s' "$1" "$2" "$3" "$4")"); }
now() { date +%s.%N; }
secs() { printf '%.1fs' "$(echo "$(now) - $1" | bc -l)"; }
echo "== gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname); bundle: $(head -1 "$H/README.txt" 2>/dev/null)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

# ---- 1. libraries
# a toolkit's lib64/stubs on the path would load a stub libcuda.so first
if [ -n "${LD_LIBRARY_PATH:-}" ]; then
  LD_LIBRARY_PATH=$(echo "$LD_LIBRARY_PATH" | tr ':' '\n' | grep -v '/stubs' | paste -sd: -)
  export LD_LIBRARY_PATH
fi
candidates() {
  ldconfig -p 2>/dev/null | awk '/libnvrtc\.so/{print $NF}' | xargs -r -n1 dirname
  ls -d /usr/local/cuda*/lib64 /usr/local/cuda*/targets/*/lib 2>/dev/null
  for py in python3 python; do
    command -v "$py" >/dev/null || continue
    "$py" - <<'EOF' 2>/dev/null
import glob, os, site, sys
roots = list(site.getsitepackages()) + [site.getusersitepackages()] + sys.path
for r in roots:
    for d in sorted(glob.glob(os.path.join(r, "nvidia", "*", "lib")), reverse=True):
        if glob.glob(os.path.join(d, "libnvrtc.so*")):
            print(d)
EOF
  done
}
t0=$(now)
NVRTC_DIR=""
tried=()
for d in $(candidates | awk '!seen[$0]++'); do
  compgen -G "$d/libnvrtc.so*" >/dev/null || continue
  tried+=("$d")
  # a folder with only libnvrtc.so.13.x (no soname link): link it under a name cudarc tries
  use="$d"
  if ! compgen -G "$d/libnvrtc.so.1[0-9]" >/dev/null && ! [ -e "$d/libnvrtc.so" ]; then
    f=$(ls "$d"/libnvrtc.so.* | head -1); mkdir -p "$OUT/nvrtc-link"
    ln -sf "$f" "$OUT/nvrtc-link/libnvrtc.so"; use="$OUT/nvrtc-link:$d"
  fi
  if LD_LIBRARY_PATH="$use${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$T" gpu info > "$OUT/gpu-info-try.txt" 2>&1 \
     && grep -q '^GPU backend: *usable' "$OUT/gpu-info-try.txt"; then
    NVRTC_DIR=$use; break
  fi
  echo "NVRTC in $d: not usable: $(sed -n 's/^GPU backend: *not usable: //p' "$OUT/gpu-info-try.txt")"
done
how="usable"
if [ -z "$NVRTC_DIR" ] && [ "${#tried[@]}" -gt 0 ]; then
  # none made the GPU usable: keep the first, so that gpu info shows the real obstacle
  NVRTC_DIR=${tried[0]}; how="not usable (tried ${tried[*]})"
fi
if [ -n "$NVRTC_DIR" ]; then
  export LD_LIBRARY_PATH="$NVRTC_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
echo "== tessera gpu info (NVRTC folder: ${NVRTC_DIR:-none found}, $how)"
"$T" gpu info | tee "$OUT/gpu-info.txt"
libs=$(sed -n 's/^library loaded: *//p' "$OUT/gpu-info.txt" | paste -sd' ' -)
if grep -q '^GPU backend: *usable' "$OUT/gpu-info.txt"; then
  note "gpu info" ok "$(secs "$t0")" "$libs"
  usable=1
else
  note "gpu info" FAIL "$(secs "$t0")" "$(sed -n 's/^GPU backend: *//p' "$OUT/gpu-info.txt" | sed 's/; searched .*//')"
  usable=0
fi
fail=$((1 - usable))

# ---- 2. selftest
t0=$(now)
echo "== tessera gpu selftest"
timeout 240 "$T" gpu selftest 2>&1 | tee "$OUT/selftest.txt"
rc=${PIPESTATUS[0]}
verdict=$(grep -E '^(selftest:|error:)' "$OUT/selftest.txt" | tail -1 | sed 's/; searched .*//')
if [ "$rc" = 0 ]; then note "gpu selftest" ok "$(secs "$t0")" "$verdict"; else note "gpu selftest" FAIL "$(secs "$t0")" "exit $rc: ${verdict:-see selftest.txt}"; fail=1; fi

# ---- 3. the jobs, GPU against the carried CPU outputs
while IFS='|' read -r name args tols; do
  [ -n "$name" ] || continue
  t0=$(now)
  echo "== job $name: tessera $args --backend gpu"
  tolargs=()
  for t in $tols; do tolargs+=(--tol "$t"); done
  # shellcheck disable=SC2086
  (cd "$H" && timeout 120 "$T" $args --backend gpu --out "$OUT/jobs/$name.h5") > "$OUT/jobs/$name.log" 2>&1
  rc=$?
  tail -3 "$OUT/jobs/$name.log"
  if [ "$rc" != 0 ]; then
    note "job $name" FAIL "$(secs "$t0")" "exit $rc: $(tail -1 "$OUT/jobs/$name.log" | sed 's/; searched .*//')"; fail=1; continue
  fi
  "$T" gpu compare "$OUT/jobs/$name.h5" "$H/ref/$name.h5" "${tolargs[@]}" | tee "$OUT/jobs/$name.compare.txt"
  rc=${PIPESTATUS[0]}
  worst=$(awk 'NR>1 && $3 ~ /e/ {print $1": "$3" "$4" (tol "$5")"}' "$OUT/jobs/$name.compare.txt" | sort -t: -k2 -g | tail -1)
  if [ "$rc" = 0 ]; then note "job $name vs CPU" ok "$(secs "$t0")" "${tols:-bit-equal}; largest: $worst"
  else note "job $name vs CPU" FAIL "$(secs "$t0")" "$(tail -1 "$OUT/jobs/$name.compare.txt")"; fail=1; fi
done < "$H/inputs/jobs.txt"

# ---- 4. figures
t0=$(now)
echo "== tessera bench gpu"
timeout 180 "$T" bench gpu 2>&1 | tee "$OUT/bench-gpu.txt"
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ]; then note "bench gpu" ok "$(secs "$t0")" "see below"; else note "bench gpu" FAIL "$(secs "$t0")" "exit $rc"; fi

# ---- 5. CuPy peers
t0=$(now)
echo "== CuPy peers (same sizes)"
PY=$(command -v python3 || command -v python || true)
if [ -n "$PY" ] && "$PY" -c 'import cupy' 2>/dev/null; then
  timeout 150 "$PY" "$H/gpu_bench_cupy.py" 2>&1 | tee "$OUT/cupy.txt"
  rc=${PIPESTATUS[0]}
  if [ "$rc" = 0 ]; then note "CuPy peers" ok "$(secs "$t0")" "see below"; else note "CuPy peers" FAIL "$(secs "$t0")" "exit $rc"; fi
else
  note "CuPy peers" skip "-" "cupy not importable by ${PY:-no python}"
fi

echo
echo "================ gpu-check summary ($(date -u +%H:%M:%SZ)) ================"
printf '%-28s %-6s %7s  %s\n' "step" "result" "time" "details"
printf '%s\n' "${SUMMARY[@]}"
echo "-- figures (tessera bench gpu):"
grep -v '^bench gpu:' "$OUT/bench-gpu.txt" 2>/dev/null | sed 's/^/   /'
echo "-- figures (CuPy):"
sed 's/^/   /' "$OUT/cupy.txt" 2>/dev/null
echo "-- selftest:"
grep -E 'FAIL|^selftest:' "$OUT/selftest.txt" 2>/dev/null | sed 's/^/   /'
echo "verdict: $([ "$fail" = 0 ] && echo 'PASS (gpu info, selftest, every job within tolerance)' || echo FAIL); all files under $OUT"
exit "$fail"
