//! Fixed-width light-curve feature rows (numeric kernel layer): a metadata table (name,
//! description, minimum points) plus one documented function per feature.
//!
//! The design follows the light-curve-feature crate (Malanchev et al. 2021, MNRAS 502, 5147):
//! each feature has a doc block with its formula, minimum point count and citation, and every
//! table entry produces one output value, so column `k` is always [`FEATURES`]`[k]`.
//! Notation (`N` points, magnitudes `m_i`, errors `δ_i`, weights `w_i = 1/δ_i²`): `⟨m⟩` mean;
//! `σ_m = sqrt(Σ(m_i-⟨m⟩)²/(N-1))`; `m̄_w = Σ w_i m_i / Σ w_i`; `Q(p)` the numpy
//! `method="linear"` quantile ([`stats::quantile_sorted`]). Times must be strictly increasing,
//! which [`crate::numeric::lightcurve::clean()`] guarantees. A feature whose minimum point count
//! is not met, or whose value is not finite (e.g. 0/0 on a constant curve), is written as NaN.

use crate::numeric::lightcurve::reason::Reason;
use crate::numeric::lightcurve::stats;

/// Metadata of one output column.
#[derive(Clone, Copy)]
pub struct FeatureInfo {
    /// Column name (snake_case; light-curve-feature's name where one exists).
    pub name: &'static str,
    /// One-line human description.
    pub description: &'static str,
    /// Fewer points than this gives NaN.
    pub min_points: usize,
    /// The function that computes the value from a prepared context.
    pub eval: fn(&FeatureContext<'_>) -> f64,
}

impl std::fmt::Debug for FeatureInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureInfo")
            .field("name", &self.name)
            .field("min_points", &self.min_points)
            .finish()
    }
}

/// Working memory for [`extract`]; keep one per thread. Grows to the largest curve seen.
#[derive(Clone, Debug, Default)]
pub struct FeatureScratch {
    sorted: Vec<f64>,
    tmp: Vec<f64>,
}

impl FeatureScratch {
    /// Scratch already sized for curves of up to `n` points.
    pub fn with_capacity(n: usize) -> Self {
        FeatureScratch {
            sorted: Vec::with_capacity(n),
            tmp: Vec::with_capacity(n),
        }
    }
}

/// Result of a straight-line least-squares fit (Press et al. 2007, Numerical Recipes 3rd ed., §15.2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineFit {
    /// Slope of magnitude against time (magnitude units per time unit).
    pub slope: f64,
    /// Standard error of the slope: from the residual scatter for the unweighted fit, from the
    /// known errors for the weighted one.
    pub slope_sigma: f64,
    /// `Σ w_i r_i² / (N-2)` (with `w_i = 1` for the unweighted fit).
    pub reduced_chi2: f64,
}

/// Shared intermediate quantities, computed once per curve so that features reuse them.
/// Fields that need more points than the curve has are NaN.
pub struct FeatureContext<'a> {
    /// Times, strictly increasing.
    pub t: &'a [f64],
    /// Magnitudes.
    pub m: &'a [f64],
    /// Magnitude errors `δ_i` (> 0).
    pub e: &'a [f64],
    /// Magnitudes sorted ascending.
    pub sorted: &'a [f64],
    /// Number of points as `f64`.
    pub n: f64,
    /// Arithmetic mean magnitude `⟨m⟩`.
    pub mean: f64,
    /// Sample standard deviation, ddof = 1.
    pub std: f64,
    /// Median magnitude.
    pub median: f64,
    /// Smallest magnitude.
    pub min: f64,
    /// Largest magnitude.
    pub max: f64,
    /// Unscaled median absolute deviation.
    pub mad: f64,
    /// Inverse-variance weighted mean `m̄_w`.
    pub wmean: f64,
    /// Sum of the weights `Σ w_i = Σ 1/δ_i²`.
    pub sum_w: f64,
    /// `Σ ((m_i - m̄_w)/δ_i)²`.
    pub chi2: f64,
    /// Ordinary least squares, slope error from the residual scatter.
    pub trend: LineFit,
    /// Weighted least squares with weights `1/δ²`, slope error from the known errors.
    pub wfit: LineFit,
    /// Intermediate results several extended features share (the Otsu split, the parabola
    /// fit), computed on first use.
    pub shared: crate::numeric::lightcurve::shared_fits::SharedFits,
}

