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

use crate::numeric::lightcurve::features::validate;
use crate::numeric::lightcurve::Reason;

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
}

impl Default for SfOptions {
    fn default() -> Self {
        SfOptions {
            max_iter: 100,
            step_tol: 1e-7,
            gain_tol: 1e-9,
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
            self.lag.clear();
            self.lag
                .extend(self.dt.iter().map(|&d| (d / YEAR_DAYS).ln()));
            self.lag_valid = true;
        }
    }
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
    scratch.clear();
    for i in 0..n {
        let (ti, mi, vi) = (time[i], mag[i], err[i] * err[i]);
        for j in i + 1..n {
            let dm = mag[j] - mi;
            scratch.dt.push((time[j] - ti).abs());
            scratch.dm2.push(dm * dm);
            scratch.s2.push(vi + err[j] * err[j]);
        }
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
            let (mn, mx) = scratch
                .dt
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &d| {
                    (a.min(d), b.max(d))
                });
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

fn evaluate(model: SfModel, theta: &[f64; 2], s: &SfScratch, derivs: bool) -> Eval {
    match (model, derivs) {
        (SfModel::PowerLaw, true) => evaluate_impl::<false, true>(theta, s),
        (SfModel::PowerLaw, false) => evaluate_impl::<false, false>(theta, s),
        (SfModel::Drw, true) => evaluate_impl::<true, true>(theta, s),
        (SfModel::Drw, false) => evaluate_impl::<true, false>(theta, s),
    }
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
    evaluate(model, &theta, scratch, false).l
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

fn initial_theta(model: SfModel, s: &SfScratch) -> [f64; 2] {
    let n = s.dt.len() as f64;
    let excess = s.dm2.iter().zip(&s.s2).map(|(d, v)| d - v).sum::<f64>() / n;
    let scale = s.dm2.iter().sum::<f64>() / n;
    let floor = (1e-6 * scale).max(1e-12);
    match model {
        SfModel::PowerLaw => {
            let g0 = 0.5;
            let shape = s.lag.iter().map(|&l| (2.0 * g0 * l).exp()).sum::<f64>() / n;
            [0.5 * (excess / shape).max(floor).ln(), g0]
        }
        SfModel::Drw => {
            let tau = s.dt.iter().sum::<f64>() / n;
            let shape = s.dt.iter().map(|&d| -(-d / tau).exp_m1()).sum::<f64>() / n;
            [0.5 * (excess / shape).max(floor).ln(), tau.ln()]
        }
    }
}

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
    if model == SfModel::PowerLaw {
        scratch.ensure_lag();
    }
    let s: &SfScratch = scratch;
    let (lo, hi) = bounds(model, s);
    let clamp = |th: [f64; 2]| [th[0].clamp(lo[0], hi[0]), th[1].clamp(lo[1], hi[1])];
    let mut theta = clamp(initial_theta(model, s));
    let mut cur = evaluate(model, &theta, s, true);
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
            let ev = evaluate(model, &trial, s, true);
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
