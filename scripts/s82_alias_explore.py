"""Exploration behind tessera's alias resolution (issue 16): a numpy model of the
refinement's candidates on the SDSS Stripe 82 RR Lyrae, and scoring rules tried on
the tuning half only (see scripts/s82_split.py for the split and docs/alias-log.md for
the log of what was tried).

    python3 scripts/s82_alias_explore.py cache  [data_dir] [cache.pkl]   # ~5 min
    python3 scripts/s82_alias_explore.py score  cache.pkl HALF RULE...    # HALF: A or B

`cache` reproduces tessera's candidate list (cleaning: finite, err > 0, sorted, first of
duplicate times, astropy sigma_clip 3 sigma / 5 iterations per band; periodogram on
astropy's autofrequency grid, 0.2-2 d, 5 samples per peak; top 5 peaks 2 grid steps
apart; each peak and its aliases f +- n a, a in 1, 1.0027379, 1/365.25 c/d, n = 1, 2)
and, per candidate, the minimum over +-1.5 grid steps of the weighted chi-square of the
K-harmonic model (K = 1..6; shared shape with per-band offsets and scales for multi).
The multiband periodogram is approximated by the chi2-weighted sum of the per-band
GLS powers (astropy's ridge of 1e-6 is negligible for peak ranking).
"""
import csv
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from s82_split import half_of  # noqa: E402

ALIASES = [1.0, 1.0027379, 1.0 / 365.25]
FMIN, FMAX = 0.5, 5.0
KMAX = 6


def load(path):
    rows = list(csv.DictReader(open(path)))
    out = {}
    for r in rows:
        try:
            t, m, e = float(r["time"]), float(r["mag"]), float(r["magerr"])
        except ValueError:
            continue
        if not (np.isfinite(t) and np.isfinite(m) and np.isfinite(e)) or e <= 0:
            continue
        out.setdefault(r["band"], []).append((t, m, e))
    from astropy.stats import sigma_clip

    bands = {}
    for b, pts in out.items():
        pts.sort(key=lambda p: p[0])
        keep, last = [], None
        for p in pts:
            if p[0] != last:
                keep.append(p)
            last = p[0]
        a = np.array(keep)
        mask = sigma_clip(a[:, 1], sigma=3, maxiters=5).mask
        bands[b] = a[~np.asarray(mask, bool)]
    return bands


def grid(t):
    from astropy.timeseries import LombScargle

    f = LombScargle(t, np.ones_like(t)).autofrequency(
        samples_per_peak=5, nyquist_factor=5, minimum_frequency=FMIN, maximum_frequency=FMAX
    )
    return f


def power(t, y, dy, band, f):
    from astropy.timeseries import LombScargle

    tot = np.zeros_like(f)
    ref = 0.0
    for b in np.unique(band):
        k = band == b
        w = 1 / dy[k] ** 2
        yb = y[k] - np.sum(w * y[k]) / np.sum(w)
        c = np.sum(w * yb * yb)
        p = LombScargle(t[k], y[k], dy[k]).power(f, method="fast")
        tot += c * p
        ref += c
    return tot / ref


def top_peaks(f, p, k=5, sep=2):
    df = f[1] - f[0]
    i = np.arange(1, len(p) - 1)
    mx = i[(p[i] > p[i - 1]) & (p[i] >= p[i + 1])]
    mx = mx[np.argsort(-p[mx], kind="stable")]
    kept = []
    for j in mx:
        if all(abs(f[j] - f[q]) >= sep * df for q in kept):
            kept.append(j)
        if len(kept) == k:
            break
    return [f[j] for j in kept], [p[j] for j in kept]


