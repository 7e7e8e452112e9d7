//! Extended light-curve feature table: robust scales, Otsu split, string length, parabolic fit,
//! time moments, chi-square variability probability, Stetson J/L and magnitude entropies.
//!
//! A second table next to [`features::FEATURES`](crate::numeric::lightcurve::features::FEATURES),
//! built from the same [`FeatureInfo`] rows and evaluated over the same [`FeatureContext`], so
//! column `k` of an extended row is always [`EXTENDED`]`[k]`. The existing 39 features are not
//! touched. Names follow light-curve 0.13 / light-curve-feature (Malanchev et al. 2021, MNRAS
//! 502, 5147) where the feature exists there; notation as in
//! [`features`](crate::numeric::lightcurve::features) (`N` points, `m_i`, `δ_i`, weights
//! `w_i = 1/δ_i²`, `m̄_w` the weighted mean, `σ_m` the ddof = 1 standard deviation).
//!
//! light-curve features **not** in this table, and why:
//! - `Duration` is tessera's `time_span`, `ReducedChi2` its `chi2`, `PeakToPeakVar` its
//!   `peak_to_peak_variability` (identical definitions; tests/ref/make_extended_ref.py checks
//!   the first two on every reference curve);
//! - `MagnitudeNNotDetBeforeFd` / `FluxNNotDetBeforeFd` count non-detections, which a
//!   cleaned tessera curve does not contain; `Bootstrap` is a wrapper around other features;
//! - periodogram, transient fits (`BazinFit`, `VillarFit`, `LinexpFit`, `RainbowFit`), `Bins`,
//!   colour features and dm-dt are handled elsewhere.
//!
//! Every function is allocation-free: the only working memory is the sorted magnitude array of
//! the context, which [`ExtendedScratch`] owns. A feature whose minimum point count is not met,
//! or whose value is not finite, is written as NaN by [`extract_extended`].

use crate::numeric::lightcurve::features::{
    self, validate, FeatureContext, FeatureInfo, FeatureScratch,
};
use crate::numeric::lightcurve::reason::Reason;
pub use crate::numeric::lightcurve::shared_fits::{OtsuSplit, ParabolaFit, SharedFits};

/// Working memory for [`extract_extended`]; keep one per thread. Grows to the largest curve
/// seen (two `f64` buffers of `N`: sorted magnitudes and absolute deviations for the MAD).
#[derive(Clone, Debug, Default)]
pub struct ExtendedScratch {
    base: FeatureScratch,
}

impl ExtendedScratch {
    /// Scratch already sized for curves of up to `n` points.
    pub fn with_capacity(n: usize) -> Self {
        ExtendedScratch {
            base: FeatureScratch::with_capacity(n),
        }
    }
}

#[inline]
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        f64::NAN
    } else {
        num / den
    }
}

#[inline]
fn is_flat(c: &FeatureContext) -> bool {
    c.max == c.min
}

// ---------------------------------------------------------------------------------------------
// Time moments
// ---------------------------------------------------------------------------------------------

/// Mean time `⟨t⟩ = Σ t_i / N`. Min points 1; 1 value. Cadence-dependent.
/// (light-curve-feature `TimeMean`.)
pub fn time_mean(c: &FeatureContext) -> f64 {
    c.t.iter().sum::<f64>() / c.n
}

/// Sample standard deviation of the times `sqrt(Σ(t_i - ⟨t⟩)²/(N-1))` (ddof = 1, two-pass).
/// Min points 2; 1 value. Cadence-dependent. (light-curve-feature `TimeStandardDeviation`,
/// whose doc formula omits the square root; its value is the square root, as here.)
pub fn time_standard_deviation(c: &FeatureContext) -> f64 {
    let mu = time_mean(c);
    let s: f64 = c.t.iter().map(|&t| (t - mu) * (t - mu)).sum();
    (s / (c.n - 1.0)).sqrt()
}

// ---------------------------------------------------------------------------------------------
// Robust scales
// ---------------------------------------------------------------------------------------------

/// Tuning constant of [`biweight_scale_9`].
pub const BIWEIGHT_C: f64 = 9.0;

/// Tukey biweight scale (biweight midvariance, square root), tuning constant `c = 9`:
/// with `M = Median(m)`, `MAD = Median(|m_i - M|)` (unscaled) and `u_i = (m_i - M)/(c MAD)`,
/// `ζ = sqrt(N) sqrt(Σ_{|u_i|<1} (m_i - M)² (1-u_i²)⁴) / |Σ_{|u_i|<1} (1-u_i²)(1-5u_i²)|`.
/// Returns 0 when `MAD = 0` (at least half the points equal the median, e.g. a constant curve),
/// as light-curve does. Min points 1; 1 value.
/// (Beers, Flynn & Gebhardt 1990, AJ 100, 32, eq. 9; light-curve `BiweightScale(c=9)`, named
/// `biweight_scale_9`; equals `astropy.stats.biweight_scale(m, c=9, M=median)`.)
pub fn biweight_scale_9(c: &FeatureContext) -> f64 {
    if c.mad <= 0.0 {
        return 0.0;
    }
    let scale = BIWEIGHT_C * c.mad;
    let (mut num, mut den) = (0.0, 0.0);
    for &m in c.m {
        let d = m - c.median;
        let u2 = (d / scale).powi(2);
        if u2 < 1.0 {
            let v = 1.0 - u2;
            num += d * d * v.powi(4);
            den += v * (1.0 - 5.0 * u2);
        }
    }
    (c.n * num / (den * den)).sqrt()
}

