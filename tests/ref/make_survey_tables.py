"""Writes the shared SDSS Stripe 82 RR Lyrae light curves in the containers
astronomers hold survey data in, with the PyPI tools they use, for
tests/survey.rs. Every container holds exactly the values of the CSV files
(parsed with round-trip precision), so tessera must give bit-identical
features from each.

usage: make_survey_tables.py SHARED_DATA_DIR OUT_DIR

OUT_DIR/
  ref-mag/<id>.csv        one CSV per object (time,mag,magerr,band): the reference
  ref-flux/<id>.csv       the same as fluxes (time,flux,fluxerr,band)
  ztf-lists.parquet       ZTF names, one row per object, list columns, 2 row groups
  ztf-nested.parquet      ZTF names, nested-pandas list-of-struct column `lc`
  hats/                   HATS catalog of ztf-lists (hats-import, synthetic positions)
  rubin-flat.parquet      Rubin names (diaObjectId, midpointMjdTai, psfFlux, psfFluxErr,
                          band), one row per observation, rows shuffled
  multi.csv               one CSV, all objects, object_id column (pandas)
  multi.ecsv.gz           gzipped ECSV (astropy), IRSA-like names (oid, mjd, filtercode)
  ztf-flags.parquet       ztf-lists plus catflags (points 3, 10, 17, ... of each object flagged 32768)
  ref-mag-unflagged/      the per-object CSVs without those points: the reference for ztf-flags
  rubin-nested.parquet    Rubin names, the forced sources as list<struct> (diaObjectForcedSource)
  bad-lengths.parquet     list columns whose lengths differ within row 5 (an error case)
  tess/<id>.fits          TESS layout (astropy): primary HDU, then LIGHTCURVE with TIME,
                          SAP_FLUX, SAP_FLUX_ERR (fluxes x 0.98, so reading them shows),
                          PDCSAP_FLUX, PDCSAP_FLUX_ERR (the r-band fluxes), QUALITY (all 0),
                          CADENCENO; one object per file
  ref-flux-r/<id>.csv     exactly the r-band points of tess/ (time,flux,fluxerr): its reference
"""

