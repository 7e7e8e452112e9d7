//! Features and cleaning checked against numpy/scipy/astropy values embedded by ref/make_ref.py.

use crate::refdata;
use refdata::*;
use tessera::numeric::lightcurve::*;

/// |a - b| <= atol + rtol |b|, NaN matching NaN.
fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= atol + rtol * b.abs()
}

fn check_features(t: &[f64], m: &[f64], e: &[f64], want: &[(&str, f64)]) {
    assert_eq!(want.len(), n_features(), "reference covers every feature");
    let mut scratch = FeatureScratch::default();
    let mut row = vec![0.0; n_features()];
    extract(t, m, e, &mut scratch, &mut row).unwrap();
    let names = feature_names();
    let mut bad = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let (rname, v) = want
            .iter()
            .find(|(n, _)| n == name)
            .copied()
            .unwrap_or_else(|| panic!("no ref for {name}"));
        assert_eq!(rname, *name);
        // 1e-9 relative: the Rust and numpy summation orders differ; AD goes through erfc.
        if !close(row[k], v, 1e-9, 1e-13) {
            bad.push(format!("{name}: got {} want {}", row[k], v));
        }
    }
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}

#[test]
fn features_80_points_match_numpy_scipy() {
    check_features(&A_T, &A_M, &A_E, A_FEATURES);
}

#[test]
fn features_5_points_match_numpy_scipy() {
    check_features(&B_T, &B_M, &B_E, B_FEATURES);
}

#[test]
fn features_3_points_match_and_nan_below_min_points() {
    check_features(&C_T, &C_M, &C_E, C_FEATURES);
    let mut row = vec![0.0; n_features()];
    extract(&C_T, &C_M, &C_E, &mut FeatureScratch::default(), &mut row).unwrap();
    for (info, v) in feature_info().iter().zip(&row) {
        if info.min_points > 3 {
            assert!(v.is_nan(), "{} should be NaN for 3 points", info.name);
        }
    }
}

#[test]
fn feature_metadata_is_consistent() {
    let names = feature_names();
    assert!(names.len() >= 30);
    assert_eq!(names.len(), feature_descriptions().len());
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "unique names");
    assert!(feature_info()
        .iter()
        .all(|f| f.min_points >= 1 && !f.description.is_empty()));
    assert_eq!(row_names().len(), row_width());
}

fn check_clip(c: &SigmaClip, keep: &[f64], lo: f64, hi: f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (l, h, _) = clean::sigma_clip_bounds(&CLIP_X, c, &mut a, &mut b);
    assert!(
        close(l, lo, 1e-12, 0.0) && close(h, hi, 1e-12, 0.0),
        "bounds {l} {h} vs astropy {lo} {hi}"
    );
    for (i, (&x, &k)) in CLIP_X.iter().zip(keep).enumerate() {
        assert_eq!(x >= l && x <= h, k == 1.0, "point {i} = {x}");
    }
}

#[test]
fn sigma_clip_matches_astropy_defaults() {
    check_clip(&SigmaClip::default(), &CLIP1_KEEP, CLIP1_LO, CLIP1_HI);
}

#[test]
fn sigma_clip_matches_astropy_mean_madstd_asymmetric_until_converged() {
    let c = SigmaClip {
        sigma_lower: 2.0,
        sigma_upper: 2.5,
        maxiters: usize::MAX,
        cenfunc: ClipCenter::Mean,
        stdfunc: ClipScale::MadStd,
    };
    check_clip(&c, &CLIP2_KEEP, CLIP2_LO, CLIP2_HI);
}

#[test]
fn sigma_clip_matches_astropy_single_iteration() {
    let c = SigmaClip {
        sigma_lower: 2.0,
        sigma_upper: 2.0,
        maxiters: 1,
        ..SigmaClip::default()
    };
    check_clip(&c, &CLIP3_KEEP, CLIP3_LO, CLIP3_HI);
}

