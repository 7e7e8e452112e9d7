//! Command-line interface (argument layer): clap definitions and their
//! translation into validated job configurations. Nothing here starts MPI or
//! touches a GPU, so `--help` and `--version` are instant everywhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use toml::Value;

use crate::config::Layered;
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
    /// Benchmarks: throughput figures printed with their units.
    #[command(subcommand)]
    Bench(BenchCommand),
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
