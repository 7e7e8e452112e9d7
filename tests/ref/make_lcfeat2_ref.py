"""Reference values for the periodogram peak signal-to-noise, the periodogram spectrum and
phase-folded features, and the time-binned features, from light-curve's own `Periodogram` and
`Bins` (and astropy's weighted Lomb-Scargle), on real curves; written to
tests/data/lcfeat2_ref.json and read by tests/lc_kernels/lcfeat2.rs.

- `periodogram`: r band of 10 SDSS Stripe 82 RR Lyrae (>= 40 points). light-curve's
  `Periodogram(peaks=3, freqs=2 pi f, fast=False, normalization="standard", features=[...],
  phase_features=[...])` on tessera's grid f (astropy `autofrequency`, samples_per_peak 5,
  nyquist_factor 5, maximum frequency 1 / min_period = 5 per day). light-curve's power there
  is the classic unweighted Lomb-Scargle (no floating mean, no errors); the test recomputes
  it directly and applies tessera's kernels to it. `astropy` holds the weighted generalised
  Lomb-Scargle (tessera's power) on the same grid: the mean and ddof=1 standard deviation of
  the power and the signal-to-noise of its highest point.
- `bins`: light-curve's `Bins(features, window, offset)` on the same SDSS curves and on the
  R band of 6 ZTF SN Ia curves (several points a night), for three windows.

Times, magnitudes and errors are stored as the CSV's own strings, so the Rust test parses the
same doubles. Run from the repository root (TESSERA_SHARED_DATA overrides the data folder):
    python tests/ref/make_lcfeat2_ref.py
"""
import csv, json, os, sys
import numpy as np
import astropy
from astropy.timeseries import LombScargle
import light_curve as lc

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
shared = os.environ.get("TESSERA_SHARED_DATA", os.path.join(root, "..", "shared", "data"))
MIN_PERIOD, SPP, NYQ = 0.2, 5.0, 5.0
WINDOWS = [(1.0, 0.0), (10.0, 0.5), (60.0, -3.0)]
ZTF_WINDOWS = [(1.0, 0.0), (3.0, 0.5)]


def read(path, band):
    """The band's points: finite, positive errors, sorted by time, first of equal times."""
    rows = [r for r in csv.DictReader(open(path)) if r["band"] == band]
    keep = []
    for r in rows:
        t, m, e = float(r["time"]), float(r["mag"]), float(r["magerr"])
        if np.isfinite(t) and np.isfinite(m) and np.isfinite(e) and e > 0:
            keep.append(r)
    keep.sort(key=lambda r: float(r["time"]))
    out, last = [], None
    for r in keep:
        if last is None or float(r["time"]) != last:
            out.append(r)
        last = float(r["time"])
    return [[r[k] for r in out] for k in ("time", "mag", "magerr")]


def arrays(strs):
    return [np.array([float(x) for x in s]) for s in strs]


SPECTRUM = [lc.Mean(), lc.StandardDeviation(), lc.Skew(), lc.Kurtosis(), lc.BeyondNStd(2.0)]
SPECTRUM_NAMES = ["mean", "standard_deviation", "skew", "kurtosis", "beyond_2_std"]
PHASE = [lc.Eta(), lc.LaflerKinmanStringLength(), lc.Cusum(), lc.LinearTrend(), lc.MaximumSlope()]
PHASE_NAMES = ["eta", "lafler_kinman_string_length", "cusum", "linear_trend", "maximum_slope"]
# tessera's bins_ columns and light-curve's feature (and output name) for each
BINS = [
    ("count", lc.ObservationCount(), "observation_count"),
    ("mean", lc.Mean(), "mean"),
    ("weighted_mean", lc.WeightedMean(), "weighted_mean"),
    ("standard_deviation", lc.StandardDeviation(), "standard_deviation"),
    ("amplitude", lc.Amplitude(), "amplitude"),
    ("skew", lc.Skew(), "skew"),
    ("kurtosis", lc.Kurtosis(), "kurtosis"),
    ("stetson_k", lc.StetsonK(), "stetson_K"),
    ("eta_e", lc.EtaE(), "eta_e"),
    ("chi2", lc.ReducedChi2(), "chi2"),
    ("linear_fit_slope", lc.LinearFit(), "linear_fit_slope"),
    ("maximum_slope", lc.MaximumSlope(), "maximum_slope"),
]


