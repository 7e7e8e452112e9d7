#!/usr/bin/env python3
"""Time one transient fit on a 50-point curve: light-curve's Python call against tessera's
`fit_transient`, in one run, single thread.

Run from the repository root with the reference virtual environment:

    target/ref-venv/bin/python tests/ref/time_transient.py

The curve: `t_i = 58000 + 2.5 i`, `i < 50`; a Bazin curve (A=1000, B=50, t0=58030,
tau_rise=4, tau_fall=25) plus deterministic "noise" `30 sin(1.7 i)`; errors 30. tessera's
side is the ignored test `transient_timing` in tests/lc_kernels/transient.rs (same curve),
run through `cargo test --release`; light-curve's is `BazinFit/VillarFit/LinexpFit("lmsder")`
called on numpy arrays (`sorted=True`, `check=False`, i.e. without input validation), with
the default `lmsder_niter` (10) and with 1000.
"""

import os
import re
import subprocess
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import light_curve as lc  # noqa: E402


def curve():
    i = np.arange(50)
    t = 58000.0 + 2.5 * i
    y = lc.BazinFit.model(t, np.array([1000.0, 50.0, 58030.0, 4.0, 25.0])) + 30.0 * np.sin(1.7 * i)
    return t, y, np.full(50, 30.0)


def time_call(fn, min_time=1.0):
    fn()
    reps, elapsed = 0, 0.0
    start = time.perf_counter()
    while elapsed < min_time:
        for _ in range(100):
            fn()
        reps += 100
        elapsed = time.perf_counter() - start
    return elapsed / reps * 1e6


def main():
    t, y, dy = curve()
    rows = {}
    for name, cls in (("Bazin", lc.BazinFit), ("Villar", lc.VillarFit), ("Linexp", lc.LinexpFit)):
        for niter in (10, 1000):
            fit = cls("lmsder", lmsder_niter=niter)
            res = fit(t, y, dy, sorted=True, check=False)
            us = time_call(lambda: fit(t, y, dy, sorted=True, check=False))
            rows.setdefault(name, {})[niter] = (us, res[-1])
    out = subprocess.run(
        ["cargo", "test", "--release", "--test", "lc_kernels", "transient_timing", "--",
         "--ignored", "--nocapture", "--test-threads=1"],
        capture_output=True, text=True, check=True,
    ).stdout
    for m in re.finditer(r"TIMING (\w+) ([\d.]+) us/fit reduced_chi2 (\S+)", out):
        rows[m.group(1)]["tessera"] = (float(m.group(2)), float(m.group(3)))
    print(f"light-curve {lc.__version__}, numpy {np.__version__}; 50 points, one thread")
    print(f"{'model':8} {'lc niter=10':>22} {'lc niter=1000':>22} {'tessera':>22}   (us/fit, reduced chi2)")
    for name, r in rows.items():
        cells = [f"{r[key][0]:9.1f} {r[key][1]:12.6g}" for key in (10, 1000, "tessera")]
        print(f"{name:8} " + " ".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    sys.exit(main())
