//! Tiled 2-D convolution core (numeric kernel layer; scipy.signal.convolve2d semantics, see
//! [`geometry`] for the exact conventions and the scipy/numpy correspondence of the boundary
//! rules).
//!
//! Typical SPMD use: for each output tile of [`output_shape`], ask [`input_window`] which
//! image pixels it needs, read exactly that window from the file, and call
//! [`convolve_region`] with a per-worker [`ConvScratch`] (plans, kernel spectra and scratch
//! are cached there). Tiles are independent, so they can run in parallel (rayon
//! `map_init(ConvScratch::new, ..)`).

pub mod geometry;
pub mod kernels;
pub mod naive;
pub mod real;

mod direct;
mod fft;
mod pad;

pub use fft::FftCache;
pub use geometry::{
    effective_boundary, full_offset, input_window, output_shape, Boundary, ConvError, ConvMode,
    Region, Shape2,
};
pub use kernels::{build_kernel, Kernel, KernelSpec};
pub use naive::convolve_naive;
pub use real::Real;

use geometry::{ext_span, map_coord};

/// Algorithm selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvMethod {
    /// Pick direct or FFT with the [`CostModel`].
    Auto,
    /// Straight-from-the-definition loops (region-aware; `f64` accumulation). Slow.
    Naive,
    /// Vectorised direct convolution (bit-reproducible under any tiling).
    Direct,
    /// Overlap-save FFT convolution.
    Fft,
}

/// Cost model for [`ConvMethod::Auto`]: direct seconds ~
/// `rows*cols * (direct_s_per_mac * kh*kw + direct_s_per_pixel)` versus FFT seconds ~
/// `fft_s_per_unit * units`, where `units = blocks * n1*n2 * (log2(n1*n2) + 6)` for the
/// overlap-save block size `(n1, n2)` that the FFT path would choose (approximately
/// `padded_area * log2(padded_area)`). The defaults ([`CostModel::for_type`]) were measured
/// once on an AVX-512 machine (single thread, 512x512 tiles); without AVX-512 the direct path
/// is slower, so the true crossover is at smaller kernels: set the public fields to recalibrate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Direct path: seconds per multiply-add (one kernel tap of one output pixel).
    pub direct_s_per_mac: f64,
    /// Direct path: seconds per output pixel that do not depend on the kernel size.
    pub direct_s_per_pixel: f64,
    /// FFT path: seconds per cost unit `n1*n2 * (log2(n1*n2) + 6)` of one block.
    pub fft_s_per_unit: f64,
}

impl CostModel {
    /// Calibrated defaults for `T`.
    pub fn for_type<T: Real>() -> Self {
        if T::LANES_512 == 16 {
            CostModel {
                direct_s_per_mac: F32_DIRECT_S_PER_MAC,
                direct_s_per_pixel: F32_DIRECT_S_PER_PIXEL,
                fft_s_per_unit: F32_FFT_S_PER_UNIT,
            }
        } else {
            CostModel {
                direct_s_per_mac: F64_DIRECT_S_PER_MAC,
                direct_s_per_pixel: F64_DIRECT_S_PER_PIXEL,
                fft_s_per_unit: F64_FFT_S_PER_UNIT,
            }
        }
    }

    /// Estimated `(direct_seconds, fft_seconds)` for one output tile.
    pub fn estimate(&self, tile: Shape2, kshape: Shape2) -> (f64, f64) {
        let px = tile.len() as f64;
        let (_, _, units) = fft::choose_block(tile, kshape);
        (
            px * (kshape.len() as f64 * self.direct_s_per_mac + self.direct_s_per_pixel),
            units * self.fft_s_per_unit,
        )
    }

    /// The method [`ConvMethod::Auto`] resolves to.
    pub fn choose(&self, tile: Shape2, kshape: Shape2) -> ConvMethod {
        let (d, f) = self.estimate(tile, kshape);
        if d <= f {
            ConvMethod::Direct
        } else {
            ConvMethod::Fft
        }
    }
}

