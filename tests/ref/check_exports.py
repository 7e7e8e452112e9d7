"""Opens tessera's exports with the tools users have (pandas, lsdb) and prints
what they see as JSON, for tests/survey.rs.

usage: check_exports.py FEATURES.parquet EXPORTED_HATS_DIR INPUT_HATS_DIR
"""

import json
import sys

import lsdb
import pandas as pd


def main(parquet, out_hats, in_hats):
    df = pd.read_parquet(parquet)
    cat = lsdb.read_hats(out_hats)
    exported = cat.compute()
    source = lsdb.read_hats(in_hats)
    # every feature row sits at its object's position: a 0.01" cross-match of the
    # input objects with the exported rows finds one row per (object, band)
    matched = source.crossmatch(cat, radius_arcsec=0.01, n_neighbors=10, suffixes=("_in", "_out")).compute()
    same_id = int((matched["objectid_in"] == matched["object_id_out"]).sum())
    print(json.dumps({
        "parquet_rows": len(df),
        "parquet_dtypes": {c: str(df[c].dtype) for c in
                           ["object_id", "ra", "dec", "_healpix_29", "band", "reason", "period"]},
        "parquet_columns_first": list(df.columns[:6]),
        "hats_rows": len(exported),
        "hats_partitions": len(cat.get_healpix_pixels()),
        "crossmatch_rows": len(matched),
        "crossmatch_same_id": same_id,
        "periods_equal": bool(
            (exported.sort_values(["object_id", "band"])["period"].fillna(-1).to_numpy()
             == df.sort_values(["object_id", "band"])["period"].fillna(-1).to_numpy()).all()),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
