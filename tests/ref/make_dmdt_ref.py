"""Reference dm-dt maps from light-curve's own DmDt (points and gausses, with
every normalisation) on real curves: 3 SDSS Stripe 82 RR Lyrae (band g) and
3 ZTF BTS SN Ia (band g), written with their inputs to
tests/data/dmdt_ref.json (read by tests/lc_kernels/dmdt.rs).

Run from the repository root with the shared data beside it:
    python tests/ref/make_dmdt_ref.py [--out PATH] [--data SHARED/data]
Inputs: finite points with positive errors of one band, sorted by time
(stable); float64 throughout, so light-curve uses its f64 grid and libm erf."""
import argparse, csv, json, os, sys
import numpy as np
import light_curve as lc

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ap = argparse.ArgumentParser()
ap.add_argument("--out", default=os.path.join(root, "tests", "data", "dmdt_ref.json"))
ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"),
                help="the shared data directory (default: ../shared/data beside the repository)")
ap.add_argument("--time", action="store_true",
                help="only print light-curve's time per map on the committed curves")
args = ap.parse_args()
if args.time:
    import time
    ref = json.load(open(args.out))
    for mode in ("points", "gausses"):
        total = 0.0
        for c in ref["curves"]:
            t, m, e = (np.array(c[k]) for k in ("t", "m", "e"))
            d = lc.DmDt.from_borders(**c["grid"], n_jobs=1)
            run = (lambda: d.points(t, m, sorted=True)) if mode == "points" else (lambda: d.gausses(t, m, e, sorted=True))
            run()
            start = time.perf_counter()
            for _ in range(2000):
                run()
            total += (time.perf_counter() - start) / 2000
        print(f"light-curve {lc.__version__} DmDt.{mode}: {1e6 * total / len(ref['curves']):.2f} us per map")
    sys.exit(0)
shared = args.data

SETS = [
    # (directory, files, band, from_borders arguments)
    ("sdss-s82-rrlyrae", 3, "g", dict(min_lgdt=0.0, max_lgdt=3.5, max_abs_dm=1.5, lgdt_size=12, dm_size=16)),
    ("ztf-bts-snia", 3, "g", dict(min_lgdt=-1.0, max_lgdt=2.5, max_abs_dm=2.0, lgdt_size=10, dm_size=14)),
]
NORMS = [[], ["dt"], ["max"], ["dt", "max"]]


def read(path, band):
    rows = [r for r in csv.DictReader(open(path)) if r["band"] == band]
    t = np.array([float(r["time"]) for r in rows])
    m = np.array([float(r["mag"]) for r in rows])
    e = np.array([float(r["magerr"]) for r in rows])
    ok = np.isfinite(t) & np.isfinite(m) & np.isfinite(e) & (e > 0)
    t, m, e = t[ok], m[ok], e[ok]
    order = np.argsort(t, kind="stable")
    return t[order], m[order], e[order]


out = {"light_curve": lc.__version__, "numpy": np.__version__, "curves": []}
for directory, count, band, grid in SETS:
    data = os.path.join(shared, directory, "light-curves")
    files = sorted(os.listdir(data))
    picked = 0
    for f in files:
        t, m, e = read(os.path.join(data, f), band)
        if len(t) < 20:
            continue
        curve = {"file": f"{directory}/{f}", "band": band, "grid": grid,
                 "t": t.tolist(), "m": m.tolist(), "e": e.tolist(), "maps": []}
        for mode in ("points", "gausses"):
            for norm in NORMS:
                d = lc.DmDt.from_borders(**grid, norm=norm, n_jobs=1)
                v = d.points(t, m, sorted=True) if mode == "points" else d.gausses(t, m, e, sorted=True)
                assert v.dtype == np.float64 and v.shape == (grid["lgdt_size"], grid["dm_size"])
                curve["maps"].append({"mode": mode, "norm": norm, "values": v.ravel().tolist()})
        curve["lgdt_edges"] = np.log10(d.dt_grid).tolist()
        curve["dm_edges"] = d.dm_grid.tolist()
        out["curves"].append(curve)
        picked += 1
        if picked == count:
            break
with open(args.out, "w") as fh:
    json.dump(out, fh)
print(f"{len(out['curves'])} curves, {sum(len(c['maps']) for c in out['curves'])} maps "
      f"written with light-curve {lc.__version__}", file=sys.stderr)
