//! Per-band light-curve cleaning (numeric kernel layer): bad-point removal, time sorting,
//! duplicate removal, sigma clipping, detrending, normalisation.
//!
//! [`clean`] reads raw `time`, `mag`, `err` slices and writes the cleaned curve into a caller
//! owned [`LcBuf`], with a [`CleanReport`] that says what was removed and how magnitudes were
//! transformed; its documentation lists the steps. Sigma clipping follows
//! `astropy.stats.sigma_clip` (astropy 6/7/8) and is checked against it.
//!
//! References: astropy `sigma_clip` documentation (Astropy Collaboration 2022, ApJ 935, 167);
//! iterative k-sigma clipping as in e.g. Stetson 1987, PASP 99, 191.

use crate::numeric::lightcurve::reason::Reason;
use crate::numeric::lightcurve::stats;

/// Which of several points with exactly the same time survives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicatePolicy {
    /// Keep the first point in input order (default; reproducible regardless of errors).
    KeepFirst,
    /// Keep the point with the smallest error (ties: first in input order).
    KeepSmallestError,
}

/// Centre used by sigma clipping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClipCenter {
    /// Median (astropy default): robust against the outliers being clipped.
    Median,
    /// Arithmetic mean.
    Mean,
}

/// Scale used by sigma clipping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClipScale {
    /// Population standard deviation about the mean, ddof = 0 (astropy default, `np.std`).
    Std,
    /// `1.482602218505602 * median(|x - median(x)|)` (astropy `mad_std`).
    MadStd,
}

/// Sigma-clipping parameters; `Default` gives astropy's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SigmaClip {
    /// Lower bound is `cen - sigma_lower * std`; must be > 0.
    pub sigma_lower: f64,
    /// Upper bound is `cen + sigma_upper * std`; must be > 0.
    pub sigma_upper: f64,
    /// Maximum number of iterations; 0 disables clipping (astropy's `None`, i.e. "until
    /// convergence", is `usize::MAX`).
    pub maxiters: usize,
    /// Centre of each iteration's bounds.
    pub cenfunc: ClipCenter,
    /// Scale of each iteration's bounds.
    pub stdfunc: ClipScale,
}

impl Default for SigmaClip {
    fn default() -> Self {
        SigmaClip {
            sigma_lower: 3.0,
            sigma_upper: 3.0,
            maxiters: 5,
            cenfunc: ClipCenter::Median,
            stdfunc: ClipScale::Std,
        }
    }
}

/// Magnitude normalisation applied last. Features computed on a normalised curve are in
/// normalised units, so the kind is recorded in [`CleanReport`] and in the pipeline row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalisation {
    /// Magnitudes unchanged (offset 0, scale 1).
    None,
    /// `(m - mean) / std`, std with ddof = 1.
    ZScore,
    /// `(m - min) / (max - min)`.
    MinMax,
}

impl Normalisation {
    /// Numeric code stored in output rows: 0 none, 1 z-score, 2 min-max.
    pub fn code(self) -> f64 {
        match self {
            Normalisation::None => 0.0,
            Normalisation::ZScore => 1.0,
            Normalisation::MinMax => 2.0,
        }
    }
}

/// Cleaning configuration. `Default`: keep-first duplicates, astropy-default sigma clipping,
/// no detrending, no normalisation, at least 3 points, constant curves rejected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CleanConfig {
    /// Which point of a repeated time survives.
    pub duplicates: DuplicatePolicy,
    /// `None` disables clipping.
    pub clip: Option<SigmaClip>,
    /// Full width of the moving-average window in the time unit of the input (days in
    /// tessera); `None` disables detrending. Must be finite and > 0.
    pub detrend_window: Option<f64>,
    /// Normalisation applied last.
    pub normalisation: Normalisation,
    /// Minimum number of points after cleaning; fewer gives [`Reason::TooFewPoints`].
    pub min_points: usize,
    /// Reject curves whose magnitudes are all equal (usually a saturated or flagged source).
    /// Normalisation rejects them regardless, because it would divide by zero.
    pub reject_constant: bool,
}

impl Default for CleanConfig {
    fn default() -> Self {
        CleanConfig {
            duplicates: DuplicatePolicy::KeepFirst,
            clip: Some(SigmaClip::default()),
            detrend_window: None,
            normalisation: Normalisation::None,
            min_points: 3,
            reject_constant: true,
        }
    }
}

