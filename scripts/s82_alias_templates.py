"""RR Lyrae template scores for tessera's own alias candidates (issue 16; the results
are in docs/alias-log.md, "Stage 3").

    python3 scripts/s82_alias_templates.py thin DATA_DIR OUT_DIR KEEP [SALT]
    python3 scripts/s82_alias_templates.py cands FEATURES.csv CACHE.pkl [DATA_DIR [MAX_PERIOD]]
    python3 scripts/s82_alias_templates.py tunecv CACHE.pkl HALF [FULL_CACHE.pkl]
    python3 scripts/s82_alias_templates.py report CACHE.pkl HALF "RULE" ...
    python3 scripts/s82_alias_templates.py tune CACHE.pkl HALF [FULL_CACHE.pkl]  # superseded

`thin`: a copy of the data keeping a random fraction KEEP of each star's nights (the
harder proxy set of the log).

`cands`: for every star and the g, r and multiband rows, the candidates tessera's
refinement considers (its top-5 peaks from FEATURES.csv, a features CSV exported from
`tessera lightcurves --min-period 0.2 --max-period 2 --set top_k=5`, and their aliases
+-1, +-1.0027379, +-1/365.25 c/d inside 0.2-2 d), each minimised over +-1.5 grid steps
(25 points and a parabola) of tessera's discriminant: the 4-harmonic shared-shape
chi-square with per-band offsets and scales and the 0.02 mag error floor. The cleaned
points come from scripts/s82_alias_explore.load (tessera's cleaning). Picking the lowest
chi2 reproduces tessera's `period_refined` for 725 of the 726 rows.

Templates: each star of a half, fitted at its published period with 6 harmonics (shared
shape, all bands, the same floor), scaled to unit g peak-to-peak and rotated so that
maximum light is at phase 0; sets: k-means of these shapes (k1, k4, k16), the mean ab and
c shapes (type), and every shape (all). A candidate's template chi2 is the best over the
templates and 64 phases of y = m_b + a_b T(f t + phi) with a_b >= 0 (per band).

`tunecv` (HALF = the tuning half): the tuning half's stars are scored with templates
built on the other fold of that half (fold_of: second byte of the SHA-256 of the id), so
that no star meets its own shape; the other half with templates from the whole tuning
half. Prints every rule on the tuning half. FULL_CACHE: the cache of the full light
curves, whose shapes make the templates when CACHE holds thinned light curves. `report`
prints rules on both halves from that cache. `tune`: the first, in-sample version
(tuning stars scored with templates that include their own shape).

Rules (`pick`): ('fourier',) tessera's pick; ('tmpl', set) lowest template chi2;
('mix', set, lam) lowest (1 - lam) chi2_F + lam chi2_T; ('final', set, D) lowest
template chi2 among candidates whose Fourier chi2 is within D reduced-chi2 units of the
best (the scale of `alias_margin`); a 4th element G keeps the Fourier pick when the
templates fit its frequency worse than G times the Fourier chi2.
"""
import csv
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s82_alias_explore import chi2_scan, load  # noqa: E402
from s82_split import half_of  # noqa: E402

ALIASES = [1.0, 1.0027379, 1.0 / 365.25]
FLOOR = 0.02
MODES = ["g", "r", "multi"]


def thin(root, out, keep, salt):
    """Copy of the data set keeping a random fraction `keep` of each star's nights (every
    band of a kept night), seeded by the SHA-256 of `salt` + the file name."""
    import hashlib
    import shutil

    os.makedirs(os.path.join(out, "light-curves"), exist_ok=True)
    shutil.copy(os.path.join(root, "periods.csv"), os.path.join(out, "periods.csv"))
    for fn in sorted(os.listdir(os.path.join(root, "light-curves"))):
        rows = []
        for r in csv.DictReader(open(os.path.join(root, "light-curves", fn))):
            try:
                rows.append((int(float(r["time"])), r))
            except ValueError:
                pass
        nights = np.array(sorted({n for n, _ in rows}))
        seed = int(hashlib.sha256((salt + fn).encode()).hexdigest()[:8], 16)
        kept = set(nights[np.random.default_rng(seed).random(len(nights)) < keep].tolist())
        with open(os.path.join(out, "light-curves", fn), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["time", "mag", "magerr", "band"])
            w.writeheader()
            for n, r in rows:
                if n in kept:
                    w.writerow(r)


