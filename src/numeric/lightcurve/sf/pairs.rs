//! The structure-function models, options, results and pair buffers, and
//! the pair building every fit starts from (numeric layer).

use crate::numeric::lightcurve::features::validate;
use crate::numeric::lightcurve::reason::Reason;
use crate::numeric::vmath;

/// Days per Julian year, the power-law normalisation lag.
pub const YEAR_DAYS: f64 = 365.25;

/// Structure-function model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SfModel {
    /// `V = A (Δt/1yr)^γ`; params `[A, γ]`, θ = `[ln A, γ]`.
    PowerLaw,
    /// `V = ω sqrt(1 - exp(-Δt/τ))`; params `[ω, τ]` (mag, days), θ = `[ln ω, ln τ]`.
    Drw,
}

/// Optimiser settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SfOptions {
    /// Maximum Newton iterations (each costs one or a few O(pairs) passes).
    pub max_iter: usize,
    /// Convergence when the largest θ step is below this.
    pub step_tol: f64,
    /// Convergence when the Newton step's predicted logL gain is below this.
    pub gain_tol: f64,
    /// Start with single-precision Newton steps (about a third of the cost of a
    /// double-precision pass each) when there are at least 1024 pairs; the double-precision
    /// passes after them decide convergence, so the optimum is the same.
    pub f32_start: bool,
}

impl Default for SfOptions {
    fn default() -> Self {
        SfOptions {
            max_iter: 100,
            step_tol: 1e-7,
            gain_tol: 1e-9,
            f32_start: true,
        }
    }
}

/// Result of a fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SfFit {
    /// The model fitted.
    pub model: SfModel,
    /// Physical parameters: `[A, γ]` or `[ω, τ]`.
    pub params: [f64; 2],
    /// Their 1σ uncertainties (first-order propagation from `cov_theta`); NaN if the
    /// Hessian at the optimum is not negative definite.
    pub sigma: [f64; 2],
    /// Fitted internal parameters `[ln A, γ]` or `[ln ω, ln τ]`.
    pub theta: [f64; 2],
    /// Covariance of `theta`: inverse of `-∂²logL/∂θ²` at the optimum.
    pub cov_theta: [[f64; 2]; 2],
    /// Maximum log-likelihood, including the `ln 2π` terms.
    pub log_likelihood: f64,
    /// Pairs the likelihood ran over.
    pub n_pairs: usize,
    /// Newton (or Fisher-scoring) iterations taken.
    pub iterations: usize,
    /// Likelihood passes over the pairs (each O(pairs)); the cost driver.
    pub evaluations: usize,
    /// Single-precision gradient-and-Hessian passes before them (each about a third of
    /// a double-precision pass; see [`super::fit_pairs`]).
    pub passes_f32: usize,
    /// Step fell below `step_tol` (or no ascent was possible) before `max_iter`.
    pub converged: bool,
    /// The optimum lies on the θ box (see [`bounds`]); the uncertainties then mean little.
    pub at_bound: bool,
}

/// Pair buffers, reused across curves. For N points they hold N(N-1)/2 entries each.
#[derive(Clone, Debug, Default)]
pub struct SfScratch {
    pub(super) dt: Vec<f64>,
    pub(super) dm2: Vec<f64>,
    pub(super) s2: Vec<f64>,
    /// `ln(Δt / 1 yr)` for the power law, filled on demand.
    pub(super) lag: Vec<f64>,
    pub(super) lag_valid: bool,
    /// Smallest and largest `Δt`, filled with `lag`.
    pub(super) dt_range: (f64, f64),
    /// Single-precision copies of `Δt`, `lag`, `Δm²`, `δ_i² + δ_j²` for the pre-passes
    /// ([`newton_f32`]), filled with `lag`.
    pub(super) dt32: Vec<f32>,
    pub(super) lag32: Vec<f32>,
    pub(super) dm2_32: Vec<f32>,
    pub(super) s2_32: Vec<f32>,
}