impl<'a> FeatureContext<'a> {
    /// Prepare the context. The slices must have equal, non-zero length (checked by [`extract`]).
    pub fn new(t: &'a [f64], m: &'a [f64], e: &'a [f64], scratch: &'a mut FeatureScratch) -> Self {
        let FeatureScratch { sorted, tmp } = scratch;
        sorted.clear();
        sorted.extend_from_slice(m);
        stats::sort(sorted);
        let mad = stats::mad_sorted(sorted, tmp);
        let sorted: &'a [f64] = sorted;
        let len = m.len();
        let n = len as f64;
        let mean = stats::mean(m);
        let std = stats::variance(m, 1).sqrt();
        let (mut sum_w, mut sum_wm) = (0.0, 0.0);
        for (&mi, &ei) in m.iter().zip(e) {
            let w = 1.0 / (ei * ei);
            sum_w += w;
            sum_wm += w * mi;
        }
        let wmean = sum_wm / sum_w;
        let chi2 = m
            .iter()
            .zip(e)
            .map(|(&mi, &ei)| ((mi - wmean) / ei).powi(2))
            .sum();
        let nan_fit = LineFit {
            slope: f64::NAN,
            slope_sigma: f64::NAN,
            reduced_chi2: f64::NAN,
        };
        let (trend, wfit) = if len >= 3 {
            (fit_line(t, m, None), fit_line(t, m, Some(e)))
        } else {
            (nan_fit, nan_fit)
        };
        FeatureContext {
            t,
            m,
            e,
            sorted,
            n,
            mean,
            std,
            median: stats::median_sorted(sorted),
            min: sorted[0],
            max: sorted[len - 1],
            mad,
            wmean,
            sum_w,
            chi2,
            trend,
            wfit,
            shared: Default::default(),
        }
    }

    #[inline]
    fn q(&self, p: f64) -> f64 {
        stats::quantile_sorted(self.sorted, p)
    }
}

/// Straight-line fit `m = a + b t` (Press et al. 2007, §15.2), centred on the (weighted) mean
/// time so that MJD-sized times do not cancel catastrophically.
/// `err = None`: ordinary least squares, `σ_b² = (Σ r²/(N-2)) / Σ(t-t̄)²` (scipy `linregress`).
/// `err = Some(δ)`: weights `1/δ²`, `σ_b² = 1 / Σ w (t-t̄_w)²` (absolute errors; numpy
/// `polyfit(..., w=1/δ, cov="unscaled")`).
pub fn fit_line(t: &[f64], m: &[f64], err: Option<&[f64]>) -> LineFit {
    let n = t.len();
    let w = |i: usize| match err {
        Some(e) => 1.0 / (e[i] * e[i]),
        None => 1.0,
    };
    let (mut s, mut st, mut sm) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let wi = w(i);
        s += wi;
        st += wi * t[i];
        sm += wi * m[i];
    }
    let (tbar, mbar) = (st / s, sm / s);
    let (mut stt, mut stm) = (0.0, 0.0);
    for i in 0..n {
        let wi = w(i);
        let dt = t[i] - tbar;
        stt += wi * dt * dt;
        stm += wi * dt * (m[i] - mbar);
    }
    let slope = stm / stt;
    let mut chi2 = 0.0;
    for i in 0..n {
        let r = m[i] - mbar - slope * (t[i] - tbar);
        chi2 += w(i) * r * r;
    }
    let reduced_chi2 = chi2 / (n as f64 - 2.0);
    let slope_sigma2 = if err.is_some() {
        1.0 / stt
    } else {
        reduced_chi2 / stt
    };
    LineFit {
        slope,
        slope_sigma: slope_sigma2.sqrt(),
        reduced_chi2,
    }
}

/// Divide, returning NaN when the denominator is zero (a flat curve makes many ratios 0/0).
#[inline]
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        f64::NAN
    } else {
        num / den
    }
}

// ---------------------------------------------------------------------------------------------
// Features. Each doc block: formula, minimum points, output size (always 1), citation.
// ---------------------------------------------------------------------------------------------

/// Number of observations `N`. Min points 1; 1 value. (light-curve-feature `ObservationCount`.)
pub fn count(c: &FeatureContext) -> f64 {
    c.n
}