def arrays(bands, use):
    t = np.concatenate([bands[b][:, 0] for b in use])
    y = np.concatenate([bands[b][:, 1] for b in use])
    dy = np.concatenate([bands[b][:, 2] for b in use])
    bd = np.concatenate([np.full(len(bands[b]), i) for i, b in enumerate(use)])
    o = np.argsort(t, kind="stable")
    return t[o], y[o], np.sqrt(dy[o] ** 2 + FLOOR**2), bd[o]


def polish(t, y, e, bd, fc, df):
    fs = fc + df * np.linspace(-1.5, 1.5, 25)
    ch = chi2_scan(t, y, e, bd, fs, 4)
    j = int(np.argmin(ch))
    if 0 < j < len(fs) - 1:
        a, b, c = ch[j - 1], ch[j], ch[j + 1]
        den = a - 2 * b + c
        if den > 0:
            x = fs[j] + 0.5 * (a - c) / den * (fs[1] - fs[0])
            cx = chi2_scan(t, y, e, bd, np.array([x]), 4)[0]
            if cx < b:
                return x, cx
    return fs[j], ch[j]


def cands(features, out, root, max_period=2.0):
    per = {r["id"]: r for r in csv.DictReader(open(os.path.join(root, "periods.csv")))}
    feats = {(r["object_id"], r["band"]): r for r in csv.DictReader(open(features))}
    data = {}
    for n, sid in enumerate(sorted(per)):
        bands = load(os.path.join(root, "light-curves", sid + ".csv"))
        star = {"period": float(per[sid]["period_days"]), "type": per[sid]["type"],
                "half": half_of(sid), "bands": bands}
        for mode in MODES:
            use = [mode] if mode != "multi" else sorted(bands)
            t, y, e, bd = arrays(bands, use)
            row = feats[(sid, mode)]
            peaks = [1 / float(row[f"peak{k}_period"]) for k in range(1, 6)
                     if row.get(f"peak{k}_period") not in (None, "", "nan", "NaN")]
            df = 1 / (5 * (t[-1] - t[0]))
            fmin, fmax = 1 / max_period, 5.0  # 0.2-2 d: the `make s82` range
            cl = []
            for pi, f0 in enumerate(peaks):
                for off in [0.0] + [s * a for a in ALIASES for s in (1, -1)]:
                    fc = f0 + off
                    if fc < fmin or fc > fmax:
                        continue
                    f, c = polish(t, y, e, bd, fc, df)
                    cl.append({"peak": pi, "offset": off, "f": f, "chi2": c})
            star[mode] = {"df": df, "n": len(t), "nb": len(use), "cands": cl,
                          "tess_refined": float(row["period_refined"]),
                          "tess_plain": float(row["period"]),
                          "tess_margin": float(row["alias_margin"])}
        data[sid] = star
        print(n, sid, flush=True, file=sys.stderr)
    pickle.dump(data, open(out, "wb"))


def design(x, K):
    """(N, 2K) columns cos(2 pi k x), sin(2 pi k x), k = 1..K."""
    a = 2 * np.pi * np.outer(x, np.arange(1, K + 1))
    h = np.empty((len(x), 2 * K))
    h[:, 0::2], h[:, 1::2] = np.cos(a), np.sin(a)
    return h


