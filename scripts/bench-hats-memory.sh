#!/usr/bin/env bash
# Runs tessera lightcurves over the bench-hats catalog (scripts/bench-hats.sh
# makes it) under mpirun -n 2 inside a cgroup-v1 memory limit (root; memory
# plus swap), to show a catalog larger than the memory given is processed.
#   scripts/bench-hats-memory.sh [LIMIT_MB=600] [DIR=target/bench-hats]
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${1:-600}; DIR=${2:-target/bench-hats}
CG=/sys/fs/cgroup/memory/tessera-bench-$$
mkdir -p "$CG"
trap 'rmdir "$CG" 2>/dev/null || true' EXIT
echo $((LIMIT << 20)) > "$CG/memory.limit_in_bytes"
echo $((LIMIT << 20)) > "$CG/memory.memsw.limit_in_bytes" 2>/dev/null || true
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$DIR"
echo "catalog: $(du -sh hats | cut -f1) of Parquet ($(du -sh lc.h5 | cut -f1) as tessera HDF5); memory limit for the whole job: $LIMIT MB"
rm -f f-mem.h5
sh -c "echo \$\$ > $CG/cgroup.procs; exec mpirun --oversubscribe --bind-to none -n 2 $OLDPWD/target/release/tessera lightcurves --input hats --out f-mem.h5" | grep -E "^time|^objects"
echo "exit ${PIPESTATUS[0]}; peak memory of the job (cgroup max_usage, page cache included): $(( $(cat $CG/memory.max_usage_in_bytes) >> 20 )) MB; OOM events: $(cat $CG/memory.failcnt) failcnt"
h5diff -q f-mem.h5 f-hats.h5 /features/values /features/values && echo "/features/values identical to the unlimited run"
rm -f f-mem.h5