impl SfScratch {
    /// Capacity for a curve of `n_points` points.
    pub fn with_points(n_points: usize) -> Self {
        let p = n_points * n_points.saturating_sub(1) / 2;
        SfScratch {
            dt: Vec::with_capacity(p),
            dm2: Vec::with_capacity(p),
            s2: Vec::with_capacity(p),
            lag: Vec::with_capacity(p),
            lag_valid: false,
            dt_range: (f64::NAN, f64::NAN),
            dt32: Vec::with_capacity(p),
            lag32: Vec::with_capacity(p),
            dm2_32: Vec::with_capacity(p),
            s2_32: Vec::with_capacity(p),
        }
    }

    /// Load pairs directly (`Δt > 0`, `Δm`, `δ_i² + δ_j²`), e.g. for pre-binned or simulated
    /// independent pairs. Non-finite or `Δt <= 0` or negative-variance pairs are skipped.
    pub fn load_pairs(&mut self, dt: &[f64], dm: &[f64], var: &[f64]) -> usize {
        self.clear();
        for ((&a, &b), &c) in dt.iter().zip(dm).zip(var) {
            if a.is_finite() && b.is_finite() && c.is_finite() && a > 0.0 && c >= 0.0 {
                self.dt.push(a);
                self.dm2.push(b * b);
                self.s2.push(c);
            }
        }
        self.dt.len()
    }

    /// Number of pairs currently loaded.
    pub fn n_pairs(&self) -> usize {
        self.dt.len()
    }

    fn clear(&mut self) {
        self.dt.clear();
        self.dm2.clear();
        self.s2.clear();
        self.lag.clear();
        self.lag_valid = false;
    }

    pub(super) fn ensure_lag(&mut self) {
        if !self.lag_valid {
            // lag_and_range writes every entry
            self.lag.resize(self.dt.len(), 0.0);
            self.dt_range = lag_and_range(&self.dt, &mut self.lag);
            to_f32(&self.dt, &mut self.dt32);
            to_f32(&self.lag, &mut self.lag32);
            to_f32(&self.dm2, &mut self.dm2_32);
            to_f32(&self.s2, &mut self.s2_32);
            self.lag_valid = true;
        }
    }
}

crate::numeric::simd::dispatch! {
/// `single = double` rounded to `f32` (vectorised; no allocation once `single` has room).
pub(super) fn to_f32(double: &[f64], single: &mut Vec<f32>) {
    single.resize(double.len(), 0.0);
    for (s, &d) in single.iter_mut().zip(double) {
        *s = d as f32;
    }
}
}

crate::numeric::simd::dispatch! {
/// `lag = ln(Δt / 1 yr)` ([`vmath::ln`], vectorised) and `(min Δt, max Δt)`. `Δt` is
/// positive and finite (checked where pairs are made); a subnormal one gets libm's `ln`.
pub(super) fn lag_and_range(dt: &[f64], lag: &mut [f64]) -> (f64, f64) {
    // four registers per step: the polynomial's dependency chains overlap
    const L: usize = 32;
    let mut lo = [f64::INFINITY; L];
    let mut hi = [0.0f64; L];
    let whole = dt.len() / L * L;
    for (d, g) in dt[..whole]
        .chunks_exact(L)
        .zip(lag[..whole].chunks_exact_mut(L))
    {
        for j in 0..L {
            g[j] = vmath::ln(d[j] * (1.0 / YEAR_DAYS));
            lo[j] = if d[j] < lo[j] { d[j] } else { lo[j] };
            hi[j] = if d[j] > hi[j] { d[j] } else { hi[j] };
        }
    }
    let (mut mn, mut mx) = (f64::INFINITY, 0.0f64);
    for j in 0..L {
        mn = mn.min(lo[j]);
        mx = mx.max(hi[j]);
    }
    for k in whole..dt.len() {
        lag[k] = vmath::ln(dt[k] * (1.0 / YEAR_DAYS));
        mn = mn.min(dt[k]);
        mx = mx.max(dt[k]);
    }
    let normal = |d: f64| d * (1.0 / YEAR_DAYS) >= f64::MIN_POSITIVE;
    if !normal(mn) {
        for (g, &d) in lag.iter_mut().zip(dt) {
            if !normal(d) {
                *g = (d / YEAR_DAYS).ln();
            }
        }
    }
    (mn, mx)
}
}

