"""Stage 2 (docs/alias-log.md), run as: python3 scripts/s82_alias_floor.py A|B. Second stage: re-fit the order-1 candidates of the cache with a noise floor / ML jitter."""
import sys, pickle, os
sys.path.insert(0, 'scripts')
import numpy as np
import s82_alias_explore as s
root = '../shared/data/sdss-s82-rrlyrae'
data = pickle.load(open('target/s82/alias-cache.pkl', 'rb'))
which = sys.argv[1]  # A or B or all
FLOORS = [0.0, 0.01, 0.02, 0.03, 0.05]
out = {}
for n, (sid, st) in enumerate(data.items()):
    if which != 'all' and st['half'] != which: continue
    bands = s.load(os.path.join(root, 'light-curves', sid + '.csv'))
    res = {}
    for mode in ['g', 'r', 'multi']:
        use = ['g'] if mode == 'g' else ['r'] if mode == 'r' else sorted(bands)
        t = np.concatenate([bands[b][:, 0] for b in use]); y = np.concatenate([bands[b][:, 1] for b in use])
        dy = np.concatenate([bands[b][:, 2] for b in use]); bd = np.concatenate([np.full(len(bands[b]), i) for i, b in enumerate(use)])
        md = st[mode]
        fr = []
        for c in md['cands']:
            off = abs(c['offset'])
            if off > 0 and min(abs(off - a) for a in s.ALIASES) > 1e-9: continue
            f = c['freq'][3]
            if all(abs(f - g) > 2 * md['df'] for g in fr): fr.append(f)
        fr = np.array(fr)
        tab = {}
        for fl in FLOORS:
            e = np.sqrt(dy**2 + fl**2)
            tab[fl] = np.array([s.chi2_scan(t, y, e, bd, fr, K) for K in range(1, 7)])  # (6, F)
        # ML jitter at K=4 per frequency: -2lnL = sum r^2/v + ln v, v = dy^2 + s^2
        nll = {}
        for K in (2, 3, 4, 5):
            best = np.full(len(fr), np.inf)
            for fl in [0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.06, 0.08, 0.12]:
                e = np.sqrt(dy**2 + fl**2)
                ch = s.chi2_scan(t, y, e, bd, fr, K)
                best = np.minimum(best, ch + np.sum(np.log(e**2)))
            nll[K] = best
        res[mode] = dict(freqs=fr, tab=tab, nll=nll, n=len(t))
    out[sid] = res
    print(n, sid, file=sys.stderr, flush=True)
pickle.dump(out, open(f'target/s82/floor-{which}.pkl', 'wb'))