fn assert_slice(a: &[f64], b: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert!(close(x, y, rtol, atol), "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn clean_keep_first_matches_numpy_astropy() {
    let mut out = LcBuf::default();
    let rep = clean(
        &RAW_T,
        &RAW_M,
        &RAW_E,
        &CleanConfig::default(),
        &mut CleanScratch::default(),
        &mut out,
    )
    .unwrap();
    assert_eq!(rep.n_non_finite, CLEAN_NNONFINITE);
    assert_eq!(rep.n_bad_error, CLEAN_NBADERR);
    assert!(!rep.was_sorted);
    assert_eq!(rep.n_duplicate, CLEAN_FIRST_NDUP);
    assert_eq!(rep.n_clipped, CLEAN_FIRST_NCLIP);
    assert_eq!(rep.n_output, out.len());
    assert_slice(&out.t, &CLEAN_FIRST_T, 0.0, 0.0, "t");
    assert_slice(&out.m, &CLEAN_FIRST_M, 0.0, 0.0, "m");
    assert_slice(&out.e, &CLEAN_FIRST_E, 0.0, 0.0, "e");
}

#[test]
fn clean_keep_smallest_error_matches_reference() {
    let cfg = CleanConfig {
        duplicates: DuplicatePolicy::KeepSmallestError,
        ..CleanConfig::default()
    };
    let mut out = LcBuf::default();
    let rep = clean(
        &RAW_T,
        &RAW_M,
        &RAW_E,
        &cfg,
        &mut CleanScratch::default(),
        &mut out,
    )
    .unwrap();
    assert_eq!(rep.n_duplicate, CLEAN_SMALLEST_NDUP);
    assert_eq!(rep.n_clipped, CLEAN_SMALLEST_NCLIP);
    assert_slice(&out.t, &CLEAN_SMALLEST_T, 0.0, 0.0, "t");
    assert_slice(&out.m, &CLEAN_SMALLEST_M, 0.0, 0.0, "m");
    assert_slice(&out.e, &CLEAN_SMALLEST_E, 0.0, 0.0, "e");
}

#[test]
fn detrend_and_zscore_match_numpy() {
    let mut out = LcBuf::default();
    let mut s = CleanScratch::default();
    let cfg = CleanConfig {
        detrend_window: Some(10.0),
        ..CleanConfig::default()
    };
    clean(&RAW_T, &RAW_M, &RAW_E, &cfg, &mut s, &mut out).unwrap();
    assert_slice(&out.m, &CLEAN_DETREND_M, 1e-9, 1e-12, "detrended m");

    let cfg = CleanConfig {
        normalisation: Normalisation::ZScore,
        ..cfg
    };
    let rep = clean(&RAW_T, &RAW_M, &RAW_E, &cfg, &mut s, &mut out).unwrap();
    assert_eq!(rep.normalisation, Normalisation::ZScore);
    assert!(close(rep.norm_offset, CLEAN_ZSCORE_OFFSET, 1e-9, 1e-14));
    assert!(close(rep.norm_scale, CLEAN_ZSCORE_SCALE, 1e-9, 0.0));
    assert_slice(&out.m, &CLEAN_ZSCORE_M, 1e-8, 1e-10, "z-scored m");
    assert_slice(&out.e, &CLEAN_ZSCORE_E, 1e-9, 0.0, "z-scored e");
}

#[test]
fn minmax_matches_numpy_and_pipeline_records_it() {
    let cfg = CleanConfig {
        normalisation: Normalisation::MinMax,
        ..CleanConfig::default()
    };
    let mut out = LcBuf::default();
    clean(
        &RAW_T,
        &RAW_M,
        &RAW_E,
        &cfg,
        &mut CleanScratch::default(),
        &mut out,
    )
    .unwrap();
    assert_slice(&out.m, &CLEAN_MINMAX_M, 1e-12, 1e-14, "min-max m");

    let mut row = vec![0.0; row_width()];
    let mut ps = PipelineScratch::default();
    let rep = process(&RAW_T, &RAW_M, &RAW_E, &cfg, &mut ps, &mut row).unwrap();
    assert_eq!(row[0], RAW_T.len() as f64);
    assert_eq!(row[1], rep.n_output as f64);
    assert_eq!(row[2], Normalisation::MinMax.code());
    let names = row_names();
    let k = names.iter().position(|&n| n == "amplitude").unwrap();
    assert!(close(row[k], 0.5, 1e-12, 0.0), "min-max amplitude is 1/2");
}
