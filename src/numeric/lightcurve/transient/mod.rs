//! Parametric fits of transient (supernova) light curves in flux: the Bazin, Villar and Linexp
//! models of light-curve-feature, by weighted least squares (numeric layer).
//!
//! Models, `u = t - t₀`, parameters in light-curve-feature's order, names and meaning
//! (Malanchev et al. 2021, MNRAS 502, 5147; `light-curve` Python package 0.13, the Rust
//! crate's `BazinFit`, `VillarFit`, `LinexpFit`):
//!
//! - [`TransientModel::Bazin`] (Bazin et al. 2009, A&A 499, 653, eq. 1 with the sign of the
//!   rise exponent corrected, as light-curve does), 5 parameters `[A, B, t₀, τ_rise, τ_fall]`:
//!   `f = A e^{-u/τ_fall} / (1 + e^{-u/τ_rise}) + B`.
//! - [`TransientModel::Villar`] (Villar et al. 2019, ApJ 884, 83, eq. 1), 7 parameters
//!   `[A, c, t₀, τ_rise, τ_fall, ν, γ]`: `f = c + A/(1 + e^{-u/τ_rise}) · (1 - ν u/γ)` for
//!   `u <= γ` and `c + A/(1 + e^{-u/τ_rise}) · (1 - ν) e^{-(u-γ)/τ_fall}` after. As in
//!   light-curve, `ν = -βγ/A ∈ [0, 1)` replaces Villar's plateau slope `β`.
//! - [`TransientModel::Linexp`], 4 parameters `[A, t₀, τ, B]`: `f = A x e^{-x} + B`,
//!   `x = u/τ` (light-curve's code; its documentation prints `e^{+x}`, a typo).
//!
//! Like light-curve, the fit is over unconstrained internal parameters `p` with
//! `A = |p_A|`, `τ = |p_τ|`, `γ = |p_γ|` and `ν = tanh|p_ν|` (light-curve's
//! `2 logistic(2|b|) - 1`), on data normalised to zero mean and unit standard deviation in
//! time and flux; these are the only constraints light-curve's least-squares algorithms
//! (LMSDER, Ceres without bounds) apply. The optimiser is Levenberg-Marquardt with the
//! analytic Jacobian (see `lm.rs`), minimising `χ² = Σ ((f(t_i) - y_i)/σ_i)²`.
//!
//! Starting points: first light-curve-feature's default initial guess (from `t_min`, `t_max`,
//! their span `T`, the time `t_peak` of the largest flux, `y_min`, `y_max` and the flux range
//! `ΔY`): Bazin `[ΔY/2, y_min, t_peak, T/2, T/2]`; Villar `[ΔY/2, y_min, t_peak, T/2, T/2, 0,
//! T/10]`; Linexp `[3ΔY, t_peak - 3T/8, T/4, y_min]`. Then 4 (Villar 8) more with shorter time
//! scales (see `starts`), since real curves often span many rise times. Every start gets a
//! few Levenberg-Marquardt steps; the three with the lowest χ² then run to convergence and
//! the lowest χ² wins. A Villar fit that stops on a kink of χ² (`ν = 0`, or the break
//! `t₀ + γ` on a data time) is finished by an active-set step (see `villar_kinks`).
//! Everything is deterministic (no random restarts).
//!
//! Uncertainties: the square roots of the diagonal of `(JᵀWJ)⁻¹` at the optimum, `J` the
//! Jacobian with respect to the reported (external) parameters; not rescaled by the reduced
//! χ². All NaN where that matrix is singular (e.g. no point after `t₀ + γ`, so that Villar's
//! `τ_fall` is undetermined). `reduced_chi2 = χ²/(N - n_params)`, as light-curve's
//! `*_reduced_chi2`.
//!
//! Differences from light-curve (0.13, `algorithm="lmsder"`): the parametrisations, starting
//! guess, transforms and χ² are the same; light-curve runs GSL's LMSDER from its one start
//! for 10 iterations by default, tessera runs to convergence from several starts, so its
//! χ² is never higher and often lower (tests/lc_kernels/transient.rs: at most
//! light-curve's × (1 + 1e-6) on 40 ZTF SN Ia curves for every model; the same optimum with
//! parameters within 1e-4 relative or 0.01σ on 39 of 40 Bazin and Linexp fits, a lower χ²
//! on the others and on all 40 Villar fits). light-curve reports no uncertainties and no
//! convergence flag, takes fluxes only, requires sorted times, and fits constant data
//! (tessera returns `None`).
//!
//! Magnitudes ([`Unit::Mag`]) are converted first, `f = 10^{-0.4 (m - ZP)}` with
//! `ZP =` [`MAG_ZERO_POINT`] `= 23.9` (AB magnitudes to microjansky) and
//! `σ_f = 0.4 ln(10) f σ_m` (first-order propagation); the fit and its parameters are in
//! that flux unit.
//!
//! Minimum points: `n_params + 1` (light-curve's minimum too). [`fit_transient`] returns `None`
//! for fewer, for slices of different lengths, any non-finite value or non-positive error,
//! and constant flux or constant time.