def chi2_scan(t, y, dy, band, freqs, K, scale_iters=4, resid=False):
    """Weighted chi2 of the K-harmonic model at each of `freqs` (vectorised); with
    `resid`, also the normalised residuals (F, N)."""
    w = 1 / dy**2
    bands = np.unique(band)
    B = len(bands)
    onehot = (band[None, :] == bands[:, None]).astype(float)  # (B, N)
    tr = t - t.mean()
    x = 2 * np.pi * freqs[:, None] * tr[None, :]  # (F, N)
    cols = []
    for k in range(1, K + 1):
        cols += [np.cos(k * x), np.sin(k * x)]
    X = np.stack(cols, axis=2)  # (F, N, 2K)
    F, N = x.shape
    a = np.ones((F, B))
    rounds = scale_iters if B > 1 else 1
    for rnd in range(rounds):
        apt = a @ onehot  # (F, N)
        D = np.concatenate([np.broadcast_to(onehot.T, (F, N, B)), X * apt[:, :, None]], axis=2)
        Dw = D * w[None, :, None]
        G = np.matmul(Dw.transpose(0, 2, 1), D)
        r = np.einsum("fni,n->fi", Dw, y)
        P = G.shape[1]
        G = G + 1e-12 * np.trace(G, axis1=1, axis2=2)[:, None, None] / P * np.eye(P)
        th = np.linalg.solve(G, r[:, :, None])[:, :, 0]
        res = y[None, :] - np.einsum("fnp,fp->fn", D, th)
        chi2 = np.sum(w * res**2, axis=1)
        if rnd + 1 == rounds:
            if resid:
                return chi2, res / dy[None, :]
            break
        s = np.einsum("fnk,fk->fn", X, th[:, B:])  # shape values
        for bi in range(B):
            k = band == bands[bi]
            wb, sb, yb = w[k], s[:, k], y[k]
            s0, s1, s2 = wb.sum(), (wb * sb).sum(1), (wb * sb * sb).sum(1)
            y0, y1 = (wb * yb).sum(), (wb * sb * yb).sum(1)
            det = s0 * s2 - s1 * s1
            ok = det > 1e-12 * s0 * np.maximum(s2, 1e-300)
            a[ok, bi] = ((s0 * y1 - s1 * y0) / np.where(ok, det, 1))[ok]
    return chi2


def cache(root, out):
    per = {r["id"]: float(r["period_days"]) for r in csv.DictReader(open(os.path.join(root, "periods.csv")))}
    data = {}
    for n, sid in enumerate(sorted(per)):
        bands = load(os.path.join(root, "light-curves", sid + ".csv"))
        star = {"period": per[sid], "half": half_of(sid)}
        for mode in ["g", "r", "multi"]:
            use = ["g"] if mode == "g" else ["r"] if mode == "r" else sorted(bands)
            t = np.concatenate([bands[b][:, 0] for b in use])
            y = np.concatenate([bands[b][:, 1] for b in use])
            dy = np.concatenate([bands[b][:, 2] for b in use])
            bd = np.concatenate([np.full(len(bands[b]), i) for i, b in enumerate(use)])
            o = np.argsort(t, kind="stable")
            t, y, dy, bd = t[o], y[o], dy[o], bd[o]
            f = grid(t)
            df = f[1] - f[0]
            p = power(t, y, dy, bd, f)
            pf, pp = top_peaks(f, p)
            cands = []
            for pi, f0 in enumerate(pf):
                offs = [0.0] + [s * m * a for a in ALIASES for m in (1, 2) for s in (1, -1)]
                for off in offs:
                    fc = f0 + off
                    if fc < f[0] or fc > f[-1]:
                        continue
                    # K = 4 locates the minimum on 9 points over +-1.5 grid steps; every K
                    # then takes its lowest of that point and a quarter step either side
                    fs = fc + df * np.linspace(-1.5, 1.5, 9)
                    j = int(np.argmin(chi2_scan(t, y, dy, bd, fs, 4)))
                    near = fs[j] + df * np.array([-0.1875, 0.0, 0.1875])
                    c = {"peak": pi, "offset": off, "power": pp[pi], "chi2": [], "freq": [],
                         "trunc": [], "indep": []}
                    for K in range(1, KMAX + 1):
                        ch, rs = chi2_scan(t, y, dy, bd, near, K, resid=True)
                        q = int(np.argmin(ch))
                        c["chi2"].append(ch[q])
                        c["freq"].append(near[q])
                        # truncated chi2 (residuals capped at 2, 3, 4, 5 sigma)
                        c["trunc"].append([np.sum(np.minimum(rs[q] ** 2, cc * cc)) for cc in (2, 3, 4, 5)])
                        if len(use) > 1:
                            # independent shapes per band (no shared shape)
                            c["indep"].append(sum(
                                chi2_scan(t[bd == i], y[bd == i], dy[bd == i], bd[bd == i],
                                          near[q:q + 1], K)[0] for i in range(len(use))))
                    cands.append(c)
            star[mode] = {"n": len(t), "nbands": len(use), "cands": cands, "df": df}
        data[sid] = star
        print(n, sid, flush=True, file=sys.stderr)
    pickle.dump(data, open(out, "wb"))