def bins_values(t, m, e, window, offset):
    b = lc.Bins([f for _, f, _ in BINS], window=window, offset=offset)
    vals = dict(zip(b.names, b(t, m, e)))
    suffix = {n.split("_", 3)[-1]: v for n, v in vals.items()}
    return [float(suffix[lcname]) for _, _, lcname in BINS]


out = {
    "light_curve": lc.__version__,
    "numpy": np.__version__,
    "astropy": astropy.__version__,
    "min_period": MIN_PERIOD,
    "samples_per_peak": SPP,
    "nyquist_factor": NYQ,
    "spectrum": SPECTRUM_NAMES,
    "phase": PHASE_NAMES,
    "bins_features": [n for n, _, _ in BINS],
    "periodogram": [],
    "bins": [],
}

sdss = os.path.join(shared, "sdss-s82-rrlyrae", "light-curves")
for f in sorted(os.listdir(sdss)):
    if len(out["periodogram"]) == 10:
        break
    strs = read(os.path.join(sdss, f), "r")
    if len(strs[0]) < 40:
        continue
    t, m, e = arrays(strs)
    base = t.max() - t.min()
    df = 1.0 / (base * SPP)
    fmin = 0.5 * df
    fmax = 1.0 / MIN_PERIOD
    nf = 1 + int(np.round((fmax - fmin) / df))
    freq = fmin + df * np.arange(nf)
    p = lc.Periodogram(
        peaks=3,
        freqs=2 * np.pi * freq,
        fast=False,
        normalization="standard",
        features=SPECTRUM,
        phase_features=PHASE,
    )
    v = dict(zip(p.names, p(t, m, e)))
    wp = LombScargle(t, m, e, normalization="standard").power(freq, method="cython")
    k = int(np.argmax(wp))
    mean, std = float(wp.mean()), float(wp.std(ddof=1))
    out["periodogram"].append({
        "file": f,
        "band": "r",
        "t": strs[0], "m": strs[1], "e": strs[2],
        "f0": float(fmin), "df": float(df), "n": nf,
        "lc": {
            "period": [float(v[f"periodogram_period_{i}"]) for i in range(3)],
            "s_to_n": [float(v[f"periodogram_period_s_to_n_{i}"]) for i in range(3)],
            "spectrum": [float(v[f"periodogram_{n}"]) for n in SPECTRUM_NAMES],
            "phase": [float(v[f"period_folded_{n}"]) for n in PHASE_NAMES],
        },
        "astropy": {
            "mean": mean, "std": std, "best_index": k,
            "best_power": float(wp[k]), "best_s_to_n": float((wp[k] - mean) / std),
        },
    })
    for window, offset in WINDOWS:
        out["bins"].append({
            "file": f, "band": "r", "t": strs[0], "m": strs[1], "e": strs[2],
            "window": window, "offset": offset,
            "values": bins_values(t, m, e, window, offset),
        })

ztf = os.path.join(shared, "ztf-bts-snia", "light-curves")
n_ztf = 0
for f in sorted(os.listdir(ztf)):
    if n_ztf == 6:
        break
    strs = read(os.path.join(ztf, f), "R")
    t, m, e = arrays(strs)
    nights = len(np.unique(np.floor(t)))
    if len(t) < 15 or nights == len(t):
        continue  # want several points in some nights
    n_ztf += 1
    for window, offset in ZTF_WINDOWS:
        out["bins"].append({
            "file": f, "band": "R", "t": strs[0], "m": strs[1], "e": strs[2],
            "window": window, "offset": offset,
            "values": bins_values(t, m, e, window, offset),
        })

json.dump(out, open(os.path.join(root, "tests", "data", "lcfeat2_ref.json"), "w"), indent=0)
print(
    f"{len(out['periodogram'])} periodograms, {len(out['bins'])} binned curves, "
    f"light-curve {lc.__version__}, astropy {astropy.__version__}",
    file=sys.stderr,
)