/// Time span `t_{N-1} - t_0`. Min points 1; 1 value. (light-curve-feature `Duration`.)
pub fn time_span(c: &FeatureContext) -> f64 {
    c.t[c.t.len() - 1] - c.t[0]
}

/// Largest gap between consecutive observations `max_i (t_{i+1} - t_i)`. Min points 2; 1 value.
/// (light-curve-feature `MaximumTimeInterval`.)
pub fn maximum_time_interval(c: &FeatureContext) -> f64 {
    c.t.windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Smallest gap between consecutive observations `min_i (t_{i+1} - t_i)`. Min points 2; 1 value.
/// (light-curve-feature `MinimumTimeInterval`.)
pub fn minimum_time_interval(c: &FeatureContext) -> f64 {
    c.t.windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min)
}

/// Mean magnitude `⟨m⟩ = Σ m_i / N`. Min points 1; 1 value. (light-curve-feature `Mean`.)
pub fn mean(c: &FeatureContext) -> f64 {
    c.mean
}

/// Inverse-variance weighted mean `m̄_w = Σ(m_i/δ_i²) / Σ(1/δ_i²)`. Min points 1; 1 value.
/// (Bevington & Robinson 2003, Data Reduction and Error Analysis, eq. 4.17; light-curve-feature `WeightedMean`.)
pub fn weighted_mean(c: &FeatureContext) -> f64 {
    c.wmean
}

/// Median magnitude (mean of the two central values for even N). Min points 1; 1 value.
/// (light-curve-feature `Median`.)
pub fn median(c: &FeatureContext) -> f64 {
    c.median
}

/// Sample standard deviation `σ_m = sqrt(Σ(m_i - ⟨m⟩)²/(N-1))` (ddof = 1). Min points 2; 1 value.
/// (light-curve-feature `StandardDeviation`.)
pub fn standard_deviation(c: &FeatureContext) -> f64 {
    c.std
}

/// Median absolute deviation, **unscaled**: `Median(|m_i - Median(m)|)` (multiply by 1.4826 for a
/// Gaussian sigma). Min points 1; 1 value. (Hampel 1974, JASA 69, 383; light-curve-feature
/// `MedianAbsoluteDeviation`; equals `scipy.stats.median_abs_deviation(scale=1)`.)
pub fn median_absolute_deviation(c: &FeatureContext) -> f64 {
    c.mad
}

/// Bias-corrected skewness (adjusted Fisher-Pearson G1, as pandas `skew`,
/// `scipy.stats.skew(bias=False)` and light-curve-feature `Skew`):
/// `G1 = N / ((N-1)(N-2)) Σ ((m_i - ⟨m⟩)/σ_m)³`. Min points 3; 1 value.
/// (Joanes & Gill 1998, The Statistician 47, 183.)
pub fn skew(c: &FeatureContext) -> f64 {
    skew_of(c.m, c.mean, c.std)
}

/// [`skew`] of any sample `x` with its mean and ddof = 1 standard deviation (the periodogram
/// spectrum features use it on the power, where a sorted copy would cost more than the sum).
pub fn skew_of(x: &[f64], mean: f64, std: f64) -> f64 {
    let n = x.len() as f64;
    let s: f64 = x.iter().map(|&m| ((m - mean) / std).powi(3)).sum();
    n / ((n - 1.0) * (n - 2.0)) * s
}

/// Bias-corrected excess kurtosis (G2, as pandas `kurt`, `scipy.stats.kurtosis(bias=False)` and
/// light-curve-feature `Kurtosis`):
/// `G2 = N(N+1)/((N-1)(N-2)(N-3)) Σ((m_i-⟨m⟩)/σ_m)⁴ - 3(N-1)²/((N-2)(N-3))`. Min points 4; 1 value.
/// (Joanes & Gill 1998, The Statistician 47, 183.)
pub fn kurtosis(c: &FeatureContext) -> f64 {
    kurtosis_of(c.m, c.mean, c.std)
}

/// [`kurtosis`] of any sample `x` with its mean and ddof = 1 standard deviation.
pub fn kurtosis_of(x: &[f64], mean: f64, std: f64) -> f64 {
    let n = x.len() as f64;
    let s: f64 = x.iter().map(|&m| ((m - mean) / std).powi(4)).sum();
    n * (n + 1.0) / ((n - 1.0) * (n - 2.0) * (n - 3.0)) * s
        - 3.0 * (n - 1.0).powi(2) / ((n - 2.0) * (n - 3.0))
}

