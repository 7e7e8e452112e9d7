//! Colour features of a multiband object (numeric kernel layer): for each
//! pair of consecutive bands `(a, z)` the differences of their largest,
//! median and smallest magnitudes, and the spread of the bands' mean
//! magnitudes. The definitions are light-curve-feature's (Malanchev et al.
//! 2021, MNRAS 502, 5147) `ColorOfMaximum`, `ColorOfMedian`,
//! `ColorOfMinimum` and `ColorSpread`:
//!
//! - `color_max_a_z = max(m_a) - max(m_z)` (the mathematical maximum, the
//!   faintest point); needs one point in each band.
//! - `color_median_a_z = median(m_a) - median(m_z)` (numpy median).
//! - `color_min_a_z = min(m_a) - min(m_z)` (the brightest point).
//! - `color_spread = sqrt(Σ_b (m̄_b - ⟨m̄⟩)² / B)`, the population standard
//!   deviation of the inverse-variance weighted means `m̄_b = Σ m/δ² / Σ 1/δ²`
//!   of the `B` bands that have points; NaN below two such bands.
//!   (light-curve needs every listed band to have points; here a band
//!   without points is left out of the spread and makes its pairs NaN.)
//!
//! The magnitudes are the cleaned points of each band, so a `normalise`
//! other than `none` makes colours meaningless; they are computed as given.

use crate::numeric::lightcurve::stats;

/// Columns of the colour block for `bands` bands: three per consecutive
/// pair and the spread (none for a single band).
pub fn color_width(bands: usize) -> usize {
    if bands < 2 {
        0
    } else {
        3 * (bands - 1) + 1
    }
}

/// Per-band summaries kept between calls; one per thread.
#[derive(Clone, Debug, Default)]
pub struct ColorScratch {
    values: Vec<f64>,
    summary: Vec<BandSummary>,
}

#[derive(Clone, Copy, Debug)]
struct BandSummary {
    max: f64,
    median: f64,
    min: f64,
    wmean: f64,
}

/// Fills `out` (length [`color_width`]`(bands)`) with the colour features
/// of the points `m`, `e`, `band` (band `b` in `0..bands`; any order).
/// Pairs with a band without points are NaN.
pub fn color_features(
    m: &[f64],
    e: &[f64],
    band: &[u8],
    bands: usize,
    ws: &mut ColorScratch,
    out: &mut [f64],
) {
    debug_assert_eq!(out.len(), color_width(bands));
    out.fill(f64::NAN);
    if bands < 2 {
        return;
    }
    let nan = BandSummary {
        max: f64::NAN,
        median: f64::NAN,
        min: f64::NAN,
        wmean: f64::NAN,
    };
    ws.summary.clear();
    for b in 0..bands {
        ws.values.clear();
        let (mut sw, mut swm) = (0.0, 0.0);
        for k in 0..m.len() {
            if band[k] as usize == b {
                ws.values.push(m[k]);
                let w = 1.0 / (e[k] * e[k]);
                sw += w;
                swm += w * m[k];
            }
        }
        if ws.values.is_empty() {
            ws.summary.push(nan);
            continue;
        }
        stats::sort(&mut ws.values);
        ws.summary.push(BandSummary {
            max: ws.values[ws.values.len() - 1],
            median: stats::median_sorted(&ws.values),
            min: ws.values[0],
            wmean: swm / sw,
        });
    }
    for i in 1..bands {
        let (a, z) = (ws.summary[i - 1], ws.summary[i]);
        let at = 3 * (i - 1);
        out[at] = a.max - z.max;
        out[at + 1] = a.median - z.median;
        out[at + 2] = a.min - z.min;
    }
    let means = ws.summary.iter().map(|s| s.wmean).filter(|w| w.is_finite());
    let (count, sum) = means
        .clone()
        .fold((0usize, 0.0), |(c, s), w| (c + 1, s + w));
    if count >= 2 {
        let mu = sum / count as f64;
        let var = means.map(|w| (w - mu) * (w - mu)).sum::<f64>() / count as f64;
        out[3 * (bands - 1)] = var.sqrt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a direct evaluation with per-band vectors and numpy's median
    /// rule, on a hand-made three-band object.
    #[test]
    fn matches_the_definitions() {
        let m = [10.0, 11.0, 12.5, 9.0, 9.5, 8.0, 8.5, 13.0, 7.0];
        let e = [0.1, 0.2, 0.1, 0.1, 0.3, 0.2, 0.1, 0.5, 0.1];
        let b = [0u8, 0, 0, 1, 1, 2, 2, 0, 1];
        let mut out = vec![0.0; color_width(3)];
        color_features(&m, &e, &b, 3, &mut ColorScratch::default(), &mut out);
        // band 0: 10, 11, 12.5, 13 ; band 1: 9, 9.5, 7 ; band 2: 8, 8.5
        assert_eq!(out[0], 13.0 - 9.5);
        assert_eq!(out[1], (11.0 + 12.5) / 2.0 - 9.0);
        assert_eq!(out[2], 10.0 - 7.0);
        assert_eq!(out[3], 9.5 - 8.5);
        assert_eq!(out[4], 9.0 - 8.25);
        assert_eq!(out[5], 7.0 - 8.0);
        let wmean = |idx: &[usize]| {
            let sw: f64 = idx.iter().map(|&k| 1.0 / (e[k] * e[k])).sum();
            idx.iter().map(|&k| m[k] / (e[k] * e[k])).sum::<f64>() / sw
        };
        let w = [wmean(&[0, 1, 2, 7]), wmean(&[3, 4, 8]), wmean(&[5, 6])];
        let mu = (w[0] + w[1] + w[2]) / 3.0;
        let sd = (w.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / 3.0).sqrt();
        assert!((out[6] - sd).abs() < 1e-14, "{} vs {sd}", out[6]);
    }

    #[test]
    fn a_band_without_points_gives_nan_pairs() {
        let m = [10.0, 11.0, 8.0];
        let e = [0.1, 0.1, 0.1];
        let b = [0u8, 0, 2];
        let mut out = vec![0.0; color_width(3)];
        color_features(&m, &e, &b, 3, &mut ColorScratch::default(), &mut out);
        assert!(out[..6].iter().all(|x| x.is_nan()));
        assert!(
            (out[6] - 1.25).abs() < 1e-15,
            "spread of 10.5 and 8: {}",
            out[6]
        );
        let mut one = vec![0.0; color_width(2)];
        color_features(
            &m[..2],
            &e[..2],
            &b[..2],
            2,
            &mut ColorScratch::default(),
            &mut one,
        );
        assert!(one.iter().all(|x| x.is_nan()), "{one:?}");
        assert_eq!(color_width(1), 0);
    }
}
