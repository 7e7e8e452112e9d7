//! The light-curve job's configuration: every key, its default and its
//! check (job-driver layer; the command line is turned into these keys by
//! `cli`).

use std::path::PathBuf;

use toml::Value;

use crate::config::{usage, Layered};
use crate::gpu::Backend;
use crate::io::identity::refuse_input_as_output;
use crate::io::table::columns::ColumnSpec;
use crate::numeric::lightcurve::columns::{Groups, Methods, DEFAULT_GROUPS};
use crate::numeric::lightcurve::object::{
    ObjectOptions, DEFAULT_MAX_BASELINE, DEFAULT_MAX_FREQUENCIES, DEFAULT_MAX_POINTS,
    DEFAULT_MAX_SF_POINTS,
};
use crate::numeric::lightcurve::{CleanConfig, DuplicatePolicy, Normalisation, SigmaClip};
use crate::numeric::periodogram::{BlsOptions, CeOptions, PdmOptions};
use crate::numeric::periodogram::{GridOptions, PeriodogramMethod, RefineOptions, MAX_HARMONICS};

/// Every configuration key of the light-curve job.
pub const KEYS: &[&str] = &[
    "backend",
    "resume",
    "hdu",
    "refine_peaks",
    "error_floor",
    "input",
    "out",
    "threads",
    "tile",
    "sigma_clip",
    "clip_iters",
    "detrend_window",
    "normalise",
    "duplicates",
    "min_points",
    "samples_per_peak",
    "nyquist_factor",
    "min_period",
    "max_period",
    "top_k",
    "periodogram",
    "harmonics",
    "structure_function",
    "fold_bins",
    "max_frequencies",
    "max_sf_points",
    "max_baseline",
    "max_points",
    "columns",
    "reject_flags",
    "progress_interval",
    "store_periodogram",
    "features",
    "periods",
    "mharm_terms",
    "bls_min_duration",
    "bls_max_duration",
    "pdm_bins",
    "ce_phase_bins",
    "ce_mag_bins",
];

/// A validated light-curve configuration.
#[derive(Clone, Debug)]
pub struct LcConfig {
    /// Input light-curve file.
    pub input: PathBuf,
    /// Column mapping of a table input (`columns`: a `[columns]` table or
    /// `--columns role=name,...`) and the HDU of FITS tables (`hdu`).
    pub columns: ColumnSpec,
    /// Flag bits that drop a point (`reject_flags`, default -1: any).
    pub reject_flags: i64,
    /// Output features file.
    pub out: PathBuf,
    /// Rayon threads per rank (0 = auto).
    pub threads: usize,
    /// Objects per tile, the unit of hand-out; `None` (unset or "auto"):
    /// chosen from the objects, ranks and threads ([`auto_tile`]).
    pub tile: Option<usize>,
    /// Seconds between progress lines (0 = off).
    pub progress_interval: f64,
    /// What is computed for each object.
    pub object: ObjectOptions,
    /// Requested backend of the single-band periodograms (resolved against
    /// the GPU probe before MPI).
    pub backend: Backend,
    /// The resolved configuration as TOML, for `/provenance/config`.
    pub toml: String,
    /// Continue an interrupted run from its checkpoint (`resume`, `--resume`).
    pub resume: bool,
}

fn positive(l: &Layered, key: &str, default: f64) -> anyhow::Result<f64> {
    let v = l.float(key, default)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(usage(format!(
            "config key '{key}' (from {}): must be > 0, got {v}",
            l.source_of(key)
        )))
    }
}

fn optional_period(l: &Layered, key: &str) -> anyhow::Result<Option<f64>> {
    match l.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if s == "auto" => Ok(None),
        Some(_) => positive(l, key, 1.0).map(Some),
    }
}

