//! Maximum-likelihood structure-function fits over all observation pairs (power law and damped random walk).
//!
//! For every pair `i < j` of a light curve, with `Δt = |t_j - t_i|` and `Δm = m_j - m_i`, the
//! model is (Schmidt et al. 2010, ApJ 714, 1194, eq. 3-4)
//!
//! ```text
//! Δm_ij ~ N(0, V(Δt)² + δ_i² + δ_j²)
//! logL = -1/2 Σ_{i<j} [ ln(2π S_ij) + Δm_ij² / S_ij ],   S_ij = V(Δt_ij)² + δ_i² + δ_j²
//! ```
//!
//! with either
//! - [`SfModel::PowerLaw`]: `V = A (Δt / 1 yr)^γ` (Schmidt et al. 2010, eq. 2), `1 yr = 365.25 d`,
//!   fitted in `θ = (ln A, γ)`;
//! - [`SfModel::Drw`]: `V = ω (1 - exp(-Δt/τ))^(1/2)`, the structure function of a damped random
//!   walk with asymptotic amplitude `ω = SF∞` and timescale `τ` (Kelly et al. 2009, ApJ 698, 895;
//!   MacLeod et al. 2010, ApJ 721, 1014, eq. 4), fitted in `θ = (ln ω, ln τ)`.
//!
//! Times are in days. Pairs are treated as independent, as Schmidt et al. do; they are not
//! (N points make N(N-1)/2 pairs), so the formal uncertainties are optimistic for real
//! light curves. They are exact for independent pairs, which is what the tests check.
//!
//! The optimiser is Newton's method in `θ` with analytic gradient and Hessian, falling back to
//! Fisher scoring (the expected Hessian, `-1/2 Σ ∂S/∂θ_a ∂S/∂θ_b / S²`, always negative
//! definite) when the observed Hessian is not negative definite, with step halving so that
//! every accepted step increases logL, a step cap of 2 in θ, box bounds on θ, and a bounded
//! number of iterations. Uncertainties are from the inverse of the observed `-∂²logL/∂θ²` at
//! the optimum, propagated to `(A, γ)` / `(ω, τ)` to first order. One likelihood evaluation
//! is one O(N²) pass; nothing is allocated beyond [`SfScratch`].
//!
//! Speed: the pass is branch-free over 32 pairs at a time ([`vmath::exp`], no `ln` per pair:
//! `Σ ln S` from exponent bits and mantissa products, [`vmath::LogSum`]), compiled for
//! AVX-512/AVX2 and picked at run time, about 2-3 ns per pair on one core; a pass meeting a
//! degenerate `S` is redone by the plain one-`ln`-per-pair loop. Newton starts from a
//! least-squares fit to the pairs binned in lag. From 1024 pairs on, the first Newton steps
//! are taken in single precision ([`SfOptions::f32_start`]: gradient and Hessian only, 16
//! pairs per AVX-512 register, a shorter `exp`), which get within about 1e-3 σ of the
//! optimum; the double-precision passes after them (typically 1-2, 3-5 without the
//! single-precision start) decide convergence with every safeguard above, so the optimum
//! is the one double precision alone finds (tested).

use crate::numeric::lightcurve::features::validate;
use crate::numeric::lightcurve::Reason;
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
    pub n_pairs: usize,
    pub iterations: usize,
    /// Likelihood passes over the pairs (each O(pairs)); the cost driver.
    pub evaluations: usize,
    /// Single-precision gradient-and-Hessian passes before them (each about a third of
    /// a double-precision pass; see [`fit_pairs`]).
    pub passes_f32: usize,
    /// Step fell below `step_tol` (or no ascent was possible) before `max_iter`.
    pub converged: bool,
    /// The optimum lies on the θ box (see [`bounds`]); the uncertainties then mean little.
    pub at_bound: bool,
}

/// Pair buffers, reused across curves. For N points they hold N(N-1)/2 entries each.
#[derive(Clone, Debug, Default)]
pub struct SfScratch {
    dt: Vec<f64>,
    dm2: Vec<f64>,
    s2: Vec<f64>,
    /// `ln(Δt / 1 yr)` for the power law, filled on demand.
    lag: Vec<f64>,
    lag_valid: bool,
    /// Smallest and largest `Δt`, filled with `lag`.
    dt_range: (f64, f64),
    /// Single-precision copies of `Δt`, `lag`, `Δm²`, `δ_i² + δ_j²` for the pre-passes
    /// ([`newton_f32`]), filled with `lag`.
    dt32: Vec<f32>,
    lag32: Vec<f32>,
    dm2_32: Vec<f32>,
    s2_32: Vec<f32>,
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

    fn ensure_lag(&mut self) {
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

/// `single = double` rounded to `f32` (vectorised; no allocation once `single` has room).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw",
    "x86_64+avx2",
    "aarch64+neon"
))]
fn to_f32(double: &[f64], single: &mut Vec<f32>) {
    single.resize(double.len(), 0.0);
    for (s, &d) in single.iter_mut().zip(double) {
        *s = d as f32;
    }
}

/// `lag = ln(Δt / 1 yr)` ([`vmath::ln`], vectorised) and `(min Δt, max Δt)`. `Δt` is
/// positive and finite (checked where pairs are made); a subnormal one gets libm's `ln`.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn lag_and_range(dt: &[f64], lag: &mut [f64]) -> (f64, f64) {
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

/// Fill `scratch` with all `i < j` pairs of a cleaned curve (validated as for
/// [`crate::numeric::lightcurve::extract()`]). Returns the number of pairs. Fewer than 3 points gives
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

/// Log-likelihood, gradient and observed and expected Hessians at θ.
struct Eval {
    l: f64,
    g: [f64; 2],
    h: [[f64; 2]; 2],
    fisher: [[f64; 2]; 2],
}