/// Half amplitude `(max(m) - min(m)) / 2`. Min points 1; 1 value.
/// (Richards et al. 2011, ApJ 733, 10; light-curve-feature `Amplitude`.)
pub fn amplitude(c: &FeatureContext) -> f64 {
    0.5 * (c.max - c.min)
}

/// Inter-percentile range `Q(0.95) - Q(0.05)` (numpy linear quantiles). Min points 1; 1 value.
/// (Richards et al. 2011, ApJ 733, 10; light-curve-feature `InterPercentileRange`.)
pub fn inter_percentile_range_5(c: &FeatureContext) -> f64 {
    c.q(0.95) - c.q(0.05)
}

/// Inter-percentile range `Q(0.90) - Q(0.10)`. Min points 1; 1 value. (As above.)
pub fn inter_percentile_range_10(c: &FeatureContext) -> f64 {
    c.q(0.90) - c.q(0.10)
}

/// Inter-quartile range `Q(0.75) - Q(0.25)`. Min points 1; 1 value. (As above.)
pub fn inter_percentile_range_25(c: &FeatureContext) -> f64 {
    c.q(0.75) - c.q(0.25)
}

fn beyond_n_std(c: &FeatureContext, k: f64) -> f64 {
    fraction_beyond(c.m, c.mean, k * c.std)
}

/// Fraction of `x` with `|x_i - mean| > thr` (the [`beyond_1_std`] family for any sample).
pub fn fraction_beyond(x: &[f64], mean: f64, thr: f64) -> f64 {
    x.iter().filter(|&&m| (m - mean).abs() > thr).count() as f64 / x.len() as f64
}

/// Fraction of points with `|m_i - ⟨m⟩| > σ_m`. Min points 2; 1 value.
/// (Richards et al. 2011, ApJ 733, 10; light-curve-feature `BeyondNStd`.)
pub fn beyond_1_std(c: &FeatureContext) -> f64 {
    beyond_n_std(c, 1.0)
}

/// Fraction of points with `|m_i - ⟨m⟩| > 2σ_m`. Min points 2; 1 value. (As above.)
pub fn beyond_2_std(c: &FeatureContext) -> f64 {
    beyond_n_std(c, 2.0)
}

/// Stetson K: `K = Σ|m_i - m̄_w|/δ_i / sqrt(N Σ((m_i - m̄_w)/δ_i)²)`; Stetson's
/// `sqrt(N/(N-1))` factor in the residuals cancels. Min points 2; 1 value. NaN if `χ² = 0`.
/// (Stetson 1996, PASP 108, 851, eq. 4; light-curve-feature `StetsonK`.)
pub fn stetson_k(c: &FeatureContext) -> f64 {
    let s: f64 =
        c.m.iter()
            .zip(c.e)
            .map(|(&m, &e)| (m - c.wmean).abs() / e)
            .sum();
    ratio(s, (c.n * c.chi2).sqrt())
}

/// von Neumann ratio `η = Σ_{i<N-1}(m_{i+1} - m_i)² / ((N-1) σ_m²)`. Min points 2; 1 value.
/// (von Neumann 1941, Ann. Math. Stat. 12, 367; light-curve-feature `Eta`.)
pub fn eta(c: &FeatureContext) -> f64 {
    let s: f64 = c.m.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    ratio(s, (c.n - 1.0) * c.std * c.std)
}

/// von Neumann ratio for uneven sampling (light-curve-feature `EtaE` definition):
/// `η^e = (t_{N-1}-t_0)² / (N-1)³ · Σ((m_{i+1}-m_i)/(t_{i+1}-t_i))² / σ_m²`. Min points 2; 1 value.
/// (Kim et al. 2014, A&A 566, A43; light-curve-feature `EtaE`.)
pub fn eta_e(c: &FeatureContext) -> f64 {
    let s: f64 =
        c.t.windows(2)
            .zip(c.m.windows(2))
            .map(|(t, m)| ((m[1] - m[0]) / (t[1] - t[0])).powi(2))
            .sum();
    let span = time_span(c);
    ratio(span * span * s, (c.n - 1.0).powi(3) * c.std * c.std)
}

