//! Command-line interface (argument layer): clap definitions and their
//! translation into validated job configurations. Nothing here starts MPI or
//! touches a GPU, so `--help` and `--version` are instant everywhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use toml::Value;

use crate::config::Layered;
use crate::jobs::image::ImageConfig;
use crate::jobs::mc::McConfig;

const AFTER_HELP: &str = "\
Run it plainly (one rank) or under MPI:
  tessera mc --integrand pi --samples 1e9
  mpirun -n 4 tessera mc --config configs/mc.toml --set samples=1e12
On a SLURM cluster use srun (see slurm/README.md).

Exit codes: 0 success; 1 runtime failure (unreadable input, unwritable output,
a failing rank); 2 usage or configuration error (nothing is computed or written).";

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "SPMD Monte Carlo, light-curve and image-tile analysis for astronomy (MPI + rayon)",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Monte Carlo integration over a box, with the estimator's variance.
    ///
    /// Estimates I = integral of f over the box [lo_1, hi_1] x ... x [lo_n, hi_n]
    /// as V * mean(f(x_k)) with x_k uniform, and reports the variance V^2 s^2 / M,
    /// the standard error, the exact value and the z-score. Samples are drawn in
    /// fixed blocks from Philox4x32-10 streams keyed by (seed, block), so the
    /// result is bit-identical for any number of ranks and threads.
    ///
    /// Settings come from --config FILE, then the flags below, then --set
    /// key=value (later wins). Output: an HDF5 file with /montecarlo,
    /// /provenance and /timings (see README).
    Mc(McArgs),
    /// Tiled 2-D convolution of an image (HDF5 dataset or FITS HDU).
    ///
    /// The output of --mode (full, same, valid, as scipy.signal.convolve2d) is
    /// cut into fixed tiles; each rank reads only its tiles' input windows
    /// (tile plus kernel halo) from the input and writes its tiles into one
    /// HDF5 file through parallel HDF5. The result is bit-identical for any
    /// number of ranks and threads. Output: /convolved (same type as the
    /// input), /stats, /kernel, /provenance, /timings (see docs/image.md).
    Image(ImageArgs),
    /// Write synthetic test inputs.
    #[command(subcommand)]
    Synth(SynthCommand),
    /// Benchmarks: throughput figures printed with their units.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args, Clone, Default)]
pub struct McArgs {
    /// TOML config file (see configs/mc.toml for every key, commented).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override any config key, e.g. --set samples=1e12 --set bounds=[[0,2]] (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Integrand: norm2 (sum x_i^2, exact n/3 on the unit cube), pi (4 x quarter-disc
    /// indicator on the unit square, exact pi), gaussian (exp(-|x|^2/2)),
    /// cosprod (prod cos x_i). [default: norm2]
    #[arg(long)]
    pub integrand: Option<String>,
    /// Number of dimensions n. [default: 2]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub dims: Option<String>,
    /// Box bounds as lo:hi for all dimensions, or one lo:hi per dimension
    /// separated by commas, e.g. "-1:1" or "0:1,0:2". [default: 0:1]
    #[arg(long, value_name = "LO:HI[,LO:HI...]", allow_hyphen_values = true)]
    pub bounds: Option<String>,
    /// Total samples M; scientific notation is fine (1e12). [default: 1e8]
    #[arg(long, value_name = "M", allow_hyphen_values = true)]
    pub samples: Option<String>,
    /// Random seed (the Philox key). [default: 0]
    #[arg(long, allow_hyphen_values = true)]
    pub seed: Option<String>,
    /// Samples per block, the unit of work and of reproducibility; "auto" picks
    /// a power of two from M alone (2^16 .. 2^26). [default: auto]
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub block_size: Option<String>,
    /// Rayon threads per rank; 0 or auto = SLURM_CPUS_PER_TASK, else cores per
    /// node / ranks per node. [default: auto]
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub threads: Option<String>,
    /// Output HDF5 file (written under a temporary name, renamed when complete). [default: mc.h5]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl McArgs {
    /// Config file, then flags, then `--set`.
    pub fn layered(&self) -> anyhow::Result<Layered> {
        let mut l = Layered::from_file(self.config.as_deref())?;
        let flags: [(&str, &Option<String>); 7] = [
            ("integrand", &self.integrand),
            ("dims", &self.dims),
            ("bounds", &self.bounds),
            ("samples", &self.samples),
            ("seed", &self.seed),
            ("block_size", &self.block_size),
            ("threads", &self.threads),
        ];
        for (key, value) in flags {
            if let Some(v) = value {
                l.set(key, flag_value(v), format!("--{}", key.replace('_', "-")));
            }
        }
        if let Some(out) = &self.out {
            l.set("out", Value::String(out.display().to_string()), "--out");
        }
        l.apply_sets(&self.set)?;
        Ok(l)
    }

