//! The Rainbow multiband transient model: a Bazin bolometric light curve times a blackbody
//! whose temperature follows a sigmoid, seen at each band's effective wavelength (Russeil et
//! al. 2024, A&A 683, A251; light-curve 0.13 `RainbowFit` with its defaults: `bolometric =
//! "bazin"`, `temperature = "sigmoid"`, `spectral = "planck"`, `with_baseline = True`;
//! numeric layer).
//!
//! With `u = t - t₀`, for a point in band `b` of effective wavelength `λ_b` (`ν_b = c/λ_b`):
//!
//! `f = A k B(u) · S(ν_b, T(t)) + c_b`, where
//! - `B(u) = 1 / (e^{-u/τ_rise} + e^{u/τ_fall})` and `k = r^{τ_rise/(τ_rise+τ_fall)} +
//!   r^{-τ_fall/(τ_rise+τ_fall)}`, `r = τ_fall/τ_rise`, so that `k B` peaks at 1;
//! - `T(t) = T (1 + T_amplitude (2s - 1))`, `s = 1/(1 + e^{u/t_color})`: from `T(1 +
//!   T_amplitude)` early to `T(1 - T_amplitude)` late (light-curve's mid temperature and
//!   relative amplitude; Russeil's `T_max`, `T_min` are `T(1 ± T_amplitude)`);
//! - `S(ν, T) = π B_ν(ν, T) ν̄ / (σ_SB T⁴)`, the Planck function over its bolometric
//!   normalisation, `ν̄ = c / mean(λ_b)` over the fitted bands (light-curve's `average_nu`);
//! - `c_b` a constant per band (light-curve's `baseline_<band>`).
//!
//! Parameters in light-curve's order and names: `reference_time, amplitude, rise_time,
//! fall_time, T, T_amplitude, t_color`, then one `baseline` per fitted band. Physical constants
//! as light-curve's (`h = 6.62607004e-27` erg s, `c = 2.99792458e10` cm/s, `k_B = 1.380649e-16`
//! erg/K, `σ_SB = 5.6703744191844314e-05` erg cm⁻² s⁻¹ K⁻⁴); wavelengths in Å.
//!
//! Fit: weighted least squares in flux, `χ² = Σ ((f(t_i) - y_i)/σ_i)²`, by the
//! Levenberg-Marquardt of `lm.rs` with analytic derivatives, on times normalised to zero mean
//! and unit standard deviation and fluxes divided by their standard deviation (light-curve's
//! scaling). The baselines enter linearly and are projected out (variable projection, Golub &
//! Pereyra 1973): for given shape parameters each `c_b` is the weighted mean of `y - A k B S`
//! in its band, so the optimiser sees 7 parameters; the residuals and Jacobian columns are
//! centred per band in a second pass, which is exact for parameters whose basis functions
//! (constants) do not depend on the others. Positivity as in the single-band fits: `A = |p_A|`,
//! `τ = |p_τ|`, `T = 10⁴ |p_T|`, `t_color = |p_c|`, and `T_amplitude = 0.99 tanh p` in
//! (-0.99, 0.99), light-curve's limits (unbounded, fits of sparse curves run to a late
//! temperature of 0 K).
//! Starting points: light-curve's initial guess (baselines the band medians; on the
//! baseline-subtracted fluxes the weighted centroid `t₀` and width `δ` of the points above the
//! median: `A = 1.5 max(max y, ptp y)`, `τ_rise = τ_fall = δ`, `T = 10⁴`, `T_amplitude = 0`,
//! `t_color = 2δ`) and five more (`RAINBOW_STARTS`), each screened, the best three run to
//! convergence, the lowest χ² kept; deterministic.
//!
//! Uncertainties: square roots of the diagonal of `(JᵀWJ)⁻¹` at the optimum for the seven
//! shape parameters (`J` projected, which is the full covariance's block); for a baseline
//! `1/Σ_b w + μ_bᵀ C μ_b` (`μ_b` the weighted mean of the band's Jacobian rows, `C` that
//! covariance). Not rescaled by the reduced χ². `reduced_chi2 = χ²/(N - 7 - bands)`.
//!
//! Differences from light-curve 0.13.3 (iminuit Migrad on `χ²/2` plus a weak Gaussian prior
//! `N(0, 0.25)` on `T_amplitude` and a `10⁻⁴/x` barrier inside its box limits, `T` in `[10³,
//! 2·10⁶]` K, `|T_amplitude| <= 0.99`, time scales from `δ/100` or `δ/3` to `10 ptp t`): tessera
//! minimises `χ²` alone with only the `T_amplitude` limit, so its `χ²` is never higher (tests/lc_kernels/rainbow.rs: at most
//! light-curve's × (1 + 1e-6) on 30 real ZTF SN Ia in g and r); where the data do not fix the
//! temperature swing the two can differ in `T_amplitude` and `t_color` (the prior pulls
//! light-curve's towards a constant temperature). light-curve's reported `rainbow_fit_
//! reduced_chi2` is its cost (`χ²/2` + barrier) over the degrees of freedom, about half of
//! tessera's; the test compares `χ²` recomputed from each one's parameters.
//!
//! Minimum: two bands with points and `N > 7 + bands` points. [`fit_rainbow`] gives an error
//! for fewer, for a band with points but no wavelength, non-finite values or non-positive
//! errors, constant flux or time, and when no start converges to a finite χ².

