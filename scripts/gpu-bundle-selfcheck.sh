#!/usr/bin/env bash
# Proves that the GPU bundle (make gpu-bundle) is self-contained: in a
# private mount namespace (unshare -m; needs root) the system's MPI, PMIx,
# hwloc plugins and HDF5 are hidden -- every library the bundle carries is
# covered, where the system has it, by /dev/null, and OpenMPI's, PMIx's
# and HDF5's folders, configuration, help texts and launchers by empty
# ones -- then:
#   1. the normal build must fail to start there (the hiding works);
#   2. the bundle runs every job of inputs/jobs.txt with --backend cpu, as
#      one rank without mpirun;
# and, outside the namespace again, each output is compared with the
# normal build's output carried in ref/: h5diff on every result dataset
# (all but /provenance, /timings) and `tessera gpu compare` (bit-equal).
# Usage: scripts/gpu-bundle-selfcheck.sh [BUNDLE_DIR]; exit 0 when all hold.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
B=$(realpath "${1:-target/gpu-bundle/tessera-gpu-check}")
[ -x "$B/tessera" ] || { echo "selfcheck: no bundle at $B: run make gpu-bundle" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "selfcheck: needs root (unshare -m, mount --bind)" >&2; exit 2; }
W=$(mktemp -d /tmp/gpu-bundle-selfcheck.XXXXXX)
mkdir -p "$W/empty" "$W/out"
NORMAL=$(realpath target/release/tessera)

# what to hide: the system's copy of every bundled library, and the folders
HIDE_FILES=()
for f in "$B"/lib/*.so* "$B"/lib/openmpi3/*.so "$B"/lib/pmix/*.so; do
  base=$(basename "$f")
  for d in /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openmpi/lib /usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3 /usr/lib/x86_64-linux-gnu/pmix2/lib/pmix /usr/lib/x86_64-linux-gnu/pmix2/lib; do
    [ -e "$d/$base" ] && HIDE_FILES+=("$(realpath "$d/$base")")
  done
done
for f in /usr/bin/mpirun /usr/bin/mpiexec /usr/bin/orterun /usr/bin/orted /usr/bin/h5dump /usr/bin/h5diff; do
  [ -e "$f" ] && HIDE_FILES+=("$(realpath "$f")")
done
HIDE_DIRS=()
for d in /usr/lib/x86_64-linux-gnu/openmpi /usr/lib/x86_64-linux-gnu/pmix2 /usr/lib/x86_64-linux-gnu/hdf5 \
         /usr/lib/x86_64-linux-gnu/hwloc /usr/lib/x86_64-linux-gnu/ucx /etc/openmpi /usr/share/openmpi /usr/share/pmix; do
  [ -d "$d" ] && HIDE_DIRS+=("$d")
done
printf '%s\n' "${HIDE_FILES[@]}" | sort -u > "$W/hide-files.txt"
printf '%s\n' "${HIDE_DIRS[@]}" > "$W/hide-dirs.txt"
echo "selfcheck: hiding $(wc -l < "$W/hide-files.txt") system files and $(wc -l < "$W/hide-dirs.txt") folders: $(paste -sd' ' "$W/hide-dirs.txt")"

unshare -m --propagation private bash -s "$B" "$W" "$NORMAL" <<'EOS'
set -euo pipefail
shopt -s nullglob
B=$1 W=$2 NORMAL=$3
while read -r f; do mount --bind /dev/null "$f"; done < "$W/hide-files.txt"
while read -r d; do mount --bind "$W/empty" "$d"; done < "$W/hide-dirs.txt"
echo "in the namespace: libmpi.so.40: $(stat -L -c %F /usr/lib/x86_64-linux-gnu/libmpi.so.40), libhdf5_openmpi.so.103: $(stat -L -c %F /usr/lib/x86_64-linux-gnu/libhdf5_openmpi.so.103), openmpi components: $(ls /usr/lib/x86_64-linux-gnu/openmpi | wc -l) files, mpirun: $(command -v mpirun >/dev/null && wc -c < "$(command -v mpirun)" || echo absent) bytes"
if "$NORMAL" --version > "$W/normal.txt" 2>&1; then
  echo "selfcheck: FAIL: the normal build still starts with the system libraries hidden" >&2; exit 1
fi
echo "normal build (system MPI/HDF5 hidden): fails to start, as it must: $(head -1 "$W/normal.txt")"
unset OMPI_MCA_mca_base_component_path PMIX_MCA_mca_base_component_path LD_LIBRARY_PATH
cd "$B"
while IFS='|' read -r name args _tols; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086
  if ./tessera $args --backend cpu --threads 2 --out "$W/out/$name.h5" > "$W/out/$name.log" 2>&1; then
    echo "bundle, hidden libraries: $name: ok ($(grep -c . "$W/out/$name.log") log lines)"
  else
    echo "bundle, hidden libraries: $name: FAILED:"; cat "$W/out/$name.log"; exit 1
  fi
done < inputs/jobs.txt
if grep -il 'warn\|error' "$W"/out/*.log; then echo "(warnings above: see $W/out)"; fi
EOS

# back outside: compare with the normal build's outputs
fail=0
while IFS='|' read -r name _args _tols; do
  [ -n "$name" ] || continue
  mapfile -t sets < <(h5ls -r "$B/ref/$name.h5" | awk '$2 == "Dataset" {print $1}' | grep -v -E '^/(provenance|timings|gpu_timings)(/|$)')
  bad=0
  for s in "${sets[@]}"; do
    h5diff -q "$W/out/$name.h5" "$B/ref/$name.h5" "$s" "$s" || { echo "h5diff: $name $s differs"; bad=1; }
  done
  cmp=$("$NORMAL" gpu compare "$W/out/$name.h5" "$B/ref/$name.h5" | tail -1) || bad=1
  if [ "$bad" = 0 ]; then
    echo "compare $name: h5diff identical on ${#sets[@]} datasets (${sets[*]}); $cmp"
  else
    echo "compare $name: DIFFERS ($cmp)"; fail=1
  fi
done < "$B/inputs/jobs.txt"
rm -rf "$W"
[ "$fail" = 0 ] && echo "selfcheck: PASS: the bundle runs every job with the system's MPI and HDF5 hidden, outputs identical to the normal build's" || echo "selfcheck: FAIL"
exit "$fail"
