//! Elementary functions for vectorised loops, and the crate's sin/cos of a phase in turns.
//!
//! libm's `exp`, `ln` and `sin_cos` are scalar calls with branches, so a loop that calls
//! them runs one element at a time. [`exp`], [`ln`] and [`sincos_turns`] here are
//! straight-line polynomials (selects instead of branches, no tables) that vectorise in
//! the SIMD kernels (see [`crate::numeric::simd`]). Without FMA every instruction set gives
//! the same bits; [`exp_with`] and [`mac`] may fuse, which changes the last bit only.
//!
//! - [`exp`]: Cody-Waite reduction `x = k ln2 + r`, `|r| <= ln2/2`, Taylor series of degree
//!   13, scaling by `2^k` through the exponent bits (as two normal factors, so subnormal
//!   results are right). Within 2 ulp of libm (tested); 0 below -745.2, +inf above
//!   709.78, NaN for NaN.
//! - [`sincos_turns`]: `(sin 2πx, cos 2πx)`; `x` reduced to `r` in [-1/2, 1/2] turns,
//!   then octants `r = q/4 + u`, `|u| <= 1/8`, Taylor series of degree 15 (sin) and 16
//!   (cos), quadrant rotation by selects. Within 2e-16 of libm on the reduced argument
//!   (tested). [`sincos_turns_libm`] and [`sincos_turns_libm_rint`] are the libm
//!   versions for scalar code (they differ only in how a half turn is rounded).
//! - [`ln`]: `ln s = e ln 2 + 2 atanh z`, `z = (m - 1)/(m + 1)` with `s = 2^e m`, `m` in
//!   [√½, √2), series to `z^25`. Within 2 ulp of libm for positive normal `s` (tested);
//!   other inputs give garbage, so callers check the range.
//! - [`split_log2`] and [`LogSum`]: `Σ ln s_i = ln 2 Σ e_i + ln Π m_i`, one `ln` per few
//!   hundred values.

/// `1.5 * 2^52`: adding it rounds to the nearest integer (round-half-even) and leaves
/// that integer in the low bits of the mantissa.
const ROUND_SHIFT: f64 = 6_755_399_441_055_744.0;

/// `e^x`, branch-free (see the module docs for range and accuracy).
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    exp_with::<false>(x)
}