use super::lm::{best_of_starts, inverse_spd, Objective, Sums, Vector};
use super::{logistic_pair, to_flux, Unit, MAX_PARAMS};

/// Shape parameters (without the baselines).
pub const RAINBOW_PARAMS: usize = 7;

/// The shape parameters' names, light-curve's (`rainbow_fit_` + name in the columns).
pub const RAINBOW_PARAM_NAMES: [&str; RAINBOW_PARAMS] = [
    "reference_time",
    "amplitude",
    "rise_time",
    "fall_time",
    "T",
    "T_amplitude",
    "t_color",
];

/// Unit of each shape parameter: `time` (the unit of `t`), `flux` (the flux unit, µJy for
/// magnitudes), `K`, or `dimensionless`.
pub const RAINBOW_PARAM_UNITS: [&str; RAINBOW_PARAMS] =
    ["time", "flux", "time", "time", "K", "dimensionless", "time"];

const PLANCK: f64 = 6.62607004e-27;
const LIGHT: f64 = 2.99792458e10;
const BOLTZMANN: f64 = 1.380649e-16;
const SIGMA_SB: f64 = 5.6703744191844314e-05;
/// Largest `|T_amplitude|`, light-curve's limit (keeps `T(t)` away from 0 K).
const T_AMPLITUDE_MAX: f64 = 0.99;
/// Internal temperature unit (conditioning only).
const T_SCALE: f64 = 1e4;
/// Passes for each start's screening, starts kept, passes for each of those.
const SCHEDULE: (usize, usize, usize) = (40, 3, 2000);
/// Extra starts after light-curve's guess, relative to its centroid width `δ`:
/// `(τ_rise/δ, τ_fall/δ, T, T_amplitude, t_color/δ)`.
const RAINBOW_STARTS: [(f64, f64, f64, f64, f64); 5] = [
    (1.0, 1.0, 1e4, 0.3, 2.0),
    (1.0, 1.0, 6e3, 0.3, 2.0),
    (1.0, 1.0, 2e4, 0.3, 2.0),
    (0.5, 2.0, 1e4, 0.3, 1.0),
    (0.25, 1.0, 1e4, 0.5, 1.0),
];

/// One Rainbow curve: points of several bands.
#[derive(Clone, Copy, Debug)]
pub struct RainbowCurve<'a> {
    /// Times (any order).
    pub t: &'a [f64],
    /// Fluxes or AB magnitudes (see `unit`).
    pub y: &'a [f64],
    /// Their 1σ errors.
    pub dy: &'a [f64],
    /// Band index of each point.
    pub band: &'a [u8],
    /// Effective wavelength of each band index, Å (NaN: unknown).
    pub wavelengths: &'a [f64],
    /// Whether `y, dy` are fluxes or magnitudes (converted to µJy).
    pub unit: Unit,
}

/// Result of [`fit_rainbow`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RainbowFit {
    /// The shape parameters ([`RAINBOW_PARAM_NAMES`]).
    pub params: [f64; RAINBOW_PARAMS],
    /// Their 1σ uncertainties; NaN where `JᵀWJ` is singular.
    pub sigma: [f64; RAINBOW_PARAMS],
    /// `χ² / (N - 7 - bands)`.
    pub reduced_chi2: f64,
    /// Bands fitted (those with points).
    pub bands: usize,
    /// The winning start met a convergence test.
    pub converged: bool,
}

