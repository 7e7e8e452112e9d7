"""alias margin (chi2 of the best distinct competitor minus the winner, raw and over the reduced chi2) against right/wrong on one half.
    python3 scripts/s82_alias_margin.py A|B FLOOR"""
import sys, pickle
import numpy as np
half = sys.argv[1]; floor = float(sys.argv[2])
cache = pickle.load(open('target/s82/alias-cache.pkl', 'rb'))
fl = pickle.load(open(f'target/s82/floor-{half}.pkl', 'rb'))
for m in ['g', 'r', 'multi']:
    rows = []
    for sid, d in fl.items():
        md = d[m]; sc = md['tab'][floor][3]; o = np.argsort(sc)
        f = md['freqs'][o[0]]; good = abs(1 / f / cache[sid]['period'] - 1) < 1e-3
        nb = 5 if m == 'multi' else 1
        red = sc[o[0]] / (md['n'] - nb - 8)
        mg = sc[o[1]] - sc[o[0]]
        rows.append((mg, mg / red, good, sid, red))
        if not good: print(m, sid, f"margin {mg:.1f} scaled {mg/red:.1f} redchi2 {red:.2f}")
    for key, name in [(0, 'dchi2'), (1, 'scaled')]:
        for thr in [2, 5, 10, 20, 50]:
            hi = [r for r in rows if r[key] >= thr]; lo = [r for r in rows if r[key] < thr]
            fr = lambda L: f"{sum(r[2] for r in L)}/{len(L)}"
            print(f"  {m} {name} >= {thr}: correct {fr(hi)}   < {thr}: correct {fr(lo)}")
    print(f"  {m} median reduced chi2 {np.median([r[4] for r in rows]):.2f}")
