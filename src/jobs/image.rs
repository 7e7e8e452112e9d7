//! The image convolution job (`tessera image`) and its test-image generator
//! (`tessera synth image`): job-driver layer where the tiled convolution
//! kernels, rayon, the communication layer and (parallel) HDF5 meet.
//!
//! The output image of the chosen mode (full, same, valid; scipy's shapes) is
//! cut into fixed `tile x tile` tiles, numbered row-major, independent of the
//! number of ranks and threads. Rank 0 scatters contiguous tile ranges; each
//! rank reads for every tile exactly the input window it needs (tile plus
//! kernel halo, clipped to the image, see `numeric::conv2d::input_window`)
//! from the input file, convolves the tiles of a batch with rayon (one
//! `ConvScratch` per worker), and writes them as hyperslabs of `/convolved` in
//! one HDF5 file opened by all ranks through MPI-IO. Per-tile statistics
//! (`Moments` plus min, max, sum) are gathered and merged on rank 0 in tile
//! order, so `/convolved` and `/stats` are bit-identical for any number of
//! ranks and threads; the direct method is also bit-identical for any tile
//! size. Rank 0 then reopens the file serially to add `/stats`, `/kernel`,
//! `/provenance` and `/timings`, and renames it into place.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use hdf5::types::TypeDescriptor;
use hdf5::H5Type;
use ndarray::{s, ArrayView2};
use rayon::prelude::*;
use toml::Value;

use crate::cli::SynthImageArgs;
use crate::comm::{even_ranges, Comm, Coordinated};
use crate::config::{usage, Layered};
use crate::io::fits::{self, FitsImage};
use crate::gpu::conv::{convolve_padded_gpu, ConvReal, ConvTimings, PaddedShape};
use crate::gpu::{Backend, GpuDevice, Resolved};
use crate::jobs::pool::{build_pool, resolve_threads};
use crate::numeric::conv2d::{
    build_kernel, convolve_region, extended_tile, input_window, output_shape, tile_grid, Boundary,
    ConvError, Kernel, KernelSpec, ConvMethod, ConvMode, Real, Region, Shape2, ConvScratch,
};
use crate::numeric::philox::PhiloxStream;
use crate::numeric::pixel_stats::{pixel_stats, PixelStats};
use crate::io::output::{self, AtomicH5, Provenance};
use crate::say0;
use crate::timings::{Phase, PhaseTimer};

/// Config keys of the `image` job (configs/image.toml documents each).
pub const KEYS: [&str; 13] = [
    "backend",
    "input",
    "dataset",
    "kernel",
    "normalize",
    "mode",
    "boundary",
    "method",
    "tile",
    "convert",
    "allow_nan",
    "threads",
    "out",
];

/// Largest built-in kernel edge (a sanity bound: 4097^2 taps).
const MAX_KERNEL: usize = 4097;

/// A validated image-job configuration. The kernel is built (or read from its
/// file) during validation, in f64, and cast to the image's type later.
#[derive(Clone, Debug)]
pub struct ImageConfig {
    pub input: PathBuf,
    pub dataset: String,
    pub kernel_spec: String,
    pub kernel: Kernel<f64>,
    pub normalize: bool,
    pub mode: ConvMode,
    pub boundary: Boundary,
    pub method: ConvMethod,
    pub tile: usize,
    pub convert: bool,
    pub allow_nan: bool,
    pub threads: usize,
    pub out: PathBuf,
    /// Requested backend (resolved against the GPU probe before MPI).
    pub backend: Backend,
}

pub fn mode_name(m: ConvMode) -> &'static str {
    match m {
        ConvMode::Full => "full",
        ConvMode::Same => "same",
        ConvMode::Valid => "valid",
    }
}

pub fn boundary_name(b: Boundary) -> &'static str {
    match b {
        Boundary::Zero => "zero",
        Boundary::Reflect => "reflect",
        Boundary::Nearest => "nearest",
    }
}

pub fn method_name(m: ConvMethod) -> &'static str {
    match m {
        ConvMethod::Auto => "auto",
        ConvMethod::Naive => "naive",
        ConvMethod::Direct => "direct",
        ConvMethod::Fft => "fft",
    }
}

fn method_code(m: ConvMethod) -> f64 {
    match m {
        ConvMethod::Naive => 0.0,
        ConvMethod::Direct => 1.0,
        ConvMethod::Fft => 2.0,
        ConvMethod::Auto => 3.0,
    }
}

/// ConvMethod code of a tile convolved on the GPU (direct method).
const GPU_DIRECT: f64 = 4.0;

/// Parses a kernel spec: `radial:SIZE`, `gaussian:SIGMA:SIZE`, `box:SIZE`,
/// `tophat:RADIUS[:SIZE]` (built-in, odd sizes only) or `file:PATH` (a text
/// file of rows of numbers, or `file:PATH.h5[:/dataset]`, default
/// `/kernel`). Spec errors are usage errors (exit 2); an unreadable kernel
/// file is an input error (exit 1).
pub fn parse_kernel(spec: &str, normalize: bool) -> anyhow::Result<Kernel<f64>> {
    let bad = |why: &str| {
        usage(format!(
            "kernel '{spec}': {why}; expected radial:SIZE, gaussian:SIGMA:SIZE, box:SIZE, tophat:RADIUS[:SIZE] or file:PATH"
        ))
    };
    let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
    if kind == "file" {
        return read_kernel_file(rest, normalize);
    }
    let parts: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(':').collect()
    };
    let size = |s: &str| -> anyhow::Result<usize> {
        let n: usize = s
            .trim()
            .parse()
            .map_err(|_| bad(&format!("size '{s}' is not a whole number")))?;
        if n > MAX_KERNEL {
            return Err(bad(&format!("size {n} exceeds {MAX_KERNEL}")));
        }
        Ok(n)
    };
    let num = |s: &str| -> anyhow::Result<f64> {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(&format!("'{s}' is not a finite number")))
    };
    let ks = match (kind, parts.as_slice()) {
        ("radial", [n]) => KernelSpec::Radial { size: size(n)? },
        ("gaussian", [sig, n]) => KernelSpec::Gaussian {
            sigma: num(sig)?,
            size: size(n)?,
        },
        ("box", [n]) => KernelSpec::Box { size: size(n)? },
        ("tophat", [r]) => KernelSpec::TopHat {
            radius: num(r)?,
            size: None,
        },
        ("tophat", [r, n]) => KernelSpec::TopHat {
            radius: num(r)?,
            size: Some(size(n)?),
        },
        ("radial" | "gaussian" | "box" | "tophat", _) => {
            return Err(bad("wrong number of ':'-separated parameters"))
        }
        _ => return Err(bad(&format!("unknown kernel kind '{kind}'"))),
    };
    build_kernel::<f64>(ks, normalize).map_err(|e| match e {
        ConvError::EvenKernelSize(n) => bad(&format!(
            "built-in kernels need an odd size (a centre pixel), got {n}"
        )),
        e => bad(&e.to_string()),
    })
}