mod lm;
pub mod rainbow;

use lm::{accumulate, best_of_starts, inverse_spd, minimise, SingleBand, Vector, FREE, MAX_STARTS};

/// Largest number of parameters of any model (Villar's 7).
pub const MAX_PARAMS: usize = 7;

/// Zero point of [`Unit::Mag`]: `f = 10^{-0.4 (m - 23.9)}` is the flux density in µJy of an AB
/// magnitude `m`.
pub const MAG_ZERO_POINT: f64 = 23.9;

/// Passes over the points (χ² and Jacobian evaluations) allowed to each start at first.
const SCREEN_EVALS: usize = 40;
/// Starts (the lowest χ² after screening) that then run to convergence.
const KEEP: usize = 3;
/// Passes allowed to each of those.
const MAX_EVALS: usize = 2000;
/// The multi-start schedule of [`best_of_starts`]: screening passes, starts kept, passes.
const SCHEDULE: (usize, usize, usize) = (SCREEN_EVALS, KEEP, MAX_EVALS);
/// Distance (normalised time) below which Villar's break `t₀ + γ` counts as sitting on a
/// data point (see [`villar_kinks`]).
const BREAK_KINK: f64 = 1e-7;
/// Villar's internal `b` (`ν = tanh|b|`) below which the fit is treated as on the `ν = 0`
/// boundary (see [`villar_kinks`]).
const NU_KINK: f64 = 1e-6;
/// Initial Levenberg-Marquardt damping, relative to `diag(JᵀJ)`.
const LAMBDA_START: f64 = 1e-3;

/// A transient light-curve model (see the [module documentation](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransientModel {
    /// `[A, B, t₀, τ_rise, τ_fall]`, 5 parameters.
    Bazin,
    /// `[A, c, t₀, τ_rise, τ_fall, ν, γ]`, 7 parameters.
    Villar,
    /// `[A, t₀, τ, B]`, 4 parameters.
    Linexp,
}

/// Unit of the values passed to [`fit_transient`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Fluxes and flux errors, fitted as they are.
    Flux,
    /// AB magnitudes and their errors, converted to µJy with [`MAG_ZERO_POINT`].
    Mag,
}

/// Number of parameters of `model`.
pub fn n_params(model: TransientModel) -> usize {
    match model {
        TransientModel::Bazin => 5,
        TransientModel::Villar => 7,
        TransientModel::Linexp => 4,
    }
}

/// Short names of the parameters of `model`, in the order of [`TransientFit::params`];
/// prefixed with [`TransientModel::name`] and `_` they are light-curve's feature names
/// (`bazin_fit_amplitude`, ...).
pub fn param_names(model: TransientModel) -> &'static [&'static str] {
    match model {
        TransientModel::Bazin => &[
            "amplitude",
            "baseline",
            "reference_time",
            "rise_time",
            "fall_time",
        ],
        TransientModel::Villar => &[
            "amplitude",
            "baseline",
            "reference_time",
            "rise_time",
            "fall_time",
            "plateau_rel_amplitude",
            "plateau_duration",
        ],
        TransientModel::Linexp => &["amplitude", "reference_time", "fall_time", "baseline"],
    }
}