/// Gaussian-consistency factor of [`qn`]: `1 / (sqrt(2) Φ⁻¹(5/8))`.
pub const QN_C: f64 = 2.219144465985076;

/// Qn scale (Rousseeuw & Croux 1993): `Qn = QN_C · d_(k)`, the `k`-th smallest of the
/// `N(N-1)/2` pairwise distances `|m_i - m_j|` (`i < j`), `h = ⌊N/2⌋ + 1`, `k = h(h-1)/2`.
/// No small-sample correction factor (as light-curve and `statsmodels.robust.scale.qn_scale`).
/// Min points 2; 1 value; 0 for a constant curve.
///
/// Algorithm: selection over the implicit sorted difference matrix, no working memory beyond
/// the sorted magnitudes. One O(N) two-pointer pass counts the differences `≤ d` and also
/// returns the largest difference `≤ d` and the smallest `> d`; a safeguarded search on `d`
/// (interpolation on the counts, bisection whenever a step did not halve the bracket) snaps
/// its bracket to those actual differences and stops as soon as the count is `k` or `k-1`.
/// Every pass shrinks the bracket and every second pass at least halves it, so there are at
/// most `2 log2(range/s) + 3` passes (`s`: the smallest gap between distinct differences; ≤ ~120
/// for double-precision magnitudes) and in practice 5-9 on real curves: O(N) per pass after
/// the O(N log N) sort. The value is exactly one of the computed differences, so it equals the
/// brute-force O(N²) order statistic bit for bit.
///
/// (Rousseeuw & Croux 1993, JASA 88, 1273; light-curve `QnScale`, named `qn`.)
pub fn qn(c: &FeatureContext) -> f64 {
    QN_C * qn_unscaled_sorted(c.sorted)
}

/// Count pairs `i < j` of ascending `y` with `y_j - y_i ≤ d` (`d ≥ 0`); also the largest such
/// difference (-inf if none) and the smallest difference `> d` (+inf if none).
fn count_le(y: &[f64], d: f64) -> (u64, f64, f64) {
    let mut count = 0u64;
    let (mut below, mut above) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut i = 0;
    for j in 0..y.len() {
        while y[j] - y[i] > d {
            i += 1;
        }
        count += (j - i) as u64;
        if i < j {
            below = below.max(y[j] - y[i]);
        }
        if i > 0 {
            above = above.min(y[j] - y[i - 1]);
        }
    }
    (count, below, above)
}

/// Unscaled Qn order statistic of ascending `y` (see [`qn`]); NaN for fewer than 2 values.
pub fn qn_unscaled_sorted(y: &[f64]) -> f64 {
    let n = y.len();
    if n < 2 {
        return f64::NAN;
    }
    let h = (n / 2 + 1) as u64;
    let k = h * (h - 1) / 2;
    // Invariant: lo <= answer <= hi, hi an actual difference; cl = #differences < lo,
    // ch = #differences <= hi, so the answer is the (k - cl)-th of the ch - cl in [lo, hi].
    let (mut lo, mut hi) = (0.0f64, y[n - 1] - y[0]);
    let (mut cl, mut ch) = (0u64, (n as u64) * (n as u64 - 1) / 2);
    let mut bisect = false;
    loop {
        if lo >= hi {
            return hi;
        }
        let width = hi - lo;
        // Interpolate on the counts (the differences are roughly evenly spread inside a
        // small bracket); bisect after a step that did not halve the bracket.
        let mut mid = if bisect {
            lo + 0.5 * width
        } else {
            lo + width * (((k - cl) as f64 - 0.5) / (ch - cl) as f64)
        };
        if !(mid > lo && mid < hi) {
            mid = lo + 0.5 * width;
            if mid >= hi {
                mid = lo; // adjacent doubles: probe lo, which settles the bracket
            }
        }
        let (cnt, below, above) = count_le(y, mid);
        if cnt >= k {
            if cnt == k {
                return below;
            }
            hi = below;
            ch = cnt;
        } else {
            if cnt + 1 == k {
                return above;
            }
            lo = above;
            cl = cnt;
        }
        bisect = hi - lo > 0.5 * width;
    }
}

// ---------------------------------------------------------------------------------------------
// Otsu split
// ---------------------------------------------------------------------------------------------

/// Relative tolerance under which two inter-class variances count as tied in [`otsu_split`].
const OTSU_TIE_RTOL: f64 = 1e-12;

