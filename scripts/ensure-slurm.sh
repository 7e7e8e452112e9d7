#!/usr/bin/env bash
# Makes sure a single-node SLURM can be started here for the tests:
# slurmctld, slurmd and the client commands (Debian: slurm-wlm) and MUNGE
# (munge). Installs them with apt-get when running as root; never starts a
# service (the tests start their own daemons under a temporary directory).
# Exit 0: ready. Exit 1: cannot, with the reason on stderr.
set -euo pipefail

have_all() {
  for c in slurmctld slurmd sbatch squeue sinfo munged mungekey; do
    command -v "$c" >/dev/null 2>&1 || return 1
  done
}

have_all && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "SLURM or MUNGE missing and no apt-get to install them (Debian: slurm-wlm munge)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "SLURM or MUNGE missing and not root: install slurm-wlm and munge" >&2
  exit 1
fi

# keep the packages' own services from starting: the tests run their own
# daemons, and a service started here would outlive them
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

echo "tessera: installing slurm-wlm munge (apt-get)" >&2
if ! apt-get update -qq >/tmp/tessera-apt-update.log 2>&1; then
  echo "apt-get update failed: $(tail -3 /tmp/tessera-apt-update.log)" >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/tmp/tessera-apt-slurm.log 2>&1; then
  echo "apt-get install slurm-wlm munge failed: $(tail -3 /tmp/tessera-apt-slurm.log)" >&2
  exit 1
fi
have_all || { echo "slurm-wlm and munge installed but commands are missing" >&2; exit 1; }
