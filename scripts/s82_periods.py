"""Fraction of the SDSS Stripe 82 RR Lyrae whose period from `tessera export`
is within 0.1% of the published one (Sesar et al. 2010), per band and column.

    python3 scripts/s82_periods.py features.csv ../shared/data/sdss-s82-rrlyrae/periods.csv
    python3 scripts/s82_periods.py --split [--previous old.csv] features.csv periods.csv

--split: the same per half of the fixed tuning/validation split (scripts/s82_split.py),
with the plain periodogram (`period`), the refinement of `--previous` (a features CSV
of an earlier tessera, when given) and the new `period_refined`; then, per half, the
fraction right among stars with `alias_margin` at or above and below a few thresholds.
"""
import csv
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s82_split import half_of  # noqa: E402

args = sys.argv[1:]
split = "--split" in args
previous = None
if "--previous" in args:
    i = args.index("--previous")
    previous = args[i + 1]
    del args[i : i + 2]
args = [a for a in args if a != "--split"]
features, published = args
period = {r["id"]: float(r["period_days"]) for r in csv.DictReader(open(published))}
rows = list(csv.DictReader(open(features)))


def right(r, col):
    return abs(float(r[col]) - period[r["object_id"]]) / period[r["object_id"]] < 1e-3


if not split:
    for band in ["g", "r", "multi"]:
        for col in ["period", "period_refined"]:
            sel = [r for r in rows if r["band"] == band]
            ok = sum(1 for r in sel if right(r, col))
            print(f"{band:5s} {col:15s} within 0.1%: {ok}/{len(sel)} = {ok / len(sel):.3f}")
    sys.exit(0)

prev = {}
if previous:
    prev = {(r["object_id"], r["band"]): r for r in csv.DictReader(open(previous))}


def frac(sel, test):
    ok = sum(1 for r in sel if test(r))
    return f"{ok:3d}/{len(sel):3d} = {ok / len(sel):.3f}"


print("half  band   plain periodogram   previous refinement   new refinement")
for half in ["A", "B"]:
    for band in ["g", "r", "multi"]:
        sel = [r for r in rows if r["band"] == band and half_of(r["object_id"]) == half]
        p = frac(sel, lambda r: right(prev[(r["object_id"], band)], "period_refined")) if prev else "-"
        print(f"{half:5s} {band:5s}  {frac(sel, lambda r: right(r, 'period')):18s}  "
              f"{p:20s}  {frac(sel, lambda r: right(r, 'period_refined'))}")
print()
print("alias_margin: stars right (within 0.1%) among those with the margin at/above | below")
for half in ["A", "B"]:
    for band in ["g", "r", "multi"]:
        sel = [r for r in rows if r["band"] == band and half_of(r["object_id"]) == half]
        cells = []
        for thr in [10, 30, 100]:
            hi = [r for r in sel if float(r["alias_margin"]) >= thr]
            lo = [r for r in sel if not float(r["alias_margin"]) >= thr]
            f = lambda s: f"{sum(right(r, 'period_refined') for r in s)}/{len(s)}"  # noqa: E731
            cells.append(f">={thr}: {f(hi):7s} <{thr}: {f(lo):6s}")
        print(f"{half:5s} {band:5s}  " + "   ".join(cells))
