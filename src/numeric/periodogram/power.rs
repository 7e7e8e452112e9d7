//! The generalised Lomb-Scargle power from the six trigonometric sums (Zechmeister &
//! Kuerster 2009, A&A 496, 577, eqs. 5-15), shared by every method that produces them.

use crate::numeric::periodogram::sums::TrigSums;

crate::numeric::simd::dispatch! {
/// Power from the six sums (normalised weights, centred data) into `power[..sums.n]`;
/// `yy` is the weighted sum of squares. Degenerate frequencies (D <= 0, e.g. f ~ 0) get 0.
pub fn power_from_sums(sums: &TrigSums, yy: f64, power: &mut [f64]) {
    let n = sums.n.min(power.len());
    for k in 0..n {
        power[k] = gls_power(
            sums.c[k], sums.s[k], sums.yc[k], sums.ys[k], sums.c2[k], sums.s2[k], yy,
        );
    }
}
}

/// The power of one frequency from its six sums (see [`power_from_sums`]):
/// `(SS YC^2 + CC YS^2 - 2 CS YC YS) / (YY (CC SS - CS^2))`.
#[inline(always)]
pub fn gls_power(c: f64, s: f64, yc: f64, ys: f64, c2: f64, s2: f64, yy: f64) -> f64 {
    let cc = 0.5 * (1.0 + c2) - c * c;
    let ss = 0.5 * (1.0 - c2) - s * s;
    let cs = 0.5 * s2 - c * s;
    let d = cc * ss - cs * cs;
    let num = ss * yc * yc + cc * ys * ys - 2.0 * cs * yc * ys;
    if d > 0.0 && yy > 0.0 {
        num / (yy * d)
    } else {
        0.0
    }
}
