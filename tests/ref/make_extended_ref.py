#!/usr/bin/env python3
"""Generate tests/data/extended_ref.rs, the reference values of the extended light-curve
feature table (src/numeric/lightcurve/extended.rs), used by tests/lc_kernels/extended.rs.

Run with the reference virtual environment (numpy, scipy, pandas, light-curve):

    /work/venv-ref/bin/python tests/ref/make_extended_ref.py [--out PATH] [--data DIR]

Inputs (real survey data, see their README.md files):

* 30 SDSS Stripe 82 RR Lyrae (Sesar et al. 2010), g band: every 8th star of
  `sdss-s82-rrlyrae/light-curves/*.csv` in name order;
* 22 ZTF BTS SNe Ia, ZTF r band (`R`): 20 evenly spaced in name order among the files with
  at least 2 r-band points, plus the first 2-point and the first 3-point curve (below some
  features' minimum point counts);
* 4 synthetic white-noise curves (numpy default_rng(20250101), magnitudes drawn from their
  own errors), where `chi2_pvar` is between 0 and 1 instead of underflowing to 0.

Each curve is cleaned the way tessera's `clean` leaves it: finite values, errors > 0,
sorted by time (stable), duplicate times dropped keeping the first. The arrays given to
light-curve and the ones committed to the Rust file are identical float64 values.

Reference values:

* light-curve (Malanchev et al. 2021) features called one at a time: BiweightScale
  (c = 9), QnScale, OtsuSplit, LaflerKinmanStringLength, ParabolaFit, TimeMean,
  TimeStandardDeviation, Chi2Pvar. A feature that light-curve refuses (too few points,
  flat curve, straight line for ParabolaFit) is NaN, as in tessera.
* numpy transcriptions of the published formulas, written for this script, for the
  features light-curve lacks: Stetson J and L (Stetson 1996, PASP 108, 851; successive
  pairs), the Shannon entropy of the magnitude histogram and the conditional entropy of
  magnitude given time (Graham et al. 2013, MNRAS 434, 3423, with normalised time in place
  of phase). See the function docstrings for the exact definitions.
* scipy.special.gammaincc for chi2_pvar as a cross-check of light-curve's incomplete gamma
  (printed, and committed as CHI2_PVAR_SCIPY).

Also printed (not committed): light-curve Duration vs max(t) - min(t) (tessera's existing
`time_span`) and light-curve ReducedChi2 vs tessera's formula for `chi2`, which is why those
two are not in the extended table.
"""
import argparse
import glob
import math
import os
import sys

import numpy as np
import pandas as pd
import scipy
import scipy.special as sps

import light_curve as lc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rsfmt  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "..", "data", "extended_ref.rs")
DEFAULT_DATA = "/work/shared/data"

# Column order of the extended table (must match EXTENDED in extended.rs).
NAMES = [
    "time_mean",
    "time_standard_deviation",
    "biweight_scale_9",
    "qn",
    "otsu_mean_diff",
    "otsu_std_lower",
    "otsu_std_upper",
    "otsu_lower_to_all_ratio",
    "lafler_kinman_string_length",
    "parabola_fit_g",
    "parabola_fit_m0",
    "parabola_fit_reduced_chi2",
    "chi2_pvar",
    "stetson_j",
    "stetson_l",
    "shannon_entropy",
    "conditional_entropy",
]

N_MAG_BINS = 10
N_TIME_BINS = 10


def clean(t, m, e):
    t, m, e = (np.asarray(a, dtype=np.float64) for a in (t, m, e))
    ok = np.isfinite(t) & np.isfinite(m) & np.isfinite(e) & (e > 0)
    t, m, e = t[ok], m[ok], e[ok]
    order = np.argsort(t, kind="stable")
    t, m, e = t[order], m[order], e[order]
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = np.diff(t) != 0
    return (np.ascontiguousarray(a[keep]) for a in (t, m, e))


def lc_values(feature, t, m, e):
    """light-curve's output(s) of one feature, NaN where it refuses the curve."""
    try:
        v = feature(t, m, e)
    except ValueError:
        return [math.nan] * len(feature.names)
    return [float(x) for x in v]