const LN_2PI: f64 = 1.8378770664093453;

/// `V²` and its θ derivatives `(W, W_a, W_b, W_aa, W_ab, W_bb)` for one pair.
#[inline(always)]
fn model_terms<const DRW: bool>(
    theta: &[f64; 2],
    amp2: f64,
    inv_tau: f64,
    dt: f64,
    lag: f64,
) -> [f64; 6] {
    if !DRW {
        // W = exp(2 ln A + 2 γ ln(Δt/yr))
        let w = (2.0 * theta[0] + 2.0 * theta[1] * lag).exp();
        [
            w,
            2.0 * w,
            2.0 * lag * w,
            4.0 * w,
            4.0 * lag * w,
            4.0 * lag * lag * w,
        ]
    } else {
        // W = ω² (1 - e^{-x}), x = Δt/τ. For small x, 1 - e^{-x} from its Taylor series (relative
        // error < 3e-14 at x < 0.05) instead of expm1, which is several times slower than exp.
        let x = dt * inv_tau;
        let e = (-x).exp();
        let one_minus_e = if x < 0.05 {
            x * (1.0
                - x * (0.5
                    - x * (1.0 / 6.0 - x * (1.0 / 24.0 - x * (1.0 / 120.0 - x * (1.0 / 720.0))))))
        } else {
            1.0 - e
        };
        let w = amp2 * one_minus_e;
        let wv = -amp2 * x * e;
        [w, 2.0 * w, wv, 4.0 * w, 2.0 * wv, amp2 * x * e * (1.0 - x)]
    }
}

/// Number of `S` values multiplied together before one `ln`: `Σ ln S = ln Π S` over blocks
/// cuts the logarithms 4-fold. Any `S` in [1e-75, 1e75] keeps the block product normal; a
/// block that is not falls back to one `ln` per value.
const LN_BLOCK: usize = 4;

/// What a pass computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// logL only.
    Value,
    /// logL, gradient and observed Hessian (a Newton step).
    Newton,
    /// Also the expected Hessian (Fisher scoring, when the observed one is not negative
    /// definite): three more sums per pair, so only asked for then.
    Fisher,
}

fn evaluate(model: SfModel, theta: &[f64; 2], s: &SfScratch, need: Need) -> Eval {
    let fast = match (model, need) {
        (SfModel::PowerLaw, Need::Value) => lanes_pl(theta, s),
        (SfModel::PowerLaw, Need::Newton) => lanes_pl_d(theta, s),
        (SfModel::PowerLaw, Need::Fisher) => lanes_pl_f(theta, s),
        (SfModel::Drw, Need::Value) => lanes_drw(theta, s),
        (SfModel::Drw, Need::Newton) => lanes_drw_d(theta, s),
        (SfModel::Drw, Need::Fisher) => lanes_drw_f(theta, s),
    };
    // a pair whose S is not a positive normal number (degenerate errors, overflow) makes
    // the lane sum of logarithms invalid: redo the pass with one `ln` per pair
    fast.unwrap_or_else(|| evaluate_scalar(model, theta, s, need != Need::Value))
}

/// The one-pass-per-pair reference: libm `exp` and `ln`, pairs in order. Used when a
/// pass meets a degenerate `S`, and by the tests as the oracle of the lane kernel.
fn evaluate_scalar(model: SfModel, theta: &[f64; 2], s: &SfScratch, derivs: bool) -> Eval {
    match (model, derivs) {
        (SfModel::PowerLaw, true) => evaluate_impl::<false, true>(theta, s),
        (SfModel::PowerLaw, false) => evaluate_impl::<false, false>(theta, s),
        (SfModel::Drw, true) => evaluate_impl::<true, true>(theta, s),
        (SfModel::Drw, false) => evaluate_impl::<true, false>(theta, s),
    }
}

/// Pairs per step of the vectorised pass: four AVX-512 registers of f64, so that four
/// independent chains (the exp polynomial, the division) overlap and the pass is not
/// bound by their latency.
const LANES: usize = 32;

