#!/usr/bin/env bash
# Survey-scale benchmark: tessera lightcurves over a HATS catalog of N
# synthetic objects (tests/ref/make_synth_hats.py via hats-import) against the
# same objects from tessera's HDF5 (tessera ingest table), both under
# mpirun -n RANKS, with the peak resident memory of every rank.
#
#   scripts/bench-hats.sh [N=1000000] [POINTS=40] [RANKS=2] [DIR=target/bench-hats]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}; POINTS=${2:-40}; RANKS=${3:-2}; DIR=${4:-target/bench-hats}
BIN=${BIN:-$PWD/target/release/tessera}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=$(scripts/survey-venv.sh)
if [ ! -f "$DIR/hats/hats.properties" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  "$PY" tests/ref/make_synth_hats.py "$N" "$POINTS" "$DIR"
fi
cd "$DIR"
echo "catalog: $(du -sh hats | cut -f1) on disk, $(find hats/dataset -name '*.parquet' | wc -l) partitions"
[ -f lc.h5 ] || /usr/bin/time -f "ingest: %e s, peak RSS %M KB" "$BIN" ingest table hats --out lc.h5
echo "tessera HDF5: $(du -sh lc.h5 | cut -f1)"
run() {  # run NAME INPUT
  rm -f "rss-$1".*
  mpirun --oversubscribe --bind-to none -n "$RANKS" \
    sh -c "exec /usr/bin/time -o rss-$1.\$OMPI_COMM_WORLD_RANK -f '%M' $BIN lightcurves --input $2 --out f-$1.h5" \
    | grep -E "^time|^objects"
  echo "  peak RSS per rank (MB): $(for f in rss-$1.*; do echo -n "$(( $(cat "$f") / 1024 )) "; done)"
}
for round in 1 2; do
  echo "== round $round: HATS"; run hats hats
  echo "== round $round: HDF5"; run h5 lc.h5
done
for d in features/values features/reason; do
  h5diff -q f-hats.h5 f-h5.h5 /$d /$d && echo "/$d identical (HATS vs HDF5)"
done