/// Reduced chi-square about the weighted mean `χ²_ν = Σ((m_i - m̄_w)/δ_i)² / (N-1)`.
/// Min points 2; 1 value. (Sokolovsky et al. 2017, MNRAS 464, 274, §2.1; light-curve-feature `ReducedChi2`.)
pub fn chi2(c: &FeatureContext) -> f64 {
    c.chi2 / (c.n - 1.0)
}

/// Normalised excess variance in the light-curve-feature form `(σ_m² - ⟨δ²⟩) / ⟨m⟩²`
/// (the Vaughan et al. form with magnitudes in place of fluxes). Min points 2; 1 value.
/// (Vaughan et al. 2003, MNRAS 345, 1271, eq. 11; Sokolovsky et al. 2017, MNRAS 464, 274;
/// light-curve-feature `ExcessVariance`.)
pub fn excess_variance(c: &FeatureContext) -> f64 {
    let mean_err2 = c.e.iter().map(|&e| e * e).sum::<f64>() / c.n;
    ratio(c.std * c.std - mean_err2, c.mean * c.mean)
}

/// Ordinary least-squares slope `b` of `m = a + b t`. Min points 3; 1 value.
/// (Press et al. 2007, Numerical Recipes §15.2; light-curve-feature `LinearTrend`.)
pub fn linear_trend(c: &FeatureContext) -> f64 {
    c.trend.slope
}

/// Standard error of the OLS slope `sqrt(Σr_i²/(N-2) / Σ(t_i - t̄)²)` (scipy `linregress`
/// `stderr`). Min points 3; 1 value. (Press et al. 2007 §15.2; light-curve-feature `LinearTrend`.)
pub fn linear_trend_sigma(c: &FeatureContext) -> f64 {
    c.trend.slope_sigma
}

/// Residual scatter of the OLS fit `sqrt(Σr_i²/(N-2))`. Min points 3; 1 value.
/// (Press et al. 2007 §15.2; light-curve-feature `LinearTrend`.)
pub fn linear_trend_noise(c: &FeatureContext) -> f64 {
    c.trend.reduced_chi2.sqrt()
}

/// Weighted least-squares slope, weights `1/δ_i²`. Min points 3; 1 value.
/// (Press et al. 2007 §15.2, eq. 15.2.6; light-curve-feature `LinearFit`.)
pub fn linear_fit_slope(c: &FeatureContext) -> f64 {
    c.wfit.slope
}

/// Error of the weighted slope from the known errors `sqrt(1/Σ w_i (t_i - t̄_w)²)`.
/// Min points 3; 1 value. (Press et al. 2007 §15.2; light-curve-feature `LinearFit`.)
pub fn linear_fit_slope_sigma(c: &FeatureContext) -> f64 {
    c.wfit.slope_sigma
}

/// Reduced chi-square of the weighted line fit `Σ w_i r_i² / (N-2)`. Min points 3; 1 value.
/// (Press et al. 2007 §15.2; light-curve-feature `LinearFit`.)
pub fn linear_fit_reduced_chi2(c: &FeatureContext) -> f64 {
    c.wfit.reduced_chi2
}

/// Maximum slope between consecutive points `max_i |(m_{i+1}-m_i)/(t_{i+1}-t_i)|`.
/// Min points 2; 1 value. (Richards et al. 2011, ApJ 733, 10; light-curve-feature `MaximumSlope`.)
pub fn maximum_slope(c: &FeatureContext) -> f64 {
    c.t.windows(2)
        .zip(c.m.windows(2))
        .map(|(t, m)| ((m[1] - m[0]) / (t[1] - t[0])).abs())
        .fold(0.0, f64::max)
}

/// Percent amplitude, light-curve-feature form (not divided by the median):
/// `max(|max(m) - Median(m)|, |min(m) - Median(m)|)`. Min points 1; 1 value.
/// (Richards et al. 2011, ApJ 733, 10; light-curve-feature `PercentAmplitude`.)
pub fn percent_amplitude(c: &FeatureContext) -> f64 {
    (c.max - c.median).abs().max((c.min - c.median).abs())
}

