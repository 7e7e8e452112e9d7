//! The light-curve job (`tessera lightcurves`): job-driver layer.
//!
//! Objects are cut into fixed tiles of `tile` objects. Rank 0 hands tiles out
//! dynamically (see [`crate::jobs::dispatch`]); each rank reads its tile's
//! observations straight from the input file, processes the objects with
//! rayon, and writes the tile's rows into one output file through parallel
//! HDF5 (MPI-IO), so bulk rows never pass through rank 0. Each object gets
//! one row per band of the input plus a `multi` row for results combining
//! all bands; row `r` belongs to object `r / (bands + 1)` and band
//! `r % (bands + 1)` (index `bands` = multi). Every row depends only on its
//! object, so the file's datasets are identical for any ranks and threads.

use std::path::PathBuf;

use ndarray::{s, Array2};
use rayon::prelude::*;
use toml::Value;

use crate::comm::{Comm, Coordinated};
use crate::config::{usage, Layered};
use crate::gpu::lombscargle::{lomb_scargle_batch_gpu, LightCurveBatch};
use crate::gpu::{Backend, GpuDevice, Resolved};
use crate::jobs::dispatch::run_tiles;
use crate::jobs::mc::{build_pool, resolve_threads};
use crate::lcio::{LcFile, Quantity, Ragged};
use crate::numeric::lightcurve::clean::{clean, CleanScratch, LcBuf};
use crate::numeric::lightcurve::sf::{build_pairs, fit_pairs, SfModel, SfOptions, SfScratch};
use crate::numeric::lightcurve::{
    feature_descriptions, pipeline, CleanConfig, DuplicatePolicy, Normalisation, Reason, SigmaClip,
};
use crate::numeric::lomb_scargle_direct::FreqGrid as DirectGrid;
use crate::numeric::periodogram::{
    autofrequency, best_peak, false_alarm_baluev, fold_summary, lomb_scargle, multiband_power,
    refine_peaks, top_peaks, FoldWorkspace, FreqGrid, GridOptions, HarmonicWorkspace, Method,
    MultibandWorkspace, Peak, RefineOptions, Workspace as LsWorkspace, ASTROPY_REG_BAND,
    MAX_HARMONICS,
};
use crate::output::{self, Provenance};
use crate::say0;
use crate::timings::{Phase, PhaseTimer};

pub const KEYS: [&str; 21] = [
    "backend",
    "refine_peaks",
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
];

/// A validated light-curve configuration.
#[derive(Clone, Debug)]
pub struct LcConfig {
    pub input: PathBuf,
    pub out: PathBuf,
    pub threads: usize,
    pub tile: usize,
    pub clean: CleanConfig,
    pub grid: GridOptions,
    pub top_k: usize,
    pub method: Method,
    pub refine: RefineOptions,
    pub structure_function: bool,
    pub fold_bins: usize,
    /// Requested backend of the single-band periodograms (resolved against
    /// the GPU probe before MPI).
    pub backend: Backend,
    /// The resolved configuration as TOML, for `/provenance/config`.
    pub toml: String,
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
    pub fn from_layered(l: &Layered) -> anyhow::Result<LcConfig> {
        l.check_keys(&KEYS)?;
        let input = PathBuf::from(l.string("input", "")?);
        if input.as_os_str().is_empty() {
            return Err(usage("no input: give --input lc.h5 (made by tessera ingest csv or tessera synth lightcurves)"));
        }
        let out = PathBuf::from(l.string("out", "features.h5")?);
        let threads = l.count("threads", 0, 0)? as usize;
        let tile = l.count("tile", 256, 1)? as usize;
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
            "fast" => Method::Fast,
            "direct" => Method::Direct,
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
        let structure_function = match l.get("structure_function") {
            None => true,
            Some(Value::Boolean(b)) => *b,
            Some(v) => {
                return Err(usage(format!(
                    "config key 'structure_function': true or false, got {v}"
                )))
            }
        };
        let fold_bins = l.count("fold_bins", 10, 2)? as usize;
        let backend = l.backend()?;
        let mut t = toml::Table::new();
        for key in KEYS {
            if let Some(v) = l.get(key) {
                t.insert(key.to_string(), v.clone());
            }
        }
        t.insert("backend".into(), Value::String(backend.name().into()));
        Ok(LcConfig {
            input,
            out,
            threads,
            tile,
            clean,
            grid,
            top_k,
            method,
            refine,
            structure_function,
            fold_bins,
            backend,
            toml: toml::to_string(&t).unwrap_or_default(),
        })
    }
}

/// Why a row is (partly) missing. Codes 1..=12 are the cleaning/feature
/// reasons of [`Reason`]; the job adds its own above them.
pub const NO_DATA: u8 = 20;
pub const NO_PERIODOGRAM: u8 = 21;

/// Name of a reason code (the `reason` column of `tessera export`).
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "",
        NO_DATA => "no_data_in_band",
        NO_PERIODOGRAM => "periodogram_failed",
        c => ALL_REASONS
            .iter()
            .find(|r| r.code() == c)
            .map_or("unknown", |r| r.name()),
    }
}

