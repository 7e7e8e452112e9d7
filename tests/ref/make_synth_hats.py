"""Writes N synthetic light curves as a HATS catalog (hats-import) with ZTF
column names, for the survey-scale benchmark in the README (`make
bench-hats`). Each object: a sinusoid with a random period (0.2-2 d) in one
band (zg), POINTS irregular epochs over ~3 years, Gaussian noise; positions
uniform on the sphere. Deterministic (seeded).

usage: make_synth_hats.py N POINTS OUT_DIR   (writes OUT_DIR/lists/*.parquet and OUT_DIR/hats/)
"""

import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main(n, points, out):
    rng = np.random.default_rng(2026)
    lists = os.path.join(out, "lists")
    os.makedirs(lists, exist_ok=True)
    chunk = 100_000
    for c0 in range(0, n, chunk):
        m = min(chunk, n - c0)
        t = np.sort(rng.uniform(58000.0, 59100.0, (m, points)), axis=1)
        period = rng.uniform(0.2, 2.0, (m, 1))
        err = rng.uniform(0.01, 0.05, (m, points))
        mag = 17.0 + 0.3 * np.sin(2 * np.pi * t / period) + err * rng.standard_normal((m, points))
        offsets = pa.array(np.arange(0, m * points + 1, points, dtype=np.int32))
        lst = lambda v: pa.ListArray.from_arrays(offsets, pa.array(v.ravel()))
        ra = rng.uniform(0.0, 360.0, m)
        dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, m)))
        table = pa.table({
            "objectid": pa.array(np.arange(c0, c0 + m, dtype=np.int64)),
            "ra": ra,
            "dec": dec,
            "hmjd": lst(t),
            "mag": lst(mag),
            "magerr": lst(err),
            "filtercode": pa.array(["zg"] * m),
        })
        pq.write_table(table, os.path.join(lists, f"part-{c0 // chunk:04d}.parquet"))

    from dask.distributed import Client
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client
    args = ImportArguments(
        output_artifact_name="hats",
        input_path=lists,
        file_reader="parquet",
        ra_column="ra",
        dec_column="dec",
        pixel_threshold=25_000,
        output_path=out,
        resume=False,
        progress_bar=False,
    )
    with Client(n_workers=2, threads_per_worker=1, memory_limit="6GB") as client:
        pipeline_with_client(args, client)
    print(f"wrote {n} objects x {points} points to {out}/hats")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