/// Why [`fit_rainbow`] gave no fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RainbowError {
    /// Slices of different lengths, a non-finite value or a non-positive error.
    BadInput,
    /// A band with points has no (finite, positive) wavelength: its index.
    NoWavelength(u8),
    /// Points of fewer than two bands.
    OneBand,
    /// Not more points than parameters (7 plus one baseline per band).
    TooFewPoints,
    /// Constant flux or time, or no start reached a finite χ².
    NoFit,
}

/// Per-band sums of one pass: `Σ w²`, `Σ w² (f - y)` and `Σ w² ∂f/∂p`.
#[derive(Clone, Copy, Debug, Default)]
struct BandSums {
    w2: f64,
    r: f64,
    d: Vector,
}

/// Working memory of [`fit_rainbow`]; keep one per thread (no allocation once grown).
#[derive(Clone, Debug, Default)]
pub struct RainbowScratch {
    t: Vec<f64>,
    y: Vec<f64>,
    w: Vec<f64>,
    band: Vec<u8>,
    /// Model value and derivatives of each point, `1 + RAINBOW_PARAMS` per point.
    fd: Vec<f64>,
    /// Fit band of each input band index (`u8::MAX`: no points).
    fit_band: Vec<u8>,
    /// Frequency of each fit band, Hz.
    nu: Vec<f64>,
    sums: Vec<BandSums>,
    sorted: Vec<f64>,
    /// Median flux of each fit band, and the fluxes less it (the starting guess).
    base: Vec<f64>,
    ycorr: Vec<f64>,
}

/// The normalised curve and the per-pass storage, as [`Objective`].
struct Problem<'a> {
    t: &'a [f64],
    y: &'a [f64],
    w: &'a [f64],
    band: &'a [u8],
    nu: &'a [f64],
    /// `2h/c² · π ν̄ / σ_SB`.
    sed_scale: f64,
    fd: &'a mut Vec<f64>,
    sums: &'a mut Vec<BandSums>,
    /// Jacobian with respect to the internal parameters (else the external ones).
    internal: bool,
}

/// External parameters from internal ones and `∂e_a/∂p_a`.
fn to_external(p: &Vector) -> (Vector, Vector) {
    let mut e = *p;
    let mut chain = [1.0; MAX_PARAMS];
    for a in [1, 2, 3, 6] {
        e[a] = p[a].abs();
        chain[a] = p[a].signum();
    }
    e[4] = T_SCALE * p[4].abs();
    chain[4] = T_SCALE * p[4].signum();
    let th = p[5].tanh();
    e[5] = T_AMPLITUDE_MAX * th;
    chain[5] = T_AMPLITUDE_MAX * (1.0 - th * th);
    (e, chain)
}

/// The Bazin peak normalisation `k(τ_rise, τ_fall)` and its two derivatives.
fn peak_norm(tr: f64, tf: f64) -> (f64, f64, f64) {
    let s = tr + tf;
    let (a, b) = (tr / s, tf / s);
    let l = (tf / tr).ln();
    let (ea, eb) = ((a * l).exp(), (-b * l).exp());
    // ∂a/∂τ_rise = τ_fall/s², ∂a/∂τ_fall = -τ_rise/s², b = 1 - a; ∂L = -1/τ_rise, 1/τ_fall
    let dk = |da: f64, dl: f64| ea * (da * l + a * dl) + eb * (da * l - b * dl);
    (
        ea + eb,
        dk(tf / (s * s), -1.0 / tr),
        dk(-tr / (s * s), 1.0 / tf),
    )
}