/// Every model, in a fixed order (for tables of columns).
pub const TRANSIENT_MODELS: [TransientModel; 3] = [
    TransientModel::Bazin,
    TransientModel::Villar,
    TransientModel::Linexp,
];

impl TransientModel {
    /// Snake-case prefix of the model's columns, light-curve's: `bazin_fit`, `villar_fit`,
    /// `linexp_fit`.
    pub fn name(self) -> &'static str {
        match self {
            TransientModel::Bazin => "bazin_fit",
            TransientModel::Villar => "villar_fit",
            TransientModel::Linexp => "linexp_fit",
        }
    }

    /// Human-readable name: `Bazin`, `Villar`, `Linexp`.
    pub fn title(self) -> &'static str {
        match self {
            TransientModel::Bazin => "Bazin",
            TransientModel::Villar => "Villar",
            TransientModel::Linexp => "Linexp",
        }
    }

    /// Unit of the parameter called `name` (one of [`param_names`]): `"flux"` (the input's
    /// flux unit, µJy for [`Unit::Mag`]), `"time"` (the unit of `t`) or `"dimensionless"`;
    /// `""` for a name the model does not have.
    pub fn param_unit(self, name: &str) -> &'static str {
        match param_names(self).iter().position(|&p| p == name) {
            Some(a) => match kinds(self)[a] {
                Kind::FluxOffset | Kind::FluxScale => "flux",
                Kind::TimeOffset | Kind::TimeScale => "time",
                Kind::Pure => "dimensionless",
            },
            None => "",
        }
    }
}

/// Result of [`fit_transient`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransientFit {
    /// Fitted parameters; the first [`n_params`] are used, the rest are NaN. Flux parameters
    /// in the flux unit of the input (µJy for [`Unit::Mag`]), times in the unit of `t`.
    pub params: [f64; MAX_PARAMS],
    /// Their 1σ uncertainties from `(JᵀWJ)⁻¹` at the optimum; NaN where it is singular.
    pub sigma: [f64; MAX_PARAMS],
    /// `χ² / (N - n_params)`.
    pub reduced_chi2: f64,
    /// The winning start met a convergence test within its evaluation budget.
    pub converged: bool,
}

/// Working memory of [`fit_transient`]: the normalised curve. Keep one per thread; it grows
/// to the longest curve seen and is not reallocated after that.
#[derive(Clone, Debug, Default)]
pub struct TransientScratch {
    t: Vec<f64>,
    y: Vec<f64>,
    w: Vec<f64>,
}

impl TransientScratch {
    /// Scratch already sized for curves of up to `n` points.
    pub fn with_capacity(n: usize) -> Self {
        TransientScratch {
            t: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            w: Vec::with_capacity(n),
        }
    }
}

/// The normalised curve the optimiser sees: `t' = (t - t̄)/s_t`, `y' = (y - ȳ)/s_y`,
/// `w = s_y/σ`, so that `w (f' - y') = (f - y)/σ`.
pub(crate) struct Data<'a> {
    t: &'a [f64],
    y: &'a [f64],
    w: &'a [f64],
}

/// Value of `model` at time `t` for parameters `params` (in the order of [`param_names`],
/// at least [`n_params`] of them), the same formula [`fit_transient`] fits.
pub fn model_value(model: TransientModel, t: f64, params: &[f64]) -> f64 {
    let mut e = [0.0; MAX_PARAMS];
    let k = n_params(model);
    e[..k].copy_from_slice(&params[..k]);
    let mut d = [0.0; MAX_PARAMS];
    eval_point(model, t, &e, &mut d)
}

/// The logistic function `s = 1/(1 + e^{-x})` and `1 - s`, from one exponential and
/// without overflow or cancellation.
#[inline(always)]
fn logistic_pair(x: f64) -> (f64, f64) {
    let e = (-x.abs()).exp();
    let r = 1.0 / (1.0 + e);
    if x >= 0.0 {
        (r, e * r)
    } else {
        (e * r, r)
    }
}

