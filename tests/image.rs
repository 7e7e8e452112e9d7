//! End-to-end tests of `tessera synth image` and `tessera image`: the real
//! binary plainly and under `mpirun -n 1, 2, 4`, its HDF5 output against a
//! naive reference convolution, FITS input, and the failure rules.

mod util;

use std::path::Path;

use tessera::jobs::image::parse_kernel;
use tessera::numeric::conv2d::{convolve_naive, Boundary, ConvMode, Shape2};
use util::*;

fn synth(dir: &TestDir, args: &[&str]) {
    let mut a = vec!["synth", "image"];
    a.extend_from_slice(args);
    let o = run(plain(&a), &dir.0);
    assert_success(&o);
}

fn image_args<'a>(input: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["image", "--input", input, "--out", out];
    a.extend_from_slice(extra);
    a
}

fn read_image(file: &Path, name: &str) -> (Shape2, Vec<f64>) {
    let f = hdf5::File::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
    let a = f.dataset(name).unwrap().read_2d::<f64>().unwrap();
    (
        Shape2::new(a.nrows(), a.ncols()),
        a.iter().copied().collect(),
    )
}

fn bits(file: &Path, name: &str) -> Vec<u64> {
    read_image(file, name)
        .1
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

fn stats(file: &Path) -> Vec<u64> {
    ["count", "sum", "mean", "variance", "min", "max"]
        .iter()
        .map(|s| {
            let f = hdf5::File::open(file).unwrap();
            let ds = f.dataset(&format!("stats/{s}")).unwrap();
            if *s == "count" {
                ds.read_scalar::<u64>().unwrap()
            } else {
                ds.read_scalar::<f64>().unwrap().to_bits()
            }
        })
        .collect()
}

fn attr(file: &Path, name: &str) -> String {
    let f = hdf5::File::open(file).unwrap();
    f.dataset("convolved")
        .unwrap()
        .attr(name)
        .unwrap()
        .read_scalar::<hdf5::types::VarLenUnicode>()
        .unwrap()
        .as_str()
        .to_string()
}

/// max |got - want| / max |want|
fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = if scale == 0.0 { 1.0 } else { scale };
    got.iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

fn naive(input: &Path, kernel: &str, mode: ConvMode, b: Boundary) -> (Shape2, Vec<f64>) {
    let (ishape, img) = read_image(input, "image");
    let k = parse_kernel(kernel, false).unwrap();
    let oshape = tessera::numeric::conv2d::output_shape(ishape, k.shape, mode).unwrap();
    (
        oshape,
        convolve_naive(&img, ishape, &k.data, k.shape, mode, b).unwrap(),
    )
}

const MODES: [(&str, ConvMode); 3] = [
    ("full", ConvMode::Full),
    ("same", ConvMode::Same),
    ("valid", ConvMode::Valid),
];
const BOUNDARIES: [(&str, Boundary); 3] = [
    ("zero", Boundary::Zero),
    ("reflect", Boundary::Reflect),
    ("nearest", Boundary::Nearest),
];

#[test]
fn output_is_bit_identical_for_1_2_4_ranks_and_any_tile_size() {
    let dir = TestDir::new("img-ranks");
    synth(
        &dir,
        &[
            "--kind", "random", "--rows", "67", "--cols", "53", "--seed", "3", "--out", "in.h5",
        ],
    );
    let common = [
        "--kernel",
        "gaussian:1.5:9",
        "--mode",
        "same",
        "--boundary",
        "reflect",
        "--method",
        "direct",
    ];
    let mut outs = Vec::new();
    for (ranks, tile) in [
        (0usize, "16"),
        (1, "16"),
        (2, "16"),
        (4, "16"),
        (2, "7"),
        (4, "64"),
    ] {
        let out = format!("n{ranks}-t{tile}.h5");
        let mut extra = common.to_vec();
        extra.extend(["--tile", tile, "--threads", "1"]);
        let args = image_args("in.h5", &out, &extra);
        let o = if ranks == 0 {
            run(plain(&args), &dir.0)
        } else {
            run(mpirun(ranks, &args), &dir.0)
        };
        assert_success(&o);
        outs.push((ranks, tile, dir.path(&out)));
    }
    let (_, _, first) = &outs[0];
    let want = bits(first, "convolved");
    for (ranks, tile, f) in &outs[1..] {
        assert!(
            bits(f, "convolved") == want,
            "/convolved differs: {ranks} ranks, tile {tile}"
        );
        if *tile == "16" {
            assert_eq!(stats(f), stats(first), "/stats: {ranks} ranks");
        }
    }
    // and it is the convolution: naive reference within 1e-12
    let (_, reference) = naive(
        &dir.path("in.h5"),
        "gaussian:1.5:9",
        ConvMode::Same,
        Boundary::Reflect,
    );
    let (_, got) = read_image(first, "convolved");
    assert!(rel_err(&got, &reference) <= 1e-12);
    // the per-tile statistics merged with Moments equal the whole image's
    let n = got.len() as f64;
    let mean = got.iter().sum::<f64>() / n;
    let var = got.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let f = hdf5::File::open(first).unwrap();
    let m: f64 = f.dataset("stats/mean").unwrap().read_scalar().unwrap();
    let v: f64 = f.dataset("stats/variance").unwrap().read_scalar().unwrap();
    assert!((m - mean).abs() <= 1e-13 * mean.abs() && (v - var).abs() <= 1e-11 * var);
}

#[test]
fn fft_output_is_identical_across_ranks() {
    let dir = TestDir::new("img-fft-ranks");
    synth(
        &dir,
        &[
            "--kind", "random", "--size", "50", "--seed", "5", "--out", "in.h5",
        ],
    );
    let extra = ["--kernel", "radial:21", "--method", "fft", "--tile", "16"];
    let mut files = Vec::new();
    for ranks in [1usize, 2, 4] {
        let out = format!("n{ranks}.h5");
        assert_success(&run(
            mpirun(ranks, &image_args("in.h5", &out, &extra)),
            &dir.0,
        ));
        files.push(dir.path(&out));
    }
    for f in &files[1..] {
        assert!(bits(f, "convolved") == bits(&files[0], "convolved"));
        assert_eq!(stats(f), stats(&files[0]));
    }
    assert_eq!(attr(&files[0], "method"), "fft");
}

/// Every mode x boundary, direct and FFT, odd and even image sizes, kernels
/// larger than a tile and larger than the image, against the naive oracle.
#[test]
fn every_mode_and_boundary_matches_the_naive_reference() {
    let dir = TestDir::new("img-modes");
    synth(
        &dir,
        &[
            "--kind", "random", "--rows", "37", "--cols", "29", "--seed", "1", "--out", "odd.h5",
        ],
    );
    synth(
        &dir,
        &[
            "--kind", "gradient", "--rows", "24", "--cols", "32", "--out", "even.h5",
        ],
    );
    synth(
        &dir,
        &[
            "--kind", "random", "--rows", "5", "--cols", "6", "--seed", "2", "--out", "tiny.h5",
        ],
    );
    let cases = [
        ("odd.h5", "radial:7", "8"),
        ("even.h5", "box:11", "4"),    // kernel larger than a tile
        ("tiny.h5", "radial:15", "4"), // image smaller than the kernel
    ];
    let mut n = 0;
    for (input, kernel, tile) in cases {
        for (mname, mode) in MODES {
            for (bname, b) in BOUNDARIES {
                let (oshape, want) = naive(&dir.path(input), kernel, mode, b);
                for (method, tol) in [("direct", 1e-12), ("fft", 1e-10)] {
                    let out = format!("o{n}.h5");
                    n += 1;
                    let args = image_args(
                        input,
                        &out,
                        &[
                            "--kernel",
                            kernel,
                            "--mode",
                            mname,
                            "--boundary",
                            bname,
                            "--method",
                            method,
                            "--tile",
                            tile,
                        ],
                    );
                    assert_success(&run(plain(&args), &dir.0));
                    let (shape, got) = read_image(&dir.path(&out), "convolved");
                    let ctx = format!("{input} {kernel} {mname} {bname} {method}");
                    assert_eq!(shape, oshape, "{ctx}");
                    let e = rel_err(&got, &want);
                    assert!(e <= tol, "{ctx}: relative error {e:e}");
                    assert_eq!(attr(&dir.path(&out), "method"), method, "{ctx}");
                }
            }
        }
    }
}

#[test]
fn lecture_deltas_f64_and_f32_match_the_reference() {
    let dir = TestDir::new("img-lecture");
    synth(
        &dir,
        &[
            "--kind", "deltas", "--size", "96", "--dtype", "f64", "--out", "d64.h5",
        ],
    );
    synth(
        &dir,
        &[
            "--kind", "deltas", "--size", "96", "--dtype", "f32", "--out", "d32.h5",
        ],
    );
    let extra = [
        "--dataset",
        "/image",
        "--kernel",
        "radial:15",
        "--mode",
        "same",
        "--boundary",
        "zero",
        "--tile",
        "32",
    ];
    assert_success(&run(
        mpirun(2, &image_args("d64.h5", "c64.h5", &extra)),
        &dir.0,
    ));
    assert_success(&run(
        mpirun(2, &image_args("d32.h5", "c32.h5", &extra)),
        &dir.0,
    ));
    let (_, want) = naive(
        &dir.path("d64.h5"),
        "radial:15",
        ConvMode::Same,
        Boundary::Zero,
    );
    let (_, got) = read_image(&dir.path("c64.h5"), "convolved");
    assert!(rel_err(&got, &want) <= 1e-12);
    let f = hdf5::File::open(dir.path("c32.h5")).unwrap();
    let ds = f.dataset("convolved").unwrap();
    assert_eq!(ds.dtype().unwrap().size(), 4, "f32 in, f32 out");
    let (_, got32) = read_image(&dir.path("c32.h5"), "convolved");
    assert!(rel_err(&got32, &want) <= 1e-6);
    // 36 deltas, each spreading the kernel sum over the image
    let k: f64 = parse_kernel("radial:15", false).unwrap().data.iter().sum();
    let sum: f64 = f.dataset("stats/sum").unwrap().read_scalar().unwrap();
    assert!((sum - 36.0 * k).abs() < 1e-3, "{sum} vs {}", 36.0 * k);
}

#[test]
fn output_layout_timings_provenance_and_no_temp_file() {
    let dir = TestDir::new("img-layout");
    synth(
        &dir,
        &["--kind", "gradient", "--size", "40", "--out", "in.h5"],
    );
    let o = run(
        mpirun(
            2,
            &image_args("in.h5", "out.h5", &["--kernel", "box:3", "--tile", "16"]),
        ),
        &dir.0,
    );
    assert_success(&o);
    assert!(stdout(&o).contains("method direct"), "{}", stdout(&o));
    assert_eq!(
        dir.listing(),
        vec!["in.h5".to_string(), "out.h5".to_string()]
    );
    let out = dir.path("out.h5");
    let f = hdf5::File::open(&out).unwrap();
    let t = f.dataset("timings").unwrap().read_2d::<f64>().unwrap();
    assert_eq!(t.shape(), &[2, 6]);
    assert!(t.iter().all(|v| *v >= 0.0));
    let job = f
        .dataset("provenance/job")
        .unwrap()
        .read_scalar::<hdf5::types::VarLenUnicode>()
        .unwrap();
    assert_eq!(job.as_str(), "image");
    assert_eq!(
        f.dataset("kernel")
            .unwrap()
            .read_2d::<f64>()
            .unwrap()
            .shape(),
        &[3, 3]
    );
    let (min, max) = (read_f64(&out, "/stats/min"), read_f64(&out, "/stats/max"));
    assert!(0.0 <= min && min < max && max <= 9.0, "min {min} max {max}");
    assert_eq!(attr(&out, "mode"), "same");
    assert_eq!(attr(&out, "boundary"), "zero");
    assert_eq!(attr(&out, "method_requested"), "auto");
}

#[test]
fn fits_input_gives_the_same_output_as_hdf5() {
    let dir = TestDir::new("img-fits");
    for (fmt, name) in [("hdf5", "in.h5"), ("fits", "in.fits")] {
        synth(
            &dir,
            &[
                "--kind", "random", "--rows", "45", "--cols", "38", "--seed", "9", "--format", fmt,
                "--out", name,
            ],
        );
    }
    for (fmt, name) in [("hdf5", "i16.h5"), ("fits", "i16.fits")] {
        synth(
            &dir,
            &[
                "--kind", "gradient", "--size", "30", "--dtype", "i16", "--format", fmt, "--out",
                name,
            ],
        );
    }
    let extra = [
        "--kernel",
        "gaussian:2:7",
        "--tile",
        "16",
        "--boundary",
        "nearest",
    ];
    assert_success(&run(
        mpirun(2, &image_args("in.h5", "a.h5", &extra)),
        &dir.0,
    ));
    assert_success(&run(
        mpirun(2, &image_args("in.fits", "b.h5", &extra)),
        &dir.0,
    ));
    assert!(bits(&dir.path("a.h5"), "convolved") == bits(&dir.path("b.h5"), "convolved"));
    assert_eq!(stats(&dir.path("a.h5")), stats(&dir.path("b.h5")));
    let mut conv = extra.to_vec();
    conv.push("--convert");
    assert_success(&run(plain(&image_args("i16.h5", "c.h5", &conv)), &dir.0));
    assert_success(&run(plain(&image_args("i16.fits", "d.h5", &conv)), &dir.0));
    assert!(bits(&dir.path("c.h5"), "convolved") == bits(&dir.path("d.h5"), "convolved"));
    // integer FITS without --convert is refused like integer HDF5
    let o = run(plain(&image_args("i16.fits", "e.h5", &extra)), &dir.0);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("BITPIX = 16") && stderr(&o).contains("convert"));
    assert!(!dir.path("e.h5").exists());
}

