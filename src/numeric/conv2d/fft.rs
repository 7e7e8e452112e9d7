//! FFT convolution of one output tile by 2-D overlap-save (numeric kernel layer).
//!
//! The tile's output is cut into blocks of `m1 x m2 = (n1-kh+1) x (n2-kw+1)` pixels; for each
//! block an `n1 x n2` patch of the extended input `E` (boundary rule applied, zero beyond what
//! the tile needs) is transformed (real FFT along rows, complex FFT along columns on the
//! transposed half-spectrum), multiplied by the cached kernel spectrum (pre-scaled by
//! `1/(n1 n2)`), transformed back, and the alias-free part (`u >= kh-1, v >= kw-1`) is the
//! linear convolution. Sizes are `2^a 3^b`, chosen by a cost model (see [`choose_block`]).
//! Plans (realfft/rustfft planners), kernel spectra and buffers live in [`FftCache`],
//! which the caller keeps (one per worker thread).

use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::geometry::{Boundary, Region, Shape2};
use super::pad::fill_ext;
use super::real::Real;

/// Relative cost of the non-FFT work per block pixel (fill, transposes, spectrum product),
/// in units of one `log2` step of the FFT cost (measured together with [`super::CostModel`]).
const BLOCK_EXTRA: f64 = 6.0;
/// Largest transform edge considered unless the kernel itself is larger.
const MAX_EDGE: usize = 1024;

struct Spectrum<T> {
    n1: usize,
    n2: usize,
    kshape: Shape2,
    kernel: Vec<T>,
    /// transposed layout: `spec[c * n1 + r]`, `c < n2/2+1`
    spec: Vec<Complex<T>>,
}

struct Plans<T: Real> {
    n1: usize,
    n2: usize,
    r2c: Arc<dyn RealToComplex<T>>,
    c2r: Arc<dyn ComplexToReal<T>>,
    fwd: Arc<dyn Fft<T>>,
    inv: Arc<dyn Fft<T>>,
}

/// FFT plans, kernel spectra and work buffers. Keep one per worker and reuse it across tiles:
/// plans and the kernel spectrum are computed once per (block size, kernel).
pub struct FftCache<T: Real> {
    plans: Vec<Plans<T>>,
    spectra: Vec<Spectrum<T>>,
    xbuf: Vec<T>,
    rowspec: Vec<Complex<T>>,
    spec: Vec<Complex<T>>,
    rscratch: Vec<Complex<T>>,
    cscratch: Vec<Complex<T>>,
}

impl<T: Real> Default for FftCache<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> FftCache<T> {
    /// An empty cache: no plans, spectra or buffers until the first tile.
    pub fn new() -> Self {
        FftCache {
            plans: Vec::new(),
            spectra: Vec::new(),
            xbuf: Vec::new(),
            rowspec: Vec::new(),
            spec: Vec::new(),
            rscratch: Vec::new(),
            cscratch: Vec::new(),
        }
    }

    fn plans(&mut self, n1: usize, n2: usize) -> usize {
        if let Some(i) = self.plans.iter().position(|p| p.n1 == n1 && p.n2 == n2) {
            return i;
        }
        // fresh planners: a planner's cache of sub-plans makes the algorithm it picks for a
        // size depend on the sizes planned before, and with it the last bits of a tile
        let (mut rplanner, mut cplanner) = (RealFftPlanner::new(), FftPlanner::new());
        let p = Plans {
            n1,
            n2,
            r2c: rplanner.plan_fft_forward(n2),
            c2r: rplanner.plan_fft_inverse(n2),
            fwd: cplanner.plan_fft_forward(n1),
            inv: cplanner.plan_fft_inverse(n1),
        };
        if self.plans.len() >= 8 {
            self.plans.remove(0);
        }
        self.plans.push(p);
        self.plans.len() - 1
    }