/// `(Q(0.95) - Q(0.05)) / Median(m)`. Min points 1; 1 value.
/// (Richards et al. 2011, ApJ 733, 10; D'Isanto et al. 2016, MNRAS 457, 3119;
/// light-curve-feature `PercentDifferenceMagnitudePercentile`.)
pub fn percent_difference_magnitude_percentile_5(c: &FeatureContext) -> f64 {
    ratio(c.q(0.95) - c.q(0.05), c.median)
}

/// Magnitude percentage ratio `(Q(0.60) - Q(0.40)) / (Q(0.95) - Q(0.05))`. Min points 1; 1 value.
/// (Richards et al. 2011, ApJ 733, 10; light-curve-feature `MagnitudePercentageRatio`.)
pub fn magnitude_percentage_ratio_40_5(c: &FeatureContext) -> f64 {
    ratio(c.q(0.60) - c.q(0.40), c.q(0.95) - c.q(0.05))
}

/// Magnitude percentage ratio `(Q(0.80) - Q(0.20)) / (Q(0.95) - Q(0.05))`. Min points 1; 1 value.
/// (As above.)
pub fn magnitude_percentage_ratio_20_5(c: &FeatureContext) -> f64 {
    ratio(c.q(0.80) - c.q(0.20), c.q(0.95) - c.q(0.05))
}

/// Median buffer range percentage: fraction of points with
/// `|m_i - Median(m)| < 0.1 · (max(m) - min(m))/2`. Min points 1; 1 value.
/// (Richards et al. 2011, ApJ 733, 10; D'Isanto et al. 2016, MNRAS 457, 3119;
/// light-curve-feature `MedianBufferRangePercentage`.)
pub fn median_buffer_range_percentage_10(c: &FeatureContext) -> f64 {
    let thr = 0.1 * amplitude(c);
    c.m.iter().filter(|&&m| (m - c.median).abs() < thr).count() as f64 / c.n
}

/// Range of the cumulative sum `S_l = Σ_{i<=l}(m_i - ⟨m⟩) / (N σ_m)`: `max_l S_l - min_l S_l`.
/// Min points 2; 1 value. (Ellaway 1978, Electroencephalogr. Clin. Neurophysiol. 45, 302;
/// Kim et al. 2014, A&A 566, A43; light-curve-feature `Cusum`.)
pub fn cusum(c: &FeatureContext) -> f64 {
    let (mut s, mut lo, mut hi) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &m in c.m {
        s += m - c.mean;
        lo = lo.min(s);
        hi = hi.max(s);
    }
    ratio(hi - lo, c.n * c.std)
}

/// Anderson-Darling normality statistic with the small-sample factor (light-curve-feature form):
/// `A² = (1 + 4/N - 25/N²)(-N - (1/N) Σ_i [(2i+1) ln Φ(z_i) + (2(N-i)-1) ln(1 - Φ(z_i))])`,
/// `z_i = (m_(i) - ⟨m⟩)/σ_m` for sorted `m`, `i = 0..N-1`. Logs of Φ use `ln erfc` so the far
/// tails stay finite. Min points 4; 1 value. (Anderson & Darling 1954, JASA 49, 765;
/// Stephens 1974, JASA 69, 730; light-curve-feature `AndersonDarlingNormal`;
/// equals `scipy.stats.anderson(m).statistic * (1 + 4/N - 25/N²)`.)
pub fn anderson_darling_normal(c: &FeatureContext) -> f64 {
    if c.std == 0.0 {
        return f64::NAN;
    }
    let n = c.n;
    let k = std::f64::consts::FRAC_1_SQRT_2 / c.std;
    let nn = c.sorted.len();
    let s: f64 = c
        .sorted
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let x = (m - c.mean) * k;
            // ln Φ(z) = ln erfc(-z/√2) - ln 2 and ln(1-Φ(z)) = ln erfc(z/√2) - ln 2; the -ln 2
            // terms sum to the 2 N ln 2 below.
            (2 * i + 1) as f64 * stats::ln_erfc(-x) + (2 * (nn - i) - 1) as f64 * stats::ln_erfc(x)
        })
        .sum();
    (1.0 + 4.0 / n - 25.0 / (n * n)) * (n * (2.0 * std::f64::consts::LN_2 - 1.0) - s / n)
}