impl LcConfig {
    /// Validates every key of the layered configuration (usage errors exit 2).
    pub fn from_layered(l: &Layered) -> anyhow::Result<LcConfig> {
        l.check_keys(&KEYS)?;
        let input = PathBuf::from(l.string("input", "")?);
        if input.as_os_str().is_empty() {
            return Err(usage("no input: give --input PATH (a tessera HDF5 file, a Parquet file or directory, a HATS catalog, or CSV/ECSV tables)"));
        }
        let out = PathBuf::from(l.string("out", "features.h5")?);
        refuse_input_as_output(
            &out,
            &l.source_of("out"),
            &[(&l.source_of("input"), &input)],
        )?;
        let columns = match l.get("columns") {
            None => ColumnSpec::default(),
            Some(Value::String(s)) => ColumnSpec::parse(s, &l.source_of("columns"))?,
            Some(Value::Table(t)) => {
                let mut spec = ColumnSpec::default();
                for (role, v) in t {
                    let Value::String(name) = v else {
                        return Err(usage(format!(
                            "config key 'columns.{role}' ({}): a column name in quotes, got {v}",
                            l.source_of("columns")
                        )));
                    };
                    spec.set(
                        role,
                        name,
                        &format!("columns.{role} in {}", l.source_of("columns")),
                    )?;
                }
                spec
            }
            Some(v) => {
                return Err(usage(format!(
                    "config key 'columns' ({}): a [columns] table or \"role=name,...\", got {v}",
                    l.source_of("columns")
                )))
            }
        };
        let columns = ColumnSpec {
            fits_hdu: l.fits_hdu()?,
            ..columns
        };
        let reject_flags = match l.get("reject_flags") {
            None => -1,
            Some(Value::Integer(m)) => *m,
            Some(v) => {
                return Err(usage(format!(
                    "config key 'reject_flags' ({}): an integer bit mask, got {v}",
                    l.source_of("reject_flags")
                )))
            }
        };
        let threads = l.count_in("threads", 0, 0, 4096)? as usize;
        let tile = match l.get("tile") {
            None => {
                // the default, recorded so the resolved configuration holds it
                l.note("tile", Value::String("auto".into()));
                None
            }
            Some(Value::String(s)) if s == "auto" => None,
            Some(_) => Some(l.count("tile", 256, 1)? as usize),
        };
        let sigma = l.float("sigma_clip", 3.0)?;
        let clip_iters = l.count("clip_iters", 5, 0)? as usize;
        let clip = if sigma > 0.0 && clip_iters > 0 {
            Some(SigmaClip {
                sigma_lower: sigma,
                sigma_upper: sigma,
                maxiters: clip_iters,
                ..Default::default()
            })
        } else {
            None
        };
        let detrend = l.float("detrend_window", 0.0)?;
        if detrend < 0.0 {
            return Err(usage(format!(
                "config key 'detrend_window': must be >= 0 days (0 = off), got {detrend}"
            )));
        }
        let normalisation = match l.string("normalise", "none")?.as_str() {
            "none" => Normalisation::None,
            "zscore" => Normalisation::ZScore,
            "minmax" => Normalisation::MinMax,
            other => {
                return Err(usage(format!(
                    "config key 'normalise' (from {}): '{other}'; choose none, zscore or minmax",
                    l.source_of("normalise")
                )))
            }
        };
        let duplicates = match l.string("duplicates", "first")?.as_str() {
            "first" => DuplicatePolicy::KeepFirst,
            "smallest_error" => DuplicatePolicy::KeepSmallestError,
            other => {
                return Err(usage(format!(
                    "config key 'duplicates': '{other}'; choose first or smallest_error"
                )))
            }
        };
        let min_points = l.count("min_points", 5, 3)? as usize;
        let clean = CleanConfig {
            duplicates,
            clip,
            detrend_window: (detrend > 0.0).then_some(detrend),
            normalisation,
            min_points,
            ..Default::default()
        };
        let grid = GridOptions {
            samples_per_peak: positive(l, "samples_per_peak", 5.0)?,
            nyquist_factor: positive(l, "nyquist_factor", 5.0)?,
            min_period: optional_period(l, "min_period")?,
            max_period: optional_period(l, "max_period")?,
            ..Default::default()
        };
        if let (Some(a), Some(b)) = (grid.min_period, grid.max_period) {
            if a >= b {
                return Err(usage(format!(
                    "min_period {a} must be below max_period {b}"
                )));
            }
        }
        let top_k = l.count_in("top_k", 3, 1, 20)? as usize;
        let method = match l.string("periodogram", "fast")?.as_str() {
            "fast" => PeriodogramMethod::Fast,
            "direct" => PeriodogramMethod::Direct,
            other => {
                return Err(usage(format!(
                    "config key 'periodogram': '{other}'; choose fast or direct"
                )))
            }
        };
        let refine_peaks = l.count_in("refine_peaks", 5, 1, 20)? as usize;
        let mut refine = RefineOptions {
            top_k: refine_peaks,
            ..Default::default()
        };
        let harmonics = refine.harmonic.nharm as u64;
        refine.harmonic.nharm =
            l.count_in("harmonics", harmonics, 1, MAX_HARMONICS as u64)? as usize;
        refine.error_floor = l.float("error_floor", refine.error_floor)?;
        if !(refine.error_floor >= 0.0 && refine.error_floor.is_finite()) {
            return Err(usage(format!(
                "config key 'error_floor' (from {}): must be finite and >= 0, got {}",
                l.source_of("error_floor"),
                refine.error_floor
            )));
        }
        let mut groups =
            Groups::parse(&l.string_list("features", &DEFAULT_GROUPS)?).map_err(|e| {
                usage(format!(
                    "config key 'features' (from {}): {e}",
                    l.source_of("features")
                ))
            })?;
        // the older switch of the structure functions still works, over `features`
        match l.get("structure_function") {
            None => {}
            Some(Value::Boolean(b)) => groups.structure_function = *b,
            Some(v) => {
                return Err(usage(format!(
                    "config key 'structure_function': true or false, got {v}"
                )))
            }
        }
        let methods = Methods::parse(&l.string_list("periods", &["gls"])?).map_err(|e| {
            usage(format!(
                "config key 'periods' (from {}): {e}",
                l.source_of("periods")
            ))
        })?;
        let mharm_terms = l.count_in("mharm_terms", 2, 1, MAX_HARMONICS as u64)? as usize;
        let mut bls = BlsOptions::default();
        bls.duration_range = (
            positive(l, "bls_min_duration", bls.duration_range.0)?,
            positive(l, "bls_max_duration", bls.duration_range.1)?,
        );
        if bls.duration_range.0 > bls.duration_range.1 {
            return Err(usage(format!(
                "bls_min_duration {} days must not exceed bls_max_duration {} days",
                bls.duration_range.0, bls.duration_range.1
            )));
        }
        let pdm = PdmOptions {
            n_bins: l.count_in("pdm_bins", 10, 2, 1000)? as usize,
            ..Default::default()
        };
        let ce = CeOptions {
            phase_bins: l.count_in("ce_phase_bins", 10, 2, 1000)? as usize,
            mag_bins: l.count_in("ce_mag_bins", 5, 2, 1000)? as usize,
            ..Default::default()
        };
        // the list as resolved, `structure_function` included
        l.note(
            "features",
            toml::Value::Array(
                groups
                    .names()
                    .into_iter()
                    .map(|g| toml::Value::String(g.into()))
                    .collect(),
            ),
        );
        let fold_bins = l.count("fold_bins", 10, 2)? as usize;
        let max_frequencies = l.count_in(
            "max_frequencies",
            DEFAULT_MAX_FREQUENCIES as u64,
            100,
            1 << 32,
        )? as usize;
        let max_baseline = positive(l, "max_baseline", DEFAULT_MAX_BASELINE)?;
        let max_sf_points =
            l.count_in("max_sf_points", DEFAULT_MAX_SF_POINTS as u64, 3, 1 << 20)? as usize;
        let max_points = l.count_in("max_points", DEFAULT_MAX_POINTS as u64, 3, 1 << 32)? as usize;
        // 0 = off; the bound keeps a row's record (16 bytes a point) within a megabyte
        let store_points = l.count_in("store_periodogram", 0, 0, 1 << 16)? as usize;
        // a bound that every object would exceed is a configuration error: even a
        // one-day baseline gives samples_per_peak / min_period frequencies
        if let Some(min_period) = grid.min_period {
            let one_day = grid.samples_per_peak / min_period;
            if one_day > max_frequencies as f64 {
                return Err(usage(format!(
                    "min_period {min_period} days with samples_per_peak {} needs {one_day:.3e} frequencies for a baseline of just one day, more than max_frequencies {max_frequencies}: raise min_period (or max_frequencies)",
                    grid.samples_per_peak
                )));
            }
        }
        let backend = l.backend()?;
        let resume = l.boolean("resume", false)?;
        l.note("backend", Value::String(backend.name().into()));
        Ok(LcConfig {
            input,
            columns,
            reject_flags,
            out,
            threads,
            tile,
            progress_interval: l.progress_interval()?,
            object: ObjectOptions {
                clean,
                grid,
                top_k,
                method,
                refine,
                groups,
                methods,
                mharm_terms,
                flux: false,
                bls,
                pdm,
                ce,
                fold_bins,
                max_frequencies,
                max_sf_points,
                max_baseline,
                max_points,
                store_points,
            },
            backend,
            toml: l.resolved_toml(),
            resume,
        })
    }
}

