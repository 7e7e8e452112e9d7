//! Fault classes: inputs and outputs that must never be lost. Each test
//! asserts the exit code, the message, that every input is byte-identical
//! afterwards and that no output or temporary file is left behind.

mod util;

use std::path::Path;
use std::time::Duration;

use util::*;

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Runs `args` in `dir` and asserts: exit 2, a message naming the clash,
/// and the directory exactly as before (inputs intact, nothing added).
fn refused_without_loss(dir: &TestDir, args: &[&str]) {
    let before = snapshot(&dir.0);
    let listing = dir.listing();
    let o = run_limited(plain(args), Duration::from_secs(60), &dir.0);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains("same file") && err.contains("never overwrites its input"),
        "{args:?}: {err}"
    );
    assert_eq!(dir.listing(), listing, "{args:?}: files added or removed");
    assert!(snapshot(&dir.0) == before, "{args:?}: an input changed");
}

#[test]
fn an_output_that_is_an_input_is_refused_through_any_path_or_link() {
    let dir = TestDir::new("faults-out-is-in");
    let ok = |args: &[&str]| assert_success(&run(plain(args), &dir.0));
    ok(&[
        "synth",
        "lightcurves",
        "-n",
        "20",
        "--epochs",
        "30",
        "--out",
        "lc.h5",
    ]);
    ok(&[
        "lightcurves",
        "--input",
        "lc.h5",
        "--out",
        "features.h5",
        "--threads",
        "1",
    ]);
    ok(&["synth", "image", "--size", "64", "--out", "img.h5"]);
    ok(&[
        "synth", "image", "--size", "64", "--format", "fits", "--out", "img.fits",
    ]);
    std::os::unix::fs::symlink("lc.h5", dir.path("link.h5")).unwrap();
    std::os::unix::fs::symlink("img.fits", dir.path("link.fits")).unwrap();
    std::fs::create_dir(dir.path("csv")).unwrap();
    std::fs::write(
        dir.path("csv/a.csv"),
        "time,mag,magerr\n1,17,0.1\n2,17.2,0.1\n3,17.1,0.1\n",
    )
    .unwrap();

    // the same file by another name, through a symbolic link, and from the config file
    refused_without_loss(
        &dir,
        &["lightcurves", "--input", "lc.h5", "--out", "./lc.h5"],
    );
    refused_without_loss(
        &dir,
        &["lightcurves", "--input", "lc.h5", "--out", "link.h5"],
    );
    let abs = dir.path("lc.h5").display().to_string();
    refused_without_loss(
        &dir,
        &[
            "lightcurves",
            "--input",
            "link.h5",
            "--set",
            &format!("out={abs:?}"),
        ],
    );
    refused_without_loss(
        &dir,
        &[
            "image",
            "--input",
            "img.h5",
            "--out",
            "../tessera-it-faults-out-is-in-{}/img.h5"
                .replace("{}", &std::process::id().to_string())
                .as_str(),
        ],
    );
    refused_without_loss(
        &dir,
        &["image", "--input", "img.fits", "--out", "link.fits"],
    );
    refused_without_loss(&dir, &["export", "features.h5", "--csv", "./features.h5"]);
    refused_without_loss(&dir, &["ingest", "csv", "csv", "--out", "csv/a.csv"]);

    // under mpirun the refusal is the same and no rank hangs
    let before = snapshot(&dir.0);
    let o = run_limited(
        mpirun(2, &["lightcurves", "--input", "lc.h5", "--out", "link.h5"]),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(snapshot(&dir.0) == before);
}

/// A single-band CSV light curve: `n` points over `span` days of a 0.6-day
/// sinusoid with small deterministic noise, then the `extra` points.
fn write_curve(path: &Path, seed: u64, n: usize, span: f64, extra: &[(f64, f64)]) {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut uniform = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::from("time,mag,magerr\n");
    for k in 0..n {
        let t = 55000.0 + span * (k as f64 + 0.5 * uniform()) / n as f64;
        let m =
            17.0 + 0.3 * (2.0 * std::f64::consts::PI * t / 0.6).sin() + 0.02 * (uniform() - 0.5);
        text.push_str(&format!("{t},{m},0.02\n"));
    }
    for (t, m) in extra {
        text.push_str(&format!("{t},{m},0.02\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn features(path: &Path) -> (ndarray::Array2<f64>, Vec<u8>) {
    let f = hdf5::File::open(path).unwrap();
    let v = f
        .dataset("features/values")
        .unwrap()
        .read_2d::<f64>()
        .unwrap();
    let r = f
        .dataset("features/reason")
        .unwrap()
        .read_raw::<u8>()
        .unwrap();
    (v, r)
}

#[test]
fn one_pathological_object_is_a_flagged_row_not_the_end_of_the_job() {
    let dir = TestDir::new("faults-bad-object");
    let good = dir.path("good");
    let all = dir.path("all");
    std::fs::create_dir(&good).unwrap();
    std::fs::create_dir(&all).unwrap();
    for i in 0..12u64 {
        let name = format!("star{i:02}.csv");
        write_curve(&good.join(&name), i, 80, 900.0, &[]);
        std::fs::copy(good.join(&name), all.join(&name)).unwrap();
    }
    // a time far off: its grid would need ~2e10 frequencies (180 GB before the bound)
    write_curve(
        &all.join("zz1_far_time.csv"),
        100,
        80,
        900.0,
        &[(1e9, 17.1)],
    );
    // 100 000 points: 5e9 pairs for the structure function (40 GB before the bound)
    write_curve(&all.join("zz2_many_points.csv"), 101, 100_000, 900.0, &[]);
    let ok = |args: &[&str]| {
        let o = run_limited(plain(args), Duration::from_secs(300), &dir.0);
        assert_success(&o);
        o
    };
    ok(&["ingest", "csv", "good", "--out", "good.h5"]);
    ok(&["ingest", "csv", "all", "--out", "all.h5"]);
    let common = [
        "--min-period",
        "0.2",
        "--max-period",
        "2",
        "--threads",
        "2",
        "--features",
        "basic,periodic,structure_function",
    ];
    let with = |input: &str, out: &str| {
        let mut a = vec!["lightcurves", "--input", input, "--out", out];
        a.extend(common);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    ok(&with("good.h5", "good-features.h5")
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let o = ok(&with("all.h5", "all-features.h5")
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let out = stdout(&o);
    assert!(out.contains("grid_too_large: 2"), "{out}");
    assert!(out.contains("too_many_points_for_sf: 1"), "{out}");

    let (gv, gr) = features(&dir.path("good-features.h5"));
    let (av, ar) = features(&dir.path("all-features.h5"));
    // two rows per object (the band and multi): the good objects' rows are untouched
    let n_good = gv.nrows();
    assert_eq!(n_good, 24);
    assert_eq!(av.nrows(), 28);
    for r in 0..n_good {
        for c in 0..gv.ncols() {
            assert_eq!(
                gv[[r, c]].to_bits(),
                av[[r, c]].to_bits(),
                "row {r} column {c}"
            );
        }
    }
    assert_eq!(&gr[..], &ar[..n_good]);
    // the far-off time: features kept, periodogram NaN, both rows flagged
    let names = stored_columns(&dir.path("all-features.h5"));
    let col = |n: &str| names.iter().position(|c| c == n).unwrap();
    assert_eq!(&ar[24..26], &[22, 22]);
    assert!(av[[24, col("n_clean")]] == 81.0 && av[[24, col("period")]].is_nan());
    assert!(av[[24, col("sf_drw_tau")]].is_finite());
    // the long curve: periodogram and features kept, structure function skipped
    assert_eq!(ar[26], 23);
    assert!((av[[26, col("period_refined")]] - 0.6).abs() < 1e-3);
    assert!(av[[26, col("sf_powerlaw_A")]].is_nan());

    // max_points: the 100 000-point object is never read (both rows NaN with
    // too_many_points), under mpirun with 2 ranks and tiles of 2 objects, so
    // the bound is met on a rank that is not rank 0 too; every other row is
    // bit-identical to the one-process run without the bound
    let mut capped = with("all.h5", "capped.h5");
    capped.extend(
        ["--set", "max_points=50000", "--set", "tile=2"]
            .iter()
            .map(|s| s.to_string()),
    );
    let capped: Vec<&str> = capped.iter().map(String::as_str).collect();
    let o = run_limited(mpirun(2, &capped), Duration::from_secs(300), &dir.0);
    assert_success(&o);
    assert!(stdout(&o).contains("too_many_points: 2"), "{}", stdout(&o));
    let (cv, cr) = features(&dir.path("capped.h5"));
    assert_eq!(&cr[26..28], &[25, 25]);
    assert!(cv
        .row(26)
        .iter()
        .chain(cv.row(27).iter())
        .all(|x| x.is_nan()));
    for r in 0..26 {
        assert_eq!(cr[r], ar[r], "row {r}");
        for c in 0..av.ncols() {
            assert_eq!(
                cv[[r, c]].to_bits(),
                av[[r, c]].to_bits(),
                "row {r} column {c}"
            );
        }
    }

    // a bound every object would exceed is a usage error, before any work
    let o = run_limited(
        plain(&[
            "lightcurves",
            "--input",
            "all.h5",
            "--out",
            "x.h5",
            "--min-period",
            "1e-9",
        ]),
        Duration::from_secs(30),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("max_frequencies"), "{}", stderr(&o));
    assert!(!dir.path("x.h5").exists());
}

/// A FITS file of the given header cards and `data` zero bytes.
fn fits_file(path: &Path, cards: &[&str], data: usize) {
    let mut bytes = Vec::new();
    for c in cards.iter().chain(&["END"]) {
        let mut card = c.as_bytes().to_vec();
        card.resize(80, b' ');
        bytes.extend(card);
    }
    bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
    bytes.resize(bytes.len() + data, 0);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn hostile_fits_headers_fail_fast_with_the_file_named() {
    let dir = TestDir::new("faults-fits");
    let head = [
        "SIMPLE  =                    T",
        "BITPIX  =                  -64",
        "NAXIS   =                    2",
    ];
    // 5 760 bytes that claim 2^64 pixels: before, this passed the size check
    // and the node ran out of memory
    let mut bomb = head.to_vec();
    bomb.extend([
        "NAXIS1  =           4294967296",
        "NAXIS2  =           4294967296",
    ]);
    fits_file(&dir.path("bomb.fits"), &bomb, 2880);
    let mut latin = head.to_vec();
    latin.extend([
        "NAXIS1  =                    4",
        "NAXIS2  =                    4",
        "OBSERVER= 'x'",
    ]);
    fits_file(&dir.path("latin1.fits"), &latin, 2880);
    let mut raw = std::fs::read(dir.path("latin1.fits")).unwrap();
    raw[5 * 80 + 2] = 0xe9; // "OB\xe9ERVER": a non-UTF-8 byte in a keyword
    std::fs::write(dir.path("latin1.fits"), raw).unwrap();
    for (file, words) in [
        ("bomb.fits", ["bomb.fits", "more data than the file holds"]),
        ("latin1.fits", ["latin1.fits", "not printable ASCII"]),
    ] {
        let before = snapshot(&dir.0);
        let t0 = std::time::Instant::now();
        let o = run_limited(
            plain(&["image", "--input", file, "--out", "out.h5"]),
            Duration::from_secs(30),
            &dir.0,
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{file}: {err}");
        assert!(words.iter().all(|w| err.contains(w)), "{file}: {err}");
        assert!(t0.elapsed() < Duration::from_secs(10));
        assert!(snapshot(&dir.0) == before, "{file}: files changed or left");
    }
}

/// Runs `args` in `dir`; asserts the exit code, that `words` are in the
/// message and that no file appeared or changed.
fn fails_cleanly(dir: &TestDir, args: &[&str], code: i32, words: &[&str]) {
    let before = snapshot(&dir.0);
    let listing = dir.listing();
    let o = run_limited(plain(args), Duration::from_secs(60), &dir.0);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: '{w}' not in: {err}");
    }
    assert_eq!(dir.listing(), listing, "{args:?}");
    assert!(snapshot(&dir.0) == before, "{args:?}: a file changed");
}

#[test]
fn absurd_settings_exit_2_before_any_work() {
    let dir = TestDir::new("faults-settings");
    assert_success(&run(
        plain(&["synth", "lightcurves", "-n", "5", "--out", "lc.h5"]),
        &dir.0,
    ));
    assert_success(&run(
        plain(&["synth", "image", "--size", "32", "--out", "img.h5"]),
        &dir.0,
    ));
    // one 24-byte partial per block: 9.2e18 blocks would not fit in memory
    fails_cleanly(
        &dir,
        &["mc", "--samples", "9.2e18", "--block-size", "1"],
        2,
        &["blocks", "block_size"],
    );
    // a box whose volume overflows f64 (the estimate would be NaN)
    fails_cleanly(
        &dir,
        &["mc", "--dims", "2", "--bounds", "-1e200:1e200"],
        2,
        &["volume", "bounds"],
    );
    fails_cleanly(
        &dir,
        &["image", "--input", "img.h5", "--kernel", "tophat:1e6"],
        2,
        &["4097"],
    );
    fails_cleanly(
        &dir,
        &["image", "--input", "img.h5", "--kernel", "tophat:3000"],
        2,
        &["4097"],
    );
    fails_cleanly(
        &dir,
        &["lightcurves", "--input", "lc.h5", "--threads", "100000"],
        2,
        &["threads"],
    );
    // a compressed FITS output name would silently hold an uncompressed file
    fails_cleanly(
        &dir,
        &["image", "--input", "img.h5", "--out", "conv.fits.gz"],
        2,
        &["conv.fits.gz", "uncompressed FITS"],
    );
    // an explicit block size within the bound still runs
    let o = run(
        plain(&[
            "mc",
            "--samples",
            "1e6",
            "--block-size",
            "1e5",
            "--out",
            "ok.h5",
        ]),
        &dir.0,
    );
    assert_success(&o);
}

#[test]
fn infinite_pixels_are_refused_like_nan_ones() {
    let dir = TestDir::new("faults-inf");
    let f = hdf5::File::create(dir.path("inf.h5")).unwrap();
    let mut img = vec![1.0f64; 16 * 16];
    img[5 * 16 + 7] = f64::INFINITY;
    let a = ndarray::Array2::from_shape_vec((16, 16), img).unwrap();
    f.new_dataset_builder()
        .with_data(&a)
        .create("image")
        .unwrap();
    drop(f);
    fails_cleanly(
        &dir,
        &[
            "image", "--input", "inf.h5", "--out", "o.h5", "--kernel", "box:3",
        ],
        1,
        &["infinite", "row 5, column 7"],
    );
}

#[test]
fn hostile_csv_directories_are_named_and_skippable() {
    let dir = TestDir::new("faults-csv");
    let good = "time,mag,magerr\n1,17,0.1\n2,17.2,0.1\n3,17.1,0.1\n4,17.3,0.1\n5,17,0.1\n";
    std::fs::create_dir(dir.path("d")).unwrap();
    std::fs::write(dir.path("d/a.csv"), good).unwrap();
    // a spreadsheet's byte-order mark must not hide the `time` header
    std::fs::write(dir.path("d/bom.csv"), format!("\u{feff}{good}")).unwrap();
    std::fs::write(dir.path("d/latin1.csv"), b"time,mag,magerr\n1,17\xe9,0.1\n").unwrap();
    std::fs::create_dir(dir.path("d/sub.csv")).unwrap();
    fails_cleanly(
        &dir,
        &["ingest", "csv", "d", "--out", "x.h5"],
        1,
        &["latin1.csv", "not UTF-8"],
    );
    let o = run(
        plain(&["ingest", "csv", "d", "--out", "x.h5", "--skip-bad"]),
        &dir.0,
    );
    assert_success(&o);
    let out = stdout(&o);
    assert!(
        out.contains("ingested    2 objects") && out.contains("2 rejected"),
        "{out}"
    );
    std::fs::remove_file(dir.path("x.h5")).unwrap();
    // a.csv and a.CSV would both be object `a`
    std::fs::write(dir.path("d/a.CSV"), good).unwrap();
    fails_cleanly(
        &dir,
        &["ingest", "csv", "d", "--out", "x.h5", "--skip-bad"],
        1,
        &["a.CSV", "a.csv", "object 'a'"],
    );
}

#[test]
fn a_bad_light_curve_layout_is_named_before_any_tile_is_computed() {
    let dir = TestDir::new("faults-layout");
    let synth = [
        "synth",
        "lightcurves",
        "-n",
        "600",
        "--epochs",
        "40",
        "--out",
    ];
    for name in ["band.h5", "ids.h5", "offsets.h5"] {
        let mut a = synth.to_vec();
        a.push(name);
        assert_success(&run(plain(&a), &dir.0));
    }
    {
        // a band index out of range in the very last observation (the last tile)
        let f = hdf5::File::open_rw(dir.path("band.h5")).unwrap();
        let band = f.dataset("lightcurves/band").unwrap();
        let n = band.size();
        band.write_slice(&[7u8], n - 1..n).unwrap();
        // integer object ids where strings belong
        let f = hdf5::File::open_rw(dir.path("ids.h5")).unwrap();
        let g = f.group("lightcurves").unwrap();
        g.unlink("object_id").unwrap();
        let ids: Vec<u64> = (0..600).collect();
        g.new_dataset_builder()
            .with_data(&ids)
            .create("object_id")
            .unwrap();
        // offsets that go backwards in the middle
        let f = hdf5::File::open_rw(dir.path("offsets.h5")).unwrap();
        let off = f.dataset("lightcurves/offsets").unwrap();
        off.write_slice(&[3u64], 300..301).unwrap();
    }
    for (file, words) in [
        (
            "band.h5",
            vec!["band.h5", "/lightcurves/band[", "] = 7", "3 band names"],
        ),
        (
            "ids.h5",
            vec![
                "ids.h5",
                "/lightcurves/object_id",
                "expected variable-length strings",
            ],
        ),
        (
            "offsets.h5",
            vec!["offsets.h5", "/lightcurves/offsets", "offsets[300] = 3"],
        ),
    ] {
        let before = snapshot(&dir.0);
        let o = run_limited(
            plain(&["lightcurves", "--input", file, "--out", "f.h5"]),
            Duration::from_secs(60),
            &dir.0,
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{file}: {err}");
        for w in &words {
            assert!(err.contains(w), "{file}: '{w}' not in {err}");
        }
        // found before the job announced its tiles, i.e. before any compute
        assert!(!err.contains("tiles of"), "{file}: {err}");
        assert!(snapshot(&dir.0) == before, "{file}: files changed or left");
    }
}

/// A features file `f.h5` of 8 synthetic objects (from `lc.h5`) in `dir`.
fn small_features(dir: &TestDir) {
    let ok = |args: &[&str]| assert_success(&run(plain(args), &dir.0));
    ok(&[
        "synth",
        "lightcurves",
        "-n",
        "8",
        "--epochs",
        "30",
        "--out",
        "lc.h5",
    ]);
    ok(&[
        "lightcurves",
        "--input",
        "lc.h5",
        "--out",
        "f.h5",
        "--threads",
        "1",
    ]);
}

#[test]
fn export_names_bad_rows_and_leaves_no_csv() {
    let dir = TestDir::new("faults-export");
    small_features(&dir);
    std::fs::copy(dir.path("f.h5"), dir.path("obj.h5")).unwrap();
    std::fs::copy(dir.path("f.h5"), dir.path("band.h5")).unwrap();
    {
        let f = hdf5::File::open_rw(dir.path("obj.h5")).unwrap();
        f.dataset("features/object")
            .unwrap()
            .write_slice(&[99u64], 5..6)
            .unwrap();
        let f = hdf5::File::open_rw(dir.path("band.h5")).unwrap();
        f.dataset("features/band")
            .unwrap()
            .write_slice(&[200u8], 9..10)
            .unwrap();
    }
    std::fs::create_dir(dir.path("adir")).unwrap();
    fails_cleanly(
        &dir,
        &["export", "obj.h5", "--csv", "x.csv"],
        1,
        &["obj.h5", "/features/object[5] = 99"],
    );
    fails_cleanly(
        &dir,
        &["export", "band.h5", "--csv", "x.csv"],
        1,
        &["band.h5", "/features/band[9] = 200"],
    );
    fails_cleanly(
        &dir,
        &["export", "f.h5", "--csv", "adir"],
        1,
        &["'adir'", "is a directory; give a file name"],
    );
}

/// SIGTERM while `export` is writing its CSV: exit 143, the temporary CSV
/// removed, no output, the features file byte-identical. The features file
/// is made large (the rows of a real run repeated) so the export is caught
/// part-way: the signal is sent once the temporary file has data in it.
#[test]
fn sigterm_during_export_leaves_no_csv() {
    let dir = TestDir::new("faults-export-signal");
    small_features(&dir);
    let repeat = 25_000;
    {
        use hdf5::types::VarLenUnicode;
        let small = hdf5::File::open(dir.path("f.h5")).unwrap();
        let values = small.dataset("features/values").unwrap();
        let columns = values
            .attr("columns")
            .unwrap()
            .read_raw::<VarLenUnicode>()
            .unwrap();
        let v = values.read_2d::<f64>().unwrap();
        let read_u8 = |n: &str| small.dataset(n).unwrap().read_raw::<u8>().unwrap();
        let (reason, band) = (read_u8("features/reason"), read_u8("features/band"));
        let object = small
            .dataset("features/object")
            .unwrap()
            .read_raw::<u64>()
            .unwrap();
        let strings = |n: &str| {
            small
                .dataset(n)
                .unwrap()
                .read_raw::<VarLenUnicode>()
                .unwrap()
        };
        let (band_names, ids) = (strings("features/band_names"), strings("objects/object_id"));
        let rows = v.nrows() * repeat;
        let big_v =
            ndarray::Array2::from_shape_fn((rows, v.ncols()), |(r, c)| v[[r % v.nrows(), c]]);
        let tile = |x: &[u8]| x.iter().copied().cycle().take(rows).collect::<Vec<u8>>();
        let big = hdf5::File::create(dir.path("big.h5")).unwrap();
        let g = big.create_group("features").unwrap();
        g.new_dataset_builder()
            .with_data(&big_v)
            .create("values")
            .unwrap()
            .new_attr_builder()
            .with_data(&columns)
            .create("columns")
            .unwrap();
        g.new_dataset_builder()
            .with_data(&tile(&reason))
            .create("reason")
            .unwrap();
        g.new_dataset_builder()
            .with_data(&tile(&band))
            .create("band")
            .unwrap();
        let obj: Vec<u64> = object.iter().copied().cycle().take(rows).collect();
        g.new_dataset_builder()
            .with_data(&obj)
            .create("object")
            .unwrap();
        g.new_dataset_builder()
            .with_data(&band_names)
            .create("band_names")
            .unwrap();
        big.create_group("objects")
            .unwrap()
            .new_dataset_builder()
            .with_data(&ids)
            .create("object_id")
            .unwrap();
    }
    let before = snapshot(&dir.0);
    let mut child = plain(&["export", "big.h5", "--csv", "big.csv"])
        .current_dir(&dir.0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let temp = dir.path(&format!(".big.csv.tmp-{}", child.id()));
    let start = std::time::Instant::now();
    while std::fs::metadata(&temp).map_or(true, |m| m.len() < (1 << 20)) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "export ended before the signal"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary CSV appeared"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(stderr(&o).contains("signal 15"), "{}", stderr(&o));
    assert!(
        snapshot(&dir.0) == before,
        "files changed or left: {:?}",
        dir.listing()
    );
}

/// A small tmpfs mounted for one test (the tests run as root in CI), unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: std::path::PathBuf, kib: u64) -> SmallDisk {
        std::fs::create_dir_all(&at).unwrap();
        let o = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&at)
            .output()
            .expect("running mount");
        assert!(
            o.status.success(),
            "the full-disk test mounts a small tmpfs and needs root: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        SmallDisk(at)
    }

    /// Fills all but `free_kib` of the disk with a file called `fill`.
    fn fill_leaving(&self, free_kib: u64) {
        let _ = std::fs::remove_file(self.0.join("fill"));
        let st = nix_statvfs(&self.0);
        let size = st.saturating_sub(free_kib * 1024);
        std::fs::write(self.0.join("fill"), vec![1u8; size as usize]).unwrap();
    }

    /// Files left on the disk besides `fill`.
    fn leftovers(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "fill")
            .collect();
        v.sort();
        v
    }
}

/// Free bytes of the filesystem holding `p` (from `df`).
fn nix_statvfs(p: &Path) -> u64 {
    let o = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_exit_1_naming_the_file_with_nothing_left() {
    let dir = TestDir::new("faults-disk");
    let ok = |args: &[&str]| assert_success(&run(plain(args), &dir.0));
    ok(&["synth", "lightcurves", "-n", "3000", "--out", "lc.h5"]);
    ok(&[
        "lightcurves",
        "--input",
        "lc.h5",
        "--out",
        "f.h5",
        "--set",
        "structure_function=false",
    ]);
    ok(&["synth", "image", "--size", "2048", "--out", "img.h5"]);
    std::fs::create_dir(dir.path("csv")).unwrap();
    for i in 0..300 {
        let mut t = String::from("time,mag,magerr\n");
        for k in 0..400 {
            t.push_str(&format!(
                "{},{},0.02\n",
                k as f64 * 1.3,
                17.0 + 0.3 * (k as f64).sin()
            ));
        }
        std::fs::write(dir.path(&format!("csv/o{i}.csv")), t).unwrap();
    }
    let disk = SmallDisk::mount(dir.path("small"), 6840);
    let inputs = snapshot(&dir.0);
    let cases: [(&str, u64, Vec<&str>); 8] = [
        (
            "x.h5",
            6840,
            vec![
                "lightcurves",
                "--input",
                "lc.h5",
                "--out",
                "small/x.h5",
                "--set",
                "structure_function=false",
            ],
        ),
        (
            "mc.h5",
            16,
            vec!["mc", "--samples", "1e6", "--out", "small/mc.h5"],
        ),
        (
            "c.h5",
            6840,
            vec!["image", "--input", "img.h5", "--out", "small/c.h5"],
        ),
        (
            "l.h5",
            1024,
            vec!["ingest", "csv", "csv", "--out", "small/l.h5"],
        ),
        (
            "s.h5",
            6840,
            vec!["synth", "lightcurves", "-n", "3000", "--out", "small/s.h5"],
        ),
        (
            "i.h5",
            6840,
            vec!["synth", "image", "--size", "1024", "--out", "small/i.h5"],
        ),
        (
            "i.fits",
            6840,
            vec![
                "synth",
                "image",
                "--size",
                "1024",
                "--format",
                "fits",
                "--out",
                "small/i.fits",
            ],
        ),
        (
            "e.csv",
            6840,
            vec!["export", "f.h5", "--csv", "small/e.csv"],
        ),
    ];
    for (name, free_kib, args) in &cases {
        disk.fill_leaving(*free_kib);
        let o = run_limited(plain(args), Duration::from_secs(120), &dir.0);
        let err = stderr(&o);
        // exit 1, not a crash in HDF5's clean-up (139) or success with a corrupt file (0)
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(name) && err.contains("No space left on device"),
            "{args:?}: {err}"
        );
        assert!(
            disk.leftovers().is_empty(),
            "{args:?}: left {:?}",
            disk.leftovers()
        );
    }
    assert!(snapshot(&dir.0) == inputs, "an input changed");
    drop(disk);
}

#[test]
fn a_time_far_off_is_flagged_not_turned_into_a_period() {
    let dir = TestDir::new("faults-far-time");
    std::fs::create_dir(dir.path("d")).unwrap();
    write_curve(&dir.path("d/a.csv"), 1, 60, 900.0, &[]);
    // before: its grid spanned 1e300 days and the "period" came out as 1e301 days
    write_curve(&dir.path("d/b.csv"), 2, 60, 900.0, &[(1e300, 17.0)]);
    assert_success(&run(
        plain(&["ingest", "csv", "d", "--out", "lc.h5"]),
        &dir.0,
    ));
    let o = run(
        plain(&["lightcurves", "--input", "lc.h5", "--out", "f.h5"]),
        &dir.0,
    );
    assert_success(&o);
    assert!(
        stdout(&o).contains("baseline_too_long: 2"),
        "{}",
        stdout(&o)
    );
    let (v, r) = features(&dir.path("f.h5"));
    let names = tessera::numeric::lightcurve::columns::RowLayout::new(3).names();
    let col = |n: &str| names.iter().position(|c| c == n).unwrap();
    assert_eq!(&r[..], &[0, 0, 24, 24]);
    // (the default grid of 60 points over 900 days stops near 0.17 cycles/day)
    assert!(v[[0, col("period")]].is_finite() && v[[0, col("period")]] < 900.0);
    assert!(v[[2, col("period")]].is_nan() && v[[2, col("n_clean")]] == 61.0);
}

/// `image --out x.fits` on a disk with room for the intermediate HDF5 file
/// but not for the FITS copy too: exit 1 naming the FITS file, nothing left.
#[test]
fn a_full_disk_during_the_fits_copy_is_exit_1_with_nothing_left() {
    let dir = TestDir::new("faults-disk-fits");
    assert_success(&run(
        plain(&["synth", "image", "--size", "1000", "--out", "img.h5"]),
        &dir.0,
    ));
    // /convolved takes 8.4 MB (whole 512 x 512 chunks) and reserves 4 MB more;
    // the FITS copy then needs 8 MB of the 14.3 MB disk
    let disk = SmallDisk::mount(dir.path("small"), 14000);
    let o = run_limited(
        plain(&["image", "--input", "img.h5", "--out", "small/c.fits"]),
        Duration::from_secs(120),
        &dir.0,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("small/c.fits") && err.contains("No space left on device"),
        "{err}"
    );
    assert!(disk.leftovers().is_empty(), "left {:?}", disk.leftovers());
    drop(disk);
}
