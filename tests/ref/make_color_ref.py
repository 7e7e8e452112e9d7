"""Reference colour features from light-curve (ColorOfMaximum, ColorOfMedian,
ColorOfMinimum, ColorSpread) on 40 real SDSS Stripe 82 RR Lyrae (bands u g r
i z, consecutive pairs), written to tests/data/color_ref.json.

Run from the repository root with the shared data beside it:
    python tests/ref/make_color_ref.py
The test tests/lc_kernels/color.rs reads the same CSV files, computes the
colours with tessera's kernel and compares."""
import csv, json, os, sys
import numpy as np
import light_curve as lc

root = os.path.join(os.path.dirname(__file__), "..", "..")
data = os.path.join(root, "..", "shared", "data", "sdss-s82-rrlyrae", "light-curves")
bands = ["u", "g", "r", "i", "z"]
files = sorted(os.listdir(data))[:40]
out = {"light_curve": lc.__version__, "numpy": np.__version__, "bands": bands, "stars": []}
for f in files:
    rows = list(csv.DictReader(open(os.path.join(data, f))))
    t = np.array([float(r["time"]) for r in rows])
    m = np.array([float(r["mag"]) for r in rows])
    e = np.array([float(r["magerr"]) for r in rows])
    b = np.array([r["band"] for r in rows])
    ok = np.isfinite(t) & np.isfinite(m) & np.isfinite(e) & (e > 0)
    t, m, e, b = t[ok], m[ok], e[ok], b[ok]
    order = np.argsort(t, kind="stable")
    t, m, e, b = t[order], m[order], e[order], b[order]
    star = {"file": f, "pairs": [], "spread": None}
    for a, z in zip(bands[:-1], bands[1:]):
        vals = []
        for cls in (lc.ColorOfMaximum, lc.ColorOfMinimum, lc.ColorOfMedian):
            feat = cls(bands=[a, z])
            sel = (b == a) | (b == z)
            vals.append(float(feat(t[sel], m[sel], e[sel], band=b[sel])[0]))
        # tessera's column order: max, median, min
        star["pairs"].append([vals[0], vals[2], vals[1]])
    star["spread"] = float(lc.ColorSpread(bands=bands)(t, m, e, band=b)[0])
    out["stars"].append(star)
json.dump(out, open(os.path.join(root, "tests", "data", "color_ref.json"), "w"), indent=1)
print(f"{len(out['stars'])} stars written with light-curve {lc.__version__}", file=sys.stderr)
