#!/usr/bin/env bash
# make gpu-bundle: a self-contained directory for a bare CUDA machine (one
# with the NVIDIA driver, CUDA, nvcc and CuPy, but no Rust, MPI or HDF5 and
# no network), and its .tar.gz:
#
#   target/gpu-bundle/tessera-gpu-check/
#     tessera          wrapper: runs bin/tessera on lib/ (LD_LIBRARY_PATH,
#                      OpenMPI's and PMIx's component paths), one rank, no mpirun
#     bin/tessera      the stripped release binary
#     lib/             every shared library the binary loads here that is not
#                      glibc (MPI, HDF5 and their dependencies), with what
#                      they dlopen at run time: OpenMPI's mca components
#                      (lib/openmpi3), PMIx's (lib/pmix)
#     share/openmpi    OpenMPI's help texts (its error messages)
#     inputs/          small inputs; jobs.txt: the jobs and their tolerances
#     ref/             the CPU outputs of those jobs, made here
#     gpu-check.sh     the check to run there (docs/gpu.md)
#     gpu_bench_cupy.py the CuPy peer figures
#
# Libraries are found by running each job here with LD_DEBUG=libs (which
# lists what is dlopened too), not from ldd alone. Left out: glibc's own
# libraries, libstdc++ and libgcc_s (every CUDA machine has newer ones) and
# hwloc's optional plugins (GL, OpenCL, libxml: hwloc runs without them).
# scripts/gpu-bundle-selfcheck.sh proves the bundle runs with the system's
# MPI and HDF5 hidden. Fails if the tarball exceeds 60 MiB.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
BIN=target/release/tessera
NAME=tessera-gpu-check
OUTDIR=target/gpu-bundle
B=$OUTDIR/$NAME
MAX_MIB=60
[ -x "$BIN" ] || { echo "gpu-bundle: $BIN missing: run cargo build --release (make gpu-bundle does)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# one rank without mpirun and without forking OpenMPI's orted (which the
# bundle does not carry): the runs here load what the bundle's runs load
export OMPI_MCA_ess_singleton_isolated=1

rm -rf "$B" "$OUTDIR/$NAME.tar.gz"
mkdir -p "$B"/{bin,lib/openmpi3,lib/pmix,lib/hwloc,share,inputs,ref}

# ---- inputs (small: the figures come from `gpu selftest` and `bench gpu`)
I=$B/inputs
"$BIN" synth lightcurves -n 400 --seed 4 --epochs 60 --outliers 0.02 --out "$I/lc.h5" >/dev/null
"$BIN" synth image --kind random --rows 517 --cols 389 --seed 9 --dtype f64 --out "$I/img-f64.h5" >/dev/null
"$BIN" synth image --kind random --rows 517 --cols 389 --seed 9 --dtype f32 --out "$I/img-f32.h5" >/dev/null
# an asymmetric 3 x 5 kernel: a flip or transpose mistake shows
printf '1 2 3 4 5\n0 -1 7 2 1\n3 0 0 1 9\n' > "$I/asym.txt"

# jobs.txt: NAME | ARGUMENTS (paths relative to the bundle) | TOLERANCES for
# `tessera gpu compare` (none: bit-equal). The tolerances are the ones the
# tests state (docs/gpu.md): Monte Carlo pi exact and the others 1e-12
# relative; Lomb-Scargle powers 1e-5 absolute (features and periods equal);
# convolution f64 1e-12 and f32 1e-6 of the output's scale.
cat > "$I/jobs.txt" <<'EOF'
mc-pi|mc --integrand pi --samples 2e8 --seed 3|
mc-norm2|mc --integrand norm2 --dims 3 --samples 1e8 --seed 5|montecarlo=rel:1e-12
mc-cosprod|mc --integrand cosprod --dims 5 --samples 5e7 --seed 6|montecarlo=rel:1e-12
lightcurves|lightcurves --input inputs/lc.h5 --tile 64 --periodogram direct|features/values=abs:1e-5
image-f64|image --input inputs/img-f64.h5 --kernel gaussian:2:9 --boundary reflect --method direct --tile 256|convolved=rel:1e-12 stats=rel:1e-12
image-f32-asym|image --input inputs/img-f32.h5 --kernel file:inputs/asym.txt --boundary nearest --method direct --tile 256|convolved=rel:1e-6 stats=rel:1e-6
EOF

# ---- CPU reference outputs, made here by the normal build
while IFS='|' read -r name args _tols; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086
  (cd "$B" && "../../../$BIN" $args --backend cpu --threads 2 --out "ref/$name.h5" >/dev/null 2>"ref/$name.log") \
    || { echo "gpu-bundle: reference run $name failed:" >&2; cat "$B/ref/$name.log" >&2; exit 1; }
  rm -f "$B/ref/$name.log"
done < "$I/jobs.txt"

# ---- the libraries each job loads here (dlopen included)
LIST=$(mktemp)
while IFS='|' read -r name args _tols; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086
  (cd "$B" && LD_DEBUG=libs "../../../$BIN" $args --backend cpu --threads 1 --out "/tmp/gpu-bundle-$$.h5" 2>&1 >/dev/null \
     | sed -n 's/.*calling init: \(\/[^ ]*\).*/\1/p') >> "$LIST" || true
  rm -f "/tmp/gpu-bundle-$$.h5"
done < "$I/jobs.txt"
# the directly linked ones as ldd resolves them (a second source, in case)
ldd "$BIN" | awk '/=> \//{print $3}' >> "$LIST"
sort -u "$LIST" -o "$LIST"
skip='/(libc|libm|libdl|libpthread|librt|libresolv|libutil|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so'
n=0
while read -r f; do
  [ -f "$f" ] || continue
  if [[ "$f" =~ $skip ]]; then continue; fi
  case "$f" in
    */hwloc/*) continue ;;                                    # optional hwloc plugins
    */libX*|*/libxcb*|*/libOpenCL*|*/libicu*|*/libxml2*|*/libbsd*|*/libmd.so*) continue ;;  # their dependencies
    */openmpi/lib/openmpi3/*) cp -L "$f" "$B/lib/openmpi3/" ;;
    */pmix2/lib/pmix/*) cp -L "$f" "$B/lib/pmix/" ;;
    *) cp -L "$f" "$B/lib/$(basename "$f")" ;;
  esac
  n=$((n + 1))
done < "$LIST"
rm -f "$LIST"
# libraries of the copied components that the runs above did not need here
# but ldd names (so that no component fails to load there)
for so in "$B"/lib/openmpi3/*.so "$B"/lib/pmix/*.so "$B"/lib/*.so*; do
  { ldd "$so" 2>/dev/null || true; } | awk '/=> \//{print $3}' | while read -r dep; do
    base=$(basename "$dep")
    if [[ "$dep" =~ $skip ]] || [ -e "$B/lib/$base" ]; then continue; fi
    case "$dep" in */libX*|*/libxcb*|*/libOpenCL*|*/libicu*|*/libxml2*|*/libbsd*|*/libmd.so*) continue ;; esac
    cp -L "$dep" "$B/lib/$base"
  done
