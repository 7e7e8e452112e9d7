//! Philox4x32-10 counter-based random numbers (numeric kernel layer; Salmon,
//! Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3", SC'11).
//!
//! A counter-based generator maps (counter, key) to random words with no
//! state, so any item of a decomposition draws its own numbers whatever the
//! split: this makes tessera's output independent of ranks and threads.
//! Stream convention (shared with `kernels/montecarlo.cu`): uniform number `k`
//! of item (block) `b` under seed `s` is word `k mod 4` of
//! `philox4x32_10([j_lo, j_hi, b_lo, b_hi], [s_lo, s_hi])` with `j = k / 4`;
//! word `x` becomes the double `(x + 0.5) * 2^-32`, strictly inside (0, 1)
//! and exact in f64.

/// Multipliers and Weyl key increments from Random123 (`philox.h`).
const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// Number of lanes processed together by [`fill_words`]; wide enough for one
/// AVX-512 register of 32-bit words.
pub const LANES: usize = 16;

/// `2^-32`: converts a 32-bit word to a uniform in [0, 1).
pub const TWO_POW_M32: f64 = 1.0 / 4_294_967_296.0;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// One Philox4x32-10 evaluation: ten rounds with the key bumped between rounds.
#[inline]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let (hi0, lo0) = mulhilo(PHILOX_M0, c[0]);
        let (hi1, lo1) = mulhilo(PHILOX_M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The Philox key of a seed.
#[inline]
pub fn seed_key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Fills `out` with the words of calls `first_call, first_call + 1, ...` of
/// stream `stream` (4 words per call, in order). `out.len()` need not be a
/// multiple of 4: the tail of the last call is dropped.
pub fn fill_words(key: [u32; 2], stream: u64, first_call: u64, out: &mut [u32]) {
    let mut planar = [0u32; GROUP_WORDS];
    let mut call = first_call;
    for chunk in out.chunks_mut(GROUP_WORDS) {
        fill_planar(key, stream, call, &mut planar);
        for (k, w) in chunk.iter_mut().enumerate() {
            *w = planar[(k % 4) * LANES + k / 4];
        }
        call = call.wrapping_add(LANES as u64);
    }
}

/// Words per group of [`LANES`] calls.
pub const GROUP_WORDS: usize = 4 * LANES;

/// Fills `out` (a multiple of [`GROUP_WORDS`] long) with groups of
/// [`LANES`] consecutive calls in planar order: within group `g`, word `w`
/// of call `first_call + 16 g + l` is at `out[64 g + 16 w + l]`. Planar
/// groups let the integrand read each coordinate as a contiguous vector.
///
/// Uses hand-written AVX-512 when the CPU has it, else a portable loop compiled
/// per instruction set by `simd::dispatch!`; all paths give the same words.
pub fn fill_planar(key: [u32; 2], stream: u64, first_call: u64, out: &mut [u32]) {
    assert!(
        out.len().is_multiple_of(GROUP_WORDS),
        "planar buffer must hold whole groups"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            unsafe { avx512::fill_planar(key, stream, first_call, out) };
            return;
        }
    }
    fill_planar_portable(key, stream, first_call, out);
}

