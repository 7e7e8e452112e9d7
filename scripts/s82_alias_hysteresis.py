"""Stage 4 of the alias log (issue 16): should the refinement keep the plain periodogram
peak unless an alias fits clearly better? Works from tessera's own columns, no model.

    python3 scripts/s82_alias_hysteresis.py FEATURES.csv PERIODS.csv

FEATURES.csv: `tessera export --csv` of a `tessera lightcurves` run on the shared
stars (e.g. `--min-period 0.2 --max-period 1.2`). For each row the plain peak's
advantage is how much worse the polished plain peak fits than the refined pick, in the
units of `alias_margin`: (period_plain_chi2 - period_refined_chi2) / (refined chi2 /
dof), dof = n_clean - (bands + 2K + bands - 1) for the multiband row with K = 4 and
n_clean - (1 + 2K) for one band. Rule H: keep the plain peak when its advantage is at
most H, else take the refined pick (H = 0 is tessera's refinement). H is chosen on one
half (most right; ties to the smallest H) and reported on the other, both ways.
"""
import csv
import sys

from s82_split import half_of

K = 4


def rows(features, periods):
    pub = {r["id"]: float(r["period_days"]) for r in csv.DictReader(open(periods))}
    table = list(csv.DictReader(open(features)))
    nbands = len({r["band"] for r in table}) - 1
    out = []
    for r in table:
        oid, band = r["object_id"], r["band"]
        refined, plain = float(r["period_refined"]), float(r["period"])
        if oid not in pub or refined != refined:
            continue
        c_plain, c_ref = float(r["period_plain_chi2"]), float(r["period_refined_chi2"])
        params = (nbands + 2 * K + nbands - 1) if band == "multi" else 1 + 2 * K
        dof = float(r["n_clean"]) - params
        adv = (c_plain - c_ref) / (c_ref / dof) if c_ref > 0 and dof > 0 else float("inf")
        ok = lambda p: abs(p / pub[oid] - 1) < 1e-3  # noqa: E731
        out.append((half_of(oid), band, adv, ok(plain), ok(refined)))
    return out


def right(table, half, band, h):
    sel = [t for t in table if t[0] == half and t[1] == band]
    return sum((p if a <= h else r) for _, _, a, p, r in sel), len(sel)


def main():
    table = rows(sys.argv[1], sys.argv[2])
    # candidate thresholds: 0 and just above every advantage seen
    cuts = sorted({0.0} | {a * (1 + 1e-9) for _, _, a, _, _ in table if a != float("inf")})
    print("band   tuned on  H chosen   tuning half        other half (validation)   H = 0 there")
    for band in ("g", "r", "multi"):
        for tune, other in (("A", "B"), ("B", "A")):
            best = max(cuts, key=lambda h: (right(table, tune, band, h)[0], -h))
            t, nt = right(table, tune, band, best)
            v, nv = right(table, other, band, best)
            v0, _ = right(table, other, band, 0.0)
            print(f"{band:6} {tune:9} {best:9.2f}   {t:3}/{nt} = {t / nt:.3f}    "
                  f"{v:3}/{nv} = {v / nv:.3f}             {v0:3}/{nv}")


if __name__ == "__main__":
    main()