const ALL_REASONS: [Reason; 12] = [
    Reason::Empty,
    Reason::LengthMismatch,
    Reason::RowWidth,
    Reason::AllNonFinite,
    Reason::NonFinite,
    Reason::ZeroErrors,
    Reason::Unsorted,
    Reason::DuplicateTimes,
    Reason::AllClipped,
    Reason::TooFewPoints,
    Reason::ConstantMagnitude,
    Reason::BadConfig,
];

/// The periodogram and structure-function columns after the feature row.
fn extra_columns(top_k: usize) -> Vec<(String, String)> {
    let mut c: Vec<(String, String)> = [
        ("period", "best period of the plain generalised Lomb-Scargle periodogram (multi: multiband periodogram), days"),
        ("period_power", "its normalised power (standard normalisation, 0..1)"),
        ("period_fap", "false-alarm probability of that peak (Baluev 2008; NaN for multi)"),
        ("period_refined", "period after re-ranking the top peaks and their daily/yearly aliases by a multi-harmonic fit (shared across bands for multi), days"),
        ("period_refined_chi2", "chi-square of the multi-harmonic fit at period_refined"),
        ("period_plain_chi2", "chi-square of the multi-harmonic fit at the plain peak"),
        ("fold_amplitude", "peak-to-peak amplitude of the harmonic fit folded at period_refined"),
        ("fold_binned_rms", "RMS of the residuals about the phase-binned mean at period_refined"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    for k in 1..=top_k {
        c.push((
            format!("peak{k}_period"),
            format!("period of the {k}-th highest distinct periodogram peak, days"),
        ));
        c.push((
            format!("peak{k}_power"),
            format!("power of the {k}-th highest distinct periodogram peak"),
        ));
    }
    for (name, desc) in [
        ("sf_powerlaw_A", "structure function V = A (dt/1 yr)^gamma: A, mag (Schmidt et al. 2010; ML over all pairs)"),
        ("sf_powerlaw_A_err", "1-sigma uncertainty of sf_powerlaw_A"),
        ("sf_powerlaw_gamma", "structure function power-law index gamma"),
        ("sf_powerlaw_gamma_err", "1-sigma uncertainty of sf_powerlaw_gamma"),
        ("sf_powerlaw_loglike", "maximum log-likelihood of the power-law model"),
        ("sf_drw_omega", "damped random walk V = omega (1 - exp(-dt/tau))^(1/2): omega, mag"),
        ("sf_drw_omega_err", "1-sigma uncertainty of sf_drw_omega"),
        ("sf_drw_tau", "damped random walk timescale tau, days"),
        ("sf_drw_tau_err", "1-sigma uncertainty of sf_drw_tau"),
        ("sf_drw_loglike", "maximum log-likelihood of the damped-random-walk model"),
    ] {
        c.push((name.to_string(), desc.to_string()));
    }
    c
}

/// Column names and descriptions of the feature matrix.
pub fn columns(top_k: usize) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = pipeline::row_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let meta_desc = [
        "points before cleaning",
        "points after cleaning",
        "normalisation applied (0 none, 1 zscore, 2 minmax)",
        "normalisation offset",
        "normalisation scale",
    ];
    let mut desc: Vec<String> = meta_desc.iter().map(|s| s.to_string()).collect();
    desc.extend(feature_descriptions().iter().map(|s| s.to_string()));
    for (n, d) in extra_columns(top_k) {
        names.push(n);
        desc.push(d);
    }
    (names, desc)
}

/// Per-thread scratch: nothing is allocated per object once warm.
#[derive(Default)]
pub struct ObjectScratch {
    pipe: pipeline::PipelineScratch,
    bt: Vec<f64>,
    bm: Vec<f64>,
    be: Vec<f64>,
    all_t: Vec<f64>,
    all_m: Vec<f64>,
    all_e: Vec<f64>,
    all_b: Vec<u8>,
    zeros: Vec<u8>,
    power: Vec<f64>,
    ls: LsWorkspace,
    multi: MultibandWorkspace,
    harm: HarmonicWorkspace,
    fold: FoldWorkspace,
    sf: SfScratch,
    peaks: Vec<Peak>,
}

/// Single-band periodogram power computed before [`process_object`] (on
/// the GPU), one entry per band of the object: the power on the band's
/// frequency grid (`autofrequency` of its cleaned times), or `None` when no
/// periodogram could be made (fewer than 3 points, constant data).
pub type GivenPower<'a> = Option<&'a [f64]>;

/// Where [`periodogram_columns`] gets the single-band power from.
#[derive(Clone, Copy, Debug)]
enum PowerSource<'a> {
    /// Computed there with `cfg.method` on the CPU.
    Compute,
    Given(GivenPower<'a>),
}

/// The points of band `b`, in input order, into `bt/bm/be`.
#[allow(clippy::too_many_arguments)]
fn band_points(
    t: &[f64],
    m: &[f64],
    e: &[f64],
    band: &[u8],
    b: usize,
    bt: &mut Vec<f64>,
    bm: &mut Vec<f64>,
    be: &mut Vec<f64>,
) {
    bt.clear();
    bm.clear();
    be.clear();
    for k in 0..t.len() {
        if band[k] as usize == b {
            bt.push(t[k]);
            bm.push(m[k]);
            be.push(e[k]);
        }
    }
}

/// Processes one object: `rows` is `(bands + 1) * ncols` long, `reasons`
/// `bands + 1`. `given` (one entry per band) supplies the single-band
/// periodogram power computed elsewhere; `None` computes it here with
/// `cfg.method`. The multiband periodogram is always computed here.
#[allow(clippy::too_many_arguments)]
pub fn process_object(
    cfg: &LcConfig,
    t: &[f64],
    m: &[f64],
    e: &[f64],
    band: &[u8],
    bands: usize,
    given: Option<&[GivenPower]>,
    ws: &mut ObjectScratch,
    rows: &mut [f64],
    reasons: &mut [u8],
) {
    let ncols = rows.len() / (bands + 1);
    let base = pipeline::row_width();
    rows.fill(f64::NAN);
    reasons.fill(0);
    ws.all_t.clear();
    ws.all_m.clear();
    ws.all_e.clear();
    ws.all_b.clear();
    for b in 0..bands {
        let row = &mut rows[b * ncols..(b + 1) * ncols];
        band_points(t, m, e, band, b, &mut ws.bt, &mut ws.bm, &mut ws.be);
        if ws.bt.is_empty() {
            reasons[b] = NO_DATA;
            continue;
        }
        if let Err(r) = pipeline::process(
            &ws.bt,
            &ws.bm,
            &ws.be,
            &cfg.clean,
            &mut ws.pipe,
            &mut row[..base],
        ) {
            reasons[b] = r.code();
            continue;
        }
        let c = &ws.pipe.curve;
        ws.all_t.extend_from_slice(&c.t);
        ws.all_m.extend_from_slice(&c.m);
        ws.all_e.extend_from_slice(&c.e);
        ws.all_b.extend(std::iter::repeat_n(b as u8, c.t.len()));
        ws.zeros.clear();
        ws.zeros.resize(c.t.len(), 0);
        let extra = &mut row[base..];
        let source = match given {
            None => PowerSource::Compute,
            Some(g) => PowerSource::Given(g[b]),
        };
        if !periodogram_columns(
            cfg,
            &c.t,
            &c.m,
            &c.e,
            &ws.zeros,
            1,
            false,
            source,
            &mut ws.ls,
            &mut ws.multi,
            &mut ws.harm,
            &mut ws.fold,
            &mut ws.power,
            &mut ws.peaks,
            extra,
        ) {
            reasons[b] = NO_PERIODOGRAM;
        }
        if cfg.structure_function {
            let sf0 = 8 + 2 * cfg.top_k;
            // the pairs are built once for both models
            let built = build_pairs(&c.t, &c.m, &c.e, &mut ws.sf).is_ok();
            for (model, at) in [(SfModel::PowerLaw, sf0), (SfModel::Drw, sf0 + 5)] {
                if !built {
                    break;
                }
                if let Ok(fit) = fit_pairs(model, &SfOptions::default(), &mut ws.sf) {
                    extra[at] = fit.params[0];
                    extra[at + 1] = fit.sigma[0];
                    extra[at + 2] = fit.params[1];
                    extra[at + 3] = fit.sigma[1];
                    extra[at + 4] = fit.log_likelihood;
                }
            }
        }
    }
    // the multi row: all cleaned points of all bands; with a single band it would
    // repeat that band's periodogram, so its results are copied
    let used: Vec<usize> = (0..bands)
        .filter(|&b| reasons[b] == 0 || reasons[b] == NO_PERIODOGRAM)
        .collect();
    if used.len() == 1 && reasons[used[0]] == 0 {
        let b = used[0];
        let (head, multi) = rows.split_at_mut(bands * ncols);
        multi[base..].copy_from_slice(&head[b * ncols + base..(b + 1) * ncols]);
        multi[0] = t.len() as f64;
        multi[1] = ws.all_t.len() as f64;
        // the structure-function fits describe single bands only
        let sf0 = base + 8 + 2 * cfg.top_k;
        multi[sf0..sf0 + 10].fill(f64::NAN);
        multi[base + 2] = f64::NAN; // no multiband FAP
        return;
    }
    let row = &mut rows[bands * ncols..];
    row[0] = t.len() as f64;
    row[1] = ws.all_t.len() as f64;
    if ws.all_t.len() < 3 {
        reasons[bands] = if t.is_empty() {
            NO_DATA
        } else {
            Reason::TooFewPoints.code()
        };
        return;
    }
    // periodograms want time order; bands were appended one after another
    sort_by_time(&mut ws.all_t, &mut ws.all_m, &mut ws.all_e, &mut ws.all_b);
    let extra = &mut row[base..];
    let (all_t, all_m, all_e, all_b) = (&ws.all_t, &ws.all_m, &ws.all_e, &ws.all_b);
    if !periodogram_columns(
        cfg,
        all_t,
        all_m,
        all_e,
        all_b,
        bands,
        true,
        PowerSource::Compute,
        &mut ws.ls,
        &mut ws.multi,
        &mut ws.harm,
        &mut ws.fold,
        &mut ws.power,
        &mut ws.peaks,
        extra,
    ) {
        reasons[bands] = NO_PERIODOGRAM;
    }
}

fn sort_by_time(t: &mut [f64], m: &mut [f64], e: &mut [f64], b: &mut [u8]) {
    if t.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    let mut idx: Vec<usize> = (0..t.len()).collect();
    idx.sort_by(|&i, &j| t[i].total_cmp(&t[j]).then(b[i].cmp(&b[j])));
    let (t0, m0, e0, b0) = (t.to_vec(), m.to_vec(), e.to_vec(), b.to_vec());
    for (k, &i) in idx.iter().enumerate() {
        t[k] = t0[i];
        m[k] = m0[i];
        e[k] = e0[i];
        b[k] = b0[i];
    }
}

/// Fills the periodogram columns; false when no periodogram could be made.
#[allow(clippy::too_many_arguments)]
fn periodogram_columns(
    cfg: &LcConfig,
    t: &[f64],
    y: &[f64],
    dy: &[f64],
    band: &[u8],
    nbands: usize,
    multi: bool,
    source: PowerSource,
    ls: &mut LsWorkspace,
    mbw: &mut MultibandWorkspace,
    harm: &mut HarmonicWorkspace,
    fold: &mut FoldWorkspace,
    power: &mut Vec<f64>,
    peaks: &mut Vec<Peak>,
    out: &mut [f64],
) -> bool {
    let Some(grid) = autofrequency(t, &cfg.grid) else {
        return false;
    };
    power.clear();
    power.resize(grid.n, 0.0);
    let ok = match (multi, source) {
        (true, _) => multiband_power(
            t,
            y,
            Some(dy),
            band,
            nbands,
            &grid,
            cfg.method,
            ASTROPY_REG_BAND,
            mbw,
            power,
        ),
        (false, PowerSource::Compute) => lomb_scargle(t, y, Some(dy), &grid, cfg.method, ls, power),
        (false, PowerSource::Given(Some(p))) => {
            // the same cleaned times give the same grid: a mismatch is a bug
            assert_eq!(p.len(), grid.n, "given periodogram on another grid");
            power.copy_from_slice(p);
            true
        }
        (false, PowerSource::Given(None)) => false,
    };
    if !ok {
        return false;
    }
    let Some(best) = best_peak(&grid, power) else {
        return false;
    };
    out[0] = best.period;
    out[1] = best.power;
    out[2] = if multi {
        f64::NAN
    } else {
        false_alarm_baluev(best.power, grid.f_last(), t, Some(dy))
    };
    // one peak list serves the refinement (its first refine.top_k) and the peak columns
    // (the first top_k): the greedy selection makes a shorter list a prefix of a longer one
    top_peaks(
        &grid,
        power,
        cfg.top_k.max(cfg.refine.top_k),
        cfg.refine.min_separation * grid.df,
        peaks,
    );
    if let Some(r) = refine_peaks(
        t,
        y,
        Some(dy),
        band,
        nbands,
        &grid,
        peaks,
        &cfg.refine,
        harm,
    ) {
        out[3] = r.period;
        out[4] = r.chi2;
        out[5] = r.plain_chi2;
        if !multi {
            let f = fold_summary(
                t,
                y,
                Some(dy),
                r.period,
                cfg.fold_bins,
                cfg.refine.harmonic.nharm,
                fold,
            );
            out[6] = f.fit_amplitude;
            out[7] = f.binned_rms;
        }
    }
    for (k, p) in peaks.iter().take(cfg.top_k).enumerate() {
        out[8 + 2 * k] = p.period;
        out[9 + 2 * k] = p.power;
    }
    true
}

/// The rows of one tile.
pub struct TileRows {
    pub first_object: usize,
    pub objects: usize,
    pub values: Vec<f64>,
    pub reasons: Vec<u8>,
}

/// Reads and processes objects `first..end` with the current rayon pool.
/// With `device`, the single-band periodograms of all the tile's (object,
/// band) curves are computed first in one batched GPU call (direct method,
/// [`tile_power_gpu`]) and handed to [`process_object`]; cleaning,
/// features, peaks, FAP, refinement, folding, structure functions and the
/// multiband periodogram stay on the CPU.
pub fn process_tile(
    cfg: &LcConfig,
    input: &LcFile,
    first: usize,
    end: usize,
    ncols: usize,
    device: Option<&GpuDevice>,
) -> anyhow::Result<TileRows> {
    let data = input.read_objects(first, end)?;
    let bands = input.band_names.len();
    let power = device
        .map(|dev| tile_power(cfg, &data, bands, |b| lomb_scargle_batch_gpu::<f64>(dev, b)))
        .transpose()?;
    let (values, reasons) = process_objects(cfg, &data, bands, ncols, power.as_ref());
    Ok(TileRows {
        first_object: first,
        objects: end - first,
        values,
        reasons,
    })
}

thread_local! {
    /// Each thread's scratch for [`process_objects`]; contents never carry over between
    /// objects (every buffer is overwritten), only capacity and FFT plans do.
    static SCRATCH: std::cell::RefCell<ObjectScratch> = std::cell::RefCell::new(ObjectScratch::default());
}

/// The rows and reason codes of every object of `data` (with the current
/// rayon pool), the single-band power taken from `power` when given.
pub fn process_objects(
    cfg: &LcConfig,
    data: &Ragged,
    bands: usize,
    ncols: usize,
    power: Option<&TilePower>,
) -> (Vec<f64>, Vec<u8>) {
    let objects = data.objects();
    let per = (bands + 1) * ncols;
    let mut values = vec![f64::NAN; objects * per];
    let mut reasons = vec![0u8; objects * (bands + 1)];
    let given = power.map(TilePower::given);
    values
        .par_chunks_mut(per)
        .zip(reasons.par_chunks_mut(bands + 1))
        .enumerate()
        .for_each(|(i, (rows, why))| {
            // one scratch per thread for the whole run: rayon's `for_each_init` would
            // build a fresh one (FFT plans, pair buffers) for every piece of work it splits
            SCRATCH.with_borrow_mut(|ws| {
                let r = data.range(i);
                process_object(
                    cfg,
                    &data.time[r.clone()],
                    &data.mag[r.clone()],
                    &data.err[r.clone()],
                    &data.band[r],
                    bands,
                    given.as_ref().map(|g| &g[i * bands..(i + 1) * bands]),
                    ws,
                    rows,
                    why,
                );
            })
        });
    (values, reasons)
}

/// The single-band periodograms of one tile, computed on the GPU.
pub struct TilePower {
    /// Per (object, band), `object * bands + band`: the curve's index in
    /// the batch, if it was cleaned and has a frequency grid.
    slots: Vec<Option<usize>>,
    /// Flat power of every curve of the batch, and where each starts.
    power: Vec<f64>,
    offsets: Vec<usize>,
    /// Whether curve `c` had a periodogram (3+ points, not constant).
    has_power: Vec<bool>,
}

impl TilePower {
    /// The [`GivenPower`] of every (object, band), `object * bands + band`.
    pub fn given(&self) -> Vec<GivenPower<'_>> {
        self.slots
            .iter()
            .map(|slot| {
                slot.filter(|&c| self.has_power[c])
                    .map(|c| &self.power[self.offsets[c]..self.offsets[c + 1]])
            })
            .collect()
    }
}

