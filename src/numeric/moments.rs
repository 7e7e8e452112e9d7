//! Count, mean and sum of squared deviations, merged exactly across pieces
//! (numeric kernel layer; shared by the Monte Carlo and image jobs).
//!
//! Pieces are summarised with a two-pass mean/M2 ([`Moments::from_slice`])
//! and combined with the pairwise update of Chan, Golub & LeVeque
//! ([`Moments::merge`]). Merging in a fixed order (by item index) makes the
//! result independent of how items were spread over ranks and threads.

/// Running summary of a set of values: count, mean and M2 = sum (x - mean)^2.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Arithmetic mean (0 when empty).
    pub mean: f64,
    /// Sum of squared deviations from the mean (0 when empty).
    pub m2: f64,
}

impl Moments {
    /// The summary of no values; the identity of [`Moments::merge`].
    pub const EMPTY: Moments = Moments {
        count: 0,
        mean: 0.0,
        m2: 0.0,
    };

    /// Two-pass summary of a slice: the mean first, then the squared
    /// deviations from it, which avoids the cancellation of sum-of-squares.
    /// Both sums use eight lanes combined in a fixed order (see the private
    /// `lane_sums`), so the result depends only on the slice.
    #[inline(always)]
    pub fn from_slice(values: &[f64]) -> Moments {
        if values.is_empty() {
            return Moments::EMPTY;
        }
        let n = values.len();
        let (sum, _) = lane_sums(values, None);
        let mean = sum / n as f64;
        let (_, m2) = lane_sums(values, Some(mean));
        Moments {
            count: n as u64,
            mean,
            m2,
        }
    }

    /// Chan-Golub-LeVeque pairwise merge; `self` comes first in item order.
    ///
    /// Chan, Golub & LeVeque (1979, "Updating formulae and a pairwise algorithm
    /// for computing sample variances", and 1983, Am. Stat. 37, 242):
    ///
    /// ```text
    /// n = n_a + n_b,  d = mean_b - mean_a
    /// mean = mean_a + d * n_b / n
    /// M2   = M2_a + M2_b + d^2 * n_a * n_b / n
    /// ```
    #[inline(always)]
    pub fn merge(&self, other: &Moments) -> Moments {
        if other.count == 0 {
            return *self;
        }
        if self.count == 0 {
            return *other;
        }
        let na = self.count as f64;
        let nb = other.count as f64;
        let count = self.count + other.count;
        let n = count as f64;
        let delta = other.mean - self.mean;
        Moments {
            count,
            mean: self.mean + delta * (nb / n),
            m2: self.m2 + other.m2 + delta * delta * (na * nb / n),
        }
    }

    /// Merges a sequence of pieces left to right, in the order given.
    pub fn merge_in_order<'a>(pieces: impl IntoIterator<Item = &'a Moments>) -> Moments {
        pieces
            .into_iter()
            .fold(Moments::EMPTY, |acc, m| acc.merge(m))
    }

    /// Unbiased sample variance s^2 = M2 / (n - 1); NaN below two values.
    pub fn sample_variance(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }

    /// Flattened as three f64 for transport (count is exact below 2^53).
    pub fn to_array(self) -> [f64; 3] {
        [self.count as f64, self.mean, self.m2]
    }

    /// Inverse of [`Moments::to_array`].
    pub fn from_array(a: [f64; 3]) -> Moments {
        Moments {
            count: a[0] as u64,
            mean: a[1],
            m2: a[2],
        }
    }
}

/// `sum x` (when `center` is `None`) or `sum (x - center)^2`, accumulated in
/// eight lanes (lane `l` takes elements `l, l + 8, ...`) and combined as
/// `((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7))`. Every code path below follows
/// exactly this order, so AVX-512 and portable builds agree bit for bit.
#[inline(always)]
fn lane_sums(values: &[f64], center: Option<f64>) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is present, checked just above.
            let acc = unsafe { lanes_avx512(values, center) };
            return finish(acc, center);
        }
    }
    finish(lanes_portable(values, center), center)
}

#[inline(always)]
fn finish(acc: [f64; 8], center: Option<f64>) -> (f64, f64) {
    let a: [f64; 4] = std::array::from_fn(|l| acc[l] + acc[l + 4]);
    let total = (a[0] + a[2]) + (a[1] + a[3]);
    if center.is_some() {
        (0.0, total)
    } else {
        (total, 0.0)
    }
}

