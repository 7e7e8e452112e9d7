//! Synthesis of the boundary-extended input `E` from a clipped source window.

use super::geometry::{map_coord, Boundary, Region, Shape2};
use super::real::Real;

/// Fill `dst[i * dst_stride + j] = E[r0 + i][c0 + j]` for `i < rows`, `j < cols`, reading
/// image pixels from `src`, the row-major window `sw` (image coordinates) of the image.
/// The caller guarantees that `sw` covers every image pixel the rectangle maps to
/// (checked by slice indexing).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fill_ext<T: Real>(
    src: &[T],
    sw: Region,
    image: Shape2,
    boundary: Boundary,
    r0: isize,
    c0: isize,
    rows: usize,
    cols: usize,
    dst: &mut [T],
    dst_stride: usize,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    let w = image.cols as isize;
    // Column segments: [0, jl) left of the image, [jl, jr) inside, [jr, cols) right of it.
    let jl = ((-c0).max(0) as usize).min(cols);
    let jr = ((w - c0).max(0) as usize).min(cols).max(jl);
    for i in 0..rows {
        let drow = &mut dst[i * dst_stride..i * dst_stride + cols];
        let Some(ir) = map_coord(r0 + i as isize, image.rows, boundary) else {
            drow.fill(T::zero());
            continue;
        };
        let srow = &src[(ir - sw.row0) * sw.cols..(ir - sw.row0 + 1) * sw.cols];
        if jr > jl {
            let s0 = (c0 + jl as isize) as usize - sw.col0;
            drow[jl..jr].copy_from_slice(&srow[s0..s0 + (jr - jl)]);
        }
        for j in (0..jl).chain(jr..cols) {
            drow[j] = match map_coord(c0 + j as isize, image.cols, boundary) {
                Some(ic) => srow[ic - sw.col0],
                None => T::zero(),
            };
        }
    }
}
