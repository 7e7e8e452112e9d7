//! Stored periodograms (`store_periodogram`) and `tessera plot`: the stored
//! points against the full periodogram recomputed here, the same datasets
//! under `mpirun -n 1` and `-n 2`; figures that decode as PNG and parse as
//! SVG for single-band, multiband, flagged and NaN rows; unknown objects and
//! missing inputs refused with exit 2; a `--select` gallery.

mod util;

use std::path::Path;

use tessera::config::Layered;
use tessera::jobs::lightcurves::config::LcConfig;
use tessera::numeric::lightcurve::clean::{clean, CleanScratch, LcBuf};
use tessera::numeric::lightcurve::dmdt::{dmdt_map, DmDtScratch};
use tessera::numeric::periodogram::{
    autofrequency, lomb_scargle, multiband_power, FreqGrid, LombScargleScratch, MultibandScratch,
    ASTROPY_REG_BAND,
};
use util::*;

const POINTS: usize = 256;

fn synth(dir: &TestDir, name: &str, bands: &str, n: &str) -> String {
    let out = dir.path(name).to_str().unwrap().to_string();
    let o = run(
        plain(&[
            "synth",
            "lightcurves",
            "-n",
            n,
            "--bands",
            bands,
            "--seed",
            "5",
            "--epochs",
            "45",
            "--out",
            &out,
        ]),
        &dir.0,
    );
    assert_success(&o);
    out
}

fn lightcurves(dir: &TestDir, ranks: usize, input: &str, out: &str, extra: &[&str]) {
    let mut args = vec![
        "lightcurves",
        "--input",
        input,
        "--out",
        out,
        "--tile",
        "2",
        "--set",
        "structure_function=false",
    ];
    args.extend_from_slice(extra);
    assert_success(&run(launch(ranks, &args), &dir.0));
}