/// What [`clean`] did. Counts refer to points removed at each step, in step order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CleanReport {
    /// Points given.
    pub n_input: usize,
    /// Points with a non-finite time, magnitude or error.
    pub n_non_finite: usize,
    /// Finite points with error `<= 0`.
    pub n_bad_error: usize,
    /// Whether the surviving points were already in non-decreasing time order.
    pub was_sorted: bool,
    /// Points removed because another point had exactly the same time.
    pub n_duplicate: usize,
    /// Points removed by sigma clipping.
    pub n_clipped: usize,
    /// Sigma-clipping iterations performed (0 when clipping is off).
    pub clip_iterations: usize,
    /// Final clipping bounds in input magnitudes (`-inf, +inf` when clipping is off).
    pub clip_bounds: (f64, f64),
    /// Points in the cleaned curve.
    pub n_output: usize,
    /// The normalisation applied.
    pub normalisation: Normalisation,
    /// Output magnitude is `(m_detrended - norm_offset) / norm_scale`; errors are `err / norm_scale`.
    pub norm_offset: f64,
    /// Divisor of the normalisation (1 when there is none).
    pub norm_scale: f64,
}

/// Structure-of-arrays light curve, reused between calls so that refilling it does not allocate.
#[derive(Clone, Debug, Default)]
pub struct LcBuf {
    /// Times (days in tessera).
    pub t: Vec<f64>,
    /// Magnitudes (normalised units when a normalisation was applied).
    pub m: Vec<f64>,
    /// Magnitude errors, in the same units as `m`.
    pub e: Vec<f64>,
}

impl LcBuf {
    /// An empty buffer with room for `n` points in each column.
    pub fn with_capacity(n: usize) -> Self {
        LcBuf {
            t: Vec::with_capacity(n),
            m: Vec::with_capacity(n),
            e: Vec::with_capacity(n),
        }
    }
    /// Removes every point, keeping the capacity.
    pub fn clear(&mut self) {
        self.t.clear();
        self.m.clear();
        self.e.clear();
    }
    /// Number of points.
    pub fn len(&self) -> usize {
        self.t.len()
    }
    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }
    fn push(&mut self, t: f64, m: f64, e: f64) {
        self.t.push(t);
        self.m.push(m);
        self.e.push(e);
    }
    fn truncate(&mut self, n: usize) {
        self.t.truncate(n);
        self.m.truncate(n);
        self.e.truncate(n);
    }
}

