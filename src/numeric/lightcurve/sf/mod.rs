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
//! The passes (`sf/passes.rs`) are branch-free over 32 pairs at a time, with no
//! `ln` per pair (`Σ ln S` from exponent bits and mantissa products,
//! [`crate::numeric::vmath::LogSum`]); a pass meeting a degenerate `S` is redone by the plain
//! one-`ln`-per-pair loop. Newton starts from a least-squares fit to the
//! pairs binned in lag; from 1024 pairs on, its first steps are taken in
//! single precision ([`SfOptions::f32_start`]), and the double-precision
//! passes after them decide convergence with every safeguard above, so the
//! optimum is the one double precision alone finds (tested).

use crate::numeric::lightcurve::reason::Reason;

mod pairs;
mod passes;

use pairs::neg_inverse;
pub use pairs::{bounds, build_pairs, SfFit, SfModel, SfOptions, SfScratch, YEAR_DAYS};
use passes::*;

/// Log-likelihood of the pairs in `scratch` at internal parameters θ (one O(pairs) pass).
pub fn log_likelihood(model: SfModel, theta: [f64; 2], scratch: &mut SfScratch) -> f64 {
    if model == SfModel::PowerLaw {
        scratch.ensure_lag();
    }
    evaluate(model, &theta, scratch, Need::Value).l
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