def stetson_jl(t, m, e):
    """Stetson (1996) J and L for one band, pairing each observation with the next one.

    delta_i = sqrt(n/(n-1)) (m_i - mbar_w)/e_i with mbar_w the inverse-variance weighted
    mean; P_k = delta_k delta_{k+1}, k = 0..n-2, all pair weights 1;
    J = sum sgn(P_k) sqrt|P_k| / (n-1);  K = mean|delta| / sqrt(mean delta^2);
    L = J K / 0.798 (Stetson's eq. for L with the weight-ratio factor equal to 1).
    """
    n = len(m)
    if n < 2:
        return math.nan, math.nan
    w = 1.0 / e**2
    mbar = np.sum(w * m) / np.sum(w)
    d = math.sqrt(n / (n - 1.0)) * (m - mbar) / e
    p = d[:-1] * d[1:]
    j = np.mean(np.sign(p) * np.sqrt(np.abs(p)))
    k = np.mean(np.abs(d)) / math.sqrt(np.mean(d**2)) if np.any(d != 0) else math.nan
    return float(j), float(j * k / 0.798)


def bin_index(x, lo, hi, nbins):
    """min(floor(nbins (x - lo)/(hi - lo)), nbins - 1): the binning rule of the entropies."""
    idx = np.floor((x - lo) / (hi - lo) * nbins).astype(np.int64)
    return np.minimum(idx, nbins - 1)


def entropies(t, m):
    """Shannon entropy H(m) of the magnitude histogram and conditional entropy H(m|t).

    10 equal-width magnitude bins over [min m, max m]; 10 equal-width time bins over
    [t_0, t_{n-1}]. p_ij = n_ij / n (magnitude bin i, time bin j), p_i and p_j marginals.
    H(m) = -sum_i p_i ln p_i;  H(m|t) = sum_ij p_ij ln(p_j / p_ij) (natural logs, empty
    bins skipped). NaN for n < 2 or constant magnitudes.
    """
    n = len(m)
    if n < 2 or m.max() == m.min():
        return math.nan, math.nan
    im = bin_index(m, m.min(), m.max(), N_MAG_BINS)
    it = bin_index(t, t[0], t[-1], N_TIME_BINS)
    pm = np.bincount(im, minlength=N_MAG_BINS) / n
    pm = pm[pm > 0]
    h = -np.sum(pm * np.log(pm))
    joint = np.zeros((N_MAG_BINS, N_TIME_BINS))
    np.add.at(joint, (im, it), 1.0)
    joint /= n
    pt = joint.sum(axis=0)
    nz = joint > 0
    hc = np.sum(joint[nz] * np.log((np.broadcast_to(pt, joint.shape))[nz] / joint[nz]))
    return float(h), float(hc)


FEATURES = [
    lc.TimeMean(),
    lc.TimeStandardDeviation(),
    lc.BiweightScale(),
    lc.QnScale(),
    lc.OtsuSplit(),
    lc.LaflerKinmanStringLength(),
    lc.ParabolaFit(),
    lc.Chi2Pvar(),
]


def reference_row(t, m, e):
    row = []
    for f in FEATURES:
        row += lc_values(f, t, m, e)
    row += list(stetson_jl(t, m, e))
    row += list(entropies(t, m))
    names = [nm for f in FEATURES for nm in f.names] + [
        "stetson_j",
        "stetson_l",
        "shannon_entropy",
        "conditional_entropy",
    ]
    assert names == NAMES, names
    return row


def load_curves(data):
    curves = []
    rr = sorted(glob.glob(os.path.join(data, "sdss-s82-rrlyrae", "light-curves", "*.csv")))
    for f in rr[::8][:30]:
        d = pd.read_csv(f)
        d = d[d.band == "g"]
        t, m, e = clean(d.time.values, d.mag.values, d.magerr.values)
        curves.append(("sdss-s82-rrlyrae/" + os.path.basename(f) + " g", t, m, e))
    sn = sorted(glob.glob(os.path.join(data, "ztf-bts-snia", "light-curves", "*.csv")))
    good = []
    for f in sn:
        d = pd.read_csv(f)
        d = d[d.band == "R"]
        t, m, e = clean(d.time.values, d.mag.values, d.magerr.values)
        if len(t) >= 2:
            good.append((f, t, m, e))
    step = len(good) / 20.0
    chosen = [int(k * step) for k in range(20)]
    for short in (2, 3):  # the first 2- and 3-point curves, below several min_points
        chosen.append(next(i for i, g in enumerate(good) if len(g[1]) == short))
    for i in chosen:
        f, t, m, e = good[i]
        curves.append(("ztf-bts-snia/" + os.path.basename(f) + " R", t, m, e))
    rng = np.random.default_rng(20250101)
    for n in (5, 12, 40, 200):
        t = np.sort(58000.0 + rng.uniform(0.0, 300.0, n))
        t = np.unique(t)
        e = rng.uniform(0.01, 0.05, len(t))
        m = 18.0 + rng.normal(0.0, 1.0, len(t)) * e
        curves.append((f"synthetic white noise n={len(t)}", *clean(t, m, e)))
    return curves