/// `a * b + c`, as one fused instruction when `FMA` (callers pass `true` only where the
/// instruction set has FMA: elsewhere `mul_add` is a slow library call).
#[inline(always)]
pub fn mac<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// [`exp`] with the polynomial in fused multiply-adds when `FMA` (same accuracy; the
/// last bit can differ from the unfused variant).
#[inline(always)]
pub fn exp_with<const FMA: bool>(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that k * LN2_HI is exact for |k| < 2^11
    // (fdlibm's ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10)
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // clamp so that k stays in [-1077, 1025]; 2^k is applied as 2^k1 2^k2 below,
    // two normal factors, so results underflow to 0 and overflow to inf naturally
    let xc = x.clamp(-746.0, 710.0);
    let kf = xc * LOG2E + ROUND_SHIFT;
    let k = kf - ROUND_SHIFT;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r to degree 13 by Horner's rule
    let mut p = 1.0 / 6_227_020_800.0;
    p = mac::<FMA>(p, r, 1.0 / 479_001_600.0);
    p = mac::<FMA>(p, r, 1.0 / 39_916_800.0);
    p = mac::<FMA>(p, r, 1.0 / 3_628_800.0);
    p = mac::<FMA>(p, r, 1.0 / 362_880.0);
    p = mac::<FMA>(p, r, 1.0 / 40_320.0);
    p = mac::<FMA>(p, r, 1.0 / 5_040.0);
    p = mac::<FMA>(p, r, 1.0 / 720.0);
    p = mac::<FMA>(p, r, 1.0 / 120.0);
    p = mac::<FMA>(p, r, 1.0 / 24.0);
    p = mac::<FMA>(p, r, 1.0 / 6.0);
    p = mac::<FMA>(p, r, 0.5);
    p = mac::<FMA>(p, r, 1.0);
    p = mac::<FMA>(p, r, 1.0);
    // k as an integer is in the low bits of kf; 2^k1 and 2^k2 through the exponent field
    let ki = (kf.to_bits() as i64).wrapping_sub(ROUND_SHIFT.to_bits() as i64);
    let k1 = ki >> 1;
    let k2 = ki - k1;
    let s1 = f64::from_bits(((k1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((k2 + 1023) as u64) << 52);
    (p * s1) * s2
}

/// `e^x` in single precision, branch-free, for `x` in [-87, 88] (clamped there: the
/// result stays a normal `f32`); relative error about 2e-7 (a few `f32` ulp). For the
/// single-precision pre-passes of the structure-function fits.
#[inline(always)]
pub fn exp_f32<const FMA: bool>(x: f32) -> f32 {
    let mac = |a: f32, b: f32, c: f32| if FMA { a.mul_add(b, c) } else { a * b + c };
    // 1.5 * 2^23: adding it rounds to an integer left in the low mantissa bits
    const SHIFT: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75; // 0x3f317200: k * LN2_HI exact for |k| < 2^8
    const LN2_LO: f32 = 1.428_606_8e-6;
    let xc = x.clamp(-87.0, 88.0);
    let kf = xc * std::f32::consts::LOG2_E + SHIFT;
    let k = kf - SHIFT;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r, |r| <= ln2/2, to degree 7
    let mut p = 1.0 / 5040.0;
    p = mac(p, r, 1.0 / 720.0);
    p = mac(p, r, 1.0 / 120.0);
    p = mac(p, r, 1.0 / 24.0);
    p = mac(p, r, 1.0 / 6.0);
    p = mac(p, r, 0.5);
    p = mac(p, r, 1.0);
    p = mac(p, r, 1.0);
    let ki = (kf.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32);
    p * f32::from_bits(((ki + 127) as u32) << 23)
}

/// `(sin 2πx, cos 2πx)` for a phase `x` in turns, `|x| < 2^51`, branch-free: `x` is first
/// reduced exactly to [-1/2, 1/2] (ties to even, by adding and subtracting `1.5 * 2^52`).
#[inline(always)]
pub fn sincos_turns(x: f64) -> (f64, f64) {
    sincos_reduced(x - ((x + ROUND_SHIFT) - ROUND_SHIFT))
}

/// `(sin 2πx, cos 2πx)` by libm's `sin_cos`, `x` first reduced to [-1/2, 1/2] turns
/// with `f64::round` (a half turn rounds away from zero), so a large `x` keeps its
/// precision. The periodogram sums and the harmonic fit use it.
#[inline]
pub fn sincos_turns_libm(x: f64) -> (f64, f64) {
    (std::f64::consts::TAU * (x - x.round())).sin_cos()
}

/// [`sincos_turns_libm`] with a half turn rounded to even, as CUDA's `rint` in the GPU
/// periodogram kernel (its CPU twin uses this); the two differ only in the sign of the
/// sine at exact half turns.
#[inline]
pub fn sincos_turns_libm_rint(x: f64) -> (f64, f64) {
    (std::f64::consts::TAU * (x - x.round_ties_even())).sin_cos()
}

/// `(sin 2πr, cos 2πr)` for `r` in [-1/2, 1/2], branch-free (see the module docs).
#[inline(always)]
fn sincos_reduced(r: f64) -> (f64, f64) {
    // nearest quarter cycle q/4 and the remainder u, |u| <= 1/8 (exact subtraction)
    let qf = (4.0 * r + ROUND_SHIFT) - ROUND_SHIFT;
    let u = r - 0.25 * qf;
    let a = std::f64::consts::TAU * u;
    let a2 = a * a;
    // sin a = a (1 - a^2/3! + a^4/5! - ... - a^14/15!)
    let mut s = -1.0 / 1_307_674_368_000.0;
    s = s * a2 + 1.0 / 6_227_020_800.0;
    s = s * a2 - 1.0 / 39_916_800.0;
    s = s * a2 + 1.0 / 362_880.0;
    s = s * a2 - 1.0 / 5_040.0;
    s = s * a2 + 1.0 / 120.0;
    s = s * a2 - 1.0 / 6.0;
    s = a + a * (s * a2);
    // cos a = 1 - a^2/2! + ... + a^16/16!
    let mut c = 1.0 / 20_922_789_888_000.0;
    c = c * a2 - 1.0 / 87_178_291_200.0;
    c = c * a2 + 1.0 / 479_001_600.0;
    c = c * a2 - 1.0 / 3_628_800.0;
    c = c * a2 + 1.0 / 40_320.0;
    c = c * a2 - 1.0 / 720.0;
    c = c * a2 + 1.0 / 24.0;
    c = c * a2 - 0.5;
    c = 1.0 + c * a2;
    // rotate by q quarter turns, q in {-2, ..., 2}
    // q mod 4 is in the low bits of the shifted value (two's complement)
    let q = (4.0 * r + ROUND_SHIFT).to_bits() & 3;
    let (s1, c1) = if q & 1 == 1 { (c, -s) } else { (s, c) };
    if q & 2 == 2 {
        (-s1, -c1)
    } else {
        (s1, c1)
    }
}

/// `ln s` for positive normal `s`, branch-free (see the module docs).
#[inline(always)]
pub fn ln(s: f64) -> f64 {
    let (e, m) = split_log2(s);
    // move m into [√½, √2) so that |z| is smallest
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = if big { e + 1.0 } else { e };
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let mut p = 1.0 / 25.0;
    p = p * z2 + 1.0 / 23.0;
    p = p * z2 + 1.0 / 21.0;
    p = p * z2 + 1.0 / 19.0;
    p = p * z2 + 1.0 / 17.0;
    p = p * z2 + 1.0 / 15.0;
    p = p * z2 + 1.0 / 13.0;
    p = p * z2 + 1.0 / 11.0;
    p = p * z2 + 1.0 / 9.0;
    p = p * z2 + 1.0 / 7.0;
    p = p * z2 + 1.0 / 5.0;
    p = p * z2 + 1.0 / 3.0;
    let lnm = 2.0 * z + 2.0 * z * (z2 * p);
    e * std::f64::consts::LN_2 + lnm
}

/// `(e, m)` with `s = 2^e m`, `m` in [1, 2), for a positive normal `s` (garbage
/// otherwise: callers check the range, see [`LogSum`]).
#[inline(always)]
pub fn split_log2(s: f64) -> (f64, f64) {
    const MANT: u64 = (1u64 << 52) - 1;
    let bits = s.to_bits();
    let e = ((bits >> 52) as i64 - 1023) as f64;
    let m = f64::from_bits((bits & MANT) | 1.0f64.to_bits());
    (e, m)
}

/// Accumulates `Σ ln s_i` of positive normal values without one `ln` per value: per lane,
/// the exponents are summed exactly (integers in an `f64`) and the mantissas (in [1, 2))
/// multiplied; the product is renormalised every [`LogSum::RENORM`] values per lane, so it
/// stays below `2^RENORM`. `valid` counts the values that were positive and normal; a
/// caller compares it with the count it pushed and falls back to plain `ln` if any was not.
#[derive(Clone, Copy, Debug)]
pub struct LogSum<const N: usize> {
    /// Per lane, the sum of the exponents (whole numbers).
    pub exps: [f64; N],
    /// Per lane, the product of the mantissas since the last renormalisation.
    pub prods: [f64; N],
    /// Per lane, the count of positive normal values pushed.
    pub valid: [f64; N],
}

impl<const N: usize> Default for LogSum<N> {
    fn default() -> Self {
        LogSum {
            exps: [0.0; N],
            prods: [1.0; N],
            valid: [0.0; N],
        }
    }
}

// lane loops index several arrays in step: `for j in 0..N` is the clear form
#[allow(clippy::needless_range_loop)]
impl<const N: usize> LogSum<N> {
    /// Values per lane between renormalisations (products of mantissas stay < 2^RENORM).
    pub const RENORM: usize = 256;

    /// Adds one value per lane.
    #[inline(always)]
    pub fn push(&mut self, s: &[f64; N]) {
        for j in 0..N {
            let (e, m) = split_log2(s[j]);
            let ok = s[j] >= f64::MIN_POSITIVE && s[j] <= f64::MAX;
            self.exps[j] += if ok { e } else { 0.0 };
            self.prods[j] *= if ok { m } else { 1.0 };
            self.valid[j] += if ok { 1.0 } else { 0.0 };
        }
    }

    /// Moves the products' exponents into `exps`; call at least every `RENORM` pushes.
    #[inline(always)]
    pub fn renormalise(&mut self) {
        for j in 0..N {
            let (e, m) = split_log2(self.prods[j]);
            self.exps[j] += e;
            self.prods[j] = m;
        }
    }

    /// `Σ ln s` over every valid value pushed.
    pub fn total(&self) -> f64 {
        let e: f64 = self.exps.iter().sum();
        let p: f64 = self.prods.iter().map(|m| m.ln()).sum();
        e * std::f64::consts::LN_2 + p
    }

    /// Number of valid values pushed.
    pub fn valid(&self) -> usize {
        self.valid.iter().sum::<f64>() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [lo, hi) (an LCG: no test depends on a random seed).
    fn values(lo: f64, hi: f64, n: usize) -> Vec<f64> {
        let mut state = 0x853c_49e6_748f_ea9bu64;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                lo + (hi - lo) * ((state >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn exp_within_two_ulp_of_libm() {
        let mut worst = 0;
        for x in values(-745.0, 709.7, 200_000)
            .into_iter()
            .chain(values(-745.0, -700.0, 20_000))
            .chain(values(-1.0, 1.0, 100_000))
            .chain([0.0, -0.0, 1e-300, -1e-300, 0.5 * std::f64::consts::LN_2])
        {
            let u = ulps(exp(x), x.exp());
            assert!(u <= 2, "exp({x:e}) = {:e}, libm {:e}", exp(x), x.exp());
            worst = worst.max(u);
        }
        println!("exp: worst {worst} ulp against libm");
        for x in values(-700.0, 700.0, 10_000) {
            assert!(ulps(exp_with::<true>(x), x.exp()) <= 2, "fused exp({x})");
        }
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn ln_within_two_ulp_of_libm() {
        let mut worst = 0;
        let decades = values(-300.0, 300.0, 100_000)
            .into_iter()
            .map(|e| 10f64.powf(e));
        for x in decades
            .chain(values(0.5, 2.0, 100_000))
            .chain(values(0.999, 1.001, 20_000))
            .chain([
                1.0,
                2.0,
                0.5,
                f64::MIN_POSITIVE,
                f64::MAX,
                std::f64::consts::SQRT_2,
            ])
        {
            let u = ulps(ln(x), x.ln());
            // near x = 1 the result is tiny: allow an absolute 1e-19 there
            assert!(
                u <= 2 || (ln(x) - x.ln()).abs() <= 1e-19,
                "ln({x:e}) = {:e}, libm {:e}",
                ln(x),
                x.ln()
            );
            worst = worst.max(u);
        }
        println!("ln: worst {worst} ulp against libm");
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn exp_ends_of_the_range() {
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(-1e300), 0.0);
        assert_eq!(exp(709.8), f64::INFINITY);
        assert_eq!(exp(1e300), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        for x in [-745.1, -720.0, -708.5, 709.0, 709.78] {
            assert!(
                ulps(exp(x), x.exp()) <= 2,
                "exp({x}) = {:e}, libm {:e}",
                exp(x),
                x.exp()
            );
        }
    }

    /// libm on the exactly reduced argument: `2π r` itself is rounded (up to 4e-16 for
    /// |r| near 1/2), which is the libm side's error, not the polynomial's.
    fn sincos_reference(r: f64) -> (f64, f64) {
        let q = (4.0 * r).round();
        let (s, c) = (std::f64::consts::TAU * (r - 0.25 * q)).sin_cos();
        match (q as i64).rem_euclid(4) {
            0 => (s, c),
            1 => (c, -s),
            2 => (-s, -c),
            _ => (-c, s),
        }
    }

    #[test]
    fn sincos_within_2e16_of_libm() {
        let mut worst = 0.0f64;
        for r in values(-0.5, 0.5, 200_000).into_iter().chain([
            -0.5, -0.375, -0.25, -0.125, 0.0, 0.125, 0.25, 0.375, 0.5, 1e-20,
        ]) {
            let (s, c) = sincos_reduced(r);
            let (ls, lc) = sincos_reference(r);
            worst = worst.max((s - ls).abs()).max((c - lc).abs());
            assert!(
                (s - ls).abs() <= 2e-16 && (c - lc).abs() <= 2e-16,
                "sincos_reduced({r}) = ({s:e}, {c:e}), libm ({ls:e}, {lc:e})"
            );
            // and against libm on the unreduced argument, within that argument's rounding
            let (us, uc) = (std::f64::consts::TAU * r).sin_cos();
            assert!((s - us).abs() <= 1e-15 && (c - uc).abs() <= 1e-15);
        }
        println!("sincos_reduced: worst absolute difference from libm {worst:e}");
        assert_eq!(sincos_reduced(0.0), (0.0, 1.0));
        assert_eq!(sincos_reduced(0.25), (1.0, 0.0));
        assert_eq!(sincos_reduced(-0.25), (-1.0, 0.0));
        assert_eq!(sincos_reduced(0.5).1, -1.0);
    }

    /// The libm variants agree with the polynomial and with each other, except for the
    /// sign of the sine at exact half turns (the one place their roundings differ).
    #[test]
    fn libm_variants_differ_only_at_half_turns() {
        for x in values(-3000.0, 3000.0, 20_000) {
            let (s, c) = sincos_turns_libm(x);
            assert_eq!((s, c), sincos_turns_libm_rint(x));
            let (ps, pc) = sincos_turns(x);
            assert!((s - ps).abs() <= 1e-15 && (c - pc).abs() <= 1e-15, "{x}");
        }
        for x in [0.5, 2.5, -0.5, 1e6 + 0.5] {
            let (away, even) = (sincos_turns_libm(x), sincos_turns_libm_rint(x));
            assert_eq!((away.0, away.1), (-even.0, even.1), "{x}");
        }
        assert_eq!(sincos_turns_libm(1.5), sincos_turns_libm_rint(1.5));
    }

    #[test]
    fn log_sum_matches_sum_of_ln() {
        // values over 600 decades so exponents and renormalisation both matter
        let v: Vec<f64> = values(-300.0, 300.0, 4096)
            .into_iter()
            .map(|e| 10f64.powf(e))
            .collect();
        let mut ls = LogSum::<8>::default();
        for (k, c) in v.chunks_exact(8).enumerate() {
            ls.push(c.try_into().unwrap());
            if k % LogSum::<8>::RENORM == LogSum::<8>::RENORM - 1 {
                ls.renormalise();
            }
        }
        let want: f64 = v.iter().map(|x| x.ln()).sum();
        let got = ls.total();
        assert_eq!(ls.valid(), v.len());
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }

    #[test]
    fn exp_f32_matches_libm() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = (x as f64).exp();
            let got = exp_f32::<false>(x) as f64;
            let fused = exp_f32::<true>(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            worst = worst.max(((fused - want) / want).abs());
            x += 0.013;
        }
        assert!(worst < 4e-7, "worst relative error {worst}");
    }

    #[test]
    fn log_sum_counts_invalid_values() {
        let mut ls = LogSum::<8>::default();
        ls.push(&[1.0, 0.0, -1.0, f64::NAN, f64::INFINITY, 1e-310, 2.0, 4.0]);
        assert_eq!(ls.valid(), 3);
        assert!((ls.total() - 8f64.ln()).abs() < 1e-15);
    }
}
