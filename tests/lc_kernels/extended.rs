//! The extended feature table against light-curve 0.13 and independent numpy formulas on real
//! SDSS Stripe 82 RR Lyrae and ZTF SN Ia curves (values from tests/ref/make_extended_ref.py),
//! plus a timing of the whole table on 200-point curves (`--ignored`).

use tessera::numeric::lightcurve::extended::*;
use tessera::numeric::lightcurve::features::FeatureContext;
use tessera::numeric::lightcurve::FeatureScratch;

#[path = "../data/extended_ref.rs"]
mod extended_ref;
use extended_ref as r;

/// |a - b| <= atol + rtol |b|, NaN matching NaN.
fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= atol + rtol * b.abs()
}

fn curve(k: usize) -> (&'static [f64], &'static [f64], &'static [f64]) {
    let (a, b) = (r::OFFSETS[k], r::OFFSETS[k + 1]);
    (&r::T[a..b], &r::M[a..b], &r::E[a..b])
}

fn rows() -> Vec<Vec<f64>> {
    let mut scratch = ExtendedScratch::default();
    (0..r::CURVES.len())
        .map(|k| {
            let (t, m, e) = curve(k);
            let mut row = vec![0.0; N_EXTENDED];
            extract_extended(t, m, e, &mut scratch, &mut row)
                .unwrap_or_else(|why| panic!("{}: {why}", r::CURVES[k]));
            row
        })
        .collect()
}

#[test]
fn extended_names_match_reference_columns() {
    assert_eq!(extended_names(), r::NAMES.to_vec());
    assert_eq!(extended_descriptions().len(), N_EXTENDED);
}

#[test]
fn extended_features_match_light_curve_and_numpy_on_real_curves() {
    let nf = r::NAMES.len();
    let pvar = r::NAMES.iter().position(|&n| n == "chi2_pvar").unwrap();
    let mut bad = Vec::new();
    let mut worst = vec![0.0f64; nf];
    let mut worst_scipy = 0.0f64;
    for (k, row) in rows().iter().enumerate() {
        let want = &r::EXPECTED[k * nf..(k + 1) * nf];
        for j in 0..nf {
            let (got, exp) = (row[j], want[j]);
            // chi2_pvar: light-curve returns 1 - P(a, x), exact to ~1e-16 absolute only, so it
            // is compared absolutely; the relative check is against scipy's gammaincc below.
            let ok = if j == pvar {
                close(got, exp, 0.0, 1e-13)
            } else {
                close(got, exp, 1e-9, 0.0)
            };
            if !ok {
                bad.push(format!(
                    "{} {}: got {got} want {exp}",
                    r::CURVES[k],
                    r::NAMES[j]
                ));
            } else if exp != 0.0 && exp.is_finite() {
                worst[j] = worst[j].max(((got - exp) / exp).abs());
            }
        }
        let sp = r::CHI2_PVAR_SCIPY[k];
        if sp != 0.0 {
            worst_scipy = worst_scipy.max(((row[pvar] - sp) / sp).abs());
        }
        if !close(row[pvar], sp, 1e-9, 0.0) {
            bad.push(format!(
                "{} chi2_pvar: got {} scipy {sp}",
                r::CURVES[k],
                row[pvar]
            ));
        }
    }
    for (name, w) in r::NAMES.iter().zip(&worst) {
        println!("{name:32} max rel diff {w:.2e}");
    }
    println!(
        "{:32} max rel diff {worst_scipy:.2e} (vs scipy gammaincc)",
        "chi2_pvar"
    );
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}