/// Mean variance `σ_m / ⟨m⟩`. Min points 2; 1 value.
/// (Kim et al. 2011, ApJ 735, 68; light-curve-feature `MeanVariance`.)
pub fn mean_variance(c: &FeatureContext) -> f64 {
    ratio(c.std, c.mean)
}

/// Robust median statistic `ROMS = Σ |m_i - Median(m)| / δ_i / (N-1)`. Min points 2; 1 value.
/// (Enoch, Brown & Burgasser 2003, AJ 126, 1006; Rose & Hintz 2007, AJ 134, 2067;
/// Sokolovsky et al. 2017, MNRAS 464, 274; light-curve-feature `Roms`.)
pub fn roms(c: &FeatureContext) -> f64 {
    let s: f64 =
        c.m.iter()
            .zip(c.e)
            .map(|(&m, &e)| (m - c.median).abs() / e)
            .sum();
    s / (c.n - 1.0)
}

/// Peak-to-peak variability `ν = (max(m_i - δ_i) - min(m_i + δ_i)) / (max(m_i - δ_i) + min(m_i + δ_i))`.
/// Min points 2; 1 value. (Sokolovsky et al. 2009, AN 330, 199; Sokolovsky et al. 2017, MNRAS 464, 274, eq. 9.)
pub fn peak_to_peak_variability(c: &FeatureContext) -> f64 {
    let (mut a, mut b) = (f64::NEG_INFINITY, f64::INFINITY);
    for (&m, &e) in c.m.iter().zip(c.e) {
        a = a.max(m - e);
        b = b.min(m + e);
    }
    ratio(a - b, a + b)
}

macro_rules! feature_table {
    ($( $f:ident, $min:literal, $desc:literal; )*) => {
        /// The feature table: column `k` of a row is `FEATURES[k]`.
        pub const FEATURES: &[FeatureInfo] = &[
            $( FeatureInfo { name: stringify!($f), description: $desc, min_points: $min, eval: $f }, )*
        ];
    };
}

feature_table! {
    count, 1, "number of observations";
    time_span, 1, "time between first and last observation";
    maximum_time_interval, 2, "largest gap between consecutive observations";
    minimum_time_interval, 2, "smallest gap between consecutive observations";
    mean, 1, "mean magnitude";
    weighted_mean, 1, "inverse-variance weighted mean magnitude";
    median, 1, "median magnitude";
    standard_deviation, 2, "standard deviation of magnitude (ddof=1)";
    median_absolute_deviation, 1, "median absolute deviation from the median (unscaled)";
    skew, 3, "bias-corrected skewness G1";
    kurtosis, 4, "bias-corrected excess kurtosis G2";
    amplitude, 1, "half of max minus min magnitude";
    inter_percentile_range_5, 1, "Q(95%) - Q(5%) of magnitude (numpy linear quantiles)";
    inter_percentile_range_10, 1, "Q(90%) - Q(10%) of magnitude (numpy linear quantiles)";
    inter_percentile_range_25, 1, "inter-quartile range Q(75%) - Q(25%) (numpy linear quantiles)";
    beyond_1_std, 2, "fraction of points further than 1 std from the mean";
    beyond_2_std, 2, "fraction of points further than 2 std from the mean";
    stetson_k, 2, "Stetson K about the weighted mean";
    eta, 2, "von Neumann ratio of successive differences to variance";
    eta_e, 2, "von Neumann ratio generalised to uneven sampling";
    chi2, 2, "reduced chi-square about the weighted mean";
    excess_variance, 2, "normalised excess variance (std^2 - mean err^2) / mean^2";
    linear_trend, 3, "ordinary least-squares slope";
    linear_trend_sigma, 3, "standard error of the ordinary least-squares slope";
    linear_trend_noise, 3, "residual scatter of the ordinary least-squares line";
    linear_fit_slope, 3, "weighted least-squares slope";
    linear_fit_slope_sigma, 3, "error of the weighted least-squares slope from the known errors";
    linear_fit_reduced_chi2, 3, "reduced chi-square of the weighted line fit";
    maximum_slope, 2, "maximum |dm/dt| between consecutive observations";
    percent_amplitude, 1, "largest absolute deviation of max or min from the median";
    percent_difference_magnitude_percentile_5, 1, "(Q(95%) - Q(5%)) / median";
    magnitude_percentage_ratio_40_5, 1, "(Q(60%) - Q(40%)) / (Q(95%) - Q(5%))";
    magnitude_percentage_ratio_20_5, 1, "(Q(80%) - Q(20%)) / (Q(95%) - Q(5%))";
    median_buffer_range_percentage_10, 1, "fraction within 10% of the half-amplitude of the median";
    cusum, 2, "range of the normalised cumulative sum of deviations from the mean";
    anderson_darling_normal, 4, "Anderson-Darling normality statistic with small-sample factor";
    mean_variance, 2, "std / mean";
    roms, 2, "robust median statistic";
    peak_to_peak_variability, 2, "peak-to-peak variability nu accounting for errors";
}