// Calibration: CPU seconds, measured once on an AVX-512 machine (see `CostModel`).
const F64_DIRECT_S_PER_MAC: f64 = 2.5e-11;
const F64_DIRECT_S_PER_PIXEL: f64 = 1.0e-9;
const F32_DIRECT_S_PER_MAC: f64 = 1.3e-11;
const F32_DIRECT_S_PER_PIXEL: f64 = 0.55e-9;
const F64_FFT_S_PER_UNIT: f64 = 3.2e-10;
const F32_FFT_S_PER_UNIT: f64 = 2.0e-10;

/// Per-worker state: scratch for the padded input, the flipped kernel, FFT plans and kernel
/// spectra, and the cost model used by [`ConvMethod::Auto`]. Not shared between threads; create
/// one per worker and reuse it for all tiles of that worker.
pub struct ConvScratch<T: Real> {
    pad: Vec<T>,
    kflip: Vec<T>,
    fft: FftCache<T>,
    /// Cost model that resolves [`ConvMethod::Auto`]; defaults to [`CostModel::for_type`].
    pub cost: CostModel,
}

impl<T: Real> Default for ConvScratch<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> ConvScratch<T> {
    /// Empty scratch with the default cost model for `T`; buffers grow on first use.
    pub fn new() -> Self {
        ConvScratch {
            pad: Vec::new(),
            kflip: Vec::new(),
            fft: FftCache::new(),
            cost: CostModel::for_type::<T>(),
        }
    }
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), ConvError> {
    if expected != got {
        Err(ConvError::BadLength {
            what,
            expected,
            got,
        })
    } else {
        Ok(())
    }
}

/// Convolve one output tile.
///
/// * `src`: row-major pixels of `src_window` (image coordinates), which must lie inside the
///   image and contain [`input_window`]`(image, kshape, mode, boundary, tile)` (it may be
///   larger, e.g. the whole image). Pixels outside the image are synthesised by `boundary`.
/// * `kernel`: row-major `kshape` (not flipped; true convolution is applied).
/// * `tile`: output pixels to produce, in output coordinates of `mode`
///   (see [`output_shape`]); `out` receives them row-major (`tile.rows * tile.cols`).
///
/// Returns the method actually used (resolves [`ConvMethod::Auto`]).
#[allow(clippy::too_many_arguments)]
pub fn convolve_region<T: Real>(
    src: &[T],
    src_window: Region,
    image: Shape2,
    kernel: &[T],
    kshape: Shape2,
    mode: ConvMode,
    boundary: Boundary,
    tile: Region,
    out: &mut [T],
    method: ConvMethod,
    ws: &mut ConvScratch<T>,
) -> Result<ConvMethod, ConvError> {
    let need = input_window(image, kshape, mode, boundary, tile)?;
    check_len("kernel", kshape.len(), kernel.len())?;
    check_len("src", src_window.len(), src.len())?;
    check_len("out", tile.len(), out.len())?;
    if !Region::whole(image).contains(&src_window) || !src_window.contains(&need) {
        return Err(ConvError::SourceWindow {
            have: src_window,
            need,
        });
    }
    if tile.is_empty() {
        return Ok(method);
    }
    let boundary = effective_boundary(mode, boundary);
    let (orow, ocol) = full_offset(image, kshape, mode)?;
    let (er0, _) = ext_span(tile.row0, tile.rows, kshape.rows, orow);
    let (ec0, _) = ext_span(tile.col0, tile.cols, kshape.cols, ocol);
    let method = match method {
        ConvMethod::Auto => ws.cost.choose(tile.shape(), kshape),
        m => m,
    };
    match method {
        ConvMethod::Naive => naive_tile(
            src,
            src_window,
            image,
            boundary,
            kernel,
            kshape,
            er0,
            ec0,
            out,
            tile.shape(),
        ),
        ConvMethod::Direct => {
            ws.kflip.clear();
            ws.kflip.extend(kernel.iter().rev());
            direct::direct_tile(
                src,
                src_window,
                image,
                boundary,
                &ws.kflip,
                kshape,
                er0,
                ec0,
                out,
                tile.shape(),
                &mut ws.pad,
            );
        }
        ConvMethod::Fft => fft::fft_tile(
            src,
            src_window,
            image,
            boundary,
            kernel,
            kshape,
            er0,
            ec0,
            out,
            tile.shape(),
            &mut ws.fft,
        ),
        ConvMethod::Auto => unreachable!(),
    }
    Ok(method)
}

