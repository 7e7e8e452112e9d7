//! The GPU periodogram kernel's CPU twin (`kernels/lombscargle.cu`): the direct
//! generalised Lomb-Scargle power of one curve, one libm sin/cos per point and frequency,
//! in the kernel's order of operations. It is the oracle the GPU tests compare against
//! and the CPU path of a batched GPU tile; the light-curve job's own periodograms are in
//! [`super::gls`].
//!
//! Zechmeister & Kuerster (2009, A&A 496, 577), eqs. (4)-(15): floating mean, weights
//! `w_i = 1/sigma_i^2` normalised to sum 1, astropy's `normalization='standard'`, phases
//! `f (t - t_ref)` from the curve's mid-time; the power formula is [`gls_power`].

use crate::numeric::periodogram::grid::FreqGrid;
use crate::numeric::periodogram::power::gls_power;
use crate::numeric::vmath::sincos_turns_libm_rint;

/// A light curve reduced to what the periodogram needs.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedCurve {
    /// Time origin of the phases: the middle of the time range.
    pub t_ref: f64,
    /// Times minus `t_ref`.
    pub dt: Vec<f64>,
    /// Weights `1/dy^2`, normalised to sum 1.
    pub w: Vec<f64>,
    /// `w (y - ybar_w)`, the weighted values centred on their weighted mean.
    pub wy: Vec<f64>,
    /// `YY = sum w (y - ybar_w)^2`.
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

/// Standard-normalised power of a prepared curve on `grid` into `power[..grid.n]`.
pub fn power_prepared(c: &PreparedCurve, grid: &FreqGrid, power: &mut [f64]) {
    for (k, p) in power[..grid.n].iter_mut().enumerate() {
        let f = grid.freq(k);
        let (mut sc, mut ss, mut syc, mut sys, mut sc2, mut ss2) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for ((&dt, &w), &wy) in c.dt.iter().zip(&c.w).zip(&c.wy) {
            let turns = f * dt;
            let (s1, c1) = sincos_turns_libm_rint(turns);
            let (s2, c2) = sincos_turns_libm_rint(2.0 * turns);
            sc += w * c1;
            ss += w * s1;
            syc += wy * c1;
            sys += wy * s1;
            sc2 += w * c2;
            ss2 += w * s2;
        }
        *p = gls_power(sc, ss, syc, sys, sc2, ss2, c.yy);
    }
}

/// GLS power of `(t, y, dy)` on `grid` into `power[..grid.n]`; returns false (power all
/// zero) for fewer than 3 points or constant data.
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
    use crate::numeric::periodogram::grid::{autofrequency, GridOptions};
    use std::f64::consts::TAU;

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
        let g = autofrequency(&t, &GridOptions::default()).unwrap();
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