/// Model value (without baseline) at `t` for frequency `nu`, and its derivatives `d` with
/// respect to the external parameters `e`; `k` from [`peak_norm`].
#[inline(always)]
fn eval_point(
    t: f64,
    nu: f64,
    e: &Vector,
    k: (f64, f64, f64),
    sed_scale: f64,
    d: &mut [f64],
) -> f64 {
    let (t0, a, tr, tf, temp, ta, tc) = (e[0], e[1], e[2], e[3], e[4], e[5], e[6]);
    let u = t - t0;
    // B = 1/(e^{xr} + e^{xf}) without overflow
    let (xr, xf) = (-u / tr, u / tf);
    let m = xr.max(xf);
    let (er, ef) = ((xr - m).exp(), (xf - m).exp());
    let sum = er + ef;
    let q = (-m).exp() / sum;
    let (pr, pf) = (er / sum, ef / sum);
    let (kn, dk_tr, dk_tf) = k;
    let bol = a * kn * q;
    let dbol_t0 = -bol * (pr / tr - pf / tf);
    let dbol_a = kn * q;
    let dbol_tr = a * q * (dk_tr - kn * pr * u / (tr * tr));
    let dbol_tf = a * q * (dk_tf + kn * pf * u / (tf * tf));
    // T(t) = T (1 + T_amplitude (2s - 1)), s = 1/(1 + e^{u/t_color})
    let (s, sm) = logistic_pair(-u / tc);
    let two = 2.0 * s - 1.0;
    let tt = temp * (1.0 + ta * two);
    let ss = 2.0 * temp * ta * s * sm / tc;
    // S = π B_ν ν̄ / (σ T⁴), B_ν = 2h/c² ν³ e^{-x}/(1 - e^{-x})
    let x = PLANCK * nu / (BOLTZMANN * tt);
    let em = -(-x).exp_m1();
    let inv_t = 1.0 / tt;
    let sed = sed_scale * nu * nu * nu * (-x).exp() / em * (inv_t * inv_t) * (inv_t * inv_t);
    let dsed = sed * (x / em - 4.0) * inv_t;
    let bd = bol * dsed;
    d[0] = dbol_t0 * sed + bd * ss;
    d[1] = dbol_a * sed;
    d[2] = dbol_tr * sed;
    d[3] = dbol_tf * sed;
    d[4] = bd * (1.0 + ta * two);
    d[5] = bd * temp * two;
    d[6] = bd * ss * u / tc;
    bol * sed
}

impl Objective for Problem<'_> {
    /// Two passes: model values and derivatives with the per-band weighted means, then the
    /// residuals and Jacobian rows centred per band (the baselines projected out).
    fn sums(&mut self, p: &Vector) -> Sums {
        const W: usize = 1 + RAINBOW_PARAMS;
        let (e, chain) = to_external(p);
        let chain = if self.internal {
            chain
        } else {
            [1.0; MAX_PARAMS]
        };
        let k = peak_norm(e[2], e[3]);
        self.sums.iter_mut().for_each(|s| *s = BandSums::default());
        self.fd.resize(self.t.len() * W, 0.0);
        for (i, fd) in self.fd.chunks_exact_mut(W).enumerate() {
            let b = self.band[i] as usize;
            let (d, f) = (&mut fd[1..], self.w[i]);
            let v = eval_point(self.t[i], self.nu[b], &e, k, self.sed_scale, d);
            let w2 = f * f;
            let s = &mut self.sums[b];
            s.w2 += w2;
            s.r += w2 * (v - self.y[i]);
            for a in 0..RAINBOW_PARAMS {
                d[a] *= chain[a];
                s.d[a] += w2 * d[a];
            }
            fd[0] = v;
        }
        let mut out = Sums {
            chi2: 0.0,
            g: [0.0; MAX_PARAMS],
            h: [[0.0; MAX_PARAMS]; MAX_PARAMS],
        };
        let mut j = [0.0; MAX_PARAMS];
        for (i, fd) in self.fd.chunks_exact(W).enumerate() {
            let s = &self.sums[self.band[i] as usize];
            let w = self.w[i];
            let r = w * (fd[0] - self.y[i] - s.r / s.w2);
            out.chi2 += r * r;
            for a in 0..RAINBOW_PARAMS {
                j[a] = w * (fd[1 + a] - s.d[a] / s.w2);
                out.g[a] += j[a] * r;
                for b in 0..=a {
                    out.h[a][b] += j[a] * j[b];
                }
            }
        }
        if !out.chi2.is_finite() {
            out.chi2 = f64::INFINITY;
        }
        out
    }
}

/// The Rainbow model without baseline at time `t` in a band of wavelength `wavelength` (Å),
/// for `params` in the order of [`RAINBOW_PARAM_NAMES`] and the mean wavelength
/// `mean_wavelength` (Å) of the fitted bands: the formula [`fit_rainbow`] fits.
pub fn rainbow_model(
    t: f64,
    wavelength: f64,
    mean_wavelength: f64,
    params: &[f64; RAINBOW_PARAMS],
) -> f64 {
    let mut e = [0.0; MAX_PARAMS];
    e[..RAINBOW_PARAMS].copy_from_slice(params);
    let mut d = [0.0; RAINBOW_PARAMS];
    let nu_mean = LIGHT / (mean_wavelength * 1e-8);
    eval_point(
        t,
        LIGHT / (wavelength * 1e-8),
        &e,
        peak_norm(e[2], e[3]),
        sed_scale(nu_mean),
        &mut d,
    )
}

