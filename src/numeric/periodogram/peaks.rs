//! Peak picking on a periodogram and the Baluev (2008) false-alarm probability.

use crate::numeric::periodogram::grid::FreqGrid;

/// One periodogram peak.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    /// Grid index.
    pub index: usize,
    /// Frequency of the grid point.
    pub frequency: f64,
    /// `1 / frequency`.
    pub period: f64,
    /// Periodogram power there.
    pub power: f64,
}

fn peak_at(grid: &FreqGrid, power: &[f64], k: usize) -> Peak {
    let f = grid.freq(k);
    Peak {
        index: k,
        frequency: f,
        period: 1.0 / f,
        power: power[k],
    }
}

/// Highest point of the periodogram (first one on ties); None if empty.
pub fn best_peak(grid: &FreqGrid, power: &[f64]) -> Option<Peak> {
    let n = grid.n.min(power.len());
    let mut best: Option<usize> = None;
    for k in 0..n {
        if power[k].is_finite() && best.is_none_or(|b| power[k] > power[b]) {
            best = Some(k);
        }
    }
    best.map(|k| peak_at(grid, power, k))
}

/// Top-k local maxima sorted by decreasing power. A local maximum is a point strictly
/// above its left neighbour and not below its right one (grid ends count if above their
/// single neighbour). Peaks closer than `min_separation` (frequency units) to a
/// stronger chosen peak are skipped, so side lobes of one peak are not returned as
/// separate candidates (pass 0 to keep all). `out` is reused: no allocation once it has
/// capacity for all local maxima.
pub fn top_peaks(
    grid: &FreqGrid,
    power: &[f64],
    k: usize,
    min_separation: f64,
    out: &mut Vec<Peak>,
) {
    let n = grid.n.min(power.len());
    let is_max = |i: usize| {
        let p = power[i];
        p.is_finite() && n > 1 && (i == 0 || p > power[i - 1]) && (i + 1 == n || p >= power[i + 1])
    };
    let order = |a: &Peak, b: &Peak| b.power.total_cmp(&a.power).then(a.index.cmp(&b.index));
    // The greedy pass below reads the maxima in decreasing power and usually keeps k of
    // them within the first few k, so only the strongest `prefix` maxima are kept while
    // scanning: whenever the buffer holds 2 prefix of them it is cut back to the best
    // prefix, and the weakest of those becomes the bar a new maximum must clear (a later
    // maximum of equal power ranks after it: ties go by index). Most points fail that one
    // comparison, so the scan is nearly branch-free. The order is total, so the result is
    // the same as sorting all maxima.
    let prefix = (8 * k).max(16);
    let mut bar = f64::NEG_INFINITY;
    out.clear();
    // blocks of 16 points with none above the bar are skipped by one vectorised test
    const BLOCK: usize = 16;
    for (b, block) in power[..n].chunks(BLOCK).enumerate() {
        if !block.iter().fold(false, |any, &p| any | (p > bar)) {
            continue;
        }
        for i in b * BLOCK..b * BLOCK + block.len() {
            if power[i] > bar && is_max(i) {
                out.push(peak_at(grid, power, i));
                if out.len() == 2 * prefix {
                    out.select_nth_unstable_by(prefix - 1, order);
                    out.truncate(prefix);
                    bar = out[prefix - 1].power;
                }
            }
        }
    }
    // maxima were dropped if the buffer was ever cut back, now included
    let mut dropped = bar > f64::NEG_INFINITY;
    if out.len() > prefix {
        out.select_nth_unstable_by(prefix - 1, order);
        out.truncate(prefix);
        dropped = true;
    }
    out.sort_unstable_by(order);
    let len = out.len();
    let mut kept = greedy_keep(out, len, k, min_separation);
    if kept < k && dropped {
        // rare: side lobes used up the prefix and weaker maxima were dropped; all of them
        out.clear();
        out.extend(
            (0..n)
                .filter(|&i| is_max(i))
                .map(|i| peak_at(grid, power, i)),
        );
        out.sort_unstable_by(order);
        let len = out.len();
        kept = greedy_keep(out, len, k, min_separation);
    }
    out.truncate(kept);
}

