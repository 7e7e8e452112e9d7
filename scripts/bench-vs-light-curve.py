#!/usr/bin/env python3
"""tessera's feature row against light-curve's, on the same curves, one core each.

    python scripts/bench-vs-light-curve.py [--curves 4000] [--epochs 200] [--repeat 3]

Makes synthetic single-band curves with `tessera synth lightcurves` (mean
`--epochs` points over 1000 days, RR Lyrae-like and sinusoidal variables with
noise and outliers), then in one run:

1. light-curve (the PyPI package, Rust inside) computes its comparable set: the
   scalar features that tessera's default row also has (light-curve's names
   below) plus `Periodogram(peaks=3)`, through `Extractor.many(..., n_jobs=1)`
   (no Python loop per curve), with `sorted=True, check=False` (its fastest
   path; the curves are sorted and clean). Its periodogram is timed on two
   grids: its own default (resolution 10, max_freq_factor 1, fast) and the
   frequency range and density of tessera's default grid (5 samples per peak,
   Nyquist factor 5: resolution 5, max_freq_factor 5).
2. `tessera bench lightcurves --input FILE` times every feature group on the
   same curves (first band), single-threaded, and the default row.

Prints both and the ratio tessera / light-curve. Needs `target/release/tessera`
(make build) and the Python packages of tests/ref/survey-requirements.txt
(numpy, h5py, light-curve); `make bench-vs-light-curve` sets up a venv.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py
import light_curve as lc
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.path.join(ROOT, "target", "release", "tessera")


def comparable_features():
    """light-curve's scalar features that tessera's default row also computes."""
    return [
        lc.Amplitude(),
        lc.AndersonDarlingNormal(),
        lc.BeyondNStd(1.0),
        lc.BeyondNStd(2.0),
        lc.Cusum(),
        lc.Eta(),
        lc.EtaE(),
        lc.ExcessVariance(),
        lc.InterPercentileRange(0.05),
        lc.InterPercentileRange(0.1),
        lc.InterPercentileRange(0.25),
        lc.Kurtosis(),
        lc.LinearFit(),
        lc.LinearTrend(),
        lc.MagnitudePercentageRatio(0.4, 0.05),
        lc.MagnitudePercentageRatio(0.2, 0.05),
        lc.MaximumSlope(),
        lc.MaximumTimeInterval(),
        lc.MinimumTimeInterval(),
        lc.Mean(),
        lc.MeanVariance(),
        lc.Median(),
        lc.MedianAbsoluteDeviation(),
        lc.MedianBufferRangePercentage(0.1),
        lc.ObservationCount(),
        lc.PercentAmplitude(),
        lc.PercentDifferenceMagnitudePercentile(0.05),
        lc.ReducedChi2(),
        lc.Roms(),
        # PeakToPeakVar is left out: light-curve implements it in Python, which
        # would push its Extractor off the Rust path
        lc.Skew(),
        lc.StandardDeviation(),
        lc.StetsonK(),
        lc.WeightedMean(),
        lc.Duration(),
        # tessera's extended group
        lc.TimeMean(),
        lc.TimeStandardDeviation(),
        lc.BiweightScale(),
        lc.QnScale(),
        lc.OtsuSplit(),
        lc.LaflerKinmanStringLength(),
        lc.ParabolaFit(),
        lc.Chi2Pvar(),
    ]


def read_curves(path, n):
    with h5py.File(path, "r") as f:
        g = f["lightcurves"]
        off = g["offsets"][: n + 1]
        t, m, e = (g[k][: off[-1]] for k in ("time", "mag", "err"))
    curves = []
    for i in range(len(off) - 1):
        s = slice(off[i], off[i + 1])
        ti, mi, ei = t[s], m[s], e[s]
        order = np.argsort(ti, kind="stable")
        ti, mi, ei = ti[order], mi[order], ei[order]
        keep = np.concatenate([[True], np.diff(ti) > 0]) & (ei > 0) & np.isfinite(mi)
        curves.append(tuple(np.ascontiguousarray(a[keep], dtype=np.float64) for a in (ti, mi, ei)))
    return curves


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--curves", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if not os.access(BIN, os.X_OK):
        sys.exit(f"{BIN} not found: build it first (cargo build --release)")
    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "curves.h5")
        subprocess.run(
            [BIN, "synth", "lightcurves", "--objects", str(a.curves), "--bands", "g",
             "--epochs", str(a.epochs), "--baseline", "1000", "--season", "1",
             "--out", h5, "--progress-interval", "0"],
            check=True, stdout=subprocess.DEVNULL,
        )
        curves = read_curves(h5, a.curves)
        n = len(curves)
        pts = np.mean([len(c[0]) for c in curves])
        print(f"bench-vs-light-curve: {n} synthetic curves, mean {pts:.1f} points, 1 core each, best of {a.repeat}")
        print(f"light-curve {lc.__version__}, numpy {np.__version__}")
        scalar = comparable_features()
        results = {}
        for label, per in [
            ("its default grid (resolution 10, max_freq_factor 1)", lc.Periodogram(peaks=3)),
            ("tessera's grid (resolution 5, max_freq_factor 5)", lc.Periodogram(peaks=3, resolution=5.0, max_freq_factor=5.0)),
        ]:
            ex = lc.Extractor(*scalar, per)
            sec = best_of(a.repeat, lambda: ex.many(curves, n_jobs=1, sorted=True, check=False))
            results[label] = sec * 1e3 / n
            print(f"light-curve {len(scalar)} scalar features + Periodogram(peaks=3) on {label}: {results[label]:.4f} ms/curve")
        ex = lc.Extractor(*scalar)
        sec = best_of(a.repeat, lambda: ex.many(curves, n_jobs=1, sorted=True, check=False))
        print(f"light-curve {len(scalar)} scalar features alone: {sec * 1e3 / n:.4f} ms/curve")
        out = subprocess.run(
            [BIN, "bench", "lightcurves", "--input", h5, "--curves", str(n), "--repeat", str(a.repeat)],
            check=True, capture_output=True, text=True,
        ).stdout
        print("--- tessera bench lightcurves --input (same curves) ---")
        print(out.rstrip())
        m = re.search(r"default row \(([^)]*)\)\s*:\s*([0-9.]+) ms/curve", out)
        if not m:
            sys.exit("could not find the default row in tessera's output")
        ours = float(m.group(2))
        u = re.search(r"default row, refine_peaks = 0\s*:\s*([0-9.]+) ms/curve", out)
        print("--- ratio ---")
        for label, theirs in results.items():
            print(f"tessera default row ({m.group(1)}) / light-curve on {label}: {ours / theirs:.2f}x")
            if u:
                print(f"tessera default row with refine_peaks = 0 (no alias refinement) / light-curve on {label}: {float(u.group(1)) / theirs:.2f}x")


if __name__ == "__main__":
    main()
