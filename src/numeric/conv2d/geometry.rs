//! Shapes, modes, boundary rules and the tile <-> input-window arithmetic (numeric kernel
//! layer).
//!
//! Let `I` be the image (`H x W`), `k` the kernel (`kh x kw`), and `E` the image extended to
//! all integer coordinates by the [`Boundary`] rule. The *full* convolution is
//! `F[i][j] = sum_{p<kh, q<kw} k[p][q] * E[i-p][j-q]` for `0 <= i < H+kh-1, 0 <= j < W+kw-1`
//! (true convolution: kernel flipped); each [`ConvMode`] is a window of `F`. Modes and
//! boundaries follow `scipy.signal.convolve2d` (`scipy.ndimage` for [`Boundary::Nearest`]),
//! checked against SciPy 1.17 reference data in `tests/conv_scipy_ref.rs`.

use std::fmt;

/// Output mode (scipy.signal.convolve2d `mode`): a window of the full convolution `F`.
///
/// | mode  | output shape (per axis)   | offset into `F` (per axis)        |
/// |-------|---------------------------|-----------------------------------|
/// | full  | `H + kh - 1`              | `0`                               |
/// | same  | `H`                       | `(kh - 1) / 2` (floor)            |
/// | valid | `abs(H - kh) + 1`         | `min(H, kh) - 1`                  |
///
/// * `same` uses scipy's offset for every kernel size: `scipy.signal.convolve2d(.., 'same')`
///   and `scipy.signal.fftconvolve(.., 'same')` both take `F[(kh-1)//2 ..][(kw-1)//2 ..]`
///   (for even `kh` the extra row of the kernel's support lies *above/left*).
/// * `valid` with a kernel larger than the image along an axis follows scipy's swap rule
///   (`convolve2d` swaps the inputs when the kernel is larger in every dimension; the result is
///   `F[min-1 .. max]`). The rule is applied per axis, so mixed cases (kernel wider but
///   shorter), which scipy rejects, are also defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvMode {
    /// Every pixel the kernel touches: `H + kh - 1` per axis.
    Full,
    /// The image's own shape, centred as scipy centres it.
    Same,
    /// Only pixels where image and kernel fully overlap: `abs(H - kh) + 1` per axis.
    Valid,
}

/// How pixels outside the image are synthesised.
///
/// `Reflect` is repeated periodically (period `2H`) when the kernel reaches further than the
/// image size, as scipy does. With `mode=same` and odd kernels,
/// `scipy.ndimage.convolve(img, k, mode='nearest'|'reflect')` equals tessera's result. In
/// `valid` mode the rule is ignored: see [`effective_boundary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Boundary {
    /// Zero fill (`convolve2d(boundary='fill', fillvalue=0)`).
    Zero,
    /// Half-sample symmetric reflection `d c b a | a b c d | d c b a` (`convolve2d(boundary='symm')`,
    /// ndimage `'reflect'`, `numpy.pad` `'symmetric'`).
    Reflect,
    /// Edge replication `a a a a | a b c d` (ndimage `'nearest'`, `numpy.pad` `'edge'`; convolve2d
    /// has no equivalent).
    Nearest,
}

/// A 2-D shape `(rows, cols)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Shape2 {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
}

impl Shape2 {
    /// The shape `rows x cols`.
    pub const fn new(rows: usize, cols: usize) -> Self {
        Shape2 { rows, cols }
    }
    /// Number of elements, `rows * cols`.
    pub const fn len(&self) -> usize {
        self.rows * self.cols
    }
    /// Whether either dimension is zero.
    pub const fn is_empty(&self) -> bool {
        self.rows == 0 || self.cols == 0
    }
}

/// A rectangle `row0..row0+rows, col0..col0+cols` (in image or output coordinates,
/// depending on context).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Region {
    /// First row.
    pub row0: usize,
    /// First column.
    pub col0: usize,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
}

