//! Direct generalised Lomb-Scargle periodogram: the slow exact reference
//! (numeric kernel layer). It is the CPU twin of the GPU kernel
//! (`kernels/lombscargle.cu`) and the oracle its tests compare against; the
//! light-curve job's fast periodograms are tested against the same formula.
//!
//! Zechmeister & Kuerster (2009, A&A 496, 577), eqs. (4)-(15), floating
//! mean, weights `w_i = 1/sigma_i^2` normalised to sum 1, astropy's
//! `normalization='standard'`. With `y` centred on its weighted mean and
//! `x = 2 pi f (t - t_ref)`:
//!
//! ```text
//! YY = sum w y^2,  YC = sum w y cos x,  YS = sum w y sin x,  C = sum w cos x,  S = sum w sin x
//! CC = sum w cos^2 x - C^2 = (1 + sum w cos 2x)/2 - C^2
//! SS = sum w sin^2 x - S^2 = (1 - sum w cos 2x)/2 - S^2
//! CS = sum w cos x sin x - C S = (sum w sin 2x)/2 - C S
//! p(f) = (SS YC^2 + CC YS^2 - 2 CS YC YS) / (YY (CC SS - CS^2))
//! ```
//!
//! Frequency grid: astropy's `autofrequency` (VanderPlas 2018, ApJS 236,
//! 16, sect. 7.1): `df = 1/(T spp)`, `f0 = df/2`, `fmax = nyq * n/(2T)`,
//! `nf = 1 + round_half_even((fmax - f0)/df)`.

use std::f64::consts::TAU;

/// A uniform frequency grid `f_k = f0 + k df`, `k < n` (cycles per time unit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FreqGrid {
    pub f0: f64,
    pub df: f64,
    pub n: usize,
}

impl FreqGrid {
    pub fn freq(&self, k: usize) -> f64 {
        self.f0 + self.df * k as f64
    }
}

/// astropy's `LombScargle.autofrequency` with `samples_per_peak` and
/// `nyquist_factor`; `None` for a zero baseline.
pub fn autofrequency(t: &[f64], samples_per_peak: f64, nyquist_factor: f64) -> Option<FreqGrid> {
    let lo = t.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let base = hi - lo;
    if t.len() < 2 || base.is_nan() || base <= 0.0 {
        return None;
    }
    let df = 1.0 / base / samples_per_peak;
    let f0 = 0.5 * df;
    let fmax = nyquist_factor * (0.5 * t.len() as f64 / base);
    let span = (fmax - f0) / df;
    if !span.is_finite() || span < 0.0 {
        return None;
    }
    Some(FreqGrid {
        f0,
        df,
        n: 1 + span.round_ties_even() as usize,
    })
}

/// A light curve reduced to what the periodogram needs: times relative to
/// `t_ref` (mid-range), normalised weights, `w (y - ybar_w)` and `YY`.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedCurve {
    pub t_ref: f64,
    pub dt: Vec<f64>,
    pub w: Vec<f64>,
    pub wy: Vec<f64>,
    pub yy: f64,
}

/// Prepares a curve; `None` (power all zero) below 3 points or for
/// constant data, meaning a weighted spread `sqrt(YY)` below 1e-12 of the
/// largest `|y|` (rounding of the weighted mean alone leaves a spread of
/// ~1e-16 that would otherwise give noise for power). `dy = None` means
/// equal weights.
pub fn prepare(t: &[f64], y: &[f64], dy: Option<&[f64]>) -> Option<PreparedCurve> {
    assert_eq!(t.len(), y.len());
    if t.len() < 3 {
        return None;
    }
    let lo = t.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let t_ref = 0.5 * (lo + hi);
    let mut w: Vec<f64> = match dy {
        Some(dy) => dy.iter().map(|&e| 1.0 / (e * e)).collect(),
        None => vec![1.0; t.len()],
    };
    let sw: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= sw);
    let ybar: f64 = w.iter().zip(y).map(|(a, b)| a * b).sum();
    let wy: Vec<f64> = w.iter().zip(y).map(|(a, b)| a * (b - ybar)).collect();
    let yy: f64 = wy.iter().zip(y).map(|(a, b)| a * (b - ybar)).sum();
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if yy.is_nan() || yy <= (1e-12 * scale) * (1e-12 * scale) {
        return None;
    }
    Some(PreparedCurve {
        t_ref,
        dt: t.iter().map(|&x| x - t_ref).collect(),
        w,
        wy,
        yy,
    })
}

/// `(sin, cos)` of `2 pi cycles`, the argument reduced to [-1/2, 1/2] cycles
/// first (as the GPU kernel does), so large `f t` keeps its precision.
#[inline]
pub fn sincos_cycles(cycles: f64) -> (f64, f64) {
    (TAU * (cycles - cycles.round_ties_even())).sin_cos()
}

/// Standard-normalised power of a prepared curve on `grid` into `power`.
pub fn power_prepared(c: &PreparedCurve, grid: &FreqGrid, power: &mut [f64]) {
    for (k, p) in power[..grid.n].iter_mut().enumerate() {
        let f = grid.freq(k);
        let (mut sc, mut ss, mut syc, mut sys, mut sc2, mut ss2) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for ((&dt, &w), &wy) in c.dt.iter().zip(&c.w).zip(&c.wy) {
            let cycles = f * dt;
            let (s1, c1) = sincos_cycles(cycles);
            let (s2, c2) = sincos_cycles(2.0 * cycles);
            sc += w * c1;
            ss += w * s1;
            syc += wy * c1;
            sys += wy * s1;
            sc2 += w * c2;
            ss2 += w * s2;
        }
        let cc = 0.5 * (1.0 + sc2) - sc * sc;
        let sss = 0.5 * (1.0 - sc2) - ss * ss;
        let cs = 0.5 * ss2 - sc * ss;
        let d = cc * sss - cs * cs;
        let num = sss * syc * syc + cc * sys * sys - 2.0 * cs * syc * sys;
        *p = if d > 0.0 && c.yy > 0.0 {
            num / (c.yy * d)
        } else {
            0.0
        };
    }
}

