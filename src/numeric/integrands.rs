//! Monte Carlo integrands with closed-form integrals over a box (numeric
//! kernel layer).
//!
//! Each integrand is evaluated on points `x = lo + width * u` made from
//! uniform words (see [`crate::numeric::philox`]); the job estimates
//! `I = V * E[f(x)]` with `V` the box volume. The coordinate is computed as
//! `lo + (width * 2^-32) * (word + 0.5)`, which equals `lo + width * u` with
//! `u = (word + 0.5) * 2^-32` bit for bit (scaling by a power of two is
//! exact) and saves a multiplication.

use std::fmt;
use std::str::FromStr;

use crate::numeric::philox::TWO_POW_M32;

/// The built-in integrands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrand {
    /// `f(x) = |x|^2 = sum x_i^2`, the seed lecture's example. On the unit
    /// cube its integral is `n/3`; on `[a_i, b_i]` it is
    /// `V * sum (a_i^2 + a_i b_i + b_i^2) / 3`.
    Norm2,
    /// `f(x, y) = 4 * [x^2 + y^2 <= 1]` on the unit square: four times the
    /// quarter-disc indicator, so the integral (and the mean) is pi.
    Pi,
    /// `f(x) = exp(-|x|^2 / 2)`: integral `prod sqrt(pi/2) (erf(b_i/sqrt2) - erf(a_i/sqrt2))`.
    Gaussian,
    /// `f(x) = prod cos(x_i)`: integral `prod (sin b_i - sin a_i)`.
    CosProd,
}

impl Integrand {
    /// Every integrand; parsing and its error message go through them in this order.
    pub const ALL: [Integrand; 4] = [
        Integrand::Norm2,
        Integrand::Pi,
        Integrand::Gaussian,
        Integrand::CosProd,
    ];