impl Region {
    /// The rectangle `row0..row0+rows, col0..col0+cols`.
    pub const fn new(row0: usize, col0: usize, rows: usize, cols: usize) -> Self {
        Region {
            row0,
            col0,
            rows,
            cols,
        }
    }
    /// The whole of `shape`.
    pub const fn whole(shape: Shape2) -> Self {
        Region {
            row0: 0,
            col0: 0,
            rows: shape.rows,
            cols: shape.cols,
        }
    }
    /// Its size, without the position.
    pub const fn shape(&self) -> Shape2 {
        Shape2 {
            rows: self.rows,
            cols: self.cols,
        }
    }
    /// Number of pixels, `rows * cols`.
    pub const fn len(&self) -> usize {
        self.rows * self.cols
    }
    /// Whether either dimension is zero.
    pub const fn is_empty(&self) -> bool {
        self.rows == 0 || self.cols == 0
    }
    /// `other` lies inside `self`.
    pub fn contains(&self, other: &Region) -> bool {
        other.is_empty()
            || (other.row0 >= self.row0
                && other.col0 >= self.col0
                && other.row0 + other.rows <= self.row0 + self.rows
                && other.col0 + other.cols <= self.col0 + self.cols)
    }
}

/// Errors of the convolution API.
#[derive(Clone, Debug, PartialEq)]
pub enum ConvError {
    /// Image or kernel has a zero dimension.
    EmptyInput,
    /// A slice length does not match its declared shape.
    BadLength {
        /// Which slice (e.g. `image`, `kernel`, `output`).
        what: &'static str,
        /// Length the shape implies.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The output tile is not inside the output of the given mode.
    TileOutOfRange {
        /// The requested tile, in output coordinates.
        tile: Region,
        /// Shape of the whole output.
        output: Shape2,
    },
    /// The source window lies outside the image, or does not cover the input the tile needs.
    SourceWindow {
        /// The window given, in image coordinates.
        have: Region,
        /// The window the tile needs ([`input_window`]).
        need: Region,
    },
    /// Built-in kernels must have odd size.
    EvenKernelSize(usize),
    /// Invalid built-in kernel parameter.
    BadKernelParam(&'static str),
}

impl fmt::Display for ConvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvError::EmptyInput => write!(f, "image and kernel must be non-empty"),
            ConvError::BadLength {
                what,
                expected,
                got,
            } => {
                write!(f, "{what}: expected {expected} elements, got {got}")
            }
            ConvError::TileOutOfRange { tile, output } => {
                write!(f, "output tile {tile:?} outside output shape {output:?}")
            }
            ConvError::SourceWindow { have, need } => {
                write!(f, "source window {have:?} does not cover needed input {need:?} (or lies outside the image)")
            }
            ConvError::EvenKernelSize(s) => write!(f, "built-in kernels need an odd size, got {s}"),
            ConvError::BadKernelParam(m) => write!(f, "bad kernel parameter: {m}"),
        }
    }
}

impl std::error::Error for ConvError {}

fn axis_len(n: usize, k: usize, mode: ConvMode) -> usize {
    match mode {
        ConvMode::Full => n + k - 1,
        ConvMode::Same => n,
        ConvMode::Valid => n.max(k) - n.min(k) + 1,
    }
}

fn axis_offset(n: usize, k: usize, mode: ConvMode) -> usize {
    match mode {
        ConvMode::Full => 0,
        ConvMode::Same => (k - 1) / 2,
        ConvMode::Valid => n.min(k) - 1,
    }
}

/// Shape of the convolution output (see the table on [`ConvMode`]). Zero-sized inputs give an error.
pub fn output_shape(image: Shape2, kernel: Shape2, mode: ConvMode) -> Result<Shape2, ConvError> {
    if image.is_empty() || kernel.is_empty() {
        return Err(ConvError::EmptyInput);
    }
    Ok(Shape2::new(
        axis_len(image.rows, kernel.rows, mode),
        axis_len(image.cols, kernel.cols, mode),
    ))
}

/// Offset `(row, col)` of output pixel `(0, 0)` inside the full convolution `F`.
pub fn full_offset(
    image: Shape2,
    kernel: Shape2,
    mode: ConvMode,
) -> Result<(usize, usize), ConvError> {
    if image.is_empty() || kernel.is_empty() {
        return Err(ConvError::EmptyInput);
    }
    Ok((
        axis_offset(image.rows, kernel.rows, mode),
        axis_offset(image.cols, kernel.cols, mode),
    ))
}

