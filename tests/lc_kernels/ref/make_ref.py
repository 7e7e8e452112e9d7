#!/usr/bin/env python3
"""Reference values for lcfeat's tests, computed with numpy / scipy / astropy.

Writes ../tests/refdata/mod.rs with the input arrays and expected outputs embedded as Rust
constants, so the Rust tests never call Python. Re-run after changing inputs:

    python3 -m venv ref/.venv && ref/.venv/bin/pip install numpy scipy astropy
    ref/.venv/bin/python ref/make_ref.py

Every value here comes from library routines (np.percentile, scipy.stats.skew/kurtosis/
anderson/linregress/median_abs_deviation, np.polyfit, astropy.stats.sigma_clip) or from a
direct numpy transcription of the published formula, written independently of the Rust code.
"""
import os
import numpy as np
import scipy
import scipy.stats as st
import astropy
from astropy.stats import sigma_clip

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "refdata", "mod.rs")


def rs(x):
    x = float(x)
    if np.isnan(x):
        return "f64::NAN"
    if np.isinf(x):
        return "f64::INFINITY" if x > 0 else "f64::NEG_INFINITY"
    r = repr(x)
    if "e" not in r and "." not in r and "inf" not in r:
        r += ".0"
    return r


def arr(name, a):
    a = np.asarray(a, dtype=float)
    body = ", ".join(rs(v) for v in a)
    return f"pub const {name}: [f64; {len(a)}] = [{body}];\n"


def scalar(name, v):
    return f"pub const {name}: f64 = {rs(v)};\n"


def usize(name, v):
    return f"pub const {name}: usize = {int(v)};\n"


def features(t, m, e):
    """All lcfeat features, by name, from numpy/scipy."""
    n = len(m)
    w = 1.0 / e**2
    mean = np.mean(m)
    std = np.std(m, ddof=1)
    med = np.median(m)
    wmean = np.average(m, weights=w)
    q = lambda p: np.percentile(m, 100 * p)  # numpy default method="linear"
    f = {}
    f["count"] = n
    f["time_span"] = t[-1] - t[0]
    f["maximum_time_interval"] = np.max(np.diff(t))
    f["minimum_time_interval"] = np.min(np.diff(t))
    f["mean"] = mean
    f["weighted_mean"] = wmean
    f["median"] = med
    f["standard_deviation"] = std
    f["median_absolute_deviation"] = st.median_abs_deviation(m, scale=1.0)
    f["skew"] = st.skew(m, bias=False) if n >= 3 else np.nan
    f["kurtosis"] = st.kurtosis(m, fisher=True, bias=False) if n >= 4 else np.nan
    f["amplitude"] = 0.5 * (np.max(m) - np.min(m))
    f["inter_percentile_range_5"] = q(0.95) - q(0.05)
    f["inter_percentile_range_10"] = q(0.90) - q(0.10)
    f["inter_percentile_range_25"] = st.iqr(m)  # scipy iqr, linear interpolation
    f["beyond_1_std"] = np.mean(np.abs(m - mean) > std)
    f["beyond_2_std"] = np.mean(np.abs(m - mean) > 2 * std)
    # Stetson (1996) eq. 4 with delta_i = sqrt(n/(n-1)) (m - wmean)/err, K = mean|d| / sqrt(mean d^2)
    d = np.sqrt(n / (n - 1.0)) * (m - wmean) / e
    f["stetson_k"] = np.mean(np.abs(d)) / np.sqrt(np.mean(d**2))
    f["eta"] = np.sum(np.diff(m) ** 2) / ((n - 1) * np.var(m, ddof=1))
    f["eta_e"] = (t[-1] - t[0]) ** 2 / (n - 1) ** 3 * np.sum((np.diff(m) / np.diff(t)) ** 2) / np.var(m, ddof=1)
    f["chi2"] = np.sum(((m - wmean) / e) ** 2) / (n - 1)
    f["excess_variance"] = (np.var(m, ddof=1) - np.mean(e**2)) / mean**2
    if n >= 3:
        lr = st.linregress(t, m)
        f["linear_trend"] = lr.slope
        f["linear_trend_sigma"] = lr.stderr
        resid = m - (lr.intercept + lr.slope * t)
        f["linear_trend_noise"] = np.sqrt(np.sum(resid**2) / (n - 2))
        # polyfit's weights multiply residuals, so w = 1/err; cov="unscaled" keeps absolute errors.
        tc = t - t.mean()  # centring changes neither slope nor its error, and helps polyfit's conditioning
        p, cov = np.polyfit(tc, m, 1, w=1.0 / e, cov="unscaled")
        f["linear_fit_slope"] = p[0]
        f["linear_fit_slope_sigma"] = np.sqrt(cov[0, 0])
        f["linear_fit_reduced_chi2"] = np.sum(((m - np.polyval(p, tc)) / e) ** 2) / (n - 2)
    else:
        for k in ["linear_trend", "linear_trend_sigma", "linear_trend_noise", "linear_fit_slope",
                  "linear_fit_slope_sigma", "linear_fit_reduced_chi2"]:
            f[k] = np.nan
    f["maximum_slope"] = np.max(np.abs(np.diff(m) / np.diff(t)))
    f["percent_amplitude"] = max(abs(np.max(m) - med), abs(np.min(m) - med))
    f["percent_difference_magnitude_percentile_5"] = (q(0.95) - q(0.05)) / med
    f["magnitude_percentage_ratio_40_5"] = (q(0.60) - q(0.40)) / (q(0.95) - q(0.05))
    f["magnitude_percentage_ratio_20_5"] = (q(0.80) - q(0.20)) / (q(0.95) - q(0.05))
    f["median_buffer_range_percentage_10"] = np.mean(np.abs(m - med) < 0.1 * 0.5 * (np.max(m) - np.min(m)))
    s = np.cumsum(m - mean) / (n * std)
    f["cusum"] = np.max(s) - np.min(s)
    if n >= 4:
        f["anderson_darling_normal"] = st.anderson(m, dist="norm", method="interpolate").statistic * (1 + 4.0 / n - 25.0 / n**2)
    else:
        f["anderson_darling_normal"] = np.nan
    f["mean_variance"] = std / mean
    f["roms"] = np.sum(np.abs(m - med) / e) / (n - 1)
    a, b = np.max(m - e), np.min(m + e)
    f["peak_to_peak_variability"] = (a - b) / (a + b)
    return f


