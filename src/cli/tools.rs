//! Arguments of the tool subcommands (ingest, synth, export, scale, report,
//! bench) and their translation into the options the commands take.

use std::path::PathBuf;

use clap::Args;

use crate::config::{parse_count, usage};
use crate::io::fits::FitsHdu;
use crate::io::table::columns::ColumnSpec;
use crate::jobs::bench::{BenchGpuOptions, BenchImageOptions, BenchLcOptions, BenchMcOptions};
use crate::jobs::image::synth::{SynthImage, SynthKind};
use crate::jobs::plot::{PlotOptions, Selection};
use crate::numeric::synth::SynthParams;
use crate::scaling::plan::{parse_deadline, parse_grid, PlanOptions};
use crate::scaling::report::ReportOptions;
use crate::scaling::study::{Launcher, ScalingMode, StudyOptions};

/// Arguments of `tessera ingest csv`.
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

/// Arguments of `tessera ingest table`.
#[derive(Debug, Args, Clone)]
pub struct IngestTableArgs {
    /// A Parquet file, a directory of them, a HATS catalog, or text tables
    /// (.csv/.tsv/.txt/.ecsv[.gz]) -- what `tessera lightcurves --input` reads.
    pub input: PathBuf,
    /// Output light-curve file.
    #[arg(long, default_value = "lc.h5")]
    pub out: PathBuf,
    /// Which column is which, e.g. id=objectid,time=hmjd,mag=mag,err=magerr,band=filtercode.
    #[arg(long, value_name = "ROLE=COL,...")]
    pub columns: Option<String>,
    /// With a flags column: drop points whose flags share a bit with MASK. [default: -1]
    #[arg(long, value_name = "MASK", allow_hyphen_values = true, default_value_t = -1)]
    pub reject_flags: i64,
    /// Seconds between progress lines on stderr when it is not a terminal (a
    /// terminal shows a bar); 0 = off.
    #[arg(long, default_value_t = crate::progress::DEFAULT_INTERVAL, value_name = "SECONDS")]
    pub progress_interval: f64,
    /// FITS tables: the HDU holding the light curve, its number (0 = primary)
    /// or EXTNAME. [default: the first table HDU]
    #[arg(long, value_name = "N|NAME")]
    pub hdu: Option<String>,
}

impl IngestTableArgs {
    /// The `--columns` mapping and `--hdu` (usage errors exit 2).
    pub fn column_spec(&self) -> anyhow::Result<ColumnSpec> {
        let mut spec = ColumnSpec::parse(self.columns.as_deref().unwrap_or(""), "--columns")?;
        if let Some(h) = &self.hdu {
            spec.fits_hdu =
                Some(FitsHdu::parse(h).map_err(|e| usage(format!("{e} (from --hdu)")))?);
        }
        Ok(spec)
    }
}

/// Arguments of `tessera synth lightcurves`.
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
    /// Shortest period, days (periods are log-uniform between --period-min and --period-max).
    #[arg(long, default_value_t = 0.2)]
    pub period_min: f64,
    /// Longest period, days.
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
    /// Random seed; object i depends only on (seed, i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output light-curve file.
    #[arg(long, default_value = "lc.h5")]
    pub out: PathBuf,
    /// Seconds between progress lines on stderr when it is not a terminal (a
    /// terminal shows a bar); 0 = off.
    #[arg(long, default_value_t = crate::progress::DEFAULT_INTERVAL, value_name = "SECONDS")]
    pub progress_interval: f64,
}

/// Arguments of `tessera export`.
#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// A features file written by tessera lightcurves.
    pub input: PathBuf,
    /// CSV file to write (pandas: `pd.read_csv`).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Parquet file to write (typed: integer or text ids, positions when the input
    /// had them, band and reason as text, features as float64 with NaN).
    #[arg(long, value_name = "FILE")]
    pub parquet: Option<PathBuf>,
    /// HATS catalog directory to write, partitioned like the HATS input the features
    /// came from (lsdb.read_hats opens it and can cross-match it with the input).
    #[arg(long, value_name = "DIR")]
    pub hats: Option<PathBuf>,
    /// Seconds between progress lines on stderr when it is not a terminal (a
    /// terminal shows a bar); 0 = off.
    #[arg(long, default_value_t = crate::progress::DEFAULT_INTERVAL, value_name = "SECONDS")]
    pub progress_interval: f64,
}

/// Arguments of `tessera plot`.
#[derive(Debug, Args, Clone)]
pub struct PlotArgs {
    /// A features file written by tessera lightcurves.
    pub features: PathBuf,
    /// The object to draw (its id as in /objects/object_id).
    #[arg(long, value_name = "ID", conflicts_with_all = ["objects", "select"])]
    pub object: Option<String>,
    /// A gallery of these objects (ids, comma separated): one figure each and
    /// an index.html.
    #[arg(long, value_name = "ID,ID,...", conflicts_with = "select")]
    pub objects: Option<String>,
    /// A gallery of the objects with a row where COLUMN OP VALUE holds (OP one
    /// of < <= > >= == !=; `BAND:COLUMN` tests that band's row only; NaN never
    /// holds), e.g. 'period_fap<1e-3'.
    #[arg(long, value_name = "EXPR")]
    pub select: Option<String>,
    /// The light-curve input the features were made from. [default: the one
    /// recorded in /provenance/config of FEATURES]
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Directory for the figures (created when missing).
    #[arg(long, value_name = "DIR", default_value = "plots")]
    pub out: PathBuf,
    /// png, svg or both.
    #[arg(long, default_value = "png")]
    pub format: String,
}