/// Cleans every band of every object of a tile (on the rayon pool, with the
/// same [`clean`] that [`process_object`] runs, so the same curves and
/// frequency grids) and computes all their generalised Lomb-Scargle
/// periodograms in one batched call of `periodograms`: on the GPU
/// `lomb_scargle_batch_gpu::<f64>` (direct method; within 1e-5 of the
/// CPU's, see docs/gpu.md), in tests its CPU twin. Host memory: 8 bytes per
/// frequency of every curve of the tile.
pub fn tile_power(
    cfg: &LcConfig,
    data: &Ragged,
    bands: usize,
    periodograms: impl FnOnce(&LightCurveBatch) -> anyhow::Result<Vec<f64>>,
) -> anyhow::Result<TilePower> {
    struct Cleaned {
        band: usize,
        curve: LcBuf,
        grid: FreqGrid,
    }
    let per_object: Vec<Vec<Cleaned>> = (0..data.objects())
        .into_par_iter()
        .map_init(
            || (CleanScratch::default(), Vec::new(), Vec::new(), Vec::new()),
            |(scratch, bt, bm, be), i| {
                let r = data.range(i);
                let mut out = Vec::new();
                for b in 0..bands {
                    let (t, m, e) = (
                        &data.time[r.clone()],
                        &data.mag[r.clone()],
                        &data.err[r.clone()],
                    );
                    band_points(t, m, e, &data.band[r.clone()], b, bt, bm, be);
                    if bt.is_empty() {
                        continue;
                    }
                    let mut curve = LcBuf::default();
                    if clean(bt, bm, be, &cfg.clean, scratch, &mut curve).is_err() {
                        continue;
                    }
                    if let Some(grid) = autofrequency(&curve.t, &cfg.grid) {
                        out.push(Cleaned {
                            band: b,
                            curve,
                            grid,
                        });
                    }
                }
                out
            },
        )
        .collect();
    let mut batch = LightCurveBatch {
        offsets: vec![0],
        ..Default::default()
    };
    let mut slots = vec![None; per_object.len() * bands];
    for (i, cleaned) in per_object.into_iter().enumerate() {
        for c in cleaned {
            slots[i * bands + c.band] = Some(batch.curves());
            batch.t.extend_from_slice(&c.curve.t);
            batch.y.extend_from_slice(&c.curve.m);
            batch.dy.extend_from_slice(&c.curve.e);
            batch.offsets.push(batch.t.len());
            batch.grids.push(DirectGrid {
                f0: c.grid.f0,
                df: c.grid.df,
                n: c.grid.n,
            });
        }
    }
    let power = if batch.curves() == 0 {
        Vec::new()
    } else {
        periodograms(&batch)?
    };
    anyhow::ensure!(
        power.len() == batch.power_offsets()[batch.curves()],
        "batched periodogram: {} powers for {} frequencies",
        power.len(),
        batch.power_offsets()[batch.curves()]
    );
    Ok(TilePower {
        slots,
        power,
        offsets: batch.power_offsets(),
        has_power: (0..batch.curves()).map(|c| batch.has_power(c)).collect(),
    })
}

