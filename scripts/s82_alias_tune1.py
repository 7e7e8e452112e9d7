"""Stage 1 of the alias exploration (docs/alias-log.md): scoring rules on the cached candidates of one half.
    python3 scripts/s82_alias_tune1.py A|B"""
import sys, pickle
sys.path.insert(0, 'scripts')
import s82_alias_explore as s
half = sys.argv[1]
data = pickle.load(open('target/s82/alias-cache.pkl', 'rb'))
print("plain(K4-polished plain peak):", {m: f"{a}/{b}" for m, (a, b) in s.plain_fraction(data, half).items()})
rules = [
 dict(score='chi2', K=4, order=1),
 dict(score='chi2', K=4, order=2),
 dict(score='chi2', K=3, order=1), dict(score='chi2', K=5, order=1), dict(score='chi2', K=6, order=1),
 dict(score='chi2', K=2, order=1),
 dict(score='bic', order=1), dict(score='bic', order=2),
 dict(score='nbic', order=1), dict(score='nbic', order=2),
 dict(score='nbic', order=1, pen=0.5), dict(score='nbic', order=1, pen=2),
 dict(score='bic', order=1, pen=0.5), dict(score='bic', order=1, pen=2),
 dict(score='chi2', K=4, order=1, trunc=1), dict(score='chi2', K=4, order=1, trunc=2),
 dict(score='nbic', order=1, trunc=1), dict(score='nbic', order=1, trunc=2),
 dict(score='chi2', K=4, order=1, indep=True), dict(score='nbic', order=1, indep=True),
]
for r in rules:
    ev = s.evaluate(data, half, r)
    print(f"{str(r):70s}", "  ".join(f"{m} {ok}/{tot}" for m, (ok, tot, _) in ev.items()))
