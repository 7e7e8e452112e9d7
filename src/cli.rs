//! Command-line interface (argument layer): clap definitions and their
//! translation into validated job configurations. Nothing here starts MPI or
//! touches a GPU, so `--help` and `--version` are instant everywhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use toml::Value;

use crate::config::Layered;
use crate::jobs::image::ImageConfig;
use crate::jobs::mc::McConfig;
use crate::scaling::study::{Launcher, Mode};

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
    /// Light-curve features, periods and structure functions for every object.
    ///
    /// Reads a light-curve file (tessera ingest csv / tessera synth lightcurves),
    /// cleans each object's bands (non-finite, non-positive errors, duplicate times,
    /// sigma clipping, optional detrending and normalisation), extracts 39 features,
    /// the generalised Lomb-Scargle period with its false-alarm probability, the
    /// multiband period, a period refined against daily/yearly aliases by a
    /// multi-harmonic fit, a phase-folded summary and structure-function fits.
    /// Rank 0 hands out fixed tiles of objects; every rank writes its rows into one
    /// HDF5 file through MPI-IO. Output identical for any ranks and threads.
    Lightcurves(LcArgs),
    /// Turn external data into tessera input files.
    #[command(subcommand)]
    Ingest(IngestCommand),
    /// Write synthetic inputs with known answers (tests, scaling runs).
    #[command(subcommand)]
    Synth(SynthCommand),
    /// Write the feature table of a `tessera lightcurves` output as CSV (one row per
    /// object and band, plus a `multi` row per object) for pandas.
    Export(ExportArgs),
    /// Tiled 2-D convolution of an image (HDF5 dataset or FITS HDU).
    ///
    /// The output of --mode (full, same, valid, as scipy.signal.convolve2d) is
    /// cut into fixed tiles; each rank reads only its tiles' input windows
    /// (tile plus kernel halo) from the input and writes its tiles into one
    /// HDF5 file through parallel HDF5. The result is bit-identical for any
    /// number of ranks and threads. Output: /convolved (same type as the
    /// input), /stats, /kernel, /provenance, /timings (see docs/image.md).
    Image(ImageArgs),
    /// Benchmarks: throughput figures printed with their units.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The CUDA backend: what is installed, and a kernel compile check.
    #[command(subcommand)]
    Gpu(GpuCommand),
    /// Scaling study: run a job at several rank counts (strong: fixed total
    /// work; weak: work proportional to ranks) with mpirun here or one sbatch
    /// job per point, then write the report.
    ///
    /// Example: tessera scale --job mc --ranks 1,2,4 --mode both --repeat 3
    /// --out-dir out/scaling. Outputs are named JOB-MODE-pRANKS-rREPEAT.h5.
    Scale(ScaleArgs),
    /// Scaling report from HDF5 outputs alone (/provenance, /timings):
    /// Markdown and CSV tables, PNG and SVG plots, Amdahl fit.
    ///
    /// Runs are grouped into series by themselves: the same total work at
    /// several rank counts is a strong series, the same work per rank a weak
    /// one. Repeats at one rank count keep the fastest run.
    Report(ReportArgs),
}