/// Working memory for [`clean`]; keep one per thread.
#[derive(Clone, Debug, Default)]
pub struct CleanScratch {
    idx: Vec<u32>,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl CleanScratch {
    /// Scratch already sized for curves of up to `n` points.
    pub fn with_capacity(n: usize) -> Self {
        CleanScratch {
            idx: Vec::with_capacity(n),
            a: Vec::with_capacity(n + 1),
            b: Vec::with_capacity(n),
        }
    }
}

/// Clean one light curve (one band). The steps, in order:
///
/// 1. **Bad points**: a point is dropped if any of time, magnitude or error is not finite, or if
///    its error is `<= 0` (a zero error would give an infinite weight `1/err^2`).
/// 2. **Sort** by time if the input is not already non-decreasing. Ties keep input order.
/// 3. **Duplicate times** (exactly equal `f64`): one point per time survives, chosen by
///    [`DuplicatePolicy`].
/// 4. **Sigma clipping** (optional, on by default) with the semantics of
///    `astropy.stats.sigma_clip`: see [`sigma_clip_bounds`]. Points outside the final bounds
///    are removed.
/// 5. **Minimum points / constant check** after all removals.
/// 6. **Detrending** (optional): [`detrend_moving_average`], a centred moving average in *time*,
///    not in index, because survey cadences are irregular. Errors are left unchanged.
/// 7. **Normalisation** (optional): z-score `(m - mean) / std(ddof=1)` or min-max
///    `(m - min) / (max - min)`; errors are divided by the same scale so that `m/err` ratios and
///    chi-square style features are unchanged. The report records kind, offset and scale.
///
/// `out` is cleared and refilled; on `Err` its content is unspecified.
/// Errors: [`Reason::LengthMismatch`], [`Reason::Empty`], [`Reason::AllNonFinite`],
/// [`Reason::ZeroErrors`] (every finite point had err <= 0), [`Reason::AllClipped`],
/// [`Reason::TooFewPoints`], [`Reason::ConstantMagnitude`], [`Reason::BadConfig`].
pub fn clean(
    time: &[f64],
    mag: &[f64],
    err: &[f64],
    cfg: &CleanConfig,
    scratch: &mut CleanScratch,
    out: &mut LcBuf,
) -> Result<CleanReport, Reason> {
    out.clear();
    if time.len() != mag.len() || time.len() != err.len() {
        return Err(Reason::LengthMismatch);
    }
    if let Some(w) = cfg.detrend_window {
        if !(w.is_finite() && w > 0.0) {
            return Err(Reason::BadConfig);
        }
    }
    if let Some(c) = cfg.clip {
        if !(c.sigma_lower > 0.0 && c.sigma_upper > 0.0) {
            return Err(Reason::BadConfig);
        }
    }
    let n_input = time.len();
    if n_input == 0 {
        return Err(Reason::Empty);
    }

    // 1. Bad points.
    let (mut n_non_finite, mut n_bad_error) = (0, 0);
    for i in 0..n_input {
        let (t, m, e) = (time[i], mag[i], err[i]);
        if !(t.is_finite() && m.is_finite() && e.is_finite()) {
            n_non_finite += 1;
        } else if e <= 0.0 {
            n_bad_error += 1;
        } else {
            out.push(t, m, e);
        }
    }
    if out.is_empty() {
        return Err(if n_bad_error > 0 {
            Reason::ZeroErrors
        } else {
            Reason::AllNonFinite
        });
    }

    // 2. Sort by time if needed.
    let was_sorted = out.t.windows(2).all(|w| w[0] <= w[1]);
    if !was_sorted {
        sort_by_time(out, scratch);
    }

    // 3. Duplicate times.
    let n_before = out.len();
    dedup_times(out, cfg.duplicates);
    let n_duplicate = n_before - out.len();

    // 4. Sigma clipping.
    let (mut n_clipped, mut clip_iterations, mut clip_bounds) =
        (0, 0, (f64::NEG_INFINITY, f64::INFINITY));
    if let Some(c) = cfg.clip {
        if c.maxiters > 0 {
            let (lo, hi, iters) = sigma_clip_bounds(&out.m, &c, &mut scratch.a, &mut scratch.b);
            clip_iterations = iters;
            clip_bounds = (lo, hi);
            let before = out.len();
            let mut w = 0;
            for i in 0..before {
                let m = out.m[i];
                // NaN bounds (everything clipped in an earlier iteration) keep nothing here,
                // where astropy would keep everything; we report AllClipped instead.
                if m >= lo && m <= hi {
                    out.t[w] = out.t[i];
                    out.m[w] = m;
                    out.e[w] = out.e[i];
                    w += 1;
                }
            }
            out.truncate(w);
            n_clipped = before - w;
            if w == 0 {
                return Err(Reason::AllClipped);
            }
        }
    }

    // 5. Minimum points and constant curves.
    if out.len() < cfg.min_points {
        return Err(Reason::TooFewPoints);
    }
    let (mn, mx) = min_max(&out.m);
    let constant = mn == mx;
    if constant && (cfg.reject_constant || cfg.normalisation != Normalisation::None) {
        return Err(Reason::ConstantMagnitude);
    }

    // 6. Detrending.
    if let Some(window) = cfg.detrend_window {
        detrend_moving_average(&out.t, &mut out.m, window, &mut scratch.a);
    }

    // 7. Normalisation.
    let (norm_offset, norm_scale) = match cfg.normalisation {
        Normalisation::None => (0.0, 1.0),
        Normalisation::ZScore => {
            let mu = stats::mean(&out.m);
            (mu, stats::variance(&out.m, 1).sqrt())
        }
        Normalisation::MinMax => {
            let (a, b) = min_max(&out.m);
            (a, b - a)
        }
    };
    if cfg.normalisation != Normalisation::None {
        // A curve can become constant only through detrending (e.g. a pure ramp with a
        // window covering everything is not constant, but a single-point window is).
        if !(norm_scale > 0.0 && norm_scale.is_finite()) {
            return Err(Reason::ConstantMagnitude);
        }
        let inv = 1.0 / norm_scale;
        for m in out.m.iter_mut() {
            *m = (*m - norm_offset) * inv;
        }
        for e in out.e.iter_mut() {
            *e *= inv;
        }
    }

    Ok(CleanReport {
        n_input,
        n_non_finite,
        n_bad_error,
        was_sorted,
        n_duplicate,
        n_clipped,
        clip_iterations,
        clip_bounds,
        n_output: out.len(),
        normalisation: cfg.normalisation,
        norm_offset,
        norm_scale,
    })
}

fn min_max(x: &[f64]) -> (f64, f64) {
    x.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        })
}

/// Stable sort of the three columns by time, via an index permutation. `sort_unstable` on
/// (time, original index) is equivalent to a stable sort and, unlike `sort_by`, never allocates.
fn sort_by_time(out: &mut LcBuf, scratch: &mut CleanScratch) {
    let n = out.len();
    scratch.idx.clear();
    scratch.idx.extend(0..n as u32);
    let t = &out.t;
    scratch
        .idx
        .sort_unstable_by(|&i, &j| t[i as usize].total_cmp(&t[j as usize]).then(i.cmp(&j)));
    for col in [&mut out.t, &mut out.m, &mut out.e] {
        scratch.a.clear();
        scratch
            .a
            .extend(scratch.idx.iter().map(|&i| col[i as usize]));
        col.copy_from_slice(&scratch.a);
    }
}