/// Otsu's threshold (Otsu 1979, IEEE Trans. SMC 9, 62) on ascending values: over the `N-1`
/// splits after index `k` (lower part `n₁ = k+1` points, upper `n₂ = N-n₁`), maximise the
/// inter-class variance `(n₁/N)(n₂/N)(μ₁ - μ₂)²`; the smallest such split wins, as in
/// light-curve ("the minimum threshold of the absolute maximum"), with ties taken within a
/// relative 1e-12 so that rounding does not decide between exactly tied splits. Sums are
/// taken about the mean, so MJD-sized or magnitude-sized offsets do not cancel. `None` for
/// fewer than 2 values or constant data.
pub fn otsu_split(sorted: &[f64]) -> Option<OtsuSplit> {
    let n = sorted.len();
    if n < 2 || sorted[0] == sorted[n - 1] {
        return None;
    }
    let nf = n as f64;
    let shift = sorted.iter().sum::<f64>() / nf;
    let total: f64 = sorted.iter().map(|&y| y - shift).sum();
    let inter = |n1: usize, s1: f64| {
        let n1f = n1 as f64;
        let n2f = nf - n1f;
        let d = s1 / n1f - (total - s1) / n2f;
        (n1f / nf) * (n2f / nf) * d * d
    };
    let mut vmax = f64::NEG_INFINITY;
    let mut s1 = 0.0;
    for (k, &y) in sorted[..n - 1].iter().enumerate() {
        s1 += y - shift;
        vmax = vmax.max(inter(k + 1, s1));
    }
    let thr = vmax * (1.0 - OTSU_TIE_RTOL);
    let mut s1 = 0.0;
    let mut n_lower = n - 1;
    for (k, &y) in sorted[..n - 1].iter().enumerate() {
        s1 += y - shift;
        if inter(k + 1, s1) >= thr {
            n_lower = k + 1;
            break;
        }
    }
    let (lower, upper) = sorted.split_at(n_lower);
    let (ml, sl) = mean_std(lower);
    let (mu, su) = mean_std(upper);
    Some(OtsuSplit {
        n_lower,
        mean_diff: mu - ml,
        std_lower: sl,
        std_upper: su,
        lower_to_all_ratio: n_lower as f64 / nf,
    })
}

/// Mean and ddof = 1 standard deviation (0 for a single value) of a non-empty slice.
fn mean_std(x: &[f64]) -> (f64, f64) {
    let mu = x.iter().sum::<f64>() / x.len() as f64;
    if x.len() < 2 {
        return (mu, 0.0);
    }
    let s: f64 = x.iter().map(|&v| (v - mu) * (v - mu)).sum();
    (mu, (s / (x.len() - 1) as f64).sqrt())
}

/// Otsu split: mean of the upper (fainter) part minus mean of the lower part, see
/// [`otsu_split`]. Min points 2; NaN for a constant curve. (Otsu 1979, IEEE Trans. SMC 9, 62;
/// light-curve `OtsuSplit`, output 1 of 4.)
pub fn otsu_mean_diff(c: &FeatureContext) -> f64 {
    otsu(c).map_or(f64::NAN, |o| o.mean_diff)
}

/// Otsu split: standard deviation (ddof = 1; 0 for one point) of the lower part. Min points 2.
/// (light-curve `OtsuSplit`, output 2 of 4.)
pub fn otsu_std_lower(c: &FeatureContext) -> f64 {
    otsu(c).map_or(f64::NAN, |o| o.std_lower)
}

/// Otsu split: standard deviation (ddof = 1; 0 for one point) of the upper part. Min points 2.
/// (light-curve `OtsuSplit`, output 3 of 4.)
pub fn otsu_std_upper(c: &FeatureContext) -> f64 {
    otsu(c).map_or(f64::NAN, |o| o.std_upper)
}

/// Otsu split: fraction of the points in the lower part. Min points 2.
/// (light-curve `OtsuSplit`, output 4 of 4.)
pub fn otsu_lower_to_all_ratio(c: &FeatureContext) -> f64 {
    otsu(c).map_or(f64::NAN, |o| o.lower_to_all_ratio)
}

// ---------------------------------------------------------------------------------------------
// Smoothness and fits
// ---------------------------------------------------------------------------------------------

/// Lafler-Kinman string length of the time-ordered (not folded) curve, with wrap-around:
/// `θ = Σ_{i=0}^{N-1} (m_{(i+1) mod N} - m_i)² / (2 (N-1) σ_m²)`; `⟨θ⟩ ≈ 1` for random order,
/// `θ ≪ 1` for a smooth curve. Min points 2; 1 value; NaN for a constant curve.
/// (Lafler & Kinman 1965, ApJS 11, 216; light-curve `LaflerKinmanStringLength`.)
pub fn lafler_kinman_string_length(c: &FeatureContext) -> f64 {
    let n = c.m.len();
    let mut s: f64 = c.m.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    s += (c.m[0] - c.m[n - 1]).powi(2);
    ratio(s, 2.0 * (c.n - 1.0) * c.std * c.std)
}