crate::numeric::simd::dispatch! {
fn fill_planar_portable(key: [u32; 2], stream: u64, first_call: u64, out: &mut [u32]) {
    let b_lo = stream as u32;
    let b_hi = (stream >> 32) as u32;
    for (g, group) in out.chunks_exact_mut(GROUP_WORDS).enumerate() {
        let j0 = first_call.wrapping_add((g * LANES) as u64);
        let mut c0 = [0u32; LANES];
        let mut c1 = [0u32; LANES];
        let mut c2 = [b_lo; LANES];
        let mut c3 = [b_hi; LANES];
        for l in 0..LANES {
            let j = j0.wrapping_add(l as u64);
            c0[l] = j as u32;
            c1[l] = (j >> 32) as u32;
        }
        let mut k0 = key[0];
        let mut k1 = key[1];
        for round in 0..10 {
            if round > 0 {
                k0 = k0.wrapping_add(PHILOX_W0);
                k1 = k1.wrapping_add(PHILOX_W1);
            }
            for l in 0..LANES {
                let p0 = u64::from(PHILOX_M0) * u64::from(c0[l]);
                let p1 = u64::from(PHILOX_M1) * u64::from(c2[l]);
                let n0 = ((p1 >> 32) as u32) ^ c1[l] ^ k0;
                let n2 = ((p0 >> 32) as u32) ^ c3[l] ^ k1;
                c1[l] = p1 as u32;
                c3[l] = p0 as u32;
                c0[l] = n0;
                c2[l] = n2;
            }
        }
        group[..LANES].copy_from_slice(&c0);
        group[LANES..2 * LANES].copy_from_slice(&c1);
        group[2 * LANES..3 * LANES].copy_from_slice(&c2);
        group[3 * LANES..].copy_from_slice(&c3);
    }
}
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;
    use std::arch::x86_64::*;

    /// 32x32 -> 64-bit products of all 16 lanes by `m`, split into the high
    /// and low 32-bit halves (vpmuludq handles the even lanes; the odd lanes
    /// are shifted down first).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn mulhilo16(m: __m512i, x: __m512i) -> (__m512i, __m512i) {
        let even = _mm512_mul_epu32(x, m);
        let odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(x), m);
        let hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64::<32>(even), odd);
        let lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64::<32>(odd));
        (hi, lo)
    }

    /// # Safety
    /// The CPU must support AVX-512F; `out.len()` is a multiple of 64.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fill_planar(key: [u32; 2], stream: u64, first_call: u64, out: &mut [u32]) {
        // Two groups advance together: their rounds are independent, so the
        // multiplier latency of one hides behind the other's work.
        const G: usize = 2;
        let mut pairs = out.chunks_exact_mut(G * GROUP_WORDS);
        let mut call = first_call;
        for pair in &mut pairs {
            // SAFETY: the caller guarantees AVX-512F; `pair` holds G groups.
            unsafe { rounds::<G>(key, stream, call, pair) };
            call = call.wrapping_add((G * LANES) as u64);
        }
        for group in pairs.into_remainder().chunks_exact_mut(GROUP_WORDS) {
            // SAFETY: as above, one group.
            unsafe { rounds::<1>(key, stream, call, group) };
            call = call.wrapping_add(LANES as u64);
        }
    }

    /// Philox4x32-10 on `N` consecutive groups of 16 calls starting at
    /// `first_call`, stored planar into `out` (`N * 64` words).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn rounds<const N: usize>(key: [u32; 2], stream: u64, first_call: u64, out: &mut [u32]) {
        let m0 = _mm512_set1_epi64(i64::from(PHILOX_M0));
        let m1 = _mm512_set1_epi64(i64::from(PHILOX_M1));
        let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let zero = _mm512_setzero_si512();
        let mut c = [[zero; 4]; N];
        for (g, cg) in c.iter_mut().enumerate() {
            let j0 = first_call.wrapping_add((g * LANES) as u64);
            let lo0 = _mm512_set1_epi32(j0 as u32 as i32);
            let c0 = _mm512_add_epi32(lo0, lane);
            // high word: j0's high word plus a carry where the low word wrapped
            let carry = _mm512_cmplt_epu32_mask(c0, lo0);
            let hi0 = _mm512_set1_epi32((j0 >> 32) as u32 as i32);
            let c1 = _mm512_mask_add_epi32(hi0, carry, hi0, _mm512_set1_epi32(1));
            *cg = [
                c0,
                c1,
                _mm512_set1_epi32(stream as u32 as i32),
                _mm512_set1_epi32((stream >> 32) as u32 as i32),
            ];
        }
        let mut k0 = key[0];
        let mut k1 = key[1];
        for round in 0..10 {
            if round > 0 {
                k0 = k0.wrapping_add(PHILOX_W0);
                k1 = k1.wrapping_add(PHILOX_W1);
            }
            let kk0 = _mm512_set1_epi32(k0 as i32);
            let kk1 = _mm512_set1_epi32(k1 as i32);
            for cg in c.iter_mut() {
                let (hi0, lo0) = mulhilo16(m0, cg[0]);
                let (hi1, lo1) = mulhilo16(m1, cg[2]);
                // 0x96 = a ^ b ^ c
                *cg = [
                    _mm512_ternarylogic_epi32::<0x96>(hi1, cg[1], kk0),
                    lo1,
                    _mm512_ternarylogic_epi32::<0x96>(hi0, cg[3], kk1),
                    lo0,
                ];
            }
        }
        let p = out.as_mut_ptr() as *mut __m512i;
        for (g, cg) in c.iter().enumerate() {
            for (w, v) in cg.iter().enumerate() {
                // SAFETY: `out` holds N * 4 vectors of 16 u32; unaligned store.
                unsafe { _mm512_storeu_si512(p.add(4 * g + w), *v) };
            }
        }
    }
}

/// Converts a Philox word to a double strictly inside (0, 1): the midpoint of
/// the word's cell, so the 2^32-point grid is symmetric and never hits 0 or 1.
#[inline(always)]
pub fn word_to_unit(x: u32) -> f64 {
    (f64::from(x) + 0.5) * TWO_POW_M32
}

