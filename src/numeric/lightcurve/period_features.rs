//! Features of a periodogram and of the curve folded at its period (numeric kernel layer): the
//! peaks' signal-to-noise, features of the power spectrum read as a time series, and features
//! of the phase-folded curve, as light-curve's `Periodogram(peaks, features, phase_features)`
//! (Malanchev et al. 2021, MNRAS 502, 5147; light-curve 0.13).
//!
//! Definitions, with `P_k` the power on the `N_f` grid frequencies:
//! - **signal-to-noise** of a peak: `(P_peak - ⟨P⟩) / σ_P`, `⟨P⟩` the mean and `σ_P` the
//!   ddof = 1 standard deviation of the power over the whole grid (light-curve's
//!   `period_s_to_n_k`, checked against it to 1e-9 on the same power). Invariant to the
//!   scale of the power, so light-curve's 'psd' and 'standard' normalisations give the same
//!   value; but light-curve's power is the classic unweighted Lomb-Scargle (no floating mean,
//!   no errors) and tessera's the weighted generalised one, so the two packages' values on the
//!   same grid differ by the power they are taken of, not by the definition.
//! - **spectrum features** ([`SPECTRUM`]): the power as magnitudes, in grid order, unit
//!   weights. Only statistics that do not read the frequency axis are kept, so they do not
//!   depend on its unit (light-curve passes angular frequency) nor on the grid's spacing
//!   beyond which frequencies it samples: mean, standard deviation, skew, kurtosis and the
//!   fraction of the grid beyond 2 standard deviations. A single strong period gives a large
//!   skew and kurtosis and a small fraction beyond 2σ; red noise or many aliases give a broad,
//!   less peaked spectrum. Mean and standard deviation are of the standard-normalised power
//!   (0..1; light-curve's `normalization='standard'`, its default 'psd' is `(N-1)/2` times
//!   larger); the other three are scale free.
//! - **phase features** ([`PHASE`]): the curve folded at a period `P` with light-curve's
//!   convention, phase `φ_i = frac(t_i / P)`, shifted so that the smallest magnitude (the
//!   brightest point; the first one on ties) has phase 0, and sorted by phase. Only features
//!   that depend on the order of the points are kept: order-free ones (mean, spread, skew, ...)
//!   equal those of the unfolded curve. `eta` and the Lafler-Kinman string length are small
//!   when the folded curve is smooth (a true period) and about 2 and 1 for noise; `cusum` is
//!   large for a coherent shape; `linear_trend` (magnitude per unit phase from maximum light)
//!   is positive for the fast-rise, slow-decline RRab / Cepheid shape and near zero for
//!   symmetric ones; `maximum_slope` is the steepest change between phase neighbours (the
//!   rise), but it grows without bound as two phases coincide, so it is noisy on sparse data.
//!
//! Tessera folds the row at `period_refined` (the alias-corrected period), or at `period`
//! when no refinement was made: features of a curve folded at an alias are noise. light-curve
//! folds at its top peak; the reference test passes light-curve's period.

use crate::numeric::lightcurve::extended::lafler_kinman_string_length;
use crate::numeric::lightcurve::features::{
    cusum, eta, eval_table, fraction_beyond, kurtosis_of, linear_trend, maximum_slope, skew_of,
    FeatureContext, FeatureScratch,
};
use crate::numeric::lightcurve::stats;

/// Mean and ddof = 1 standard deviation of the power over the grid (two passes, so that a
/// long grid of small powers does not cancel). NaN for fewer than 2 values.
pub fn power_mean_std(power: &[f64]) -> (f64, f64) {
    let mean = stats::mean(power);
    (mean, stats::variance(power, 1).sqrt())
}

/// Signal-to-noise of a peak of power `p`: `(p - mean) / std` with [`power_mean_std`] of the
/// grid (light-curve `Periodogram`'s `period_s_to_n`). NaN when `std` is 0 or not finite (a
/// flat periodogram). Min points: those of the periodogram (3). 1 value per peak.
pub fn peak_signal_to_noise(p: f64, mean: f64, std: f64) -> f64 {
    if std > 0.0 && std.is_finite() {
        (p - mean) / std
    } else {
        f64::NAN
    }
}

/// Names of the spectrum features, in column order (light-curve's, prefixed `periodogram_`).
pub const SPECTRUM: [(&str, &str); 5] = [
    ("periodogram_mean", "mean standard-normalised Lomb-Scargle power over the grid (light-curve Periodogram feature Mean, normalization='standard')"),
    ("periodogram_standard_deviation", "standard deviation (ddof=1) of the power over the grid"),
    ("periodogram_skew", "bias-corrected skewness G1 of the power over the grid (peakedness of the spectrum)"),
    ("periodogram_kurtosis", "bias-corrected excess kurtosis G2 of the power over the grid"),
    ("periodogram_beyond_2_std", "fraction of the grid whose power is more than 2 standard deviations from the mean"),
];

