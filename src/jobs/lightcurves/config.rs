//! The light-curve job's configuration: every key, its default and its
//! check (job-driver layer; the command line is turned into these keys by
//! `cli`).

use std::path::PathBuf;

use toml::Value;

use crate::config::{usage, Layered};
use crate::gpu::Backend;
use crate::io::identity::refuse_input_as_output;
use crate::io::table::columns::ColumnSpec;
use crate::numeric::lightcurve::bins::BinsOptions;
use crate::numeric::lightcurve::columns::{Groups, Methods, DEFAULT_GROUPS};
use crate::numeric::lightcurve::dmdt::{DmDtGrid, DmDtMode, DmDtNorm, DmDtOptions, DmDtPlan};
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
    "unsure_margin",
    "unsure_peaks",
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
    "dmdt",
    "dmdt_lgdt",
    "dmdt_dm",
    "dmdt_norm",
    "band_wavelengths",
    "wavelength_preset",
    "bins_window",
    "bins_offset",
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
    /// Effective wavelengths (Å) of the bands the Rainbow fit may meet, by
    /// name: the preset's, then `[band_wavelengths]` over them.
    pub band_wavelengths: Vec<(String, f64)>,
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

/// `bins_window` (days, > 0; default 1) and `bins_offset` (days; default 0) of the `bins`
/// group; both must be finite (`Layered::float` names the key otherwise).
fn bins_options(l: &Layered) -> anyhow::Result<BinsOptions> {
    let d = BinsOptions::default();
    Ok(BinsOptions {
        window: positive(l, "bins_window", d.window)?,
        offset: l.float("bins_offset", d.offset)?,
    })
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
        let refine_peaks = l.count_in("refine_peaks", 5, 0, 20)? as usize;
        let mut refine = RefineOptions {
            top_k: refine_peaks,
            ..Default::default()
        };
        refine.unsure_margin = l.float("unsure_margin", refine.unsure_margin)?;
        if !(refine.unsure_margin >= 0.0) {
            return Err(usage(format!(
                "config key 'unsure_margin' (from {}): must be >= 0 (0 = off), got {}",
                l.source_of("unsure_margin"),
                refine.unsure_margin
            )));
        }
        refine.unsure_peaks =
            l.count_in("unsure_peaks", refine.unsure_peaks as u64, 1, 20)? as usize;
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
        if groups.period_features && !(groups.periodic && methods.gls) {
            return Err(usage(format!(
                "config key 'features' (from {}): the period_features group describes the Lomb-Scargle search: add the 'periodic' group with 'gls' among periods (from {})",
                l.source_of("features"),
                l.source_of("periods")
            )));
        }
        let bins = bins_options(l)?;
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
                bins,
                fold_bins,
                max_frequencies,
                max_sf_points,
                max_baseline,
                max_points,
                store_points,
                dmdt: dmdt_plan(l)?,
                band_wavelengths: Vec::new(),
            },
            backend,
            band_wavelengths: wavelength_table(l)?,
            toml: l.resolved_toml(),
            resume,
        })
    }
}

/// Most cells along one axis of a dm-dt map (`dmdt_lgdt`, `dmdt_dm`).
pub const DMDT_MAX_CELLS: usize = 1024;
/// Most values of one dm-dt map (8 bytes each per row of the output).
pub const DMDT_MAX_WIDTH: usize = 1 << 16;