/// Weighted least-squares parabola `m = a τ² + b τ + c`, weights `1/δ²`, solved in the scaled
/// time `u = (t - t̄_w)/s` (`t̄_w` the weighted mean time, `s = max|t - t̄_w|`) by Gaussian
/// elimination with partial pivoting on the 3×3 normal equations; then `g = a_u/s²`,
/// `m₀ = c - b_u²/(4 a_u)` (both invariant under the shift and scaling of time). `None` if the
/// system is singular (fewer than 3 distinct times). (Press et al. 2007, Numerical Recipes 3rd
/// ed., §15.4.)
pub fn fit_parabola(t: &[f64], m: &[f64], e: &[f64]) -> Option<ParabolaFit> {
    let (mut sw, mut swt) = (0.0, 0.0);
    for (&ti, &ei) in t.iter().zip(e) {
        let w = 1.0 / (ei * ei);
        sw += w;
        swt += w * ti;
    }
    let tbar = swt / sw;
    let s = t.iter().map(|&ti| (ti - tbar).abs()).fold(0.0, f64::max);
    if s == 0.0 {
        return None;
    }
    // Normal equations for the basis (u², u, 1): A x = r.
    let mut a = [[0.0f64; 3]; 3];
    let mut r = [0.0f64; 3];
    for ((&ti, &mi), &ei) in t.iter().zip(m).zip(e) {
        let w = 1.0 / (ei * ei);
        let u = (ti - tbar) / s;
        let f = [u * u, u, 1.0];
        for p in 0..3 {
            r[p] += w * f[p] * mi;
            for q in 0..3 {
                a[p][q] += w * f[p] * f[q];
            }
        }
    }
    let x = solve3(a, r)?;
    let (au, bu, cu) = (x[0], x[1], x[2]);
    let mut chi2 = 0.0;
    for ((&ti, &mi), &ei) in t.iter().zip(m).zip(e) {
        let u = (ti - tbar) / s;
        let res = (mi - (au * u * u + bu * u + cu)) / ei;
        chi2 += res * res;
    }
    Some(ParabolaFit {
        g: au / (s * s),
        m0: cu - bu * bu / (4.0 * au),
        reduced_chi2: chi2 / (t.len() as f64 - 3.0),
    })
}