    /// The name used in configuration and output (`norm2`, `pi`, `gaussian`, `cosprod`).
    pub fn name(self) -> &'static str {
        match self {
            Integrand::Norm2 => "norm2",
            Integrand::Pi => "pi",
            Integrand::Gaussian => "gaussian",
            Integrand::CosProd => "cosprod",
        }
    }

    /// A one-line human description that names its exact integral.
    pub fn describe(self) -> &'static str {
        match self {
            Integrand::Norm2 => "squared L2 norm sum x_i^2 (exact n/3 on the unit cube)",
            Integrand::Pi => "4 x quarter-disc indicator on the unit square (exact pi; dims = 2)",
            Integrand::Gaussian => "exp(-|x|^2/2) (exact via erf)",
            Integrand::CosProd => "product of cos(x_i) (exact prod(sin b - sin a))",
        }
    }

    /// Checks that the integrand is defined on this box; the message names
    /// what to change.
    pub fn check_domain(self, bounds: &[(f64, f64)]) -> Result<(), String> {
        if self == Integrand::Pi {
            if bounds.len() != 2 {
                return Err(format!(
                    "integrand 'pi' is the quarter disc in 2 dimensions, but dims = {}; set dims = 2",
                    bounds.len()
                ));
            }
            if bounds.iter().any(|&b| b != (0.0, 1.0)) {
                return Err(
                    "integrand 'pi' is defined on the unit square; leave bounds at [[0.0, 1.0]]"
                        .to_string(),
                );
            }
        }
        Ok(())
    }

    /// The exact integral over the box.
    pub fn exact(self, bounds: &[(f64, f64)]) -> f64 {
        let volume: f64 = bounds.iter().map(|(a, b)| b - a).product();
        match self {
            Integrand::Norm2 => {
                volume
                    * bounds
                        .iter()
                        .map(|(a, b)| (a * a + a * b + b * b) / 3.0)
                        .sum::<f64>()
            }
            Integrand::Pi => std::f64::consts::PI,
            Integrand::Gaussian => {
                let s = std::f64::consts::FRAC_1_SQRT_2;
                let half_pi_sqrt = (std::f64::consts::PI / 2.0).sqrt();
                bounds
                    .iter()
                    .map(|(a, b)| half_pi_sqrt * gaussian_mass(a * s, b * s))
                    .product()
            }
            Integrand::CosProd => bounds.iter().map(|(a, b)| b.sin() - a.sin()).product(),
        }
    }

    /// Evaluates the integrand on `out.len()` points whose coordinates come
    /// from consecutive words (`dims` words per point, point-major).
    /// `lo` and `width` describe the box. Small dimension counts get their
    /// own monomorphised loop so the per-point work vectorises.
    #[inline(always)]
    pub fn eval_points(self, lo: &[f64], width: &[f64], words: &[u32], out: &mut [f64]) {
        debug_assert_eq!(words.len(), out.len() * lo.len());
        macro_rules! fixed {
            ($($d:literal)*) => {
                match lo.len() {
                    $($d => self.eval_fixed::<$d>(lo, width, words, out),)*
                    _ => self.eval_dyn(lo, width, words, out),
                }
            };
        }
        fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    }

    /// Evaluates on points read from planar Philox groups (see
    /// [`crate::numeric::philox::fill_planar`]) when `dims` divides 4. In
    /// group `g`, slot `s` (of `4 / dims`) and lane `l`, the point's
    /// coordinates are words `s*dims .. (s+1)*dims` of call `16 g + l` -- the
    /// same words the stream convention gives that sample -- and its value
    /// goes to `out[g * 64/dims + 16 s + l]`. Each coordinate is then a
    /// contiguous vector of 16 words, which is what makes this loop fast.
    /// The arithmetic per point is that of [`Integrand::eval_points`].
    #[inline(always)]
    pub fn eval_planar(self, lo: &[f64], width: &[f64], planar: &[u32], out: &mut [f64]) {
        match lo.len() {
            1 => self.eval_planar_fixed::<1>(lo, width, planar, out),
            2 => self.eval_planar_fixed::<2>(lo, width, planar, out),
            4 => self.eval_planar_fixed::<4>(lo, width, planar, out),
            d => panic!("eval_planar needs dims dividing 4, got {d}"),
        }
    }

    #[inline(always)]
    fn eval_planar_fixed<const D: usize>(
        self,
        lo: &[f64],
        width: &[f64],
        planar: &[u32],
        out: &mut [f64],
    ) {
        const L: usize = crate::numeric::philox::LANES;
        let lo: [f64; D] = lo.try_into().expect("D matches dims");
        let width: [f64; D] = width.try_into().expect("D matches dims");
        let scale = width.map(|w| w * TWO_POW_M32);
        let per_group = 4 * L / D;
        let wide = has_avx512();
        let mut tail = [0.0f64; L];
        for (g, group) in planar.chunks_exact(4 * L).enumerate() {
            for slot in 0..4 / D {
                let base = g * per_group + slot * L;
                if base >= out.len() {
                    return;
                }
                let planes: &[u32] = &group[slot * D * L..(slot + 1) * D * L];
                let full = out.len() - base >= L;
                let vals: &mut [f64; L] = if full {
                    (&mut out[base..base + L]).try_into().expect("16 values")
                } else {
                    &mut tail
                };
                self.eval_lanes::<D>(&lo, &scale, planes, vals, wide);
                if !full {
                    let n = out.len() - base;
                    out[base..].copy_from_slice(&tail[..n]);
                }
            }
        }
    }

    /// Sixteen points whose coordinate `d` is `planes[16 d .. 16 d + 16]`.
    #[inline(always)]
    fn eval_lanes<const D: usize>(
        self,
        lo: &[f64; D],
        scale: &[f64; D],
        planes: &[u32],
        vals: &mut [f64; 16],
        wide: bool,
    ) {
        let planes: &[[u32; 16]] = planes.as_chunks::<16>().0;
        match self {
            Integrand::Norm2 | Integrand::Pi | Integrand::Gaussian if wide => {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `wide` is true only when the CPU has AVX-512F.
                unsafe {
                    avx512::sum_of_squares::<D>(lo, scale, planes, vals)
                };
                self.finish_sum_of_squares(vals);
            }
            Integrand::Norm2 | Integrand::Pi | Integrand::Gaussian => {
                for l in 0..16 {
                    let mut s = 0.0;
                    for d in 0..D {
                        let x = lo[d] + scale[d] * (f64::from(planes[d][l]) + 0.5);
                        s += x * x;
                    }
                    vals[l] = s;
                }
                match self {
                    Integrand::Pi => vals
                        .iter_mut()
                        .for_each(|v| *v = if *v <= 1.0 { 4.0 } else { 0.0 }),
                    Integrand::Gaussian => vals.iter_mut().for_each(|v| *v = (-0.5 * *v).exp()),
                    _ => {}
                }
            }
            Integrand::CosProd => {
                for l in 0..16 {
                    let mut p = 1.0;
                    for d in 0..D {
                        p *= (lo[d] + scale[d] * (f64::from(planes[d][l]) + 0.5)).cos();
                    }
                    vals[l] = p;
                }
            }
        }
    }

    /// Turns `|x|^2` into the integrand value for the integrands built on it.
    #[inline(always)]
    fn finish_sum_of_squares(self, vals: &mut [f64; 16]) {
        match self {
            Integrand::Pi => vals
                .iter_mut()
                .for_each(|v| *v = if *v <= 1.0 { 4.0 } else { 0.0 }),
            Integrand::Gaussian => vals.iter_mut().for_each(|v| *v = (-0.5 * *v).exp()),
            _ => {}
        }
    }

    #[inline(always)]
    fn eval_fixed<const D: usize>(self, lo: &[f64], width: &[f64], words: &[u32], out: &mut [f64]) {
        let lo: [f64; D] = lo.try_into().expect("D matches dims");
        let width: [f64; D] = width.try_into().expect("D matches dims");
        let scale = width.map(|w| w * TWO_POW_M32);
        let points = words.chunks_exact(D).zip(out.iter_mut());
        match self {
            Integrand::Norm2 => points.for_each(|(w, f)| {
                let mut s = 0.0;
                for d in 0..D {
                    let x = lo[d] + scale[d] * (f64::from(w[d]) + 0.5);
                    s += x * x;
                }
                *f = s;
            }),
            Integrand::Pi => points.for_each(|(w, f)| {
                let mut s = 0.0;
                for d in 0..D {
                    let x = lo[d] + scale[d] * (f64::from(w[d]) + 0.5);
                    s += x * x;
                }
                *f = if s <= 1.0 { 4.0 } else { 0.0 };
            }),
            Integrand::Gaussian => points.for_each(|(w, f)| {
                let mut s = 0.0;
                for d in 0..D {
                    let x = lo[d] + scale[d] * (f64::from(w[d]) + 0.5);
                    s += x * x;
                }
                *f = (-0.5 * s).exp();
            }),
            Integrand::CosProd => points.for_each(|(w, f)| {
                let mut p = 1.0;
                for d in 0..D {
                    p *= (lo[d] + scale[d] * (f64::from(w[d]) + 0.5)).cos();
                }
                *f = p;
            }),
        }
    }

    #[inline(always)]
    fn eval_dyn(self, lo: &[f64], width: &[f64], words: &[u32], out: &mut [f64]) {
        let dims = lo.len();
        for (w, f) in words.chunks_exact(dims).zip(out.iter_mut()) {
            let x = |d: usize| lo[d] + width[d] * TWO_POW_M32 * (f64::from(w[d]) + 0.5);
            *f = match self {
                Integrand::Norm2 => (0..dims).map(|d| x(d) * x(d)).sum(),
                Integrand::Pi => {
                    if (0..dims).map(|d| x(d) * x(d)).sum::<f64>() <= 1.0 {
                        4.0
                    } else {
                        0.0
                    }
                }
                Integrand::Gaussian => (-0.5 * (0..dims).map(|d| x(d) * x(d)).sum::<f64>()).exp(),
                Integrand::CosProd => (0..dims).map(|d| x(d).cos()).product(),
            };
        }
    }
}