/// Number of columns in a feature row.
pub const N_FEATURES: usize = FEATURES.len();

/// Number of columns in a feature row (same as [`N_FEATURES`]).
pub fn n_features() -> usize {
    N_FEATURES
}

/// The whole metadata table.
pub fn feature_info() -> &'static [FeatureInfo] {
    FEATURES
}

/// Column names, in row order. Allocates; call once, not per curve.
pub fn feature_names() -> Vec<&'static str> {
    FEATURES.iter().map(|f| f.name).collect()
}

/// Column descriptions, in row order. Allocates; call once, not per curve.
pub fn feature_descriptions() -> Vec<&'static str> {
    FEATURES.iter().map(|f| f.description).collect()
}

/// Check that a curve is what [`extract`] expects (equal lengths, non-empty, finite, positive
/// errors, strictly increasing times). O(N).
pub fn validate(time: &[f64], mag: &[f64], err: &[f64]) -> Result<(), Reason> {
    if time.len() != mag.len() || time.len() != err.len() {
        return Err(Reason::LengthMismatch);
    }
    if time.is_empty() {
        return Err(Reason::Empty);
    }
    let mut all_bad = true;
    for i in 0..time.len() {
        let ok = time[i].is_finite() && mag[i].is_finite() && err[i].is_finite();
        all_bad &= !ok;
    }
    if all_bad {
        return Err(Reason::AllNonFinite);
    }
    if !time.iter().chain(mag).chain(err).all(|v| v.is_finite()) {
        return Err(Reason::NonFinite);
    }
    if err.iter().any(|&e| e <= 0.0) {
        return Err(Reason::ZeroErrors);
    }
    for w in time.windows(2) {
        if w[1] < w[0] {
            return Err(Reason::Unsorted);
        }
    }
    for w in time.windows(2) {
        if w[1] == w[0] {
            return Err(Reason::DuplicateTimes);
        }
    }
    Ok(())
}

/// Fill `row` (length [`N_FEATURES`]) with all features of one cleaned light curve.
///
/// Input must be a cleaned curve: see [`validate`] for the checks and the [`Reason`] each
/// failure returns. On `Err`, `row` is all NaN (when its width is right). On `Ok`, a column is
/// NaN when the curve has fewer than that feature's `min_points` or the value is not finite.
/// Allocation-free once `scratch` has grown to `time.len()`.
pub fn extract(
    time: &[f64],
    mag: &[f64],
    err: &[f64],
    scratch: &mut FeatureScratch,
    row: &mut [f64],
) -> Result<(), Reason> {
    row.fill(f64::NAN);
    if row.len() != N_FEATURES {
        return Err(Reason::RowWidth);
    }
    validate(time, mag, err)?;
    let ctx = FeatureContext::new(time, mag, err, scratch);
    eval_table(FEATURES, &ctx, row);
    Ok(())
}

/// Evaluates `table[k]` into `row[k]` (the widths must agree): NaN when the curve has fewer
/// than the entry's `min_points` or the value is not finite. Every feature table of a row
/// (the basic one, the binned-curve and folded-curve ones) is evaluated by this loop.
pub fn eval_table(table: &[FeatureInfo], ctx: &FeatureContext, row: &mut [f64]) {
    debug_assert_eq!(table.len(), row.len());
    let n = ctx.m.len();
    for (info, out) in table.iter().zip(row.iter_mut()) {
        *out = if n >= info.min_points {
            let v = (info.eval)(ctx);
            if v.is_finite() {
                v
            } else {
                f64::NAN
            }
        } else {
            f64::NAN
        };
    }
}