/// One pass over the pairs, [`LANES`] pairs at a time, branch-free with [`vmath::exp`] so
/// that it vectorises: per-lane partial sums (merged in lane order at the end, so the
/// result does not depend on the instruction set) and `Σ ln S` through
/// [`vmath::LogSum`]. `None` if any `S` is not a positive normal number.
///
/// The derivative sums are factored by model, from `ℓ_S = (d - S)/(2S²)`,
/// `ℓ_SS = (S - 2d)/(2S³)`, `E[ℓ_SS] = -1/(2S²)`:
/// - power law, `W = A² e^{2γ L}`, `L = ln(Δt/yr)`: `∂W/∂θ = (2W, 2LW)`, second derivatives
///   `4W (1, L, L²)`, so with `u = ℓ_S W`, `v = ℓ_SS W² + u`, `z = E[ℓ_SS] W²`:
///   `g = 2 Σ (u, uL)`, `H = 4 Σ (v, vL, vL²)`, `F = 4 Σ (z, zL, zL²)`;
/// - DRW, `W = ω² (1 - e^{-x})`, `x = Δt/τ`, `W_τ = -ω² x e^{-x}`: `∂W/∂θ = (2W, W_τ)`,
///   `∂²W/∂θ² = (4W, 2W_τ, -W_τ (1 - x))`.
#[inline(always)]
fn evaluate_lanes<const DRW: bool, const DERIVS: bool, const FISHER: bool, const FMA: bool>(
    theta: &[f64; 2],
    s: &SfScratch,
) -> Option<Eval> {
    let mac = vmath::mac::<FMA>;
    let amp2 = (2.0 * theta[0]).exp();
    let inv_tau = (-theta[1]).exp();
    let two_gamma = 2.0 * theta[1];
    let n = s.dt.len();
    let lag: &[f64] = if DRW { &s.dt } else { &s.lag };
    let (dt, dm2, s2, lag) = (&s.dt[..n], &s.dm2[..n], &s.s2[..n], &lag[..n]);
    // chi and eight derivative sums per lane (see above); separate arrays, so the
    // compiler sees they do not alias and keeps them in vector registers
    let mut a0 = [0.0f64; LANES];
    let (mut a1, mut a2, mut a3, mut a4) =
        ([0.0f64; LANES], [0.0; LANES], [0.0; LANES], [0.0; LANES]);
    let (mut a5, mut a6, mut a7, mut a8) =
        ([0.0f64; LANES], [0.0; LANES], [0.0; LANES], [0.0; LANES]);
    let mut logs = vmath::LogSum::<LANES>::default();
    let whole = n / LANES * LANES;
    let chunks = dt[..whole]
        .chunks_exact(LANES)
        .zip(dm2[..whole].chunks_exact(LANES))
        .zip(
            s2[..whole]
                .chunks_exact(LANES)
                .zip(lag[..whole].chunks_exact(LANES)),
        );
    for (c, ((dt, dm2), (s2, lag))) in chunks.enumerate() {
        let dt: &[f64; LANES] = dt.try_into().expect("whole lane");
        let dm2: &[f64; LANES] = dm2.try_into().expect("whole lane");
        let s2: &[f64; LANES] = s2.try_into().expect("whole lane");
        let lag: &[f64; LANES] = lag.try_into().expect("whole lane");
        let mut w = [0.0f64; LANES];
        let mut wt = [0.0f64; LANES];
        let mut x = [0.0f64; LANES];
        if DRW {
            let mut small = false;
            for j in 0..LANES {
                x[j] = dt[j] * inv_tau;
                // e^{-x} is 0 to double precision beyond x = 745; cut at 700 so that no
                // subnormal number (slow microcode on x86) is ever made
                let e = vmath::exp_with::<FMA>(-x[j].min(700.0));
                let e = if x[j] > 700.0 { 0.0 } else { e };
                w[j] = amp2 * (1.0 - e);
                wt[j] = -amp2 * x[j] * e;
                small |= x[j] < 0.05;
            }
            if small {
                // 1 - e^{-x} from its series below x = 0.05 (no cancellation); most
                // steps have no such lag and skip this
                for j in 0..LANES {
                    let xj = x[j];
                    let series = xj
                        * (1.0
                            - xj * (0.5
                                - xj * (1.0 / 6.0
                                    - xj * (1.0 / 24.0
                                        - xj * (1.0 / 120.0 - xj * (1.0 / 720.0))))));
                    w[j] = if xj < 0.05 { amp2 * series } else { w[j] };
                }
            }
        } else {
            for j in 0..LANES {
                w[j] = amp2 * vmath::exp_with::<FMA>(two_gamma * lag[j]);
            }
        }
        let mut big = [0.0f64; LANES];
        let mut inv = [0.0f64; LANES];
        for j in 0..LANES {
            big[j] = w[j] + s2[j];
            inv[j] = 1.0 / big[j];
            a0[j] = mac(dm2[j], inv[j], a0[j]);
        }
        if DERIVS {
            for j in 0..LANES {
                let i2 = inv[j] * inv[j];
                let ls = 0.5 * (dm2[j] - big[j]) * i2;
                let lss = 0.5 * (big[j] - 2.0 * dm2[j]) * i2 * inv[j];
                let fs = -0.5 * i2;
                if DRW {
                    let (wj, tj) = (w[j], wt[j]);
                    a1[j] = mac(ls, wj, a1[j]);
                    a2[j] = mac(ls, tj, a2[j]);
                    a3[j] = mac(mac(lss, wj, ls), wj, a3[j]);
                    a4[j] = mac(tj, mac(lss, wj, ls), a4[j]);
                    a5[j] = mac(tj, lss * tj - ls * (1.0 - x[j]), a5[j]);
                    if FISHER {
                        a6[j] = mac(fs * wj, wj, a6[j]);
                        a7[j] = mac(fs * wj, tj, a7[j]);
                        a8[j] = mac(fs * tj, tj, a8[j]);
                    }
                } else {
                    let l = lag[j];
                    let u = ls * w[j];
                    let v = mac(lss * w[j], w[j], u);
                    let z = fs * w[j] * w[j]; // used by the Fisher sums only
                    a1[j] += u;
                    a2[j] = mac(u, l, a2[j]);
                    a3[j] += v;
                    let vl = v * l;
                    a4[j] += vl;
                    a5[j] = mac(vl, l, a5[j]);
                    if FISHER {
                        a6[j] += z;
                        let zl = z * l;
                        a7[j] += zl;
                        a8[j] = mac(zl, l, a8[j]);
                    }
                }
            }
        }
        logs.push(&big);
        if c % vmath::LogSum::<LANES>::RENORM == vmath::LogSum::<LANES>::RENORM - 1 {
            logs.renormalise();
        }
    }
    if logs.valid() != whole {
        return None;
    }
    let mut lnsum = logs.total();
    let acc = [a0, a1, a2, a3, a4, a5, a6, a7, a8];
    // undo the factoring of the lane sums: g = (f1 t1, f2 t2), H and F scaled by
    // (hf0, hf1, hf2)
    let (f1, f2, hf0, hf1, hf2) = if DRW {
        (2.0, 1.0, 4.0, 2.0, 1.0)
    } else {
        (2.0, 2.0, 4.0, 4.0, 4.0)
    };
    let t: [f64; 9] = std::array::from_fn(|q| acc[q].iter().sum::<f64>());
    let mut e = Eval {
        l: t[0],
        g: [f1 * t[1], f2 * t[2]],
        h: [[hf0 * t[3], hf1 * t[4]], [hf1 * t[4], hf2 * t[5]]],
        fisher: if FISHER {
            [[hf0 * t[6], hf1 * t[7]], [hf1 * t[7], hf2 * t[8]]]
        } else {
            [[f64::NAN; 2]; 2]
        },
    };
    // the last n % LANES pairs, in order, through the scalar model terms
    for k in whole..n {
        let [w, wa, wb, waa, wab, wbb] = model_terms::<DRW>(theta, amp2, inv_tau, dt[k], lag[k]);
        let d = dm2[k];
        let sk = w + s2[k];
        if !(f64::MIN_POSITIVE..=f64::MAX).contains(&sk) {
            return None;
        }
        let inv = 1.0 / sk;
        lnsum += sk.ln();
        e.l += d * inv;
        if DERIVS {
            let ls = 0.5 * (d - sk) * inv * inv;
            let lss = 0.5 * (sk - 2.0 * d) * inv * inv * inv;
            let fs = -0.5 * inv * inv;
            e.g[0] += ls * wa;
            e.g[1] += ls * wb;
            e.h[0][0] += lss * wa * wa + ls * waa;
            e.h[0][1] += lss * wa * wb + ls * wab;
            e.h[1][1] += lss * wb * wb + ls * wbb;
            if FISHER {
                e.fisher[0][0] += fs * wa * wa;
                e.fisher[0][1] += fs * wa * wb;
                e.fisher[1][1] += fs * wb * wb;
            }
        }
    }
    e.h[1][0] = e.h[0][1];
    e.fisher[1][0] = e.fisher[0][1];
    // e.l held the chi-square term so far
    e.l = -0.5 * (lnsum + e.l + n as f64 * LN_2PI);
    Some(e)
}

