#![allow(dead_code)]
use tessera::numeric::conv2d::*;

/// Deterministic pseudo-random values in [-1, 1) (splitmix64).
pub fn rand_vec(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E3779B97F4A7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// Error metric used throughout: max |got - want| / max |want| (max |want| taken as 1 if
/// the reference is identically zero).
pub fn rel_err<T: Real>(got: &[T], want: &[T]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.as_f64().abs()));
    let scale = if scale == 0.0 { 1.0 } else { scale };
    got.iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a.as_f64() - b.as_f64()).abs()))
        / scale
}

pub const MODES: [ConvMode; 3] = [ConvMode::Full, ConvMode::Same, ConvMode::Valid];
pub const BOUNDARIES: [Boundary; 3] = [Boundary::Zero, Boundary::Reflect, Boundary::Nearest];

/// Copy the window `w` out of a row-major image of width `icols`.
pub fn window<T: Copy>(img: &[T], icols: usize, w: Region) -> Vec<T> {
    let mut v = Vec::with_capacity(w.len());
    for r in w.row0..w.row0 + w.rows {
        v.extend_from_slice(&img[r * icols + w.col0..r * icols + w.col0 + w.cols]);
    }
    v
}

/// Convolve tile by tile, each tile reading only its `input_window`, and reassemble.
#[allow(clippy::too_many_arguments)]
pub fn tiled<T: Real>(
    img: &[T],
    ishape: Shape2,
    k: &[T],
    kshape: Shape2,
    mode: ConvMode,
    b: Boundary,
    tr: usize,
    tc: usize,
    method: ConvMethod,
    ws: &mut ConvScratch<T>,
) -> Vec<T> {
    let oshape = output_shape(ishape, kshape, mode).unwrap();
    let mut full = vec![T::zero(); oshape.len()];
    for t in tile_grid(oshape, tr, tc) {
        let w = input_window(ishape, kshape, mode, b, t).unwrap();
        let src = window(img, ishape.cols, w);
        let mut out = vec![T::zero(); t.len()];
        convolve_region(&src, w, ishape, k, kshape, mode, b, t, &mut out, method, ws).unwrap();
        for r in 0..t.rows {
            let o = (t.row0 + r) * oshape.cols + t.col0;
            full[o..o + t.cols].copy_from_slice(&out[r * t.cols..(r + 1) * t.cols]);
        }
    }
    full
}