/// Moves into `out[..kept]` the first of `out[..len]` (in order) that are at least
/// `min_separation` from every one kept before, up to `k`; returns `kept`.
fn greedy_keep(out: &mut [Peak], len: usize, k: usize, min_separation: f64) -> usize {
    let mut kept = 0;
    for i in 0..len {
        if kept == k {
            break;
        }
        let cand = out[i];
        if out[..kept]
            .iter()
            .all(|q| (q.frequency - cand.frequency).abs() >= min_separation)
        {
            out[kept] = cand;
            kept += 1;
        }
    }
    kept
}

/// sqrt(2/N) Gamma(N/2)/Gamma((N-1)/2)  (Baluev 2008, Table 1 note; astropy `_gamma`).
fn gamma_factor(n: f64) -> f64 {
    (2.0 / n).sqrt() * (libm::lgamma(0.5 * n) - libm::lgamma(0.5 * (n - 1.0))).exp()
}

/// False-alarm probability of the highest peak with power `z` (standard normalisation),
/// Baluev (2008, MNRAS 385, 1279) "alias-free" approximation, eq. (6) with the tau of
/// Table 1 for the z_1 statistic -- exactly astropy's
/// `false_alarm_probability(z, method='baluev', maximum_frequency=fmax)`:
///   fap_single = (1-z)^((N-3)/2),
///   tau = gamma(N-1) * fmax * sqrt(4 pi Var_w(t)) * (1-z)^((N-4)/2) * sqrt((N-1) z / 2),
///   FAP = 1 - (1 - fap_single) e^{-tau}.
/// `fmax` is the top of the searched grid (astropy uses `grid.f_last()`); Var_w is the
/// 1/dy^2-weighted variance of the times.
pub fn false_alarm_baluev(z: f64, fmax: f64, t: &[f64], dy: Option<&[f64]>) -> f64 {
    let n = t.len() as f64;
    let nh = n - 1.0;
    let nk = n - 3.0;
    let t0 = t.first().copied().unwrap_or(0.0);
    let (mut sw, mut st, mut stt) = (0.0, 0.0, 0.0);
    for (i, &ti) in t.iter().enumerate() {
        let wi = dy.map_or(1.0, |d| 1.0 / (d[i] * d[i]));
        let x = ti - t0; // shifted: the variance is shift invariant and this avoids cancellation
        sw += wi;
        st += wi * x;
        stt += wi * x * x;
    }
    let var = stt / sw - (st / sw) * (st / sw);
    let teff = (4.0 * std::f64::consts::PI * var).sqrt();
    let wfac = fmax * teff;
    let fap_s = (1.0 - z).powf(0.5 * nk);
    let tau = gamma_factor(nh) * wfac * (1.0 - z).powf(0.5 * (nk - 1.0)) * (0.5 * nh * z).sqrt();
    // astropy form: -expm1(-tau) + fap_s*exp(-tau), accurate for small FAP
    -(-tau).exp_m1() + fap_s * (-tau).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::periodogram::testdata as td;

    /// Reference: astropy false_alarm_probability(z, method='baluev') for data sets A
    /// (with dy) and B (unit weights), maximum_frequency = top of autofrequency grid.
    /// Tolerance 1e-9 relative: astropy forms Var(t) as mean(t^2) - mean(t)^2 on raw MJDs,
    /// which cancels ~1e-11 relative; we shift t first, so we differ at that level.
    #[test]
    fn baluev_matches_astropy() {
        for (z, f) in td::A_FAP_Z.iter().zip(td::A_FAP) {
            let p = false_alarm_baluev(*z, td::A_FAP_FMAX, &td::A_T, Some(&td::A_DY));
            assert!(
                (p - f).abs() <= 1e-9 * f.max(1e-300),
                "z={z}: {p:e} vs {f:e}"
            );
        }
        for (z, f) in td::B_FAP_Z.iter().zip(td::B_FAP) {
            let p = false_alarm_baluev(*z, td::B_FAP_FMAX, &td::B_T, None);
            assert!(
                (p - f).abs() <= 1e-9 * f.max(1e-300),
                "z={z}: {p:e} vs {f:e}"
            );
        }
    }

    /// Hand-built periodogram: maxima at 2 (0.9), 6 (0.5), 9 (0.7, right edge), and a
    /// side lobe at 4 (0.3) within min_separation of index 2.
    #[test]
    fn peak_picking() {
        let g = FreqGrid {
            f0: 1.0,
            df: 0.5,
            n: 10,
        };
        let p = [0.1, 0.2, 0.9, 0.2, 0.3, 0.1, 0.5, 0.4, 0.6, 0.7];
        let b = best_peak(&g, &p).unwrap();
        assert_eq!(b.index, 2);
        assert_eq!(b.frequency, 2.0);
        assert_eq!(b.period, 0.5);
        let mut out = Vec::new();
        top_peaks(&g, &p, 10, 0.0, &mut out);
        let idx: Vec<usize> = out.iter().map(|q| q.index).collect();
        assert_eq!(idx, vec![2, 9, 6, 4]);
        top_peaks(&g, &p, 2, 1.01, &mut out); // drops 4 (1.0 away from 2)
        let idx: Vec<usize> = out.iter().map(|q| q.index).collect();
        assert_eq!(idx, vec![2, 9]);
        top_peaks(&g, &p, 3, 1.01, &mut out);
        let idx: Vec<usize> = out.iter().map(|q| q.index).collect();
        assert_eq!(idx, vec![2, 9, 6]);
    }

    /// Fewer than two buffers' worth of maxima, the strong ones all in one cluster: the
    /// keeper far away is among the maxima cut at the end of the scan, and must still be
    /// found.
    #[test]
    fn top_peaks_finds_a_far_weak_peak_cut_at_the_end() {
        let g = FreqGrid {
            f0: 1.0,
            df: 0.01,
            n: 200,
        };
        // 20 strong maxima at 2 points apart from index 1 (within 0.4 of each other),
        // 4 weak ones near index 150 (1.1 away)
        let mut p = vec![0.0; g.n];
        for j in 0..20 {
            p[1 + 2 * j] = 0.9 - 0.01 * j as f64;
        }
        for j in 0..4 {
            p[150 + 2 * j] = 0.1 + 0.01 * j as f64;
        }
        let mut out = Vec::new();
        // k = 2: a buffer of 16, cut back once at the end (24 maxima)
        top_peaks(&g, &p, 2, 0.5, &mut out);
        let idx: Vec<usize> = out.iter().map(|q| q.index).collect();
        assert_eq!(idx, vec![1, 156]);
    }

    /// The partial selection gives what sorting every maximum and keeping greedily gives,
    /// including when side lobes push the k-th kept peak past the selected prefix.
    #[test]
    fn top_peaks_equal_full_sort_reference() {
        let mut rng = crate::numeric::periodogram::testutil::Rng(11);
        for trial in 0..60 {
            // short grids have a few dozen maxima: between one and two buffers' worth,
            // so none is dropped while scanning, only at the end
            let g = FreqGrid {
                f0: 0.1,
                df: 0.01,
                n: if trial % 3 == 2 { 150 + trial } else { 3000 },
            };
            // rounded powers make ties, which the index order must break
            let mut p: Vec<f64> = (0..g.n)
                .map(|_| (rng.uniform() * 50.0).round() / 50.0)
                .collect();
            let k = 1 + trial % 7;
            let sep = [0.0, 0.05, 0.5, 3.0][trial % 4];
            if trial % 5 == 4 && g.n > 200 {
                // every strong maximum in the first 2 frequency units: with separation 3
                // the selected prefix holds one keeper only, so the full sort must run
                for v in &mut p[200..] {
                    *v *= 0.3;
                }
            }
            let mut maxima: Vec<Peak> = (0..g.n)
                .filter(|&i| (i == 0 || p[i] > p[i - 1]) && (i + 1 == g.n || p[i] >= p[i + 1]))
                .map(|i| peak_at(&g, &p, i))
                .collect();
            maxima.sort_by(|a, b| b.power.total_cmp(&a.power).then(a.index.cmp(&b.index)));
            let mut want: Vec<Peak> = Vec::new();
            for c in maxima {
                if want.len() < k
                    && want
                        .iter()
                        .all(|q| (q.frequency - c.frequency).abs() >= sep)
                {
                    want.push(c);
                }
            }
            let mut got = Vec::new();
            top_peaks(&g, &p, k, sep, &mut got);
            assert_eq!(got, want, "trial {trial}: k {k}, separation {sep}");
        }
    }
}
