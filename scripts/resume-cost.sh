#!/usr/bin/env bash
# The time one interruption costs each resumable job: an uninterrupted run
# (T0), then the same run stopped by SIGUSR1 half-way (T1) and resumed
# (T2), all under mpirun -n 2 on this machine. Lost = (T1 + T2 - T0) / T0:
# start-up, re-reading and the unit in progress. Units redone = units
# computed by the two runs together minus the run's units.
#   scripts/resume-cost.sh [DIR=target/resume-cost]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/target/release/tessera
DIR=${1:-target/resume-cost}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI=(mpirun --oversubscribe --bind-to none -n 2)
rm -rf "$DIR"; mkdir -p "$DIR"; cd "$DIR"
now() { date +%s.%N; }

"$BIN" synth lightcurves -n 4000 --epochs 80 --out lc.h5 >/dev/null 2>&1
"$BIN" synth image --size 6144 --out img.h5 >/dev/null 2>&1

measure() { # name out-file units-word args...
  local name=$1 out=$2 word=$3; shift 3
  local t0 t1 t2 a b c
  a=$(now); "${MPI[@]}" "$BIN" "$@" --out "ref-$out" >ref.log 2>&1; b=$(now)
  t0=$(echo "$b - $a" | bc -l)
  a=$(now)
  "${MPI[@]}" "$BIN" "$@" --out "$out" >run1.log 2>&1 &
  local pid=$!
  sleep "$(echo "$t0 / 2" | bc -l)"
  kill -USR1 "$pid"
  local rc=0; wait "$pid" || rc=$?
  b=$(now); t1=$(echo "$b - $a" | bc -l)
  local stopped; stopped=$(grep -o "after [0-9]* of [0-9]* ${word}s" run1.log | head -1)
  "${MPI[@]}" "$BIN" "$@" --out "$out" --resume >run2.log 2>&1
  c=$(now); t2=$(echo "$c - $b" | bc -l)
  local done1 total; done1=$(echo "$stopped" | awk '{print $2}'); total=$(echo "$stopped" | awk '{print $4}')
  local same=differs
  case $name in
    lightcurves) h5diff -q "ref-$out" "$out" /features /features && same=identical ;;
    image) h5diff -q "ref-$out" "$out" /convolved /convolved && h5diff -q "ref-$out" "$out" /stats /stats && same=identical ;;
    mc) h5diff -q "ref-$out" "$out" /montecarlo/estimate /montecarlo/estimate && h5diff -q "ref-$out" "$out" /montecarlo/m2 /montecarlo/m2 && same=identical ;;
  esac
  printf "%-12s uninterrupted %6.2f s | stopped (exit %s) at %s ${word}s after %6.2f s, resumed in %6.2f s | lost %5.1f%% of the run | output %s\n" \
    "$name" "$t0" "$rc" "$done1/$total" "$t1" "$t2" "$(echo "100 * ($t1 + $t2 - $t0) / $t0" | bc -l)" "$same"
}

measure lightcurves f.h5 tile lightcurves --input lc.h5 --set tile=32
measure image conv.h5 tile image --input img.h5 --kernel gaussian:3:15 --set tile=256
measure mc mc.h5 block mc --samples 2e10
