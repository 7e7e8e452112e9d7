"""Fraction of the SDSS Stripe 82 RR Lyrae whose period from `tessera export`
is within 0.1% of the published one (Sesar et al. 2010), per band and column.

    python3 scripts/s82_periods.py features.csv ../shared/data/sdss-s82-rrlyrae/periods.csv
"""
import csv
import sys

features, published = sys.argv[1], sys.argv[2]
period = {r["id"]: float(r["period_days"]) for r in csv.DictReader(open(published))}
rows = list(csv.DictReader(open(features)))
for band in ["g", "r", "multi"]:
    for col in ["period", "period_refined"]:
        sel = [r for r in rows if r["band"] == band]
        ok = sum(1 for r in sel if abs(float(r[col]) - period[r["object_id"]]) / period[r["object_id"]] < 1e-3)
        print(f"{band:5s} {col:15s} within 0.1%: {ok}/{len(sel)} = {ok / len(sel):.3f}")