import glob
import gzip
import os
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def main(shared, out):
    os.makedirs(out, exist_ok=True)
    src = os.path.join(shared, "sdss-s82-rrlyrae", "light-curves")
    frames = []
    for f in sorted(glob.glob(os.path.join(src, "*.csv"))):
        d = pd.read_csv(f)  # pandas 3 parses floats exactly (round trip)
        d.insert(0, "id", int(os.path.basename(f)[:-4]))
        frames.append(d)
    flat = pd.concat(frames, ignore_index=True)
    # fluxes in nJy from the magnitudes (AB zero point 31.4)
    flat["flux"] = 10.0 ** (-0.4 * (flat["mag"] - 31.4))
    flat["fluxerr"] = flat["flux"] * 0.4 * np.log(10.0) * flat["magerr"]

    for name, cols in (("ref-mag", ["time", "mag", "magerr", "band"]),
                       ("ref-flux", ["time", "flux", "fluxerr", "band"])):
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for oid, g in flat.groupby("id", sort=True):
            g[cols].to_csv(os.path.join(out, name, f"{oid}.csv"), index=False)

    ids = sorted(flat["id"].unique())
    groups = {oid: g for oid, g in flat.groupby("id", sort=True)}
    rng = np.random.default_rng(82)
    ra = rng.uniform(0.0, 60.0, len(ids))
    dec = rng.uniform(-1.25, 1.25, len(ids))

    # (a) ZTF light-curve layout: one row per object, list columns
    lists = pa.table({
        "objectid": pa.array(ids, pa.int64()),
        "ra": ra,
        "dec": dec,
        "hmjd": [groups[i]["time"].to_numpy() for i in ids],
        "mag": [groups[i]["mag"].to_numpy() for i in ids],
        "magerr": [groups[i]["magerr"].to_numpy() for i in ids],
        "filtercode": [groups[i]["band"].tolist() for i in ids],
    })
    pq.write_table(lists, os.path.join(out, "ztf-lists.parquet"), row_group_size=100)
    flags = [np.where(np.arange(len(groups[i])) % 7 == 3, 32768, 0).astype(np.int32) for i in ids]
    pq.write_table(lists.append_column("catflags", [flags]),
                   os.path.join(out, "ztf-flags.parquet"), row_group_size=100)

    os.makedirs(os.path.join(out, "ref-mag-unflagged"), exist_ok=True)
    for oid, g in groups.items():
        keep = np.arange(len(g)) % 7 != 3
        g[keep][["time", "mag", "magerr", "band"]].to_csv(
            os.path.join(out, "ref-mag-unflagged", f"{oid}.csv"), index=False)
    bad = lists.slice(0, 10).to_pydict()
    bad["mag"][5] = bad["mag"][5][:-1]
    pq.write_table(pa.table(bad), os.path.join(out, "bad-lengths.parquet"))

    # Rubin-like nested table: list<struct> of forced sources, fluxes
    def sources(i):
        g = groups[i]
        return [{"midpointMjdTai": t, "psfFlux": f, "psfFluxErr": e, "band": b}
                for t, f, e, b in zip(g["time"], g["flux"], g["fluxerr"], g["band"])]
    rubin_nested = pa.table({
        "diaObjectId": pa.array(ids, pa.int64()),
        "ra": ra,
        "dec": dec,
        "diaObjectForcedSource": [sources(i) for i in ids],
    })
    pq.write_table(rubin_nested, os.path.join(out, "rubin-nested.parquet"), row_group_size=64)

    # (a) nested-pandas: the light curve as a list-of-struct column
    import nested_pandas as npd
    base = pd.DataFrame({"objectid": ids, "ra": ra, "dec": dec}, index=ids)
    obs = flat.rename(columns={"time": "hmjd", "band": "filtercode"})[
        ["id", "hmjd", "mag", "magerr", "filtercode"]].set_index("id")
    nf = npd.NestedFrame(base).join_nested(obs, "lc")
    nf.to_parquet(os.path.join(out, "ztf-nested.parquet"))

    # (b) a HATS catalog of the list-column table, built by hats-import
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client
    from dask.distributed import Client
    args = ImportArguments(
        output_artifact_name="hats",
        input_file_list=[os.path.join(out, "ztf-lists.parquet")],
        file_reader="parquet",
        ra_column="ra",
        dec_column="dec",
        sort_columns="objectid",
        pixel_threshold=60,
        output_path=out,
        resume=False,
    )
    with Client(n_workers=1, threads_per_worker=1, processes=False) as client:
        pipeline_with_client(args, client)

    # (c) Rubin-like flat table of fluxes, one row per observation, shuffled
    rubin = pd.DataFrame({
        "diaObjectId": flat["id"].astype("int64"),
        "midpointMjdTai": flat["time"],
        "psfFlux": flat["flux"],
        "psfFluxErr": flat["fluxerr"],
        "band": flat["band"],
    })
    # a stable shuffle of objects keeps each object's rows in file order
    order = rng.permutation(len(rubin))
    rubin = rubin.iloc[order].sort_values("diaObjectId", kind="stable").sample(
        frac=1.0, random_state=3).sort_index(kind="stable")
    pq.write_table(pa.Table.from_pandas(rubin, preserve_index=False),
                   os.path.join(out, "rubin-flat.parquet"), row_group_size=5000)

    # (d) one multi-object CSV (pandas) and a gzipped ECSV (astropy), IRSA names
    flat[["id", "time", "mag", "magerr", "band"]].rename(columns={"id": "object_id"}).to_csv(
        os.path.join(out, "multi.csv"), index=False)
    from astropy.table import Table
    t = Table.from_pandas(flat[["id", "time", "mag", "magerr", "band"]].rename(
        columns={"id": "oid", "time": "mjd", "band": "filtercode"}))
    t.write(os.path.join(out, "multi.ecsv"), format="ascii.ecsv", overwrite=True)
    with open(os.path.join(out, "multi.ecsv"), "rb") as fin, \
            gzip.open(os.path.join(out, "multi.ecsv.gz"), "wb") as fout:
        fout.write(fin.read())
    os.remove(os.path.join(out, "multi.ecsv"))
    # (e) TESS-layout FITS light curves, one object per file, single band (r)
    from astropy.io import fits
    os.makedirs(os.path.join(out, "tess"), exist_ok=True)
    os.makedirs(os.path.join(out, "ref-flux-r"), exist_ok=True)
    for oid, g in groups.items():
        r = g[g["band"] == "r"]
        if len(r) == 0:
            continue
        r[["time", "flux", "fluxerr"]].to_csv(
            os.path.join(out, "ref-flux-r", f"{oid}.csv"), index=False)
        primary = fits.PrimaryHDU()
        primary.header["TELESCOP"] = "TESS"
        primary.header["OBJECT"] = f"S82 RR Lyrae {oid}"
        primary.header["TICID"] = int(oid)
        n = len(r)
        lc = fits.BinTableHDU.from_columns([
            fits.Column(name="TIME", format="D", unit="BJD - 2457000, days",
                        array=r["time"].to_numpy()),
            fits.Column(name="CADENCENO", format="J", array=np.arange(n, dtype=np.int32)),
            fits.Column(name="SAP_FLUX", format="D", unit="e-/s",
                        array=0.98 * r["flux"].to_numpy()),
            fits.Column(name="SAP_FLUX_ERR", format="D", unit="e-/s",
                        array=0.98 * r["fluxerr"].to_numpy()),
            fits.Column(name="PDCSAP_FLUX", format="D", unit="e-/s",
                        array=r["flux"].to_numpy()),
            fits.Column(name="PDCSAP_FLUX_ERR", format="D", unit="e-/s",
                        array=r["fluxerr"].to_numpy()),
            fits.Column(name="QUALITY", format="J", array=np.zeros(n, dtype=np.int32)),
        ], name="LIGHTCURVE")
        fits.HDUList([primary, lc]).writeto(
            os.path.join(out, "tess", f"{oid}.fits"), overwrite=True)

    print(f"wrote {len(ids)} objects, {len(flat)} observations to {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
