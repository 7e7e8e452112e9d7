//! Count, mean and sum of squared deviations, merged exactly across pieces
//! (numeric kernel layer; shared by the Monte Carlo and image jobs).
//!
//! Pieces are summarised with a two-pass mean/M2 and combined with the
//! pairwise update of Chan, Golub & LeVeque (1979, "Updating formulae and a
//! pairwise algorithm for computing sample variances", and 1983, Am. Stat. 37,
//! 242):
//!
//! ```text
//! n = n_a + n_b,  d = mean_b - mean_a
//! mean = mean_a + d * n_b / n
//! M2   = M2_a + M2_b + d^2 * n_a * n_b / n
//! ```
//!
//! Merging in a fixed order (by item index) makes the result independent of
//! how items were spread over ranks and threads.

/// Running summary of a set of values: count, mean and M2 = sum (x - mean)^2.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    pub count: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    pub const EMPTY: Moments = Moments {
        count: 0,
        mean: 0.0,
        m2: 0.0,
    };

    /// Two-pass summary of a slice: the mean first, then the squared
    /// deviations from it, which avoids the cancellation of sum-of-squares.
    /// Eight partial sums keep the loops vectorisable; their order is fixed,
    /// so the result depends only on the slice.
    #[inline(always)]
    pub fn from_slice(values: &[f64]) -> Moments {
        if values.is_empty() {
            return Moments::EMPTY;
        }
        let n = values.len();
        let mean = sum_fixed_order(values, |x| x) / n as f64;
        let m2 = sum_fixed_order(values, |x| (x - mean) * (x - mean));
        Moments {
            count: n as u64,
            mean,
            m2,
        }
    }

    /// Chan-Golub-LeVeque pairwise merge; `self` comes first in item order.
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

    pub fn from_array(a: [f64; 3]) -> Moments {
        Moments {
            count: a[0] as u64,
            mean: a[1],
            m2: a[2],
        }
    }
}

/// Sum of `f(x)` over `values` with eight interleaved accumulators combined
/// in a fixed tree, so the compiler can vectorise and the result is the same
/// on every machine for the same input.
#[inline(always)]
fn sum_fixed_order(values: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let (chunks, rest) = values.as_chunks::<8>();
    let mut acc = [0.0f64; 8];
    for c in chunks {
        for l in 0..8 {
            acc[l] += f(c[l]);
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        acc[l] += f(x);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
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
