//! Degenerate inputs: every case returns a documented Reason or NaN features, never a panic.

use tessera::numeric::lightcurve::*;

fn run_clean(t: &[f64], m: &[f64], e: &[f64], cfg: &CleanConfig) -> Result<CleanReport, Reason> {
    clean(
        t,
        m,
        e,
        cfg,
        &mut CleanScratch::default(),
        &mut LcBuf::default(),
    )
}

fn run_extract(t: &[f64], m: &[f64], e: &[f64]) -> (Result<(), Reason>, Vec<f64>) {
    let mut row = vec![0.0; n_features()];
    let r = extract(t, m, e, &mut FeatureScratch::default(), &mut row);
    (r, row)
}

fn col(name: &str) -> usize {
    feature_names().iter().position(|&n| n == name).unwrap()
}

#[test]
fn empty_input() {
    assert_eq!(
        run_clean(&[], &[], &[], &CleanConfig::default()),
        Err(Reason::Empty)
    );
    let (r, row) = run_extract(&[], &[], &[]);
    assert_eq!(r, Err(Reason::Empty));
    assert!(row.iter().all(|v| v.is_nan()));
    let mut s = SfScratch::default();
    assert_eq!(
        fit_structure_function(
            &[],
            &[],
            &[],
            SfModel::PowerLaw,
            &SfOptions::default(),
            &mut s
        )
        .unwrap_err(),
        Reason::Empty
    );
}

#[test]
fn length_mismatch_and_row_width() {
    assert_eq!(
        run_clean(&[1.0, 2.0], &[1.0], &[0.1], &CleanConfig::default()),
        Err(Reason::LengthMismatch)
    );
    assert_eq!(
        run_extract(&[1.0, 2.0], &[1.0], &[0.1]).0,
        Err(Reason::LengthMismatch)
    );
    let mut short = vec![0.0; 3];
    assert_eq!(
        extract(
            &[1.0],
            &[1.0],
            &[0.1],
            &mut FeatureScratch::default(),
            &mut short
        ),
        Err(Reason::RowWidth)
    );
    let mut row = vec![0.0; row_width() - 1];
    assert_eq!(
        process(
            &[1.0],
            &[1.0],
            &[0.1],
            &CleanConfig::default(),
            &mut PipelineScratch::default(),
            &mut row
        )
        .unwrap_err(),
        Reason::RowWidth
    );
}

#[test]
fn one_point() {
    // Default cleaning wants 3 points.
    assert_eq!(
        run_clean(&[1.0], &[15.0], &[0.1], &CleanConfig::default()),
        Err(Reason::TooFewPoints)
    );
    // Allowed explicitly, a single point is still constant, so reject_constant must be off too.
    let cfg = CleanConfig {
        min_points: 1,
        ..CleanConfig::default()
    };
    assert_eq!(
        run_clean(&[1.0], &[15.0], &[0.1], &cfg),
        Err(Reason::ConstantMagnitude)
    );
    let cfg = CleanConfig {
        min_points: 1,
        reject_constant: false,
        ..CleanConfig::default()
    };
    assert_eq!(
        run_clean(&[1.0], &[15.0], &[0.1], &cfg).unwrap().n_output,
        1
    );
    // Features: min_points-1 features are defined, the rest NaN.
    let (r, row) = run_extract(&[1.0], &[15.0], &[0.1]);
    assert_eq!(r, Ok(()));
    for (info, v) in feature_info().iter().zip(&row) {
        if info.min_points > 1 {
            assert!(v.is_nan(), "{}", info.name);
        }
    }
    assert_eq!(row[col("count")], 1.0);
    assert_eq!(row[col("mean")], 15.0);
    assert_eq!(row[col("time_span")], 0.0);
    let mut s = SfScratch::default();
    assert_eq!(
        fit_structure_function(
            &[1.0],
            &[15.0],
            &[0.1],
            SfModel::Drw,
            &SfOptions::default(),
            &mut s
        )
        .unwrap_err(),
        Reason::TooFewPoints
    );
}

#[test]
fn all_nan() {
    let nan = f64::NAN;
    let t = [nan, 2.0, 3.0];
    let m = [1.0, nan, f64::INFINITY];
    let e = [0.1, 0.1, 0.1];
    assert_eq!(
        run_clean(&t, &m, &e, &CleanConfig::default()),
        Err(Reason::AllNonFinite)
    );
    let (r, row) = run_extract(&t, &m, &e);
    assert_eq!(r, Err(Reason::AllNonFinite));
    assert!(row.iter().all(|v| v.is_nan()));
    // Partly non-finite: clean drops, extract refuses (it expects a cleaned curve).
    assert_eq!(
        run_extract(&[1.0, 2.0], &[1.0, nan], &[0.1, 0.1]).0,
        Err(Reason::NonFinite)
    );
    let cfg = CleanConfig {
        min_points: 2,
        ..CleanConfig::default()
    };
    let rep = run_clean(&[1.0, 2.0, 3.0], &[1.0, nan, 2.0], &[0.1, 0.1, 0.1], &cfg).unwrap();
    assert_eq!((rep.n_non_finite, rep.n_output), (1, 2));
}

#[test]
fn zero_errors() {
    let t = [1.0, 2.0, 3.0];
    let m = [1.0, 2.0, 3.0];
    assert_eq!(
        run_clean(&t, &m, &[0.0, 0.0, -1.0], &CleanConfig::default()),
        Err(Reason::ZeroErrors)
    );
    assert_eq!(
        run_extract(&t, &m, &[0.1, 0.0, 0.1]).0,
        Err(Reason::ZeroErrors)
    );
    let mut s = SfScratch::default();
    assert_eq!(
        fit_structure_function(
            &t,
            &m,
            &[0.0; 3],
            SfModel::PowerLaw,
            &SfOptions::default(),
            &mut s
        )
        .unwrap_err(),
        Reason::ZeroErrors
    );
    let cfg = CleanConfig {
        min_points: 2,
        ..CleanConfig::default()
    };
    let rep = run_clean(&t, &m, &[0.1, 0.0, 0.1], &cfg).unwrap();
    assert_eq!((rep.n_bad_error, rep.n_output), (1, 2));
}