/// `2h/c² · π ν̄ / σ_SB`: the Planck constant over the bolometric normalisation.
fn sed_scale(nu_mean: f64) -> f64 {
    2.0 * PLANCK / (LIGHT * LIGHT) * std::f64::consts::PI * nu_mean / SIGMA_SB
}

/// Median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// light-curve's `t0_and_weighted_centroid_sigma`: over the points above the median flux,
/// the `y/σ`-weighted mean time and the `(y - min y)/σ`-weighted spread about it.
fn centroid(t: &[f64], y: &[f64], w: &[f64], sorted: &mut Vec<f64>) -> (f64, f64) {
    sorted.clear();
    sorted.extend_from_slice(y);
    let med = median(sorted);
    let y_min = sorted[0];
    let (mut st, mut s) = (0.0, 0.0);
    for i in 0..t.len() {
        if y[i] > med {
            st += t[i] * y[i] * w[i];
            s += y[i] * w[i];
        }
    }
    let t0 = st / s;
    let (mut sd, mut sc) = (0.0, 0.0);
    for i in 0..t.len() {
        if y[i] > med {
            let c = (y[i] - y_min) * w[i];
            sd += (t[i] - t0) * (t[i] - t0) * c;
            sc += c;
        }
    }
    (t0, (sd / sc).sqrt())
}

