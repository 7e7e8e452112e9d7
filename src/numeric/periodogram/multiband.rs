//! Multiband Lomb-Scargle periodogram (VanderPlas & Ivezic 2015, ApJ 812, 18) with
//! nterms_base = 1, nterms_band = 1, matching astropy `LombScargleMultiband(t, y, bands,
//! dy).power(f, method='flexible')` with its defaults (normalization='standard',
//! center_data=True, reg_band=1e-6, regularize_by_trace=True).
//!
//! Model at frequency f (VI15 eq. 8-10, astropy `mbflex_impl.py`): a shared base
//! [1, sin, cos] plus per-band [1, sin, cos] columns, weights 1/dy^2, data centred per
//! band; band columns carry a ridge lambda = 1e-6 * trace(X^T X) = 4e-6 * sum(w), because
//! trace = 2 sum w (base) + sum_b 2 W_b (bands), as sin^2 + cos^2 = 1.
//! Power = r^T M^{-1} r / chi2_ref with chi2_ref = sum w (y - ybar_band)^2.
//!
//! Why not solve the (3 + 3B)^2 system per frequency: the band blocks are G_b + lambda I
//! and couple to the base only through G_b (the band-b Gram matrix of [1, sin, cos]), so
//! eliminating them (Schur complement) with H_b = (G_b + lambda I)^{-1} gives
//!   r^T M^{-1} r = sum_b r_b^T H_b r_b + lambda v^T A^{-1} v,
//!   v = sum_b H_b r_b,   A = B*I - lambda sum_b H_b      (B = number of bands present),
//! using G_b H_b = I - lambda H_b. Each G_b comes from the same six trig sums as the
//! single-band GLS, so the cost is one single-band pass over all points plus a few 3x3
//! operations per band and frequency. With lambda = 0 this is the sum of independent
//! per-band floating-mean sinusoid fits.

use crate::numeric::periodogram::gls::{time_reference, trig_sums, PeriodogramMethod};
use crate::numeric::periodogram::grid::FreqGrid;
use crate::numeric::periodogram::nufft::NufftScratch;
use crate::numeric::periodogram::sums::{DirectScratch, TrigSums};

/// astropy's default `reg_band` (relative to the trace of the normal matrix).
pub const ASTROPY_REG_BAND: f64 = 1e-6;

/// Scratch for `multiband_power`; reuse across calls (one per thread).
#[derive(Default)]
pub struct MultibandScratch {
    /// Scratch of the direct method's sums.
    pub direct: DirectScratch,
    /// Scratch of the fast method's sums.
    pub nufft: NufftScratch,
    sums: TrigSums,
    /// One band's times, weights and weighted centred values.
    band_t: Vec<f64>,
    band_w: Vec<f64>,
    band_wy: Vec<f64>,
    tt: Vec<f64>,
    /// Per frequency: q, H (xx, xy, xz, yy, yz, zz), v (x, y, z) -> 10 values.
    acc: Vec<[f64; 10]>,
}

/// Symmetric 3x3 inverse from the 6 unique entries (a, b, c, d, e, f) of
/// [[a,b,c],[b,d,e],[c,e,f]], by the adjugate. Returns None if singular.
#[inline]
fn inv3(m: [f64; 6]) -> Option<[f64; 6]> {
    let [a, b, c, d, e, f] = m;
    let c00 = d * f - e * e;
    let c01 = c * e - b * f;
    let c02 = b * e - c * d;
    let det = a * c00 + b * c01 + c * c02;
    if !(det.abs() > 0.0) || !det.is_finite() {
        return None;
    }
    let id = 1.0 / det;
    Some([
        c00 * id,
        c01 * id,
        c02 * id,
        (a * f - c * c) * id,
        (b * c - a * e) * id,
        (a * d - b * b) * id,
    ])
}

#[inline]
fn mul3(h: &[f64; 6], r: [f64; 3]) -> [f64; 3] {
    [
        h[0] * r[0] + h[1] * r[1] + h[2] * r[2],
        h[1] * r[0] + h[3] * r[1] + h[4] * r[2],
        h[2] * r[0] + h[4] * r[1] + h[5] * r[2],
    ]
}