if __name__ == "__main__":
    if sys.argv[1] == "cache":
        cache(sys.argv[2] if len(sys.argv) > 2 else "../shared/data/sdss-s82-rrlyrae",
              sys.argv[3] if len(sys.argv) > 3 else "target/s82/alias-cache.pkl")


def pick(mode_data, rule):
    """(winning candidate, margin) under `rule`, a dict:
    score: 'chi2' (fixed K), 'bic' (raw chi2 + pen * 2K ln N, K by the same criterion),
           'nbic' (N ln(chi2 / N) + pen * 2K ln N: the noise scale fitted too),
    K (fixed K for 'chi2'), kmax, pen, order (alias order 1 or 2), trunc (None or index),
    plain (bonus subtracted from the plain peak's score), indep (use per-band shapes)."""
    n = mode_data["n"]
    ln = np.log(n)
    best = []
    for c in mode_data["cands"]:
        off = abs(c["offset"])
        if rule.get("order", 1) == 1 and off > 0 and min(abs(off - a) for a in ALIASES) > 1e-9:
            continue
        if rule.get("top", 5) <= c["peak"]:
            continue
        ch = c["chi2"]
        if rule.get("trunc") is not None:
            ch = [tr[rule["trunc"]] for tr in c["trunc"]]
        if rule.get("indep") and c["indep"]:
            ch = c["indep"]
        s = rule.get("score", "chi2")
        if s == "chi2":
            K = rule.get("K", 4)
            sc, kk = ch[K - 1], K
        else:
            vals = []
            for K in range(1, rule.get("kmax", KMAX) + 1):
                base = ch[K - 1] if s == "bic" else n * np.log(max(ch[K - 1], 1e-300) / n)
                vals.append((base + rule.get("pen", 1.0) * 2 * K * ln, K))
            sc, kk = min(vals)
        if c["peak"] == 0 and c["offset"] == 0.0:
            sc -= rule.get("plain", 0.0)
        best.append((sc, c["freq"][kk - 1], c))
    best.sort(key=lambda x: x[0])
    w = best[0]
    tol = 2 * mode_data["df"]
    comp = [b for b in best[1:] if abs(b[1] - w[1]) > tol]
    margin = comp[0][0] - w[0] if comp else np.inf
    return w[1], margin


def evaluate(data, half, rule, modes=("g", "r", "multi")):
    out = {}
    for m in modes:
        ok, tot, margins = 0, 0, []
        for sid, st in data.items():
            if half != "all" and st["half"] != half:
                continue
            f, mg = pick(st[m], rule)
            good = abs(1 / f / st["period"] - 1) < 1e-3
            ok += good
            tot += 1
            margins.append((mg, good))
        out[m] = (ok, tot, margins)
    return out


def plain_fraction(data, half, modes=("g", "r", "multi")):
    out = {}
    for m in modes:
        sel = [st for st in data.values() if half == "all" or st["half"] == half]
        ok = 0
        for st in sel:
            c0 = [c for c in st[m]["cands"] if c["peak"] == 0 and c["offset"] == 0.0][0]
            ok += abs(1 / c0["freq"][3] / st["period"] - 1) < 1e-3
        out[m] = (ok, len(sel))
    return out
