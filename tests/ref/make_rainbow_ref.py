"""Reference Rainbow fits from light-curve's own RainbowFit (Russeil et al.
2024; defaults: Bazin bolometric term, sigmoid temperature, Planck spectrum,
a baseline per band, iminuit) on real ZTF BTS SN Ia with g and r points,
written with their inputs to tests/data/rainbow_ref.json (read by
tests/lc_kernels/rainbow.rs).

Needs iminuit, which the shared reference venv lacks:
    python3 -m venv target/ref-venv
    target/ref-venv/bin/pip install light-curve==0.13.3 iminuit numpy scipy
    target/ref-venv/bin/python tests/ref/make_rainbow_ref.py [--out PATH] [--data SHARED/data]

Curves: the files in name order with at least 6 finite points (positive
errors) in each of g and R (ZTF r) and 16 in all, the first 30 that
light-curve fits (those it refuses are counted). Fluxes are microjansky,
10^(-0.4 (m - 23.9)), errors 0.4 ln(10) f sigma_m, as tessera converts
magnitudes. Wavelengths: g 4770 A, R 6231 A (light-curve's ZTF example
values, tessera's "ztf" preset). For each curve: light-curve's parameters
and errors, its reported reduced chi2 (its cost 0.5 chi2 + barrier, over
N - 9), the plain chi2 / (N - 9) recomputed here from its parameters with
RainbowFit.model, and the seconds its fit took (one thread)."""
import argparse, csv, json, os, sys, time
import numpy as np
import iminuit, scipy
import light_curve as lc

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ap = argparse.ArgumentParser()
ap.add_argument("--out", default=os.path.join(root, "tests", "data", "rainbow_ref.json"))
ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
ap.add_argument("--curves", type=int, default=30)
args = ap.parse_args()
data = os.path.join(args.data, "ztf-bts-snia", "light-curves")
WAVE = {"g": 4770.0, "R": 6231.0}
feature = lc.RainbowFit.from_angstrom(WAVE)

out = {"light_curve": lc.__version__, "iminuit": iminuit.__version__, "numpy": np.__version__,
       "scipy": scipy.__version__, "bands": list(WAVE), "wavelengths": list(WAVE.values()),
       "names": feature.names, "curves": [], "refused": []}
for f in sorted(os.listdir(data)):
    rows = list(csv.DictReader(open(os.path.join(data, f))))
    t = np.array([float(r["time"]) for r in rows])
    m = np.array([float(r["mag"]) for r in rows])
    e = np.array([float(r["magerr"]) for r in rows])
    b = np.array([r["band"] for r in rows])
    ok = np.isfinite(t) & np.isfinite(m) & np.isfinite(e) & (e > 0) & np.isin(b, list(WAVE))
    t, m, e, b = t[ok], m[ok], e[ok], b[ok]
    if min(np.sum(b == "g"), np.sum(b == "R")) < 6 or len(t) < 16:
        continue
    order = np.argsort(t, kind="stable")
    t, m, e, b = t[order], m[order], e[order], b[order]
    flux = 10 ** (-0.4 * (m - 23.9))
    ferr = 0.4 * np.log(10) * flux * e
    start = time.perf_counter()
    try:
        values, errors = feature.fit_and_get_errors(t, flux, ferr, b, sorted=True)
    except RuntimeError as err:
        out["refused"].append({"file": f, "why": str(err)})
        continue
    seconds = time.perf_counter() - start
    model = feature.model(t, b, *values[:-1])
    dof = len(t) - len(feature.names)
    chi2 = float(np.sum(((flux - model) / ferr) ** 2))
    out["curves"].append({
        "file": f, "t": t.tolist(), "m": m.tolist(), "e": e.tolist(),
        "band": [list(WAVE).index(x) for x in b],
        "params": values[:-1].tolist(), "errors": errors.tolist(),
        "reported_reduced_chi2": float(values[-1]), "reduced_chi2": chi2 / dof,
        "seconds": seconds,
    })
    if len(out["curves"]) == args.curves:
        break
with open(args.out, "w") as fh:
    json.dump(out, fh)
secs = [c["seconds"] for c in out["curves"]]
print(f"{len(out['curves'])} curves ({len(out['refused'])} refused) with light-curve {lc.__version__}, "
      f"iminuit {iminuit.__version__}: {1e3 * np.mean(secs):.1f} ms per fit (median {1e3 * np.median(secs):.1f})",
      file=sys.stderr)