done
strip --strip-unneeded "$B"/lib/*.so* "$B"/lib/openmpi3/*.so "$B"/lib/pmix/*.so 2>/dev/null || true
if [ -d /usr/share/openmpi ]; then
  mkdir -p "$B/share/openmpi" && cp /usr/share/openmpi/help-*.txt "$B/share/openmpi/" 2>/dev/null || true
fi

# ---- the binary and its wrapper
cp "$BIN" "$B/bin/tessera"
strip "$B/bin/tessera"
cat > "$B/tessera" <<'EOF'
#!/bin/sh
# Runs the bundled tessera on the bundled MPI and HDF5 (one rank, no mpirun).
H=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$H/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMPI_MCA_mca_base_component_path="$H/lib/openmpi3"
export PMIX_MCA_mca_base_component_path="$H/lib/pmix"
export OPAL_PKGDATADIR="$H/share/openmpi"
export HWLOC_PLUGINS_PATH="$H/lib/hwloc"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# a singleton that does not start orted (not carried): one rank, no mpirun
export OMPI_MCA_ess_singleton_isolated=1
exec "$H/bin/tessera" "$@"
EOF
chmod +x "$B/tessera"
cp scripts/gpu-check.sh "$B/gpu-check.sh"
chmod +x "$B/gpu-check.sh"
cp scripts/gpu_bench_cupy.py "$B/gpu_bench_cupy.py"
{
  echo "tessera GPU check bundle, built $(date -u +%Y-%m-%dT%H:%MZ) from commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "Run on the GPU machine:  OUT=/some/dir ./gpu-check.sh   (writes everything under \$OUT; see docs/gpu.md)"
  echo "Libraries: $(ls "$B/lib" | grep -c '\.so') in lib/, $(ls "$B/lib/openmpi3" | wc -l) OpenMPI components, $(ls "$B/lib/pmix" | wc -l) PMIx components"
} > "$B/README.txt"

tar -C "$OUTDIR" -czf "$OUTDIR/$NAME.tar.gz" "$NAME"
dir_bytes=$(du -sb "$B" | cut -f1)
tar_bytes=$(stat -c %s "$OUTDIR/$NAME.tar.gz")
printf 'gpu-bundle: %s: %.1f MiB (%d files, %d libraries found by running the jobs); %s: %.1f MiB\n' \
  "$B" "$(echo "$dir_bytes / 1048576" | bc -l)" "$(find "$B" -type f | wc -l)" "$n" \
  "$OUTDIR/$NAME.tar.gz" "$(echo "$tar_bytes / 1048576" | bc -l)"
if [ "$dir_bytes" -gt $((MAX_MIB * 1048576)) ]; then
  echo "gpu-bundle: the directory exceeds $MAX_MIB MiB" >&2
  exit 1
fi