/// Every dataset of `/periodograms`, as bits.
fn stored_bits(path: &Path) -> Vec<(String, Vec<u64>)> {
    let f = hdf5::File::open(path).unwrap();
    let g = f.group("periodograms").unwrap();
    let mut names = g.member_names().unwrap();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v = g.dataset(&n).unwrap().read_raw::<f64>().unwrap();
            (n, v.iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

fn read_2d(f: &hdf5::File, name: &str) -> ndarray::Array2<f64> {
    f.dataset(name).unwrap().read_2d::<f64>().unwrap()
}

/// The job's configuration with `store_periodogram` and the method, for
/// the cleaning and grid settings the test recomputes with.
fn job_config(method: &str) -> LcConfig {
    let mut l = Layered::default();
    l.set("input", toml::Value::String("unused.h5".into()), "test");
    l.set("periodogram", toml::Value::String(method.into()), "test");
    LcConfig::from_layered(&l).unwrap()
}

/// Every object's cleaned bands (band index and points) as the job with
/// `cfg` cleans them, and the number of bands of the file.
fn cleaned_objects(lc: &Path, cfg: &LcConfig) -> (usize, Vec<Vec<(u8, LcBuf)>>) {
    let lcf = hdf5::File::open(lc).unwrap();
    let offsets = lcf
        .dataset("lightcurves/offsets")
        .unwrap()
        .read_raw::<u64>()
        .unwrap();
    let col = |n: &str| {
        lcf.dataset(&format!("lightcurves/{n}"))
            .unwrap()
            .read_raw::<f64>()
            .unwrap()
    };
    let (time, mag, err) = (col("time"), col("mag"), col("err"));
    let band = lcf
        .dataset("lightcurves/band")
        .unwrap()
        .read_raw::<u8>()
        .unwrap();
    let bands = lcf.dataset("lightcurves/band_names").unwrap().shape()[0];
    let mut scratch = CleanScratch::default();
    let mut objects = Vec::new();
    for obj in 0..offsets.len() - 1 {
        let r = offsets[obj] as usize..offsets[obj + 1] as usize;
        let mut cleaned: Vec<(u8, LcBuf)> = Vec::new();
        for b in 0..bands {
            let pick = |v: &[f64]| -> Vec<f64> {
                r.clone()
                    .filter(|&k| band[k] as usize == b)
                    .map(|k| v[k])
                    .collect()
            };
            let mut curve = LcBuf::default();
            if clean(
                &pick(&time),
                &pick(&mag),
                &pick(&err),
                &cfg.object.clean,
                &mut scratch,
                &mut curve,
            )
            .is_ok()
            {
                cleaned.push((b as u8, curve));
            }
        }
        objects.push(cleaned);
    }
    (bands, objects)
}

/// Recomputes every row's full periodogram from the light-curve file (the
/// band's cleaned points, or all bands' for the multi row) and checks the
/// stored record against it: each pooled point is a grid point, at its
/// power, the highest of its block; peaks and aliases are grid points at
/// their power. Returns the number of rows checked.
fn check_stored_against_full(lc: &Path, features: &Path, method: &str) -> usize {
    let cfg = job_config(method);
    let method = cfg.object.method;
    let (bands, objects) = cleaned_objects(lc, &cfg);
    let f = hdf5::File::open(features).unwrap();
    let (grid, freq, power) = (
        read_2d(&f, "periodograms/grid"),
        read_2d(&f, "periodograms/frequency"),
        read_2d(&f, "periodograms/power"),
    );
    let (peak_f, peak_p) = (
        read_2d(&f, "periodograms/peak_frequency"),
        read_2d(&f, "periodograms/peak_power"),
    );
    let (alias_f, alias_p) = (
        read_2d(&f, "periodograms/alias_frequency"),
        read_2d(&f, "periodograms/alias_power"),
    );
    assert_eq!(freq.ncols(), POINTS);
    let mut checked = 0;
    for (obj, cleaned) in objects.iter().enumerate() {
        // the rows and the points their periodograms are made from
        let mut rows: Vec<(usize, Vec<f64>, Vec<f64>, Vec<f64>, Vec<u8>)> = cleaned
            .iter()
            .map(|(b, c)| {
                (
                    obj * (bands + 1) + *b as usize,
                    c.t.clone(),
                    c.m.clone(),
                    c.e.clone(),
                    vec![0; c.len()],
                )
            })
            .collect();
        if cleaned.len() > 1 {
            // the multi row: every cleaned point, by time then band
            let mut all: Vec<(f64, u8, f64, f64)> = cleaned
                .iter()
                .flat_map(|(b, c)| (0..c.len()).map(move |i| (c.t[i], *b, c.m[i], c.e[i])))
                .collect();
            all.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            rows.push((
                obj * (bands + 1) + bands,
                all.iter().map(|p| p.0).collect(),
                all.iter().map(|p| p.2).collect(),
                all.iter().map(|p| p.3).collect(),
                all.iter().map(|p| p.1).collect(),
            ));
        }
        for (row, t, y, dy, bnd) in rows {
            let g: FreqGrid = autofrequency(&t, &cfg.object.grid).unwrap();
            let mut full = vec![0.0; g.n];
            let multi = row % (bands + 1) == bands;
            let ok = if multi {
                multiband_power(
                    &t,
                    &y,
                    Some(&dy),
                    &bnd,
                    bands,
                    &g,
                    method,
                    ASTROPY_REG_BAND,
                    &mut MultibandScratch::default(),
                    &mut full,
                )
            } else {
                lomb_scargle(
                    &t,
                    &y,
                    Some(&dy),
                    &g,
                    method,
                    &mut LombScargleScratch::default(),
                    &mut full,
                )
            };
            assert!(ok, "row {row}");
            assert_eq!(
                grid.row(row).to_vec(),
                vec![g.f0, g.df, g.n as f64],
                "row {row}: grid"
            );
            let index = |fr: f64| {
                let k = ((fr - g.f0) / g.df).round() as usize;
                assert_eq!(
                    g.f0 + g.df * k as f64,
                    fr,
                    "row {row}: {fr} is no grid point"
                );
                k
            };
            assert!(g.n > POINTS, "row {row}: a grid of {} points", g.n);
            for j in 0..POINTS {
                let k = index(freq[[row, j]]);
                assert_eq!(power[[row, j]], full[k], "row {row} point {j}");
                // the block: indices j n / POINTS .. (j + 1) n / POINTS
                let (a, b) = (j * g.n / POINTS, (j + 1) * g.n / POINTS);
                assert!(
                    (a..b).contains(&k),
                    "row {row} point {j}: {k} outside {a}..{b}"
                );
                let best = full[a..b].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(
                    power[[row, j]],
                    best,
                    "row {row} point {j}: not the block maximum"
                );
            }
            // the global maximum survives
            let top = full.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert!(power.row(row).iter().any(|&p| p == top), "row {row}");
            for k in 0..peak_f.ncols() {
                let i = index(peak_f[[row, k]]);
                assert_eq!(peak_p[[row, k]], full[i], "row {row} peak {k}");
            }
            assert_eq!(peak_p[[row, 0]], top, "row {row}: peak 1 is the maximum");
            for a in 0..alias_f.ncols() {
                let fr = alias_f[[row, a]];
                if fr.is_nan() {
                    assert!(alias_p[[row, a]].is_nan());
                    continue;
                }
                let i = index(fr);
                assert_eq!(alias_p[[row, a]], full[i], "row {row} alias {a}");
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn stored_periodograms_equal_the_full_periodogram_for_any_ranks() {
    let dir = TestDir::new("plot-stored");
    let set = format!("store_periodogram={POINTS}");
    for (lc, bands, method) in [("multi.h5", "g,r,i", "direct"), ("single.h5", "g", "fast")] {
        let lc = synth(&dir, lc, bands, "7");
        let method_set = format!("periodogram={method}");
        let mut outs = Vec::new();
        for ranks in [1, 2] {
            let out = dir.path(&format!("f-{bands}-{ranks}.h5"));
            lightcurves(
                &dir,
                ranks,
                &lc,
                out.to_str().unwrap(),
                &["--set", &set, "--set", &method_set],
            );
            outs.push(out);
        }
        let (one, two) = (stored_bits(&outs[0]), stored_bits(&outs[1]));
        assert_eq!(one.len(), 7, "{bands}: the seven datasets");
        assert!(
            one == two,
            "{bands}: /periodograms differ between -n 1 and -n 2"
        );
        let rows = check_stored_against_full(Path::new(&lc), &outs[0], method);
        let expected = if bands == "g" { 7 } else { 7 * 4 };
        assert_eq!(rows, expected, "{bands}: rows checked");
        // single band: the multi row repeats the band row's record
        if bands == "g" {
            let f = hdf5::File::open(&outs[0]).unwrap();
            let p = read_2d(&f, "periodograms/power");
            for obj in 0..7 {
                assert_eq!(p.row(2 * obj), p.row(2 * obj + 1), "object {obj}");
            }
        }
    }
    // off by default: no /periodograms
    let lc = dir.path("single.h5");
    lightcurves(&dir, 1, lc.to_str().unwrap(), "plain.h5", &[]);
    let f = hdf5::File::open(dir.path("plain.h5")).unwrap();
    assert!(!f.link_exists("periodograms"));
}

/// dm-dt maps (`dmdt`) beside stored periodograms in one record: the same
/// bits under `-n 1` and `-n 2`, every band row the kernel's map of the
/// band's cleaned points, the multi row NaN (several bands) or a copy of the
/// band row (one band), the edges stored.
#[test]
fn dmdt_maps_are_the_kernels_maps_for_any_ranks() {
    let dir = TestDir::new("plot-dmdt");
    let keys = [
        ("store_periodogram", "64"),
        ("dmdt", "gausses"),
        ("dmdt_lgdt", "-1,2.5,10"),
        ("dmdt_dm", "1.5,12"),
        ("dmdt_norm", "dt"),
    ];
    let sets: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s.as_str()]).collect();
    let mut l = Layered::default();
    l.set("input", toml::Value::String("unused.h5".into()), "test");
    for (k, v) in keys {
        l.set(k, toml::Value::String(v.into()), "test");
    }
    let cfg = LcConfig::from_layered(&l).unwrap();
    let plan = cfg.object.dmdt.clone().unwrap();
    let map_bits = |p: &Path| -> Vec<u64> {
        let f = hdf5::File::open(p).unwrap();
        let v = f.dataset("dmdt/map").unwrap().read_raw::<f64>().unwrap();
        v.iter().map(|x| x.to_bits()).collect()
    };
    for (lc, bands) in [("multi.h5", "g,r"), ("single.h5", "g")] {
        let lc = synth(&dir, lc, bands, "5");
        let outs = [1, 2].map(|ranks| {
            let out = dir.path(&format!("d-{bands}-{ranks}.h5"));
            lightcurves(&dir, ranks, &lc, out.to_str().unwrap(), &args);
            out
        });
        assert!(
            map_bits(&outs[0]) == map_bits(&outs[1]),
            "{bands}: -n 1 vs -n 2"
        );
        assert!(stored_bits(&outs[0]) == stored_bits(&outs[1]), "{bands}");
        let f = hdf5::File::open(&outs[0]).unwrap();
        let map = f
            .dataset("dmdt/map")
            .unwrap()
            .read::<f64, ndarray::Ix3>()
            .unwrap();
        assert_eq!(&map.shape()[1..], &[10, 12]);
        let edges = f
            .dataset("dmdt/lgdt_edges")
            .unwrap()
            .read_raw::<f64>()
            .unwrap();
        assert_eq!(edges, plan.lgdt_edges());
        let (nb, objects) = cleaned_objects(Path::new(&lc), &cfg);
        let mut ws = DmDtScratch::default();
        let mut checked = 0;
        for (obj, cleaned) in objects.iter().enumerate() {
            let row = |b: usize| {
                map.slice(ndarray::s![obj * (nb + 1) + b, .., ..])
                    .to_owned()
            };
            for (b, c) in cleaned {
                let mut want = vec![0.0; plan.width()];
                assert!(dmdt_map(&plan, &c.t, &c.m, &c.e, &mut ws, &mut want));
                let got: Vec<f64> = row(*b as usize).iter().copied().collect();
                assert!(
                    got.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{bands} object {obj} band {b}"
                );
                assert!(want.iter().sum::<f64>() > 0.0);
                checked += 1;
            }
            let multi = row(nb);
            if nb == 1 {
                assert_eq!(multi, row(0), "one band: multi is a copy");
            } else {
                assert!(multi.iter().all(|v| v.is_nan()), "{bands} object {obj}");
            }
        }
        assert_eq!(checked, 5 * nb, "{bands}: rows checked");
    }
}

/// The PNG signature, its size, and at least `min_ink` of its pixels drawn
/// (not white): 1% for a figure with data; a figure of empty panels has text
/// and frames only.
fn check_png(path: &Path, min_ink: f64) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        (1500, 1380),
        "{}",
        path.display()
    );
    let px = info.color_type.samples();
    let ink = buf[..info.buffer_size()]
        .chunks(px)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    let total = (info.width * info.height) as usize;
    assert!(
        ink as f64 > min_ink * total as f64,
        "{}: only {ink} of {total} pixels drawn",
        path.display()
    );
}

/// Parses the SVG as XML: an `svg` root of the figure's size with text and
/// (unless `empty`: a figure of empty panels) many drawing elements; returns
/// every text element's content.
fn check_svg(path: &Path, empty: bool) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not XML: {e}", path.display()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{}", path.display());
    assert_eq!(root.attribute("width"), Some("1500"));
    assert_eq!(root.attribute("height"), Some("1380"));
    let count = |tag: &str| {
        doc.descendants()
            .filter(|n| n.tag_name().name() == tag)
            .count()
    };
    let (texts, shapes) = if empty { (5, 3) } else { (20, 50) };
    assert!(
        count("text") > texts,
        "{}: {} texts",
        path.display(),
        count("text")
    );
    assert!(
        count("circle") + count("polyline") + count("line") + count("path") + count("rect")
            > shapes,
        "{}: too few drawing elements",
        path.display()
    );
    doc.descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n")
}