/// The spectrum features of `power` (one value per grid frequency) into `out` ([`SPECTRUM`]
/// order): mean (min 1 value), ddof = 1 standard deviation (2), skew G1 (3), kurtosis G2 (4),
/// fraction beyond 2σ (2), each as light-curve's `Mean`, `StandardDeviation`, `Skew`,
/// `Kurtosis`, `BeyondNStd(2)` of the power read as magnitudes (formulas in
/// [`crate::numeric::lightcurve::features`]; Joanes & Gill 1998 for G1, G2). NaN when the minimum is not met or the value
/// is not finite (a flat spectrum). O(N_f), no allocation.
pub fn spectrum_features(power: &[f64], out: &mut [f64]) {
    let (mean, std) = power_mean_std(power);
    let n = power.len();
    let v = [
        (1, mean),
        (2, std),
        (3, skew_of(power, mean, std)),
        (4, kurtosis_of(power, mean, std)),
        (2, fraction_beyond(power, mean, 2.0 * std)),
    ];
    for (o, (min, x)) in out.iter_mut().zip(v) {
        *o = if n >= min && x.is_finite() {
            x
        } else {
            f64::NAN
        };
    }
}

crate::numeric::lightcurve::prefixed_table! {
    /// The phase features: column `k` is `PHASE[k]` of the folded curve.
    PHASE, "period_folded_",
    eta, 2, "von Neumann ratio of the phase-ordered magnitudes (about 2 for noise, small for a smooth folded curve)";
    lafler_kinman_string_length, 2, "Lafler-Kinman string length of the folded curve, with wrap-around (about 1 for noise)";
    cusum, 2, "range of the normalised cumulative sum of deviations in phase order";
    linear_trend, 3, "least-squares slope of magnitude against phase, phase 0 at maximum light (mag per cycle)";
    maximum_slope, 2, "largest |dm/dphase| between phase neighbours (mag per cycle)";
}

/// Working memory of [`phase_features`]; one per thread, grows to the largest curve.
#[derive(Clone, Debug, Default)]
pub struct PhaseScratch {
    order: Vec<usize>,
    raw: Vec<f64>,
    /// Phases of the last fold, ascending.
    pub phase: Vec<f64>,
    /// Magnitudes in phase order.
    pub m: Vec<f64>,
    /// Errors in phase order.
    pub e: Vec<f64>,
    features: FeatureScratch,
}

/// Folds `(t, m, e)` at `period` into `ws.phase`, `ws.m`, `ws.e` with light-curve's
/// convention: `φ_i = (t_i / P) mod 1`, then `(φ_i - φ_min + 1) mod 1` with `φ_min` the phase
/// of the smallest magnitude (its first occurrence), sorted by phase (ties by input order).
/// The arithmetic is light-curve's, so the same period gives the same phases to the bit.
/// Empty output for a non-positive or non-finite period or an empty curve.
pub fn fold_at_minimum(t: &[f64], m: &[f64], e: &[f64], period: f64, ws: &mut PhaseScratch) {
    for v in [&mut ws.raw, &mut ws.phase, &mut ws.m, &mut ws.e] {
        v.clear();
    }
    ws.order.clear();
    if !(period > 0.0 && period.is_finite()) || t.is_empty() {
        return;
    }
    ws.raw.extend(t.iter().map(|&ti| {
        let p = (ti / period) % 1.0;
        if p < 0.0 {
            p + 1.0
        } else {
            p
        }
    }));
    let mut first_min = 0;
    for (i, &mi) in m.iter().enumerate() {
        if mi < m[first_min] {
            first_min = i;
        }
    }
    let offset = ws.raw[first_min];
    ws.raw
        .iter_mut()
        .for_each(|p| *p = (*p - offset + 1.0) % 1.0);
    ws.order.extend(0..t.len());
    let raw = &ws.raw;
    ws.order
        .sort_unstable_by(|&i, &j| raw[i].total_cmp(&raw[j]).then(i.cmp(&j)));
    for &i in &ws.order {
        ws.phase.push(raw[i]);
        ws.m.push(m[i]);
        ws.e.push(e[i]);
    }
}

/// The phase features ([`PHASE`]) of `(t, m, e)` folded at `period` by
/// [`fold_at_minimum`], into `out`. Minimum points per feature as in the table (the
/// formulas are those of [`crate::numeric::lightcurve::features`] and [`lafler_kinman_string_length`] with the phase in
/// place of the time); all NaN for a non-positive or non-finite period; NaN for a constant
/// curve (0/0) and for `maximum_slope` when two phases coincide. Allocation-free once warm.
pub fn phase_features(
    t: &[f64],
    m: &[f64],
    e: &[f64],
    period: f64,
    ws: &mut PhaseScratch,
    out: &mut [f64],
) {
    fold_at_minimum(t, m, e, period, ws);
    if ws.phase.is_empty() {
        out.fill(f64::NAN);
        return;
    }
    let ctx = FeatureContext::new(&ws.phase, &ws.m, &ws.e, &mut ws.features);
    eval_table(PHASE, &ctx, out);
}