/// Fit the Rainbow model to a multiband curve (see the module documentation). Writes each
/// input band's baseline and its uncertainty into `baselines` (`2 * wavelengths.len()`
/// values: `c_0, σ_0, c_1, σ_1, ...`, NaN for a band without points; in the flux unit).
pub fn fit_rainbow(
    curve: RainbowCurve,
    ws: &mut RainbowScratch,
    baselines: &mut [f64],
) -> Result<RainbowFit, RainbowError> {
    let n = curve.t.len();
    let nbands = curve.wavelengths.len();
    assert_eq!(baselines.len(), 2 * nbands, "rainbow baselines width");
    baselines.fill(f64::NAN);
    if curve.y.len() != n || curve.dy.len() != n || curve.band.len() != n {
        return Err(RainbowError::BadInput);
    }
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    if !(finite(curve.t) && finite(curve.y) && finite(curve.dy))
        || curve.dy.iter().any(|&e| e <= 0.0)
    {
        return Err(RainbowError::BadInput);
    }
    // the fitted bands: those with points, in index order
    ws.fit_band.clear();
    ws.fit_band.resize(nbands, u8::MAX);
    for &b in curve.band {
        let lam = curve
            .wavelengths
            .get(b as usize)
            .copied()
            .unwrap_or(f64::NAN);
        if !(lam.is_finite() && lam > 0.0) {
            return Err(RainbowError::NoWavelength(b));
        }
        ws.fit_band[b as usize] = 0;
    }
    ws.nu.clear();
    let mut lam_sum = 0.0;
    for (b, fb) in ws.fit_band.iter_mut().enumerate() {
        if *fb == 0 {
            *fb = ws.nu.len() as u8;
            let lam_cm = curve.wavelengths[b] * 1e-8;
            ws.nu.push(LIGHT / lam_cm);
            lam_sum += lam_cm;
        }
    }
    let nfit = ws.nu.len();
    if nfit < 2 {
        return Err(RainbowError::OneBand);
    }
    if n <= RAINBOW_PARAMS + nfit {
        return Err(RainbowError::TooFewPoints);
    }
    let nu_mean = LIGHT / (lam_sum / nfit as f64);
    if !to_flux(curve.y, curve.dy, curve.unit, &mut ws.y, &mut ws.w) {
        return Err(RainbowError::BadInput);
    }
    ws.band.clear();
    ws.band
        .extend(curve.band.iter().map(|&b| ws.fit_band[b as usize]));
    // light-curve's scaling: times to zero mean and unit std, fluxes over their std
    let nf = n as f64;
    let t_mean = curve.t.iter().sum::<f64>() / nf;
    let t_std = (curve.t.iter().map(|v| (v - t_mean).powi(2)).sum::<f64>() / nf).sqrt();
    let y_mean = ws.y.iter().sum::<f64>() / nf;
    let y_std = (ws.y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / nf).sqrt();
    if !(t_std > 0.0 && y_std > 0.0) {
        return Err(RainbowError::NoFit);
    }
    ws.t.clear();
    ws.t.extend(curve.t.iter().map(|v| (v - t_mean) / t_std));
    for (y, w) in ws.y.iter_mut().zip(ws.w.iter_mut()) {
        *y /= y_std;
        *w = y_std / *w;
    }
    // light-curve's guess, on the fluxes less each band's median
    ws.sums.clear();
    ws.sums.resize(nfit, BandSums::default());
    ws.base.clear();
    for b in 0..nfit as u8 {
        ws.sorted.clear();
        ws.sorted.extend(
            ws.y.iter()
                .zip(&ws.band)
                .filter(|(_, &x)| x == b)
                .map(|(y, _)| *y),
        );
        ws.base.push(median(&mut ws.sorted));
    }
    ws.ycorr.clear();
    ws.ycorr.extend(
        ws.y.iter()
            .zip(&ws.band)
            .map(|(y, &b)| y - ws.base[b as usize]),
    );
    let y_max = ws.ycorr.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let y_min = ws.ycorr.iter().copied().fold(f64::INFINITY, f64::min);
    let amp = 1.5 * y_max.max(y_max - y_min);
    // weights y/σ with σ in the scaled unit: w = 1/σ'
    let (t0, delta) = centroid(&ws.t, &ws.ycorr, &ws.w, &mut ws.sorted);
    if !(t0.is_finite() && delta > 0.0 && amp > 0.0) {
        return Err(RainbowError::NoFit);
    }
    let mut starts = [[0.0; MAX_PARAMS]; 1 + RAINBOW_STARTS.len()];
    let guess = |(fr, ff, temp, ta, fc): (f64, f64, f64, f64, f64)| -> Vector {
        [
            t0,
            amp,
            fr * delta,
            ff * delta,
            temp / T_SCALE,
            f64::atanh(ta / T_AMPLITUDE_MAX),
            fc * delta,
        ]
    };
    starts[0] = guess((1.0, 1.0, 1e4, 0.0, 2.0));
    for (s, g) in starts[1..].iter_mut().zip(RAINBOW_STARTS) {
        *s = guess(g);
    }
    let mut problem = Problem {
        t: &ws.t,
        y: &ws.y,
        w: &ws.w,
        band: &ws.band,
        nu: &ws.nu,
        sed_scale: sed_scale(nu_mean),
        fd: &mut ws.fd,
        sums: &mut ws.sums,
        internal: true,
    };
    let best = best_of_starts(&mut problem, RAINBOW_PARAMS, &starts, SCHEDULE, 1e-3)
        .ok_or(RainbowError::NoFit)?;
    // covariance of the external normalised parameters, then to original units
    problem.internal = false;
    let at = problem.sums(&best.p);
    if !at.chi2.is_finite() {
        return Err(RainbowError::NoFit);
    }
    let cov = inverse_spd(&at.h, RAINBOW_PARAMS);
    let (e, _) = to_external(&best.p);
    let scale = [t_std, y_std, t_std, t_std, 1.0, 1.0, t_std];
    let mut params = [f64::NAN; RAINBOW_PARAMS];
    let mut sigma = [f64::NAN; RAINBOW_PARAMS];
    for a in 0..RAINBOW_PARAMS {
        params[a] = e[a] * scale[a];
        if let Some(c) = &cov {
            sigma[a] = c[a][a].sqrt() * scale[a];
        }
    }
    params[0] += t_mean;
    for (b, &fb) in ws.fit_band.iter().enumerate() {
        if fb == u8::MAX {
            continue;
        }
        let s = &ws.sums[fb as usize];
        baselines[2 * b] = -s.r / s.w2 * y_std;
        if let Some(c) = &cov {
            // 1/Σw + μᵀCμ, μ the band's weighted mean Jacobian row
            let mu: [f64; RAINBOW_PARAMS] = std::array::from_fn(|a| s.d[a] / s.w2);
            let quad: f64 = mu
                .iter()
                .zip(c)
                .map(|(ma, row)| ma * row.iter().zip(&mu).map(|(x, y)| x * y).sum::<f64>())
                .sum();
            let var = 1.0 / s.w2 + quad;
            baselines[2 * b + 1] = var.sqrt() * y_std;
        }
    }
    Ok(RainbowFit {
        params,
        sigma,
        reduced_chi2: at.chi2 / (n - RAINBOW_PARAMS - nfit) as f64,
        bands: nfit,
        converged: best.converged,
    })
}
