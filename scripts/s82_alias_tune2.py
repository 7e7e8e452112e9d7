"""Stage 2 (docs/alias-log.md): error floor / ML jitter / K on one half (needs s82_alias_floor.py HALF first).
    python3 scripts/s82_alias_tune2.py A|B"""
import sys, pickle
import numpy as np
half = sys.argv[1]
cache = pickle.load(open('target/s82/alias-cache.pkl', 'rb'))
fl = pickle.load(open(f'target/s82/floor-{half}.pkl', 'rb'))
def run(score, label):
    res = []
    for m in ['g', 'r', 'multi']:
        ok = 0
        for sid, d in fl.items():
            md = d[m]; sc = score(md)
            f = md['freqs'][int(np.argmin(sc))]
            ok += abs(1 / f / cache[sid]['period'] - 1) < 1e-3
        res.append(f"{m} {ok}/{len(fl)}")
    print(f"{label:45s}", "  ".join(res))
for floor in [0.0, 0.01, 0.02, 0.03, 0.05]:
    for K in [2, 3, 4, 5, 6]:
        run(lambda md: md['tab'][floor][K - 1], f"floor {floor} K {K}")
    for pen in [1.0]:
        run(lambda md: np.min(md['tab'][floor] + pen * 2 * np.arange(1, 7)[:, None] * np.log(md['n']), axis=0), f"floor {floor} bic")
for K in [2, 3, 4, 5]:
    run(lambda md: md['nll'][K], f"ML jitter K {K}")
run(lambda md: np.min([md['nll'][K] + 2 * K * np.log(md['n']) for K in (2, 3, 4, 5)], axis=0), "ML jitter bic K2-5")
