//! Survey containers: the shared SDSS Stripe 82 RR Lyrae written by the PyPI
//! tools astronomers use (tests/ref/make_survey_tables.py: pyarrow,
//! nested-pandas, hats-import, pandas, astropy) as list-column, nested and
//! flat Parquet, a HATS catalog, one multi-object CSV, a gzipped ECSV and
//! TESS-layout FITS light curves (one file per object, astropy).
//! Every container must give features bit-identical to the directory of
//! per-object CSV files holding the same values, under mpirun -n 1, 2 and 4;
//! and each bad-input class exits with its code, names the file, row group
//! or column, and leaves nothing behind.

mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use util::*;

/// The tables, written once per test run under target/ by the generator
/// (its virtual environment made by scripts/survey-venv.sh).
fn tables() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target/survey-tables");
        let _ = std::fs::remove_dir_all(&dir);
        let py = std::process::Command::new(root.join("scripts/survey-venv.sh"))
            .output()
            .expect("running scripts/survey-venv.sh");
        assert!(
            py.status.success(),
            "scripts/survey-venv.sh failed (it installs pyarrow, nested-pandas, hats-import from PyPI): {}",
            String::from_utf8_lossy(&py.stderr)
        );
        let python = String::from_utf8(py.stdout).unwrap().trim().to_string();
        let o = std::process::Command::new(python)
            .arg(root.join("tests/ref/make_survey_tables.py"))
            .arg(root.join("../shared/data"))
            .arg(&dir)
            .output()
            .expect("running make_survey_tables.py");
        assert!(
            o.status.success(),
            "make_survey_tables.py: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        dir
    })
}

/// A features file's rows keyed by object id: (band name, reason, value bits).
type Rows = BTreeMap<String, Vec<(String, u8, Vec<u64>)>>;