/// The dm-dt map settings: `dmdt` (false/"off", true/"points", "gausses";
/// default off), `dmdt_lgdt = [min, max, n]` (lg days, default [0, 3, 32]),
/// `dmdt_dm = [max_abs, n]` (default [3, 32]) and `dmdt_norm` (any of "dt",
/// "max"; default none). A bad value is a usage error naming its key.
fn dmdt_plan(l: &Layered) -> anyhow::Result<Option<DmDtPlan>> {
    let mode = match l.get("dmdt") {
        None | Some(Value::Boolean(false)) => None,
        Some(Value::Boolean(true)) => Some(DmDtMode::Points),
        Some(Value::String(s)) => match s.as_str() {
            "off" | "none" | "false" => None,
            "points" | "true" => Some(DmDtMode::Points),
            "gausses" => Some(DmDtMode::Gausses),
            other => {
                return Err(usage(format!(
                    "config key 'dmdt' (from {}): '{other}'; choose off, points or gausses",
                    l.source_of("dmdt")
                )))
            }
        },
        Some(v) => {
            return Err(usage(format!(
                "config key 'dmdt' (from {}): true, false, \"points\" or \"gausses\", got {v}",
                l.source_of("dmdt")
            )))
        }
    };
    let d = DmDtGrid::default();
    let lgdt = l.numbers("dmdt_lgdt", &[d.min_lgdt, d.max_lgdt, d.lgdt_size as f64])?;
    let dm = l.numbers("dmdt_dm", &[d.max_abs_dm, d.dm_size as f64])?;
    let norms = l.string_list("dmdt_norm", &[])?;
    let cells = |key: &str, n: f64| {
        if n.fract() == 0.0 && (1.0..=DMDT_MAX_CELLS as f64).contains(&n) {
            Ok(n as usize)
        } else {
            Err(usage(format!(
                "config key '{key}' (from {}): the number of cells must be a whole number from 1 to {DMDT_MAX_CELLS}, got {n}",
                l.source_of(key)
            )))
        }
    };
    let grid = DmDtGrid {
        min_lgdt: lgdt[0],
        max_lgdt: lgdt[1],
        lgdt_size: cells("dmdt_lgdt", lgdt[2])?,
        max_abs_dm: dm[0],
        dm_size: cells("dmdt_dm", dm[1])?,
    };
    if !(grid.min_lgdt < grid.max_lgdt) {
        return Err(usage(format!(
            "config key 'dmdt_lgdt' (from {}): [min, max, n] needs min < max (lg days), got min {} and max {}",
            l.source_of("dmdt_lgdt"),
            grid.min_lgdt,
            grid.max_lgdt
        )));
    }
    if !(grid.max_abs_dm > 0.0) {
        return Err(usage(format!(
            "config key 'dmdt_dm' (from {}): [max_abs, n] needs max_abs > 0, got {}",
            l.source_of("dmdt_dm"),
            grid.max_abs_dm
        )));
    }
    if grid.lgdt_size * grid.dm_size > DMDT_MAX_WIDTH {
        return Err(usage(format!(
            "config keys 'dmdt_lgdt' and 'dmdt_dm': {} x {} cells per map, more than {DMDT_MAX_WIDTH}",
            grid.lgdt_size, grid.dm_size
        )));
    }
    let mut norm = DmDtNorm::default();
    for n in &norms {
        match n.as_str() {
            "dt" => norm.dt = true,
            "max" => norm.max = true,
            other => {
                return Err(usage(format!(
                    "config key 'dmdt_norm' (from {}): '{other}'; choose from dt, max",
                    l.source_of("dmdt_norm")
                )))
            }
        }
    }
    let Some(mode) = mode else {
        return Ok(None);
    };
    l.note(
        "dmdt",
        Value::String(
            match mode {
                DmDtMode::Points => "points",
                DmDtMode::Gausses => "gausses",
            }
            .into(),
        ),
    );
    // the checks above are those of the plan, so it exists
    Ok(DmDtPlan::new(DmDtOptions { grid, mode, norm }))
}

/// Effective wavelengths (Å) of common survey bands, the presets of
/// `wavelength_preset`: ZTF g r i as light-curve's Rainbow examples
/// (Russeil et al. 2024), SDSS u g r i z (Fukugita et al. 1996), LSST u g r
/// i z y (Ivezic et al. 2019, Table 2).
pub const WAVELENGTH_PRESETS: [(&str, &[(&str, f64)]); 3] = [
    ("ztf", &[("g", 4770.0), ("r", 6231.0), ("i", 7625.0)]),
    (
        "sdss",
        &[
            ("u", 3551.0),
            ("g", 4686.0),
            ("r", 6166.0),
            ("i", 7480.0),
            ("z", 8932.0),
        ],
    ),
    (
        "lsst",
        &[
            ("u", 3671.0),
            ("g", 4827.0),
            ("r", 6223.0),
            ("i", 7546.0),
            ("z", 8691.0),
            ("y", 9712.0),
        ],
    ),
];

