#!/usr/bin/env bash
# Makes sure the system libraries tessera builds against are present:
# OpenMPI, parallel (OpenMPI) HDF5, CFITSIO, libclang for bindgen, pkg-config.
# Installs them with apt-get when possible; otherwise says what to load.
set -euo pipefail

have_all() {
  command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 &&
    pkg-config --exists hdf5-openmpi 2>/dev/null &&
    pkg-config --exists cfitsio 2>/dev/null &&
    { ldconfig -p 2>/dev/null | grep -q 'libclang' || ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; }
}

if have_all; then
  exit 0
fi

missing=()
for p in "$@"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
  if [ "$SUDO" != none ] && [ ${#missing[@]} -gt 0 ]; then
    echo "tessera: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    have_all && exit 0
  fi
fi

cat >&2 <<MSG
tessera needs OpenMPI (mpicc, mpirun), HDF5 built against OpenMPI (pkg-config
name hdf5-openmpi), CFITSIO (pkg-config name cfitsio), libclang and
pkg-config, and cannot install them here.
  Debian/Ubuntu:  sudo apt-get install ${*}
  On a cluster:   module load openmpi hdf5/parallel cfitsio llvm   (names vary by site;
                  'module spider hdf5' lists them), then make sure
                  'pkg-config --exists hdf5-openmpi' or HDF5_DIR points at the
                  parallel HDF5 build.
MSG
exit 1