    pub fn to_config(&self) -> anyhow::Result<McConfig> {
        McConfig::from_layered(&self.layered()?)
    }
}

/// A flag's text as a config value: integers stay integers (so "-3" is
/// reported as -3), everything else stays text for the key's own parser.
fn flag_value(s: &str) -> Value {
    s.trim()
        .parse::<i64>()
        .map(Value::Integer)
        .unwrap_or_else(|_| Value::String(s.to_string()))
}

#[derive(Debug, Args, Clone, Default)]
pub struct ImageArgs {
    /// TOML config file (see configs/image.toml for every key, commented).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override any config key, e.g. --set tile=256 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Input image: an HDF5 file (see --dataset) or a FITS file (first image HDU).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// HDF5 dataset holding the 2-D image. [default: /image]
    #[arg(long, value_name = "PATH")]
    pub dataset: Option<String>,
    /// Kernel: radial:SIZE (the lecture's sqrt(x^2+y^2) on linspace(-2, 2)),
    /// gaussian:SIGMA:SIZE, box:SIZE, tophat:RADIUS[:SIZE] (odd sizes), or
    /// file:PATH (text rows of numbers, or PATH.h5[:/dataset]). [default: radial:15]
    #[arg(long, value_name = "SPEC")]
    pub kernel: Option<String>,
    /// Normalise the kernel to unit sum.
    #[arg(long)]
    pub normalize: bool,
    /// Output mode: full, same, valid (scipy.signal.convolve2d's). [default: same]
    #[arg(long)]
    pub mode: Option<String>,
    /// Pixels outside the image: zero (convolve2d fill, fillvalue=0), reflect
    /// (convolve2d symm), nearest (ndimage nearest). [default: zero]
    #[arg(long)]
    pub boundary: Option<String>,
    /// Algorithm: auto (cost model), direct, fft, naive. [default: auto]
    #[arg(long)]
    pub method: Option<String>,
    /// Tile edge in output pixels (fixed tiles, independent of ranks). [default: 512]
    #[arg(long, value_name = "PIXELS")]
    pub tile: Option<String>,
    /// Allow integer inputs, read as f64.
    #[arg(long)]
    pub convert: bool,
    /// Let NaN input pixels propagate instead of failing.
    #[arg(long)]
    pub allow_nan: bool,
    /// Rayon threads per rank; 0 or auto as for mc. [default: auto]
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub threads: Option<String>,
    /// Output HDF5 file (written under a temporary name, renamed when complete). [default: conv.h5]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl ImageArgs {
    /// Config file, then flags, then `--set`.
    pub fn layered(&self) -> anyhow::Result<Layered> {
        let mut l = Layered::from_file(self.config.as_deref())?;
        let flags: [(&str, &Option<String>); 7] = [
            ("dataset", &self.dataset),
            ("kernel", &self.kernel),
            ("mode", &self.mode),
            ("boundary", &self.boundary),
            ("method", &self.method),
            ("tile", &self.tile),
            ("threads", &self.threads),
        ];
        for (key, value) in flags {
            if let Some(v) = value {
                let v = if key == "dataset" || key == "kernel" {
                    Value::String(v.clone())
                } else {
                    flag_value(v)
                };
                l.set(key, v, format!("--{}", key.replace('_', "-")));
            }
        }
        for (key, on) in [
            ("normalize", self.normalize),
            ("convert", self.convert),
            ("allow_nan", self.allow_nan),
        ] {
            if on {
                l.set(
                    key,
                    Value::Boolean(true),
                    format!("--{}", key.replace('_', "-")),
                );
            }
        }
        if let Some(p) = &self.input {
            l.set("input", Value::String(p.display().to_string()), "--input");
        }
        if let Some(out) = &self.out {
            l.set("out", Value::String(out.display().to_string()), "--out");
        }
        l.apply_sets(&self.set)?;
        Ok(l)
    }