// One compiled copy per (model, derivatives) and instruction set, picked at run time:
// AVX-512 and AVX2 with FMA, the baseline without. The same CPU always takes the same
// variant, so results do not depend on ranks or threads.
macro_rules! lane_pass {
    ($name:ident, $drw:literal, $derivs:literal, $fisher:literal) => {
        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
            "x86_64+avx2+fma",
            "aarch64+neon"
        ))]
        fn $name(theta: &[f64; 2], s: &SfScratch) -> Option<Eval> {
            if multiversion::target::target_cfg_f!(target_feature = "fma") {
                evaluate_lanes::<$drw, $derivs, $fisher, true>(theta, s)
            } else {
                evaluate_lanes::<$drw, $derivs, $fisher, false>(theta, s)
            }
        }
    };
}
lane_pass!(lanes_pl, false, false, false);
lane_pass!(lanes_pl_d, false, true, false);
lane_pass!(lanes_pl_f, false, true, true);
lane_pass!(lanes_drw, true, false, false);
lane_pass!(lanes_drw_d, true, true, false);
lane_pass!(lanes_drw_f, true, true, true);

/// Pairs per step of the single-precision pre-pass: two AVX-512 registers of `f32`.
const LANES32: usize = 32;

/// Gradient and observed Hessian of logL at θ in single precision (no logL, no Fisher
/// sums): sixteen pairs per AVX-512 register instead of eight, and a shorter `exp`. Lane
/// sums are merged in `f64`; the last `n % LANES32` pairs go through the `f64` terms.
/// Rounding leaves the optimum about 1e-3 σ off for 20 000 pairs, which the `f64` Newton
/// passes after it remove. `None` when a sum is not finite.
// lane loops index several arrays in step: `for j in 0..N` is the clear form
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn newton_lanes32<const DRW: bool, const FMA: bool>(
    theta: &[f64; 2],
    s: &SfScratch,
) -> Option<([f64; 2], [[f64; 2]; 2])> {
    let mac = |a: f32, b: f32, c: f32| if FMA { a.mul_add(b, c) } else { a * b + c };
    let amp2 = (2.0 * theta[0]).exp();
    let inv_tau = (-theta[1]).exp();
    let (a32, t32, g32) = (amp2 as f32, inv_tau as f32, (2.0 * theta[1]) as f32);
    let n = s.dt.len();
    let whole = n / LANES32 * LANES32;
    let var: &[f32] = if DRW { &s.dt32 } else { &s.lag32 };
    let mut acc = [[0.0f32; LANES32]; 5];
    let chunks = var[..whole]
        .chunks_exact(LANES32)
        .zip(s.dm2_32[..whole].chunks_exact(LANES32))
        .zip(s.s2_32[..whole].chunks_exact(LANES32));
    for ((v, dm2), s2) in chunks {
        let (mut w, mut wt, mut x) = ([0.0f32; LANES32], [0.0f32; LANES32], [0.0f32; LANES32]);
        if DRW {
            let mut small = false;
            for j in 0..LANES32 {
                // e^{-x} is 0 in f32 beyond x = 104; cut at 80 (no subnormals)
                x[j] = v[j] * t32;
                let e = vmath::exp_f32::<FMA>(-x[j].min(80.0));
                let e = if x[j] > 80.0 { 0.0 } else { e };
                (w[j], wt[j]) = (a32 * (1.0 - e), -a32 * x[j] * e);
                small |= x[j] < 0.05;
            }
            if small {
                // 1 - e^{-x} from its series below x = 0.05 (truncation < 1e-7), where
                // the subtraction would lose digits
                for j in 0..LANES32 {
                    let xj = x[j];
                    let series = a32 * xj * (1.0 - 0.5 * xj * (1.0 - xj / 3.0 * (1.0 - 0.25 * xj)));
                    w[j] = if xj < 0.05 { series } else { w[j] };
                }
            }
        } else {
            for j in 0..LANES32 {
                w[j] = a32 * vmath::exp_f32::<FMA>(g32 * v[j]);
            }
        }
        for j in 0..LANES32 {
            let (w, wt, x) = (w[j], wt[j], x[j]);
            let big = w + s2[j];
            let inv = 1.0 / big;
            let i2 = inv * inv;
            let ls = 0.5 * (dm2[j] - big) * i2;
            let lss = 0.5 * (big - 2.0 * dm2[j]) * i2 * inv;
            let q = mac(lss, w, ls);
            if DRW {
                acc[0][j] = mac(ls, w, acc[0][j]);
                acc[1][j] = mac(ls, wt, acc[1][j]);
                acc[2][j] = mac(q, w, acc[2][j]);
                acc[3][j] = mac(wt, q, acc[3][j]);
                acc[4][j] = mac(wt, lss * wt - ls * (1.0 - x), acc[4][j]);
            } else {
                let (l, u) = (v[j], ls * w);
                let vv = q * w;
                acc[0][j] += u;
                acc[1][j] = mac(u, l, acc[1][j]);
                acc[2][j] += vv;
                let vl = vv * l;
                acc[3][j] += vl;
                acc[4][j] = mac(vl, l, acc[4][j]);
            }
        }
    }
    let t: [f64; 5] = std::array::from_fn(|q| acc[q].iter().map(|&v| v as f64).sum());
    let (f1, f2, hf0, hf1, hf2) = if DRW {
        (2.0, 1.0, 4.0, 2.0, 1.0)
    } else {
        (2.0, 2.0, 4.0, 4.0, 4.0)
    };
    let mut g = [f1 * t[0], f2 * t[1]];
    let mut h = [[hf0 * t[2], hf1 * t[3]], [hf1 * t[3], hf2 * t[4]]];
    let lag: &[f64] = if DRW { &s.dt } else { &s.lag };
    for k in whole..n {
        let [w, wa, wb, waa, wab, wbb] = model_terms::<DRW>(theta, amp2, inv_tau, s.dt[k], lag[k]);
        let (d, sk) = (s.dm2[k], w + s.s2[k]);
        let inv = 1.0 / sk;
        let ls = 0.5 * (d - sk) * inv * inv;
        let lss = 0.5 * (sk - 2.0 * d) * inv * inv * inv;
        g[0] += ls * wa;
        g[1] += ls * wb;
        h[0][0] += lss * wa * wa + ls * waa;
        h[0][1] += lss * wa * wb + ls * wab;
        h[1][1] += lss * wb * wb + ls * wbb;
    }
    h[1][0] = h[0][1];
    let finite = g.iter().chain(h.iter().flatten()).all(|v| v.is_finite());
    finite.then_some((g, h))
}

