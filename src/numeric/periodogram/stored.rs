//! A periodogram made small enough to keep with every feature row: the power
//! max-pooled over contiguous blocks of the frequency grid, so that every peak
//! survives as the maximum of its block at its own grid frequency, and the
//! power at the top peaks and at their daily and yearly aliases (numeric
//! layer; the light-curve job writes the records to `/periodograms`).
//!
//! Blocks: with `n` grid points and `points` stored points, block `j` is the
//! grid indices `j n / points .. (j + 1) n / points` (integer division) when
//! `n > points`, so every index is in exactly one block and block lengths
//! differ by at most one; when `n <= points` block `j < n` is index `j` alone
//! and the rest are NaN. Each block keeps its highest finite power and the
//! grid frequency `f0 + k df` where it occurs (the first one on ties), so a
//! stored point is a point of the full periodogram, never an interpolation.
//!
//! Aliases of a peak at `f` are `f + o` for the offsets of
//! [`alias_offsets`] (+-1 and +-1.0027379 cycles/day for the solar and
//! sidereal day, +-1/365.25 for the year: the spacings the period
//! refinement tries); the stored alias point is the grid point nearest
//! `f + o` and its power, NaN when it lies off the grid.

use crate::numeric::periodogram::grid::FreqGrid;
use crate::numeric::periodogram::peaks::Peak;

/// Aliases stored per peak: + and - each of the three alias spacings.
pub const ALIASES_PER_PEAK: usize = 6;

/// The signed alias offsets, cycles per day, from the refinement's three
/// spacings `[day, sidereal day, year]`: `+a0, -a0, +a1, -a1, +a2, -a2`.
pub fn alias_offsets(spacings: [f64; 3]) -> [f64; ALIASES_PER_PEAK] {
    let [a, b, c] = spacings;
    [a, -a, b, -b, c, -c]
}

/// One field of a stored-periodogram record (one `/periodograms` dataset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredField {
    /// Dataset name under `/periodograms`.
    pub name: &'static str,
    /// Values per row.
    pub width: usize,
    /// Offset of the field in a row's record.
    pub offset: usize,
    /// What it holds, with units (the dataset's `description` attribute).
    pub description: String,
}

/// The layout of one row's stored periodogram: `points` max-pooled points
/// and `top_k` peaks with [`ALIASES_PER_PEAK`] aliases each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredLayout {
    /// Max-pooled points per row.
    pub points: usize,
    /// Peaks per row (the feature row's `top_k`).
    pub top_k: usize,
}