#[inline(always)]
fn lanes_portable(values: &[f64], center: Option<f64>) -> [f64; 8] {
    let (chunks, rest) = values.as_chunks::<8>();
    let mut acc = [0.0f64; 8];
    let term = |x: f64| match center {
        Some(c) => (x - c) * (x - c),
        None => x,
    };
    for c in chunks {
        for l in 0..8 {
            acc[l] += term(c[l]);
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        acc[l] += term(x);
    }
    acc
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn lanes_avx512(values: &[f64], center: Option<f64>) -> [f64; 8] {
    use std::arch::x86_64::*;
    let (chunks, rest) = values.as_chunks::<8>();
    let mut acc = _mm512_setzero_pd();
    match center {
        None => {
            for c in chunks {
                // SAFETY: `c` is 8 contiguous f64; unaligned load.
                acc = _mm512_add_pd(acc, unsafe { _mm512_loadu_pd(c.as_ptr()) });
            }
        }
        Some(m) => {
            let mv = _mm512_set1_pd(m);
            for c in chunks {
                // SAFETY: as above.
                let d = _mm512_sub_pd(unsafe { _mm512_loadu_pd(c.as_ptr()) }, mv);
                // a separate multiply and add (no FMA) to match the portable path
                acc = _mm512_add_pd(acc, _mm512_mul_pd(d, d));
            }
        }
    }
    let mut out = [0.0f64; 8];
    // SAFETY: `out` holds 8 f64.
    unsafe { _mm512_storeu_pd(out.as_mut_ptr(), acc) };
    for (l, &x) in rest.iter().enumerate() {
        out[l] += match center {
            Some(c) => (x - c) * (x - c),
            None => x,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Textbook two-pass over the whole data set, in long double-free plain
    /// f64 but with Kahan-compensated sums: the independent reference.
    fn two_pass_reference(values: &[f64]) -> (f64, f64) {
        let kahan = |it: &mut dyn Iterator<Item = f64>| {
            let (mut s, mut c) = (0.0f64, 0.0f64);
            for x in it {
                let y = x - c;
                let t = s + y;
                c = (t - s) - y;
                s = t;
            }
            s
        };
        let n = values.len() as f64;
        let mean = kahan(&mut values.iter().copied()) / n;
        let m2 = kahan(&mut values.iter().map(|x| (x - mean) * (x - mean)));
        (mean, m2)
    }

    fn lcg_values(n: usize, offset: f64) -> Vec<f64> {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                offset + (s >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    #[test]
    fn merged_pieces_equal_two_pass_over_everything() {
        // a large offset makes naive sum-of-squares lose every digit
        let values = lcg_values(10_007, 1.0e6);
        let (mean_ref, m2_ref) = two_pass_reference(&values);
        for piece in [1usize, 2, 7, 256, 1000, 10_007] {
            let parts: Vec<Moments> = values.chunks(piece).map(Moments::from_slice).collect();
            let m = Moments::merge_in_order(&parts);
            assert_eq!(m.count, values.len() as u64);
            // sequential merging bounds the mean's rounding by n * eps
            let bound = values.len() as f64 * f64::EPSILON * mean_ref.abs();
            assert!(
                (m.mean - mean_ref).abs() <= bound,
                "piece {piece}: mean {} vs {}",
                m.mean,
                mean_ref
            );
            assert!(
                (m.m2 - m2_ref).abs() <= 1e-9 * m2_ref,
                "piece {piece}: {} vs {}",
                m.m2,
                m2_ref
            );
        }
    }

    #[test]
    fn vector_and_portable_sums_agree_bit_for_bit() {
        for n in [1usize, 7, 8, 9, 256, 1001] {
            let v = lcg_values(n, 3.5);
            for center in [None, Some(3.9)] {
                let want = finish(lanes_portable(&v, center), center);
                assert_eq!(lane_sums(&v, center), want, "n {n} center {center:?}");
            }
        }
    }

    #[test]
    fn small_closed_form() {
        let m = Moments::from_slice(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            m,
            Moments {
                count: 4,
                mean: 2.5,
                m2: 5.0
            }
        );
        let merged = Moments::from_slice(&[1.0, 2.0]).merge(&Moments::from_slice(&[3.0, 4.0]));
        assert_eq!(merged, m);
        assert_eq!(m.sample_variance(), 5.0 / 3.0);
    }

    #[test]
    fn empty_pieces_are_neutral() {
        let m = Moments::from_slice(&[5.0, 7.0]);
        assert_eq!(Moments::EMPTY.merge(&m), m);
        assert_eq!(m.merge(&Moments::EMPTY), m);
        assert!(Moments::from_slice(&[1.0]).sample_variance().is_nan());
    }

    #[test]
    fn transport_round_trip() {
        let m = Moments {
            count: 123_456_789,
            mean: 0.25,
            m2: 17.5,
        };
        assert_eq!(Moments::from_array(m.to_array()), m);
    }
}