macro_rules! newton_pass32 {
    ($name:ident, $drw:literal) => {
        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
            "x86_64+avx2+fma",
            "aarch64+neon"
        ))]
        fn $name(theta: &[f64; 2], s: &SfScratch) -> Option<([f64; 2], [[f64; 2]; 2])> {
            if multiversion::target::target_cfg_f!(target_feature = "fma") {
                newton_lanes32::<$drw, true>(theta, s)
            } else {
                newton_lanes32::<$drw, false>(theta, s)
            }
        }
    };
}
newton_pass32!(newton32_pl, false);
newton_pass32!(newton32_drw, true);

/// Fewest pairs for which the single-precision pre-passes are used.
const F32_MIN_PAIRS: usize = 1024;
/// At most this many single-precision Newton steps.
const F32_MAX_STEPS: usize = 6;
/// The pre-passes stop at a point whose predicted gain (logL units) is below this: one
/// `f64` pass there usually confirms convergence (single-precision rounding itself
/// stops them near 1e-3 σ, through the "gain grows" rule).
const F32_GAIN_STOP: f64 = 1e-10;
/// A Newton step whose predicted gain is below this (about 0.005 σ from the optimum)
/// is taken without another single-precision pass: by the quadratic convergence of
/// Newton's method it lands well within the `f64` convergence test.
const F32_LAST_STEP: f64 = 1e-5;

/// Newton steps in single precision from `theta` towards the optimum, to save `f64`
/// passes (the expensive part of a fit). No line search and no Fisher fallback: the
/// steps stop, keeping the last good point, as soon as `-H` is not positive definite, a
/// sum is not finite or the predicted gain grows instead of shrinking; the `f64` Newton
/// iterations with their safeguards always finish the fit. Returns the point and the
/// number of passes made.
fn newton_f32(
    model: SfModel,
    theta: [f64; 2],
    s: &SfScratch,
    clamp: impl Fn([f64; 2]) -> [f64; 2],
) -> ([f64; 2], usize) {
    if s.n_pairs() < F32_MIN_PAIRS {
        return (theta, 0);
    }
    let (mut theta, mut prev) = (theta, theta);
    let mut last_gain = f64::INFINITY;
    let (mut passes, mut halvings) = (0, 0);
    for _ in 0..F32_MAX_STEPS {
        passes += 1;
        let pass = match model {
            SfModel::PowerLaw => newton32_pl(&theta, s),
            SfModel::Drw => newton32_drw(&theta, s),
        };
        let Some((g, h)) = pass else {
            return (prev, passes);
        };
        let Some(inv) = neg_inverse(&h) else {
            return (prev, passes);
        };
        let mut p = [
            inv[0][0] * g[0] + inv[0][1] * g[1],
            inv[1][0] * g[0] + inv[1][1] * g[1],
        ];
        let gain = 0.5 * (g[0] * p[0] + g[1] * p[1]);
        if gain.is_nan() || gain > last_gain {
            // the step overshot (the predicted gain stands in for logL, which these
            // passes do not compute): halve it, up to twice, else give up on it
            if halvings == 2 || !gain.is_finite() {
                return (prev, passes);
            }
            halvings += 1;
            theta = clamp([0.5 * (theta[0] + prev[0]), 0.5 * (theta[1] + prev[1])]);
            continue;
        }
        halvings = 0;
        if gain < F32_GAIN_STOP {
            return (theta, passes);
        }
        let big = p[0].abs().max(p[1].abs());
        if big > 2.0 {
            p = [p[0] * 2.0 / big, p[1] * 2.0 / big];
        }
        last_gain = gain;
        prev = theta;
        theta = clamp([theta[0] + p[0], theta[1] + p[1]]);
        if gain < F32_LAST_STEP {
            // close enough that this step lands within rounding of the optimum: the
            // double-precision pass there checks it
            return (theta, passes);
        }
    }
    (theta, passes)
}

