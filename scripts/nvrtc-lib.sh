#!/usr/bin/env bash
# Prints the directory holding libnvrtc.so.* for the NVRTC kernel-compile
# test, installing the nvidia-cuda-nvrtc-cu12 wheel (about 90 MB, no GPU
# needed) into target/nvrtc-wheel when no NVRTC is found. Fails soft: when
# nothing can be found or installed (PyPI unreachable, no pip) it prints a
# reason on stderr, nothing on stdout, and exits 0 -- the test then skips
# with that reason.
set -uo pipefail
cd "$(dirname "$0")/.."
WHEEL_DIR=target/nvrtc-wheel
has_lib() { compgen -G "$1/libnvrtc.so*" >/dev/null 2>&1; }

# 1. an explicit choice
if [ -n "${TESSERA_NVRTC_LIB_DIR:-}" ] && has_lib "$TESSERA_NVRTC_LIB_DIR"; then
  echo "$TESSERA_NVRTC_LIB_DIR"; exit 0
fi
# 2. a CUDA toolkit
for d in "${CUDA_HOME:-/usr/local/cuda}/lib64" /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu; do
  if has_lib "$d"; then echo "$d"; exit 0; fi
done
# 3. the wheel, already importable or already installed here
py_dir=$(python3 -c 'import nvidia.cuda_nvrtc as m, os; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null || true)
if [ -n "$py_dir" ] && has_lib "$py_dir"; then echo "$py_dir"; exit 0; fi
if has_lib "$WHEEL_DIR/nvidia/cuda_nvrtc/lib"; then echo "$PWD/$WHEEL_DIR/nvidia/cuda_nvrtc/lib"; exit 0; fi
# 4. install the wheel into target/ (not into the system Python)
if [ "${TESSERA_NO_NVRTC_INSTALL:-0}" = 1 ]; then
  echo "nvrtc-lib: no NVRTC found and TESSERA_NO_NVRTC_INSTALL=1" >&2; exit 0
fi
PIP=(python3 -m pip)
if ! "${PIP[@]}" --version >/dev/null 2>&1; then
  echo "nvrtc-lib: no NVRTC found and no pip to install nvidia-cuda-nvrtc-cu12" >&2; exit 0
fi
echo "nvrtc-lib: installing nvidia-cuda-nvrtc-cu12 into $WHEEL_DIR (for the kernel-compile test)" >&2
if timeout 600 "${PIP[@]}" install --quiet --disable-pip-version-check --no-deps \
     --target "$WHEEL_DIR" nvidia-cuda-nvrtc-cu12 >&2; then
  if has_lib "$WHEEL_DIR/nvidia/cuda_nvrtc/lib"; then
    echo "$PWD/$WHEEL_DIR/nvidia/cuda_nvrtc/lib"; exit 0
  fi
fi
echo "nvrtc-lib: could not install nvidia-cuda-nvrtc-cu12 (PyPI unreachable?)" >&2
exit 0
