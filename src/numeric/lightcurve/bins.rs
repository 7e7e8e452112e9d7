//! Features of the time-binned curve (numeric kernel layer): the curve averaged in windows of
//! `window` days (nightly by default), then a subset of the basic features on the binned
//! points, as light-curve's `Bins(features, window, offset)` (Malanchev et al. 2021, MNRAS
//! 502, 5147; light-curve 0.13).
//!
//! Binning (light-curve's definition): bin `j` holds the points with
//! `⌊(t_i - offset) / window⌋ = j`; with `w_i = 1/δ_i²` and `N_j` points in the bin,
//! - magnitude `m*_j = Σ w_i m_i / Σ w_i` (inverse-variance weighted mean),
//! - weight `w*_j = Σ w_i / N_j`, i.e. error `δ*_j = sqrt(N_j / Σ w_i)`: the typical error of
//!   one point of the bin, **not** the error of the mean `sqrt(1 / Σ w_i)`, which is `sqrt(N_j)`
//!   times smaller. So chi-square-like features of the binned curve measure the scatter of the
//!   nightly means against single-point errors,
//! - time `t*_j = (j + ½) window + offset`, the centre of the bin. light-curve 0.13.3's code
//!   leaves out the `+ offset` (its documentation has it); every feature in [`BINS`] depends on
//!   time differences only, so the two agree on all of them.
//!
//! The subset ([`BINS`]) is what a binned curve is for: the nightly means' level, spread, shape
//! and variability beyond the single-point errors, and the slow trend, with intra-night noise
//! and cadence bursts averaged out (count is the number of occupied windows). Features of the
//! sorted magnitudes at fixed quantiles and the time-sampling features are left out: on dense
//! surveys they repeat the unbinned ones. Names are tessera's basic names prefixed `bins_`
//! (light-curve's are `bins_window{w}_offset{o}_<name>`).

use crate::numeric::lightcurve::features::{
    amplitude, chi2, count, eta_e, eval_table, kurtosis, linear_fit_slope, maximum_slope, mean,
    skew, standard_deviation, stetson_k, weighted_mean, FeatureContext, FeatureScratch,
};

/// Window and offset of the bins (`bins_window`, `bins_offset`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinsOptions {
    /// Width of a bin, days (> 0, finite).
    pub window: f64,
    /// Start of bin 0, days (finite).
    pub offset: f64,
}

impl Default for BinsOptions {
    /// Nightly bins: one day from MJD 0.0 (light-curve's defaults).
    fn default() -> Self {
        BinsOptions {
            window: 1.0,
            offset: 0.0,
        }
    }
}

crate::numeric::lightcurve::prefixed_table! {
    /// The binned-curve features: column `k` of the `bins` block is `BINS[k]` of the binned
    /// curve (formulas, minimum points and citations at the basic feature of the same name).
    BINS, "bins_",
    count, 1, "number of occupied time bins";
    mean, 1, "mean of the binned magnitudes";
    weighted_mean, 1, "weighted mean of the binned magnitudes (bin weight: mean weight of its points)";
    standard_deviation, 2, "standard deviation of the binned magnitudes (ddof=1)";
    amplitude, 1, "half of max minus min binned magnitude";
    skew, 3, "bias-corrected skewness G1 of the binned magnitudes";
    kurtosis, 4, "bias-corrected excess kurtosis G2 of the binned magnitudes";
    stetson_k, 2, "Stetson K of the binned curve";
    eta_e, 2, "von Neumann ratio for uneven sampling of the binned curve";
    chi2, 2, "reduced chi-square of the binned magnitudes about their weighted mean, with single-point bin errors";
    linear_fit_slope, 3, "weighted least-squares slope of the binned curve, mag per day";
    maximum_slope, 2, "maximum |dm/dt| between consecutive bins";
}

/// Working memory of [`bins_features`]; one per thread, grows to the largest curve.
#[derive(Clone, Debug, Default)]
pub struct BinsScratch {
    /// Bin centres of the last call.
    pub t: Vec<f64>,
    /// Bin magnitudes.
    pub m: Vec<f64>,
    /// Bin errors `sqrt(N_j / Σ w_i)`.
    pub e: Vec<f64>,
    features: FeatureScratch,
}

