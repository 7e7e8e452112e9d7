# tessera: the two set-up commands are `make run` and `make test`.
#
#   make run    install missing system packages (when allowed), build, and run
#               the Monte Carlo job on 2 MPI ranks with configs/mc.toml
#   make test   the same set-up, then the whole test suite (unit + mpirun tests)
#   make bench  benchmark figures (see README)
#   make gpu-bench  GPU figures and the CuPy comparison (on a GPU machine; docs/gpu.md)
#   make gpu-bundle the self-contained GPU check for a bare CUDA machine (docs/gpu.md)
#   make scaling-report  strong + weak scaling of every job at 1, 2, 4 ranks on
#               this machine -> docs/scaling/ (Markdown, CSV, PNG, SVG)

SHELL := /bin/bash
CARGO ?= cargo
RANKS ?= 2
OUT ?= out
BIN := target/release/tessera
APT_PACKAGES := libhdf5-openmpi-dev libclang-dev pkg-config hdf5-tools openmpi-bin libcfitsio-dev

# OpenMPI refuses to run as root unless told, and binds each rank to one core
# when ranks <= 2 (rayon would then get one thread).
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
MPIRUN := mpirun --oversubscribe --bind-to none

# scaling-report: jobs studied, work per point (the job's knob: mc samples,
# lightcurves objects, image side in pixels; lightcurves and image inputs are
# synthesised once per size by `tessera scale`), runs per point (the fastest
# is kept; fewer for the slower jobs to keep the whole under ~6 minutes),
# rank counts. lightcurves runs without structure functions (the study's
# default, shown in the report's headings).
SCALING_JOBS ?= mc lightcurves image
SCALING_WORK_mc ?= 4e8
SCALING_WORK_lightcurves ?= 200
SCALING_WORK_image ?= 4096
SCALING_REPEAT ?= 10
SCALING_REPEAT_lightcurves ?= 3
SCALING_REPEAT_image ?= 3
SCALING_RANKS ?= 1,2,4
SCALING_RUNS := $(OUT)/scaling-runs

.PHONY: run test bench gpu-bench gpu-bundle deps build clean scaling-report s82 bench-hats

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
# that test then skips with the reason. Its folder goes on LD_LIBRARY_PATH
# too (the test processes load NVRTC from there, and a CUDA 13 NVRTC finds
# its builtins library there). The GPU-versus-CPU tests are #[ignore]d;
# they run (--include-ignored) when `tessera gpu info` finds a usable GPU
# or TESSERA_REQUIRE_GPU=1 (then a missing device fails them), and the last
# line says how many did not run and why.
test: deps
	@set -o pipefail; nvrtc="$$(./scripts/nvrtc-lib.sh)"; \
	export TESSERA_NVRTC_LIB_DIR="$$nvrtc" LD_LIBRARY_PATH="$${nvrtc:+$$nvrtc:}$${LD_LIBRARY_PATH:-}"; \
	$(CARGO) build --release || exit $$?; \
	why="$$($(BIN) gpu info | sed -n 's/^GPU backend: *not usable: //p' | sed 's/; searched .*//')"; \
	extra=""; if [ -z "$$why" ] || [ "$${TESSERA_REQUIRE_GPU:-0}" = 1 ]; then extra=--include-ignored; fi; \
	mkdir -p target; \
	$(CARGO) test --release --no-fail-fast -- $$extra 2>&1 | tee target/test.log; rc=$$?; \
	n=$$(grep -o '[0-9]* ignored' target/test.log | awk '{s += $$1} END {print s + 0}'); \
	if [ -n "$$extra" ]; then echo "GPU tests: all ran (--include-ignored; TESSERA_REQUIRE_GPU=$${TESSERA_REQUIRE_GPU:-0})"; \
	else echo "GPU tests: $$n did not run (ignored: they need a CUDA device; $$why). Run them on a GPU machine: TESSERA_REQUIRE_GPU=1 make test"; fi; \
	exit $$rc

bench: build
	$(BIN) bench mc
	$(MPIRUN) -n 2 $(BIN) bench mc --dims 2

gpu-bench: build
	./scripts/gpu-bench.sh

# A self-contained directory (and .tar.gz) under target/gpu-bundle/ for a
# bare CUDA machine: stripped binary, the MPI and HDF5 libraries, inputs,
# CPU reference outputs, gpu-check.sh (docs/gpu.md).
gpu-bundle: build
	./scripts/gpu-bundle.sh

scaling-report: build
	rm -rf $(SCALING_RUNS)
	$(foreach job,$(SCALING_JOBS),$(BIN) scale --job $(job) --ranks $(SCALING_RANKS) --mode both \
	  --threads 1 --repeat $(or $(SCALING_REPEAT_$(job)),$(SCALING_REPEAT)) --out-dir $(SCALING_RUNS) --no-report \
	  $(if $(SCALING_WORK_$(job)),--work $(SCALING_WORK_$(job))) && ) true
	$(BIN) report $(SCALING_RUNS)/*.h5 --out-dir docs/scaling --cores-per-node $$(nproc) \
	  --title "tessera scaling on this machine ($$(nproc) cores; lightcurves without structure functions)"

clean:
	$(CARGO) clean
	rm -rf $(OUT)

# The real-data acceptance set: SDSS Stripe 82 RR Lyrae periods against Sesar et al. (2010).
S82 ?= ../shared/data/sdss-s82-rrlyrae
# survey scale: lightcurves over a HATS catalog of 10^6 synthetic objects (made by
# hats-import) against the same objects from tessera's HDF5, mpirun -n 2
bench-hats: build
	scripts/bench-hats.sh 1000000 40 2

s82: build
	@mkdir -p $(OUT)
	$(BIN) ingest csv $(S82)/light-curves --out $(OUT)/s82.h5
	$(BIN) lightcurves --input $(OUT)/s82.h5 --out $(OUT)/s82-features.h5 --min-period 0.2 --max-period 2 --set structure_function=false
	$(BIN) export $(OUT)/s82-features.h5 --csv $(OUT)/s82-features.csv
	python3 scripts/s82_periods.py $(OUT)/s82-features.csv $(S82)/periods.csv
	python3 scripts/s82_periods.py --split $(OUT)/s82-features.csv $(S82)/periods.csv