/// Thread CPU time in seconds: the machine these tests run on is shared, and wall time would
/// count the time other processes hold the core.
fn cpu_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[test]
#[ignore = "timing, run with --ignored --nocapture"]
fn extended_table_timing_200_points() {
    // 200-point curves cut from the reference RR Lyrae / noise data, re-timed to be strictly
    // increasing, so every feature (including the Qn selection) runs on realistic values.
    let n = 200;
    let curves: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = (0..r::CURVES.len())
        .map(|k| {
            let (_, m, e) = curve(k);
            let t: Vec<f64> = (0..n)
                .map(|i| 58000.0 + 1.37 * i as f64 + (i % 7) as f64 * 0.1)
                .collect();
            let mm: Vec<f64> = (0..n)
                .map(|i| m[(i * 7) % m.len()] + 1e-4 * i as f64)
                .collect();
            let ee: Vec<f64> = (0..n).map(|i| e[(i * 7) % e.len()]).collect();
            (t, mm, ee)
        })
        .collect();
    let mut scratch = ExtendedScratch::with_capacity(n);
    let mut row = vec![0.0; N_EXTENDED];
    let reps = 400;
    let start = cpu_now();
    let mut sink = 0.0;
    for _ in 0..reps {
        for (t, m, e) in &curves {
            extract_extended(t, m, e, &mut scratch, &mut row).unwrap();
            sink += row[3];
        }
    }
    let per = (cpu_now() - start) / (reps * curves.len()) as f64;
    println!(
        "extended table ({N_EXTENDED} features): {:.2} us per 200-point curve",
        per * 1e6
    );
    // Per-feature split: each eval on prepared contexts (the context itself, shared by all
    // features, is the sort + MAD + two line fits of features.rs).
    let mut fs: Vec<FeatureScratch> = curves.iter().map(|_| FeatureScratch::default()).collect();
    let start = cpu_now();
    for _ in 0..reps {
        for ((t, m, e), s) in curves.iter().zip(fs.iter_mut()) {
            sink += FeatureContext::new(t, m, e, s).mean;
        }
    }
    let per = (cpu_now() - start) / (reps * curves.len()) as f64;
    println!("  {:30} {:7.3} us", "(shared context)", per * 1e6);
    let ctxs: Vec<FeatureContext> = curves
        .iter()
        .zip(fs.iter_mut())
        .map(|((t, m, e), s)| FeatureContext::new(t, m, e, s))
        .collect();
    for info in EXTENDED {
        let start = cpu_now();
        for _ in 0..reps {
            for c in &ctxs {
                sink += (info.eval)(c);
            }
        }
        let per = (cpu_now() - start) / (reps * ctxs.len()) as f64;
        println!("  {:30} {:7.3} us", info.name, per * 1e6);
    }
    println!("(sink {sink:.3})");
}

/// One context for both tables (`extract_with_extended`, what the row does) gives exactly
/// the rows of `extract` and `extract_extended` called alone, on every reference curve, and
/// a width error for a wrong extended row.
#[test]
fn shared_context_gives_the_separate_rows_bit_for_bit() {
    use tessera::numeric::lightcurve::features::{extract, N_FEATURES};
    let alone = rows();
    let mut fs = FeatureScratch::default();
    for (k, want_ext) in alone.iter().enumerate() {
        let (t, m, e) = curve(k);
        let mut want = vec![0.0; N_FEATURES];
        extract(t, m, e, &mut fs, &mut want).unwrap();
        let (mut row, mut ext) = (vec![0.0; N_FEATURES], vec![0.0; N_EXTENDED]);
        extract_with_extended(t, m, e, &mut fs, &mut row, Some(&mut ext)).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&row), bits(&want), "{}: basic row", r::CURVES[k]);
        assert_eq!(bits(&ext), bits(want_ext), "{}: extended row", r::CURVES[k]);
    }
    let (t, m, e) = curve(0);
    let (mut row, mut short) = (vec![0.0; N_FEATURES], vec![0.0; N_EXTENDED - 1]);
    let r = extract_with_extended(t, m, e, &mut fs, &mut row, Some(&mut short));
    assert!(r.is_err());
    assert!(row.iter().chain(&short).all(|v| v.is_nan()));
}