fn normalise(mut k: Kernel<f64>, what: &str) -> anyhow::Result<Kernel<f64>> {
    let sum: f64 = k.data.iter().sum();
    if sum == 0.0 || !sum.is_finite() {
        bail!("{what}: kernel sum is {sum}; cannot normalise");
    }
    k.data.iter_mut().for_each(|v| *v /= sum);
    Ok(k)
}

fn read_kernel_file(rest: &str, normalize: bool) -> anyhow::Result<Kernel<f64>> {
    if rest.is_empty() {
        return Err(usage("kernel 'file:': give a path, e.g. file:kernel.txt"));
    }
    let is_h5 = |p: &str| p.ends_with(".h5") || p.ends_with(".hdf5");
    let (path, dataset) = match rest.rsplit_once(':') {
        Some((p, d)) if is_h5(p) => (p, d),
        _ if is_h5(rest) => (rest, "/kernel"),
        _ => (rest, ""),
    };
    let k = if dataset.is_empty() {
        let what = format!("kernel file '{path}'");
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {what}"))?;
        let mut rows: Vec<Vec<f64>> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let row: Vec<f64> = line
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty())
                .map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect::<Option<_>>()
                .with_context(|| format!("{what}, line {}: not a list of finite numbers", i + 1))?;
            if let Some(first) = rows.first() {
                if first.len() != row.len() {
                    bail!(
                        "{what}, line {}: {} values, the first row has {}",
                        i + 1,
                        row.len(),
                        first.len()
                    );
                }
            }
            rows.push(row);
        }
        if rows.is_empty() || rows[0].is_empty() {
            bail!("{what}: no kernel values");
        }
        Kernel {
            shape: Shape2::new(rows.len(), rows[0].len()),
            data: rows.concat(),
        }
    } else {
        let what = format!("kernel file '{path}', dataset '{dataset}'");
        let f =
            hdf5::File::open(path).with_context(|| format!("cannot open kernel file '{path}'"))?;
        let ds = f
            .dataset(dataset)
            .with_context(|| format!("{what}: no such dataset"))?;
        if ds.ndim() != 2 {
            bail!("{what}: {}-D dataset, a 2-D kernel is needed", ds.ndim());
        }
        let a = ds
            .read_2d::<f64>()
            .with_context(|| format!("reading {what}"))?;
        if a.is_empty() || a.iter().any(|v| !v.is_finite()) {
            bail!("{what}: empty or non-finite kernel");
        }
        Kernel {
            shape: Shape2::new(a.nrows(), a.ncols()),
            data: a.iter().copied().collect(),
        }
    };
    if normalize {
        normalise(k, &format!("kernel file '{path}'"))
    } else {
        Ok(k)
    }
}

fn parse_choice<T: Copy>(
    l: &Layered,
    key: &str,
    default: &str,
    choices: &[(&str, T)],
) -> anyhow::Result<T> {
    let v = l.string(key, default)?;
    choices
        .iter()
        .find(|(n, _)| *n == v)
        .map(|&(_, c)| c)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            usage(format!(
                "config key '{key}' (from {}): expected one of {}, got '{v}'",
                l.source_of(key),
                names.join(", ")
            ))
        })
}

impl ImageConfig {
    pub fn from_layered(l: &Layered) -> anyhow::Result<ImageConfig> {
        l.check_keys(&KEYS)?;
        let input = l.string("input", "")?;
        if input.is_empty() {
            return Err(usage(
                "no input image: give --input FILE (HDF5 or FITS) or the config key 'input'",
            ));
        }
        let dataset = l.string("dataset", "/image")?;
        if dataset.is_empty() {
            return Err(usage("config key 'dataset': empty dataset path"));
        }
        let normalize = l.boolean("normalize", false)?;
        let kernel_spec = l.string("kernel", "radial:15")?;
        let mode = parse_choice(
            l,
            "mode",
            "same",
            &[
                ("full", ConvMode::Full),
                ("same", ConvMode::Same),
                ("valid", ConvMode::Valid),
            ],
        )?;
        let boundary = parse_choice(
            l,
            "boundary",
            "zero",
            &[
                ("zero", Boundary::Zero),
                ("reflect", Boundary::Reflect),
                ("nearest", Boundary::Nearest),
            ],
        )?;
        let method = parse_choice(
            l,
            "method",
            "auto",
            &[
                ("auto", ConvMethod::Auto),
                ("direct", ConvMethod::Direct),
                ("fft", ConvMethod::Fft),
                ("naive", ConvMethod::Naive),
            ],
        )?;
        let tile = l.count_in("tile", 512, 1, 1 << 15)?;
        let convert = l.boolean("convert", false)?;
        let allow_nan = l.boolean("allow_nan", false)?;
        let threads = match l.get("threads") {
            Some(Value::String(s)) if s == "auto" => 0,
            _ => l.count_in("threads", 0, 0, 4096)? as usize,
        };
        let out = PathBuf::from(l.string("out", "conv.h5")?);
        if out.as_os_str().is_empty() {
            return Err(usage("config key 'out': empty output path"));
        }
        let backend = l.backend()?;
        // last: reading a kernel file is an input error (exit 1), after
        // every usage error has had its chance
        let kernel = parse_kernel(&kernel_spec, normalize)?;
        Ok(ImageConfig {
            input: PathBuf::from(input),
            dataset,
            kernel_spec,
            kernel,
            normalize,
            mode,
            boundary,
            method,
            tile: tile as usize,
            convert,
            allow_nan,
            threads,
            out,
            backend,
        })
    }

