#!/usr/bin/env bash
# Runs tessera lightcurves over the bench-hats catalog (scripts/bench-hats.sh
# makes it, with the unlimited run's f-hats.h5) under mpirun -n RANKS inside
# a cgroup-v1 memory limit (root; memory plus swap), to show a catalog
# larger than the memory given is processed. Prints the peak resident memory
# of every rank (/usr/bin/time %M), the cgroup's peak (page cache of the
# output file included) and whether the features equal the unlimited run's.
# With TESSERA_DEBUG=1 each rank also logs VmHWM/VmRSS after every stage.
#   scripts/bench-hats-memory.sh [LIMIT_MB=250] [RANKS=2] [DIR=target/bench-hats]
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${1:-250}; RANKS=${2:-2}; DIR=${3:-target/bench-hats}
BIN=${BIN:-$PWD/target/release/tessera}
CG=/sys/fs/cgroup/memory/tessera-bench-$$
mkdir -p "$CG"
trap 'rmdir "$CG" 2>/dev/null || true' EXIT
echo $((LIMIT << 20)) > "$CG/memory.limit_in_bytes"
echo $((LIMIT << 20)) > "$CG/memory.memsw.limit_in_bytes" 2>/dev/null || true
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$DIR"
echo "catalog: $(du -sh hats | cut -f1) of Parquet ($(du -sh lc.h5 | cut -f1) as tessera HDF5); memory limit for the whole job: $LIMIT MB, $RANKS ranks"
rm -f f-mem.h5 rss-mem.*
set +e
sh -c "echo \$\$ > $CG/cgroup.procs; exec mpirun --oversubscribe --bind-to none -n $RANKS \
  sh -c 'exec /usr/bin/time -o rss-mem.\$OMPI_COMM_WORLD_RANK -f %M $BIN lightcurves --input hats --out f-mem.h5'" \
  2> >(grep -E "memory after|error" >&2) | grep -E "^time|^objects"
rc=${PIPESTATUS[0]}
set -e
rss() {  # a rank's peak RSS in MB, or "killed" when time(1) could not say
  local v; v=$(tail -1 "$1" 2>/dev/null || true)
  if [[ $v =~ ^[0-9]+$ ]]; then echo -n "$((v / 1024)) "; else echo -n "killed "; fi
}
echo "exit $rc; peak RSS per rank (MB): $(for r in $(seq 0 $((RANKS - 1))); do rss rss-mem.$r; done)"
echo "peak memory of the job (cgroup max_usage, page cache included): $(( $(cat "$CG/memory.max_usage_in_bytes") >> 20 )) MB; limit hits: $(cat "$CG/memory.failcnt") failcnt"
if [ "$rc" = 0 ]; then
  for d in features/values features/reason objects/object_id objects/ra objects/dec objects/_healpix_29; do
    h5diff -q f-mem.h5 f-hats.h5 /$d /$d && echo "/$d identical to the unlimited run"
  done
fi
rm -f f-mem.h5 rss-mem.*
exit "$rc"
