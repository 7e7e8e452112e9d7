//! The test oracle: convolution straight from the definition (see [`super::geometry`]),
//! accumulated in `f64` for both sample types, with its own boundary lookup.

use super::geometry::{
    effective_boundary, full_offset, output_shape, Boundary, ConvError, ConvMode, Shape2,
};
use super::real::Real;

fn ext(x: isize, n: usize, boundary: Boundary) -> Option<usize> {
    let n = n as isize;
    let y = match boundary {
        Boundary::Zero => {
            if x < 0 || x >= n {
                return None;
            }
            x
        }
        Boundary::Nearest => x.max(0).min(n - 1),
        Boundary::Reflect => {
            // d c b a | a b c d | d c b a ...  (period 2n)
            let mut y = x;
            loop {
                if y < 0 {
                    y = -y - 1;
                } else if y >= n {
                    y = 2 * n - 1 - y;
                } else {
                    break y;
                }
            }
        }
    };
    Some(y as usize)
}

/// Whole-image naive convolution: returns the full output of `mode` (row-major).
/// `O(out * kh * kw)`; meant for tests and tiny inputs.
pub fn convolve_naive<T: Real>(
    image: &[T],
    ishape: Shape2,
    kernel: &[T],
    kshape: Shape2,
    mode: ConvMode,
    boundary: Boundary,
) -> Result<Vec<T>, ConvError> {
    let oshape = output_shape(ishape, kshape, mode)?;
    let (orow, ocol) = full_offset(ishape, kshape, mode)?;
    if image.len() != ishape.len() {
        return Err(ConvError::BadLength {
            what: "image",
            expected: ishape.len(),
            got: image.len(),
        });
    }
    if kernel.len() != kshape.len() {
        return Err(ConvError::BadLength {
            what: "kernel",
            expected: kshape.len(),
            got: kernel.len(),
        });
    }
    let boundary = effective_boundary(mode, boundary);
    let mut out = vec![T::zero(); oshape.len()];
    for i in 0..oshape.rows {
        for j in 0..oshape.cols {
            let fi = (i + orow) as isize;
            let fj = (j + ocol) as isize;
            let mut s = 0.0f64;
            for p in 0..kshape.rows {
                let Some(r) = ext(fi - p as isize, ishape.rows, boundary) else {
                    continue;
                };
                for q in 0..kshape.cols {
                    let Some(c) = ext(fj - q as isize, ishape.cols, boundary) else {
                        continue;
                    };
                    s += kernel[p * kshape.cols + q].as_f64() * image[r * ishape.cols + c].as_f64();
                }
            }
            out[i * oshape.cols + j] = T::of_f64(s);
        }
    }
    Ok(out)
}
