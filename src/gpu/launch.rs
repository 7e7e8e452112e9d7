//! Every kernel launch of the CUDA backend, in one place (job-driver layer).
//!
//! A launch is unsafe because the driver cannot check that the arguments
//! match the kernel's parameter list, nor that the kernel stays inside the
//! buffers. Each function below is the only caller of its kernel; its
//! `// SAFETY:` comment says why the call is sound. Callers pass typed
//! device buffers whose lengths these functions check first.

use cudarc::driver::{CudaSlice, CudaStream, LaunchConfig, PushKernelArg};

use crate::gpu::kernels::{CONVOLVE2D, LOMBSCARGLE, MONTECARLO};
use crate::gpu::{cuda, GpuDevice};

/// Threads per Monte Carlo thread block: one per sample of a chunk.
pub const MC_THREADS: u32 = crate::numeric::montecarlo::CHUNK as u32;

/// Arguments of `mc_blocks` (kernels/montecarlo.cu).
pub struct McLaunch<'a> {
    /// Integrand code of the kernel (0 norm2, 1 pi, 2 gaussian, 3 cosprod).
    pub integrand: i32,
    /// Lower bound of each dimension (`dims` entries).
    pub lo: &'a CudaSlice<f64>,
    /// Width of each dimension times 2^-32: coordinate = lo + scale (word + 0.5).
    pub scale: &'a CudaSlice<f64>,
    /// Philox key (the seed's low and high words).
    pub key: [u32; 2],
    /// Index of the block that grid block 0 computes.
    pub first_block: u64,
    /// Blocks in this launch (one CUDA thread block each).
    pub nblocks: u64,
    /// Samples per block (the last block of the integration may be shorter).
    pub block_size: u64,
    /// Samples of the whole integration, which bounds the last block.
    pub total_samples: u64,
}