fn evaluate_impl<const DRW: bool, const DERIVS: bool>(theta: &[f64; 2], s: &SfScratch) -> Eval {
    let amp2 = (2.0 * theta[0]).exp();
    let inv_tau = (-theta[1]).exp();
    let (mut lnsum, mut chi) = (0.0, 0.0);
    let (mut g0, mut g1) = (0.0, 0.0);
    let (mut h00, mut h01, mut h11) = (0.0, 0.0, 0.0);
    let (mut f00, mut f01, mut f11) = (0.0, 0.0, 0.0);
    let n = s.dt.len();
    let lag: &[f64] = if DRW { &s.dt } else { &s.lag };
    let (dt, dm2, s2) = (&s.dt[..n], &s.dm2[..n], &s.s2[..n]);
    let lag = &lag[..n];
    let mut block = [1.0f64; LN_BLOCK];
    for k in 0..n {
        let [w, wa, wb, waa, wab, wbb] = model_terms::<DRW>(theta, amp2, inv_tau, dt[k], lag[k]);
        let d = dm2[k];
        let big_s = w + s2[k];
        let inv = 1.0 / big_s;
        chi += d * inv;
        block[k % LN_BLOCK] = big_s;
        if k % LN_BLOCK == LN_BLOCK - 1 {
            let p = block.iter().product::<f64>();
            lnsum += if p.is_normal() {
                p.ln()
            } else {
                block.iter().map(|v| v.ln()).sum()
            };
        }
        if DERIVS {
            // ∂ℓ/∂S = (d - S)/(2S²), ∂²ℓ/∂S² = (S - 2d)/(2S³), E[∂²ℓ/∂S²] = -1/(2S²).
            let ls = 0.5 * (d - big_s) * inv * inv;
            let lss = 0.5 * (big_s - 2.0 * d) * inv * inv * inv;
            let fs = -0.5 * inv * inv;
            g0 += ls * wa;
            g1 += ls * wb;
            h00 += lss * wa * wa + ls * waa;
            h01 += lss * wa * wb + ls * wab;
            h11 += lss * wb * wb + ls * wbb;
            f00 += fs * wa * wa;
            f01 += fs * wa * wb;
            f11 += fs * wb * wb;
        }
    }
    // Values of the last, incomplete block.
    for v in &block[..n % LN_BLOCK] {
        lnsum += v.ln();
    }
    Eval {
        l: -0.5 * (lnsum + chi + n as f64 * LN_2PI),
        g: [g0, g1],
        h: [[h00, h01], [h01, h11]],
        fisher: [[f00, f01], [f01, f11]],
    }
}

/// Log-likelihood of the pairs in `scratch` at internal parameters θ (one O(pairs) pass).
pub fn log_likelihood(model: SfModel, theta: [f64; 2], scratch: &mut SfScratch) -> f64 {
    if model == SfModel::PowerLaw {
        scratch.ensure_lag();
    }
    evaluate(model, &theta, scratch, Need::Value).l
}

/// Inverse of the symmetric 2x2 `-m` if `-m` is positive definite.
fn neg_inverse(m: &[[f64; 2]; 2]) -> Option<[[f64; 2]; 2]> {
    let (a, b, d) = (-m[0][0], -m[0][1], -m[1][1]);
    let det = a * d - b * b;
    if a > 0.0 && d > 0.0 && det > 0.0 && det.is_finite() {
        Some([[d / det, -b / det], [-b / det, a / det]])
    } else {
        None
    }
}

