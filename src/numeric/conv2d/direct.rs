//! Direct (spatial) convolution, written for auto-vectorisation (numeric kernel layer).
//!
//! The output tile is processed in sub-blocks of `BLOCK_ROWS x BLOCK_COLS` pixels; for each,
//! the needed part of the extended input `E` is synthesised once into scratch, then a
//! register-blocked micro-kernel computes `R` output rows x `B` output columns at a time.
//!
//! Every output pixel is accumulated in the same order (kernel row ascending, then kernel
//! column ascending, flipped kernel) whatever the tile/sub-block/row-block geometry, and the
//! pad values are a pure function of image coordinates, so tiled results are bit-identical
//! to whole-image results (on one machine/dispatch path). Compiled per instruction set by
//! `numeric::simd::dispatch!`: variants with the `fma` target feature use fused
//! multiply-add, the others separate mul + add.

use multiversion::target::target_cfg_f;

use super::geometry::{Boundary, Region, Shape2};
use super::pad::fill_ext;
use super::real::Real;

/// Output rows per synthesised sub-block.
const BLOCK_ROWS: usize = 64;
/// Target output columns per synthesised sub-block (rounded to the vector block).
const BLOCK_COLS: usize = 512;
/// Output rows computed together by the micro-kernel.
const R: usize = 4;
/// 512-bit vectors per micro-kernel row.
const NV: usize = 4;

/// Number of columns computed per micro-kernel call: 2 x 512-bit vectors.
#[inline(always)]
fn vec_block<T: Real>() -> usize {
    NV * T::LANES_512
}

/// Direct convolution of one output tile.
///
/// `kflip` is the kernel flipped in both axes (`kflip[p][q] = k[kh-1-p][kw-1-q]`), so that
/// `out[i][j] = sum kflip[p][q] * E[er0 + i + p][ec0 + j + q]` where `(er0, ec0)` is the
/// extended coordinate of the tile's first needed input pixel.
#[allow(clippy::too_many_arguments)]
pub(crate) fn direct_tile<T: Real>(
    src: &[T],
    sw: Region,
    image: Shape2,
    boundary: Boundary,
    kflip: &[T],
    kshape: Shape2,
    er0: isize,
    ec0: isize,
    out: &mut [T],
    oshape: Shape2,
    scratch: &mut Vec<T>,
) {
    let (kh, kw) = (kshape.rows, kshape.cols);
    let vb = vec_block::<T>();
    let bc_max = BLOCK_COLS.div_ceil(vb) * vb;
    for br in (0..oshape.rows).step_by(BLOCK_ROWS) {
        let nr = BLOCK_ROWS.min(oshape.rows - br);
        for bc in (0..oshape.cols).step_by(bc_max) {
            let nc = bc_max.min(oshape.cols - bc);
            let ncp = nc.div_ceil(vb) * vb;
            let prow = nr + kh - 1;
            let pstride = ncp + kw - 1;
            let need = prow * pstride;
            if scratch.len() < need {
                scratch.resize(need, T::zero());
            }
            let pad = &mut scratch[..need];
            let valid_cols = nc + kw - 1;
            fill_ext(
                src,
                sw,
                image,
                boundary,
                er0 + br as isize,
                ec0 + bc as isize,
                prow,
                valid_cols,
                pad,
                pstride,
            );
            if pstride > valid_cols {
                for r in 0..prow {
                    pad[r * pstride + valid_cols..(r + 1) * pstride].fill(T::zero());
                }
            }
            let ostride = oshape.cols;
            let o = &mut out[br * ostride + bc..];
            #[cfg(target_arch = "x86_64")]
            if avx512::available() {
                avx512::conv_block(pad, pstride, kflip, kh, kw, o, ostride, nr, nc);
                continue;
            }
            if T::LANES_512 == 16 {
                conv_block::<T, { 16 * NV }>(pad, pstride, kflip, kh, kw, o, ostride, nr, nc);
            } else {
                conv_block::<T, { 8 * NV }>(pad, pstride, kflip, kh, kw, o, ostride, nr, nc);
            }
        }
    }
}

crate::numeric::simd::dispatch! {
#[allow(clippy::too_many_arguments)]
fn conv_block<T: Real, const B: usize>(
    pad: &[T],
    pstride: usize,
    kf: &[T],
    kh: usize,
    kw: usize,
    out: &mut [T],
    ostride: usize,
    rows: usize,
    cols: usize,
) {
    if target_cfg_f!(target_feature = "fma") {
        conv_block_impl::<T, B, true>(pad, pstride, kf, kh, kw, out, ostride, rows, cols)
    } else {
        conv_block_impl::<T, B, false>(pad, pstride, kf, kh, kw, out, ostride, rows, cols)
    }
}
}