#[inline(always)]
fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// `sum_d (lo_d + scale_d * (word + 0.5))^2` for 16 points, eight per
    /// register, with the operations in the same order as the portable loop
    /// (no FMA), so both give the same bits.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn sum_of_squares<const D: usize>(
        lo: &[f64; D],
        scale: &[f64; D],
        planes: &[[u32; 16]],
        vals: &mut [f64; 16],
    ) {
        let half = _mm512_set1_pd(0.5);
        for h in 0..2 {
            let mut s = _mm512_setzero_pd();
            for d in 0..D {
                // SAFETY: each plane holds 16 u32; this reads 8 of them.
                let w =
                    unsafe { _mm256_loadu_si256(planes[d].as_ptr().add(8 * h) as *const __m256i) };
                let u = _mm512_add_pd(_mm512_cvtepu32_pd(w), half);
                let x = _mm512_add_pd(
                    _mm512_set1_pd(lo[d]),
                    _mm512_mul_pd(_mm512_set1_pd(scale[d]), u),
                );
                s = _mm512_add_pd(s, _mm512_mul_pd(x, x));
            }
            // SAFETY: `vals` holds 16 f64; this writes 8 of them.
            unsafe { _mm512_storeu_pd(vals.as_mut_ptr().add(8 * h), s) };
        }
    }
}

/// `erf(b) - erf(a)` without cancellation when both lie in the same tail.
fn gaussian_mass(a: f64, b: f64) -> f64 {
    if a >= 0.0 {
        libm::erfc(a) - libm::erfc(b)
    } else if b <= 0.0 {
        libm::erfc(-b) - libm::erfc(-a)
    } else {
        libm::erf(b) - libm::erf(a)
    }
}