/// Starting point of Newton's method from the pairs binned in lag: per bin of
/// `ln Δt` ([`START_BINS`] equal bins), the mean excess `E = <Δm² - δ_i² - δ_j²>` estimates
/// `V²` there. Power law: least squares of `ln E = 2 ln A + 2γ ln(Δt/yr)` over the bins with
/// positive excess, weighted by pair counts. DRW: for each `τ` of a log grid over the
/// bounds, `ω²` by weighted least squares of `E = ω² (1 - e^{-Δt/τ})`, and the `τ` with the
/// smallest residual. One pass without transcendental functions per pair, then work on the
/// bins only; a start near the optimum saves most Newton steps (each one a pass). Falls
/// back to the plain moment start when fewer than two bins have positive excess.
fn initial_theta(model: SfModel, s: &SfScratch, lo: [f64; 2], hi: [f64; 2]) -> [f64; 2] {
    // a start needs no more than a few thousand pairs: every `stride`-th one, in one
    // pass that bins them over the lag range of all pairs and sums what the fallbacks use
    let stride = s.dt.len().div_ceil(START_PAIRS).max(1);
    let (dt, lag) = (s.dt.iter().step_by(stride), s.lag.iter().step_by(stride));
    let (dm2, s2) = (s.dm2.iter().step_by(stride), s.s2.iter().step_by(stride));
    let n = dt.len() as f64;
    let lmin = (s.dt_range.0 / YEAR_DAYS).ln();
    let lmax = (s.dt_range.1 / YEAR_DAYS).ln();
    let inv_width = START_BINS as f64 / (lmax - lmin).max(1e-12);
    let mut count = [0.0f64; START_BINS];
    let mut sum_e = [0.0f64; START_BINS];
    let mut sum_l = [0.0f64; START_BINS];
    let (mut excess, mut scale, mut sum_dt) = (0.0, 0.0, 0.0);
    for (((&t, &l), &d), &v) in dt.clone().zip(lag.clone()).zip(dm2).zip(s2) {
        // NaN-free: lags are finite, so the cast saturates at 0 below lmin
        let k = (((l - lmin) * inv_width) as usize).min(START_BINS - 1);
        count[k] += 1.0;
        sum_e[k] += d - v;
        sum_l[k] += l;
        excess += d - v;
        scale += d;
        sum_dt += t;
    }
    let (excess, scale) = (excess / n, scale / n);
    let floor = (1e-6 * scale).max(1e-12);
    let plain = |shape: f64, second: f64| [0.5 * (excess / shape).max(floor).ln(), second];
    // (pairs, mean excess, mean lag) of the non-empty bins
    let bins = (0..START_BINS)
        .filter(|&k| count[k] > 0.0)
        .map(|k| (count[k], sum_e[k] / count[k], sum_l[k] / count[k]));
    let positive = bins.clone().filter(|b| b.1 > 0.0).count();
    match model {
        SfModel::PowerLaw => {
            if positive < 2 {
                let g0 = 0.5;
                let shape = lag.map(|&l| (2.0 * g0 * l).exp()).sum::<f64>() / n;
                return plain(shape, g0);
            }
            // weighted regression of ln E on L: ln E = a + b L, a = 2 ln A, b = 2 gamma
            let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (c, e, l) in bins.filter(|b| b.1 > 0.0) {
                let y = e.ln();
                sw += c;
                sx += c * l;
                sy += c * y;
                sxx += c * l * l;
                sxy += c * l * y;
            }
            let det = sw * sxx - sx * sx;
            let b = if det > 1e-12 * sw * sxx.max(1e-300) {
                (sw * sxy - sx * sy) / det
            } else {
                0.0
            };
            let a = (sy - b * sx) / sw;
            [0.5 * a, (0.5 * b).clamp(lo[1], hi[1])]
        }
        SfModel::Drw => {
            let tau_plain = sum_dt / n;
            let plain_drw = || {
                let shape = dt.clone().map(|&d| -(-d / tau_plain).exp_m1()).sum::<f64>() / n;
                plain(shape, tau_plain.ln())
            };
            if positive < 2 {
                return plain_drw();
            }
            let mut best = (f64::INFINITY, lo[0], tau_plain.ln());
            // each bin's mean lag in days, once
            let mut bin_dt = [0.0f64; START_BINS];
            for (d, (_, _, l)) in bin_dt.iter_mut().zip(bins.clone()) {
                *d = l.exp() * YEAR_DAYS;
            }
            for g in 0..=START_TAUS {
                let ln_tau = lo[1] + (hi[1] - lo[1]) * g as f64 / START_TAUS as f64;
                let inv_tau = (-ln_tau).exp();
                let (mut seg, mut sgg, mut see) = (0.0, 0.0, 0.0);
                for ((c, e, _), &dt_bin) in bins.clone().zip(&bin_dt) {
                    let gk = -(-dt_bin * inv_tau).exp_m1();
                    seg += c * e * gk;
                    sgg += c * gk * gk;
                    see += c * e * e;
                }
                if sgg > 0.0 && seg > 0.0 {
                    let w2 = seg / sgg;
                    let resid = see - w2 * seg;
                    if resid < best.0 {
                        best = (resid, 0.5 * w2.ln(), ln_tau);
                    }
                }
            }
            if best.0.is_finite() {
                [best.1, best.2]
            } else {
                plain_drw()
            }
        }
    }
}

/// Pairs (at most, about) that the starting-point estimate looks at.
const START_PAIRS: usize = 2048;
/// Lag bins of the starting-point estimate.
const START_BINS: usize = 24;
/// Intervals of the `ln τ` grid of the DRW starting-point search.
const START_TAUS: usize = 32;