def feature_block(prefix, t, m, e):
    f = features(t, m, e)
    s = arr(prefix + "_T", t) + arr(prefix + "_M", m) + arr(prefix + "_E", e)
    s += f"pub const {prefix}_FEATURES: &[(&str, f64)] = &[\n"
    for k, v in f.items():
        s += f'    ("{k}", {rs(v)}),\n'
    s += "];\n"
    return s


def main():
    rng = np.random.default_rng(20240611)
    out = ["//! Reference inputs and outputs generated by ref/make_ref.py "
           f"(numpy {np.__version__}, scipy {scipy.__version__}, astropy {astropy.__version__}). Do not edit.\n",
           "#![allow(dead_code, clippy::excessive_precision, clippy::approx_constant)]\n\n"]

    # --- Feature set A: 80 irregularly sampled points, sinusoid + noise, MJD-like times.
    n = 80
    t = 58000.0 + np.cumsum(rng.exponential(3.0, n) + 0.01)
    m = 18.0 + 0.3 * np.sin(2 * np.pi * t / 17.3) + 0.002 * (t - t[0]) + rng.normal(0, 0.05, n)
    e = rng.uniform(0.02, 0.08, n)
    out.append(feature_block("A", t, m, e))

    # --- Feature set B: 5 points, skewed (kurtosis and AD need >= 4).
    t = np.array([0.5, 1.7, 2.0, 4.25, 9.0])
    m = np.array([15.2, 15.1, 15.9, 15.25, 15.3])
    e = np.array([0.1, 0.05, 0.2, 0.1, 0.08])
    out.append(feature_block("B", t, m, e))

    # --- Feature set C: 3 points (kurtosis, AD must be NaN).
    t = np.array([1.0, 2.0, 4.0])
    m = np.array([10.0, 10.5, 10.2])
    e = np.array([0.1, 0.1, 0.2])
    out.append(feature_block("C", t, m, e))

    # --- Sigma clipping against astropy, two configurations, on 101 values with outliers.
    x = rng.normal(12.0, 0.1, 101)
    x[[3, 17, 50, 77]] = [13.5, 11.0, 12.45, 12.38]
    out.append(arr("CLIP_X", x))
    c1 = sigma_clip(x, sigma=3, maxiters=5, cenfunc="median", stdfunc="std", return_bounds=True)
    out.append(arr("CLIP1_KEEP", (~c1[0].mask).astype(float)))
    out.append(scalar("CLIP1_LO", c1[1]) + scalar("CLIP1_HI", c1[2]))
    c2 = sigma_clip(x, sigma_lower=2.0, sigma_upper=2.5, maxiters=None, cenfunc="mean", stdfunc="mad_std",
                    return_bounds=True)
    out.append(arr("CLIP2_KEEP", (~c2[0].mask).astype(float)))
    out.append(scalar("CLIP2_LO", c2[1]) + scalar("CLIP2_HI", c2[2]))
    c3 = sigma_clip(x, sigma=2.0, maxiters=1, return_bounds=True)
    out.append(arr("CLIP3_KEEP", (~c3[0].mask).astype(float)))
    out.append(scalar("CLIP3_LO", c3[1]) + scalar("CLIP3_HI", c3[2]))

    # --- Full cleaning: raw curve with NaN, inf, zero/negative errors, unsorted and duplicate times, outliers.
    n = 40
    t = np.round(rng.uniform(0.0, 100.0, n), 1)
    t[5] = t[6]
    t[11] = t[12] = t[13]  # triple duplicate
    m = 17.0 + 0.05 * np.sin(t / 7.0) + rng.normal(0, 0.02, n)
    e = rng.uniform(0.01, 0.03, n)
    m[2] = np.nan
    t[8] = np.inf
    e[9] = 0.0
    e[10] = -0.01
    m[20] = 19.0  # outlier
    m[30] = 15.5  # outlier
    out.append(arr("RAW_T", t) + arr("RAW_M", m) + arr("RAW_E", e))
    good = np.isfinite(t) & np.isfinite(m) & np.isfinite(e)
    n_nonfinite = np.sum(~good)
    good2 = good & (e > 0)
    n_bad_err = np.sum(good & ~(e > 0))
    tt, mm, ee = t[good2], m[good2], e[good2]
    order = np.argsort(tt, kind="stable")
    tt, mm, ee = tt[order], mm[order], ee[order]

    def dedup(tt, mm, ee, smallest):
        keep = []
        i = 0
        while i < len(tt):
            j = i
            while j < len(tt) and tt[j] == tt[i]:
                j += 1
            idx = i + (int(np.argmin(ee[i:j])) if smallest else 0)
            keep.append(idx)
            i = j
        keep = np.array(keep)
        return tt[keep], mm[keep], ee[keep]

    for label, smallest in [("FIRST", False), ("SMALLEST", True)]:
        t1, m1, e1 = dedup(tt, mm, ee, smallest)
        ndup = len(tt) - len(t1)
        cl = sigma_clip(m1, sigma=3, maxiters=5)
        k = ~cl.mask
        t2, m2, e2 = t1[k], m1[k], e1[k]
        out.append(usize(f"CLEAN_{label}_NDUP", ndup) + usize(f"CLEAN_{label}_NCLIP", np.sum(~k)))
        out.append(arr(f"CLEAN_{label}_T", t2) + arr(f"CLEAN_{label}_M", m2) + arr(f"CLEAN_{label}_E", e2))
        if not smallest:
            # Moving-average detrending (window 10 days, |dt| <= 5) then z-score.
            det = np.array([m2[i] - np.mean(m2[np.abs(t2 - t2[i]) <= 5.0]) for i in range(len(t2))])
            mu, sd = det.mean(), det.std(ddof=1)
            out.append(arr("CLEAN_DETREND_M", det))
            out.append(arr("CLEAN_ZSCORE_M", (det - mu) / sd) + arr("CLEAN_ZSCORE_E", e2 / sd))
            out.append(scalar("CLEAN_ZSCORE_OFFSET", mu) + scalar("CLEAN_ZSCORE_SCALE", sd))
            lo, hi = m2.min(), m2.max()
            out.append(arr("CLEAN_MINMAX_M", (m2 - lo) / (hi - lo)))
    out.append(usize("CLEAN_NNONFINITE", n_nonfinite) + usize("CLEAN_NBADERR", n_bad_err))

    # --- Structure function: a direct (naive) log-likelihood at fixed parameters for a small curve.
    t = np.array([0.0, 1.5, 3.0, 10.0, 30.0, 31.0, 100.0, 250.0])
    m = np.array([19.0, 19.1, 18.9, 19.3, 19.05, 18.8, 19.4, 19.2])
    e = np.array([0.05, 0.04, 0.06, 0.05, 0.05, 0.07, 0.05, 0.04])
    out.append(arr("SF_T", t) + arr("SF_M", m) + arr("SF_E", e))
    i, j = np.triu_indices(len(t), 1)
    dt, dm, s2 = np.abs(t[j] - t[i]), m[j] - m[i], e[i] ** 2 + e[j] ** 2
    A, g = 0.25, 0.4
    S = (A * (dt / 365.25) ** g) ** 2 + s2
    out.append(scalar("SF_LOGL_PL", np.sum(st.norm.logpdf(dm, 0.0, np.sqrt(S)))))
    om, tau = 0.3, 50.0
    S = om**2 * (1 - np.exp(-dt / tau)) + s2
    out.append(scalar("SF_LOGL_DRW", np.sum(st.norm.logpdf(dm, 0.0, np.sqrt(S)))))

    # Maximum-likelihood optimum of both models for this curve, by scipy (Nelder-Mead, then BFGS polish).
    from scipy.optimize import minimize

    def nll_pl(th):
        S = (np.exp(th[0]) * (dt / 365.25) ** th[1]) ** 2 + s2
        return -np.sum(st.norm.logpdf(dm, 0.0, np.sqrt(S)))

    def nll_drw(th):
        S = np.exp(2 * th[0]) * (1 - np.exp(-dt / np.exp(th[1]))) + s2
        return -np.sum(st.norm.logpdf(dm, 0.0, np.sqrt(S)))

    for name, f, x0 in [("PL", nll_pl, [np.log(0.2), 0.3]), ("DRW", nll_drw, [np.log(0.2), np.log(30.0)])]:
        r = minimize(f, x0, method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000))
        r = minimize(f, r.x, method="BFGS", options=dict(gtol=1e-9))
        out.append(arr(f"SF_FIT_{name}_THETA", r.x) + scalar(f"SF_FIT_{name}_LOGL", -r.fun))

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        fh.write("".join(out))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