/// In-place removal of exactly repeated times from a time-sorted curve.
fn dedup_times(out: &mut LcBuf, policy: DuplicatePolicy) {
    let n = out.len();
    let mut w = 0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        let mut best = i;
        while j < n && out.t[j] == out.t[i] {
            if policy == DuplicatePolicy::KeepSmallestError && out.e[j] < out.e[best] {
                best = j;
            }
            j += 1;
        }
        out.t[w] = out.t[best];
        out.m[w] = out.m[best];
        out.e[w] = out.e[best];
        w += 1;
        i = j;
    }
    out.truncate(w);
}

// Negated comparisons are deliberate: a NaN bound must clip, as astropy's `>=`/`<=` masks do.
/// astropy-compatible iterative clipping bounds. Returns `(lower, upper, iterations)`.
///
/// Iterate at most `maxiters` times; in each iteration compute `cen` and `std` of the surviving
/// values, keep values in `[cen - sigma_lower*std, cen + sigma_upper*std]` (inclusive); stop
/// early when nothing changes or nothing survives. The returned bounds are the last ones
/// computed, which the caller applies to all points, as astropy does. Defaults
/// ([`SigmaClip::default`]) are astropy's: median, population std (ddof = 0, about the mean),
/// `sigma = 3`, `maxiters = 5`; [`ClipScale::MadStd`] uses `mad_std` (1.4826 times the MAD
/// about the median) instead.
///
/// Values are sorted once; each iteration's survivors are then a contiguous window of the
/// sorted array, so filtering is moving two indices and the median is O(1).
/// `a` and `b` are scratch buffers.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub fn sigma_clip_bounds(
    values: &[f64],
    c: &SigmaClip,
    a: &mut Vec<f64>,
    b: &mut Vec<f64>,
) -> (f64, f64, usize) {
    a.clear();
    a.extend_from_slice(values);
    stats::sort(a);
    let (mut lo, mut hi) = (0usize, a.len());
    let (mut min_v, mut max_v) = (f64::NAN, f64::NAN);
    let mut iter = 0;
    while iter < c.maxiters {
        iter += 1;
        let s = &a[lo..hi];
        let size = s.len();
        let cen = match c.cenfunc {
            ClipCenter::Median => stats::median_sorted(s),
            ClipCenter::Mean => stats::mean(s),
        };
        let std = match c.stdfunc {
            ClipScale::Std => stats::variance(s, 0).sqrt(),
            ClipScale::MadStd => stats::mad_sorted(s, b) * stats::MAD_TO_STD,
        };
        // Same operation order as astropy's _compute_bounds: cen - std * sigma.
        min_v = cen - std * c.sigma_lower;
        max_v = cen + std * c.sigma_upper;
        while lo < hi && !(a[lo] >= min_v) {
            lo += 1;
        }
        while hi > lo && !(a[hi - 1] <= max_v) {
            hi -= 1;
        }
        if hi - lo == size || hi == lo {
            break;
        }
    }
    (min_v, max_v, iter)
}

/// Subtract a centred moving average in time: `m_i -= mean{ m_j : |t_j - t_i| <= window/2 }`.
///
/// `t` must be sorted. O(n) with two pointers over prefix sums kept in `prefix` (scratch).
/// Sums are of `m - m_0`, which keeps the prefix sums small and the differences accurate.
pub fn detrend_moving_average(t: &[f64], m: &mut [f64], window: f64, prefix: &mut Vec<f64>) {
    let n = t.len();
    if n == 0 {
        return;
    }
    let half = 0.5 * window;
    let m0 = m[0];
    prefix.clear();
    prefix.push(0.0);
    let mut acc = 0.0;
    for &v in m.iter() {
        acc += v - m0;
        prefix.push(acc);
    }
    let (mut lo, mut hi) = (0usize, 0usize);
    for i in 0..n {
        // Window [t_i - half, t_i + half]; both ends only move forward as t_i increases.
        // Differences are compared (not t_i - half) so the edge test is exactly |t_j - t_i| <= half.
        while t[i] - t[lo] > half {
            lo += 1;
        }
        if hi < i + 1 {
            hi = i + 1;
        }
        while hi < n && t[hi] - t[i] <= half {
            hi += 1;
        }
        let avg = m0 + (prefix[hi] - prefix[lo]) / (hi - lo) as f64;
        m[i] -= avg;
    }
}