/// Model value at `t` and its derivatives `d` with respect to the external parameters `e`.
#[inline(always)]
fn eval_point(model: TransientModel, t: f64, e: &Vector, d: &mut Vector) -> f64 {
    match model {
        TransientModel::Bazin => {
            let (a, b, t0) = (e[0], e[1], e[2]);
            // reciprocals of loop-invariant parameters: hoisted out of the pass when inlined
            let (itr, itf) = (1.0 / e[3], 1.0 / e[4]);
            let u = t - t0;
            let (s, sm) = logistic_pair(u * itr);
            let mut q = (-u * itf).exp() * s;
            if !q.is_finite() {
                // e^{-u/τ_fall} overflows while s underflows: combine in logarithms
                q = (-u * itf - (1.0 + (-u * itr).exp()).ln()).exp();
            }
            let aq = a * q;
            d[0] = q;
            d[1] = 1.0;
            d[2] = aq * (itf - sm * itr);
            d[3] = -aq * sm * u * itr * itr;
            d[4] = aq * u * itf * itf;
            b + aq
        }
        TransientModel::Villar => {
            let (a, c, t0, nu, g) = (e[0], e[1], e[2], e[5], e[6]);
            let (itr, itf, ig) = (1.0 / e[3], 1.0 / e[4], 1.0 / e[6]);
            let u = t - t0;
            let (s, sm) = logistic_pair(u * itr);
            let rise = -sm * itr * u * itr;
            if u <= g {
                // rise and plateau: (1 - ν u/γ)
                let p = 1.0 - nu * u * ig;
                let val = s * p;
                d[0] = val;
                d[1] = 1.0;
                d[2] = a * s * (-sm * p * itr + nu * ig);
                d[3] = a * val * rise;
                d[4] = 0.0;
                d[5] = -a * s * u * ig;
                d[6] = a * s * nu * u * ig * ig;
                c + a * val
            } else {
                let phi = (-(u - g) * itf).exp();
                let p = 1.0 - nu;
                let val = s * p * phi;
                d[0] = val;
                d[1] = 1.0;
                d[2] = a * val * (itf - sm * itr);
                d[3] = a * val * rise;
                d[4] = a * val * (u - g) * itf * itf;
                d[5] = -a * s * phi;
                d[6] = a * val * itf;
                c + a * val
            }
        }
        TransientModel::Linexp => {
            let (a, t0, b) = (e[0], e[1], e[3]);
            let itau = 1.0 / e[2];
            let x = (t - t0) * itau;
            let ex = (-x).exp();
            d[0] = x * ex;
            d[1] = a * ex * (x - 1.0) * itau;
            d[2] = d[1] * x;
            d[3] = 1.0;
            b + a * x * ex
        }
    }
}

/// External parameters from internal ones, and the derivatives `∂e_a/∂p_a` (the
/// transforms are element-wise).
#[inline]
fn to_external(model: TransientModel, p: &Vector) -> (Vector, Vector) {
    let mut e = *p;
    let mut chain = [1.0; MAX_PARAMS];
    let positive: &[usize] = match model {
        TransientModel::Bazin => &[0, 3, 4],
        TransientModel::Villar => &[0, 3, 4, 6],
        TransientModel::Linexp => &[0, 2],
    };
    for &a in positive {
        e[a] = p[a].abs();
        chain[a] = p[a].signum();
    }
    if model == TransientModel::Villar {
        let nu = p[5].abs().tanh();
        e[5] = nu;
        chain[5] = (1.0 - nu * nu) * p[5].signum();
    }
    (e, chain)
}

/// How each parameter scales with the normalisation: `Flux` parameters are `y = ȳ + s_y y'`
/// (offsets) or `s_y y'` (amplitudes), `Time` ones `t̄ + s_t t'` or `s_t t'`.
#[derive(Clone, Copy)]
enum Kind {
    FluxOffset,
    FluxScale,
    TimeOffset,
    TimeScale,
    Pure,
}

fn kinds(model: TransientModel) -> &'static [Kind] {
    use Kind::*;
    match model {
        TransientModel::Bazin => &[FluxScale, FluxOffset, TimeOffset, TimeScale, TimeScale],
        TransientModel::Villar => &[
            FluxScale, FluxOffset, TimeOffset, TimeScale, TimeScale, Pure, TimeScale,
        ],
        TransientModel::Linexp => &[FluxScale, TimeOffset, TimeScale, FluxOffset],
    }
}