    /// The resolved configuration as TOML (stored in `/provenance/config`).
    pub fn to_toml(&self) -> String {
        let mut t = toml::Table::new();
        let s = |v: &str| Value::String(v.to_string());
        t.insert("input".into(), s(&self.input.display().to_string()));
        t.insert("dataset".into(), s(&self.dataset));
        t.insert("kernel".into(), s(&self.kernel_spec));
        t.insert("normalize".into(), Value::Boolean(self.normalize));
        t.insert("mode".into(), s(mode_name(self.mode)));
        t.insert("boundary".into(), s(boundary_name(self.boundary)));
        t.insert("method".into(), s(method_name(self.method)));
        t.insert("tile".into(), Value::Integer(self.tile as i64));
        t.insert("convert".into(), Value::Boolean(self.convert));
        t.insert("allow_nan".into(), Value::Boolean(self.allow_nan));
        t.insert("threads".into(), Value::Integer(self.threads as i64));
        t.insert("out".into(), s(&self.out.display().to_string()));
        t.insert("backend".into(), s(self.backend.name()));
        toml::to_string(&t).unwrap_or_default()
    }
}

/// The pixel type the job computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelType {
    F32,
    F64,
}

impl PixelType {
    pub fn name(self) -> &'static str {
        match self {
            PixelType::F32 => "f32",
            PixelType::F64 => "f64",
        }
    }
}

enum Source {
    H5(hdf5::Dataset),
    Fits(FitsImage),
}

/// An opened input image: its shape, type and where its pixels are.
pub struct InputImage {
    pub shape: Shape2,
    pub pixel: PixelType,
    /// "file 'x.h5', dataset '/image'" or "FITS file 'x.fits', HDU 0".
    pub what: String,
    source: Source,
}

impl InputImage {
    /// Opens and checks the input: a 2-D float dataset (integer ones with
    /// `convert`, read as f64) of an HDF5 file, or a FITS image HDU.
    pub fn open(path: &Path, dataset: &str, convert: bool) -> anyhow::Result<InputImage> {
        if !path.exists() {
            bail!("input file '{}' does not exist", path.display());
        }
        if fits::looks_like_fits(path) {
            let img = FitsImage::open(path, convert)?;
            let what = format!("FITS file '{}', HDU {}", path.display(), img.hdu);
            if img.rows == 0 || img.cols == 0 {
                bail!("{what}: the image is empty ({} x {})", img.rows, img.cols);
            }
            return Ok(InputImage {
                shape: Shape2::new(img.rows, img.cols),
                pixel: if img.is_f32() {
                    PixelType::F32
                } else {
                    PixelType::F64
                },
                what,
                source: Source::Fits(img),
            });
        }
        let what = format!("file '{}', dataset '{dataset}'", path.display());
        let f = hdf5::File::open(path).with_context(|| {
            format!(
                "cannot open input '{}' (neither HDF5 nor FITS?)",
                path.display()
            )
        })?;
        let ds = f
            .dataset(dataset)
            .with_context(|| format!("input {what}: no such dataset"))?;
        let shape = ds.shape();
        if shape.len() != 2 {
            bail!(
                "input {what}: {}-D dataset of shape {shape:?}; a 2-D image is needed",
                shape.len()
            );
        }
        if shape[0] == 0 || shape[1] == 0 {
            bail!(
                "input {what}: the image is empty ({} x {})",
                shape[0],
                shape[1]
            );
        }
        let desc = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .with_context(|| format!("input {what}: unreadable data type"))?;
        let pixel = match desc {
            TypeDescriptor::Float(hdf5::types::FloatSize::U4) => PixelType::F32,
            TypeDescriptor::Float(hdf5::types::FloatSize::U8) => PixelType::F64,
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) if convert => PixelType::F64,
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => bail!(
                "input {what}: integer pixels ({desc}); set convert = true (or --convert) to read them as f64"
            ),
            d => bail!("input {what}: unsupported pixel type {d}; float32 or float64 needed"),
        };
        Ok(InputImage {
            shape: Shape2::new(shape[0], shape[1]),
            pixel,
            what,
            source: Source::H5(ds),
        })
    }

    /// The pixels of window `w` (image coordinates), row-major.
    pub fn read_window<T: Real + H5Type>(&self, w: Region) -> anyhow::Result<Vec<T>> {
        if w.is_empty() {
            return Ok(Vec::new());
        }
        match &self.source {
            Source::H5(ds) => {
                let a = ds
                    .read_slice_2d::<T, _>(s![w.row0..w.row0 + w.rows, w.col0..w.col0 + w.cols])
                    .with_context(|| format!("reading input {}", self.what))?;
                let (v, _) = a.into_raw_vec_and_offset();
                Ok(v)
            }
            Source::Fits(img) => {
                let mut v = Vec::with_capacity(w.len());
                img.read_window(w.row0, w.col0, w.rows, w.cols, |x| v.push(T::of_f64(x)))?;
                Ok(v)
            }
        }
    }
}

/// What `run_job` returns on rank 0: enough for the summary and the bench.
#[derive(Clone, Debug)]
pub struct ImageReport {
    pub path: PathBuf,
    pub input: Shape2,
    pub output: Shape2,
    pub pixel: PixelType,
    pub stats: PixelStats,
    pub method_used: String,
    pub tiles: usize,
    pub timing_rows: Vec<Vec<f64>>,
    /// With the GPU backend, per rank: host-to-device, kernel and
    /// device-to-host seconds summed over its tiles (`/gpu_timings`).
    pub gpu_timing_rows: Option<Vec<Vec<f64>>>,
    /// `/provenance/device`: "cpu" or the GPUs with their rank counts.
    pub device: String,
    pub ranks: usize,
    pub threads: usize,
}

/// Rank-0 guard for the temporary output: removed on drop unless committed.
struct TempOutput {
    temp: PathBuf,
    armed: bool,
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.temp);
            crate::io::cleanup::unregister_temp_file(&self.temp);
        }
    }
}