impl fmt::Display for Integrand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Integrand {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Integrand::ALL
            .iter()
            .copied()
            .find(|i| i.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Integrand::ALL.iter().map(|i| i.name()).collect();
                format!(
                    "unknown integrand '{s}'; choose one of: {}",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Midpoint-rule quadrature on a fine grid: an independent check of each
    /// closed form in 2-D.
    fn midpoint_2d(f: impl Fn(f64, f64) -> f64, b: [(f64, f64); 2], n: usize) -> f64 {
        let hx = (b[0].1 - b[0].0) / n as f64;
        let hy = (b[1].1 - b[1].0) / n as f64;
        let mut s = 0.0;
        for i in 0..n {
            for j in 0..n {
                s += f(
                    b[0].0 + (i as f64 + 0.5) * hx,
                    b[1].0 + (j as f64 + 0.5) * hy,
                );
            }
        }
        s * hx * hy
    }

    #[test]
    fn closed_forms_match_quadrature() {
        let b = [(-0.5, 1.5), (0.25, 2.0)];
        let q = midpoint_2d(|x, y| x * x + y * y, b, 800);
        assert!((Integrand::Norm2.exact(&b) - q).abs() < 1e-5);
        let q = midpoint_2d(|x, y| (-(x * x + y * y) / 2.0).exp(), b, 800);
        assert!((Integrand::Gaussian.exact(&b) - q).abs() < 1e-6);
        let q = midpoint_2d(|x, y| x.cos() * y.cos(), b, 800);
        assert!((Integrand::CosProd.exact(&b) - q).abs() < 1e-6);
        let unit = [(0.0, 1.0), (0.0, 1.0)];
        let q = midpoint_2d(
            |x, y| if x * x + y * y <= 1.0 { 4.0 } else { 0.0 },
            unit,
            2000,
        );
        assert!((Integrand::Pi.exact(&unit) - q).abs() < 1e-3);
    }

    #[test]
    fn norm2_on_unit_cube_is_n_over_3() {
        for n in 1..12 {
            let b = vec![(0.0, 1.0); n];
            assert!((Integrand::Norm2.exact(&b) - n as f64 / 3.0).abs() < 1e-15);
        }
    }

    #[test]
    fn gaussian_tail_box_keeps_precision() {
        // both ends in the far tail: erf(b)-erf(a) would cancel to 0
        let b = [(8.0, 9.0)];
        let e = Integrand::Gaussian.exact(&b);
        let want = (std::f64::consts::PI / 2.0).sqrt()
            * (libm::erfc(8.0 / 2f64.sqrt()) - libm::erfc(9.0 / 2f64.sqrt()));
        assert!(e > 0.0 && (e - want).abs() <= 1e-12 * want);
    }

    #[test]
    fn fixed_and_dynamic_paths_agree() {
        let words: Vec<u32> = (0..40u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect();
        for dims in 1..=4 {
            let lo = vec![-1.0; dims];
            let width = vec![2.5; dims];
            let n = words.len() / dims;
            for integrand in Integrand::ALL {
                let mut a = vec![0.0; n];
                let mut b = vec![0.0; n];
                integrand.eval_points(&lo, &width, &words[..n * dims], &mut a);
                integrand.eval_dyn(&lo, &width, &words[..n * dims], &mut b);
                for (x, y) in a.iter().zip(&b) {
                    assert!(
                        (x - y).abs() <= 1e-15 * x.abs().max(1.0),
                        "{integrand} dims {dims}"
                    );
                }
            }
        }
    }

    #[test]
    fn planar_points_equal_their_stream_points() {
        use crate::numeric::philox::{fill_planar, fill_words, GROUP_WORDS, LANES};
        for dims in [1usize, 2, 4] {
            let groups = 2;
            let mut planar = vec![0u32; groups * GROUP_WORDS];
            fill_planar([3, 4], 9, 0, &mut planar);
            let mut seq = vec![0u32; groups * GROUP_WORDS];
            fill_words([3, 4], 9, 0, &mut seq);
            let lo = vec![-0.5; dims];
            let width = vec![1.5; dims];
            let points = groups * GROUP_WORDS / dims;
            for integrand in Integrand::ALL {
                if integrand == Integrand::Pi && dims != 2 {
                    continue;
                }
                let mut a = vec![0.0; points];
                let mut b = vec![0.0; points];
                integrand.eval_planar(&lo, &width, &planar, &mut a);
                integrand.eval_points(&lo, &width, &seq, &mut b);
                // planar slot s, lane l of group g holds stream sample
                // (16 g + l) * (4 / dims) + s
                let per_call = 4 / dims;
                for g in 0..groups {
                    for s in 0..per_call {
                        for l in 0..LANES {
                            let sample = (g * LANES + l) * per_call + s;
                            assert_eq!(
                                a[g * LANES * per_call + s * LANES + l],
                                b[sample],
                                "{integrand} dims {dims}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pi_domain_is_checked() {
        assert!(Integrand::Pi.check_domain(&[(0.0, 1.0); 3]).is_err());
        assert!(Integrand::Pi
            .check_domain(&[(0.0, 2.0), (0.0, 1.0)])
            .is_err());
        assert!(Integrand::Pi.check_domain(&[(0.0, 1.0); 2]).is_ok());
        assert!("nope".parse::<Integrand>().unwrap_err().contains("norm2"));
    }
}