/// Runs the job on this rank with a backend already resolved (before MPI,
/// by the binary, so `--backend gpu` without a device exits 2 early).
pub fn run_on(
    cfg: &LcConfig,
    backend: &Resolved,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<()> {
    let mut timer = PhaseTimer::start();
    timer.add(Phase::Read, read_seconds);
    let start_time = output::now_rfc3339();
    let size = comm.size();

    let input = comm.agree(timer.time(Phase::Read, || LcFile::open(&cfg.input)))?;
    if input.quantity == Quantity::Flux {
        say0!("lightcurves: input holds fluxes; features describe flux values");
    }
    let bands = input.band_names.len();
    let objects = input.objects;
    let (names, descriptions) = columns(cfg.top_k);
    let ncols = names.len();
    let rows_per_object = bands + 1;
    let n_rows = objects * rows_per_object;
    let tiles = objects.div_ceil(cfg.tile) as u64;
    let threads = resolve_threads(cfg.threads, comm.node_size());
    let pool = build_pool(threads)?;
    // each rank opens the device of its node-local rank
    let device = crate::gpu::open_for_job("lightcurves", cfg.backend, backend, comm)?;
    say0!(
        "lightcurves: {objects} objects x {bands} bands from '{}' in {tiles} tiles of {}; {size} ranks x {threads} threads{}",
        cfg.input.display(),
        cfg.tile,
        if device.is_some() {
            "; single-band periodograms on the GPU (direct method)"
        } else {
            ""
        }
    );

    // the output: one file, created collectively under rank 0's temporary name
    let out = comm.agree(output::ParallelH5::create(comm, &cfg.out))?;
    let write_start = std::time::Instant::now();
    let datasets = comm.agree((|| -> anyhow::Result<_> {
        let f = out.file();
        let g = f.create_group("features")?;
        let chunk_rows = (cfg.tile * rows_per_object).min(n_rows.max(1));
        let values = g
            .new_dataset::<f64>()
            .chunk((chunk_rows, ncols))
            .shape((n_rows, ncols))
            .create("values")?;
        let reason = g
            .new_dataset::<u8>()
            .chunk(chunk_rows)
            .shape(n_rows)
            .create("reason")?;
        let object = g
            .new_dataset::<u64>()
            .chunk(chunk_rows)
            .shape(n_rows)
            .create("object")?;
        let band = g
            .new_dataset::<u8>()
            .chunk(chunk_rows)
            .shape(n_rows)
            .create("band")?;
        Ok((values, reason, object, band))
    })())?;
    timer.add(Phase::Write, write_start.elapsed().as_secs_f64());

    let mut counts = vec![0u64; 256];
    let dispatch = run_tiles(
        comm,
        tiles,
        |tile| {
            let first = tile as usize * cfg.tile;
            let end = (first + cfg.tile).min(objects);
            pool.install(|| process_tile(cfg, &input, first, end, ncols, device.as_ref()))
        },
        |_tile, rows: TileRows| {
            let r0 = rows.first_object * rows_per_object;
            let r1 = r0 + rows.objects * rows_per_object;
            let (values, reason, object, band) = &datasets;
            let arr = Array2::from_shape_vec((r1 - r0, ncols), rows.values)?;
            values.write_slice(&arr, s![r0..r1, ..])?;
            reason.write_slice(&rows.reasons, s![r0..r1])?;
            let obj: Vec<u64> = (r0..r1).map(|r| (r / rows_per_object) as u64).collect();
            object.write_slice(&obj, s![r0..r1])?;
            let bnd: Vec<u8> = (r0..r1).map(|r| (r % rows_per_object) as u8).collect();
            band.write_slice(&bnd, s![r0..r1])?;
            for &c in &rows.reasons {
                counts[c as usize] += 1;
            }
            Ok(())
        },
    )?;
    timer.add(Phase::Scatter, dispatch.scatter);
    timer.add(Phase::Compute, dispatch.compute);
    timer.add(Phase::Write, dispatch.write);
    let close_start = std::time::Instant::now();
    drop(datasets);
    let out = out.close_parallel(comm)?;
    timer.add(Phase::Write, close_start.elapsed().as_secs_f64());

    let t_reduce = std::time::Instant::now();
    let counts_f: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let all_counts = comm.gather_f64(&counts_f);
    let my_tiles = comm.gather_f64(&[dispatch.tiles.len() as f64]);
    let hosts = comm.gather_bytes(comm.host_name().as_bytes());
    let devices = crate::gpu::provenance_fields(device.as_ref(), comm);
    timer.add(Phase::Reduce, t_reduce.elapsed().as_secs_f64());
    let timing_rows = comm.gather_f64(&timer.row());
    let (
        Some(all_counts),
        Some(my_tiles),
        Some(hosts),
        Some((backend_name, device_name)),
        Some(mut timing_rows),
        Some(out),
    ) = (all_counts, my_tiles, hosts, devices, timing_rows, out)
    else {
        return Ok(());
    };

    // rank 0 alone, after every collective: metadata, provenance, timings
    let finish = || -> anyhow::Result<PathBuf> {
        let t_write = std::time::Instant::now();
        let mut reason_counts = vec![0u64; 256];
        for rc in &all_counts {
            for (k, &c) in rc.iter().enumerate() {
                reason_counts[k] += c as u64;
            }
        }
        let f = out.reopen()?;
        let g = f.group("features")?;
        let values = g.dataset("values")?;
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let desc_refs: Vec<&str> = descriptions.iter().map(String::as_str).collect();
        output::attr_str_list(&values, "columns", &name_refs)?;
        output::attr_str_list(&values, "descriptions", &desc_refs)?;
        output::attr_str(&values, "row_layout", &format!("row r = object r / {rows_per_object}, band r % {rows_per_object} (index {bands} = multi)"))?;
        let codes: Vec<u8> = (0..=255u8)
            .filter(|&c| c == 0 || reason_name(c) != "unknown")
            .collect();
        let code_names: Vec<String> = codes
            .iter()
            .map(|&c| format!("{c}={}", if c == 0 { "ok" } else { reason_name(c) }))
            .collect();
        output::write_str_list(&g, "reason_codes", &code_names)?;
        let mut band_names = input.band_names.clone();
        band_names.push("multi".into());
        output::write_str_list(&g, "band_names", &band_names)?;
        let objects_g = f.create_group("objects")?;
        output::write_str_list(&objects_g, "object_id", &input.object_ids()?)?;
        if let Some(p) = input.true_periods()? {
            objects_g
                .new_dataset_builder()
                .with_data(&p)
                .create("true_period")?;
        }
        let summary = f.create_group("summary")?;
        output::write_u64(&summary, "objects", objects as u64)?;
        output::write_u64(&summary, "rows", n_rows as u64)?;
        let flagged: Vec<String> = codes
            .iter()
            .filter(|&&c| c != 0 && reason_counts[c as usize] > 0)
            .map(|&c| format!("{}: {}", reason_name(c), reason_counts[c as usize]))
            .collect();
        output::write_str_list(&summary, "flagged_rows", &flagged)?;
        let compute = timing_rows
            .iter()
            .map(|r| r[Phase::Compute as usize])
            .fold(0.0, f64::max);
        let hosts: Vec<String> = hosts
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        Provenance {
            job: "lightcurves".into(),
            command_line: command_line.to_string(),
            config_toml: cfg.toml.clone(),
            ranks: size,
            threads_per_rank: threads,
            backend: backend_name.clone(),
            device: device_name.clone(),
            mpi_library: comm.library_version(),
            hosts: output::summarise_hosts(&hosts),
            start_time: start_time.clone(),
            end_time: output::now_rfc3339(),
        }
        .write(&f)?;
        timer.add(Phase::Write, t_write.elapsed().as_secs_f64());
        timing_rows[0] = timer.row().to_vec();
        output::write_timings(&f, &timing_rows)?;
        drop(f);
        let path = out.commit()?;
        let total = timing_rows[0][Phase::Total as usize];
        println!("objects     {objects} ({n_rows} rows: {bands} bands + multi)");
        println!(
            "flagged     {}",
            if flagged.is_empty() {
                "none".to_string()
            } else {
                flagged.join(", ")
            }
        );
        println!(
            "tiles/rank  {}",
            my_tiles
                .iter()
                .map(|v| format!("{}", v[0]))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!(
            "time        {total:.3} s total, {compute:.3} s compute on {size} ranks x {threads} threads ({:.0} objects/s, {:.3} ms per object per core)",
            objects as f64 / total,
            1e3 * compute * (threads as f64) / objects.max(1) as f64
        );
        if backend_name == "gpu" {
            println!("gpu         {device_name} (single-band periodograms, direct method)");
        }
        println!("output      {}", path.display());
        Ok(path)
    };
    finish().map_err(Coordinated)?;
    Ok(())
}

/// The whole feature row of one band's points, for benchmarks and tests.
pub fn process_single(
    cfg: &LcConfig,
    t: &[f64],
    m: &[f64],
    e: &[f64],
    ws: &mut ObjectScratch,
) -> (Vec<f64>, Vec<u8>) {
    let ncols = columns(cfg.top_k).0.len();
    let band = vec![0u8; t.len()];
    let mut rows = vec![0.0; 2 * ncols];
    let mut reasons = vec![0u8; 2];
    process_object(cfg, t, m, e, &band, 1, None, ws, &mut rows, &mut reasons);
    (rows, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::lombscargle::lomb_scargle_batch_cpu;
    use crate::numeric::synth::{synth_curve, SynthParams};

    fn config(periodogram: &str) -> LcConfig {
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
        assert_eq!(config("fast").refine.top_k, 5, "default");
        assert_eq!(with_key("refine_peaks", 7).unwrap().refine.top_k, 7);
        for bad in [0, 21, -1] {
            let e = with_key("refine_peaks", bad).unwrap_err().to_string();
            assert!(e.contains("refine_peaks"), "{bad}: {e}");
        }
    }

    #[test]
    fn harmonics_are_checked() {
        assert_eq!(with_key("harmonics", 12).unwrap().refine.harmonic.nharm, 12);
        for bad in [0, 13, -2] {
            let e = with_key("harmonics", bad).unwrap_err().to_string();
            assert!(e.contains("'harmonics'"), "{bad}: {e}");
        }
    }

    /// Synthetic objects in 3 bands, a few of them too short to clean.
    fn objects(n: u64) -> Ragged {
        let p = SynthParams {
            seed: 5,
            epochs: 30,
            outlier_fraction: 0.02,
            ..Default::default()
        };
        let mut data = Ragged::new();
        for i in 0..n {
            let mut c = synth_curve(&p, i);
            if i % 9 == 4 {
                c.time.truncate(4); // too few points in every band
            }
            let k = c.time.len();
            data.time.extend(&c.time);
            data.mag.extend(&c.mag[..k]);
            data.err.extend(&c.err[..k]);
            data.band.extend(&c.band[..k]);
            data.push_object(format!("obj{i}"), c.period);
        }
        data
    }

    /// The GPU hook-up without a GPU: the tile's curves batched, their power
    /// computed by the GPU's CPU twin and handed to `process_object` give
    /// the rows of the CPU direct method: features and reasons bit for bit,
    /// periodogram columns within the twin's rounding (the best and refined
    /// periods equal).
    #[test]
    fn batched_power_gives_the_rows_of_the_cpu_direct_method() {
        let cfg = config("direct");
        let data = objects(40);
        let bands = 3;
        let ncols = columns(cfg.top_k).0.len();
        let (cpu, cpu_why) = process_objects(&cfg, &data, bands, ncols, None);
        let power = tile_power(&cfg, &data, bands, lomb_scargle_batch_cpu).unwrap();
        assert!(power.given().iter().filter(|g| g.is_some()).count() > 80);
        let (twin, twin_why) = process_objects(&cfg, &data, bands, ncols, Some(&power));
        assert_eq!(cpu_why, twin_why);
        assert!(cpu_why.contains(&Reason::TooFewPoints.code()));
        let base = pipeline::row_width();
        let mut max_dp = 0.0f64;
        for (r, (a, b)) in cpu.chunks(ncols).zip(twin.chunks(ncols)).enumerate() {
            let same = |x: f64, y: f64| x.to_bits() == y.to_bits();
            for k in 0..base {
                assert!(same(a[k], b[k]), "row {r} column {k}: {} vs {}", a[k], b[k]);
            }
            // period and refined period equal, powers close
            assert!(
                same(a[base], b[base]),
                "row {r}: period {} vs {}",
                a[base],
                b[base]
            );
            assert!(same(a[base + 3], b[base + 3]), "row {r}: refined period");
            if a[base + 1].is_finite() {
                max_dp = max_dp.max((a[base + 1] - b[base + 1]).abs());
            }
            for k in base..ncols {
                let rel = (a[k] - b[k]).abs() / a[k].abs().max(1e-300);
                assert!(
                    same(a[k], b[k]) || rel < 1e-6,
                    "row {r} column {k}: {} vs {}",
                    a[k],
                    b[k]
                );
            }
        }
        eprintln!("batched twin vs CPU direct: max |dP| of the best peak {max_dp:.1e}");
        assert!(max_dp <= 1e-9, "{max_dp:e}");
    }

    /// With the fast method the CPU computes single-band power itself; given
    /// power replaces it for the bands only, the multiband row stays the same.
    #[test]
    fn given_power_leaves_the_multiband_row_to_the_cpu() {
        let cfg = config("fast");
        let data = objects(12);
        let ncols = columns(cfg.top_k).0.len();
        let (cpu, _) = process_objects(&cfg, &data, 3, ncols, None);
        let power = tile_power(&cfg, &data, 3, lomb_scargle_batch_cpu).unwrap();
        let (twin, _) = process_objects(&cfg, &data, 3, ncols, Some(&power));
        for (a, b) in cpu.chunks(4 * ncols).zip(twin.chunks(4 * ncols)) {
            let multi = 3 * ncols..4 * ncols;
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a[multi.clone()]), bits(&b[multi]));
        }
    }
}
