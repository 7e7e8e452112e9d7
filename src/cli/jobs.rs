//! Arguments of the compute jobs (mc, lightcurves, image): one shared
//! [`JobArgs`] flattened into each, and their translation into the job's
//! validated configuration (config file, then flags, then `--set`).

// clap help text below shows brackets (e.g. `tophat:RADIUS[:SIZE]`) that rustdoc would read as links
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::Args;
use toml::Value;

use crate::config::Layered;
use crate::jobs::image::ImageConfig;
use crate::jobs::lightcurves::LcConfig;
use crate::jobs::mc::McConfig;

/// Options every compute job takes: where its settings come from, where
/// its result goes, and how it runs.
#[derive(Debug, Args, Clone, Default)]
pub struct JobArgs {
    /// TOML config file (configs/JOB.toml lists every key, commented).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override any config key, e.g. --set tile=256 (repeatable; wins over
    /// the config file and the flags).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Output HDF5 file, written under a temporary name and renamed when
    /// complete. [default: mc.h5, features.h5 or conv.h5]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Rayon threads per rank; 0 or auto = SLURM_CPUS_PER_TASK, else cores
    /// per node / ranks per node. [default: auto]
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub threads: Option<String>,
    /// Where to compute: cpu; gpu (a CUDA device per node-local rank; exit 2
    /// if none is usable); auto (the GPU when usable, else the CPU, saying
    /// why). See docs/gpu.md. [default: cpu]
    #[arg(long, value_name = "auto|cpu|gpu")]
    pub backend: Option<String>,
    /// Continue a run stopped by a signal (SLURM's time limit or warning,
    /// preemption, Ctrl-C) from the checkpoint beside its output
    /// (.NAME.resume/); without one, start from the beginning. The config
    /// and input must match the interrupted run.
    #[arg(long)]
    pub resume: bool,
    /// Seconds between progress lines on stderr when it is not a terminal
    /// (a terminal shows a bar); 0 = off (key progress_interval). [default: 10]
    #[arg(long, value_name = "SECONDS")]
    pub progress_interval: Option<String>,
}

impl JobArgs {
    /// The config file, then the shared flags and the job's `flags` (text
    /// values, turned into config values by `value`), then `--set`.
    fn layered(
        &self,
        flags: &[(&str, &Option<String>)],
        value: impl Fn(&str, &str) -> Value,
        extra: impl FnOnce(&mut Layered),
    ) -> anyhow::Result<Layered> {
        let mut l = Layered::from_file(self.config.as_deref())?;
        set_flags(
            &mut l,
            &[
                ("backend", &self.backend),
                ("threads", &self.threads),
                ("progress_interval", &self.progress_interval),
            ],
            |_, v| flag_value(v),
        );
        set_flags(&mut l, flags, value);
        extra(&mut l);
        if self.resume {
            l.set("resume", Value::Boolean(true), "--resume");
        }
        if let Some(out) = &self.out {
            l.set("out", Value::String(out.display().to_string()), "--out");
        }
        l.apply_sets(&self.set)?;
        Ok(l)
    }
}