    fn ensure_buffers(&mut self, pi: usize) {
        let p = &self.plans[pi];
        let (n1, n2) = (p.n1, p.n2);
        let h = n2 / 2 + 1;
        let rs = p.r2c.get_scratch_len().max(p.c2r.get_scratch_len());
        let cs = p
            .fwd
            .get_inplace_scratch_len()
            .max(p.inv.get_inplace_scratch_len());
        grow(&mut self.xbuf, n1 * n2, T::zero());
        grow(&mut self.rowspec, h, Complex::default());
        grow(&mut self.spec, h * n1, Complex::default());
        grow(&mut self.rscratch, rs, Complex::default());
        grow(&mut self.cscratch, cs, Complex::default());
    }

    /// Forward 2-D transform of `xbuf` (`n1 x n2`, only the first `vr` rows non-zero) into `spec`.
    fn forward(&mut self, pi: usize, vr: usize) {
        let p = &self.plans[pi];
        let (n1, n2) = (p.n1, p.n2);
        let h = n2 / 2 + 1;
        let spec = &mut self.spec[..h * n1];
        for r in 0..vr {
            let row = &mut self.xbuf[r * n2..(r + 1) * n2];
            p.r2c
                .process_with_scratch(row, &mut self.rowspec[..h], &mut self.rscratch)
                .expect("r2c");
            for (c, v) in self.rowspec[..h].iter().enumerate() {
                spec[c * n1 + r] = *v;
            }
        }
        if vr < n1 {
            for c in 0..h {
                spec[c * n1 + vr..(c + 1) * n1].fill(Complex::default());
            }
        }
        p.fwd.process_with_scratch(spec, &mut self.cscratch);
    }

    fn spectrum(&mut self, pi: usize, kernel: &[T], kshape: Shape2) -> usize {
        let (n1, n2) = (self.plans[pi].n1, self.plans[pi].n2);
        if let Some(i) = self
            .spectra
            .iter()
            .position(|s| s.n1 == n1 && s.n2 == n2 && s.kshape == kshape && s.kernel == kernel)
        {
            return i;
        }
        self.ensure_buffers(pi);
        let x = &mut self.xbuf[..n1 * n2];
        x.fill(T::zero());
        for p in 0..kshape.rows {
            x[p * n2..p * n2 + kshape.cols]
                .copy_from_slice(&kernel[p * kshape.cols..(p + 1) * kshape.cols]);
        }
        self.forward(pi, kshape.rows);
        let scale = T::of_f64(1.0 / (n1 as f64 * n2 as f64));
        let h = n2 / 2 + 1;
        let spec: Vec<Complex<T>> = self.spec[..h * n1].iter().map(|v| *v * scale).collect();
        if self.spectra.len() >= 4 {
            self.spectra.remove(0);
        }
        self.spectra.push(Spectrum {
            n1,
            n2,
            kshape,
            kernel: kernel.to_vec(),
            spec,
        });
        self.spectra.len() - 1
    }
}

fn grow<V: Clone>(v: &mut Vec<V>, n: usize, z: V) {
    if v.len() < n {
        v.resize(n, z);
    }
}

/// Transform sizes of the form `2^a 3^b` in `[lo, hi]` (ascending).
fn smooth_sizes(lo: usize, hi: usize) -> Vec<usize> {
    let mut v = Vec::new();
    let mut p2 = 1usize;
    while p2 <= hi {
        let mut p = p2;
        while p <= hi {
            if p >= lo {
                v.push(p);
            }
            p *= 3;
        }
        p2 *= 2;
    }
    v.sort_unstable();
    v
}

/// Smallest `2^a 3^b >= n`.
fn next_smooth(n: usize) -> usize {
    let mut best = usize::MAX;
    let mut p2 = 1usize;
    loop {
        let mut p = p2;
        while p < n {
            p *= 3;
        }
        best = best.min(p);
        if p2 >= n {
            break;
        }
        p2 *= 2;
    }
    best
}

/// Per-axis candidates `n` with `k <= n`, up to a single block covering the tile.
fn axis_candidates(out: usize, k: usize) -> Vec<usize> {
    let single = next_smooth(out + k - 1);
    let hi = single.min(MAX_EDGE.max(next_smooth(k)));
    let mut c = smooth_sizes(k.max(2), hi);
    if !c.contains(&single) && single <= 4 * MAX_EDGE {
        c.push(single);
    }
    c
}

