#!/usr/bin/env python3
"""Generate tests/data/mharm_ref.rs, the astropy multi-term Lomb-Scargle reference values
of the multi-harmonic periodogram unit tests (src/numeric/periodogram/mharm.rs, module
`mharmdata`).

Run with the reference virtual environment (see tests/ref/README.md):

    target/ref-venv/bin/python tests/ref/make_mharm_ref.py [--out PATH]

Inputs, drawn here from numpy.random.default_rng(SEED) and copied into the output:

* D1: 90 points at MJD 55000 + U(0, 1200), a skewed periodic signal (period 0.61 d, three
  harmonics) plus noise sigma = dy ~ U(0.02, 0.06); dy given.
* D2: 45 points at U(0, 300), period 3.7 d, two harmonics plus noise 0.1; no dy.

Outputs: LombScargle(t, y, dy, nterms=K).autofrequency() (defaults) as X_F0, X_DF
(f[1] - f[0]), X_NF, and X_POWER2 / X_POWER3 = LombScargle(t, y, dy, nterms=K)
.power(f, method='chi2') for K = 2, 3 (fit_mean=True, center_data=True,
normalization='standard'). The chi2 method solves with numpy.linalg (LAPACK/OpenBLAS):
the last bits depend on the CPU kernels (~1e-13), far inside the test's 1e-9.
"""

import argparse
import os
import sys

try:
    import astropy
    import numpy as np
    from astropy.timeseries import LombScargle
except ImportError as e:
    sys.exit(f"{e}: run with the reference venv, see tests/ref/README.md")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rsfmt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(ROOT, "tests", "data", "mharm_ref.rs")
SEED = 20261108


def generate():
    rng = np.random.default_rng(SEED)
    t1 = np.sort(55000.0 + 1200.0 * rng.uniform(size=90))
    dy1 = rng.uniform(0.02, 0.06, size=90)
    x = 2 * np.pi * t1 / 0.61
    y1 = 15.0 + 0.4 * np.sin(x) + 0.2 * np.sin(2 * x + 0.5) + 0.1 * np.cos(3 * x) + dy1 * rng.standard_normal(90)
    t2 = np.sort(300.0 * rng.uniform(size=45))
    x = 2 * np.pi * t2 / 3.7
    y2 = 2.0 + np.cos(x) - 0.5 * np.sin(2 * x) + 0.1 * rng.standard_normal(45)
    out = [
        "//! Reference inputs and outputs for the multi-harmonic periodogram unit tests, generated "
        f"by tests/ref/make_mharm_ref.py with astropy {astropy.__version__}, "
        f"numpy {np.__version__}; do not edit by hand.\n",
        "//! LombScargle(nterms=K).power(f, method='chi2'), K = 2, 3, on the autofrequency grid.\n",
        "#![allow(clippy::excessive_precision, clippy::unreadable_literal)]\n",
        "\n",
    ]
    for name, t, y, dy in (("D1", t1, y1, dy1), ("D2", t2, y2, None)):
        out += [rsfmt.f64_array(f"{name}_T", t), rsfmt.f64_array(f"{name}_Y", y)]
        if dy is not None:
            out.append(rsfmt.f64_array(f"{name}_DY", dy))
        f = LombScargle(t, y, dy, nterms=2).autofrequency()
        out += [rsfmt.const_f64(f"{name}_F0", f[0]), rsfmt.const_f64(f"{name}_DF", f[1] - f[0]),
                rsfmt.const_usize(f"{name}_NF", len(f))]
        for k in (2, 3):
            p = LombScargle(t, y, dy, nterms=k).power(f, method="chi2")
            out.append(rsfmt.f64_array(f"{name}_POWER{k}", p, kind="static"))
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output file (default: %(default)s)")
    args = ap.parse_args()
    text = generate()
    with open(args.out, "w") as fh:
        fh.write(text)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