fn make_h5(path: &Path, f: impl FnOnce(&hdf5::File)) {
    let file = hdf5::File::create(path).unwrap();
    f(&file);
}

/// Each bad input: the exit code, a message naming the file and dataset,
/// and no output file (nor temporary) left behind.
#[test]
fn bad_inputs_fail_cleanly() {
    let dir = TestDir::new("img-bad");
    make_h5(&dir.path("one_d.h5"), |f| {
        f.new_dataset_builder()
            .with_data(&[1.0f64, 2.0, 3.0])
            .create("image")
            .unwrap();
    });
    make_h5(&dir.path("three_d.h5"), |f| {
        f.new_dataset_builder()
            .with_data(&ndarray::Array3::<f64>::zeros((2, 3, 4)))
            .create("image")
            .unwrap();
    });
    make_h5(&dir.path("int.h5"), |f| {
        f.new_dataset_builder()
            .with_data(&ndarray::Array2::<i32>::ones((8, 9)))
            .create("image")
            .unwrap();
    });
    make_h5(&dir.path("empty.h5"), |f| {
        f.new_dataset::<f64>()
            .shape([0, 5])
            .create("image")
            .unwrap();
    });
    make_h5(&dir.path("nan.h5"), |f| {
        let mut a = ndarray::Array2::<f64>::ones((40, 40));
        a[[37, 21]] = f64::NAN;
        f.new_dataset_builder()
            .with_data(&a)
            .create("image")
            .unwrap();
    });
    let inputs = dir.listing();
    let cases: [(&str, &[&str], i32, &[&str]); 8] = [
        ("missing.h5", &[], 1, &["missing.h5", "does not exist"]),
        (
            "one_d.h5",
            &["--dataset", "/nope"],
            1,
            &["one_d.h5", "/nope", "no such dataset"],
        ),
        ("one_d.h5", &[], 1, &["one_d.h5", "'/image'", "1-D"]),
        ("three_d.h5", &[], 1, &["three_d.h5", "3-D"]),
        ("int.h5", &[], 1, &["int.h5", "integer", "convert"]),
        ("empty.h5", &[], 1, &["empty.h5", "empty"]),
        (
            "nan.h5",
            &["--tile", "8"],
            1,
            &["nan.h5", "NaN", "row 37, column 21"],
        ),
        (
            "int.h5",
            &["--kernel", "radial:14"],
            2,
            &["radial:14", "odd"],
        ),
    ];
    for (input, extra, code, words) in cases {
        for ranks in [0usize, 2] {
            let args = image_args(input, "out.h5", extra);
            let o = if ranks == 0 {
                run(plain(&args), &dir.0)
            } else {
                run(mpirun(ranks, &args), &dir.0)
            };
            let err = stderr(&o);
            assert_eq!(
                o.status.code(),
                Some(code),
                "{input} {extra:?} ({ranks} ranks): {err}"
            );
            for w in words {
                assert!(err.contains(w), "{input} {extra:?}: '{w}' not in: {err}");
            }
            assert_eq!(dir.listing(), inputs, "{input} {extra:?} left files behind");
        }
    }
    // the conversions the messages offer work
    let o = run(
        plain(&image_args(
            "int.h5",
            "ok.h5",
            &["--convert", "--kernel", "box:3"],
        )),
        &dir.0,
    );
    assert_success(&o);
    assert_eq!(read_f64(&dir.path("ok.h5"), "/stats/max"), 9.0);
    let o = run(
        plain(&image_args(
            "nan.h5",
            "nan_out.h5",
            &["--allow-nan", "--kernel", "box:3"],
        )),
        &dir.0,
    );
    assert_success(&o);
    let nan_count = hdf5::File::open(dir.path("nan_out.h5"))
        .unwrap()
        .dataset("stats/nan_count")
        .unwrap()
        .read_scalar::<u64>()
        .unwrap();
    assert_eq!(nan_count, 9, "a 3x3 box spreads one NaN to 9 pixels");
}

