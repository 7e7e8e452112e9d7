//! One Monte Carlo block: samples drawn from its own Philox stream, summarised
//! as (count, mean, M2) (numeric kernel layer).
//!
//! Block `b` of `block_size` samples in `dims` dimensions uses uniform words
//! `k = i * dims + d` (sample `i` within the block, dimension `d`) of Philox
//! stream `b` (see [`crate::numeric::philox`]). Samples are processed in
//! chunks of [`CHUNK`]: each chunk is summarised with a two-pass mean/M2 and
//! the chunks are merged in order with the Chan-Golub-LeVeque update, so the
//! block result depends on nothing but (seed, b, block length). The CUDA
//! kernel follows the same chunking.

use crate::numeric::integrands::Integrand;
use crate::numeric::moments::Moments;
use crate::numeric::philox::{fill_planar, GROUP_WORDS, LANES};

/// Samples per chunk. A multiple of 4, so every chunk starts on a fresh
/// Philox call whatever the dimension count.
pub const CHUNK: usize = 256;

/// The geometry and stream of an integration, shared by every block.
#[derive(Clone, Debug)]
pub struct McProblem {
    /// The function integrated.
    pub integrand: Integrand,
    /// Lower bound of each dimension.
    pub lo: Vec<f64>,
    /// Upper minus lower bound of each dimension.
    pub width: Vec<f64>,
    /// Philox key derived from the seed ([`crate::numeric::philox::seed_key`]).
    pub key: [u32; 2],
}

impl McProblem {
    /// The problem of integrating `integrand` over the box `bounds` (one `(lower, upper)`
    /// pair per dimension) with the streams of `seed`.
    pub fn new(integrand: Integrand, bounds: &[(f64, f64)], seed: u64) -> Self {
        McProblem {
            integrand,
            lo: bounds.iter().map(|b| b.0).collect(),
            width: bounds.iter().map(|b| b.1 - b.0).collect(),
            key: crate::numeric::philox::seed_key(seed),
        }
    }

    /// Number of dimensions.
    pub fn dims(&self) -> usize {
        self.lo.len()
    }

    /// Volume of the integration box (product of the widths), which scales the mean to
    /// the integral.
    pub fn volume(&self) -> f64 {
        self.width.iter().product()
    }
}

/// Per-thread buffers for [`block_moments`], so a block allocates nothing.
pub struct BlockScratch {
    planar: Vec<u32>,
    words: Vec<u32>,
    values: Vec<f64>,
}

impl BlockScratch {
    /// Buffers for one chunk of `dims`-dimensional samples.
    pub fn new(dims: usize) -> Self {
        BlockScratch {
            planar: vec![0; CHUNK * dims],
            words: vec![0; CHUNK * dims],
            values: vec![0.0; CHUNK],
        }
    }
}

crate::numeric::simd::dispatch! {
/// Moments of `f(x)` over the `len` samples of block `block`. Compiled per
/// instruction set by `simd::dispatch!` and picked at run time; Rust never
/// contracts `a * b + c` into an FMA, so every variant gives the same bits.
pub fn block_moments(p: &McProblem, block: u64, len: u64, scratch: &mut BlockScratch) -> Moments {
    let dims = p.dims();
    let mut acc = Moments::EMPTY;
    let mut start = 0u64;
    while start < len {
        let n = (len - start).min(CHUNK as u64) as usize;
        // whole groups of calls; a short last chunk ignores the extra words
        let words = (n * dims).div_ceil(GROUP_WORDS) * GROUP_WORDS;
        let first_call = start * dims as u64 / 4;
        fill_planar(p.key, block, first_call, &mut scratch.planar[..words]);
        let values = &mut scratch.values[..n];
        // planar order is a permutation of a whole chunk only
        if 4 % dims == 0 && n == CHUNK {
            p.integrand
                .eval_planar(&p.lo, &p.width, &scratch.planar[..words], values);
        } else {
            let seq = &mut scratch.words[..n * dims];
            planar_to_sequential(&scratch.planar[..words], seq);
            p.integrand.eval_points(&p.lo, &p.width, seq, values);
        }
        acc = acc.merge(&Moments::from_slice(values));
        start += n as u64;
    }
    acc
}
}

/// Reorders planar groups (see [`fill_planar`]) into stream order: word
/// `k` is word `k % 4` of call `k / 4`.
#[inline(always)]
fn planar_to_sequential(planar: &[u32], seq: &mut [u32]) {
    for (k, w) in seq.iter_mut().enumerate() {
        let call = k / 4;
        *w = planar[(call / LANES) * GROUP_WORDS + (k % 4) * LANES + call % LANES];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::philox::{philox4x32_10, word_to_unit};

    /// The stream convention written out naively: one Philox call per four
    /// words, Welford's one-pass update per sample.
    fn naive_block(p: &McProblem, block: u64, len: u64) -> (f64, f64) {
        let dims = p.dims() as u64;
        let word = |k: u64| {
            let j = k / 4;
            philox4x32_10(
                [
                    j as u32,
                    (j >> 32) as u32,
                    block as u32,
                    (block >> 32) as u32,
                ],
                p.key,
            )[(k % 4) as usize]
        };
        let (mut mean, mut m2) = (0.0f64, 0.0f64);
        let mut words = vec![0u32; dims as usize];
        let mut f = [0.0];
        for i in 0..len {
            for d in 0..dims {
                words[d as usize] = word(i * dims + d);
            }
            p.integrand.eval_points(&p.lo, &p.width, &words, &mut f);
            let delta = f[0] - mean;
            mean += delta / (i + 1) as f64;
            m2 += delta * (f[0] - mean);
        }
        (mean, m2)
    }

    #[test]
    fn block_matches_naive_stream_and_welford() {
        for dims in [1usize, 2, 3, 5] {
            let bounds = vec![(-1.0, 2.0); dims];
            let p = McProblem::new(Integrand::Norm2, &bounds, 1234);
            let mut s = BlockScratch::new(dims);
            for len in [1u64, 3, 256, 1000] {
                let m = block_moments(&p, 77, len, &mut s);
                let (mean, m2) = naive_block(&p, 77, len);
                assert_eq!(m.count, len);
                assert!(
                    (m.mean - mean).abs() <= 1e-13 * mean.abs(),
                    "dims {dims} len {len}"
                );
                assert!(
                    (m.m2 - m2).abs() <= 1e-10 * m2.abs().max(1e-300),
                    "dims {dims} len {len}"
                );
            }
        }
    }

    #[test]
    fn first_sample_uses_first_words() {
        let p = McProblem::new(Integrand::Norm2, &[(0.0, 1.0), (0.0, 1.0)], 0);
        let mut s = BlockScratch::new(2);
        let m = block_moments(&p, 0, 1, &mut s);
        let w = philox4x32_10([0, 0, 0, 0], [0, 0]);
        let x = word_to_unit(w[0]);
        let y = word_to_unit(w[1]);
        assert_eq!(m.mean, x * x + y * y);
    }
}