/// The boundary-extended input of output tile `tile`: the tile plus its
/// halo, `(tile.rows + kh - 1) x (tile.cols + kw - 1)` pixels row-major, with
/// the boundary rule applied, such that
/// `out[i][j] = sum_p sum_q kflip[p][q] E[i + p][j + q]` (`kflip` the kernel
/// flipped in both axes). This is the padded input the direct method builds
/// per sub-block, whole; the GPU backend convolves it. `src` and
/// `src_window` as for [`convolve_region`]. An empty tile gives an empty
/// vector.
pub fn extended_tile<T: Real>(
    src: &[T],
    src_window: Region,
    image: Shape2,
    kshape: Shape2,
    mode: ConvMode,
    boundary: Boundary,
    tile: Region,
) -> Result<Vec<T>, ConvError> {
    let need = input_window(image, kshape, mode, boundary, tile)?;
    check_len("src", src_window.len(), src.len())?;
    if !Region::whole(image).contains(&src_window) || !src_window.contains(&need) {
        return Err(ConvError::SourceWindow {
            have: src_window,
            need,
        });
    }
    if tile.is_empty() {
        return Ok(Vec::new());
    }
    let boundary = effective_boundary(mode, boundary);
    let (orow, ocol) = full_offset(image, kshape, mode)?;
    let (er0, _) = ext_span(tile.row0, tile.rows, kshape.rows, orow);
    let (ec0, _) = ext_span(tile.col0, tile.cols, kshape.cols, ocol);
    let (rows, cols) = (tile.rows + kshape.rows - 1, tile.cols + kshape.cols - 1);
    let mut ext = vec![T::zero(); rows * cols];
    pad::fill_ext(
        src, src_window, image, boundary, er0, ec0, rows, cols, &mut ext, cols,
    );
    Ok(ext)
}

/// Whole-image convenience wrapper: the full output of `mode` as one tile.
#[allow(clippy::too_many_arguments)]
pub fn convolve_image<T: Real>(
    image: &[T],
    ishape: Shape2,
    kernel: &[T],
    kshape: Shape2,
    mode: ConvMode,
    boundary: Boundary,
    method: ConvMethod,
    ws: &mut ConvScratch<T>,
) -> Result<Vec<T>, ConvError> {
    let oshape = output_shape(ishape, kshape, mode)?;
    let mut out = vec![T::zero(); oshape.len()];
    convolve_region(
        image,
        Region::whole(ishape),
        ishape,
        kernel,
        kshape,
        mode,
        boundary,
        Region::whole(oshape),
        &mut out,
        method,
        ws,
    )?;
    Ok(out)
}

/// Cut an output of shape `shape` into tiles of at most `tile_rows x tile_cols`
/// (row-major order).
pub fn tile_grid(shape: Shape2, tile_rows: usize, tile_cols: usize) -> Vec<Region> {
    assert!(tile_rows > 0 && tile_cols > 0);
    let mut v = Vec::new();
    for r in (0..shape.rows).step_by(tile_rows) {
        for c in (0..shape.cols).step_by(tile_cols) {
            v.push(Region::new(
                r,
                c,
                tile_rows.min(shape.rows - r),
                tile_cols.min(shape.cols - c),
            ));
        }
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn naive_tile<T: Real>(
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
) {
    let (kh, kw) = (kshape.rows, kshape.cols);
    for i in 0..oshape.rows {
        for j in 0..oshape.cols {
            let mut s = 0.0f64;
            for p in 0..kh {
                let Some(r) = map_coord(er0 + (i + kh - 1 - p) as isize, image.rows, boundary)
                else {
                    continue;
                };
                for q in 0..kw {
                    let Some(c) = map_coord(ec0 + (j + kw - 1 - q) as isize, image.cols, boundary)
                    else {
                        continue;
                    };
                    s += kernel[p * kw + q].as_f64()
                        * src[(r - sw.row0) * sw.cols + (c - sw.col0)].as_f64();
                }
            }
            out[i * oshape.cols + j] = T::of_f64(s);
        }
    }
}