def shared_fit(t, y, e, bd, f, K, iters=8):
    """Shared-shape fit y = m_b + a_b s(f t): (shape coefficients, scales per band)."""
    w = 1 / e**2
    H = design(f * t, K)
    nb = bd.max() + 1
    a = np.ones(nb)
    for _ in range(iters):
        D = np.concatenate([(bd[:, None] == np.arange(nb)).astype(float), H * a[bd][:, None]], 1)
        th = np.linalg.lstsq(D * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
        s = H @ th[nb:]
        for b in range(nb):
            k = bd == b
            A = np.stack([np.ones(k.sum()), s[k]], 1) * np.sqrt(w[k])[:, None]
            a[b] = np.linalg.lstsq(A, y[k] * np.sqrt(w[k]), rcond=None)[0][1]
    return th[nb:], a


def rotate(c, phi):
    """Coefficients of s(x + phi) from those of s(x) (phi in cycles)."""
    K = len(c) // 2
    k = np.arange(1, K + 1)
    cs, sn = np.cos(2 * np.pi * k * phi), np.sin(2 * np.pi * k * phi)
    A, B = c[0::2], c[1::2]
    out = np.empty_like(c)
    out[0::2], out[1::2] = A * cs + B * sn, B * cs - A * sn
    return out


def normalised_shape(star, K=6):
    """The star's shape at its published period (all bands, shared shape), scaled to a
    unit peak-to-peak of the g band and rotated so that maximum light (least mag) is at
    phase 0."""
    bands = star["bands"]
    use = sorted(bands)
    t, y, e, bd = arrays(bands, use)
    c, a = shared_fit(t, y, e, bd, 1 / star["period"], K)
    c = c * a[use.index("g")]
    xs = np.linspace(0, 1, 400, endpoint=False)
    v = design(xs, K) @ c
    c = c / (v.max() - v.min())
    return rotate(c, xs[np.argmin(v)])


def kmeans(X, k, seed=0, iters=100):
    rng = np.random.default_rng(seed)
    C = X[rng.choice(len(X), k, replace=False)]
    for _ in range(iters):
        lab = np.argmin(((X[:, None] - C[None]) ** 2).sum(2), 1)
        C2 = np.array([X[lab == j].mean(0) if np.any(lab == j) else C[j] for j in range(k)])
        if np.allclose(C2, C):
            break
        C = C2
    return C


NPHI = 64


def template_chi2(t, y, e, bd, f, temps, nb, rot=None):
    """Best chi2 over templates and NPHI phases of y = m_b + a_b T(f t + phi), a_b >= 0,
    with (template index, phase). Per band the weighted Gram matrix of the harmonics
    gives every (template, phase) in O(K^2): stt = c'Gc - (h'c)^2 / S, sty = r'c."""
    w = 1 / e**2
    K = temps.shape[1] // 2
    H = design(f * (t - t[0]), K)  # (N, 2K)
    if rot is None:
        rot = rotations(temps)
    chi = np.zeros(rot.shape[0])
    for b in range(nb):
        k = bd == b
        if not np.any(k):
            continue
        wb, Hb = w[k], H[k]
        yc = y[k] - np.sum(wb * y[k]) / wb.sum()
        G = Hb.T @ (Hb * wb[:, None])
        h = Hb.T @ wb
        r = Hb.T @ (wb * yc)
        stt = np.einsum("qi,ij,qj->q", rot, G, rot) - (rot @ h) ** 2 / wb.sum()
        sty = rot @ r
        gain = np.where(sty > 0, sty * sty / np.maximum(stt, 1e-300), 0.0)
        chi += np.sum(wb * yc * yc) - gain
    q = int(np.argmin(chi))
    return chi[q], q // NPHI, (q % NPHI) / NPHI


def rotations(temps):
    """(M * NPHI, 2K) coefficients of every template at every phase offset."""
    phis = np.arange(NPHI) / NPHI
    return np.concatenate([np.stack([rotate(c, p) for p in phis]) for c in temps])


def score_cands(data, temps, label):
    """Adds the template chi2 of every candidate (key label)."""
    rot = rotations(temps)
    for sid, st in data.items():
        for mode in MODES:
            use = [mode] if mode != "multi" else sorted(st["bands"])
            t, y, e, bd = arrays(st["bands"], use)
            for c in st[mode]["cands"]:
                c[label] = template_chi2(t, y, e, bd, c["f"], temps, len(use), rot)[0]


def attach(data, scored):
    """Copies cached template scores onto the candidates."""
    for sid, st in data.items():
        for m in MODES:
            for c, s in zip(st[m]["cands"], scored[sid][m]):
                c.update(s)


def right(f, period):
    return abs(1 / f / period - 1) < 1e-3


def pick(md, rule):
    """Frequency chosen under `rule` (a tuple) among the candidates of one row."""
    cs = md["cands"]
    cf = np.array([c["chi2"] for c in cs])
    kind = rule[0]
    if kind == "fourier":
        return cs[int(np.argmin(cf))]["f"]
    if kind == "plain":
        return [c for c in cs if c["peak"] == 0 and c["offset"] == 0.0][0]["f"]
    ct = np.array([c[rule[1]] for c in cs])
    ib = int(np.argmin(cf))
    dof = md["n"] - (md["nb"] + 8 + (md["nb"] - 1))
    red = cf[ib] / dof
    gate = rule[3] if len(rule) > 3 else np.inf
    if ct[ib] / cf[ib] > gate:  # the templates fit badly: keep the Fourier pick
        return cs[ib]["f"]
    if kind == "tmpl":
        return cs[int(np.argmin(ct))]["f"]
    if kind == "mix":
        lam = rule[2]
        return cs[int(np.argmin((1 - lam) * cf + lam * ct))]["f"]
    if kind == "final":
        ok = (cf - cf[ib]) / red <= rule[2]
        return cs[int(np.argmin(np.where(ok, ct, np.inf)))]["f"]
    raise ValueError(rule)


def counts(data, half, rule):
    out = []
    for mode in MODES:
        sel = [st for st in data.values() if st["half"] == half]
        ok = sum(right(pick(st[mode], rule), st["period"]) for st in sel)
        out.append(f"{mode} {ok}/{len(sel)}")
    return "  ".join(out)


def build_templates(data, half):
    """Template sets from the shapes of the stars of `half` (full light curves)."""
    shapes = {sid: normalised_shape(st) for sid, st in data.items() if st["half"] == half}
    X = np.array(list(shapes.values()))
    types = [data[s]["type"] for s in shapes]
    sets = {f"k{k}": kmeans(X, k) for k in (1, 4, 16)}
    sets["type"] = np.array([X[[ty == "ab" for ty in types]].mean(0),
                             X[[ty == "c" for ty in types]].mean(0)])
    sets["all"] = X
    return sets


def fold_of(sid):
    """Fold 0 or 1 inside a half (second byte of the SHA-256 of the id): the tuning
    half's own scores come from templates built on its other fold (cross-validated), so
    that no star is scored with templates that contain its own shape."""
    import hashlib

    return hashlib.sha256(sid.encode()).digest()[1] % 2


def tune_cv(cache, half, shapes_from=None):
    """Like `tune`, with the tuning half's scores cross-validated (see fold_of); the
    other half is scored with templates from the whole tuning half."""
    data = pickle.load(open(cache, "rb"))
    full = pickle.load(open(shapes_from, "rb")) if shapes_from else data
    tcache = cache + f".cv{half}.pkl"
    if os.path.exists(tcache):
        scored = pickle.load(open(tcache, "rb"))
    else:
        scored = {sid: {m: [{} for _ in st[m]["cands"]] for m in MODES} for sid, st in data.items()}
        groups = [({s for s, st in full.items() if st["half"] == half and fold_of(s) == k},
                   {s for s, st in data.items() if st["half"] == half and fold_of(s) != k})
                  for k in (0, 1)]
        groups.append(({s for s, st in full.items() if st["half"] == half},
                       {s for s, st in data.items() if st["half"] != half}))
        for build, score in groups:
            sub = {s: full[s] for s in build}
            for s in sub:
                sub[s] = dict(sub[s], half="T")
            sets = build_templates(sub, "T")
            part = {s: data[s] for s in score}
            for name, temps in sets.items():
                score_cands(part, temps, name)
            for s in score:
                for m in MODES:
                    for c, out in zip(data[s][m]["cands"], scored[s][m]):
                        out.update({k: c[k] for k in sets})
            print("scored a group", file=sys.stderr, flush=True)
        pickle.dump(scored, open(tcache, "wb"))
    attach(data, scored)
    rules = [("plain",), ("fourier",)]
    for name in ["k1", "k4", "k16", "type", "all"]:
        rules.append(("tmpl", name))
        for lam in (0.25, 0.5, 0.75):
            rules.append(("mix", name, lam))
        for d in (10, 30, 100):
            rules.append(("final", name, d))
    for rule in rules:
        print(f"tune {half} (cv)  {str(rule):28s} {counts(data, half, rule)}")
    return data, rules


def tune(cache, half, shapes_from=None):
    data = pickle.load(open(cache, "rb"))
    full = pickle.load(open(shapes_from, "rb")) if shapes_from else data
    other = "B" if half == "A" else "A"
    # sanity: the Fourier rule reproduces tessera's refined period
    agree = sum(abs(1 / pick(st[m], ("fourier",)) / st[m]["tess_refined"] - 1) < 1e-4
                for st in data.values() for m in MODES)
    print(f"fourier pick agrees with tessera's period_refined: {agree}/{3 * len(data)}")
    sets = build_templates(full, half)
    tcache = cache + f".tmpl{half}.pkl"
    if os.path.exists(tcache):
        attach(data, pickle.load(open(tcache, "rb")))
    else:
        for name, temps in sets.items():
            score_cands(data, temps, name)
            print("scored", name, file=sys.stderr, flush=True)
        pickle.dump({sid: {m: [{k: c[k] for k in sets} for c in st[m]["cands"]] for m in MODES}
                     for sid, st in data.items()}, open(tcache, "wb"))
    rules = [("plain",), ("fourier",)]
    for name in sets:
        rules.append(("tmpl", name))
        for lam in (0.25, 0.5, 0.75):
            rules.append(("mix", name, lam))
        for d in (10, 30, 100):
            rules.append(("final", name, d))
        for g in (1.5, 2.0, 3.0):
            rules.append(("tmpl", name, None, g))
            rules.append(("final", name, 30, g))
    for rule in rules:
        print(f"tune {half}  {str(rule):32s} {counts(data, half, rule)}")
    return data, rules


def report(cache, thalf, rules):
    """Counts of `rules` on both halves, templates built from half `thalf` (the scores
    cached by `tunecv CACHE thalf`)."""
    data = pickle.load(open(cache, "rb"))
    # the cross-validated scores of `tunecv` (the tuning half scored out of fold)
    scored = pickle.load(open(cache + f".cv{thalf}.pkl", "rb"))
    attach(data, scored)
    for rule in rules:
        for half in "AB":
            tag = "tuning" if half == thalf else "validation"
            print(f"templates {thalf}  {half} ({tag:10s})  {str(rule):28s} "
                  f"{counts(data, half, rule)}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "cands":
        cands(args[0], args[1], args[2] if len(args) > 2 else "../shared/data/sdss-s82-rrlyrae",
              float(args[3]) if len(args) > 3 else 2.0)
    elif cmd == "thin":
        thin(args[0], args[1], float(args[2]), args[3] if len(args) > 3 else "")
    elif cmd == "tunecv":
        tune_cv(args[0], args[1], args[2] if len(args) > 2 else None)
    elif cmd == "tune":
        tune(args[0], args[1], args[2] if len(args) > 2 else None)
    elif cmd == "report":
        report(args[0], args[1], [eval(r) for r in args[2:]])