/// Sets the value of a path flag, naming it as the source.
fn set_path(l: &mut Layered, key: &str, path: &Option<PathBuf>) {
    if let Some(p) = path {
        l.set(
            key,
            Value::String(p.display().to_string()),
            format!("--{key}"),
        );
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

/// `tessera mc`.
#[derive(Debug, Args, Clone, Default)]
pub struct McArgs {
    /// Options every job takes.
    #[command(flatten)]
    pub job: JobArgs,
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
}

impl McArgs {
    /// Config file, then flags, then `--set`.
    pub fn layered(&self) -> anyhow::Result<Layered> {
        let flags = [
            ("integrand", &self.integrand),
            ("dims", &self.dims),
            ("bounds", &self.bounds),
            ("samples", &self.samples),
            ("seed", &self.seed),
            ("block_size", &self.block_size),
        ];
        self.job.layered(&flags, |_, v| flag_value(v), |_| {})
    }

    /// The validated configuration (usage errors exit 2).
    pub fn to_config(&self) -> anyhow::Result<McConfig> {
        McConfig::from_layered(&self.layered()?)
    }
}

/// `tessera lightcurves`.
#[derive(Debug, Args, Clone, Default)]
pub struct LcArgs {
    /// Options every job takes.
    #[command(flatten)]
    pub job: JobArgs,
    /// Input light curves: a tessera HDF5 file; a Parquet file, a directory of
    /// them or a HATS catalog (list columns, nested list-of-struct, or flat rows
    /// with an id column); a text table or a directory of them (.csv, .tsv,
    /// whitespace .txt/.dat, .ecsv, each optionally .gz; many objects per file
    /// with an id column, or one object per file).
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Which table column is which, e.g. id=objectid,time=hmjd,mag=mag,err=magerr,band=filtercode
    /// (roles: id time mag flux err band flags; `id=` means one object per file).
    /// Without it the usual names of ZTF, Rubin, Gaia, TESS/Kepler and tessera are
    /// recognised; an unknown or ambiguous name exits 2 with the columns found.
    #[arg(long, value_name = "ROLE=COL,...")]
    pub columns: Option<String>,
    /// FITS tables: the HDU holding the light curve, its number (0 = primary)
    /// or EXTNAME. [default: the first table HDU]
    #[arg(long, value_name = "N|NAME")]
    pub hdu: Option<String>,
    /// With a flags column: drop points whose flags share a bit with MASK (counted
    /// per row in /features/n_flagged). [default: -1, any non-zero flag]
    #[arg(long, value_name = "MASK", allow_hyphen_values = true)]
    pub reject_flags: Option<String>,
    /// Objects per tile, the unit of hand-out for HDF5 input (a table's unit
    /// is a row group or a file). [default: 256]
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
    /// Feature groups, comma-separated: basic (always on), extended, periodic,
    /// structure_function, transient, color, rainbow, period_features, bins. The row's
    /// columns follow.
    /// [default: basic,extended,periodic,color]
    #[arg(long, value_name = "GROUP,...")]
    pub features: Option<String>,
    /// Period searches of the periodic group, comma-separated: gls (generalised
    /// Lomb-Scargle with alias refinement), bls (box least squares), pdm (phase
    /// dispersion), ce (conditional entropy), mharm (multi-harmonic). [default: gls]
    #[arg(long, value_name = "METHOD,...")]
    pub periods: Option<String>,
}

impl LcArgs {
    /// The validated configuration (usage errors exit 2).
    pub fn to_config(&self) -> anyhow::Result<LcConfig> {
        let flags = [
            ("tile", &self.tile),
            ("periodogram", &self.periodogram),
            ("min_period", &self.min_period),
            ("max_period", &self.max_period),
            ("reject_flags", &self.reject_flags),
            ("hdu", &self.hdu),
        ];
        let l = self.job.layered(
            &flags,
            |key, v| {
                if key == "hdu" {
                    toml::Value::String(v.to_string())
                } else {
                    flag_value(v)
                }
            },
            |l| {
                set_path(l, "input", &self.input);
                if let Some(c) = &self.columns {
                    l.set("columns", toml::Value::String(c.clone()), "--columns");
                }
                if let Some(f) = &self.features {
                    l.set("features", toml::Value::String(f.clone()), "--features");
                }
                if let Some(p) = &self.periods {
                    l.set("periods", toml::Value::String(p.clone()), "--periods");
                }
            },
        )?;
        LcConfig::from_layered(&l)
    }
}

/// `tessera image`.
#[derive(Debug, Args, Clone, Default)]
pub struct ImageArgs {
    /// Options every job takes.
    #[command(flatten)]
    pub job: JobArgs,
    /// Input image: an HDF5 file (see --dataset) or a FITS file (first image HDU).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// HDF5 dataset holding the 2-D image. [default: /image]
    #[arg(long, value_name = "PATH")]
    pub dataset: Option<String>,
    /// FITS HDU holding the image: its number (0 = primary) or EXTNAME.
    /// [default: the first image HDU with data, tile-compressed ones included]
    #[arg(long, value_name = "N|NAME")]
    pub hdu: Option<String>,
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
}

impl ImageArgs {
    /// Config file, then flags, then `--set`.
    pub fn layered(&self) -> anyhow::Result<Layered> {
        let flags = [
            ("dataset", &self.dataset),
            ("hdu", &self.hdu),
            ("kernel", &self.kernel),
            ("mode", &self.mode),
            ("boundary", &self.boundary),
            ("method", &self.method),
            ("tile", &self.tile),
        ];
        let text = |key: &str, v: &str| {
            if key == "dataset" || key == "kernel" || key == "hdu" {
                Value::String(v.to_string())
            } else {
                flag_value(v)
            }
        };
        self.job.layered(&flags, text, |l| {
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
            set_path(l, "input", &self.input);
        })
    }

    /// The validated configuration (usage errors exit 2).
    pub fn to_config(&self) -> anyhow::Result<ImageConfig> {
        ImageConfig::from_layered(&self.layered()?)
    }
}