#[derive(Debug, Subcommand)]
pub enum GpuCommand {
    /// Prints what the GPU probe finds: the CUDA driver and NVRTC libraries,
    /// each device with its compute capability and memory, and whether
    /// `--backend gpu` would work. Exit 0 either way.
    Info,
    /// Compiles every kernel in kernels/ with NVRTC (no device needed) and
    /// prints the PTX sizes; exit 1 if NVRTC is missing or a kernel fails.
    CompileKernels {
        /// Virtual architecture, e.g. compute_80. [default: NVRTC's]
        #[arg(long)]
        arch: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// A directory of CSV light curves, one file per object (the file stem is the
    /// object id), columns time,mag,magerr,band (or flux,fluxerr instead of mag,magerr;
    /// other columns ignored), into one HDF5 light-curve file.
    Csv(IngestCsvArgs),
}

#[derive(Debug, Args, Clone)]
pub struct IngestCsvArgs {
    /// Directory holding the *.csv files.
    pub dir: PathBuf,
    /// Output light-curve file.
    #[arg(long, default_value = "lc.h5")]
    pub out: PathBuf,
    /// Record malformed files in /lightcurves/rejects and go on, instead of stopping
    /// at the first one.
    #[arg(long)]
    pub skip_bad: bool,
}

#[derive(Debug, Subcommand)]
pub enum SynthCommand {
    /// N light curves with known periods: sinusoids and RR Lyrae-like sawtooth shapes,
    /// irregular sampling with seasonal gaps, several bands, heteroscedastic noise,
    /// optional outliers. Object i depends only on (seed, i).
    Lightcurves(SynthLcArgs),
    /// A test image: the lecture's delta grid (1 at [8::16, 8::16]), uniform
    /// random values (Philox, reproducible) or a gradient, written band by
    /// band to an HDF5 dataset or a FITS primary HDU. Run it plainly (one process).
    Image(SynthImageArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SynthLcArgs {
    /// Number of objects (1e7 notation accepted).
    #[arg(long, short = 'n', default_value = "1000")]
    pub objects: String,
    /// Band names, comma separated.
    #[arg(long, default_value = "g,r,i")]
    pub bands: String,
    /// Mean epochs per object (every band is observed at each epoch).
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    /// Time span in days.
    #[arg(long, default_value_t = 3000.0)]
    pub baseline: f64,
    /// Shortest and longest period, days (log-uniform between).
    #[arg(long, default_value_t = 0.2)]
    pub period_min: f64,
    #[arg(long, default_value_t = 1.0)]
    pub period_max: f64,
    /// Fraction of each year observed (1 = no seasonal gaps).
    #[arg(long, default_value_t = 0.5)]
    pub season: f64,
    /// Fraction of outlier points.
    #[arg(long, default_value_t = 0.0)]
    pub outliers: f64,
    /// Typical photometric error, mag.
    #[arg(long, default_value_t = 0.02)]
    pub noise: f64,
    /// Fraction of RR Lyrae-like sawtooth shapes.
    #[arg(long, default_value_t = 0.5)]
    pub sawtooth: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value = "lc.h5")]
    pub out: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// A features file written by tessera lightcurves.
    pub input: PathBuf,
    /// CSV file to write.
    #[arg(long)]
    pub csv: PathBuf,
}

#[derive(Debug, Args, Clone, Default)]
pub struct LcArgs {
    /// TOML config file (see configs/lightcurves.toml for every key, commented).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override any config key, e.g. --set sigma_clip=4 --set min_period=0.2 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Input light-curve file.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Output features file. [default: features.h5]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Rayon threads per rank (0 = auto). [default: auto]
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub threads: Option<String>,
    /// Objects per tile, the unit of hand-out. [default: 256]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub tile: Option<String>,
    /// Periodogram algorithm: fast (NUFFT, within 1e-9 of exact) or direct (exact). [default: fast]
    #[arg(long)]
    pub periodogram: Option<String>,
    /// Shortest period searched, days. [default: from the Nyquist factor]
    #[arg(long, allow_hyphen_values = true)]
    pub min_period: Option<String>,
    /// Longest period searched, days. [default: from the baseline]
    #[arg(long, allow_hyphen_values = true)]
    pub max_period: Option<String>,
    /// Where the single-band periodograms run: cpu; gpu (a CUDA device per
    /// node-local rank, direct method, exit 2 if none is usable); auto (the
    /// GPU when usable, else the CPU, saying why). See docs/gpu.md. [default: cpu]
    #[arg(long, value_name = "auto|cpu|gpu")]
    pub backend: Option<String>,
}

impl LcArgs {
    pub fn to_config(&self) -> anyhow::Result<crate::jobs::lightcurves::LcConfig> {
        let mut l = Layered::from_file(self.config.as_deref())?;
        if let Some(p) = &self.input {
            l.set("input", Value::String(p.display().to_string()), "--input");
        }
        if let Some(p) = &self.out {
            l.set("out", Value::String(p.display().to_string()), "--out");
        }
        let flags: [(&str, &Option<String>); 6] = [
            ("backend", &self.backend),
            ("threads", &self.threads),
            ("tile", &self.tile),
            ("periodogram", &self.periodogram),
            ("min_period", &self.min_period),
            ("max_period", &self.max_period),
        ];
        set_flags(&mut l, &flags, |_, v| flag_value(v));
        l.apply_sets(&self.set)?;
        crate::jobs::lightcurves::LcConfig::from_layered(&l)
    }
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
    /// Where to compute: cpu; gpu (a CUDA device per node-local rank; exit 2
    /// if none is usable); auto (the GPU when usable, else the CPU, saying
    /// why). See docs/gpu.md. [default: cpu]
    #[arg(long, value_name = "auto|cpu|gpu")]
    pub backend: Option<String>,
}

impl McArgs {
    /// Config file, then flags, then `--set`.
    pub fn layered(&self) -> anyhow::Result<Layered> {
        let mut l = Layered::from_file(self.config.as_deref())?;
        let flags: [(&str, &Option<String>); 8] = [
            ("backend", &self.backend),
            ("integrand", &self.integrand),
            ("dims", &self.dims),
            ("bounds", &self.bounds),
            ("samples", &self.samples),
            ("seed", &self.seed),
            ("block_size", &self.block_size),
            ("threads", &self.threads),
        ];
        set_flags(&mut l, &flags, |_, v| flag_value(v));
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

/// Sets each given flag's value in the layered config, naming `--flag` as
/// its source; `value` turns the flag's text into a config value.
fn set_flags(
    l: &mut Layered,
    flags: &[(&str, &Option<String>)],
    value: impl Fn(&str, &str) -> Value,
) {
    for (key, v) in flags {
        if let Some(v) = v {
            l.set(key, value(key, v), format!("--{}", key.replace('_', "-")));
        }
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
    /// Where the tiles are convolved: cpu; gpu (a CUDA device per node-local
    /// rank, direct method, exit 2 if none is usable); auto (the GPU when
    /// usable, else the CPU, saying why). See docs/gpu.md. [default: cpu]
    #[arg(long, value_name = "auto|cpu|gpu")]
    pub backend: Option<String>,
}

impl ImageArgs {
    /// Config file, then flags, then `--set`.
    pub fn layered(&self) -> anyhow::Result<Layered> {
        let mut l = Layered::from_file(self.config.as_deref())?;
        let flags: [(&str, &Option<String>); 8] = [
            ("backend", &self.backend),
            ("dataset", &self.dataset),
            ("kernel", &self.kernel),
            ("mode", &self.mode),
            ("boundary", &self.boundary),
            ("method", &self.method),
            ("tile", &self.tile),
            ("threads", &self.threads),
        ];
        set_flags(&mut l, &flags, |key, v| {
            if key == "dataset" || key == "kernel" {
                Value::String(v.to_string())
            } else {
                flag_value(v)
            }
        });
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

#[derive(Debug, Args, Clone)]
pub struct ScaleArgs {
    /// Job to study (mc; lightcurves and image once they exist).
    #[arg(long, default_value = "mc")]
    pub job: String,
    /// Rank counts, comma separated.
    #[arg(long, default_value = "1,2,4", value_delimiter = ',')]
    pub ranks: Vec<usize>,
    /// strong = fixed total work; weak = work proportional to ranks; both.
    #[arg(long, value_enum, default_value = "strong")]
    pub mode: Mode,
    /// mpirun = run here, one point after another; sbatch = one SLURM job per point.
    #[arg(long, value_enum, default_value = "mpirun")]
    pub launcher: Launcher,
    /// The job's work knob (mc: samples): total work for strong scaling,
    /// work of one rank for weak scaling. [default: the job's, mc 4e8]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub work: Option<String>,
    /// Rayon threads per rank (sbatch: --cpus-per-task).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Runs per point; the report keeps the fastest.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Where outputs, logs and the report go.
    #[arg(long, default_value = "out/scaling", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Job config file passed to every run.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Job config override passed to every run (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// sbatch: ranks per node (nodes = ceil(ranks / this)). [default: all on one node]
    #[arg(long, value_name = "N")]
    pub ranks_per_node: Option<usize>,
    /// sbatch: the job script. [default: slurm/JOB.sbatch]
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// sbatch: extra sbatch option, e.g. --sbatch-arg=--partition=short (repeatable).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// Cores per node, to mark oversubscribed points in the report.
    /// [default: this machine's cores with mpirun, unknown with sbatch]
    #[arg(long, value_name = "N")]
    pub cores_per_node: Option<usize>,
    /// sbatch: minutes to wait for the jobs before giving up.
    #[arg(long, default_value_t = 60, value_name = "MIN")]
    pub wait_minutes: u64,
    /// Only run (or submit); no report.
    #[arg(long)]
    pub no_report: bool,
    /// Print the commands without running them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// HDF5 outputs of tessera runs (any job; any mix of rank counts).
    #[arg(required = true, value_name = "FILE.h5")]
    pub files: Vec<PathBuf>,
    /// Where scaling.md, scaling.csv, scaling.png and scaling.svg go.
    #[arg(long, default_value = "out/scaling", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Cores per node: points with more ranks x threads per node are marked
    /// oversubscribed and left out of the Amdahl fit.
    #[arg(long, value_name = "N")]
    pub cores_per_node: Option<usize>,
    /// Title of the report.
    #[arg(long)]
    pub title: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Monte Carlo throughput: samples per second per core for n = 2 and n = 10
    /// (f64), one thread on one rank, then all ranks, then all threads.
    ///
    /// Run plainly for the per-core figure, or under `mpirun -n 2 --bind-to none`
    /// to also measure the speed-up of 2 ranks over 1 in the same run.
    Mc(BenchMcArgs),
    /// Light-curve throughput: milliseconds per curve per core for the periodogram
    /// alone and for the whole feature set (synthetic 200-point curves, 10^4 frequencies).
    Lightcurves(BenchLcArgs),
    /// GPU throughput (needs a CUDA device): Monte Carlo samples/s (n = 2,
    /// f64), Lomb-Scargle light curves/s (200 points, 1e4 frequencies), and a
    /// 4096 x 4096 convolution with a 15 x 15 kernel, with host-to-device,
    /// kernel and device-to-host times apart. scripts/gpu-bench.sh adds the
    /// CuPy figures on the same sizes.
    Gpu(BenchGpuArgs),
    /// The lecture's image case: convolution-only time (in memory, 1 thread
    /// and all threads) and the whole run including HDF5 read and write, for
    /// f64 and f32. Run it plainly.
    Image(BenchImageArgs),
}

#[derive(Debug, Args, Clone)]
pub struct BenchLcArgs {
    /// Curves per measurement.
    #[arg(long, default_value_t = 400)]
    pub curves: usize,
    /// Points per curve.
    #[arg(long, default_value_t = 200)]
    pub points: usize,
    /// Frequencies per periodogram.
    #[arg(long, default_value_t = 10_000)]
    pub frequencies: usize,
    /// Times each measurement is repeated; the fastest repetition is reported (the
    /// others carry the noise of a shared machine).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
}

#[derive(Debug, Args, Clone)]
pub struct BenchGpuArgs {
    /// Monte Carlo samples.
    #[arg(long, default_value = "1e10", value_name = "M")]
    pub samples: String,
    /// Light curves in the Lomb-Scargle batch.
    #[arg(long, default_value_t = 2000)]
    pub curves: usize,
    /// Image side of the convolution.
    #[arg(long, default_value_t = 4096)]
    pub image: usize,
    /// Kernel side of the convolution.
    #[arg(long, default_value_t = 15)]
    pub kernel: usize,
    /// Repetitions; the best is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
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