/// Runs the job with a backend already resolved (before MPI, by the
/// binary, so `--backend gpu` without a device exits 2 early) and prints
/// the summary on rank 0.
pub fn run_on(
    cfg: &ImageConfig,
    backend: &Resolved,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<()> {
    if let Some(r) = run_job_on(cfg, backend, comm, read_seconds, command_line)? {
        print_summary(cfg, &r);
    }
    Ok(())
}

/// Runs the job on this rank on the backend `cfg.backend` resolves to;
/// `Some(report)` on rank 0.
pub fn run_job(
    cfg: &ImageConfig,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<Option<ImageReport>> {
    let backend = crate::gpu::resolve_backend(cfg.backend).map_err(usage)?;
    run_job_on(cfg, &backend, comm, read_seconds, command_line)
}

/// Runs the job on this rank with a resolved backend; `Some(report)` on
/// rank 0.
pub fn run_job_on(
    cfg: &ImageConfig,
    backend: &Resolved,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<Option<ImageReport>> {
    let mut timer = PhaseTimer::start();
    timer.add(Phase::Read, read_seconds);
    let rank = comm.rank();

    // rank 0 checks the input first so a bad input gives one message
    let first = timer.time(Phase::Read, || {
        comm.agree(if rank == 0 {
            InputImage::open(&cfg.input, &cfg.dataset, cfg.convert).map(Some)
        } else {
            Ok(None)
        })
    })?;
    let input = timer.time(Phase::Read, || {
        comm.agree(match first {
            Some(i) => Ok(i),
            None => InputImage::open(&cfg.input, &cfg.dataset, cfg.convert),
        })
    })?;
    // each rank opens the device of its node-local rank
    let device = crate::gpu::open_for_job("image", cfg.backend, backend, comm)?;
    let device = device.as_ref();
    if device.is_some() && !matches!(cfg.method, ConvMethod::Auto | ConvMethod::Direct) {
        say0!(
            "image: backend gpu convolves every tile by the direct method; method {} applies to the CPU backend only",
            method_name(cfg.method)
        );
    }
    match input.pixel {
        PixelType::F32 => run_typed::<f32>(cfg, comm, &input, device, timer, command_line),
        PixelType::F64 => run_typed::<f64>(cfg, comm, &input, device, timer, command_line),
    }
}

/// One tile's result: the pixels and their statistics.
struct TileResult<T> {
    tile: Region,
    pixels: Vec<T>,
    stats: PixelStats,
    method: ConvMethod,
}

/// Convolves a batch of tiles (with their input windows already read) on
/// the pool, one workspace per worker.
fn convolve_batch<T: Real + Send + Sync>(
    batch: Vec<(Region, Region, Vec<T>)>,
    cfg: &ImageConfig,
    image: Shape2,
    kernel: &[T],
    pool: &rayon::ThreadPool,
) -> Result<Vec<TileResult<T>>, ConvError> {
    pool.install(|| {
        batch
            .into_par_iter()
            .map_init(ConvScratch::<T>::new, |ws, (tile, window, src)| {
                let mut pixels = vec![T::zero(); tile.len()];
                let method = convolve_region(
                    &src,
                    window,
                    image,
                    kernel,
                    cfg.kernel.shape,
                    cfg.mode,
                    cfg.boundary,
                    tile,
                    &mut pixels,
                    cfg.method,
                    ws,
                )?;
                let stats = pixel_stats(&pixels);
                Ok(TileResult {
                    tile,
                    pixels,
                    stats,
                    method,
                })
            })
            .collect()
    })
}

/// Convolves a batch of tiles as padded tiles: each tile's boundary-extended
/// input (tile plus halo, as the CPU's direct method builds it) is made on
/// the pool, convolved by `convolve` one tile after another (on the GPU:
/// [`convolve_padded_gpu`], the direct method), and its statistics are
/// taken on the pool. Adds the transfer and kernel times to `timings`.
#[allow(clippy::type_complexity)]
fn convolve_batch_padded<T: Real + Send + Sync>(
    batch: Vec<(Region, Region, Vec<T>)>,
    cfg: &ImageConfig,
    image: Shape2,
    kernel: &[T],
    pool: &rayon::ThreadPool,
    mut convolve: impl FnMut(&[T], &[T], PaddedShape) -> anyhow::Result<(Vec<T>, ConvTimings)>,
    timings: &mut ConvTimings,
) -> anyhow::Result<Vec<TileResult<T>>> {
    let kshape = cfg.kernel.shape;
    let padded = pool.install(|| {
        batch
            .into_par_iter()
            .map(|(tile, window, src)| {
                extended_tile(&src, window, image, kshape, cfg.mode, cfg.boundary, tile)
                    .map(|ext| (tile, ext))
            })
            .collect::<Result<Vec<_>, ConvError>>()
    })?;
    let mut convolved = Vec::with_capacity(padded.len());
    for (tile, ext) in padded {
        let shape = PaddedShape {
            rows: tile.rows,
            cols: tile.cols,
            kh: kshape.rows,
            kw: kshape.cols,
        };
        let (pixels, t) = convolve(&ext, kernel, shape)
            .with_context(|| format!("convolving tile {tile:?} on the GPU"))?;
        timings.h2d += t.h2d;
        timings.kernel += t.kernel;
        timings.d2h += t.d2h;
        timings.strips += t.strips;
        convolved.push((tile, pixels));
    }
    Ok(pool.install(|| {
        convolved
            .into_par_iter()
            .map(|(tile, pixels)| TileResult {
                tile,
                stats: pixel_stats(&pixels),
                pixels,
                method: ConvMethod::Direct,
            })
            .collect()
    }))
}

fn run_typed<T: Real + ConvReal + H5Type + Send + Sync>(
    cfg: &ImageConfig,
    comm: &impl Comm,
    input: &InputImage,
    device: Option<&GpuDevice>,
    mut timer: PhaseTimer,
    command_line: &str,
) -> anyhow::Result<Option<ImageReport>> {
    let start_time = output::now_rfc3339();
    let rank = comm.rank();
    let size = comm.size();
    let image = input.shape;
    let kshape = cfg.kernel.shape;
    let kernel: Vec<T> = cfg.kernel.data.iter().map(|&v| T::of_f64(v)).collect();
    let oshape = output_shape(image, kshape, cfg.mode)?;
    let tiles = tile_grid(oshape, cfg.tile, cfg.tile);
    let threads = resolve_threads(cfg.threads, comm.node_size());
    let pool = build_pool(threads)?;
    say0!(
        "image: {} {} x {} ({}), kernel {} ({} x {}), mode {}, boundary {}, method {}; {} tiles of {}; {} ranks x {} threads",
        input.what,
        image.rows,
        image.cols,
        input.pixel.name(),
        cfg.kernel_spec,
        kshape.rows,
        kshape.cols,
        mode_name(cfg.mode),
        boundary_name(cfg.boundary),
        method_name(cfg.method),
        tiles.len(),
        cfg.tile,
        size,
        threads
    );

    // every rank must use rank 0's temporary name: share its process id
    let mut pid = [u64::from(std::process::id())];
    comm.broadcast_u64(&mut pid);
    let temp = temp_name(&cfg.out, pid[0]);
    // rank 0 probes the output path (a plain file) before any collective
    // HDF5 call, so an unwritable output fails cleanly everywhere
    let guard = comm.agree(if rank == 0 {
        probe_output(&cfg.out, &temp).map(|()| {
            crate::io::cleanup::register_temp_file(temp.clone());
            Some(TempOutput {
                temp: temp.clone(),
                armed: true,
            })
        })
    } else {
        Ok(None)
    })?;
    let file = timer.time(Phase::Write, || comm.agree(comm.create_parallel_h5(&temp)))?;
    let chunk = [cfg.tile.min(oshape.rows), cfg.tile.min(oshape.cols)];
    let dataset = timer.time(Phase::Write, || {
        comm.agree(
            file.new_dataset::<T>()
                .shape([oshape.rows, oshape.cols])
                .chunk(chunk)
                .create("convolved")
                .context("creating /convolved"),
        )
    })?;

    let (first, end) = timer.time(Phase::Scatter, || {
        let ranges = if rank == 0 {
            even_ranges(tiles.len() as u64, size)
        } else {
            Vec::new()
        };
        comm.scatter_ranges(&ranges)
    });
    let mine = &tiles[first as usize..end as usize];

    // batches bound memory to a few tiles per thread; HDF5 calls stay on this
    // (the MPI) thread, convolution runs on the pool
    let batch_len = (2 * threads).max(1);
    let mut local: Vec<f64> = Vec::with_capacity(mine.len() * 7);
    let mut gpu_times = ConvTimings::default();
    let mut work = || -> anyhow::Result<()> {
        for batch in mine.chunks(batch_len) {
            let read = timer.time(Phase::Read, || -> anyhow::Result<_> {
                batch
                    .iter()
                    .map(|&t| {
                        let w = input_window(image, kshape, cfg.mode, cfg.boundary, t)?;
                        let src = input.read_window::<T>(w)?;
                        if !cfg.allow_nan {
                            if let Some(i) = src.iter().position(|v| v.is_nan()) {
                                bail!(
                                    "input {}: NaN pixel at row {}, column {} (set allow_nan = true to let NaN propagate)",
                                    input.what,
                                    w.row0 + i / w.cols,
                                    w.col0 + i % w.cols
                                );
                            }
                        }
                        Ok((t, w, src))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })?;
            let done = timer.time(Phase::Compute, || match device {
                None => Ok(convolve_batch(read, cfg, image, &kernel, &pool)?),
                Some(dev) => convolve_batch_padded(
                    read,
                    cfg,
                    image,
                    &kernel,
                    &pool,
                    |ext, k, shape| convolve_padded_gpu(dev, ext, k, shape),
                    &mut gpu_times,
                ),
            })?;
            timer.time(Phase::Write, || -> anyhow::Result<()> {
                for r in &done {
                    let t = r.tile;
                    let view = ArrayView2::from_shape((t.rows, t.cols), &r.pixels)?;
                    dataset
                        .write_slice(view, s![t.row0..t.row0 + t.rows, t.col0..t.col0 + t.cols])
                        .with_context(|| format!("writing tile {t:?} of /convolved"))?;
                }
                Ok(())
            })?;
            for r in &done {
                local.extend(r.stats.to_array());
                local.push(if device.is_some() {
                    GPU_DIRECT
                } else {
                    method_code(r.method)
                });
            }
        }
        Ok(())
    };
    let result = work();
    let result = comm.agree(result);
    // closing a parallel file is collective: every rank, error or not
    drop(dataset);
    let closed = timer.time(Phase::Write, || file.close());
    result?;
    comm.agree(closed.context("closing the parallel HDF5 output"))?;

    let gathered = timer.time(Phase::Reduce, || comm.gather_f64(&local));
    let hosts = comm.gather_bytes(comm.host_name().as_bytes());
    let devices = crate::gpu::provenance_fields(device, comm);
    let gpu_rows = comm.gather_f64(&[gpu_times.h2d, gpu_times.kernel, gpu_times.d2h]);
    let timing_rows = comm.gather_f64(&timer.row());

    // below: rank 0 only, no collectives follow
    let (
        Some(gathered),
        Some(hosts),
        Some((backend_name, device_name)),
        Some(gpu_rows),
        Some(mut timing_rows),
        Some(mut guard),
    ) = (gathered, hosts, devices, gpu_rows, timing_rows, guard)
    else {
        return Ok(None);
    };
    let gpu_timing_rows = device.is_some().then_some(gpu_rows);
    let (stats, method_used) = timer.time(Phase::Reduce, || {
        let per_tile: Vec<&[f64]> = gathered.iter().flat_map(|v| v.chunks_exact(7)).collect();
        let stats: Vec<PixelStats> = per_tile
            .iter()
            .map(|c| PixelStats::from_array([c[0], c[1], c[2], c[3], c[4], c[5]]))
            .collect();
        let count = |code: f64| per_tile.iter().filter(|c| c[6] == code).count();
        let (direct, fft, gpu) = (count(1.0), count(2.0), count(GPU_DIRECT));
        let naive = per_tile.len() - direct - fft - gpu;
        let used = match (direct, fft, naive, gpu) {
            (_, 0, 0, 0) => "direct".to_string(),
            (0, _, 0, 0) => "fft".to_string(),
            (0, 0, _, 0) => "naive".to_string(),
            (0, 0, 0, _) => "gpu-direct".to_string(),
            _ => format!(
                "mixed: direct on {direct} tiles, fft on {fft}, naive on {naive}, GPU on {gpu}"
            ),
        };
        (PixelStats::merge_in_order(&stats), used)
    });
    let hosts: Vec<String> = hosts
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let provenance = Provenance {
        job: "image".into(),
        command_line: command_line.to_string(),
        config_toml: cfg.to_toml(),
        ranks: size,
        threads_per_rank: threads,
        backend: backend_name,
        device: device_name.clone(),
        mpi_library: comm.library_version(),
        hosts: output::summarise_hosts(&hosts),
        start_time,
        end_time: output::now_rfc3339(),
    };
    let mut finish = || -> anyhow::Result<PathBuf> {
        let t0 = Instant::now();
        let f = hdf5::File::open_rw(&temp)
            .with_context(|| format!("reopening '{}'", temp.display()))?;
        write_metadata(&f, cfg, input, oshape, &stats, &method_used, tiles.len())?;
        provenance.write(&f)?;
        timer.add(Phase::Write, t0.elapsed().as_secs_f64());
        timing_rows[0] = timer.row().to_vec();
        output::write_timings(&f, &timing_rows)?;
        if let Some(rows) = &gpu_timing_rows {
            output::write_gpu_timings(&f, rows)?;
        }
        f.close()?;
        std::fs::rename(&temp, &cfg.out)
            .with_context(|| format!("renaming '{}' to '{}'", temp.display(), cfg.out.display()))?;
        guard.armed = false;
        crate::io::cleanup::unregister_temp_file(&temp);
        Ok(cfg.out.clone())
    };
    let path = finish()
        .with_context(|| format!("writing '{}'", cfg.out.display()))
        .map_err(Coordinated)?;
    Ok(Some(ImageReport {
        path,
        input: image,
        output: oshape,
        pixel: input.pixel,
        stats,
        method_used,
        tiles: tiles.len(),
        timing_rows,
        gpu_timing_rows,
        device: device_name,
        ranks: size,
        threads,
    }))
}

fn temp_name(target: &Path, pid: u64) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    dir.join(format!(".{name}.tmp-{pid}"))
}

fn probe_output(target: &Path, temp: &Path) -> anyhow::Result<()> {
    if target.file_name().is_none() || target.is_dir() {
        bail!(
            "output path '{}' is a directory; give a file name",
            target.display()
        );
    }
    let dir = temp.parent().expect("temp path has a parent");
    if !dir.is_dir() {
        bail!(
            "cannot write output '{}': directory '{}' does not exist",
            target.display(),
            dir.display()
        );
    }
    std::fs::File::create(temp)
        .with_context(|| format!("cannot write output '{}'", target.display()))?;
    Ok(())
}

fn write_metadata(
    f: &hdf5::File,
    cfg: &ImageConfig,
    input: &InputImage,
    oshape: Shape2,
    stats: &PixelStats,
    method_used: &str,
    tiles: usize,
) -> anyhow::Result<()> {
    let ds = f.dataset("convolved")?;
    output::attr_str(&ds, "input", &input.what)?;
    output::attr_str(&ds, "kernel", &cfg.kernel_spec)?;
    output::attr_str(
        &ds,
        "normalize",
        if cfg.normalize { "true" } else { "false" },
    )?;
    output::attr_str(&ds, "mode", mode_name(cfg.mode))?;
    output::attr_str(&ds, "boundary", boundary_name(cfg.boundary))?;
    output::attr_str(&ds, "method_requested", method_name(cfg.method))?;
    output::attr_str(&ds, "method", method_used)?;
    output::attr_str(&ds, "pixel_type", input.pixel.name())?;
    for (name, v) in [
        ("tile", cfg.tile as u64),
        ("tiles", tiles as u64),
        ("input_rows", input.shape.rows as u64),
        ("input_cols", input.shape.cols as u64),
    ] {
        ds.new_attr::<u64>().create(name)?.write_scalar(&v)?;
    }
    let k = ndarray::Array2::from_shape_vec(
        (cfg.kernel.shape.rows, cfg.kernel.shape.cols),
        cfg.kernel.data.clone(),
    )?;
    let kd = f.new_dataset_builder().with_data(&k).create("kernel")?;
    output::attr_str(&kd, "spec", &cfg.kernel_spec)?;
    let g = f.create_group("stats")?;
    output::write_u64(&g, "count", stats.count())?;
    output::write_u64(&g, "nan_count", oshape.len() as u64 - stats.count())?;
    output::write_f64(&g, "sum", stats.sum)?;
    output::write_f64(&g, "mean", stats.moments.mean)?;
    output::write_f64(&g, "variance", stats.variance())?;
    output::write_f64(&g, "m2", stats.moments.m2)?;
    output::write_f64(&g, "min", stats.min)?;
    output::write_f64(&g, "max", stats.max)?;
    output::attr_str(
        &g,
        "description",
        "statistics of /convolved over its non-NaN pixels; variance = m2 / count (population)",
    )?;
    Ok(())
}

fn print_summary(cfg: &ImageConfig, r: &ImageReport) {
    let t = &r.timing_rows[0];
    println!(
        "input       {} x {} ({})",
        r.input.rows,
        r.input.cols,
        r.pixel.name()
    );
    println!(
        "kernel      {} ({} x {}), mode {}, boundary {}",
        cfg.kernel_spec,
        cfg.kernel.shape.rows,
        cfg.kernel.shape.cols,
        mode_name(cfg.mode),
        boundary_name(cfg.boundary)
    );
    println!(
        "output      {} x {} in {} tiles of {}; method {}",
        r.output.rows, r.output.cols, r.tiles, cfg.tile, r.method_used
    );
    println!(
        "stats       sum {:.10e}, mean {:.10e}, variance {:.10e}, min {:.6e}, max {:.6e}",
        r.stats.sum,
        r.stats.moments.mean,
        r.stats.variance(),
        r.stats.min,
        r.stats.max
    );
    println!(
        "time        {:.3} s total; rank 0: read {:.3} s, compute {:.3} s, write {:.3} s on {} ranks x {} threads",
        t[Phase::Total as usize],
        t[Phase::Read as usize],
        t[Phase::Compute as usize],
        t[Phase::Write as usize],
        r.ranks,
        r.threads
    );
    if let Some(g) = &r.gpu_timing_rows {
        let sum = |k: usize| g.iter().map(|row| row[k]).sum::<f64>();
        println!("gpu         {}", r.device);
        println!(
            "gpu time    rank 0: host-to-device {:.3} s, kernel {:.3} s, device-to-host {:.3} s; all ranks: {:.3} s, {:.3} s, {:.3} s",
            g[0][0],
            g[0][1],
            g[0][2],
            sum(0),
            sum(1),
            sum(2)
        );
    }
    println!("output      {}", r.path.display());
}

// ---------------------------------------------------------------- synth

/// Kinds of synthetic images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthKind {
    /// The lecture's delta grid: 1 at `[8::16, 8::16]`, else 0.
    Deltas,
    /// Uniform (0, 1) from Philox stream `row` under `seed`.
    Random,
    /// `(r + 2 c) / (rows + 2 cols)`.
    Gradient,
}

/// Pixel `(r, c)` of a synthetic image (row `r` of `Random` drawn in order).
fn synth_row(kind: SynthKind, seed: u64, r: usize, rows: usize, cols: usize, out: &mut Vec<f64>) {
    out.clear();
    match kind {
        SynthKind::Deltas => {
            out.extend((0..cols).map(|c| if r % 16 == 8 && c % 16 == 8 { 1.0 } else { 0.0 }))
        }
        SynthKind::Random => {
            let mut s = PhiloxStream::new(seed, r as u64);
            out.extend((0..cols).map(|_| s.next_unit()));
        }
        SynthKind::Gradient => {
            let d = (rows + 2 * cols) as f64;
            out.extend((0..cols).map(|c| (r as f64 + 2.0 * c as f64) / d));
        }
    }
}

/// Validated `synth image` arguments.
#[derive(Clone, Debug)]
pub struct SynthImage {
    pub kind: SynthKind,
    pub rows: usize,
    pub cols: usize,
    /// "f32", "f64" or "i16" (integers: round(1000 * value)).
    pub dtype: String,
    pub seed: u64,
    pub out: PathBuf,
    pub dataset: String,
    pub fits: bool,
}

impl SynthImage {
    pub fn from_args(a: &SynthImageArgs) -> anyhow::Result<SynthImage> {
        let kind = match a.kind.as_str() {
            "deltas" => SynthKind::Deltas,
            "random" => SynthKind::Random,
            "gradient" => SynthKind::Gradient,
            k => {
                return Err(usage(format!(
                    "--kind '{k}': expected deltas, random or gradient"
                )))
            }
        };
        let rows = a.rows.or(a.size).unwrap_or(4096);
        let cols = a.cols.or(a.size).unwrap_or(4096);
        if rows == 0 || cols == 0 || rows > 1 << 20 || cols > 1 << 20 {
            return Err(usage(format!(
                "image size {rows} x {cols}: rows and columns must be between 1 and 1048576"
            )));
        }
        if !matches!(a.dtype.as_str(), "f32" | "f64" | "i16") {
            return Err(usage(format!(
                "--dtype '{}': expected f32, f64 or i16",
                a.dtype
            )));
        }
        let fits = match a.format.as_str() {
            "hdf5" => false,
            "fits" => true,
            f => return Err(usage(format!("--format '{f}': expected hdf5 or fits"))),
        };
        Ok(SynthImage {
            kind,
            rows,
            cols,
            dtype: a.dtype.clone(),
            seed: a.seed,
            out: a.out.clone(),
            dataset: a.dataset.clone(),
            fits,
        })
    }
}

/// Writes the synthetic image band by band (at most 256 rows in memory),
/// under a temporary name renamed when complete.
pub fn synth(s: &SynthImage) -> anyhow::Result<()> {
    const BAND: usize = 256;
    let mut row = Vec::with_capacity(s.cols);
    if s.fits {
        let temp = temp_name(&s.out, u64::from(std::process::id()));
        probe_output(&s.out, &temp)?;
        crate::io::cleanup::register_temp_file(temp.clone());
        let mut guard = TempOutput {
            temp: temp.clone(),
            armed: true,
        };
        let mut f = std::io::BufWriter::new(std::fs::File::create(&temp)?);
        let bitpix = match s.dtype.as_str() {
            "f32" => -32,
            "f64" => -64,
            _ => 16,
        };
        fits::write_image(&mut f, bitpix, s.rows, s.cols, |r, buf| {
            synth_row(s.kind, s.seed, r, s.rows, s.cols, &mut row);
            for &v in &row {
                match bitpix {
                    -32 => buf.extend_from_slice(&(v as f32).to_be_bytes()),
                    -64 => buf.extend_from_slice(&v.to_be_bytes()),
                    _ => buf.extend_from_slice(&((v * 1000.0).round() as i16).to_be_bytes()),
                }
            }
        })?;
        std::io::Write::flush(&mut f)?;
        drop(f);
        std::fs::rename(&temp, &s.out)
            .with_context(|| format!("renaming to '{}'", s.out.display()))?;
        guard.armed = false;
        crate::io::cleanup::unregister_temp_file(&temp);
        return Ok(());
    }
    let out = AtomicH5::create(&s.out)?;
    let chunk = [s.rows.min(BAND), s.cols.min(BAND)];
    fn write_bands<U: H5Type + Copy>(
        ds: &hdf5::Dataset,
        s: &SynthImage,
        row: &mut Vec<f64>,
        conv: impl Fn(f64) -> U,
    ) -> anyhow::Result<()> {
        let mut band: Vec<U> = Vec::with_capacity(BAND * s.cols);
        for r0 in (0..s.rows).step_by(BAND) {
            let r1 = (r0 + BAND).min(s.rows);
            band.clear();
            for r in r0..r1 {
                synth_row(s.kind, s.seed, r, s.rows, s.cols, row);
                band.extend(row.iter().map(|&v| conv(v)));
            }
            let view = ArrayView2::from_shape((r1 - r0, s.cols), &band)?;
            ds.write_slice(view, s![r0..r1, ..])?;
        }
        Ok(())
    }
    let f = out.file();
    let name = s.dataset.trim_start_matches('/');
    let (kind, dtype) = (s.kind, s.dtype.as_str());
    match dtype {
        "f32" => {
            let ds = f
                .new_dataset::<f32>()
                .shape([s.rows, s.cols])
                .chunk(chunk)
                .create(name)?;
            write_bands(&ds, s, &mut row, |v| v as f32)?;
        }
        "f64" => {
            let ds = f
                .new_dataset::<f64>()
                .shape([s.rows, s.cols])
                .chunk(chunk)
                .create(name)?;
            write_bands(&ds, s, &mut row, |v| v)?;
        }
        _ => {
            let ds = f
                .new_dataset::<i16>()
                .shape([s.rows, s.cols])
                .chunk(chunk)
                .create(name)?;
            write_bands(&ds, s, &mut row, |v| (v * 1000.0).round() as i16)?;
        }
    }
    let ds = f.dataset(name)?;
    output::attr_str(&ds, "kind", &format!("{kind:?}").to_lowercase())?;
    ds.new_attr::<u64>().create("seed")?.write_scalar(&s.seed)?;
    let path = out.commit()?;
    say0!(
        "synth: wrote {:?} image {} x {} ({}) to {}",
        kind,
        s.rows,
        s.cols,
        dtype,
        path.display()
    );
    Ok(())
}

/// The synthetic image in memory (for benchmarks and tests).
pub fn synth_in_memory<T: Real>(kind: SynthKind, seed: u64, rows: usize, cols: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(rows * cols);
    let mut row = Vec::with_capacity(cols);
    for r in 0..rows {
        synth_row(kind, seed, r, rows, cols, &mut row);
        v.extend(row.iter().map(|&x| T::of_f64(x)));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_specs_parse_and_even_sizes_are_usage_errors() {
        let k = parse_kernel("radial:15", false).unwrap();
        assert_eq!(k.shape, Shape2::new(15, 15));
        assert_eq!(k.data[0], 8f64.sqrt());
        assert_eq!(k.data[7 * 15 + 7], 0.0);
        let g = parse_kernel("gaussian:2.5:9", true).unwrap();
        assert!((g.data.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(parse_kernel("box:3", false).unwrap().data, vec![1.0; 9]);
        assert_eq!(
            parse_kernel("tophat:1", false).unwrap().data,
            vec![0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0]
        );
        for bad in ["radial:14", "box:0", "gaussian:1", "blur:3", "radial:x"] {
            let e = parse_kernel(bad, false).unwrap_err();
            assert!(
                e.downcast_ref::<crate::config::UsageError>().is_some(),
                "{bad}: {e}"
            );
        }
        let e = parse_kernel("radial:4", false).unwrap_err().to_string();
        assert!(e.contains("odd"), "{e}");
    }

    #[test]
    fn text_kernel_file_is_read_even_sized() {
        let p = std::env::temp_dir().join(format!("tessera-k-{}.txt", std::process::id()));
        std::fs::write(&p, "# a 2x3 kernel\n1 2 3\n4, 5, 6\n").unwrap();
        let k = parse_kernel(&format!("file:{}", p.display()), false).unwrap();
        assert_eq!(k.shape, Shape2::new(2, 3));
        assert_eq!(k.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        std::fs::write(&p, "1 2\n3\n").unwrap();
        let e = parse_kernel(&format!("file:{}", p.display()), false).unwrap_err();
        assert!(e.downcast_ref::<crate::config::UsageError>().is_none());
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn shipped_config_is_valid() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/image.toml");
        let l = Layered::from_file(Some(Path::new(path))).unwrap();
        let c = ImageConfig::from_layered(&l).unwrap();
        assert_eq!(
            (c.mode, c.boundary, c.method),
            (ConvMode::Same, Boundary::Zero, ConvMethod::Auto)
        );
        assert_eq!(c.kernel.shape, Shape2::new(15, 15));
        assert_eq!(c.tile, 512);
    }

    /// The GPU hook-up without a GPU: tiles padded by `extended_tile` and
    /// convolved by the GPU kernel's CPU twin give the CPU direct method's
    /// tiles for every mode and boundary, bit for bit where both use FMA
    /// (required: 1e-13 relative to the output's scale).
    #[test]
    fn padded_tiles_through_the_twin_match_the_direct_method() {
        use crate::gpu::conv::convolve_padded_cpu;
        let pool = build_pool(2).unwrap();
        let image = Shape2::new(45, 38);
        let img = synth_in_memory::<f64>(SynthKind::Random, 4, image.rows, image.cols);
        for (kspec, tile) in [("gaussian:1.5:7", 16), ("radial:15", 11), ("box:3", 64)] {
            for mode in [ConvMode::Full, ConvMode::Same, ConvMode::Valid] {
                for boundary in [Boundary::Zero, Boundary::Reflect, Boundary::Nearest] {
                    let mut l = Layered::default();
                    l.set("input", Value::String("unused.h5".into()), "test");
                    l.set("kernel", Value::String(kspec.into()), "test");
                    l.set("method", Value::String("direct".into()), "test");
                    let mut cfg = ImageConfig::from_layered(&l).unwrap();
                    (cfg.mode, cfg.boundary, cfg.tile) = (mode, boundary, tile);
                    let k = cfg.kernel.data.clone();
                    let oshape = output_shape(image, cfg.kernel.shape, mode).unwrap();
                    let batch = || -> Vec<(Region, Region, Vec<f64>)> {
                        tile_grid(oshape, tile, tile)
                            .into_iter()
                            .map(|t| {
                                let w = input_window(image, cfg.kernel.shape, mode, boundary, t)
                                    .unwrap();
                                let src = (0..w.rows)
                                    .flat_map(|r| {
                                        let a = (w.row0 + r) * image.cols + w.col0;
                                        img[a..a + w.cols].to_vec()
                                    })
                                    .collect();
                                (t, w, src)
                            })
                            .collect()
                    };
                    let direct = convolve_batch(batch(), &cfg, image, &k, &pool).unwrap();
                    let mut times = ConvTimings::default();
                    let twin = convolve_batch_padded(
                        batch(),
                        &cfg,
                        image,
                        &k,
                        &pool,
                        |e, k, s| Ok((convolve_padded_cpu(e, k, s), ConvTimings::default())),
                        &mut times,
                    )
                    .unwrap();
                    assert_eq!(direct.len(), twin.len());
                    for (a, b) in direct.iter().zip(&twin) {
                        assert_eq!(a.tile, b.tile);
                        let scale = a.pixels.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
                        let d = a
                            .pixels
                            .iter()
                            .zip(&b.pixels)
                            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
                        assert!(
                            d <= 1e-13 * scale,
                            "{kspec} {mode:?} {boundary:?} tile {:?}: {d:e}",
                            a.tile
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn deltas_follow_the_lecture_grid() {
        let v = synth_in_memory::<f64>(SynthKind::Deltas, 0, 32, 32);
        assert_eq!(v.iter().sum::<f64>(), 4.0);
        assert_eq!(v[8 * 32 + 8], 1.0);
        assert_eq!(v[24 * 32 + 24], 1.0);
    }
}