/// Mean and standard deviation (ddof 0) used by the normalisation.
struct Norm {
    t_mean: f64,
    t_std: f64,
    y_mean: f64,
    y_std: f64,
}

impl Norm {
    fn to_norm(&self, kind: Kind, v: f64) -> f64 {
        match kind {
            Kind::FluxOffset => (v - self.y_mean) / self.y_std,
            Kind::FluxScale => v / self.y_std,
            Kind::TimeOffset => (v - self.t_mean) / self.t_std,
            Kind::TimeScale => v / self.t_std,
            Kind::Pure => v,
        }
    }

    fn to_orig(&self, kind: Kind, v: f64) -> f64 {
        match kind {
            Kind::FluxOffset => self.y_mean + v * self.y_std,
            Kind::FluxScale => v * self.y_std,
            Kind::TimeOffset => self.t_mean + v * self.t_std,
            Kind::TimeScale => v * self.t_std,
            Kind::Pure => v,
        }
    }

    fn scale(&self, kind: Kind) -> f64 {
        match kind {
            Kind::FluxOffset | Kind::FluxScale => self.y_std,
            Kind::TimeOffset | Kind::TimeScale => self.t_std,
            Kind::Pure => 1.0,
        }
    }
}

/// Summary of the curve the starting points are made from (original units).
struct Shape {
    span: f64,
    t_peak: f64,
    y_min: f64,
    y_range: f64,
}

/// Time scales of the extra Bazin starts, as fractions of the span `T`: `(τ_rise, τ_fall)`.
const BAZIN_SCALES: [(f64, f64); 4] = [(0.01, 0.05), (0.02, 0.1), (0.05, 0.25), (0.1, 0.5)];
/// Time scales of the extra Villar starts, fractions of `T`: `(τ_rise, τ_fall, γ)`, each
/// with `ν = 0.05` and `ν = 0.4`.
const VILLAR_SCALES: [(f64, f64, f64); 4] = [
    (0.01, 0.05, 0.02),
    (0.02, 0.1, 0.05),
    (0.05, 0.25, 0.1),
    (0.1, 0.5, 0.2),
];
/// Time scales `τ` of the extra Linexp starts, fractions of `T`.
const LINEXP_SCALES: [f64; 4] = [0.02, 0.05, 0.125, 0.5];

/// Starting points in original units and external parameters; returns how many. The first
/// is light-curve's default guess (see the module documentation); the others put the
/// model's peak near `t_peak` with time scales that are fractions of the span `T`:
/// - Bazin: [`BAZIN_SCALES`], `A = ΔY`, `t₀ = t_peak - τ_rise ln(τ_fall/τ_rise - 1)` (the
///   Bazin peak);
/// - Villar: [`VILLAR_SCALES`], `A = ΔY`, `t₀ = t_peak - 2 τ_rise`;
/// - Linexp: [`LINEXP_SCALES`], `t₀ = t_peak - τ` (the Linexp peak), `A = e ΔY`.
fn starts(model: TransientModel, s: &Shape, out: &mut [Vector; MAX_STARTS]) -> usize {
    let (t, y) = (s.span, s.y_range);
    let mut n = 0;
    let mut push = |v: &[f64]| {
        out[n][..v.len()].copy_from_slice(v);
        n += 1;
    };
    match model {
        TransientModel::Bazin => {
            push(&[0.5 * y, s.y_min, s.t_peak, 0.5 * t, 0.5 * t]);
            for (fr, ff) in BAZIN_SCALES {
                let (tr, tf) = (fr * t, ff * t);
                let t0 = s.t_peak - tr * (tf / tr - 1.0).ln();
                push(&[y, s.y_min, t0, tr, tf]);
            }
        }
        TransientModel::Villar => {
            push(&[0.5 * y, s.y_min, s.t_peak, 0.5 * t, 0.5 * t, 0.0, 0.1 * t]);
            for (fr, ff, fg) in VILLAR_SCALES {
                for nu in [0.05, 0.4] {
                    let (tr, tf, g) = (fr * t, ff * t, fg * t);
                    push(&[y, s.y_min, s.t_peak - 2.0 * tr, tr, tf, nu, g]);
                }
            }
        }
        TransientModel::Linexp => {
            let tau = 0.25 * t;
            push(&[3.0 * y, s.t_peak - 1.5 * tau, tau, s.y_min]);
            for f in LINEXP_SCALES {
                let tau = f * t;
                push(&[std::f64::consts::E * y, s.t_peak - tau, tau, s.y_min]);
            }
        }
    }
    n
}