/// Fill `scratch` with all `i < j` pairs of a cleaned curve (validated as for
/// [`crate::numeric::lightcurve::features::extract()`]). Returns the number of pairs. Fewer than 3 points gives
/// [`Reason::TooFewPoints`] (two parameters need at least three pairs).
pub fn build_pairs(
    time: &[f64],
    mag: &[f64],
    err: &[f64],
    scratch: &mut SfScratch,
) -> Result<usize, Reason> {
    validate(time, mag, err)?;
    let n = time.len();
    if n < 3 {
        return Err(Reason::TooFewPoints);
    }
    // every entry is written below: resize without clearing (no zero fill per curve)
    let pairs = n * (n - 1) / 2;
    scratch.dt.resize(pairs, 0.0);
    scratch.dm2.resize(pairs, 0.0);
    scratch.s2.resize(pairs, 0.0);
    scratch.lag_valid = false;
    // pairs (i, j > i) in order: row i is one contiguous run, filled by simple loops
    let mut k = 0;
    for i in 0..n - 1 {
        let (ti, mi, vi) = (time[i], mag[i], err[i] * err[i]);
        let len = n - 1 - i;
        let (tj, mj, ej) = (&time[i + 1..], &mag[i + 1..], &err[i + 1..]);
        for (d, &t) in scratch.dt[k..k + len].iter_mut().zip(tj) {
            *d = (t - ti).abs();
        }
        for (d, &m) in scratch.dm2[k..k + len].iter_mut().zip(mj) {
            let dm = m - mi;
            *d = dm * dm;
        }
        for (d, &e) in scratch.s2[k..k + len].iter_mut().zip(ej) {
            *d = vi + e * e;
        }
        k += len;
    }
    Ok(scratch.dt.len())
}

/// Box bounds on θ used by the optimiser, `([lo0, lo1], [hi0, hi1])`.
/// Power law: `A ∈ [1e-6, 100]` mag, `γ ∈ [-2, 4]`. DRW: `ω ∈ [1e-6, 100]` mag,
/// `τ ∈ [min Δt / 100, 1000 max Δt]` (beyond the baseline only `ω²/τ` is constrained).
pub fn bounds(model: SfModel, scratch: &SfScratch) -> ([f64; 2], [f64; 2]) {
    let (amp_lo, amp_hi) = (1e-6f64.ln(), 100f64.ln());
    match model {
        SfModel::PowerLaw => ([amp_lo, -2.0], [amp_hi, 4.0]),
        SfModel::Drw => {
            let (mn, mx) = if scratch.lag_valid {
                scratch.dt_range
            } else {
                scratch
                    .dt
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &d| {
                        (a.min(d), b.max(d))
                    })
            };
            ([amp_lo, (mn / 100.0).ln()], [amp_hi, (mx * 1000.0).ln()])
        }
    }
}

/// Inverse of the symmetric 2x2 `-m` if `-m` is positive definite.
pub(super) fn neg_inverse(m: &[[f64; 2]; 2]) -> Option<[[f64; 2]; 2]> {
    let (a, b, d) = (-m[0][0], -m[0][1], -m[1][1]);
    let det = a * d - b * b;
    if a > 0.0 && d > 0.0 && det > 0.0 && det.is_finite() {
        Some([[d / det, -b / det], [-b / det, a / det]])
    } else {
        None
    }
}