/// Solve a 3×3 system by Gaussian elimination with partial pivoting; `None` if singular.
fn solve3(mut a: [[f64; 3]; 3], mut r: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let piv = (col..3)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        if a[piv][col] == 0.0 || !a[piv][col].is_finite() {
            return None;
        }
        a.swap(col, piv);
        r.swap(col, piv);
        let pivot_row = a[col];
        for row in col + 1..3 {
            let f = a[row][col] / pivot_row[col];
            for (x, &p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            r[row] -= f * r[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let mut v = r[row];
        for k in row + 1..3 {
            v -= a[row][k] * x[k];
        }
        x[row] = v / a[row][row];
    }
    Some(x)
}

fn parabola(c: &FeatureContext) -> Option<ParabolaFit> {
    *c.shared.parabola.get_or_init(|| {
        if is_flat(c) {
            None
        } else {
            fit_parabola(c.t, c.m, c.e)
        }
    })
}

fn otsu(c: &FeatureContext) -> Option<OtsuSplit> {
    *c.shared.otsu.get_or_init(|| otsu_split(c.sorted))
}

/// Curvature `g` of the weighted parabola fit `m = m₀ + g (t - t₀)²` ([`fit_parabola`]).
/// Min points 4; 1 value; NaN for a constant curve. (light-curve `ParabolaFit`, output 1 of 3.)
pub fn parabola_fit_g(c: &FeatureContext) -> f64 {
    parabola(c).map_or(f64::NAN, |p| p.g)
}

/// Extremum magnitude `m₀ = c - b²/(4a)` of the weighted parabola fit; NaN (non-finite) for an
/// exactly straight curve, arbitrarily large for a nearly straight one. Min points 4; 1 value.
/// (light-curve `ParabolaFit`, output 2 of 3.)
pub fn parabola_fit_m0(c: &FeatureContext) -> f64 {
    parabola(c).map_or(f64::NAN, |p| p.m0)
}

/// Reduced chi-square `Σ((m_i - model_i)/δ_i)² / (N-3)` of the weighted parabola fit.
/// Min points 4; 1 value; NaN for a constant curve. (light-curve `ParabolaFit`, output 3 of 3.)
pub fn parabola_fit_reduced_chi2(c: &FeatureContext) -> f64 {
    parabola(c).map_or(f64::NAN, |p| p.reduced_chi2)
}

// ---------------------------------------------------------------------------------------------
// Chi-square variability probability
// ---------------------------------------------------------------------------------------------

/// Regularised upper incomplete gamma function `Q(a, x) = Γ(a, x)/Γ(a)` for `a > 0`, `x ≥ 0`:
/// the series for `P = 1 - Q` when `x < a + 1`, the Lentz continued fraction for `Q` otherwise,
/// with the prefactor `exp(-x + a ln x - ln Γ(a))` (Press et al. 2007, Numerical Recipes 3rd
/// ed., §6.2, `gser`/`gcf`). Relative accuracy ~1e-14 for `a` up to a few hundred (~1e-12 at
/// `a ~ 10⁴`, limited by the cancellation in the prefactor's exponent); underflows to 0 for
/// `Q < 1e-308`. NaN for invalid arguments.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if a.is_nan() || x.is_nan() || a <= 0.0 || x < 0.0 || a.is_infinite() {
        return f64::NAN;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    let log_pref = -x + a * x.ln() - libm::lgamma(a);
    const EPS: f64 = 1e-16;
    const MAX_ITER: usize = 100_000;
    if x < a + 1.0 {
        let (mut ap, mut del) = (a, 1.0 / a);
        let mut sum = del;
        for _ in 0..MAX_ITER {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * EPS {
                break;
            }
        }
        1.0 - sum * log_pref.exp()
    } else {
        const FPMIN: f64 = f64::MIN_POSITIVE / f64::EPSILON;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / FPMIN;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..=MAX_ITER {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < FPMIN {
                d = FPMIN;
            }
            c = b + an / c;
            if c.abs() < FPMIN {
                c = FPMIN;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < EPS {
                break;
            }
        }
        log_pref.exp() * h
    }
}

/// Chi-square "probability of variability" `p = Q((N-1)/2, χ²/2)`, `χ² = Σ((m_i - m̄_w)/δ_i)²`:
/// the chance that pure noise with the quoted errors scatters at least this much (so small
/// values mean variable). Computed as the upper tail directly ([`gamma_q`]); light-curve
/// computes `1 - P` clamped to [0, 1], which agrees to ~1e-16 absolute but has no relative
/// accuracy below ~1e-15 (tessera's value matches scipy `gammaincc` there). Underflows to 0
/// for strongly variable curves. Min points 2; 1 value.
/// (Kim et al. 2014, A&A 566, A43; light-curve `Chi2Pvar`.)
pub fn chi2_pvar(c: &FeatureContext) -> f64 {
    gamma_q(0.5 * (c.n - 1.0), 0.5 * c.chi2).clamp(0.0, 1.0)
}

// ---------------------------------------------------------------------------------------------
// Stetson J and L
// ---------------------------------------------------------------------------------------------

/// Stetson J for a single band, pairing each observation with the next one in time:
/// `δ_i = sqrt(N/(N-1)) (m_i - m̄_w)/δ_i`, `P_k = δ_k δ_{k+1}` for `k = 0..N-2` (overlapping
/// successive pairs, all pair weights 1, as FATS / Kim et al. 2011 for unevenly sampled
/// single-band data), `J = Σ_k sgn(P_k) sqrt|P_k| / (N-1)`. Large positive J: correlated
/// (slow) variability; ~0 for noise. Min points 2; 1 value; 0 for a constant curve.
/// (Stetson 1996, PASP 108, 851, eq. 1; Kim et al. 2011, ApJ 735, 68; Nun et al. 2015, FATS,
/// arXiv:1506.00010.) light-curve has no Stetson J.
pub fn stetson_j(c: &FeatureContext) -> f64 {
    if is_flat(c) {
        return 0.0;
    }
    let f = (c.n / (c.n - 1.0)).sqrt();
    let s: f64 =
        c.m.windows(2)
            .zip(c.e.windows(2))
            .map(|(m, e)| {
                let p = f * (m[0] - c.wmean) / e[0] * (f * (m[1] - c.wmean) / e[1]);
                p.signum() * p.abs().sqrt()
            })
            .sum();
    s / (c.n - 1.0)
}

/// Stetson L `= J K / 0.798` with [`stetson_j`] and tessera's `stetson_k` (Stetson's weight
/// ratio `Σw/w_all` is 1 for the unit pair weights used here). Min points 2; 1 value; NaN for a
/// constant curve (K is 0/0). (Stetson 1996, PASP 108, 851, §2; Kim et al. 2011, ApJ 735, 68.)
/// light-curve has no Stetson L.
pub fn stetson_l(c: &FeatureContext) -> f64 {
    if is_flat(c) {
        return f64::NAN;
    }
    stetson_j(c) * features::stetson_k(c) / 0.798
}

// ---------------------------------------------------------------------------------------------
// Entropies
// ---------------------------------------------------------------------------------------------

/// Number of equal-width magnitude bins of the entropies.
pub const ENTROPY_MAG_BINS: usize = 10;
/// Number of equal-width time bins of [`conditional_entropy`].
pub const ENTROPY_TIME_BINS: usize = 10;

/// Bin of `x` among `nb` equal-width bins over `[lo, hi]`:
/// `min(⌊nb (x - lo)/(hi - lo)⌋, nb - 1)`, evaluated as `((x - lo)/(hi - lo) · nb)` so that the
/// reference script reproduces the same bin for every point.
#[inline]
fn bin_of(x: f64, lo: f64, hi: f64, nb: usize) -> usize {
    let v = ((x - lo) / (hi - lo) * nb as f64).floor();
    (v.max(0.0) as usize).min(nb - 1)
}

/// Shannon entropy of the magnitude histogram `H(m) = -Σ_i p_i ln p_i` (nats), `p_i` the
/// fraction of points in magnitude bin `i` of [`ENTROPY_MAG_BINS`] = 10 equal-width bins over
/// `[min m, max m]` (bin rule of `bin_of`: `min(⌊10 (m - min)/(max - min)⌋, 9)`). Between 0
/// and ln 10; order- and time-independent. Min points 2; 1 value; NaN for a constant curve.
/// (Shannon 1948, Bell Syst. Tech. J. 27, 379; the magnitude partition of Graham et al. 2013,
/// MNRAS 434, 3423.) light-curve has no entropy feature.
pub fn shannon_entropy(c: &FeatureContext) -> f64 {
    if is_flat(c) {
        return f64::NAN;
    }
    let mut counts = [0u32; ENTROPY_MAG_BINS];
    for &m in c.m {
        counts[bin_of(m, c.min, c.max, ENTROPY_MAG_BINS)] += 1;
    }
    let mut h = 0.0;
    for &k in &counts {
        if k > 0 {
            let p = k as f64 / c.n;
            h -= p * p.ln();
        }
    }
    h
}

/// Conditional entropy of magnitude given time for the **unfolded** curve,
/// `H(m|t) = Σ_ij p_ij ln(p_j / p_ij)` (nats): Graham et al.'s estimator with the normalised
/// time `(t - t_0)/(t_{N-1} - t_0)` in place of the phase, i.e. their statistic at a trial
/// period equal to the time span. `p_ij` is the fraction of points in magnitude bin `i`
/// (10 equal-width bins over `[min m, max m]`) and time bin `j` ([`ENTROPY_TIME_BINS`] = 10
/// equal-width bins over `[t_0, t_{N-1}]`, same bin rule), `p_j = Σ_i p_ij`; empty bins are
/// skipped. 0 when each occupied time bin holds one magnitude bin (a smooth, slow curve such as
/// a supernova); close to [`shannon_entropy`] when the magnitude is unrelated to the season
/// (a short-period variable sampled sparsely). `H(m) - H(m|t) ≥ 0` is the mutual information.
/// Min points 2; 1 value; NaN for a constant curve.
/// (Graham et al. 2013, MNRAS 434, 3423, eq. 4 of their conditional-entropy period search;
/// bin counts as the defaults of cuvarbase's implementation.) light-curve has no such feature.
pub fn conditional_entropy(c: &FeatureContext) -> f64 {
    if is_flat(c) {
        return f64::NAN;
    }
    let (t0, t1) = (c.t[0], c.t[c.t.len() - 1]);
    let mut joint = [[0u32; ENTROPY_TIME_BINS]; ENTROPY_MAG_BINS];
    let mut per_time = [0u32; ENTROPY_TIME_BINS];
    for (&t, &m) in c.t.iter().zip(c.m) {
        let j = bin_of(t, t0, t1, ENTROPY_TIME_BINS);
        joint[bin_of(m, c.min, c.max, ENTROPY_MAG_BINS)][j] += 1;
        per_time[j] += 1;
    }
    let mut h = 0.0;
    for row in &joint {
        for (j, &k) in row.iter().enumerate() {
            if k > 0 {
                let pij = k as f64 / c.n;
                h += pij * (per_time[j] as f64 / k as f64).ln();
            }
        }
    }
    h
}

// ---------------------------------------------------------------------------------------------
// Table and extraction
// ---------------------------------------------------------------------------------------------

macro_rules! extended_table {
    ($( $f:ident, $min:literal, $desc:literal; )*) => {
        /// The extended feature table: column `k` of an extended row is `EXTENDED[k]`.
        pub const EXTENDED: &[FeatureInfo] = &[
            $( FeatureInfo { name: stringify!($f), description: $desc, min_points: $min, eval: $f }, )*
        ];
    };
}

extended_table! {
    time_mean, 1, "mean observation time";
    time_standard_deviation, 2, "standard deviation of observation times (ddof=1)";
    biweight_scale_9, 1, "Tukey biweight scale of magnitude, c=9 (0 if MAD=0)";
    qn, 2, "Rousseeuw-Croux Qn robust scale of magnitude (Gaussian-consistent)";
    otsu_mean_diff, 2, "difference of the means of the two Otsu-split magnitude groups";
    otsu_std_lower, 2, "standard deviation of the brighter Otsu-split group (ddof=1)";
    otsu_std_upper, 2, "standard deviation of the fainter Otsu-split group (ddof=1)";
    otsu_lower_to_all_ratio, 2, "fraction of points in the brighter Otsu-split group";
    lafler_kinman_string_length, 2, "Lafler-Kinman string length of the time-ordered curve";
    parabola_fit_g, 4, "curvature of the weighted parabola fit";
    parabola_fit_m0, 4, "extremum magnitude of the weighted parabola fit";
    parabola_fit_reduced_chi2, 4, "reduced chi-square of the weighted parabola fit";
    chi2_pvar, 2, "chi-square upper-tail probability of the scatter about the weighted mean";
    stetson_j, 2, "Stetson J over successive pairs of observations";
    stetson_l, 2, "Stetson L = J K / 0.798";
    shannon_entropy, 2, "Shannon entropy of the 10-bin magnitude histogram (nats)";
    conditional_entropy, 2, "entropy of magnitude given time, 10x10 bins, unfolded curve (nats)";
}

/// Number of columns in an extended row.
pub const N_EXTENDED: usize = EXTENDED.len();

/// Column names, in row order. Allocates; call once, not per curve.
pub fn extended_names() -> Vec<&'static str> {
    EXTENDED.iter().map(|f| f.name).collect()
}

/// Column descriptions, in row order. Allocates; call once, not per curve.
pub fn extended_descriptions() -> Vec<&'static str> {
    EXTENDED.iter().map(|f| f.description).collect()
}