/// Runs `mc_blocks`: writes (count, mean, M2) of block `first_block + i` to
/// `out[3i..3i + 3]`. Errors on inconsistent lengths or a failed launch.
pub fn mc_blocks(dev: &GpuDevice, a: &McLaunch, out: &mut CudaSlice<f64>) -> anyhow::Result<()> {
    let dims = a.lo.len();
    anyhow::ensure!(
        dims > 0 && a.scale.len() == dims,
        "mc_blocks: lo/scale lengths"
    );
    anyhow::ensure!(
        out.len() as u64 >= 3 * a.nblocks,
        "mc_blocks: output too short"
    );
    anyhow::ensure!(
        a.nblocks <= i32::MAX as u64,
        "mc_blocks: too many blocks in one launch"
    );
    if a.nblocks == 0 {
        return Ok(());
    }
    let f = dev.function(&MONTECARLO, "mc_blocks")?;
    let dims = dims as i32;
    let cfg = LaunchConfig {
        grid_dim: (a.nblocks as u32, 1, 1),
        block_dim: (MC_THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let stream: &CudaStream = &dev.stream;
    let mut b = stream.launch_builder(&f);
    b.arg(&a.integrand)
        .arg(&dims)
        .arg(a.lo)
        .arg(a.scale)
        .arg(&a.key[0])
        .arg(&a.key[1])
        .arg(&a.first_block)
        .arg(&a.nblocks)
        .arg(&a.block_size)
        .arg(&a.total_samples)
        .arg(out);
    // SAFETY: the arguments follow mc_blocks' parameter list in order and
    // type (int, int, const double*, const double*, u32, u32, u64 x4,
    // double*). lo/scale hold `dims` doubles (checked above); grid block i
    // writes out[3i..3i+3] for i < nblocks, and out holds 3 * nblocks
    // (checked above); blockDim is CHUNK, which the kernel's shared arrays
    // are sized for.
    unsafe { b.launch(cfg) }.map_err(cuda("launching mc_blocks"))?;
    Ok(())
}

/// Threads per Lomb-Scargle block (one frequency each).
pub const LS_THREADS: u32 = 256;
/// CUDA's limit on gridDim.y: curves per launch.
pub const LS_MAX_CURVES_PER_LAUNCH: usize = 65_535;

/// Device arrays of one batch of light curves (see kernels/lombscargle.cu).
pub struct LsBatch<T> {
    /// Times relative to each curve's reference time, curve after curve.
    pub dt: CudaSlice<T>,
    /// Normalised weights (summing to 1 per curve).
    pub w: CudaSlice<T>,
    /// `w (y - ybar_w)`: weighted, centred magnitudes.
    pub wy: CudaSlice<T>,
    /// `curves + 1` prefix sums of the point counts.
    pub point_offsets: CudaSlice<u64>,
    /// Per curve `sum w (y - ybar_w)^2`; 0 makes the kernel write zero power.
    pub yy: CudaSlice<f64>,
    /// Per curve first grid frequency (cycles per time unit).
    pub f0: CudaSlice<f64>,
    /// Per curve grid step (cycles per time unit).
    pub df: CudaSlice<f64>,
    /// Per curve number of grid frequencies.
    pub nf: CudaSlice<u64>,
    /// `curves + 1` prefix sums of `nf`.
    pub power_offsets: CudaSlice<u64>,
    /// Curves in the batch.
    pub curves: usize,
    /// Length of `dt`, `w` and `wy`.
    pub points: usize,
    /// Largest `nf`: sets the grid's x extent.
    pub max_nf: u64,
    /// Sum of `nf`: power values the launch writes.
    pub total_power: usize,
}

/// Which precision a Lomb-Scargle launch uses.
pub trait LsReal:
    cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits + Copy + Default
{
    /// Entry point of kernels/lombscargle.cu for this precision.
    const KERNEL: &'static str;
}
impl LsReal for f64 {
    const KERNEL: &'static str = "lombscargle_f64";
}
impl LsReal for f32 {
    const KERNEL: &'static str = "lombscargle_f32";
}

/// Runs the Lomb-Scargle kernel over `batch`, writing curve `c`'s power at
/// `power[power_offsets[c]..]`. Errors on inconsistent lengths or a failed launch.
pub fn lombscargle<T: LsReal>(
    dev: &GpuDevice,
    batch: &LsBatch<T>,
    power: &mut CudaSlice<T>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        batch.dt.len() == batch.points
            && batch.w.len() == batch.points
            && batch.wy.len() == batch.points,
        "lombscargle: point arrays"
    );
    for (name, len) in [
        ("yy", batch.yy.len()),
        ("f0", batch.f0.len()),
        ("df", batch.df.len()),
        ("nf", batch.nf.len()),
    ] {
        anyhow::ensure!(len == batch.curves, "lombscargle: {name} length");
    }
    anyhow::ensure!(
        batch.point_offsets.len() == batch.curves + 1
            && batch.power_offsets.len() == batch.curves + 1,
        "lombscargle: offsets length"
    );
    anyhow::ensure!(
        power.len() >= batch.total_power,
        "lombscargle: power too short"
    );
    if batch.curves == 0 || batch.max_nf == 0 {
        return Ok(());
    }
    let f = dev.function(&LOMBSCARGLE, T::KERNEL)?;
    let gx = batch.max_nf.div_ceil(u64::from(LS_THREADS));
    anyhow::ensure!(
        gx <= i32::MAX as u64,
        "lombscargle: frequency grid too long"
    );
    for first in (0..batch.curves).step_by(LS_MAX_CURVES_PER_LAUNCH) {
        let n = (batch.curves - first).min(LS_MAX_CURVES_PER_LAUNCH);
        let first_curve = first as u32;
        let cfg = LaunchConfig {
            grid_dim: (gx as u32, n as u32, 1),
            block_dim: (LS_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut b = dev.stream.launch_builder(&f);
        b.arg(&batch.dt)
            .arg(&batch.w)
            .arg(&batch.wy)
            .arg(&batch.point_offsets)
            .arg(&batch.yy)
            .arg(&batch.f0)
            .arg(&batch.df)
            .arg(&batch.nf)
            .arg(&batch.power_offsets)
            .arg(&first_curve)
            .arg(&mut *power);
        // SAFETY: the arguments follow lombscargle_{f64,f32}'s parameter
        // list in order and type (REAL* x3, u64*, double* x4, u64*, u64*,
        // u32, REAL*), with REAL = T matching the chosen entry point. Curve
        // c < first + n <= curves reads points point_offsets[c]..[c+1] <=
        // points (the host built the prefix sums) and writes power at
        // power_offsets[c] + k for k < nf[c], inside total_power <=
        // power.len() (checked above); per-curve arrays hold `curves`
        // entries (checked above).
        unsafe { b.launch(cfg) }.map_err(cuda("launching lombscargle"))?;
    }
    Ok(())
}

/// Output pixels per thread-block side of the convolution.
pub const CONV_TILE: u32 = 16;
/// Shared memory a convolution block may ask for (the portable 48 KiB).
pub const CONV_MAX_SHARED: usize = 48 * 1024;

/// Bytes of dynamic shared memory the shared-memory kernel needs.
pub fn conv_shared_bytes(kh: usize, kw: usize, elem: usize) -> usize {
    let t = CONV_TILE as usize;
    ((t + kh - 1) * (t + kw - 1) + kh * kw) * elem
}

/// Arguments of the convolution kernels (see kernels/convolve2d.cu).
pub struct ConvLaunch {
    /// Elements per row of the padded input (at least `cols + kw - 1`).
    pub ext_stride: u32,
    /// Kernel rows.
    pub kh: u32,
    /// Kernel columns.
    pub kw: u32,
    /// Output rows.
    pub rows: u32,
    /// Output columns (also the output's row stride).
    pub cols: u32,
}

/// Which precision a convolution launch uses.
pub trait ConvReal:
    cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits + Copy + Default
{
    /// Entry point of the shared-memory kernel for this precision.
    const SHARED: &'static str;
    /// Entry point of the global-memory kernel (for kernels too large to stage).
    const GLOBAL: &'static str;
}
impl ConvReal for f64 {
    const SHARED: &'static str = "conv2d_shared_f64";
    const GLOBAL: &'static str = "conv2d_global_f64";
}
impl ConvReal for f32 {
    const SHARED: &'static str = "conv2d_shared_f32";
    const GLOBAL: &'static str = "conv2d_global_f32";
}

/// CUDA's limit on gridDim.y: row blocks per convolution launch.
pub const CONV_MAX_GRID_Y: u32 = 65_535;

/// Convolves a padded strip, at most `max_grid_y` row blocks (at most
/// [`CONV_MAX_GRID_Y`]) per launch; returns whether the shared-memory
/// kernel ran. Tests lower `max_grid_y` to exercise the multi-launch path.
pub fn conv2d_capped<T: ConvReal>(
    dev: &GpuDevice,
    a: &ConvLaunch,
    ext: &CudaSlice<T>,
    kflip: &CudaSlice<T>,
    out: &mut CudaSlice<T>,
    max_grid_y: u32,
) -> anyhow::Result<bool> {
    let (kh, kw, rows, cols) = (
        a.kh as usize,
        a.kw as usize,
        a.rows as usize,
        a.cols as usize,
    );
    anyhow::ensure!(kh > 0 && kw > 0, "conv2d: empty kernel");
    anyhow::ensure!(kflip.len() == kh * kw, "conv2d: kernel length");
    anyhow::ensure!(a.ext_stride as usize >= cols + kw - 1, "conv2d: stride");
    anyhow::ensure!(
        ext.len() >= (rows + kh - 1) * a.ext_stride as usize,
        "conv2d: padded input too short"
    );
    anyhow::ensure!(out.len() >= rows * cols, "conv2d: output too short");
    anyhow::ensure!(
        (1..=CONV_MAX_GRID_Y).contains(&max_grid_y),
        "conv2d: row blocks per launch"
    );
    if rows == 0 || cols == 0 {
        return Ok(false);
    }
    let shared = conv_shared_bytes(kh, kw, std::mem::size_of::<T>());
    let use_shared = shared <= CONV_MAX_SHARED;
    let f = dev.function(&CONVOLVE2D, if use_shared { T::SHARED } else { T::GLOBAL })?;
    let out_stride = a.cols;
    let rows_per_launch = max_grid_y as usize * CONV_TILE as usize;
    let stride = a.ext_stride as usize;
    for r0 in (0..rows).step_by(rows_per_launch) {
        let n = (rows - r0).min(rows_per_launch);
        let n_rows = n as u32;
        let ext_v = ext.slice(r0 * stride..(r0 + n + kh - 1) * stride);
        let mut out_v = out.slice_mut(r0 * cols..(r0 + n) * cols);
        let cfg = LaunchConfig {
            grid_dim: (a.cols.div_ceil(CONV_TILE), n_rows.div_ceil(CONV_TILE), 1),
            block_dim: (CONV_TILE, CONV_TILE, 1),
            shared_mem_bytes: if use_shared { shared as u32 } else { 0 },
        };
        let mut b = dev.stream.launch_builder(&f);
        b.arg(&ext_v)
            .arg(&a.ext_stride)
            .arg(kflip)
            .arg(&a.kh)
            .arg(&a.kw)
            .arg(&n_rows)
            .arg(&a.cols)
            .arg(&mut out_v)
            .arg(&out_stride);
        // SAFETY: the arguments follow conv2d_{shared,global}_{f64,f32}'s
        // parameter list (const REAL*, u32, const REAL*, u32 x4, REAL*, u32)
        // with REAL = T. This launch covers output rows r0..r0 + n: threads
        // read ext_v rows < n + kh - 1 and columns < cols + kw - 1 <=
        // ext_stride, all inside the view (rows + kh - 1 padded rows exist,
        // checked above), the kernel's kh * kw entries, and write out_v[i *
        // cols + j] for i < n, j < cols, inside the view. The grid's y
        // extent is n / 16 <= max_grid_y <= 65 535 (checked above). The
        // shared variant gets exactly the dynamic shared memory its patch
        // and kernel need, within the 48 KiB limit.
        unsafe { b.launch(cfg) }.map_err(cuda("launching conv2d"))?;
    }
    Ok(use_shared)
}