/// Estimated FFT work (abstract units, `n log2 n` per transform pixel plus [`BLOCK_EXTRA`]).
pub(crate) fn fft_cost_units(oshape: Shape2, kshape: Shape2, n1: usize, n2: usize) -> f64 {
    let m1 = n1 - kshape.rows + 1;
    let m2 = n2 - kshape.cols + 1;
    let nb = (oshape.rows.div_ceil(m1) * oshape.cols.div_ceil(m2)) as f64;
    let area = (n1 * n2) as f64;
    nb * area * (area.log2() + BLOCK_EXTRA)
}

/// Choose the overlap-save transform size `(n1, n2)` minimising [`fft_cost_units`].
pub(crate) fn choose_block(oshape: Shape2, kshape: Shape2) -> (usize, usize, f64) {
    let mut best = (0, 0, f64::INFINITY);
    for &n1 in &axis_candidates(oshape.rows, kshape.rows) {
        for &n2 in &axis_candidates(oshape.cols, kshape.cols) {
            let c = fft_cost_units(oshape, kshape, n1, n2);
            if c < best.2 {
                best = (n1, n2, c);
            }
        }
    }
    best
}

/// FFT convolution of one output tile: `out[i][j] = sum k[p][q] E[er0+i+kh-1-p][ec0+j+kw-1-q]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fft_tile<T: Real>(
    src: &[T],
    sw: Region,
    image: Shape2,
    boundary: Boundary,
    kernel: &[T],
    kshape: Shape2,
    er0: isize,
    ec0: isize,
    out: &mut [T],
    oshape: Shape2,
    cache: &mut FftCache<T>,
) {
    let (kh, kw) = (kshape.rows, kshape.cols);
    let (n1, n2, _) = choose_block(oshape, kshape);
    let (m1, m2) = (n1 - kh + 1, n2 - kw + 1);
    let h = n2 / 2 + 1;
    let pi = cache.plans(n1, n2);
    cache.ensure_buffers(pi);
    let si = cache.spectrum(pi, kernel, kshape);
    for bi in (0..oshape.rows).step_by(m1) {
        let orows = m1.min(oshape.rows - bi);
        let vr = orows + kh - 1;
        for bj in (0..oshape.cols).step_by(m2) {
            let ocols = m2.min(oshape.cols - bj);
            let vc = ocols + kw - 1;
            {
                let x = &mut cache.xbuf[..n1 * n2];
                fill_ext(
                    src,
                    sw,
                    image,
                    boundary,
                    er0 + bi as isize,
                    ec0 + bj as isize,
                    vr,
                    vc,
                    x,
                    n2,
                );
                if vc < n2 {
                    for r in 0..vr {
                        x[r * n2 + vc..(r + 1) * n2].fill(T::zero());
                    }
                }
            }
            cache.forward(pi, vr);
            let FftCache {
                plans,
                spectra,
                xbuf,
                rowspec,
                spec,
                rscratch,
                cscratch,
                ..
            } = cache;
            let p = &plans[pi];
            let spec = &mut spec[..h * n1];
            for (a, b) in spec.iter_mut().zip(&spectra[si].spec) {
                *a = *a * *b;
            }
            p.inv.process_with_scratch(spec, cscratch);
            let row = &mut xbuf[..n2];
            for u in kh - 1..kh - 1 + orows {
                for (c, v) in rowspec[..h].iter_mut().enumerate() {
                    *v = spec[c * n1 + u];
                }
                rowspec[0].im = T::zero();
                if n2 % 2 == 0 {
                    rowspec[h - 1].im = T::zero();
                }
                p.c2r
                    .process_with_scratch(&mut rowspec[..h], row, rscratch)
                    .expect("c2r");
                let o = (bi + u - (kh - 1)) * oshape.cols + bj;
                out[o..o + ocols].copy_from_slice(&row[kw - 1..kw - 1 + ocols]);
            }
        }
    }
}
