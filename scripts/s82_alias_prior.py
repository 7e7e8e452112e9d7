"""A period-shape prior for the alias choice (issue 16; results in docs/alias-log.md,
"Stage 7").

    python3 scripts/s82_alias_prior.py feats CACHE.pkl            # once per cache
    python3 scripts/s82_alias_prior.py tune CACHE.pkl HALF [FULL_CACHE.pkl]

The idea: an alias can fit the points as well as the true period, but it usually does
so with a light curve that no RR Lyrae has at that period (a sawtooth RRab shape at an
RRc period, a 0.997-day "period", an amplitude off the Bailey diagram). Every candidate
of tessera's refinement (CACHE from `s82_alias_templates.py cands`) gets the shape of
its 4-harmonic shared-shape fit (the same model and 0.02 mag floor) described as
x = (log10 P, log10 peak-to-peak, R21, cos phi21, sin phi21, R31, cos phi31, sin phi31)
(Simon & Lee 1981 Fourier parameters of the row's band; the g band's for the multiband
row). The prior p(x) is a Gaussian kernel density of the tuning half's stars at their
published periods (features standardised on them, Scott's bandwidth), mixed with a
broad Gaussian (weight EPS, 3 standard deviations) so that no shape is impossible.

Score of a candidate: chi2 / (chi2_min / dof) - 2 lam log p(x), i.e. the alias_margin
scale plus lam times minus twice the log prior (lam = 1 is the posterior), lowest wins;
lam = 0 is tessera's pick. Variants: `full` (x as above), `period` (log P only),
`shape` (x without log P). Variant and lam are chosen on the tuning half (most stars
right over g, r and multi rows' multiband count first, then the smallest lam); the tuning
half's own stars are scored leave-one-out (the density without the star itself), the
other half with the density of the whole tuning half. With FULL_CACHE (thinned light
curves in CACHE), the density comes from the full light curves' fits.
"""
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s82_alias_templates import MODES, arrays, design, right, shared_fit  # noqa: E402

K = 4
EPS = 0.05
LAMS = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
VARIANTS = {"full": slice(0, 8), "period": slice(0, 1), "shape": slice(1, 8)}


def describe(bands, mode, f):
    """Feature vector x of the fit at frequency f (see the module docstring)."""
    use = [mode] if mode != "multi" else sorted(bands)
    t, y, e, bd = arrays(bands, use)
    c, a = shared_fit(t, y, e, bd, f, K, iters=4)
    if mode == "multi":
        c = c * a[use.index("g")]
    xs = np.linspace(0, 1, 256, endpoint=False)
    v = design(xs, K) @ c
    amp = max(v.max() - v.min(), 1e-4)
    # y = sum a_k cos + b_k sin = sum A_k sin(2 pi k x + phi_k)
    ak, bk = c[0::2], c[1::2]
    A = np.hypot(ak, bk)
    ph = np.arctan2(ak, bk)
    r21, r31 = min(A[1] / A[0], 3.0), min(A[2] / A[0], 3.0)
    p21, p31 = ph[1] - 2 * ph[0], ph[2] - 3 * ph[0]
    return np.array([np.log10(1 / f), np.log10(amp), r21, np.cos(p21), np.sin(p21),
                     r31, np.cos(p31), np.sin(p31)])


def feats(cache):
    """Adds x to every candidate and x at the published period to every row."""
    data = pickle.load(open(cache, "rb"))
    for n, (sid, st) in enumerate(sorted(data.items())):
        for mode in MODES:
            md = st[mode]
            md["x_true"] = describe(st["bands"], mode, 1 / st["period"])
            for c in md["cands"]:
                c["x"] = describe(st["bands"], mode, c["f"])
        print(n, sid, file=sys.stderr, flush=True)
    pickle.dump(data, open(cache + ".x.pkl", "wb"))


class Density:
    """Gaussian KDE of rows of X (standardised), mixed with a broad Gaussian."""

    def __init__(self, X, ids):
        self.mu, self.sd = X.mean(0), X.std(0) + 1e-9
        self.Z = (X - self.mu) / self.sd
        self.ids = ids
        n, d = self.Z.shape
        self.h = n ** (-1.0 / (d + 4))
        self.d = d

    def logp(self, x, leave_out=None):
        z = (x - self.mu) / self.sd
        keep = np.array([i != leave_out for i in self.ids])
        Z = self.Z[keep]
        d2 = ((Z - z) ** 2).sum(1) / self.h**2
        lk = -0.5 * d2 - self.d * np.log(self.h) - 0.5 * self.d * np.log(2 * np.pi)
        kde = np.exp(lk - lk.max()).mean() * np.exp(lk.max())
        s = 3.0
        broad = np.exp(-0.5 * (z**2).sum() / s**2 - self.d * np.log(s)
                       - 0.5 * self.d * np.log(2 * np.pi))
        return np.log((1 - EPS) * kde + EPS * broad)


def pick(md, lam, logps):
    cf = np.array([c["chi2"] for c in md["cands"]])
    dof = md["n"] - (md["nb"] + 2 * K + (md["nb"] - 1))
    red = cf.min() / dof
    s = cf / red - 2 * lam * np.array(logps)
    return md["cands"][int(np.argmin(s))]["f"]


def scores(data, dens_data, tune_half, variant):
    """{(sid, mode): logp per candidate} with leave-one-out on the tuning half."""
    sl = VARIANTS[variant]
    out = {}
    for mode in MODES:
        ids = [s for s, st in dens_data.items() if st["half"] == tune_half]
        X = np.array([dens_data[s][mode]["x_true"][sl] for s in ids])
        dens = Density(X, ids)
        for sid, st in data.items():
            lo = sid if st["half"] == tune_half else None
            out[(sid, mode)] = [dens.logp(c["x"][sl], lo) for c in st[mode]["cands"]]
    return out


def tune(cache, half, full_cache=None):
    data = pickle.load(open(cache + ".x.pkl", "rb"))
    dens_data = pickle.load(open(full_cache + ".x.pkl", "rb")) if full_cache else data
    other = "B" if half == "A" else "A"
    rows = []
    for variant in VARIANTS:
        lp = scores(data, dens_data, half, variant)
        for lam in LAMS:
            res = {}
            for h in (half, other):
                sel = [(s, st) for s, st in data.items() if st["half"] == h]
                res[h] = {m: sum(right(pick(st[m], lam, lp[(s, m)]), st["period"])
                                 for s, st in sel) for m in MODES}
                res[h]["n"] = len(sel)
            rows.append((variant, lam, res))
    print(f"tuning half {half} (validation {other}); counts within 0.1%: g r multi")
    for variant, lam, res in rows:
        a, b = res[half], res[other]
        print(f"{variant:7s} lam {lam:5.2f}   tuning {a['g']:3d} {a['r']:3d} {a['multi']:3d}/{a['n']}"
              f"   validation {b['g']:3d} {b['r']:3d} {b['multi']:3d}/{b['n']}")
    best = max(rows, key=lambda r: (r[2][half]["multi"], r[2][half]["g"] + r[2][half]["r"],
                                    -r[1], r[0] == "full"))
    v, lam, res = best
    print(f"chosen on {half}: {v} lam {lam}: validation {other} "
          f"g {res[other]['g']} r {res[other]['r']} multi {res[other]['multi']}/{res[other]['n']}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "feats":
        feats(args[0])
    elif cmd == "tune":
        tune(*args)
    else:
        sys.exit(__doc__)