/// Bins a time-sorted curve into `ws.t`, `ws.m`, `ws.e` (see the module docs); bins are
/// consecutive runs of equal `⌊(t - offset)/window⌋`, so unsorted times would split a bin.
pub fn bin_curve(t: &[f64], m: &[f64], e: &[f64], opts: &BinsOptions, ws: &mut BinsScratch) {
    ws.t.clear();
    ws.m.clear();
    ws.e.clear();
    let key = |ti: f64| ((ti - opts.offset) / opts.window).floor();
    let mut i = 0;
    while i < t.len() {
        let j = key(t[i]);
        let (mut n, mut swm, mut sw) = (0.0, 0.0, 0.0);
        while i < t.len() && key(t[i]) == j {
            let w = 1.0 / (e[i] * e[i]);
            n += 1.0;
            swm += m[i] * w;
            sw += w;
            i += 1;
        }
        ws.t.push((j + 0.5) * opts.window + opts.offset);
        ws.m.push(swm / sw);
        ws.e.push((n / sw).sqrt());
    }
}

/// The [`BINS`] features of the cleaned curve `(t, m, e)` (time-sorted, positive errors)
/// binned with `opts`, into `out`. A feature is NaN when the binned curve has fewer points
/// than its minimum (all NaN for an empty curve) or its value is not finite (a constant curve
/// makes the ratios 0/0). Allocation-free once warm.
pub fn bins_features(
    t: &[f64],
    m: &[f64],
    e: &[f64],
    opts: &BinsOptions,
    ws: &mut BinsScratch,
    out: &mut [f64],
) {
    bin_curve(t, m, e, opts, ws);
    if ws.t.is_empty() {
        out.fill(f64::NAN);
        return;
    }
    let ctx = FeatureContext::new(&ws.t, &ws.m, &ws.e, &mut ws.features);
    eval_table(BINS, &ctx, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// light-curve's own unit test of `Bins` (light-curve-feature `features/bins.rs`): the
    /// binned magnitudes and weights of an 11-point series.
    #[test]
    fn binning_matches_light_curves_example() {
        let t = [0.0, 1.0, 1.1, 1.2, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 5.0];
        let m: Vec<f64> = (0..11).map(|i| i as f64).collect();
        let w = [10.0, 5.0, 10.0, 5.0, 10.0, 5.0, 10.0, 5.0, 10.0, 5.0, 10.0];
        let e: Vec<f64> = w.iter().map(|w: &f64| 1.0 / w.sqrt()).collect();
        let mut ws = BinsScratch::default();
        bin_curve(&t, &m, &e, &BinsOptions::default(), &mut ws);
        assert_eq!(ws.t, vec![0.5, 1.5, 2.5, 5.5]);
        let want_m = [0.0, 2.0, 6.333333333333333, 10.0];
        let want_w = [10.0, 6.666666666666667, 7.5, 10.0];
        for k in 0..4 {
            assert!((ws.m[k] - want_m[k]).abs() < 1e-12, "{:?}", ws.m);
            assert!((1.0 / (ws.e[k] * ws.e[k]) - want_w[k]).abs() < 1e-12);
        }
        // windows and offsets: bin counts of light-curve's second test
        for (window, offset, bins) in [
            (2.0, 0.0, 3),
            (3.0, 0.0, 2),
            (10.0, 0.0, 1),
            (1.0, 0.1, 5),
            (1.0, 0.5, 5),
            (2.0, 1.0, 3),
        ] {
            bin_curve(&t, &m, &e, &BinsOptions { window, offset }, &mut ws);
            assert_eq!(ws.t.len(), bins, "window {window} offset {offset}");
            assert_eq!(
                ws.t[0],
                (((0.0 - offset) / window).floor() + 0.5) * window + offset
            );
        }
    }

    /// Degenerate inputs: an empty curve, one bin, a constant curve.
    #[test]
    fn degenerate_inputs_are_nan() {
        let mut ws = BinsScratch::default();
        let mut out = vec![0.0; BINS.len()];
        let opts = BinsOptions::default();
        bins_features(&[], &[], &[], &opts, &mut ws, &mut out);
        assert!(out.iter().all(|x| x.is_nan()));
        // three points in one night: one bin, only the one-point features
        bins_features(
            &[10.1, 10.2, 10.3],
            &[1.0, 2.0, 3.0],
            &[0.1; 3],
            &opts,
            &mut ws,
            &mut out,
        );
        for (f, v) in BINS.iter().zip(&out) {
            assert_eq!(v.is_finite(), f.min_points <= 1, "{}: {v}", f.name);
        }
        assert_eq!(out[0], 1.0);
        // constant over several nights: the spread-normalised features are NaN
        let t: Vec<f64> = (0..8).map(|i| i as f64 * 1.5).collect();
        bins_features(&t, &[5.0; 8], &[0.1; 8], &opts, &mut ws, &mut out);
        let col = |n: &str| BINS.iter().position(|f| f.name == n).unwrap();
        assert_eq!(out[col("bins_standard_deviation")], 0.0);
        for n in ["bins_skew", "bins_kurtosis", "bins_stetson_k", "bins_eta_e"] {
            assert!(out[col(n)].is_nan(), "{n}: {}", out[col(n)]);
        }
    }
}