/// Fill `row` (length [`N_EXTENDED`]) with the extended features of one cleaned light curve.
///
/// Same contract as [`features::extract`]: the input is checked with [`validate`] (equal
/// non-zero lengths, finite values, positive errors, strictly increasing times) and the
/// failure's [`Reason`] returned, with `row` all NaN (when its width is right); on `Ok` a
/// column is NaN when the curve has fewer than that feature's `min_points` or the value is not
/// finite. Allocation-free once `scratch` has grown to `time.len()`.
pub fn extract_extended(
    time: &[f64],
    mag: &[f64],
    err: &[f64],
    scratch: &mut ExtendedScratch,
    row: &mut [f64],
) -> Result<(), Reason> {
    row.fill(f64::NAN);
    if row.len() != N_EXTENDED {
        return Err(Reason::RowWidth);
    }
    validate(time, mag, err)?;
    let ctx = FeatureContext::new(time, mag, err, &mut scratch.base);
    features::eval_table(EXTENDED, &ctx, row);
    Ok(())
}

/// [`features::extract`], and with `extended` also the extended row (width [`N_EXTENDED`]),
/// both from one [`FeatureContext`]: the curve is sorted, and its MAD and line fits taken,
/// once. Each row is exactly what [`features::extract`] and [`extract_extended`] give alone.
pub fn extract_with_extended(
    time: &[f64],
    mag: &[f64],
    err: &[f64],
    scratch: &mut FeatureScratch,
    row: &mut [f64],
    extended: Option<&mut [f64]>,
) -> Result<(), Reason> {
    let Some(ext) = extended else {
        return features::extract(time, mag, err, scratch, row);
    };
    ext.fill(f64::NAN);
    row.fill(f64::NAN);
    if row.len() != features::N_FEATURES || ext.len() != N_EXTENDED {
        return Err(Reason::RowWidth);
    }
    validate(time, mag, err)?;
    let ctx = FeatureContext::new(time, mag, err, scratch);
    features::eval_table(features::FEATURES, &ctx, row);
    features::eval_table(EXTENDED, &ctx, ext);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_row(t: &[f64], m: &[f64], e: &[f64]) -> Vec<f64> {
        let mut row = vec![0.0; N_EXTENDED];
        extract_extended(t, m, e, &mut ExtendedScratch::default(), &mut row).unwrap();
        row
    }

    fn col(name: &str) -> usize {
        EXTENDED.iter().position(|f| f.name == name).unwrap()
    }

    /// Brute-force Qn order statistic: all pairwise |differences|, sorted.
    fn qn_brute(x: &[f64]) -> f64 {
        let mut d = Vec::new();
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                d.push((x[i] - x[j]).abs());
            }
        }
        d.sort_by(f64::total_cmp);
        let h = x.len() / 2 + 1;
        d[h * (h - 1) / 2 - 1]
    }

    /// Small deterministic generator (SplitMix64) for test data.
    fn splitmix(state: &mut u64) -> f64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn qn_equals_brute_force_bit_for_bit_with_ties() {
        let mut s = 7u64;
        for n in 2..=80 {
            for rep in 0..10 {
                let mut x: Vec<f64> = (0..n)
                    .map(|_| {
                        let u = splitmix(&mut s);
                        match rep % 3 {
                            0 => 17.0 + u,                                       // continuous
                            1 => 17.0 + (u * 6.0).floor() * 0.001,               // many ties
                            _ => 20.0 + (u * 1000.0).floor() * 0.001 - u * 1e-9, // near-ties
                        }
                    })
                    .collect();
                let want = qn_brute(&x);
                crate::numeric::lightcurve::stats::sort(&mut x);
                assert_eq!(qn_unscaled_sorted(&x), want, "n={n} rep={rep}");
            }
        }
        assert_eq!(qn_unscaled_sorted(&[3.0, 3.0, 3.0]), 0.0);
        assert!(qn_unscaled_sorted(&[1.0]).is_nan());
        // statsmodels.robust.scale.qn_scale([1, 2, 4, 7, 11, 16, 22, 100]) = 15.53401126189553
        let y = [1.0, 2.0, 4.0, 7.0, 11.0, 16.0, 22.0, 100.0];
        assert!((QN_C * qn_unscaled_sorted(&y) - 15.53401126189553).abs() < 1e-12);
    }

    #[test]
    fn gamma_q_closed_forms() {
        // Q(1, x) = exp(-x); Q(1/2, x) = erfc(sqrt x); Q(3, x) = exp(-x)(1 + x + x²/2).
        for &x in &[1e-3, 0.3, 1.0, 2.5, 7.0, 30.0, 200.0] {
            let rel = |a: f64, b: f64| ((a - b) / b).abs();
            assert!(rel(gamma_q(1.0, x), (-x).exp()) < 1e-13, "a=1 x={x}");
            assert!(
                rel(gamma_q(0.5, x), libm::erfc(x.sqrt())) < 1e-12,
                "a=1/2 x={x}"
            );
            let q3 = (-x).exp() * (1.0 + x + 0.5 * x * x);
            assert!(rel(gamma_q(3.0, x), q3) < 1e-13, "a=3 x={x}");
        }
        assert_eq!(gamma_q(2.0, 0.0), 1.0);
        assert_eq!(gamma_q(2.0, 1e6), 0.0);
        assert!(gamma_q(-1.0, 1.0).is_nan());
    }

    #[test]
    fn parabola_exact_and_straight() {
        // m = 2 (t - 3)² + 5 at MJD-like offsets: g = 2, m0 = 5, chi2 = 0.
        let t: Vec<f64> = (0..7).map(|i| 58000.0 + i as f64).collect();
        let m: Vec<f64> = t
            .iter()
            .map(|&t| 2.0 * (t - 58003.0).powi(2) + 5.0)
            .collect();
        let e = vec![0.1; 7];
        let row = ctx_row(&t, &m, &e);
        assert!((row[col("parabola_fit_g")] - 2.0).abs() < 1e-9);
        assert!((row[col("parabola_fit_m0")] - 5.0).abs() < 1e-9);
        assert!(row[col("parabola_fit_reduced_chi2")].abs() < 1e-12);
        // A straight line: a_u = 0 up to rounding, so m0 is NaN or huge, never a panic.
        let m: Vec<f64> = (0..7).map(|i| 17.0 + 0.25 * i as f64).collect();
        let row = ctx_row(&t, &m, &e);
        let m0 = row[col("parabola_fit_m0")];
        assert!(m0.is_nan() || m0.abs() > 1e6, "m0 = {m0}");
    }

    #[test]
    fn otsu_and_string_length_closed_forms() {
        let t: Vec<f64> = (0..6).map(|i| i as f64).collect();
        let e = vec![0.01; 6];
        let m = [0.51, 0.52, 0.53, 0.54, 1.2, 1.3];
        let r = ctx_row(&t, &m, &e);
        // lower {0.51..0.54}: mean 0.525, std sqrt(5/3)/100; upper {1.2, 1.3}: mean 1.25.
        assert!((r[col("otsu_mean_diff")] - 0.725).abs() < 1e-12);
        assert!((r[col("otsu_std_lower")] - (5.0f64 / 3.0).sqrt() / 100.0).abs() < 1e-12);
        assert!((r[col("otsu_std_upper")] - 0.1 / 2f64.sqrt()).abs() < 1e-12);
        assert!((r[col("otsu_lower_to_all_ratio")] - 4.0 / 6.0).abs() < 1e-15);
        // Linear ascending m = 0..N-1: θ = 6/(N+1).
        for n in [4usize, 9, 32] {
            let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let r = ctx_row(&t, &t, &vec![1.0; n]);
            let theta = r[col("lafler_kinman_string_length")];
            assert!((theta - 6.0 / (n as f64 + 1.0)).abs() < 1e-12, "n={n}");
        }
    }

    #[test]
    fn stetson_and_entropy_hand_values() {
        // Alternating ±1 about 0 with unit errors: δ = ±sqrt(N/(N-1)), every P_k = -N/(N-1),
        // so J = -sqrt(N/(N-1)); K = 1, L = J/0.798.
        let n = 8;
        let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let m: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let r = ctx_row(&t, &m, &vec![1.0; n]);
        let j = -(n as f64 / (n as f64 - 1.0)).sqrt();
        assert!((r[col("stetson_j")] - j).abs() < 1e-12);
        assert!((r[col("stetson_l")] - j / 0.798).abs() < 1e-12);
        // Two magnitude values, half each: H = ln 2. Time bins: points i=0..7 at t=i over
        // [0, 7] fall in bins 0,1,2,3,4,5,7,9 (one point each), so H(m|t) = 0.
        assert!((r[col("shannon_entropy")] - std::f64::consts::LN_2).abs() < 1e-15);
        assert_eq!(r[col("conditional_entropy")], 0.0);
    }

    #[test]
    fn constant_curve_and_min_points() {
        let t = [1.0, 2.0, 3.0, 4.0, 5.0];
        let m = [17.0; 5];
        let r = ctx_row(&t, &m, &[0.1; 5]);
        for name in [
            "otsu_mean_diff",
            "lafler_kinman_string_length",
            "parabola_fit_g",
            "parabola_fit_reduced_chi2",
            "stetson_l",
            "shannon_entropy",
            "conditional_entropy",
        ] {
            assert!(r[col(name)].is_nan(), "{name} on a constant curve");
        }
        assert_eq!(r[col("biweight_scale_9")], 0.0);
        assert_eq!(r[col("qn")], 0.0);
        assert_eq!(r[col("stetson_j")], 0.0);
        assert_eq!(r[col("chi2_pvar")], 1.0);
        // One point: only the min_points = 1 columns are set.
        let r = ctx_row(&[1.0], &[17.0], &[0.1]);
        for (info, v) in EXTENDED.iter().zip(&r) {
            assert_eq!(info.min_points <= 1, !v.is_nan(), "{}", info.name);
        }
        let mut short = vec![0.0; N_EXTENDED - 1];
        let err = extract_extended(
            &t,
            &m,
            &[0.1; 5],
            &mut ExtendedScratch::default(),
            &mut short,
        );
        assert_eq!(err, Err(Reason::RowWidth));
    }

    #[test]
    fn metadata_is_consistent() {
        let names = extended_names();
        assert_eq!(names.len(), N_EXTENDED);
        assert_eq!(extended_descriptions().len(), N_EXTENDED);
        let mut all: Vec<&str> = names.clone();
        all.extend(features::feature_names());
        let total = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), total, "names unique across both tables");
    }
}