/// A sequential Philox stream with the `rand` traits, for generators that
/// want distributions (synthetic data): stream `stream` under `seed`, words in
/// the same order as [`fill_words`].
#[derive(Clone, Debug)]
pub struct PhiloxStream {
    key: [u32; 2],
    stream: u64,
    call: u64,
    buf: [u32; 4],
    used: usize,
}

impl PhiloxStream {
    /// Stream `stream` under `seed`, positioned at its first word.
    pub fn new(seed: u64, stream: u64) -> Self {
        Self {
            key: seed_key(seed),
            stream,
            call: 0,
            buf: [0; 4],
            used: 4,
        }
    }

    #[inline]
    fn next_word(&mut self) -> u32 {
        if self.used == 4 {
            let j = self.call;
            self.buf = philox4x32_10(
                [
                    j as u32,
                    (j >> 32) as u32,
                    self.stream as u32,
                    (self.stream >> 32) as u32,
                ],
                self.key,
            );
            self.call += 1;
            self.used = 0;
        }
        let w = self.buf[self.used];
        self.used += 1;
        w
    }

    /// A uniform double in (0, 1) from one word, as in the Monte Carlo job.
    #[inline]
    pub fn next_unit(&mut self) -> f64 {
        word_to_unit(self.next_word())
    }
}

impl rand::TryRng for PhiloxStream {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.next_word())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let lo = u64::from(self.next_word());
        Ok(lo | (u64::from(self.next_word()) << 32))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(4) {
            let w = self.next_word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors from Random123's `kat_vectors` (philox4x32 10).
    const KAT: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0, 0, 0, 0],
            [0, 0],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];

    #[test]
    fn random123_known_answers() {
        for (ctr, key, want) in KAT {
            assert_eq!(
                philox4x32_10(ctr, key),
                want,
                "ctr {ctr:08x?} key {key:08x?}"
            );
        }
    }

    #[test]
    fn vector_fill_matches_scalar_including_tails_and_carries() {
        let key = [0xa4093822, 0x299f31d0];
        let stream = 0x0370_7344_1319_8a2e_u64;
        // start just below a 2^32 boundary so the counter's high word carries
        let first = (1u64 << 32) - 7;
        for len in [0, 1, 3, 4, 5, 63, 64, 65, 200, 257] {
            let mut out = vec![0u32; len];
            fill_words(key, stream, first, &mut out);
            for (k, &w) in out.iter().enumerate() {
                let j = first + (k / 4) as u64;
                let want = philox4x32_10(
                    [
                        j as u32,
                        (j >> 32) as u32,
                        stream as u32,
                        (stream >> 32) as u32,
                    ],
                    key,
                );
                assert_eq!(w, want[k % 4], "len {len} word {k}");
            }
        }
    }

    #[test]
    fn planar_paths_match_scalar() {
        let key = [7, 0xdead_beef];
        let stream = 3u64 << 32 | 5;
        let first = (1u64 << 32) - 20; // the group straddles a high-word carry
        let mut fast = vec![0u32; 3 * GROUP_WORDS];
        let mut portable = vec![0u32; 3 * GROUP_WORDS];
        fill_planar(key, stream, first, &mut fast);
        fill_planar_portable(key, stream, first, &mut portable);
        assert_eq!(fast, portable);
        for g in 0..3 {
            for l in 0..LANES {
                let j = first + (g * LANES + l) as u64;
                let want = philox4x32_10(
                    [
                        j as u32,
                        (j >> 32) as u32,
                        stream as u32,
                        (stream >> 32) as u32,
                    ],
                    key,
                );
                for w in 0..4 {
                    assert_eq!(fast[g * GROUP_WORDS + w * LANES + l], want[w]);
                }
            }
        }
    }

    #[test]
    fn kat_through_the_stream_convention() {
        // counter [j_lo, j_hi, b_lo, b_hi] = the third KAT counter
        let (ctr, key, want) = KAT[2];
        let j = u64::from(ctr[0]) | (u64::from(ctr[1]) << 32);
        let b = u64::from(ctr[2]) | (u64::from(ctr[3]) << 32);
        let mut out = [0u32; 4];
        fill_words(key, b, j, &mut out);
        assert_eq!(out, want);
    }

    #[test]
    fn unit_conversion_stays_inside_the_open_interval() {
        assert!(word_to_unit(0) > 0.0);
        assert!(word_to_unit(u32::MAX) < 1.0);
        assert_eq!(word_to_unit(0) + word_to_unit(u32::MAX), 1.0);
    }

    #[test]
    fn stream_words_follow_fill_words() {
        let mut s = PhiloxStream::new(42, 9);
        let mut direct = [0u32; 10];
        fill_words(seed_key(42), 9, 0, &mut direct);
        for &w in &direct {
            assert_eq!(s.next_word(), w);
        }
    }
}
