# tessera: the two set-up commands are `make run` and `make test`.
#
#   make run    install missing system packages (when allowed), build, and run
#               the Monte Carlo job on 2 MPI ranks with configs/mc.toml
#   make test   the same set-up, then the whole test suite (unit + mpirun tests)
#   make bench  benchmark figures (see README)
#   make gpu-bench  GPU figures and the CuPy comparison (on a GPU machine; docs/gpu.md)

SHELL := /bin/bash
CARGO ?= cargo
RANKS ?= 2
OUT ?= out
BIN := target/release/tessera
APT_PACKAGES := libhdf5-openmpi-dev libclang-dev pkg-config hdf5-tools openmpi-bin

# OpenMPI refuses to run as root unless told, and binds each rank to one core
# when ranks <= 2 (rayon would then get one thread).
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
MPIRUN := mpirun --oversubscribe --bind-to none

.PHONY: run test bench gpu-bench deps build clean

deps:
	@./scripts/ensure-deps.sh $(APT_PACKAGES)

build: deps
	$(CARGO) build --release

run: build
	@mkdir -p $(OUT)
	$(MPIRUN) -n $(RANKS) $(BIN) mc --config configs/mc.toml --out $(OUT)/mc.h5
	@echo "HDF5 result: $(OUT)/mc.h5  (h5dump -g /montecarlo $(OUT)/mc.h5)"

# scripts/nvrtc-lib.sh finds (or installs from PyPI into target/) an NVRTC
# library for the kernel-compile test; it prints nothing when it cannot, and
# that test then skips with the reason.
test: deps
	TESSERA_NVRTC_LIB_DIR="$$(./scripts/nvrtc-lib.sh)" $(CARGO) test --release

bench: build
	$(BIN) bench mc
	$(MPIRUN) -n 2 $(BIN) bench mc --dims 2

gpu-bench: build
	./scripts/gpu-bench.sh

clean:
	$(CARGO) clean
	rm -rf $(OUT)
