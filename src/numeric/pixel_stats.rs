//! Per-tile pixel statistics for parallel merging (numeric kernel layer; the
//! image job's reduction).
//!
//! [`pixel_stats`] summarises one tile in `f64` with a two-pass algorithm;
//! tiles are combined with [`PixelStats::merge`], which uses the same
//! [`Moments::merge`] as the Monte Carlo job, in tile order, so the image
//! statistics are independent of ranks and threads. NaN pixels are skipped
//! (not counted); infinities are counted and propagate.

use super::conv2d::Real;
use super::moments::Moments;

/// Statistics of one tile. For `count == 0`: `mean = m2 = sum = 0`, `min = +inf`, `max = -inf`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelStats {
    /// Count, mean and M2 of the non-NaN pixels.
    pub moments: Moments,
    /// Smallest non-NaN pixel.
    pub min: f64,
    /// Largest non-NaN pixel.
    pub max: f64,
    /// Sum of the non-NaN pixels.
    pub sum: f64,
}

impl PixelStats {
    /// No pixels.
    pub const EMPTY: PixelStats = PixelStats {
        moments: Moments::EMPTY,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sum: 0.0,
    };

    /// Number of non-NaN pixels.
    pub fn count(&self) -> u64 {
        self.moments.count
    }

    /// Population variance `M2 / n` of the pixels (NaN when empty).
    pub fn variance(&self) -> f64 {
        if self.moments.count == 0 {
            f64::NAN
        } else {
            self.moments.m2 / self.moments.count as f64
        }
    }

    /// Combines two pieces; `self` comes first in tile order.
    pub fn merge(&self, other: &PixelStats) -> PixelStats {
        PixelStats {
            moments: self.moments.merge(&other.moments),
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            sum: self.sum + other.sum,
        }
    }

    /// Merges pieces left to right in the order given.
    pub fn merge_in_order<'a>(pieces: impl IntoIterator<Item = &'a PixelStats>) -> PixelStats {
        pieces
            .into_iter()
            .fold(PixelStats::EMPTY, |acc, p| acc.merge(p))
    }

    /// Flat form for gathers: `[count, mean, m2, min, max, sum]`.
    pub fn to_array(self) -> [f64; 6] {
        let [n, mean, m2] = self.moments.to_array();
        [n, mean, m2, self.min, self.max, self.sum]
    }

    /// Inverse of [`PixelStats::to_array`].
    pub fn from_array(a: [f64; 6]) -> PixelStats {
        PixelStats {
            moments: Moments::from_array([a[0], a[1], a[2]]),
            min: a[3],
            max: a[4],
            sum: a[5],
        }
    }
}

/// Statistics over a contiguous slice.
pub fn pixel_stats<T: Real>(data: &[T]) -> PixelStats {
    pixel_stats_2d(data, 1, data.len(), data.len())
}

/// Statistics over a `rows x cols` tile stored with row stride `stride` (elements).
///
/// Pass 1 gives the count, sum, min and max; pass 2 the corrected two-pass
/// `M2 = sum d^2 - (sum d)^2 / n` with `d = x - mean` (Chan, Golub & LeVeque 1983).
pub fn pixel_stats_2d<T: Real>(data: &[T], rows: usize, cols: usize, stride: usize) -> PixelStats {
    let row = |r: usize| &data[r * stride..r * stride + cols];
    let (mut n, mut sum, mut min, mut max) = (0u64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for r in 0..rows {
        // 4 partial sums per row for speed and a little extra accuracy
        let mut acc = [0.0f64; 4];
        let mut cnt = 0u64;
        for (k, &x) in row(r).iter().enumerate() {
            let x = x.as_f64();
            if x.is_nan() {
                continue;
            }
            acc[k & 3] += x;
            cnt += 1;
            min = min.min(x);
            max = max.max(x);
        }
        n += cnt;
        sum += (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
    if n == 0 {
        return PixelStats::EMPTY;
    }
    let mean = sum / n as f64;
    let (mut sd, mut sd2) = (0.0f64, 0.0f64);
    for r in 0..rows {
        for &x in row(r) {
            let x = x.as_f64();
            if x.is_nan() {
                continue;
            }
            let d = x - mean;
            sd += d;
            sd2 += d * d;
        }
    }
    let m2 = (sd2 - sd * sd / n as f64).max(0.0);
    PixelStats {
        moments: Moments { count: n, mean, m2 },
        min,
        max,
        sum,
    }
}