/// Largest automatic tile: big enough that a tile's read and parallel
/// write cost little next to its compute (what the fixed default was).
pub const AUTO_TILE_MAX: usize = 256;
/// Smallest automatic tile: below this a tile's read, write and hand-out
/// message weigh on its compute.
pub const AUTO_TILE_MIN: usize = 16;

/// The automatic tile of an HDF5 input: `ceil(objects / (4 ranks))`, so
/// each rank can get about four tiles and the dynamic hand-out can balance
/// them, but at least `max(16, threads)` objects (a tile keeps every thread
/// of its rank busy and amortises its read and write) and at most 256. 242
/// objects on 2 ranks give tiles of 31 (8 tiles), where 256 left rank 1
/// idle. Rows depend only on their object, so the tile never changes a
/// result.
pub fn auto_tile(objects: usize, ranks: usize, threads: usize) -> usize {
    let floor = AUTO_TILE_MIN.max(threads);
    objects
        .div_ceil(4 * ranks.max(1))
        .clamp(floor.min(AUTO_TILE_MAX), AUTO_TILE_MAX.max(floor))
}

/// The automatic tile of a table input, whatever the ranks: each tile that
/// cuts a Parquet row group decompresses that row group's pages again
/// (skipping the other rows), so tiles of a table are bigger than those of
/// an HDF5 file, where a tile reads only its own objects; a row group of at
/// most 8192 rows stays one tile. 8192 objects of 40 points hold about 8 MB
/// of observations per copy.
pub const AUTO_TABLE_TILE: usize = 8192;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid configuration with the given periodogram method.
    pub(crate) fn config(periodogram: &str) -> LcConfig {
        let mut l = Layered::default();
        l.set("input", Value::String("unused.h5".into()), "test");
        l.set("periodogram", Value::String(periodogram.into()), "test");
        LcConfig::from_layered(&l).unwrap()
    }

    /// The configuration with one integer key set.
    fn with_key(key: &str, v: i64) -> anyhow::Result<LcConfig> {
        let mut l = Layered::default();
        l.set("input", Value::String("unused.h5".into()), "test");
        l.set(key, Value::Integer(v), "test");
        LcConfig::from_layered(&l)
    }

    #[test]
    fn refine_peaks_sets_the_refinement_candidates() {
        assert_eq!(config("fast").object.refine.top_k, 5, "default");
        assert_eq!(with_key("refine_peaks", 7).unwrap().object.refine.top_k, 7);
        for bad in [0, 21, -1] {
            let e = with_key("refine_peaks", bad).unwrap_err().to_string();
            assert!(e.contains("refine_peaks"), "{bad}: {e}");
        }
    }

    #[test]
    fn harmonics_are_checked() {
        assert_eq!(
            with_key("harmonics", 12)
                .unwrap()
                .object
                .refine
                .harmonic
                .nharm,
            12
        );
        for bad in [0, 13, -2] {
            let e = with_key("harmonics", bad).unwrap_err().to_string();
            assert!(e.contains("'harmonics'"), "{bad}: {e}");
        }
    }

    #[test]
    fn error_floor_is_checked() {
        let floor = |c: LcConfig| c.object.refine.error_floor;
        assert_eq!(floor(config("fast")), 0.02, "default");
        assert_eq!(floor(with_key("error_floor", 0).unwrap()), 0.0);
        let e = with_key("error_floor", -1).unwrap_err().to_string();
        assert!(e.contains("'error_floor'"), "{e}");
    }
}