fn object_ids(features: &Path) -> Vec<String> {
    let f = hdf5::File::open(features).unwrap();
    f.dataset("objects/object_id")
        .unwrap()
        .read_raw::<hdf5::types::VarLenUnicode>()
        .unwrap()
        .iter()
        .map(|s| s.as_str().to_string())
        .collect()
}

#[test]
fn plot_draws_single_band_and_multiband_objects_as_png_and_svg() {
    let dir = TestDir::new("plot-figures");
    let single = synth(&dir, "single.h5", "g", "3");
    let multi = synth(&dir, "multi.h5", "g,r,i", "3");
    // single band with stored periodograms, multiband recomputed from the input
    let grid = ["--min-period", "0.2", "--max-period", "2"];
    let mut stored = grid.to_vec();
    stored.extend(["--set", "store_periodogram=512"]);
    lightcurves(&dir, 1, &single, "fs.h5", &stored);
    lightcurves(&dir, 1, &multi, "fm.h5", &grid);
    for (features, source) in [("fs.h5", "stored"), ("fm.h5", "recomputed")] {
        let id = object_ids(&dir.path(features))[1].clone();
        let out = format!("out-{features}");
        let o = run(
            plain(&[
                "plot", features, "--object", &id, "--out", &out, "--format", "both",
            ]),
            &dir.0,
        );
        assert_success(&o);
        let png = dir.path(&out).join(format!("{id}.png"));
        check_png(&png, 0.01);
        let texts = check_svg(&dir.path(&out).join(format!("{id}.svg")), false);
        assert!(texts.contains(&format!("object {id}")), "{texts}");
        assert!(texts.contains(source), "{features}: {texts}");
        assert!(texts.contains("refined period"), "{texts}");
        assert!(texts.contains("frequency (cycles / day)"), "{texts}");
        assert!(texts.contains("magnitude (brighter up)"), "{texts}");
        assert!(texts.contains("time (MJD, days)"), "{texts}");
        assert!(texts.contains("folded at the refined period"), "{texts}");
        assert!(!texts.contains("flagged"), "{texts}");
        if features == "fm.h5" {
            for b in ["g (", "r (", "i ("] {
                assert!(texts.contains(b), "band {b}: {texts}");
            }
        }
        // the period in the title is the features file's
        let f = hdf5::File::open(dir.path(features)).unwrap();
        let v = read_2d(&f, "features/values");
        let names = stored_columns(&dir.path(features));
        let c = names.iter().position(|n| n == "period_refined").unwrap();
        let per = f.dataset("features/band_names").unwrap().shape()[0];
        let p = v[[per + per - 1, c]];
        assert!(p.is_finite());
        let stdout = stdout(&o);
        assert!(stdout.contains(&format!("{p}")), "{stdout} vs {p}");
    }
}