impl PlotArgs {
    /// The validated options (usage errors exit 2).
    pub fn to_options(&self) -> anyhow::Result<PlotOptions> {
        let selection = match (&self.object, &self.objects, &self.select) {
            (Some(id), None, None) => Selection::One(id.clone()),
            (None, Some(list), None) => {
                let ids: Vec<String> = list
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if ids.is_empty() {
                    return Err(usage("--objects: no object ids given"));
                }
                Selection::List(ids)
            }
            (None, None, Some(f)) => Selection::Filter(f.clone()),
            _ => {
                return Err(usage(
                    "say which objects to draw: --object ID, --objects ID,ID,... or --select 'COLUMN OP VALUE'",
                ))
            }
        };
        let (png, svg) = match self.format.as_str() {
            "png" => (true, false),
            "svg" => (false, true),
            "both" => (true, true),
            other => {
                return Err(usage(format!(
                    "--format '{other}': choose png, svg or both"
                )))
            }
        };
        Ok(PlotOptions {
            features: self.features.clone(),
            selection,
            input: self.input.clone(),
            out: self.out.clone(),
            png,
            svg,
        })
    }
}

/// Arguments of `tessera synth image`.
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

/// `--mode` of `tessera scale`: which series a study runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Fixed total work.
    Strong,
    /// Work proportional to the ranks.
    Weak,
    /// A strong and a weak series.
    Both,
}

/// `--launcher` of `tessera scale`: how a study starts its runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LauncherArg {
    /// Run each point here, one after another, with `mpirun`.
    Mpirun,
    /// Submit one SLURM job per point with `sbatch`, wait, then report.
    Sbatch,
}

/// Arguments of `tessera scale`.
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
    pub mode: ModeArg,
    /// mpirun = run here, one point after another; sbatch = one SLURM job per point.
    #[arg(long, value_enum, default_value = "mpirun")]
    pub launcher: LauncherArg,
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

/// Arguments of `tessera report`.
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

/// Arguments of `tessera plan`.
#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    /// HDF5 outputs of measured runs of one job (any ranks, threads and sizes;
    /// repeats show the spread).
    #[arg(value_name = "FILE.h5")]
    pub runs: Vec<PathBuf>,
    /// Measure JOB here first (mc, lightcurves, image): 1 rank x 1 thread,
    /// three runs at each of two sizes, into --out-dir.
    #[arg(long, value_name = "JOB")]
    pub calibrate: Option<String>,
    /// Amount of work in the job's unit (mc: samples, lightcurves: objects,
    /// image: pixels), or the number of independent tasks with --task-seconds.
    #[arg(long, value_name = "N")]
    pub work: Option<String>,
    /// A parameter grid of independent tasks, e.g. 5x5x5 (needs --task-seconds).
    #[arg(long, value_name = "AxBxC")]
    pub grid: Option<String>,
    /// Seconds one independent task takes on one core.
    #[arg(long, value_name = "SECONDS")]
    pub task_seconds: Option<f64>,
    /// The time available, e.g. 20m, 24h, 1h30m or seconds.
    #[arg(long, value_name = "DURATION")]
    pub deadline: String,
    /// Cores per node.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub cores_per_node: usize,
    /// MPI ranks per node (each with cores-per-node / this threads).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub ranks_per_node: usize,
    /// Where calibration runs go.
    #[arg(long, default_value = "out/plan", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Job config file for the calibration runs.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Job config override for the calibration runs (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl PlanArgs {
    /// The plan's options (usage errors exit 2).
    pub fn to_options(&self) -> anyhow::Result<PlanOptions> {
        let work = match &self.work {
            None => None,
            Some(w) => Some(
                parse_count(w)
                    .map(|n| n as f64)
                    .or_else(|| w.parse::<f64>().ok().filter(|v| *v > 0.0 && v.is_finite()))
                    .ok_or_else(|| {
                        usage(format!(
                            "--work '{w}': expected a positive number such as 1e9"
                        ))
                    })?,
            ),
        };
        if let Some(t) = self.task_seconds {
            if !(t > 0.0 && t.is_finite()) {
                return Err(usage(format!("--task-seconds {t}: must be positive")));
            }
        }
        if self.cores_per_node == 0
            || self.ranks_per_node == 0
            || self.ranks_per_node > self.cores_per_node
        {
            return Err(usage(format!(
                "--cores-per-node {} and --ranks-per-node {}: need 1 <= ranks per node <= cores per node",
                self.cores_per_node, self.ranks_per_node
            )));
        }
        Ok(PlanOptions {
            runs: self.runs.clone(),
            calibrate: self.calibrate.clone(),
            out_dir: self.out_dir.clone(),
            config: self.config.clone(),
            sets: self.set.clone(),
            work,
            grid: self.grid.as_deref().map(parse_grid).transpose()?,
            task_seconds: self.task_seconds,
            deadline: parse_deadline(&self.deadline)?,
            cores_per_node: self.cores_per_node,
            ranks_per_node: self.ranks_per_node,
        })
    }
}