/// The boundary rule actually applied: `Zero` in `valid` mode (scipy semantics), else `boundary`.
///
/// When the kernel fits inside the image no `valid` output pixel reads outside it anyway, and
/// when it does not, scipy's operand swap amounts to zero fill
/// (`convolve2d(.., 'valid', boundary='symm')` with a kernel larger than the image equals the
/// `'fill'` result).
pub fn effective_boundary(mode: ConvMode, boundary: Boundary) -> Boundary {
    if mode == ConvMode::Valid {
        Boundary::Zero
    } else {
        boundary
    }
}

/// Map an extended coordinate to an image coordinate (`None` = zero fill).
#[inline]
pub(crate) fn map_coord(x: isize, n: usize, boundary: Boundary) -> Option<usize> {
    let n_i = n as isize;
    if (0..n_i).contains(&x) {
        return Some(x as usize);
    }
    match boundary {
        Boundary::Zero => None,
        Boundary::Nearest => Some(x.clamp(0, n_i - 1) as usize),
        Boundary::Reflect => {
            let m = x.rem_euclid(2 * n_i);
            Some(if m < n_i { m } else { 2 * n_i - 1 - m } as usize)
        }
    }
}

/// Extended-coordinate span `[first, last]` (inclusive, `isize`) of the input a tile needs,
/// for one axis: `[t0 + off - (k-1), t0 + off + t - 1]`.
pub(crate) fn ext_span(t0: usize, t: usize, k: usize, off: usize) -> (isize, isize) {
    let a = (t0 + off) as isize - (k as isize - 1);
    let b = (t0 + off + t) as isize - 1;
    (a, b)
}

/// Image-coordinate interval `[lo, hi)` that the extended span `[a, b]` reads.
fn image_span(a: isize, b: isize, n: usize, boundary: Boundary) -> (usize, usize) {
    let n_i = n as isize;
    match boundary {
        Boundary::Zero => {
            let lo = a.max(0);
            let hi = (b + 1).min(n_i);
            if lo >= hi {
                (0, 0)
            } else {
                (lo as usize, hi as usize)
            }
        }
        Boundary::Nearest => (
            a.clamp(0, n_i - 1) as usize,
            b.clamp(0, n_i - 1) as usize + 1,
        ),
        Boundary::Reflect => {
            if b - a + 1 >= 2 * n_i {
                return (0, n);
            }
            // The reflection map moves by at most 1 between neighbours, so the image of an
            // interval is an interval; find its ends by walking (length < 2n).
            let (mut lo, mut hi) = (n, 0usize);
            for x in a..=b {
                let m = map_coord(x, n, boundary).unwrap();
                lo = lo.min(m);
                hi = hi.max(m);
            }
            (lo, hi + 1)
        }
    }
}

/// The input window (image coordinates, clipped to the image) that output tile `tile`
/// (output coordinates) needs, including the pixels that the boundary rule reflects or
/// replicates into the halo. Reading exactly this window from the file and passing it as
/// `src` to [`super::convolve_region`] is sufficient. An empty tile gives an empty region.
pub fn input_window(
    image: Shape2,
    kernel: Shape2,
    mode: ConvMode,
    boundary: Boundary,
    tile: Region,
) -> Result<Region, ConvError> {
    let out = output_shape(image, kernel, mode)?;
    let boundary = effective_boundary(mode, boundary);
    if !Region::whole(out).contains(&tile) {
        return Err(ConvError::TileOutOfRange { tile, output: out });
    }
    if tile.is_empty() {
        return Ok(Region::default());
    }
    let (or, oc) = full_offset(image, kernel, mode)?;
    let (ra, rb) = ext_span(tile.row0, tile.rows, kernel.rows, or);
    let (ca, cb) = ext_span(tile.col0, tile.cols, kernel.cols, oc);
    let (r0, r1) = image_span(ra, rb, image.rows, boundary);
    let (c0, c1) = image_span(ca, cb, image.cols, boundary);
    Ok(Region::new(r0, c0, r1 - r0, c1 - c0))
}