/// Columns of the `period_features` block: [`SPECTRUM`] then [`PHASE`].
pub const PERIOD_FEATURES_WIDTH: usize = SPECTRUM.len() + PHASE.len();

/// The `period_features` block of one band: [`spectrum_features`] of `power` then
/// [`phase_features`] at `period`, into `out` (width [`PERIOD_FEATURES_WIDTH`]).
pub fn period_features(
    power: &[f64],
    curve: (&[f64], &[f64], &[f64]),
    period: f64,
    ws: &mut PhaseScratch,
    out: &mut [f64],
) {
    let (spectrum, phase) = out.split_at_mut(SPECTRUM.len());
    spectrum_features(power, spectrum);
    phase_features(curve.0, curve.1, curve.2, period, ws, phase);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed forms: a power of two values {0, 1} in equal numbers has mean 1/2, skew 0;
    /// signal-to-noise of the top is (1 - 1/2)/std.
    #[test]
    fn spectrum_closed_forms_and_flat_spectrum() {
        let p: Vec<f64> = (0..10).map(|i| (i % 2) as f64).collect();
        let mut out = [0.0; 5];
        spectrum_features(&p, &mut out);
        let std = (10.0 * 0.25 / 9.0f64).sqrt();
        assert!((out[0] - 0.5).abs() < 1e-15 && (out[1] - std).abs() < 1e-15);
        assert!(out[2].abs() < 1e-15, "{out:?}");
        assert_eq!(out[4], 0.0); // |x - 0.5| = 0.5 < 2 std everywhere
        let (mean, s) = power_mean_std(&p);
        assert!((peak_signal_to_noise(1.0, mean, s) - 0.5 / std).abs() < 1e-14);
        // flat: NaN for everything scale-dependent, the mean kept
        spectrum_features(&[0.3; 7], &mut out);
        assert_eq!(out[0], 0.3);
        assert_eq!(out[1], 0.0);
        assert!(out[2].is_nan() && out[3].is_nan());
        assert!(peak_signal_to_noise(0.3, 0.3, 0.0).is_nan());
        // too short for the higher moments
        spectrum_features(&[0.1, 0.2], &mut out);
        assert!(out[1].is_finite() && out[2].is_nan() && out[3].is_nan());
    }

    /// Folding: phases in [0, 1), the brightest point at phase 0, ascending; the values
    /// of a sawtooth folded at its period are monotonic in phase, so eta is tiny.
    #[test]
    fn fold_puts_the_minimum_at_phase_zero() {
        let p = 0.7;
        let t: Vec<f64> = (0..60).map(|i| 50000.0 + i as f64 * 1.37).collect();
        let m: Vec<f64> = t.iter().map(|&x| 15.0 + ((x / p) % 1.0)).collect();
        let e = vec![0.01; t.len()];
        let mut ws = PhaseScratch::default();
        fold_at_minimum(&t, &m, &e, p, &mut ws);
        assert_eq!(ws.phase[0], 0.0);
        assert!(ws.phase.windows(2).all(|w| w[0] <= w[1] && w[1] < 1.0));
        let mmin = m.iter().cloned().fold(f64::INFINITY, f64::min);
        assert_eq!(ws.m[0], mmin);
        let mut out = [0.0; PHASE.len()];
        phase_features(&t, &m, &e, p, &mut ws, &mut out);
        assert!(out[0] < 0.05, "eta {out:?}");
        assert!(
            out[3] > 0.9 && out[3] < 1.1,
            "slope about 1 mag per cycle: {out:?}"
        );
    }

    /// Degenerate inputs: no period, a constant curve, too few points.
    #[test]
    fn degenerate_inputs_are_nan() {
        let t = [1.0, 2.0, 3.5, 4.0];
        let mut ws = PhaseScratch::default();
        let mut out = [0.0; PHASE.len()];
        for bad in [f64::NAN, 0.0, -1.0, f64::INFINITY] {
            phase_features(&t, &[1.0, 2.0, 1.5, 1.0], &[0.1; 4], bad, &mut ws, &mut out);
            assert!(out.iter().all(|x| x.is_nan()), "period {bad}: {out:?}");
        }
        phase_features(&t, &[2.0; 4], &[0.1; 4], 0.9, &mut ws, &mut out);
        let col = |n: &str| PHASE.iter().position(|f| f.name == n).unwrap();
        for n in [
            "period_folded_eta",
            "period_folded_lafler_kinman_string_length",
            "period_folded_cusum",
        ] {
            assert!(out[col(n)].is_nan(), "{n} of a constant curve: {out:?}");
        }
        phase_features(&t[..2], &[1.0, 2.0], &[0.1; 2], 0.9, &mut ws, &mut out);
        assert!(out[col("period_folded_linear_trend")].is_nan());
        assert!(out[col("period_folded_eta")].is_finite());
    }

    #[test]
    fn names_are_prefixed() {
        assert!(PHASE.iter().all(|f| f.name.starts_with("period_folded_")));
        assert_eq!(PHASE[0].name, "period_folded_eta");
    }
}