/// Finish a Villar fit that stopped on a kink of χ². Two places make χ² non-smooth:
/// `ν = tanh|b|` at `b = 0` (the `ν >= 0` bound), and the break `t₁ = t₀ + γ` of the
/// piecewise model when it sits on a data time (the slope of χ² in `t₀` and `γ` jumps
/// there). On a kink a step that crosses it can raise χ² although the parameters along the
/// kink are not yet optimal, so Levenberg-Marquardt stalls. An active-set treatment, at most
/// three rounds: minimise with the kinks held (`b = 0` fixed; `t₀ + |p_γ|` tied), then
/// without constraints from there (from `b = +0`), keeping the lowest χ²; stop when a round
/// gains nothing or no kink remains.
fn villar_kinks(run: lm::Outcome, data: &Data<'_>) -> lm::Outcome {
    let mut obj = SingleBand {
        model: TransientModel::Villar,
        k: 7,
        data,
    };
    let mut best = run;
    for _ in 0..3 {
        let mut con = FREE;
        let mut p = best.p;
        if p[5].abs() < NU_KINK {
            con.fixed[5] = true;
            p[5] = 0.0;
        }
        let t1 = p[2] + p[6].abs();
        if data.t.iter().any(|&t| (t - t1).abs() <= BREAK_KINK) {
            con.tie = Some((2, 6));
        }
        if !con.fixed[5] && con.tie.is_none() {
            break;
        }
        let before = best.chi2;
        let held = minimise(&mut obj, 7, p, LAMBDA_START, &con, MAX_EVALS);
        if held.chi2 < best.chi2 {
            best = held;
        }
        if held.chi2.is_finite() {
            let free = minimise(&mut obj, 7, held.p, LAMBDA_START, &FREE, MAX_EVALS);
            if free.chi2 < best.chi2 {
                best = free;
            }
        }
        if !(best.chi2 < before) {
            break;
        }
    }
    best
}

/// Fluxes and flux errors of `(y, dy)` into `flux` and `err` (cleared first): as they are for
/// [`Unit::Flux`], converted from AB magnitudes with [`MAG_ZERO_POINT`] for [`Unit::Mag`]
/// (`σ_f = 0.4 ln(10) f σ_m`); false when a converted value is not finite and positive.
pub(super) fn to_flux(
    y: &[f64],
    dy: &[f64],
    unit: Unit,
    flux: &mut Vec<f64>,
    err: &mut Vec<f64>,
) -> bool {
    flux.clear();
    err.clear();
    match unit {
        Unit::Flux => {
            flux.extend_from_slice(y);
            err.extend_from_slice(dy);
            true
        }
        Unit::Mag => {
            let c = 0.4 * std::f64::consts::LN_10;
            for (&m, &e) in y.iter().zip(dy) {
                let f = 10f64.powf(-0.4 * (m - MAG_ZERO_POINT));
                flux.push(f);
                err.push(c * f * e);
            }
            flux.iter()
                .chain(err.iter())
                .all(|v| v.is_finite() && *v > 0.0)
        }
    }
}