    pub fn to_config(&self) -> anyhow::Result<ImageConfig> {
        ImageConfig::from_layered(&self.layered()?)
    }
}

#[derive(Debug, Subcommand)]
pub enum SynthCommand {
    /// A test image: the lecture's delta grid (1 at [8::16, 8::16]), uniform
    /// random values (Philox, reproducible) or a gradient, written band by
    /// band to an HDF5 dataset or a FITS primary HDU. Run it plainly (one process).
    Image(SynthImageArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SynthImageArgs {
    /// deltas, random or gradient.
    #[arg(long, default_value = "deltas")]
    pub kind: String,
    /// Rows and columns (square image). [default: 4096]
    #[arg(long, value_name = "N")]
    pub size: Option<usize>,
    /// Rows (overrides --size).
    #[arg(long, value_name = "N")]
    pub rows: Option<usize>,
    /// Columns (overrides --size).
    #[arg(long, value_name = "N")]
    pub cols: Option<usize>,
    /// Pixel type: f32, f64, or i16 (round(1000 * value); needs --convert to convolve).
    #[arg(long, default_value = "f64")]
    pub dtype: String,
    /// Seed of the random kind.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file.
    #[arg(long, value_name = "FILE", default_value = "image.h5")]
    pub out: PathBuf,
    /// HDF5 dataset path.
    #[arg(long, value_name = "PATH", default_value = "/image")]
    pub dataset: String,
    /// hdf5 or fits.
    #[arg(long, default_value = "hdf5")]
    pub format: String,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Monte Carlo throughput: samples per second per core for n = 2 and n = 10
    /// (f64), one thread on one rank, then all ranks, then all threads.
    ///
    /// Run plainly for the per-core figure, or under `mpirun -n 2 --bind-to none`
    /// to also measure the speed-up of 2 ranks over 1 in the same run.
    Mc(BenchMcArgs),
    /// The lecture's image case: convolution-only time (in memory, 1 thread
    /// and all threads) and the whole run including HDF5 read and write, for
    /// f64 and f32. Run it plainly.
    Image(BenchImageArgs),
}

#[derive(Debug, Args, Clone)]
pub struct BenchImageArgs {
    /// Image edge (the deltas image, square).
    #[arg(long, default_value_t = 4096)]
    pub size: usize,
    /// Kernel spec.
    #[arg(long, default_value = "radial:15")]
    pub kernel: String,
    /// Tile edge.
    #[arg(long, default_value_t = 512)]
    pub tile: usize,
    /// Method: auto, direct or fft.
    #[arg(long, default_value = "auto")]
    pub method: String,
    /// Repetitions per measurement; the best is reported.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Directory for the temporary input and output files.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct BenchMcArgs {
    /// Samples per measurement and dimension count (scientific notation is fine).
    #[arg(long, default_value = "4e8", value_name = "M")]
    pub samples: String,
    /// Dimension counts to measure, comma separated.
    #[arg(long, default_value = "2,10", value_delimiter = ',')]
    pub dims: Vec<usize>,
    /// Repetitions per measurement; the best is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Integrand to time.
    #[arg(long, default_value = "norm2")]
    pub integrand: String,
}