/// Multiband power on `grid` into `power[..grid.n]`. `band[i] < nbands` is the band index
/// of point i. `reg_band` is astropy's relative ridge (use `ASTROPY_REG_BAND`; 0 gives
/// independent per-band sinusoids, which needs >= 3 points in every band present).
/// Returns false (power zeroed) if there are fewer than 3 points or the data are constant.
#[allow(clippy::too_many_arguments)]
pub fn multiband_power(
    t: &[f64],
    y: &[f64],
    dy: Option<&[f64]>,
    band: &[u8],
    nbands: usize,
    grid: &FreqGrid,
    method: PeriodogramMethod,
    reg_band: f64,
    ws: &mut MultibandScratch,
    power: &mut [f64],
) -> bool {
    assert!(t.len() == y.len() && band.len() == t.len());
    let nf = grid.n;
    power[..nf].iter_mut().for_each(|p| *p = 0.0);
    if t.len() < 3 {
        return false;
    }
    ws.acc.clear();
    ws.acc.resize(nf, [0.0; 10]);
    let w_of = |i: usize| dy.map_or(1.0, |d| 1.0 / (d[i] * d[i]));
    let wtot: f64 = (0..t.len()).map(w_of).sum();
    let lambda = reg_band * 4.0 * wtot;
    // One common time origin for all bands: the shared base sinusoid couples the bands,
    // so their (sin, cos) columns must be phased consistently.
    let t_ref = time_reference(t);
    let mut chi2_ref = 0.0;
    let mut nb_present = 0.0;
    for b in 0..nbands {
        ws.band_t.clear();
        ws.band_w.clear();
        ws.band_wy.clear();
        for i in 0..t.len() {
            if band[i] as usize == b {
                ws.band_t.push(t[i]);
                ws.band_w.push(w_of(i));
            }
        }
        if ws.band_t.is_empty() {
            continue;
        }
        nb_present += 1.0;
        let wb: f64 = ws.band_w.iter().sum();
        let mut ybar = 0.0;
        let mut j = 0;
        for i in 0..t.len() {
            if band[i] as usize == b {
                ybar += ws.band_w[j] * y[i];
                j += 1;
            }
        }
        ybar /= wb;
        j = 0;
        for i in 0..t.len() {
            if band[i] as usize == b {
                let d = y[i] - ybar;
                ws.band_wy.push(ws.band_w[j] * d);
                chi2_ref += ws.band_w[j] * d * d;
                j += 1;
            }
        }
        trig_sums(
            &ws.band_t,
            &ws.band_w,
            &ws.band_wy,
            t_ref,
            grid,
            method,
            &mut ws.direct,
            &mut ws.nufft,
            &mut ws.tt,
            &mut ws.sums,
        );
        let s = &ws.sums;
        for k in 0..nf {
            let (cs, sn, yc, ys, c2, s2) = (s.c[k], s.s[k], s.yc[k], s.ys[k], s.c2[k], s.s2[k]);
            // G_b over columns [1, sin, cos] plus the ridge
            let g = [
                wb + lambda,
                sn,
                cs,
                0.5 * (wb - c2) + lambda,
                0.5 * s2,
                0.5 * (wb + c2) + lambda,
            ];
            let r = [0.0, ys, yc];
            if let Some(h) = inv3(g) {
                let hr = mul3(&h, r);
                let a = &mut ws.acc[k];
                a[0] += r[1] * hr[1] + r[2] * hr[2];
                for q in 0..6 {
                    a[1 + q] += h[q];
                }
                a[7] += hr[0];
                a[8] += hr[1];
                a[9] += hr[2];
            }
        }
    }
    if !(chi2_ref > 0.0) {
        return false;
    }
    for k in 0..nf {
        let a = &ws.acc[k];
        let mut val = a[0];
        if lambda > 0.0 {
            let am = [
                nb_present - lambda * a[1],
                -lambda * a[2],
                -lambda * a[3],
                nb_present - lambda * a[4],
                -lambda * a[5],
                nb_present - lambda * a[6],
            ];
            if let Some(ai) = inv3(am) {
                let v = [a[7], a[8], a[9]];
                let x = mul3(&ai, v);
                val += lambda * (v[0] * x[0] + v[1] * x[1] + v[2] * x[2]);
            }
        }
        power[k] = val / chi2_ref;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::periodogram::gls::{lomb_scargle, LombScargleScratch};
    use crate::numeric::periodogram::testdata as td;

    /// Reference: astropy LombScargleMultiband(t, y, bands, dy).power(f, method='flexible')
    /// with defaults (tests/ref/make_periodogram_ref.py): 3 bands, 58 points, 2400 frequencies.
    #[test]
    fn matches_astropy_flexible() {
        let g = FreqGrid {
            f0: td::M_F0,
            df: td::M_DF,
            n: td::M_NF,
        };
        let band: Vec<u8> = td::M_BAND.iter().map(|&b| b as u8).collect();
        let mut ws = MultibandScratch::default();
        for m in [PeriodogramMethod::Direct, PeriodogramMethod::Fast] {
            let mut p = vec![0.0; g.n];
            assert!(multiband_power(
                &td::M_T,
                &td::M_Y,
                Some(&td::M_DY),
                &band,
                3,
                &g,
                m,
                ASTROPY_REG_BAND,
                &mut ws,
                &mut p
            ));
            let d = p
                .iter()
                .zip(td::M_POWER)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(d < 1e-8, "{m:?}: {d:e}");
        }
    }

    /// Closed relation: with one band and no ridge, the multiband model reduces to the
    /// single-band floating-mean sinusoid, i.e. the GLS power (independent code path).
    #[test]
    fn one_band_unregularised_is_gls() {
        let g = FreqGrid {
            f0: td::A_F0,
            df: td::A_DF,
            n: td::A_NF,
        };
        let band = vec![0u8; td::A_T.len()];
        let mut ws = MultibandScratch::default();
        let mut p = vec![0.0; g.n];
        multiband_power(
            &td::A_T,
            &td::A_Y,
            Some(&td::A_DY),
            &band,
            1,
            &g,
            PeriodogramMethod::Direct,
            0.0,
            &mut ws,
            &mut p,
        );
        let mut gws = LombScargleScratch::default();
        let mut q = vec![0.0; g.n];
        lomb_scargle(
            &td::A_T,
            &td::A_Y,
            Some(&td::A_DY),
            &g,
            PeriodogramMethod::Direct,
            &mut gws,
            &mut q,
        );
        let d = p
            .iter()
            .zip(&q)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(d < 1e-12, "{d:e}");
    }
}