/// The band wavelength table: `wavelength_preset` ("ztf", the default;
/// "sdss", "lsst" or "none"), then the `[band_wavelengths]` table
/// (`g = 4770.0`, Å; also `--set band_wavelengths=g:4770,r:6231`) over it.
fn wavelength_table(l: &Layered) -> anyhow::Result<Vec<(String, f64)>> {
    let preset = l.string("wavelength_preset", "ztf")?;
    let mut table: Vec<(String, f64)> = match WAVELENGTH_PRESETS.iter().find(|p| p.0 == preset) {
        Some((_, bands)) => bands.iter().map(|(b, w)| (b.to_string(), *w)).collect(),
        None if preset == "none" => Vec::new(),
        None => {
            return Err(usage(format!(
            "config key 'wavelength_preset' (from {}): '{preset}'; choose ztf, sdss, lsst or none",
            l.source_of("wavelength_preset")
        )))
        }
    };
    let bad = |what: String| {
        usage(format!(
            "config key 'band_wavelengths' (from {}): {what}",
            l.source_of("band_wavelengths")
        ))
    };
    let given: Vec<(String, Option<f64>)> = match l.get("band_wavelengths") {
        None => Vec::new(),
        Some(Value::Table(t)) => t
            .iter()
            .map(|(k, v)| {
                let w = match v {
                    Value::Float(f) => Some(*f),
                    Value::Integer(i) => Some(*i as f64),
                    _ => None,
                };
                (k.clone(), w)
            })
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|item| match item.split_once(':') {
                Some((b, w)) => (b.trim().to_string(), w.trim().parse().ok()),
                None => (item.trim().to_string(), None),
            })
            .collect(),
        Some(v) => {
            return Err(bad(format!(
                "a [band_wavelengths] table (band = angstrom) or \"band:angstrom,...\", got {v}"
            )))
        }
    };
    for (band, w) in given {
        match w {
            Some(w) if w.is_finite() && w > 0.0 && !band.is_empty() => {
                table.retain(|(b, _)| *b != band);
                table.push((band, w));
            }
            _ => {
                return Err(bad(format!(
                    "band '{band}' needs a finite wavelength > 0 in angstrom"
                )))
            }
        }
    }
    Ok(table)
}