#[test]
fn unsorted_and_duplicate_times() {
    let t = [3.0, 1.0, 2.0, 1.0, 2.0];
    let m = [13.0, 11.0, 12.0, 11.5, 12.5];
    let e = [0.1, 0.2, 0.1, 0.1, 0.3];
    let cfg = CleanConfig {
        clip: None,
        ..CleanConfig::default()
    };
    let mut out = LcBuf::default();
    let rep = clean(&t, &m, &e, &cfg, &mut CleanScratch::default(), &mut out).unwrap();
    assert!(!rep.was_sorted);
    assert_eq!(rep.n_duplicate, 2);
    assert_eq!(out.t, vec![1.0, 2.0, 3.0]);
    assert_eq!(out.m, vec![11.0, 12.0, 13.0], "keep first in input order");
    let cfg = CleanConfig {
        duplicates: DuplicatePolicy::KeepSmallestError,
        ..cfg
    };
    clean(&t, &m, &e, &cfg, &mut CleanScratch::default(), &mut out).unwrap();
    assert_eq!(
        out.m,
        vec![11.5, 12.0, 13.0],
        "keep smallest error; tie at t=2 -> first"
    );
    // extract refuses raw unsorted / duplicate input instead of computing nonsense slopes.
    assert_eq!(
        run_extract(&[2.0, 1.0, 3.0], &m[..3], &e[..3]).0,
        Err(Reason::Unsorted)
    );
    assert_eq!(
        run_extract(&[1.0, 1.0, 3.0], &m[..3], &e[..3]).0,
        Err(Reason::DuplicateTimes)
    );
}

#[test]
fn constant_magnitudes() {
    let t = [1.0, 2.0, 3.0, 4.0, 5.0];
    let m = [15.0; 5];
    let e = [0.1; 5];
    assert_eq!(
        run_clean(&t, &m, &e, &CleanConfig::default()),
        Err(Reason::ConstantMagnitude)
    );
    let cfg = CleanConfig {
        reject_constant: false,
        ..CleanConfig::default()
    };
    assert_eq!(run_clean(&t, &m, &e, &cfg).unwrap().n_output, 5);
    let cfg = CleanConfig {
        reject_constant: false,
        normalisation: Normalisation::ZScore,
        ..cfg
    };
    assert_eq!(
        run_clean(&t, &m, &e, &cfg),
        Err(Reason::ConstantMagnitude),
        "z-score would divide by 0"
    );

    let (r, row) = run_extract(&t, &m, &e);
    assert_eq!(r, Ok(()));
    for name in [
        "skew",
        "kurtosis",
        "eta",
        "eta_e",
        "stetson_k",
        "cusum",
        "anderson_darling_normal",
        "magnitude_percentage_ratio_40_5",
        "magnitude_percentage_ratio_20_5",
    ] {
        assert!(
            row[col(name)].is_nan(),
            "{name} is undefined for a flat curve"
        );
    }
    for (name, v) in [
        ("mean", 15.0),
        ("standard_deviation", 0.0),
        ("amplitude", 0.0),
        ("chi2", 0.0),
        ("beyond_1_std", 0.0),
        ("linear_trend", 0.0),
        ("median_buffer_range_percentage_10", 0.0),
    ] {
        assert_eq!(row[col(name)], v, "{name}");
    }
    // Structure function of a flat curve: the variability amplitude runs to its lower bound.
    let mut s = SfScratch::default();
    let fit = fit_structure_function(&t, &m, &e, SfModel::PowerLaw, &SfOptions::default(), &mut s)
        .unwrap();
    assert!(fit.at_bound && fit.log_likelihood.is_finite(), "{fit:?}");
}

#[test]
fn all_clipped_and_bad_config() {
    let t = [1.0, 2.0];
    let m = [0.0, 1.0];
    let e = [0.1, 0.1];
    let clip = SigmaClip {
        sigma_lower: 0.5,
        sigma_upper: 0.5,
        ..SigmaClip::default()
    };
    let cfg = CleanConfig {
        clip: Some(clip),
        min_points: 1,
        ..CleanConfig::default()
    };
    assert_eq!(run_clean(&t, &m, &e, &cfg), Err(Reason::AllClipped));
    for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let cfg = CleanConfig {
            detrend_window: Some(w),
            ..CleanConfig::default()
        };
        assert_eq!(run_clean(&t, &m, &e, &cfg), Err(Reason::BadConfig));
    }
}

#[test]
fn extreme_values_do_not_panic() {
    let t = [0.0, 1e-300, 1.0, 1e300];
    let m = [1e200, -1e200, 0.0, 1e-300];
    let e = [1e-300, 1e300, 1.0, 1.0];
    let (r, row) = run_extract(&t, &m, &e);
    assert_eq!(r, Ok(()));
    assert!(
        row.iter().all(|v| v.is_finite() || v.is_nan()),
        "no infinities leak into rows"
    );
    let cfg = CleanConfig {
        min_points: 1,
        detrend_window: Some(1.0),
        ..CleanConfig::default()
    };
    let _ = run_clean(&t, &m, &e, &cfg);
    let mut s = SfScratch::default();
    for model in [SfModel::PowerLaw, SfModel::Drw] {
        let _ = fit_structure_function(&t, &m, &e, model, &SfOptions::default(), &mut s);
    }
}