#[test]
fn usage_errors_exit_2_before_mpi() {
    let dir = TestDir::new("img-usage");
    for (args, words) in [
        (vec!["image", "--out", "x.h5"], vec!["no input image"]),
        (
            vec!["image", "--input", "a.h5", "--mode", "middle"],
            vec!["'mode'", "middle"],
        ),
        (
            vec!["image", "--input", "a.h5", "--kernel", "box:4"],
            vec!["odd"],
        ),
        (
            vec!["image", "--input", "a.h5", "--kernel", "blur:3"],
            vec!["unknown kernel kind"],
        ),
        (
            vec!["image", "--input", "a.h5", "--set", "colour=1"],
            vec!["unknown config key"],
        ),
        (vec!["synth", "image", "--size", "0"], vec!["between 1"]),
    ] {
        let o = run(plain(&args), &dir.0);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        for w in words {
            assert!(stderr(&o).contains(w), "{args:?}: {}", stderr(&o));
        }
        assert!(dir.listing().is_empty());
    }
}

/// Tile-compressed copies (astropy CompImageHDU: lossless GZIP_2 floats,
/// RICE_1 integers) and an IMAGE extension picked by `--hdu` give the
/// /convolved of the plain FITS file, bit for bit; `--hdu` naming a table or
/// a missing HDU exits 1 naming it.
#[test]
fn compressed_fits_and_hdu_choice_give_the_plain_result() {
    let dir = TestDir::new("img-fits-compressed");
    synth(
        &dir,
        &[
            "--kind", "random", "--rows", "45", "--cols", "38", "--seed", "9", "--format", "fits",
            "--out", "in.fits",
        ],
    );
    synth(
        &dir,
        &[
            "--kind", "gradient", "--size", "30", "--dtype", "i16", "--format", "fits", "--out",
            "i16.fits",
        ],
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let py = std::process::Command::new(root.join("scripts/survey-venv.sh"))
        .output()
        .expect("running scripts/survey-venv.sh");
    assert!(
        py.status.success(),
        "scripts/survey-venv.sh (astropy): {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let python = String::from_utf8(py.stdout).unwrap().trim().to_string();
    let o = std::process::Command::new(python)
        .arg(root.join("tests/ref/make_compressed_fits.py"))
        .args(["in.fits", "i16.fits", "."])
        .current_dir(&dir.0)
        .output()
        .expect("running make_compressed_fits.py");
    assert!(
        o.status.success(),
        "make_compressed_fits.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let extra = ["--kernel", "gaussian:2:7", "--tile", "16"];
    let convolve = |input: &str, out: &str, more: &[&str]| {
        let mut a = extra.to_vec();
        a.extend_from_slice(more);
        assert_success(&run(mpirun(2, &image_args(input, out, &a)), &dir.0));
        bits(&dir.path(out), "convolved")
    };
    let want = convolve("in.fits", "plain.h5", &[]);
    assert!(convolve("gzip-f64.fits", "gzip.h5", &[]) == want, "GZIP_2");
    assert!(
        convolve("multi.fits", "sci.h5", &["--hdu", "SCI"]) == want,
        "--hdu SCI"
    );
    assert!(
        convolve("multi.fits", "two.h5", &["--hdu", "2"]) == want,
        "--hdu 2"
    );
    let want = convolve("i16.fits", "i16.h5", &["--convert"]);
    assert!(
        convolve("rice-i16.fits", "rice.h5", &["--convert"]) == want,
        "RICE_1"
    );
    for (hdu, words) in [
        ("1", "HDU 1: not an image with data (BINTABLE"),
        ("7", "no HDU 7"),
    ] {
        let o = run(
            plain(&image_args("multi.fits", "bad.h5", &["--hdu", hdu])),
            &dir.0,
        );
        assert_eq!(o.status.code(), Some(1), "--hdu {hdu}: {}", stderr(&o));
        assert!(stderr(&o).contains(words), "{}", stderr(&o));
        assert!(!dir.path("bad.h5").exists());
    }
}

/// The Python of scripts/survey-venv.sh (astropy), created when missing.
fn astropy_python() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let py = std::process::Command::new(root.join("scripts/survey-venv.sh"))
        .output()
        .expect("running scripts/survey-venv.sh");
    assert!(
        py.status.success(),
        "scripts/survey-venv.sh (astropy): {}",
        String::from_utf8_lossy(&py.stderr)
    );
    String::from_utf8(py.stdout).unwrap().trim().to_string()
}

/// Runs tests/ref/fits_wcs.py with `args` in `dir`; its stdout.
fn fits_wcs_py(python: &str, dir: &TestDir, args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = std::process::Command::new(python)
        .arg(root.join("tests/ref/fits_wcs.py"))
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("running fits_wcs.py");
    assert!(
        o.status.success(),
        "fits_wcs.py {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The primary image of a FITS file (read by tessera's own header walk,
/// not CFITSIO, which wrote it): shape and the bits of its values as f64.
fn fits_bits(file: &Path) -> (Shape2, Vec<u64>) {
    let img = tessera::io::fits::FitsImage::open(file, false)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(img.hdu, 0, "the image is the primary HDU");
    let mut v = Vec::new();
    img.read_window(0, 0, img.rows, img.cols, |x| v.push(x.to_bits()))
        .unwrap();
    (Shape2::new(img.rows, img.cols), v)
}

/// The header cards of HDU `hdu`, keyword -> trimmed value (last wins),
/// and the raw cards.
fn fits_header(
    file: &Path,
    hdu: usize,
) -> (std::collections::BTreeMap<String, String>, Vec<String>) {
    let mut f = tessera::io::cfitsio::Fits::open(file).unwrap();
    f.move_to(hdu).unwrap();
    let cards = f.header_cards().unwrap();
    let mut map = std::collections::BTreeMap::new();
    for c in &cards {
        let key = c[..8].trim().to_string();
        if c.len() > 10 && &c[8..10] == "= " {
            map.insert(key.clone(), f.read_key_string(&key).unwrap().unwrap());
        }
    }
    (map, cards)
}

/// `--out x.fits`: the FITS primary image holds /convolved of the same run
/// written as HDF5, bit for bit (f32 pixels, BITPIX -32), for every mode and
/// an even, non-square kernel; the header carries the input's WCS and
/// observation cards with CRPIXn/LTVn moved by the output's offset (worked
/// out by hand below from scipy's full/same/valid geometry), drops the
/// structural, checksum, data-range and section cards, and holds /stats as
/// TS* keywords that round-trip exactly; astropy's WCS of the output agrees
/// with the input's at the same sky positions. Tile-compressed and IMAGE
/// extension inputs give the same file; 1 and 2 ranks the same pixels.
#[test]
fn fits_output_keeps_pixels_stats_and_wcs() {
    let dir = TestDir::new("img-fits-out");
    let python = astropy_python();
    fits_wcs_py(&python, &dir, &["make", "."]);
    // a 4 x 6 kernel: centre (1, 2) by the (k - 1) / 2 convention of `same`
    std::fs::write(
        dir.path("k46.txt"),
        "1 2 3 4 5 6\n0 1 0 1 0 1\n2 2 2 2 2 2\n1 0 0 0 0 1\n",
    )
    .unwrap();
    let k46 = format!("file:{}", dir.path("k46.txt").display());
    // (mode, kernel, input row and column of output pixel (0, 0))
    let cases: [(&str, &str, i64, i64); 5] = [
        ("same", "gaussian:2:7", 0, 0),
        ("full", "gaussian:2:7", -3, -3),
        ("valid", "gaussian:2:7", 3, 3),
        ("full", &k46, -1, -2),
        ("valid", &k46, 2, 3),
    ];
    let (input, _) = fits_header(&dir.path("wcs.fits"), 0);
    for (i, (mode, kernel, roff, coff)) in cases.iter().enumerate() {
        let (h5, fits) = (format!("c{i}.h5"), format!("c{i}.fits"));
        let extra = ["--kernel", kernel, "--mode", mode, "--tile", "16"];
        for out in [&h5, &fits] {
            assert_success(&run(
                mpirun(2, &image_args("wcs.fits", out, &extra)),
                &dir.0,
            ));
        }
        let (shape, px) = fits_bits(&dir.path(&fits));
        assert_eq!(shape, read_image(&dir.path(&h5), "convolved").0, "{mode}");
        assert!(
            px == bits(&dir.path(&h5), "convolved"),
            "{mode} {kernel}: pixels"
        );
        let (h, cards) = fits_header(&dir.path(&fits), 0);
        assert_eq!(h["BITPIX"], "-32");
        // /stats as keywords, exactly
        let st = stats(&dir.path(&h5));
        let real = |k: &str| h[k].parse::<f64>().unwrap().to_bits();
        assert_eq!(h["TSCOUNT"].parse::<u64>().unwrap(), st[0], "{mode}");
        for (k, want) in ["TSSUM", "TSMEAN", "TSVAR", "TSMIN", "TSMAX"]
            .iter()
            .zip(&st[1..])
        {
            assert_eq!(real(k), *want, "{mode} {k}");
        }
        assert_eq!(h["TSNNAN"], "0");
        assert_eq!(
            (h["TSROFF"].as_str(), h["TSCOFF"].as_str()),
            (roff.to_string().as_str(), coff.to_string().as_str())
        );
        // reference pixels moved by the offset; everything else as it was
        let num =
            |m: &std::collections::BTreeMap<String, String>, k: &str| m[k].parse::<f64>().unwrap();
        for (k, by) in [
            ("CRPIX1", coff),
            ("CRPIX2", roff),
            ("CRPIX1A", coff),
            ("CRPIX2A", roff),
            ("LTV1", coff),
            ("LTV2", roff),
        ] {
            assert_eq!(num(&h, k), num(&input, k) - *by as f64, "{mode} {k}");
        }
        for k in [
            "CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "CUNIT1",
            "A_ORDER", "A_0_2", "B_2_0", "RADESYS", "EQUINOX", "LONPOLE", "LATPOLE", "CTYPE1A",
            "CRVAL1A", "DATE-OBS", "MJD-OBS", "OBJECT", "TELESCOP", "INSTRUME", "FILTER",
            "EXPTIME", "BUNIT", "LTM1_1",
        ] {
            assert_eq!(h.get(k), input.get(k), "{mode}: {k}");
        }
        for k in ["CHECKSUM", "DATASUM", "DATAMIN", "DATAMAX"] {
            assert!(!h.contains_key(k), "{mode}: {k} carried");
        }
        assert_eq!(
            h.contains_key("DATASEC"),
            *mode == "same",
            "{mode}: DATASEC"
        );
        assert!(cards
            .iter()
            .any(|c| c.starts_with("HISTORY calibrated by a made-up pipeline")));
        let r = roff.to_string();
        let c = coff.to_string();
        let said = fits_wcs_py(&python, &dir, &["check", "wcs.fits", "0", &fits, &r, &c]);
        assert!(said.contains("max world-coordinate difference"), "{said}");
        // the kernel as extension KERNEL
        let (kh, _) = fits_header(&dir.path(&fits), 1);
        assert_eq!(kh["EXTNAME"], "KERNEL");
        assert_eq!(kh["BITPIX"], "-64");
    }
    let only = |name: &str| {
        dir.listing()
            .iter()
            .filter(|n| n.contains(name))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        only("c0.fits"),
        ["c0.fits"],
        "no intermediate or temporary file left"
    );

    // tile-compressed and IMAGE-extension inputs: the same pixels and cards
    let extra = ["--kernel", "gaussian:2:7", "--tile", "16"];
    let (want_px, want_h) = (
        fits_bits(&dir.path("c0.fits")),
        fits_header(&dir.path("c0.fits"), 0).0,
    );
    for (input, hdu, more) in [
        ("wcs-gz.fits", "1", None),
        ("wcs-ext.fits", "2", Some("SCI")),
    ] {
        let out = format!("from-{input}");
        let mut a = extra.to_vec();
        if let Some(name) = more {
            a.extend_from_slice(&["--hdu", name]);
        }
        assert_success(&run(mpirun(2, &image_args(input, &out, &a)), &dir.0));
        assert!(fits_bits(&dir.path(&out)) == want_px, "{input}: pixels");
        let (h, _) = fits_header(&dir.path(&out), 0);
        let differs: Vec<&String> = h
            .keys()
            .chain(want_h.keys())
            .filter(|k| {
                !["TSINPUT", "TSINHDU", "DATE"].contains(&k.as_str()) && h.get(*k) != want_h.get(*k)
            })
            .collect();
        assert!(differs.is_empty(), "{input}: cards differ: {differs:?}");
        assert!(
            !h.keys().any(|k| k.starts_with("ZIMAGE")
                || k.starts_with("ZCMP")
                || k == "EXTNAME"
                || k.starts_with("TTYPE")),
            "{input}: {h:?}"
        );
        assert_eq!(h["TSINHDU"], hdu);
        fits_wcs_py(&python, &dir, &["check", input, hdu, &out, "0", "0"]);
    }

    // 1 and 2 ranks: the same pixels and, but for ranks, threads and date, the same header
    assert_success(&run(
        mpirun(1, &image_args("wcs.fits", "one.fits", &extra)),
        &dir.0,
    ));
    assert_success(&run(
        mpirun(2, &image_args("wcs.fits", "two.fits", &extra)),
        &dir.0,
    ));
    assert!(fits_bits(&dir.path("one.fits")) == fits_bits(&dir.path("two.fits")));
    let (one, two) = (
        fits_header(&dir.path("one.fits"), 0).0,
        fits_header(&dir.path("two.fits"), 0).0,
    );
    assert_eq!(
        (one["TSRANKS"].as_str(), two["TSRANKS"].as_str()),
        ("1", "2")
    );
    for k in one.keys().chain(two.keys()) {
        if !["TSRANKS", "TSTHRDS", "DATE"].contains(&k.as_str()) {
            assert_eq!(one.get(k), two.get(k), "{k}");
        }
    }

    // an HDF5 input: the pixels, no WCS; a compressed FITS name is refused
    synth(
        &dir,
        &[
            "--kind", "random", "--rows", "30", "--cols", "20", "--out", "in.h5",
        ],
    );
    for out in ["h.h5", "h.fits"] {
        assert_success(&run(plain(&image_args("in.h5", out, &extra)), &dir.0));
    }
    assert!(fits_bits(&dir.path("h.fits")).1 == bits(&dir.path("h.h5"), "convolved"));
    let (h, _) = fits_header(&dir.path("h.fits"), 0);
    assert_eq!((h["BITPIX"].as_str(), h["TSINHDU"].as_str()), ("-64", "-1"));
    assert!(!h.contains_key("CTYPE1"));
    for bad in ["x.fits.gz", "x.fz"] {
        let o = run(plain(&image_args("in.h5", bad, &extra)), &dir.0);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("uncompressed FITS"), "{}", stderr(&o));
    }
}
