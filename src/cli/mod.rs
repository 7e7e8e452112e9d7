//! Command-line interface (argument layer): the clap definitions and their
//! translation into job configurations. Jobs never see these types.
//! Nothing here starts MPI or touches a GPU, so `--help` and `--version`
//! are instant everywhere.

mod jobs;
mod tools;

use clap::{Parser, Subcommand};

pub use jobs::{ImageArgs, JobArgs, LcArgs, McArgs};
pub use tools::{
    BenchGpuArgs, BenchImageArgs, BenchLcArgs, BenchMcArgs, ExportArgs, IngestCsvArgs,
    IngestTableArgs, PlanArgs, PlotArgs, ReportArgs, ScaleArgs, SynthImageArgs, SynthLcArgs,
};

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
/// The `tessera` command line.
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
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
    /// Figures of objects of a features file: the light curve per band, the
    /// periodogram with the chosen period, its aliases and the top peaks, and
    /// the light curve folded at the refined period with the harmonic model.
    ///
    /// One object (--object ID) or a gallery with an index.html (--objects
    /// LIST, --select 'COLUMN OP VALUE'), as PNG and/or SVG. The periodogram
    /// comes from /periodograms when the run stored it (store_periodogram),
    /// else it is recomputed with the run's settings from /provenance/config.
    /// Exit 2 for an unknown object or a missing light-curve input.
    Plot(PlotArgs),
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
    /// How many cores, ranks and nodes a piece of work needs within a deadline.
    ///
    /// From measured runs (their /provenance and /timings) or a calibration run
    /// made here (--calibrate JOB), it fits T(p) = S + W t / p + comm(P) and
    /// prints the fewest cores that finish --work within --deadline, with the
    /// model, its assumptions and the range of cores the measured spread allows.
    /// Independent tasks (--grid 5x5x5 --task-seconds 70) need no runs: their
    /// makespan on p cores is ceil(N / p) t.
    ///
    /// Example: tessera plan --grid 5x5x5 --task-seconds 70 --deadline 20m
    Plan(PlanArgs),
}

/// `tessera gpu ...`.
#[derive(Debug, Subcommand)]
pub enum GpuCommand {
    /// Prints what the GPU probe finds: the CUDA driver and NVRTC libraries,
    /// each device with its compute capability and memory, and whether
    /// `--backend gpu` would work. Exit 0 either way.
    Info,
    /// Compiles every kernel in kernels/ with NVRTC (no device needed) and
    /// prints the PTX sizes; exit 1 if NVRTC is missing or a kernel fails.
    CompileKernels {
        /// Virtual architecture for PTX, e.g. compute_90, or a real one for
        /// a cubin, e.g. sm_90 (what a job on an H100/H200 loads). [default:
        /// NVRTC's]
        #[arg(long)]
        arch: Option<String>,
    },
    /// Runs every kernel against its CPU twin on generated inputs on device
    /// 0 (Monte Carlo for each integrand, Lomb-Scargle f64/f32, convolution
    /// f64/f32 on both memory paths, the multi-launch and memory-capped
    /// chunked paths) and prints a table of max errors against the stated
    /// tolerances with kernel and transfer times. Starts no MPI. Exit 0 when
    /// all hold, 1 otherwise, 2 when no GPU is usable (saying what is
    /// missing). See docs/gpu.md.
    Selftest,
    /// Compares an output file with a reference output (e.g. a `--backend
    /// gpu` run with the CPU's), every numeric dataset outside /provenance,
    /// /timings and /gpu_timings: exit 0 when each is within its tolerance
    /// (default: equal), 1 otherwise. For machines without h5diff.
    Compare {
        /// The output to check.
        got: std::path::PathBuf,
        /// The reference output.
        reference: std::path::PathBuf,
        /// NAME=rel:X (largest difference relative to the reference's
        /// largest magnitude) or NAME=abs:X, for datasets whose path
        /// contains NAME; repeatable; the first match applies.
        #[arg(long = "tol", value_name = "NAME=rel:X|NAME=abs:X")]
        tol: Vec<String>,
    },
}

/// `tessera ingest ...`.
#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// A directory of CSV light curves, one file per object (the file stem is the
    /// object id), columns time,mag,magerr,band (or flux,fluxerr instead of mag,magerr;
    /// other columns ignored), into one HDF5 light-curve file.
    Csv(IngestCsvArgs),
    /// A survey table (Parquet, HATS catalog, CSV/ECSV tables with many objects
    /// per file) into one HDF5 light-curve file: the objects `tessera lightcurves
    /// --input` would read, in the same order, for users who want a tessera copy.
    Table(IngestTableArgs),
}

/// `tessera synth ...`.
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

/// `tessera bench ...`.
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