impl LcConfig {
    /// The wavelength of each band called in `names` (Å; NaN when the table
    /// has none): the exact name first, else one that differs only in case
    /// (ZTF's "R" is r).
    pub fn wavelengths_for(&self, names: &[String]) -> Vec<f64> {
        let t = &self.band_wavelengths;
        names
            .iter()
            .map(|n| {
                t.iter()
                    .find(|(b, _)| b == n)
                    .or_else(|| t.iter().find(|(b, _)| b.eq_ignore_ascii_case(n)))
                    .map_or(f64::NAN, |(_, w)| *w)
            })
            .collect()
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
    use crate::config::UsageError;

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

    /// `bins_window` must be finite and > 0, `bins_offset` finite (exit 2 naming the
    /// key); `period_features` without the Lomb-Scargle search is refused.
    #[test]
    fn bins_keys_and_period_features_are_checked() {
        let with = |pairs: &[(&str, Value)]| {
            let mut l = Layered::default();
            l.set("input", Value::String("unused.h5".into()), "test");
            for (k, v) in pairs {
                l.set(k, v.clone(), "test");
            }
            LcConfig::from_layered(&l)
        };
        let d = config("fast").object.bins;
        assert_eq!((d.window, d.offset), (1.0, 0.0));
        let ok = with(&[
            ("bins_window", Value::Float(0.5)),
            ("bins_offset", Value::Float(-0.25)),
        ])
        .unwrap();
        assert_eq!((ok.object.bins.window, ok.object.bins.offset), (0.5, -0.25));
        for (key, bad) in [
            ("bins_window", Value::Float(0.0)),
            ("bins_window", Value::Integer(-1)),
            ("bins_window", Value::Float(f64::NAN)),
            ("bins_window", Value::Float(f64::INFINITY)),
            ("bins_offset", Value::Float(f64::INFINITY)),
            ("bins_offset", Value::String("noon".into())),
        ] {
            let e = with(&[(key, bad.clone())]).unwrap_err();
            assert!(e.downcast_ref::<crate::config::UsageError>().is_some());
            assert!(e.to_string().contains(key), "{key} = {bad}: {e}");
        }
        let s = |v: &str| Value::String(v.into());
        for (features, periods) in [
            ("basic,period_features", "gls"),
            ("basic,periodic,period_features", "bls"),
        ] {
            let e = with(&[("features", s(features)), ("periods", s(periods))])
                .unwrap_err()
                .to_string();
            assert!(e.contains("period_features") && e.contains("'gls'"), "{e}");
        }
        let g = with(&[("features", s("basic,periodic,period_features,bins"))])
            .unwrap()
            .object
            .groups;
        assert!(g.period_features && g.bins && !g.extended);
    }

    #[test]
    fn refine_peaks_sets_the_refinement_candidates() {
        assert_eq!(config("fast").object.refine.top_k, 5, "default");
        assert_eq!(with_key("refine_peaks", 7).unwrap().object.refine.top_k, 7);
        assert_eq!(
            with_key("refine_peaks", 0).unwrap().object.refine.top_k,
            0,
            "off"
        );
        for bad in [21, -1] {
            let e = with_key("refine_peaks", bad).unwrap_err().to_string();
            assert!(e.contains("refine_peaks"), "{bad}: {e}");
        }
    }

    #[test]
    fn unsure_keys_are_checked() {
        let r = config("fast").object.refine;
        assert_eq!((r.unsure_margin, r.unsure_peaks), (0.0, 12), "default: off");
        let r = with_float("unsure_margin", 75.0).unwrap().object.refine;
        assert_eq!(r.unsure_margin, 75.0);
        assert_eq!(
            with_key("unsure_peaks", 8)
                .unwrap()
                .object
                .refine
                .unsure_peaks,
            8
        );
        for bad in [-1.0, f64::NAN] {
            let e = with_float("unsure_margin", bad).unwrap_err().to_string();
            assert!(e.contains("'unsure_margin'"), "{bad}: {e}");
        }
        for bad in [0, 21] {
            let e = with_key("unsure_peaks", bad).unwrap_err().to_string();
            assert!(e.contains("unsure_peaks"), "{bad}: {e}");
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

    /// The configuration with one float key set.
    fn with_float(key: &str, v: f64) -> anyhow::Result<LcConfig> {
        let mut l = Layered::default();
        l.set("input", Value::String("unused.h5".into()), "test");
        l.set(key, Value::Float(v), "test");
        LcConfig::from_layered(&l)
    }

    /// The refusal of a bad value: a usage error (exit 2) that names the key.
    fn refused(r: anyhow::Result<LcConfig>, key: &str) {
        let e = r.err().unwrap_or_else(|| panic!("{key}: accepted"));
        assert!(e.downcast_ref::<UsageError>().is_some(), "{key}: {e}");
        assert!(e.to_string().contains(key), "{key}: {e}");
    }

    #[test]
    fn period_method_keys_are_checked() {
        let c = config("fast").object;
        assert_eq!(c.mharm_terms, 2, "default");
        assert_eq!((c.pdm.n_bins, c.ce.phase_bins, c.ce.mag_bins), (10, 10, 5));
        assert_eq!(c.bls.duration_range, (0.02, 0.5));
        assert_eq!(with_key("pdm_bins", 20).unwrap().object.pdm.n_bins, 20);
        assert_eq!(with_key("ce_mag_bins", 8).unwrap().object.ce.mag_bins, 8);
        assert_eq!(with_key("mharm_terms", 3).unwrap().object.mharm_terms, 3);
        let d = with_float("bls_max_duration", 0.3).unwrap();
        assert_eq!(d.object.bls.duration_range, (0.02, 0.3));
        for (key, bad) in [
            ("pdm_bins", 1),
            ("pdm_bins", 1001),
            ("ce_phase_bins", 1),
            ("ce_mag_bins", 0),
            ("mharm_terms", 0),
            ("mharm_terms", MAX_HARMONICS as i64 + 1),
        ] {
            refused(with_key(key, bad), key);
        }
        for (key, bad) in [
            ("bls_min_duration", 0.0),
            ("bls_min_duration", -0.1),
            ("bls_max_duration", f64::NAN),
            ("bls_max_duration", f64::INFINITY),
        ] {
            refused(with_float(key, bad), key);
        }
        // a range the wrong way round names both keys
        let e = with_float("bls_min_duration", 0.9).unwrap_err();
        assert!(e.downcast_ref::<UsageError>().is_some(), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("bls_min_duration") && msg.contains("bls_max_duration"),
            "{msg}"
        );
    }

    /// The configuration with `key` set to the TOML value `v`.
    fn with_value(key: &str, v: &str) -> anyhow::Result<LcConfig> {
        let mut l = Layered::default();
        l.set("input", Value::String("unused.h5".into()), "test");
        l.set("dmdt", Value::String("gausses".into()), "test");
        let t: toml::Table = format!("x = {v}").parse().unwrap();
        l.set(key, t["x"].clone(), "test");
        LcConfig::from_layered(&l)
    }

    #[test]
    fn band_wavelengths_resolve_and_are_checked() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = config("fast");
        let w = c.wavelengths_for(&names(&["g", "R", "x"]));
        assert_eq!(&w[..2], &[4770.0, 6231.0]);
        assert!(w[2].is_nan());
        let c = with_value("band_wavelengths", "{ x = 5000, g = 4800.5 }").unwrap();
        assert_eq!(
            c.wavelengths_for(&names(&["g", "x", "i"])),
            vec![4800.5, 5000.0, 7625.0]
        );
        let mut l = Layered::default();
        l.set("input", Value::String("unused.h5".into()), "test");
        l.set("wavelength_preset", Value::String("lsst".into()), "test");
        let c = LcConfig::from_layered(&l).unwrap();
        assert_eq!(c.wavelengths_for(&names(&["y"])), vec![9712.0]);
        for (key, bad) in [
            ("band_wavelengths", "{ g = -1 }"),
            ("band_wavelengths", "{ g = \"blue\" }"),
            ("band_wavelengths", "\"g:nan\""),
            ("wavelength_preset", "\"hst\""),
        ] {
            let e = with_value(key, bad).unwrap_err().to_string();
            assert!(e.contains(&format!("'{key}'")), "{key} = {bad}: {e}");
        }
    }

    #[test]
    fn dmdt_keys_are_checked() {
        assert!(config("fast").object.dmdt.is_none(), "off by default");
        let c = with_value("dmdt_lgdt", "[-1, 2.5, 10]").unwrap();
        let plan = c.object.dmdt.unwrap();
        assert_eq!(plan.options.mode, DmDtMode::Gausses);
        assert_eq!((plan.options.grid.lgdt_size, plan.width()), (10, 320));
        for (key, bad) in [
            ("dmdt_lgdt", "[0, 3, 0]"),
            ("dmdt_lgdt", "[3, 3, 8]"),
            ("dmdt_lgdt", "[0, nan, 8]"),
            ("dmdt_lgdt", "[0, 3, 2.5]"),
            ("dmdt_lgdt", "[0, 3]"),
            ("dmdt_dm", "[0, 8]"),
            ("dmdt_dm", "[inf, 8]"),
            ("dmdt_dm", "[2, 0]"),
            ("dmdt_norm", "[\"dt\", \"mean\"]"),
            ("dmdt", "\"pairs\""),
        ] {
            let e = with_value(key, bad).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(&format!("'{key}'")), "{key} = {bad}: {msg}");
            assert!(e.downcast_ref::<crate::config::UsageError>().is_some());
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