/// Fit `model` to the curve `(t, y ± dy)` by least squares in flux (see the module
/// documentation for the models, the optimiser and the uncertainties).
///
/// `unit` says whether `y, dy` are fluxes or AB magnitudes (converted with
/// [`MAG_ZERO_POINT`]). Points need not be sorted. Returns `None` for slices of different
/// lengths, `N <= n_params(model)`, any non-finite value or `dy <= 0`, and constant flux or
/// constant time. Allocates nothing once `scratch` has grown to `N` points.
pub fn fit_transient(
    model: TransientModel,
    t: &[f64],
    y: &[f64],
    dy: &[f64],
    unit: Unit,
    scratch: &mut TransientScratch,
) -> Option<TransientFit> {
    let n = t.len();
    let k = n_params(model);
    if y.len() != n || dy.len() != n || n <= k {
        return None;
    }
    if !t.iter().chain(y).chain(dy).all(|v| v.is_finite()) || dy.iter().any(|&e| e <= 0.0) {
        return None;
    }
    // fluxes and errors into scratch (converted from magnitudes if need be)
    let TransientScratch {
        t: st,
        y: sy,
        w: sw,
    } = scratch;
    st.clear();
    st.extend_from_slice(t);
    if !to_flux(y, dy, unit, sy, sw) {
        return None;
    }
    // shape of the curve, in original units
    let (mut t_min, mut t_max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y_min, mut y_max) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut t_peak = f64::NAN;
    for (&ti, &yi) in st.iter().zip(sy.iter()) {
        t_min = t_min.min(ti);
        t_max = t_max.max(ti);
        y_min = y_min.min(yi);
        // the earliest time of the largest flux
        if yi > y_max || (yi == y_max && ti < t_peak) {
            y_max = yi;
            t_peak = ti;
        }
    }
    if !(t_max > t_min) || !(y_max > y_min) {
        return None;
    }
    let norm = {
        let nf = n as f64;
        let t_mean = st.iter().sum::<f64>() / nf;
        let y_mean = sy.iter().sum::<f64>() / nf;
        let t_var = st.iter().map(|v| (v - t_mean).powi(2)).sum::<f64>() / nf;
        let y_var = sy.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / nf;
        Norm {
            t_mean,
            t_std: t_var.sqrt(),
            y_mean,
            y_std: y_var.sqrt(),
        }
    };
    if !(norm.t_std > 0.0 && norm.y_std > 0.0) {
        return None;
    }
    for v in st.iter_mut() {
        *v = (*v - norm.t_mean) / norm.t_std;
    }
    for (v, e) in sy.iter_mut().zip(sw.iter_mut()) {
        *v = (*v - norm.y_mean) / norm.y_std;
        *e = norm.y_std / *e;
    }
    let data = Data {
        t: st,
        y: sy,
        w: sw,
    };
    let shape = Shape {
        span: t_max - t_min,
        t_peak,
        y_min,
        y_range: y_max - y_min,
    };
    let kinds = kinds(model);
    // every start for a few steps, then the best few to convergence
    let mut guesses = [[0.0; MAX_PARAMS]; MAX_STARTS];
    let n_starts = starts(model, &shape, &mut guesses);
    let mut p0s = [[0.0; MAX_PARAMS]; MAX_STARTS];
    for (p0, guess) in p0s.iter_mut().zip(&guesses[..n_starts]) {
        for a in 0..k {
            p0[a] = norm.to_norm(kinds[a], guess[a]);
        }
        if model == TransientModel::Villar {
            p0[5] = guess[5].atanh();
        }
    }
    let mut obj = SingleBand {
        model,
        k,
        data: &data,
    };
    let mut best = best_of_starts(&mut obj, k, &p0s[..n_starts], SCHEDULE, LAMBDA_START)?;
    if model == TransientModel::Villar {
        best = villar_kinks(best, &data);
    }
    let (e, _) = to_external(model, &best.p);
    // covariance of the external normalised parameters, then to original units
    let at = accumulate(model, k, &best.p, &data, false);
    let cov = inverse_spd(&at.h, k);
    let mut params = [f64::NAN; MAX_PARAMS];
    let mut sigma = [f64::NAN; MAX_PARAMS];
    for a in 0..k {
        params[a] = norm.to_orig(kinds[a], e[a]);
        if let Some(c) = &cov {
            sigma[a] = c[a][a].sqrt() * norm.scale(kinds[a]);
        }
    }
    Some(TransientFit {
        params,
        sigma,
        reduced_chi2: at.chi2 / (n - k) as f64,
        converged: best.converged,
    })
}