impl StoredLayout {
    /// Every field, in record order.
    pub fn fields(&self) -> Vec<StoredField> {
        let (p, k, a) = (self.points, self.top_k, self.top_k * ALIASES_PER_PEAK);
        let spec: [(&'static str, usize, String); 7] = [
            ("grid", 3, "the row's full frequency grid: f0 (cycles/day), df (cycles/day), number of frequencies n; NaN when the row has no periodogram".into()),
            ("frequency", p, format!("frequency of the highest power in each of {p} contiguous blocks of the grid (max-pooling), cycles/day; NaN past the grid when n < {p}")),
            ("power", p, "the highest power in each block (normalised power, as period_power)".into()),
            ("peak_frequency", k, "frequencies of the top peaks (as peakK_period, K = 1..top_k), cycles/day".into()),
            ("peak_power", k, "their power".into()),
            ("alias_frequency", a, format!("for each peak in turn, the grid frequencies nearest its {ALIASES_PER_PEAK} aliases f + offset (attribute alias_offsets), cycles/day; NaN off the grid")),
            ("alias_power", a, "the power at those grid points".into()),
        ];
        let mut offset = 0;
        spec.into_iter()
            .map(|(name, width, description)| {
                let f = StoredField {
                    name,
                    width,
                    offset,
                    description,
                };
                offset += width;
                f
            })
            .collect()
    }

    /// Values per record.
    pub fn width(&self) -> usize {
        3 + 2 * self.points + 2 * self.top_k * (1 + ALIASES_PER_PEAK)
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<StoredField> {
        self.fields().into_iter().find(|f| f.name == name)
    }
}

/// Grid indices of block `j` of `points` blocks over `n` frequencies (see
/// the module docs); empty past the grid when `n <= points`.
pub fn block(n: usize, points: usize, j: usize) -> std::ops::Range<usize> {
    if n <= points {
        return if j < n { j..j + 1 } else { n..n };
    }
    // j, n < 2^32 and points <= n: the products fit in 128 bits with room
    let at = |j: usize| (j as u128 * n as u128 / points as u128) as usize;
    at(j)..at(j + 1)
}

/// Fills `out` (one record of `layout`, [`StoredLayout::width`] values) from
/// the full periodogram `power` on `grid`, its `peaks` (the first `top_k`
/// are stored) and the alias `offsets`.
pub fn store_periodogram(
    grid: &FreqGrid,
    power: &[f64],
    peaks: &[Peak],
    offsets: &[f64; ALIASES_PER_PEAK],
    layout: &StoredLayout,
    out: &mut [f64],
) {
    assert_eq!(out.len(), layout.width(), "stored periodogram record width");
    out.fill(f64::NAN);
    let n = grid.n.min(power.len());
    out[..3].copy_from_slice(&[grid.f0, grid.df, n as f64]);
    let p = layout.points;
    let (freq, rest) = out[3..].split_at_mut(p);
    let (pow, rest) = rest.split_at_mut(p);
    for j in 0..p {
        let mut best: Option<usize> = None;
        for k in block(n, p, j) {
            if power[k].is_finite() && best.is_none_or(|b| power[k] > power[b]) {
                best = Some(k);
            }
        }
        if let Some(k) = best {
            freq[j] = grid.freq(k);
            pow[j] = power[k];
        }
    }
    let kk = layout.top_k;
    let (peak_f, rest) = rest.split_at_mut(kk);
    let (peak_p, rest) = rest.split_at_mut(kk);
    let (alias_f, alias_p) = rest.split_at_mut(kk * ALIASES_PER_PEAK);
    for (i, pk) in peaks.iter().take(kk).enumerate() {
        peak_f[i] = pk.frequency;
        peak_p[i] = pk.power;
        for (a, off) in offsets.iter().enumerate() {
            let x = ((pk.frequency + off - grid.f0) / grid.df).round();
            if x >= 0.0 && x < n as f64 {
                let k = x as usize;
                alias_f[i * ALIASES_PER_PEAK + a] = grid.freq(k);
                alias_p[i * ALIASES_PER_PEAK + a] = power[k];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::periodogram::peaks::top_peaks;
    use crate::numeric::periodogram::testutil::Rng;

    /// Every grid index lies in exactly one block, in order, and block
    /// lengths differ by at most one.
    #[test]
    fn blocks_partition_the_grid() {
        for (n, points) in [
            (10, 3),
            (1000, 512),
            (513, 512),
            (7, 7),
            (5, 8),
            (2_000_003, 512),
        ] {
            let mut next = 0;
            let (mut lo, mut hi) = (usize::MAX, 0);
            for j in 0..points {
                let b = block(n, points, j);
                if n <= points && j >= n {
                    assert!(b.is_empty());
                    continue;
                }
                assert_eq!(b.start, next, "n {n} points {points} block {j}");
                next = b.end;
                lo = lo.min(b.len());
                hi = hi.max(b.len());
            }
            assert_eq!(next, n, "n {n} points {points}");
            assert!(lo >= 1 && hi - lo <= 1, "n {n} points {points}: {lo}..{hi}");
        }
    }

    /// Against a naive scan of the whole periodogram: each stored point is
    /// the maximum of the grid points whose index falls in its block, the
    /// global maximum and every top peak survive, and alias points are the
    /// nearest grid points.
    #[test]
    fn max_pooling_keeps_every_block_maximum_and_the_peaks() {
        let mut rng = Rng(3);
        let grid = FreqGrid {
            f0: 0.05,
            df: 0.0013,
            n: 4001,
        };
        let mut power: Vec<f64> = (0..grid.n).map(|_| 0.1 * rng.uniform()).collect();
        for (k, h) in [(17usize, 0.9), (1203, 0.7), (2788, 0.8), (2790, 0.85)] {
            power[k] = h; // narrow peaks, two of them in one block
        }
        let mut peaks = Vec::new();
        top_peaks(&grid, &power, 3, 2.0 * grid.df, &mut peaks);
        let layout = StoredLayout {
            points: 64,
            top_k: 3,
        };
        let offsets = alias_offsets([1.0, 1.002_737_9, 1.0 / 365.25]);
        let mut rec = vec![0.0; layout.width()];
        store_periodogram(&grid, &power, &peaks, &offsets, &layout, &mut rec);
        let field_of = |rec: &[f64], name: &str| {
            let f = layout.field(name).unwrap();
            rec[f.offset..f.offset + f.width].to_vec()
        };
        let field = |name: &str| field_of(&rec, name);
        let (freq, pow) = (field("frequency"), field("power"));
        for j in 0..layout.points {
            // the naive maximum over the block's members (first on ties)
            let members = block(grid.n, layout.points, j);
            let best = members
                .clone()
                .max_by(|&a, &b| power[a].total_cmp(&power[b]).then(b.cmp(&a)))
                .unwrap();
            assert_eq!(pow[j], power[best], "block {j}");
            assert_eq!(freq[j], grid.freq(best), "block {j}");
        }
        for h in [0.9, 0.7, 0.85] {
            assert!(pow.contains(&h), "peak of power {h} lost");
        }
        assert!(!pow.contains(&0.8), "0.8 shares a block with 0.85");
        assert_eq!(field("grid"), vec![grid.f0, grid.df, grid.n as f64]);
        // the 0.8 peak, lost to the pooling, is kept among the peaks (2 df from 0.85)
        assert_eq!(field("peak_power"), vec![0.9, 0.85, 0.8]);
        let (af, ap) = (field("alias_frequency"), field("alias_power"));
        for (i, pk) in peaks.iter().enumerate() {
            for (a, off) in offsets.iter().enumerate() {
                let (f, p) = (af[i * 6 + a], ap[i * 6 + a]);
                let want = pk.frequency + off;
                if want < grid.f0 - 0.5 * grid.df || want > grid.f_last() + 0.5 * grid.df {
                    assert!(f.is_nan() && p.is_nan(), "peak {i} alias {a} off the grid");
                    continue;
                }
                let k = (0..grid.n)
                    .min_by(|&x, &y| {
                        (grid.freq(x) - want)
                            .abs()
                            .total_cmp(&(grid.freq(y) - want).abs())
                    })
                    .unwrap();
                assert_eq!((f, p), (grid.freq(k), power[k]), "peak {i} alias {a}");
            }
        }
        // a short grid: every point stored, the rest NaN
        let short = FreqGrid { n: 40, ..grid };
        store_periodogram(
            &short,
            &power[..40],
            &peaks[..0],
            &offsets,
            &layout,
            &mut rec,
        );
        let field = |name: &str| field_of(&rec, name);
        let (freq, pow) = (field("frequency"), field("power"));
        assert_eq!(&pow[..40], &power[..40]);
        assert!(pow[40..].iter().chain(&freq[40..]).all(|x| x.is_nan()));
        assert!(field("peak_power").iter().all(|x| x.is_nan()));
    }

    #[test]
    fn fields_tile_the_record() {
        let l = StoredLayout {
            points: 100,
            top_k: 4,
        };
        let mut at = 0;
        for f in l.fields() {
            assert_eq!(f.offset, at, "{}", f.name);
            at += f.width;
        }
        assert_eq!(at, l.width());
    }
}
