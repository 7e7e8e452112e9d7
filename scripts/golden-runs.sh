#!/usr/bin/env bash
# A fixed set of mc, lightcurves and image runs, for comparing two builds of
# tessera bit for bit (used when restructuring: the results must not change).
#
#   scripts/golden-runs.sh BIN OUTDIR        run the set with binary BIN
#   scripts/golden-runs.sh --compare A B     h5diff every result dataset of A against B
#
# The comparison covers every dataset except /provenance and /timings (times,
# hosts and the command line differ between any two runs).
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --oversubscribe --bind-to none"
S82=${S82:-../shared/data/sdss-s82-rrlyrae}

if [ "${1:-}" = --compare ]; then
  a=$2 b=$3 status=0
  for f in "$a"/*.h5; do
    name=$(basename "$f")
    case $name in input-*) continue ;; esac
    for ds in $(h5ls -r "$f" | awk '$2 == "Dataset" {print $1}' | grep -v -e '^/provenance' -e '^/timings' -e '^/gpu_timings'); do
      if h5diff -q "$f" "$b/$name" "$ds" "$ds" >/dev/null 2>&1; then :; else
        echo "DIFFERS: $name $ds"; status=1
      fi
    done
    echo "compared $name: $(h5ls -r "$f" | awk '$2 == "Dataset"' | grep -v -c -e '^/provenance' -e '^/timings' -e '^/gpu_timings') datasets"
  done
  for f in "$a"/*.csv; do
    if cmp -s "$f" "$b/$(basename "$f")"; then echo "compared $(basename "$f"): identical bytes"
    else echo "DIFFERS: $(basename "$f")"; status=1; fi
  done
  [ $status = 0 ] && echo "all result datasets identical"
  exit $status
fi

BIN=$(realpath "$1"); OUT=$2; S82=$(realpath "$S82")
mkdir -p "$OUT"; cd "$OUT"; rm -f ./*.h5 ./*.csv
run() { echo "+ $*" >&2; "$@" >/dev/null; }
run "$BIN" mc --samples 2e7 --seed 7 --out mc-1.h5 --threads 2
run $MPIRUN -n 3 "$BIN" mc --samples 2e7 --seed 7 --integrand pi --out mc-pi-3.h5 --threads 1
run "$BIN" synth lightcurves -n 300 --bands g,r,i --epochs 80 --seed 3 --out input-lc.h5
run "$BIN" lightcurves --input input-lc.h5 --out lc-1.h5 --threads 2 --tile 64
run $MPIRUN -n 2 "$BIN" lightcurves --input input-lc.h5 --out lc-2.h5 --threads 1 --tile 50 --set periodogram=direct
run "$BIN" ingest csv "$S82/light-curves" --out input-s82.h5
run $MPIRUN -n 2 "$BIN" lightcurves --input input-s82.h5 --out s82.h5 --min-period 0.2 --max-period 2 --set structure_function=false
run "$BIN" export s82.h5 --csv s82.csv
run "$BIN" synth image --kind deltas --size 700 --dtype f64 --out input-img.h5
run "$BIN" image --input input-img.h5 --out img-1.h5 --kernel radial:15 --tile 256 --threads 2
run $MPIRUN -n 2 "$BIN" image --input input-img.h5 --out img-2.h5 --kernel gaussian:2:9 --boundary reflect --mode full --tile 200 --threads 1
run "$BIN" synth image --kind random --size 300 --dtype f32 --out input-img32.h5
run "$BIN" image --input input-img32.h5 --out img-f32.h5 --kernel box:5 --method fft --tile 128
ls -l