fn rows_by_id(path: &Path) -> Rows {
    use hdf5::types::VarLenUnicode;
    let f = hdf5::File::open(path).unwrap();
    let values = f
        .dataset("features/values")
        .unwrap()
        .read_2d::<f64>()
        .unwrap();
    let reason = f
        .dataset("features/reason")
        .unwrap()
        .read_raw::<u8>()
        .unwrap();
    let object = f
        .dataset("features/object")
        .unwrap()
        .read_raw::<u64>()
        .unwrap();
    let band = f
        .dataset("features/band")
        .unwrap()
        .read_raw::<u8>()
        .unwrap();
    let names: Vec<String> = f
        .dataset("features/band_names")
        .unwrap()
        .read_raw::<VarLenUnicode>()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let ids_ds = f.dataset("objects/object_id").unwrap();
    let ids: Vec<String> = match ids_ds.read_raw::<i64>() {
        Ok(v) if ids_ds.dtype().unwrap().is::<i64>() => v.iter().map(i64::to_string).collect(),
        _ => ids_ds
            .read_raw::<VarLenUnicode>()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let mut out = Rows::new();
    for r in 0..values.nrows() {
        out.entry(ids[object[r] as usize].clone())
            .or_default()
            .push((
                names[band[r] as usize].clone(),
                reason[r],
                values.row(r).iter().map(|x| x.to_bits()).collect(),
            ));
    }
    out
}

fn features(dir: &TestDir, ranks: usize, input: &Path, out: &str, extra: &[&str]) -> Rows {
    let mut args = vec![
        "lightcurves",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out,
    ];
    args.extend(extra);
    let o = run_limited(launch(ranks, &args), Duration::from_secs(300), &dir.0);
    assert_success(&o);
    rows_by_id(&dir.path(out))
}

fn assert_same(want: &Rows, got: &Rows, what: &str) {
    assert_eq!(want.len(), got.len(), "{what}: object count");
    for (id, rows) in want {
        let g = got
            .get(id)
            .unwrap_or_else(|| panic!("{what}: object {id} missing"));
        assert_eq!(rows.len(), g.len(), "{what}: object {id} rows");
        for (a, b) in rows.iter().zip(g) {
            assert_eq!(a.0, b.0, "{what}: object {id} band order");
            assert_eq!(a.1, b.1, "{what}: object {id} band {} reason", a.0);
            assert!(a.2 == b.2, "{what}: object {id} band {} values differ", a.0);
        }
    }
}

#[test]
fn every_container_gives_the_features_of_the_csv_directory() {
    let t = tables();
    let dir = TestDir::new("survey-same");
    let mag = features(&dir, 1, &t.join("ref-mag"), "ref-mag.h5", &[]);
    let flux = features(&dir, 1, &t.join("ref-flux"), "ref-flux.h5", &[]);
    assert_eq!(mag.len(), 242);
    // the structure function is O(N^2): every row must have been computed
    assert!(mag.values().flatten().filter(|r| r.1 == 0).count() > 1000);
    for (input, want) in [
        ("ztf-lists.parquet", &mag),
        ("ztf-nested.parquet", &mag),
        ("hats", &mag),
        ("multi.csv", &mag),
        ("multi.ecsv.gz", &mag),
        ("rubin-flat.parquet", &flux),
        ("rubin-nested.parquet", &flux),
    ] {
        for ranks in [1, 2, 4] {
            let got = features(
                &dir,
                ranks,
                &t.join(input),
                &format!("{input}-{ranks}.h5"),
                &[],
            );
            assert_same(want, &got, &format!("{input} on {ranks} ranks"));
        }
    }
}

#[test]
fn flagged_points_are_dropped_and_counted() {
    let t = tables();
    let dir = TestDir::new("survey-flags");
    let want = features(&dir, 1, &t.join("ref-mag-unflagged"), "ref.h5", &[]);
    let got = features(&dir, 2, &t.join("ztf-flags.parquet"), "flags.h5", &[]);
    assert_same(&want, &got, "ztf-flags.parquet");
    // n_flagged: points 3, 10, 17, ... of each object, per band, all bands on multi
    let f = hdf5::File::open(dir.path("flags.h5")).unwrap();
    let n = f
        .dataset("features/n_flagged")
        .unwrap()
        .read_raw::<u32>()
        .unwrap();
    let total: u64 = n.iter().map(|&c| c as u64).sum();
    let mut expected = 0u64;
    for e in std::fs::read_dir(t.join("ref-mag")).unwrap() {
        let lines = std::fs::read_to_string(e.unwrap().path())
            .unwrap()
            .lines()
            .count()
            - 1;
        expected += (0..lines).filter(|k| k % 7 == 3).count() as u64;
    }
    assert_eq!(total, 2 * expected, "band rows plus multi rows");
    // a mask that shares no bit with 32768 keeps every point
    let all = features(
        &dir,
        1,
        &t.join("ztf-flags.parquet"),
        "noflags.h5",
        &["--reject-flags", "1"],
    );
    let mag = features(&dir, 1, &t.join("ref-mag"), "mag.h5", &[]);
    assert_same(&mag, &all, "ztf-flags.parquet --reject-flags 1");
}

#[test]
fn tess_fits_light_curves_give_the_features_of_their_csv_files() {
    let t = tables();
    let dir = TestDir::new("survey-tess");
    let want = features(&dir, 1, &t.join("ref-flux-r"), "ref-flux-r.h5", &[]);
    assert_eq!(want.len(), 242);
    for ranks in [1, 2] {
        let got = features(
            &dir,
            ranks,
            &t.join("tess"),
            &format!("tess-{ranks}.h5"),
            &["--columns", "flux=PDCSAP_FLUX"],
        );
        assert_same(&want, &got, &format!("tess/ on {ranks} ranks"));
    }
    // one file is one object, named by its stem
    let one = t.join("tess/1013184.fits");
    let got = features(
        &dir,
        1,
        &one,
        "one.h5",
        &["--columns", "flux=PDCSAP_FLUX,err=PDCSAP_FLUX_ERR"],
    );
    assert_eq!(got.keys().collect::<Vec<_>>(), ["1013184"]);
    assert_same(
        &BTreeMap::from([("1013184".to_string(), want["1013184"].clone())]),
        &got,
        "tess/1013184.fits",
    );
    // SAP_FLUX (0.98 times the fluxes) is read when asked for: not the same
    let sap = features(
        &dir,
        1,
        &t.join("tess"),
        "sap.h5",
        &["--columns", "flux=SAP_FLUX"],
    );
    assert_eq!(sap.len(), 242);
    assert!(sap["1013184"] != want["1013184"]);
}

#[test]
fn tess_fits_without_a_flux_mapping_or_tables_is_refused() {
    let t = tables();
    let dir = TestDir::new("survey-tess-bad");
    let tess = t.join("tess");
    // SAP_FLUX and PDCSAP_FLUX: ambiguous, exit 2 naming both and a line that works
    refused(
        &dir,
        &[
            "lightcurves",
            "--input",
            tess.to_str().unwrap(),
            "--out",
            "f.h5",
        ],
        2,
        &[
            "1013184.fits",
            "flux could be any of PDCSAP_FLUX, SAP_FLUX",
            "--columns time=TIME,flux=PDCSAP_FLUX,err=PDCSAP_FLUX_ERR",
        ],
    );
    // a FITS image is not a light curve: exit 1 naming the file
    let mut image = b"SIMPLE  =                    T".to_vec();
    for card in [
        "BITPIX  =                  -32",
        "NAXIS   =                    2",
        "NAXIS1  =                    2",
        "NAXIS2  =                    2",
        "END",
    ] {
        image.resize(image.len().next_multiple_of(80), b' ');
        image.extend_from_slice(card.as_bytes());
    }
    image.resize(2880, b' ');
    image.resize(2 * 2880, 0);
    std::fs::write(dir.path("image.fits"), &image).unwrap();
    refused(
        &dir,
        &["lightcurves", "--input", "image.fits", "--out", "f.h5"],
        1,
        &["image.fits': no table HDU (1 HDU, all images)"],
    );
    // a truncated table names the file and the HDU
    let bytes = std::fs::read(tess.join("1013184.fits")).unwrap();
    std::fs::write(dir.path("cut.fits"), &bytes[..bytes.len() - 2880]).unwrap();
    refused(
        &dir,
        &[
            "lightcurves",
            "--input",
            "cut.fits",
            "--out",
            "f.h5",
            "--columns",
            "flux=PDCSAP_FLUX",
        ],
        1,
        &["cut.fits' HDU 1", "truncated"],
    );
}

/// Runs `args`, expecting exit `code` with every word in the message and no
/// output file.
fn refused(dir: &TestDir, args: &[&str], code: i32, words: &[&str]) {
    let before = dir.listing();
    let o = run_limited(plain(args), Duration::from_secs(60), &dir.0);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: '{w}' not in: {err}");
    }
    assert_eq!(dir.listing(), before, "{args:?}: files left");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            copy_dir(&p, &to.join(p.file_name().unwrap()));
        } else {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn bad_tables_are_named_and_exit_with_their_code() {
    let t = tables();
    let dir = TestDir::new("survey-bad");
    // several objects, no recognised id column: never a silent merge
    std::fs::write(
        dir.path("snia.csv"),
        "snid,mjd,mag,magerr,filtercode\nSN1,59000.1,18.0,0.1,zg\nSN2,59000.2,18.5,0.1,zr\n",
    )
    .unwrap();
    refused(
        &dir,
        &["lightcurves", "--input", "snia.csv", "--out", "f.h5"],
        2,
        &["snia.csv", "snid looks like one", "--columns id=snid"],
    );
    // an unknown column name: the columns found and the file
    refused(
        &dir,
        &[
            "lightcurves",
            "--input",
            "snia.csv",
            "--out",
            "f.h5",
            "--columns",
            "id=snid,time=hmjd",
        ],
        2,
        &[
            "snia.csv",
            "no column 'hmjd'",
            "--columns",
            "snid, mjd, mag, magerr, filtercode",
        ],
    );
    let ok = run_limited(
        plain(&[
            "lightcurves",
            "--input",
            "snia.csv",
            "--out",
            "f.h5",
            "--columns",
            "id=snid",
        ]),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_success(&ok);
    std::fs::remove_file(dir.path("f.h5")).unwrap();
    // mixed list lengths within a row: the file, row group, column and row
    let bad = t.join("bad-lengths.parquet");
    refused(
        &dir,
        &[
            "lightcurves",
            "--input",
            bad.to_str().unwrap(),
            "--out",
            "f.h5",
        ],
        1,
        &[
            "bad-lengths.parquet' row group 0, column 'mag'",
            "row 5",
            "mixed list lengths",
        ],
    );
    // a corrupt footer
    let mut bytes = std::fs::read(t.join("ztf-lists.parquet")).unwrap();
    let n = bytes.len();
    bytes[n - 12..n - 4].fill(0xff);
    std::fs::write(dir.path("corrupt.parquet"), &bytes).unwrap();
    refused(
        &dir,
        &["lightcurves", "--input", "corrupt.parquet", "--out", "f.h5"],
        1,
        &["corrupt.parquet", "not a readable Parquet file"],
    );
    // a HATS directory without its properties
    copy_dir(&t.join("hats"), &dir.path("hats-broken"));
    std::fs::remove_file(dir.path("hats-broken/hats.properties")).unwrap();
    std::fs::remove_file(dir.path("hats-broken/properties")).unwrap();
    refused(
        &dir,
        &["lightcurves", "--input", "hats-broken", "--out", "f.h5"],
        2,
        &["hats-broken", "no hats.properties or properties file"],
    );
    // a mapping for a tessera HDF5 input
    std::fs::copy(t.join("ztf-lists.parquet"), dir.path("in.parquet")).unwrap();
    let o = run_limited(
        plain(&[
            "ingest",
            "csv",
            t.join("ref-mag").to_str().unwrap(),
            "--out",
            "lc.h5",
        ]),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_success(&o);
    refused(
        &dir,
        &[
            "lightcurves",
            "--input",
            "lc.h5",
            "--out",
            "f.h5",
            "--columns",
            "time=hmjd",
        ],
        2,
        &["lc.h5", "tessera HDF5 file", "does not apply"],
    );
}

/// The exports open in the tools users have: pandas reads the Parquet table
/// with typed columns, lsdb reads the exported HATS catalog and cross-matches
/// it with the input catalog, one row per (object, band) at its object.
#[test]
fn exports_open_in_pandas_and_lsdb() {
    let t = tables();
    let dir = TestDir::new("survey-export");
    let hats = t.join("hats");
    let o = run_limited(
        mpirun(
            2,
            &[
                "lightcurves",
                "--input",
                hats.to_str().unwrap(),
                "--out",
                "f.h5",
            ],
        ),
        Duration::from_secs(300),
        &dir.0,
    );
    assert_success(&o);
    let o = run_limited(
        plain(&[
            "export",
            "f.h5",
            "--parquet",
            "f.parquet",
            "--hats",
            "fh",
            "--csv",
            "f.csv",
        ]),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_success(&o);
    let csv = std::fs::read_to_string(dir.path("f.csv")).unwrap();
    assert!(
        csv.starts_with("object_id,ra,dec,_healpix_29,band,reason,"),
        "{}",
        &csv[..80]
    );
    assert_eq!(csv.lines().count(), 1 + 242 * 6);
    let python = String::from_utf8(
        std::process::Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/survey-venv.sh"),
        )
        .output()
        .unwrap()
        .stdout,
    )
    .unwrap();
    let o = std::process::Command::new(python.trim())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ref/check_exports.py"))
        .args(["f.parquet", "fh", hats.to_str().unwrap()])
        .current_dir(&dir.0)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for want in [
        "\"parquet_rows\": 1452",
        "\"object_id\": \"int64\"",
        "\"ra\": \"float64\"",
        "\"_healpix_29\": \"int64\"",
        "\"period\": \"float64\"",
        "\"parquet_columns_first\": [\"object_id\", \"ra\", \"dec\", \"_healpix_29\", \"band\", \"reason\"]",
        "\"hats_rows\": 1452",
        "\"hats_partitions\": 16",
        "\"crossmatch_rows\": 1452",
        "\"crossmatch_same_id\": 1452",
        "\"periods_equal\": true",
    ] {
        assert!(out.contains(want), "{want} not in {out}");
    }
    // a second export onto the catalog directory is refused, the catalog kept
    let o = run_limited(
        plain(&["export", "f.h5", "--hats", "fh"]),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("never replaces one"), "{}", stderr(&o));
    assert!(dir.path("fh/hats.properties").exists());
}

/// One observation of the position test: (id, ra, dec), degrees.
type PositionRow = (&'static str, f64, f64);

/// Rows of four objects whose mean positions have closed forms: `wrap`
/// straddles RA 0/360 at one declination, `same` repeats one position,
/// `meridian` spans declinations on one meridian, `none` has no position.
const POSITION_ROWS: [PositionRow; 10] = [
    ("wrap", 359.0, 10.0),
    ("same", 120.25, -30.5),
    ("wrap", 1.0, 10.0),
    ("meridian", 45.0, 20.0),
    ("same", 120.25, -30.5),
    ("none", f64::NAN, f64::NAN),
    ("meridian", 45.0, 40.0),
    ("same", 120.25, -30.5),
    ("none", f64::NAN, f64::NAN),
    ("wrap", 359.0, 10.0),
];

/// The expected (ra, dec) of each object: the direction of the sum of its
/// rows' unit vectors. `wrap`: two rows at RA 359 and one at RA 1 (each at
/// dec 10) sum to `x = cos10 (2 cos1 + cos1)`, `y = cos10 (-2 sin1 + sin1)`,
/// so RA = atan2(-sin1, 3 cos1) mod 360 and dec = atan(3 tan10 /
/// hypot(3 cos1, sin1)); `same`: the position itself; `meridian`: the
/// bisector, dec 30 at RA 45; `none`: NaN.
fn expected_positions() -> BTreeMap<&'static str, (f64, f64)> {
    let r = f64::to_radians;
    let (c1, s1) = (r(1.0).cos(), r(1.0).sin());
    let wrap_ra = (-s1).atan2(3.0 * c1).to_degrees() + 360.0;
    let wrap_dec = (3.0 * r(10.0).tan() / (3.0 * c1).hypot(s1))
        .atan()
        .to_degrees();
    BTreeMap::from([
        ("wrap", (wrap_ra, wrap_dec)),
        ("same", (120.25, -30.5)),
        ("meridian", (45.0, 30.0)),
        ("none", (f64::NAN, f64::NAN)),
    ])
}

/// `/objects/object_id`, `ra` and `dec` of a features file, by id.
fn positions_by_id(path: &Path) -> BTreeMap<String, (f64, f64)> {
    use hdf5::types::VarLenUnicode;
    let f = hdf5::File::open(path).unwrap();
    let ids = f
        .dataset("objects/object_id")
        .unwrap()
        .read_raw::<VarLenUnicode>()
        .unwrap();
    let get = |n: &str| f.dataset(n).unwrap().read_raw::<f64>().unwrap();
    let (ra, dec) = (get("objects/ra"), get("objects/dec"));
    assert!(
        f.dataset("objects/_healpix_29").is_err(),
        "a flat table gets no _healpix_29"
    );
    ids.iter()
        .enumerate()
        .map(|(i, id)| (id.to_string(), (ra[i], dec[i])))
        .collect()
}

/// Whether two positions agree to 1e-9 degrees (RA compared across the
/// wrap), NaN matching NaN.
fn same_position(a: (f64, f64), b: (f64, f64)) -> bool {
    if a.0.is_nan() || b.0.is_nan() {
        return a.0.is_nan() && b.0.is_nan() && a.1.is_nan() && b.1.is_nan();
    }
    let dra = ((a.0 - b.0 + 180.0).rem_euclid(360.0) - 180.0).abs();
    dra < 1e-9 && (a.1 - b.1).abs() < 1e-9 && (0.0..360.0).contains(&b.0)
}

/// Flat tables (one row per observation) with position columns: a Parquet
/// file with the usual `ra`, `dec` names and a CSV mapped with `--columns
/// ra=...,dec=...` give each object the mean of its rows' unit vectors in
/// `/objects/ra|dec` (closed forms in [`expected_positions`], one object
/// straddling RA 0/360), and the CSV and Parquet exports carry them.
#[test]
fn flat_tables_carry_mean_positions() {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let dir = TestDir::new("survey-flat-positions");
    let n = POSITION_ROWS.len();
    let time: Vec<f64> = (0..n).map(|k| 58000.0 + 1.37 * k as f64).collect();
    let mag: Vec<f64> = (0..n).map(|k| 17.0 + 0.1 * (k % 3) as f64).collect();
    let col = |v: Vec<f64>| Arc::new(Float64Array::from(v)) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        (
            "object_id",
            Arc::new(StringArray::from_iter_values(
                POSITION_ROWS.iter().map(|r| r.0),
            )) as ArrayRef,
        ),
        ("mjd", col(time.clone())),
        ("mag", col(mag.clone())),
        ("magerr", col(vec![0.02; n])),
        ("ra", col(POSITION_ROWS.iter().map(|r| r.1).collect())),
        ("dec", col(POSITION_ROWS.iter().map(|r| r.2).collect())),
    ])
    .unwrap();
    let file = std::fs::File::create(dir.path("flat.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let mut csv = String::from("object_id,mjd,mag,magerr,RAJ2000,DEJ2000\n");
    for (k, (id, ra, dec)) in POSITION_ROWS.iter().enumerate() {
        let pos = |x: f64| {
            if x.is_nan() {
                String::new()
            } else {
                x.to_string()
            }
        };
        csv.push_str(&format!(
            "{id},{},{},0.02,{},{}\n",
            time[k],
            mag[k],
            pos(*ra),
            pos(*dec)
        ));
    }
    std::fs::write(dir.path("flat.csv"), csv).unwrap();
    let want = expected_positions();
    for (input, ranks, extra) in [
        ("flat.parquet", 2, &[][..]),
        ("flat.csv", 1, &["--columns", "ra=RAJ2000,dec=DEJ2000"][..]),
    ] {
        let out = format!("{input}.h5");
        let mut args = vec!["lightcurves", "--input", input, "--out", &out];
        args.extend(extra);
        let o = run_limited(launch(ranks, &args), Duration::from_secs(120), &dir.0);
        assert_success(&o);
        let got = positions_by_id(&dir.path(&out));
        assert_eq!(got.len(), want.len(), "{input}: objects");
        for (id, w) in &want {
            let g = got[*id];
            assert!(
                same_position(*w, g),
                "{input}: {id} at {g:?}, expected {w:?}"
            );
        }
    }
    // the exports carry the positions, one row per (object, band)
    let o = run_limited(
        plain(&[
            "export",
            "flat.csv.h5",
            "--csv",
            "f.csv",
            "--parquet",
            "f.parquet",
        ]),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_success(&o);
    let text = std::fs::read_to_string(dir.path("f.csv")).unwrap();
    assert!(
        text.starts_with("object_id,ra,dec,band,"),
        "{}",
        &text[..60]
    );
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
        let g = (num(f[1]), num(f[2]));
        assert!(same_position(want[f[0]], g), "export CSV: {line}");
    }
    let file = std::fs::File::open(dir.path("f.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let ids = arrow_cast::cast(
            batch.column_by_name("object_id").unwrap(),
            &arrow_schema::DataType::Utf8,
        )
        .unwrap();
        let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
        let f = |n: &str| {
            batch
                .column_by_name(n)
                .unwrap()
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .clone()
        };
        let (ra, dec) = (f("ra"), f("dec"));
        for i in 0..batch.num_rows() {
            let g = (ra.value(i), dec.value(i));
            assert!(
                same_position(want[ids.value(i)], g),
                "export Parquet: {} at {g:?}",
                ids.value(i)
            );
            rows += 1;
        }
    }
    assert_eq!(rows, 4 * 2, "one row per object and band (all + multi)");
}