/// Without the refinement (`refine_peaks = 0`) the figure marks and folds at the plain
/// periodogram peak, and says so.
#[test]
fn plot_without_refinement_folds_at_the_plain_peak() {
    let dir = TestDir::new("plot-unrefined");
    let multi = synth(&dir, "multi.h5", "g,r", "2");
    let args = [
        "--min-period",
        "0.2",
        "--max-period",
        "2",
        "--set",
        "refine_peaks=0",
    ];
    lightcurves(&dir, 1, &multi, "f0.h5", &args);
    let id = object_ids(&dir.path("f0.h5"))[0].clone();
    let o = run(
        plain(&[
            "plot", "f0.h5", "--object", &id, "--out", "o", "--format", "svg",
        ]),
        &dir.0,
    );
    assert_success(&o);
    let texts = check_svg(&dir.path("o").join(format!("{id}.svg")), false);
    assert!(!texts.contains("refined period"), "{texts}");
    assert!(texts.contains("(not refined)"), "{texts}");
    assert!(
        texts.contains("folded at the plain periodogram peak"),
        "{texts}"
    );
    assert!(!texts.contains("no period to fold at"), "{texts}");
    // the period printed is the multi row's plain peak
    let f = hdf5::File::open(dir.path("f0.h5")).unwrap();
    let v = read_2d(&f, "features/values");
    let names = stored_columns(&dir.path("f0.h5"));
    let col = |n: &str| names.iter().position(|x| x == n).unwrap();
    // rows per object: the bands and `multi` (the last of `band_names`)
    let multi_row = f.dataset("features/band_names").unwrap().shape()[0] - 1;
    assert!(v[[multi_row, col("period_refined")]].is_nan());
    let p = v[[multi_row, col("period")]];
    assert!(
        stdout(&o).contains(&format!("plain periodogram peak {p} d")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn plot_draws_flagged_and_nan_rows_and_refuses_unknown_objects() {
    let dir = TestDir::new("plot-flagged");
    let csv = dir.path("csv");
    std::fs::create_dir(&csv).unwrap();
    let mut good = String::from("time,mag,magerr,band\n");
    for k in 0..60 {
        let t = 50000.0 + k as f64 * 3.17;
        for (b, off) in [("g", 0.0), ("r", -0.3)] {
            good += &format!(
                "{t},{},0.03,{b}\n",
                17.0 + off + 0.4 * (std::f64::consts::TAU * t / 0.61).sin()
            );
        }
    }
    // g has two points (too few), r is fine: a flagged band beside a good one
    let mut short = String::from("time,mag,magerr,band\n50001,17,0.1,g\n50002,17.2,0.1,g\n");
    for k in 0..50 {
        let t = 50000.0 + k as f64 * 2.9;
        short += &format!("{t},{},0.05,r\n", 16.0 + 0.3 * (t / 0.37).cos());
    }
    let nan =
        "time,mag,magerr,band\n1,nan,0.1,g\n2,nan,0.1,g\n3,nan,0.1,g\n4,nan,0.1,r\n5,nan,0.1,r\n";
    for (name, text) in [("good", good.as_str()), ("short", &short), ("allnan", nan)] {
        std::fs::write(csv.join(format!("{name}.csv")), text).unwrap();
    }
    assert_success(&run(
        plain(&["ingest", "csv", csv.to_str().unwrap(), "--out", "lc.h5"]),
        &dir.0,
    ));
    lightcurves(
        &dir,
        1,
        "lc.h5",
        "f.h5",
        &["--set", "store_periodogram=128"],
    );
    for (id, reason) in [("short", "g: too_few_points"), ("allnan", "all_non_finite")] {
        let o = run(
            plain(&["plot", "f.h5", "--object", id, "--format", "both"]),
            &dir.0,
        );
        assert_success(&o);
        let min_ink = if id == "allnan" { 0.003 } else { 0.01 };
        check_png(&dir.path("plots").join(format!("{id}.png")), min_ink);
        let texts = check_svg(&dir.path("plots").join(format!("{id}.svg")), id == "allnan");
        assert!(texts.contains("flagged"), "{id}: {texts}");
        assert!(texts.contains(reason), "{id}: {texts}");
        if id == "allnan" {
            assert!(texts.contains("no finite observation"), "{texts}");
            assert!(texts.contains("no periodogram"), "{texts}");
            assert!(texts.contains("no period to fold at"), "{texts}");
        } else {
            // the good band still gives a period, a periodogram and a fold
            assert!(texts.contains("refined period"), "{texts}");
            assert!(texts.contains("folded at the refined period"), "{texts}");
        }
    }
    // an unknown object: exit 2 naming it, nothing written
    let o = run(
        plain(&["plot", "f.h5", "--object", "nosuchstar", "--out", "none"]),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("'nosuchstar'"), "{}", stderr(&o));
    assert!(!dir.path("none").exists());
    let o = run(
        plain(&["plot", "f.h5", "--objects", "good,nosuch1", "--out", "none"]),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("'nosuch1'") && !stderr(&o).contains("'good'"));
    // the recorded input gone: exit 2 saying to pass --input; with it, fine
    std::fs::rename(dir.path("lc.h5"), dir.path("moved.h5")).unwrap();
    let o = run(plain(&["plot", "f.h5", "--object", "good"]), &dir.0);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("pass --input"), "{}", stderr(&o));
    let o = run(
        plain(&["plot", "f.h5", "--object", "good", "--input", "moved.h5"]),
        &dir.0,
    );
    assert_success(&o);
    check_png(&dir.path("plots/good.png"), 0.01);
    // a bad filter: exit 2
    let o = run(
        plain(&[
            "plot",
            "f.h5",
            "--select",
            "no_such_column<3",
            "--input",
            "moved.h5",
        ]),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no_such_column"));
}

#[test]
fn select_gallery_writes_the_selected_objects_and_an_index() {
    let dir = TestDir::new("plot-gallery");
    let lc = synth(&dir, "lc.h5", "g,r", "8");
    lightcurves(&dir, 2, &lc, "f.h5", &["--set", "store_periodogram=256"]);
    // the objects whose multi row has a refined period below the median
    let f = hdf5::File::open(dir.path("f.h5")).unwrap();
    let v = read_2d(&f, "features/values");
    let names = stored_columns(&dir.path("f.h5"));
    let c = names.iter().position(|n| n == "period_refined").unwrap();
    let ids = object_ids(&dir.path("f.h5"));
    let multi: Vec<f64> = (0..ids.len()).map(|i| v[[3 * i + 2, c]]).collect();
    let mut sorted = multi.clone();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted[ids.len() / 2];
    let want: Vec<&String> = ids
        .iter()
        .zip(&multi)
        .filter(|(_, &p)| p < cut)
        .map(|(id, _)| id)
        .collect();
    assert!(!want.is_empty() && want.len() < ids.len());
    let filter = format!("multi:period_refined < {cut}");
    let o = run(
        plain(&["plot", "f.h5", "--select", &filter, "--out", "gallery"]),
        &dir.0,
    );
    assert_success(&o);
    let mut files: Vec<String> = std::fs::read_dir(dir.path("gallery"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = want.iter().map(|id| format!("{id}.png")).collect();
    expected.push("index.html".into());
    expected.sort();
    assert_eq!(files, expected);
    for id in &want {
        check_png(&dir.path("gallery").join(format!("{id}.png")), 0.01);
    }
    let index = std::fs::read_to_string(dir.path("gallery/index.html")).unwrap();
    for id in &ids {
        let linked = index.contains(&format!("href=\"{id}.png\""));
        assert_eq!(linked, want.contains(&id), "{id} in the index: {linked}");
    }
    assert!(index.contains("period_refined") && index.contains("best FAP"));
    assert!(index.contains(&format!("{} objects", want.len())));
}