/// Fit `model` to the pairs already in `scratch` (from [`build_pairs`] or
/// [`SfScratch::load_pairs`]). Needs at least 3 pairs.
pub fn fit_pairs(
    model: SfModel,
    opts: &SfOptions,
    scratch: &mut SfScratch,
) -> Result<SfFit, Reason> {
    if scratch.n_pairs() < 3 {
        return Err(Reason::TooFewPoints);
    }
    // ln(Δt/yr): the power law's variable, and the lag bins of the starting point
    scratch.ensure_lag();
    let s: &SfScratch = scratch;
    let (lo, hi) = bounds(model, s);
    let clamp = |th: [f64; 2]| [th[0].clamp(lo[0], hi[0]), th[1].clamp(lo[1], hi[1])];
    let start = clamp(initial_theta(model, s, lo, hi));
    let (mut theta, passes_f32) = if opts.f32_start {
        newton_f32(model, start, s, clamp)
    } else {
        (start, 0)
    };
    let mut cur = evaluate(model, &theta, s, Need::Newton);
    let mut evaluations = 1;
    let mut converged = false;
    let mut iterations = 0;
    if !cur.l.is_finite() {
        // Degenerate pairs (e.g. errors so small that S underflows): report, do not iterate.
        iterations = opts.max_iter;
    }
    while iterations < opts.max_iter {
        iterations += 1;
        // Newton direction p = (-H)^{-1} g, or Fisher scoring when -H is not positive definite.
        let newton = neg_inverse(&cur.h);
        if newton.is_none() && cur.fisher[0][0].is_nan() {
            // the observed Hessian is not negative definite: the same point again, with
            // the expected Hessian for a Fisher-scoring step
            cur = evaluate(model, &theta, s, Need::Fisher);
            evaluations += 1;
        }
        let Some(inv) = newton.or_else(|| neg_inverse(&cur.fisher)) else {
            break;
        };
        let mut p = [
            inv[0][0] * cur.g[0] + inv[0][1] * cur.g[1],
            inv[1][0] * cur.g[0] + inv[1][1] * cur.g[1],
        ];
        // Newton decrement: g·p / 2 is the predicted logL gain of the full step. Once it is
        // negligible the current point is the optimum, and a confirming pass would be wasted.
        if newton.is_some() && 0.5 * (cur.g[0] * p[0] + cur.g[1] * p[1]) < opts.gain_tol {
            converged = true;
            break;
        }
        let big = p[0].abs().max(p[1].abs());
        if big > 2.0 {
            p = [p[0] * 2.0 / big, p[1] * 2.0 / big];
        }
        let mut accepted = None;
        let mut step = 1.0;
        for _ in 0..40 {
            let trial = clamp([theta[0] + step * p[0], theta[1] + step * p[1]]);
            let ev = evaluate(model, &trial, s, Need::Newton);
            evaluations += 1;
            if ev.l.is_finite() && ev.l >= cur.l {
                accepted = Some((trial, ev));
                break;
            }
            step *= 0.5;
        }
        let Some((trial, ev)) = accepted else {
            // No ascent along the direction: we are at the optimum to rounding.
            converged = true;
            break;
        };
        let moved = (trial[0] - theta[0]).abs().max((trial[1] - theta[1]).abs());
        theta = trial;
        cur = ev;
        if moved < opts.step_tol {
            converged = true;
            break;
        }
    }
    let at_bound = (0..2).any(|k| {
        let tol = 1e-9 * (1.0 + theta[k].abs());
        (theta[k] - lo[k]).abs() <= tol || (hi[k] - theta[k]).abs() <= tol
    });
    let cov = neg_inverse(&cur.h).unwrap_or([[f64::NAN; 2]; 2]);
    let st = [cov[0][0].sqrt(), cov[1][1].sqrt()];
    let (params, sigma) = match model {
        SfModel::PowerLaw => {
            let a = theta[0].exp();
            ([a, theta[1]], [a * st[0], st[1]])
        }
        SfModel::Drw => {
            let (w, t) = (theta[0].exp(), theta[1].exp());
            ([w, t], [w * st[0], t * st[1]])
        }
    };
    Ok(SfFit {
        model,
        params,
        sigma,
        theta,
        cov_theta: cov,
        log_likelihood: cur.l,
        n_pairs: s.n_pairs(),
        iterations,
        evaluations,
        passes_f32,
        converged,
        at_bound,
    })
}

/// Build all pairs of a cleaned curve and fit `model`: [`build_pairs`] then [`fit_pairs`].
/// To fit both models to one curve, call [`build_pairs`] once and [`fit_pairs`] twice.
pub fn fit_structure_function(
    time: &[f64],
    mag: &[f64],
    err: &[f64],
    model: SfModel,
    opts: &SfOptions,
    scratch: &mut SfScratch,
) -> Result<SfFit, Reason> {
    build_pairs(time, mag, err, scratch)?;
    fit_pairs(model, opts, scratch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pairs (an LCG) spanning lags of 0.01 to 3000 days.
    fn pairs(n: usize) -> SfScratch {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut u = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut s = SfScratch::default();
        let (mut dt, mut dm, mut var) = (vec![], vec![], vec![]);
        for _ in 0..n {
            dt.push(10f64.powf(-2.0 + 5.5 * u()));
            dm.push(0.4 * (u() - 0.5));
            var.push(1e-4 + 2e-3 * u());
        }
        s.load_pairs(&dt, &dm, &var);
        s.ensure_lag();
        s
    }

    fn close(a: f64, b: f64, scale: f64) -> bool {
        (a - b).abs() <= 1e-12 * scale.max(a.abs())
    }

    #[test]
    fn lane_pass_matches_scalar_pass() {
        // 1003 pairs: whole lanes plus a tail; thetas from tiny to large V
        let s = pairs(1003);
        for model in [SfModel::PowerLaw, SfModel::Drw] {
            for theta in [[-3.0, 0.4], [-1.0, 2.0], [0.5, -1.0], [-8.0, 5.0]] {
                for need in [Need::Value, Need::Newton, Need::Fisher] {
                    let derivs = need != Need::Value;
                    let v = evaluate(model, &theta, &s, need);
                    let r = evaluate_scalar(model, &theta, &s, derivs);
                    assert!(
                        close(v.l, r.l, 1.0),
                        "{model:?} {theta:?}: {} vs {}",
                        v.l,
                        r.l
                    );
                    if derivs {
                        let gs = r.g[0].abs() + r.g[1].abs() + r.h[0][0].abs();
                        for (a, b) in v.g.iter().zip(&r.g) {
                            assert!(close(*a, *b, gs), "{model:?} {theta:?} g: {a} vs {b}");
                        }
                        for q in 0..2 {
                            for p in 0..2 {
                                assert!(close(v.h[q][p], r.h[q][p], gs));
                                if need == Need::Fisher {
                                    assert!(close(v.fisher[q][p], r.fisher[q][p], gs));
                                } else {
                                    assert!(v.fisher[q][p].is_nan(), "Fisher sums skipped");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn degenerate_pair_falls_back_to_scalar_pass() {
        // a zero-variance pair with zero lag-model: S = 0 makes the log sum invalid
        let mut s = pairs(40);
        s.s2[17] = 0.0;
        s.dm2[17] = 0.0;
        let theta = [-800.0, 1.0]; // V^2 = e^-1600: underflows to 0
        let v = evaluate(SfModel::PowerLaw, &theta, &s, Need::Newton);
        let r = evaluate_scalar(SfModel::PowerLaw, &theta, &s, true);
        assert_eq!(v.l.to_bits(), r.l.to_bits());
        assert!(!v.l.is_finite());
    }
}
