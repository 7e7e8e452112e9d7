//! The likelihood passes of the structure-function fit: one O(N^2) pass
//! over all pairs per evaluation, branch-free over 32 pairs at a time in
//! double precision, and the single-precision Newton steps that start a fit
//! (numeric layer; see [`super`] for the model).

use super::pairs::{neg_inverse, SfModel, SfScratch};
use crate::numeric::vmath;

/// Log-likelihood, gradient and observed and expected Hessians at θ.
pub(super) struct Eval {
    pub(super) l: f64,
    pub(super) g: [f64; 2],
    pub(super) h: [[f64; 2]; 2],
    pub(super) fisher: [[f64; 2]; 2],
}

pub(super) const LN_2PI: f64 = 1.8378770664093453;

/// `V²` and its θ derivatives `(W, W_a, W_b, W_aa, W_ab, W_bb)` for one pair.
#[inline(always)]
pub(super) fn model_terms<const DRW: bool>(
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
pub(super) const LN_BLOCK: usize = 4;

/// What a pass computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Need {
    /// logL only.
    Value,
    /// logL, gradient and observed Hessian (a Newton step).
    Newton,
    /// Also the expected Hessian (Fisher scoring, when the observed one is not negative
    /// definite): three more sums per pair, so only asked for then.
    Fisher,
}

pub(super) fn evaluate(model: SfModel, theta: &[f64; 2], s: &SfScratch, need: Need) -> Eval {
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
pub(super) fn evaluate_scalar(
    model: SfModel,
    theta: &[f64; 2],
    s: &SfScratch,
    derivs: bool,
) -> Eval {
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
pub(super) const LANES: usize = 32;

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
pub(super) fn evaluate_lanes<
    const DRW: bool,
    const DERIVS: bool,
    const FISHER: bool,
    const FMA: bool,
>(
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
        crate::numeric::simd::dispatch! {
            fn $name(theta: &[f64; 2], s: &SfScratch) -> Option<Eval> {
                if multiversion::target::target_cfg_f!(target_feature = "fma") {
                    evaluate_lanes::<$drw, $derivs, $fisher, true>(theta, s)
                } else {
                    evaluate_lanes::<$drw, $derivs, $fisher, false>(theta, s)
                }
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
pub(super) const LANES32: usize = 32;

/// Gradient and observed Hessian of logL at θ in single precision (no logL, no Fisher
/// sums): sixteen pairs per AVX-512 register instead of eight, and a shorter `exp`. Lane
/// sums are merged in `f64`; the last `n % LANES32` pairs go through the `f64` terms.
/// Rounding leaves the optimum about 1e-3 σ off for 20 000 pairs, which the `f64` Newton
/// passes after it remove. `None` when a sum is not finite.
// lane loops index several arrays in step: `for j in 0..N` is the clear form
#[allow(clippy::needless_range_loop)]
#[inline(always)]
pub(super) fn newton_lanes32<const DRW: bool, const FMA: bool>(
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
        crate::numeric::simd::dispatch! {
            fn $name(theta: &[f64; 2], s: &SfScratch) -> Option<([f64; 2], [[f64; 2]; 2])> {
                if multiversion::target::target_cfg_f!(target_feature = "fma") {
                    newton_lanes32::<$drw, true>(theta, s)
                } else {
                    newton_lanes32::<$drw, false>(theta, s)
                }
            }
        }
    };
}
newton_pass32!(newton32_pl, false);
newton_pass32!(newton32_drw, true);

/// Fewest pairs for which the single-precision pre-passes are used.
pub(super) const F32_MIN_PAIRS: usize = 1024;
/// At most this many single-precision Newton steps.
pub(super) const F32_MAX_STEPS: usize = 6;
/// The pre-passes stop at a point whose predicted gain (logL units) is below this: one
/// `f64` pass there usually confirms convergence (single-precision rounding itself
/// stops them near 1e-3 σ, through the "gain grows" rule).
pub(super) const F32_GAIN_STOP: f64 = 1e-10;
/// A Newton step whose predicted gain is below this (about 0.005 σ from the optimum)
/// is taken without another single-precision pass: by the quadratic convergence of
/// Newton's method it lands well within the `f64` convergence test.
pub(super) const F32_LAST_STEP: f64 = 1e-5;

/// Newton steps in single precision from `theta` towards the optimum, to save `f64`
/// passes (the expensive part of a fit). No line search and no Fisher fallback: the
/// steps stop, keeping the last good point, as soon as `-H` is not positive definite, a
/// sum is not finite or the predicted gain grows instead of shrinking; the `f64` Newton
/// iterations with their safeguards always finish the fit. Returns the point and the
/// number of passes made.
pub(super) fn newton_f32(
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

pub(super) fn evaluate_impl<const DRW: bool, const DERIVS: bool>(
    theta: &[f64; 2],
    s: &SfScratch,
) -> Eval {
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