def cross_checks(curves, refs):
    worst_pvar = 0.0
    for (name, t, m, e), row in zip(curves, refs):
        dur = lc_values(lc.Duration(), t, m, e)[0]
        assert dur == t[-1] - t[0], (name, dur)
        rc = lc_values(lc.ReducedChi2(), t, m, e)[0]
        w = 1.0 / e**2
        mbar = np.sum(w * m) / np.sum(w)
        mine = np.sum(((m - mbar) / e) ** 2) / (len(m) - 1)
        assert abs(rc - mine) <= 1e-10 * abs(mine), (name, rc, mine)
        pv = row[NAMES.index("chi2_pvar")]
        chi2 = np.sum(((m - mbar) / e) ** 2)
        sp = sps.gammaincc((len(m) - 1) / 2.0, chi2 / 2.0)
        worst_pvar = max(worst_pvar, abs(pv - sp))
    print(f"Duration == t[-1]-t[0] and ReducedChi2 == tessera chi2 on all {len(curves)} curves")
    print(f"chi2_pvar: max |light-curve - scipy gammaincc| = {worst_pvar:.3g}")


def rs_f64(x):
    return "f64::NAN" if math.isnan(x) else rsfmt.f64(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output file (default: %(default)s)")
    ap.add_argument("--data", default=DEFAULT_DATA, help="data folder (default: %(default)s)")
    args = ap.parse_args()

    curves = load_curves(args.data)
    refs = [reference_row(t, m, e) for _, t, m, e in curves]
    cross_checks(curves, refs)
    pvar_scipy = []
    for _, t, m, e in curves:
        w = 1.0 / e**2
        mbar = np.sum(w * m) / np.sum(w)
        chi2 = np.sum(((m - mbar) / e) ** 2)
        pvar_scipy.append(float(sps.gammaincc((len(m) - 1) / 2.0, chi2 / 2.0)))

    offsets = np.cumsum([0] + [len(t) for _, t, _, _ in curves])
    out = [
        "//! Reference inputs and outputs for the extended light-curve features, generated by "
        "tests/ref/make_extended_ref.py\n",
        f"//! with light-curve {lc.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pandas {pd.__version__}; do not edit by hand.\n",
        "//! Curve k is T/M/E[OFFSETS[k]..OFFSETS[k + 1]]; its expected row is "
        "EXPECTED[k * NAMES.len()..][..NAMES.len()].\n",
        "#![allow(dead_code, clippy::excessive_precision, clippy::unreadable_literal)]\n",
        "#![allow(clippy::approx_constant)]\n",
        "\n",
    ]
    out.append(
        rsfmt.array_body(
            f"pub const CURVES: [&str; {len(curves)}] = ", [f'"{c[0]}"' for c in curves]
        )
    )
    out.append(
        rsfmt.array_body(f"pub const NAMES: [&str; {len(NAMES)}] = ", [f'"{n}"' for n in NAMES])
    )
    out.append(rsfmt.usize_array("OFFSETS", offsets))
    out.append(rsfmt.f64_array("T", np.concatenate([c[1] for c in curves]), kind="static"))
    out.append(rsfmt.f64_array("M", np.concatenate([c[2] for c in curves]), kind="static"))
    out.append(rsfmt.f64_array("E", np.concatenate([c[3] for c in curves]), kind="static"))
    flat = [v for row in refs for v in row]
    out.append(
        rsfmt.array_body(
            f"pub static EXPECTED: [f64; {len(flat)}] = ", [rs_f64(v) for v in flat]
        )
    )
    out.append(
        rsfmt.array_body(
            f"pub const CHI2_PVAR_SCIPY: [f64; {len(pvar_scipy)}] = ",
            [rs_f64(v) for v in pvar_scipy],
        )
    )
    with open(args.out, "w") as fh:
        fh.write("".join(out))
    print(f"wrote {args.out}: {len(curves)} curves, {offsets[-1]} points")


if __name__ == "__main__":
    main()