/// GLS power of `(t, y, dy)` on `grid`; returns false (power all zero) for
/// fewer than 3 points or constant data.
pub fn lomb_scargle_direct(
    t: &[f64],
    y: &[f64],
    dy: Option<&[f64]>,
    grid: &FreqGrid,
    power: &mut [f64],
) -> bool {
    power[..grid.n].iter_mut().for_each(|p| *p = 0.0);
    match prepare(t, y, dy) {
        Some(c) => {
            power_prepared(&c, grid, power);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut u = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut t: Vec<f64> = (0..n).map(|_| 50_000.0 + 900.0 * u()).collect();
        t.sort_by(f64::total_cmp);
        let y = t.iter().map(|_| 10.0 + u()).collect();
        let dy = t.iter().map(|_| 0.05 + 0.1 * u()).collect();
        (t, y, dy)
    }

    /// Closed form: noise-free y = a + b cos(2 pi f t) + c sin(2 pi f t) is
    /// fitted exactly at f, so the standard power there is 1.
    #[test]
    fn exact_sinusoid_has_unit_power() {
        let (t, _, dy) = curve(40, 3);
        let g = autofrequency(&t, 5.0, 5.0).unwrap();
        let k = 77;
        let f = g.freq(k);
        let y: Vec<f64> = t
            .iter()
            .map(|&x| {
                let ph = TAU * f * (x - 50_000.0);
                3.0 + 0.7 * ph.cos() - 0.2 * ph.sin()
            })
            .collect();
        let mut p = vec![0.0; g.n];
        assert!(lomb_scargle_direct(&t, &y, Some(&dy), &g, &mut p));
        assert!((p[k] - 1.0).abs() < 1e-9, "{}", p[k]);
        assert!(p.iter().all(|&x| (0.0..=1.0 + 1e-9).contains(&x)));
    }

    /// The power equals 1 - chi2(f)/chi2_ref from an explicit weighted
    /// least-squares fit of a + b cos + c sin (the definition).
    #[test]
    fn power_is_the_chi2_reduction_of_a_sinusoid_fit() {
        let (t, y, dy) = curve(25, 9);
        let g = FreqGrid {
            f0: 0.013,
            df: 0.37,
            n: 6,
        };
        let mut p = vec![0.0; g.n];
        lomb_scargle_direct(&t, &y, Some(&dy), &g, &mut p);
        let w: Vec<f64> = dy.iter().map(|e| 1.0 / (e * e)).collect();
        let sw: f64 = w.iter().sum();
        let ybar: f64 = w.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>() / sw;
        let chi2_ref: f64 = w.iter().zip(&y).map(|(a, b)| a * (b - ybar).powi(2)).sum();
        for (k, &pk) in p.iter().enumerate() {
            let f = g.freq(k);
            // normal equations of the 3-parameter fit, solved by Cramer's rule
            let basis = |x: f64| [1.0, (TAU * f * x).cos(), (TAU * f * x).sin()];
            let mut a = [[0.0f64; 3]; 3];
            let mut b = [0.0f64; 3];
            for i in 0..t.len() {
                let v = basis(t[i]);
                for r in 0..3 {
                    b[r] += w[i] * v[r] * y[i];
                    for c in 0..3 {
                        a[r][c] += w[i] * v[r] * v[c];
                    }
                }
            }
            let det = |m: [[f64; 3]; 3]| {
                m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                    - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                    + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
            };
            let d = det(a);
            let coef: Vec<f64> = (0..3)
                .map(|j| {
                    let mut m = a;
                    for r in 0..3 {
                        m[r][j] = b[r];
                    }
                    det(m) / d
                })
                .collect();
            let chi2: f64 = (0..t.len())
                .map(|i| {
                    let v = basis(t[i]);
                    let model: f64 = (0..3).map(|j| coef[j] * v[j]).sum();
                    w[i] * (y[i] - model).powi(2)
                })
                .sum();
            let want = 1.0 - chi2 / chi2_ref;
            assert!((pk - want).abs() < 1e-8, "k {k}: {pk} vs {want}");
        }
    }

    #[test]
    fn grid_follows_astropy_rule() {
        // t = {0, 1, 4}: T = 4, df = 1/20, f0 = 1/40, fmax = 1.875, nf = 38
        let g = autofrequency(&[0.0, 1.0, 4.0], 5.0, 5.0).unwrap();
        assert_eq!(g.n, 38);
        assert!((g.df - 0.05).abs() < 1e-15 && (g.f0 - 0.025).abs() < 1e-15);
        assert!(autofrequency(&[3.0, 3.0], 5.0, 5.0).is_none());
    }

    #[test]
    fn degenerate_curves_give_zero_power() {
        let g = FreqGrid {
            f0: 0.1,
            df: 0.1,
            n: 4,
        };
        let mut p = vec![9.0; 4];
        assert!(!lomb_scargle_direct(
            &[1.0, 2.0],
            &[1.0, 2.0],
            None,
            &g,
            &mut p
        ));
        assert_eq!(p, vec![0.0; 4]);
        assert!(!lomb_scargle_direct(
            &[1.0, 2.0, 3.0],
            &[5.0; 3],
            None,
            &g,
            &mut p
        ));
    }
}