#[inline(always)]
fn mac<T: Real, const FUSED: bool>(w: T, x: T, acc: T) -> T {
    if FUSED {
        w.mul_add(x, acc)
    } else {
        w * x + acc
    }
}

/// The micro-kernel: keeps the `R*B` accumulators in vector registers and, for every pad row
/// and kernel column, loads one shifted `B`-wide slice of the pad row and does a
/// broadcast-scalar multiply-add into each of the (up to `R`) output rows that use this pad
/// row. The pad columns are padded to a whole number of vector blocks.
///
/// `pad` must hold `rows + kh - 1` rows of at least `round_up(cols, B) + kw - 1` columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn conv_block_impl<T: Real, const B: usize, const FUSED: bool>(
    pad: &[T],
    pstride: usize,
    kf: &[T],
    kh: usize,
    kw: usize,
    out: &mut [T],
    ostride: usize,
    rows: usize,
    cols: usize,
) {
    let mut i = 0;
    while i + R <= rows {
        row_block::<T, B, FUSED, R>(pad, pstride, kf, kh, kw, out, ostride, i, cols);
        i += R;
    }
    while i < rows {
        row_block::<T, B, FUSED, 1>(pad, pstride, kf, kh, kw, out, ostride, i, cols);
        i += 1;
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn row_block<T: Real, const B: usize, const FUSED: bool, const RR: usize>(
    pad: &[T],
    pstride: usize,
    kf: &[T],
    kh: usize,
    kw: usize,
    out: &mut [T],
    ostride: usize,
    i: usize,
    cols: usize,
) {
    let mut jb = 0;
    while jb < cols {
        let mut acc = [[T::zero(); B]; RR];
        for pr in 0..kh + RR - 1 {
            let prow = &pad[(i + pr) * pstride + jb..(i + pr) * pstride + jb + B + kw - 1];
            // output rows s with kernel row p = pr - s in [0, kh)
            let s_lo = (pr + 1).saturating_sub(kh);
            let s_hi = RR.min(pr + 1);
            if s_hi - s_lo == RR {
                // all RR rows active (interior): one load feeds RR FMAs
                for q in 0..kw {
                    let x: &[T; B] = prow[q..q + B].try_into().unwrap();
                    for s in 0..RR {
                        let w = kf[(pr - s) * kw + q];
                        let a = &mut acc[s];
                        for l in 0..B {
                            a[l] = mac::<T, FUSED>(w, x[l], a[l]);
                        }
                    }
                }
            } else {
                // constant `s` indices keep the accumulators in registers
                for s in 0..RR {
                    if s < s_lo || s >= s_hi {
                        continue;
                    }
                    let krow = &kf[(pr - s) * kw..(pr - s + 1) * kw];
                    let a = &mut acc[s];
                    for (q, &w) in krow.iter().enumerate() {
                        let x: &[T; B] = prow[q..q + B].try_into().unwrap();
                        for l in 0..B {
                            a[l] = mac::<T, FUSED>(w, x[l], a[l]);
                        }
                    }
                }
            }
        }
        let n = B.min(cols - jb);
        for (s, a) in acc.iter().enumerate() {
            let o = (i + s) * ostride + jb;
            out[o..o + n].copy_from_slice(&a[..n]);
        }
        jb += B;
    }
}

/// Explicit AVX-512 micro-kernel (4 rows x 4 vectors of accumulators). Same arithmetic and
/// summation order as the generic path (one FMA per tap, kernel row then column ascending).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)]
mod avx512 {
    use super::super::real::Real;
    use std::any::TypeId;
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    const RR: usize = super::R;
    const NV: usize = super::NV;

    pub(super) fn available() -> bool {
        static A: OnceLock<bool> = OnceLock::new();
        *A.get_or_init(|| {
            std::env::var_os("CONV_NO_AVX512").is_none()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("fma")
        })
    }

    trait V: Copy {
        type E: Copy;
        const L: usize;
        unsafe fn zero() -> Self;
        unsafe fn load(p: *const Self::E) -> Self;
        unsafe fn splat(p: *const Self::E) -> Self;
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
        unsafe fn store(p: *mut Self::E, v: Self);
    }

    #[derive(Clone, Copy)]
    struct F32(__m512);
    #[derive(Clone, Copy)]
    struct F64(__m512d);

    impl V for F32 {
        type E = f32;
        const L: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> Self {
            F32(_mm512_setzero_ps())
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            F32(_mm512_loadu_ps(p))
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            F32(_mm512_set1_ps(*p))
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            F32(_mm512_fmadd_ps(a.0, b.0, c.0))
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: Self) {
            _mm512_storeu_ps(p, v.0)
        }
    }

    impl V for F64 {
        type E = f64;
        const L: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> Self {
            F64(_mm512_setzero_pd())
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            F64(_mm512_loadu_pd(p))
        }
        #[inline(always)]
        unsafe fn splat(p: *const f64) -> Self {
            F64(_mm512_set1_pd(*p))
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            F64(_mm512_fmadd_pd(a.0, b.0, c.0))
        }
        #[inline(always)]
        unsafe fn store(p: *mut f64, v: Self) {
            _mm512_storeu_pd(p, v.0)
        }
    }

    /// Safe entry: checks the buffer extents the kernel reads and writes.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn conv_block<T: Real>(
        pad: &[T],
        pstride: usize,
        kf: &[T],
        kh: usize,
        kw: usize,
        out: &mut [T],
        ostride: usize,
        rows: usize,
        cols: usize,
    ) {
        let b = NV * T::LANES_512;
        let ncp = cols.div_ceil(b) * b;
        assert!(
            pstride >= ncp + kw - 1 && pad.len() >= (rows + kh - 1 - 1) * pstride + ncp + kw - 1
        );
        assert!(kf.len() >= kh * kw && out.len() >= (rows - 1) * ostride + cols);
        assert!(available());
        // SAFETY: extents checked above; AVX-512F + FMA detected.
        unsafe {
            if TypeId::of::<T>() == TypeId::of::<f32>() {
                kernel::<F32>(
                    pad.as_ptr().cast(),
                    pstride,
                    kf.as_ptr().cast(),
                    kh,
                    kw,
                    out.as_mut_ptr().cast(),
                    ostride,
                    rows,
                    cols,
                )
            } else if TypeId::of::<T>() == TypeId::of::<f64>() {
                kernel::<F64>(
                    pad.as_ptr().cast(),
                    pstride,
                    kf.as_ptr().cast(),
                    kh,
                    kw,
                    out.as_mut_ptr().cast(),
                    ostride,
                    rows,
                    cols,
                )
            } else {
                unreachable!()
            }
        }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel<W: V>(
        pad: *const W::E,
        pstride: usize,
        kf: *const W::E,
        kh: usize,
        kw: usize,
        out: *mut W::E,
        ostride: usize,
        rows: usize,
        cols: usize,
    ) {
        let mut i = 0;
        while i + RR <= rows {
            row_block::<W, RR>(pad, pstride, kf, kh, kw, out, ostride, i, cols);
            i += RR;
        }
        while i < rows {
            row_block::<W, 1>(pad, pstride, kf, kh, kw, out, ostride, i, cols);
            i += 1;
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn row_block<W: V, const R: usize>(
        pad: *const W::E,
        pstride: usize,
        kf: *const W::E,
        kh: usize,
        kw: usize,
        out: *mut W::E,
        ostride: usize,
        i: usize,
        cols: usize,
    ) {
        let b = NV * W::L;
        let mut jb = 0;
        while jb < cols {
            let mut acc = [[W::zero(); NV]; R];
            for pr in 0..kh + R - 1 {
                let prow = pad.add((i + pr) * pstride + jb);
                let s_lo = (pr + 1).saturating_sub(kh);
                let s_hi = R.min(pr + 1);
                if s_hi - s_lo == R {
                    for q in 0..kw {
                        let mut x = [W::zero(); NV];
                        for (v, xv) in x.iter_mut().enumerate() {
                            *xv = W::load(prow.add(q + v * W::L));
                        }
                        for (s, a) in acc.iter_mut().enumerate() {
                            let w = W::splat(kf.add((pr - s) * kw + q));
                            for v in 0..NV {
                                a[v] = W::fma(w, x[v], a[v]);
                            }
                        }
                    }
                } else {
                    for (s, a) in acc.iter_mut().enumerate() {
                        if s < s_lo || s >= s_hi {
                            continue;
                        }
                        for q in 0..kw {
                            let w = W::splat(kf.add((pr - s) * kw + q));
                            for v in 0..NV {
                                a[v] = W::fma(w, W::load(prow.add(q + v * W::L)), a[v]);
                            }
                        }
                    }
                }
            }
            let n = b.min(cols - jb);
            for (s, a) in acc.iter().enumerate() {
                let o = out.add((i + s) * ostride + jb);
                if n == b {
                    for v in 0..NV {
                        W::store(o.add(v * W::L), a[v]);
                    }
                } else {
                    let mut tmp = [W::zero(); NV];
                    tmp.copy_from_slice(a);
                    std::ptr::copy_nonoverlapping(tmp.as_ptr() as *const W::E, o, n);
                }
            }
            jb += b;
        }
    }
}