/// Arguments of `tessera bench lightcurves`.
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
    /// Time the first band of the first --curves objects of this tessera HDF5
    /// file (from `tessera synth lightcurves` or `tessera ingest`) on the default
    /// frequency grid, instead of synthetic curves on --frequencies frequencies;
    /// also used by scripts/bench-vs-light-curve.py.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// Arguments of `tessera bench gpu`.
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

/// Arguments of `tessera bench image`.
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

/// Arguments of `tessera bench mc`.
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

impl SynthImageArgs {
    /// The validated synthetic-image request (usage errors exit 2).
    pub fn to_synth(&self) -> anyhow::Result<SynthImage> {
        let a = self;
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

impl SynthLcArgs {
    /// The validated generator parameters and the number of objects.
    pub fn to_params(&self) -> anyhow::Result<(SynthParams, u64)> {
        let a = self;
        let n = parse_count(&a.objects).filter(|&n| n > 0).ok_or_else(|| {
            usage(format!(
                "--objects '{}': expected a positive whole number such as 1e6",
                a.objects
            ))
        })?;
        let unit = |v: f64, name: &str| -> anyhow::Result<f64> {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(usage(format!("--{name} {v}: must be between 0 and 1")))
            }
        };
        if !(a.period_min > 0.0 && a.period_max > a.period_min) {
            return Err(usage(format!(
                "--period-min {} / --period-max {}: need 0 < min < max",
                a.period_min, a.period_max
            )));
        }
        if !(a.baseline > 0.0 && a.noise > 0.0 && a.epochs > 0) {
            return Err(usage("--baseline, --noise and --epochs must be positive"));
        }
        let p = SynthParams {
            seed: a.seed,
            bands: crate::jobs::lcfiles::parse_bands(&a.bands)?,
            epochs: a.epochs,
            baseline: a.baseline,
            period_min: a.period_min,
            period_max: a.period_max,
            sawtooth_fraction: unit(a.sawtooth, "sawtooth")?,
            season_fraction: unit(a.season, "season")?,
            outlier_fraction: unit(a.outliers, "outliers")?,
            noise: a.noise,
        };
        Ok((p, n))
    }
}

impl ScaleArgs {
    /// The study's options.
    pub fn to_options(&self) -> StudyOptions {
        let a = self.clone();
        StudyOptions {
            job: a.job,
            ranks: a.ranks,
            mode: match a.mode {
                ModeArg::Strong => ScalingMode::Strong,
                ModeArg::Weak => ScalingMode::Weak,
                ModeArg::Both => ScalingMode::Both,
            },
            launcher: match a.launcher {
                LauncherArg::Mpirun => Launcher::Mpirun,
                LauncherArg::Sbatch => Launcher::Sbatch,
            },
            work: a.work,
            threads: a.threads,
            repeat: a.repeat,
            out_dir: a.out_dir,
            config: a.config,
            sets: a.set,
            ranks_per_node: a.ranks_per_node,
            script: a.script,
            sbatch_args: a.sbatch_arg,
            cores_per_node: a.cores_per_node,
            wait_minutes: a.wait_minutes,
            report: !a.no_report,
            dry_run: a.dry_run,
        }
    }
}

impl ReportArgs {
    /// The report's options.
    pub fn to_options(&self) -> ReportOptions {
        ReportOptions {
            files: self.files.clone(),
            out_dir: self.out_dir.clone(),
            cores_per_node: self.cores_per_node,
            title: self.title.clone(),
        }
    }
}

impl BenchMcArgs {
    /// The benchmark's options.
    pub fn to_options(&self) -> BenchMcOptions {
        BenchMcOptions {
            samples: self.samples.clone(),
            dims: self.dims.clone(),
            repeat: self.repeat,
            integrand: self.integrand.clone(),
        }
    }
}

impl BenchLcArgs {
    /// The benchmark's options.
    pub fn to_options(&self) -> BenchLcOptions {
        BenchLcOptions {
            curves: self.curves,
            points: self.points,
            frequencies: self.frequencies,
            repeat: self.repeat,
            input: self.input.clone(),
        }
    }
}

impl BenchGpuArgs {
    /// The benchmark's options.
    pub fn to_options(&self) -> BenchGpuOptions {
        BenchGpuOptions {
            samples: self.samples.clone(),
            curves: self.curves,
            image: self.image,
            kernel: self.kernel,
            repeat: self.repeat,
        }
    }
}

impl BenchImageArgs {
    /// The benchmark's options.
    pub fn to_options(&self) -> BenchImageOptions {
        BenchImageOptions {
            size: self.size,
            kernel: self.kernel.clone(),
            tile: self.tile,
            method: self.method.clone(),
            repeat: self.repeat,
            dir: self.dir.clone(),
        }
    }
}
