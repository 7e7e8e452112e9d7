//! The per-object pipeline: every band of one object cleaned, featured and
//! searched for periods, plus a `multi` row combining the bands. Pure code
//! over slices (numeric layer); the job runs it on rayon threads.
//!
//! Row `b` of an object is band `b`; row `bands` is `multi`. The columns
//! are those of [`RowLayout`].

use crate::numeric::lightcurve::bins::{bins_features, BinsOptions, BinsScratch};
use crate::numeric::lightcurve::clean::CleanConfig;
use crate::numeric::lightcurve::color::{color_features, ColorScratch};
use crate::numeric::lightcurve::columns::{
    Block, Groups, Methods, RowLayout, BASELINE_TOO_LONG, BLS_COLUMNS, GRID_TOO_LARGE,
    NO_BAND_WAVELENGTH, NO_DATA, NO_PERIODOGRAM, PERIOD_SEARCH_FAILED, RAINBOW_FIT_FAILED,
    SF_FIT_WIDTH, TOO_MANY_POINTS_FOR_SF, TRANSIENT_FIT_FAILED,
};
use crate::numeric::lightcurve::dmdt::{dmdt_map, DmDtPlan, DmDtScratch};
use crate::numeric::lightcurve::period_features::{
    peak_signal_to_noise, period_features, power_mean_std, PhaseScratch,
};
use crate::numeric::lightcurve::pipeline;
use crate::numeric::lightcurve::reason::Reason;
use crate::numeric::lightcurve::sf::{build_pairs, fit_pairs, SfModel, SfOptions, SfScratch};
use crate::numeric::lightcurve::transient::rainbow::{
    fit_rainbow, RainbowCurve, RainbowError, RainbowScratch, RAINBOW_PARAMS,
};
use crate::numeric::lightcurve::transient::{
    fit_transient, n_params, TransientScratch, Unit, TRANSIENT_MODELS,
};
use crate::numeric::periodogram::{
    alias_offsets, autofrequency, best_peak, false_alarm_baluev, fold_summary, lomb_scargle,
    multiband_power, refine_peaks, store_periodogram, top_peaks, FoldScratch, GridOptions,
    HarmonicScratch, LombScargleScratch, MultibandScratch, Peak, PeriodogramMethod, RefineOptions,
    StoredLayout, ASTROPY_REG_BAND,
};
use crate::numeric::periodogram::{
    bls_best, bls_grid, ce_entropy_of_mags, ce_power, multiharmonic_power, pdm_power,
    BlsGridOptions, BlsOptions, BlsScratch, BlsTrials, CeOptions, CeScratch, MultiHarmonicOptions,
    MultiHarmonicScratch, PdmOptions, PdmScratch,
};

/// What is computed for each object, and how.
#[derive(Clone, Debug)]
pub struct ObjectOptions {
    /// Cleaning of each band before features and periodograms.
    pub clean: CleanConfig,
    /// Frequency grid of the periodograms.
    pub grid: GridOptions,
    /// Peak columns per row.
    pub top_k: usize,
    /// Periodogram algorithm (fast NUFFT or direct).
    pub method: PeriodogramMethod,
    /// Period refinement against aliases.
    pub refine: RefineOptions,
    /// The feature groups of a row (`features`).
    pub groups: Groups,
    /// The period searches of the `periodic` group (`periods`).
    pub methods: Methods,
    /// Harmonics of the multi-harmonic periodogram (`mharm_terms`).
    pub mharm_terms: usize,
    /// Whether the values are fluxes (from the input's quantity): transient
    /// fits take them as they are (magnitudes are fitted as µJy) and box
    /// least squares looks for dips (for magnitudes, rises).
    pub flux: bool,
    /// Box least squares: durations and bins.
    pub bls: BlsOptions,
    /// Phase dispersion minimisation: bins and covers.
    pub pdm: PdmOptions,
    /// Conditional entropy: phase and magnitude bins.
    pub ce: CeOptions,
    /// Time bins of the `bins` group (`bins_window`, `bins_offset`).
    pub bins: BinsOptions,
    /// Phase bins of the folded summary.
    pub fold_bins: usize,
    /// Most frequencies a periodogram may have; a band over it gets
    /// [`GRID_TOO_LARGE`] (bounds memory and time per object).
    pub max_frequencies: usize,
    /// Most points a band may have for its structure-function fits (all
    /// pairs: memory grows as points^2); over it the fits are skipped with
    /// [`TOO_MANY_POINTS_FOR_SF`].
    pub max_sf_points: usize,
    /// Longest time span a band may have for its periodogram, days; longer
    /// ones get [`BASELINE_TOO_LONG`] (a time value far off would otherwise
    /// give a "period" longer than the age of the data).
    pub max_baseline: f64,
    /// Most observations an object may have (all bands): a larger object is
    /// never read, every row of it gets [`TOO_MANY_POINTS`] (bounds the
    /// memory a tile holds, see the job's `process_tile`).
    pub max_points: usize,
    /// Max-pooled points of the periodogram kept per row (with the top
    /// peaks and their aliases, see [`StoredLayout`]); 0 keeps none.
    pub store_points: usize,
    /// The dm-dt map kept per band row (after the stored periodogram in a
    /// row's record), when set; `multi` holds it only as a copy of an
    /// object's only usable band.
    pub dmdt: Option<DmDtPlan>,
    /// Effective wavelength of each band of the input, Å (NaN: unknown), for
    /// the Rainbow fit; the job sets it from the input's band names.
    pub band_wavelengths: Vec<f64>,
}

/// Default of [`ObjectOptions::max_frequencies`]: 16 MB of power per curve.
pub const DEFAULT_MAX_FREQUENCIES: usize = 2_000_000;
/// Default of [`ObjectOptions::max_baseline`]: 10^5 days (274 years; the
/// oldest photographic plates are about 135 years old).
pub const DEFAULT_MAX_BASELINE: f64 = 1e5;
/// Default of [`ObjectOptions::max_points`]: 10^6 observations, 33 MB read
/// and a few times that in working buffers.
pub const DEFAULT_MAX_POINTS: usize = 1_000_000;
/// Default of [`ObjectOptions::max_sf_points`]: about 2 million pairs.
pub const DEFAULT_MAX_SF_POINTS: usize = 2000;

/// Whether a band's reason code leaves its cleaned points usable (its
/// features were computed).
fn cleaned(code: u8) -> bool {
    matches!(
        code,
        0 | NO_PERIODOGRAM
            | GRID_TOO_LARGE
            | TOO_MANY_POINTS_FOR_SF
            | BASELINE_TOO_LONG
            | TRANSIENT_FIT_FAILED
            | PERIOD_SEARCH_FAILED
    )
}

impl ObjectOptions {
    /// The row layout these options produce for objects of `bands` bands.
    pub fn layout(&self, bands: usize) -> RowLayout {
        RowLayout {
            top_k: self.top_k,
            groups: self.groups,
            methods: self.methods,
            bands,
        }
    }

    /// The stored-periodogram record of a row, when periodograms are kept.
    pub fn stored_layout(&self) -> Option<StoredLayout> {
        (self.store_points > 0).then_some(StoredLayout {
            points: self.store_points,
            top_k: self.top_k,
        })
    }

    /// Values of a row's record: the stored periodogram, then the dm-dt
    /// map (0 when neither is kept).
    pub fn stored_width(&self) -> usize {
        self.periodogram_width() + self.dmdt_width()
    }

    /// Values of the stored periodogram at the start of a row's record.
    pub fn periodogram_width(&self) -> usize {
        self.stored_layout().map_or(0, |l| l.width())
    }

    /// Values of the dm-dt map at the end of a row's record (0 when off).
    pub fn dmdt_width(&self) -> usize {
        self.dmdt.as_ref().map_or(0, |p| p.width())
    }
}

/// Per-thread scratch: nothing is allocated per object once warm.
#[derive(Default)]
pub struct ObjectScratch {
    pipe: pipeline::PipelineScratch,
    band_time: Vec<f64>,
    band_mag: Vec<f64>,
    band_err: Vec<f64>,
    all_t: Vec<f64>,
    all_m: Vec<f64>,
    all_e: Vec<f64>,
    all_b: Vec<u8>,
    zeros: Vec<u8>,
    power: Vec<f64>,
    periodograms: PeriodogramScratch,
    sf: SfScratch,
    transient: TransientScratch,
    color: ColorScratch,
    searches: SearchScratch,
    dmdt: DmDtScratch,
    rainbow: RainbowScratch,
    phase: PhaseScratch,
    bins: BinsScratch,
}

/// The scratch of the period searches other than Lomb-Scargle.
#[derive(Default)]
struct SearchScratch {
    bls: BlsScratch,
    pdm: PdmScratch,
    ce: CeScratch,
    mharm: MultiHarmonicScratch,
    peaks: Vec<Peak>,
}

/// The periodogram part of [`ObjectScratch`].
#[derive(Default)]
struct PeriodogramScratch {
    ls: LombScargleScratch,
    multi: MultibandScratch,
    harm: HarmonicScratch,
    fold: FoldScratch,
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
    /// Computed there with the configured method on the CPU.
    Compute,
    /// Computed elsewhere (see [`GivenPower`]).
    Given(GivenPower<'a>),
}

/// One object's observations: parallel slices, `band[k]` the band index of
/// point `k`.
#[derive(Clone, Copy, Debug)]
pub struct Observations<'a> {
    /// Times, days.
    pub time: &'a [f64],
    /// Magnitudes (or fluxes).
    pub mag: &'a [f64],
    /// 1-sigma uncertainties.
    pub err: &'a [f64],
    /// Band index of each point.
    pub band: &'a [u8],
}

/// Where [`process_object`] writes one object's results: `bands + 1` rows
/// each of feature values, a reason code and a stored-periodogram record.
pub struct ObjectRows<'a> {
    /// `(bands + 1) * width` feature values.
    pub values: &'a mut [f64],
    /// `bands + 1` reason codes.
    pub reasons: &'a mut [u8],
    /// `(bands + 1) * stored_width` stored-periodogram values (empty when
    /// none are kept).
    pub stored: &'a mut [f64],
}

/// One row's outputs inside [`periodogram_columns`].
struct RowSlices<'a> {
    values: &'a mut [f64],
    stored: &'a mut [f64],
}

/// The points of band `b`, in input order, into the three buffers.
pub fn band_points(
    obs: Observations,
    b: usize,
    time: &mut Vec<f64>,
    mag: &mut Vec<f64>,
    err: &mut Vec<f64>,
) {
    time.clear();
    mag.clear();
    err.clear();
    for k in 0..obs.time.len() {
        if obs.band[k] as usize == b {
            time.push(obs.time[k]);
            mag.push(obs.mag[k]);
            err.push(obs.err[k]);
        }
    }
}

/// Processes one object into `out` (see [`ObjectRows`]). `given` (one entry
/// per band) supplies the single-band periodogram power computed elsewhere;
/// `None` computes it here with `opts.method`. The multiband periodogram is
/// always computed here.
pub fn process_object(
    opts: &ObjectOptions,
    obs: Observations,
    bands: usize,
    given: Option<&[GivenPower]>,
    ws: &mut ObjectScratch,
    out: ObjectRows,
) {
    let ObjectRows {
        values: rows,
        reasons,
        stored,
    } = out;
    let layout = opts.layout(bands);
    let ncols = rows.len() / (bands + 1);
    let swidth = stored.len() / (bands + 1);
    // a record: the stored periodogram, then the dm-dt map
    let pg_width = opts.periodogram_width();
    let base = pipeline::row_width();
    rows.fill(f64::NAN);
    reasons.fill(0);
    stored.fill(f64::NAN);
    ws.all_t.clear();
    ws.all_m.clear();
    ws.all_e.clear();
    ws.all_b.clear();
    for b in 0..bands {
        let row = &mut rows[b * ncols..(b + 1) * ncols];
        band_points(
            obs,
            b,
            &mut ws.band_time,
            &mut ws.band_mag,
            &mut ws.band_err,
        );
        if ws.band_time.is_empty() {
            reasons[b] = NO_DATA;
            continue;
        }
        // the extended block follows the basic columns, so one split gives both
        let ext = layout.block(Block::Extended);
        let (basic, rest) = row.split_at_mut(base);
        let ext_row = ext.map(|r| &mut rest[r.start - base..r.end - base]);
        if let Err(r) = pipeline::process_with_extended(
            &ws.band_time,
            &ws.band_mag,
            &ws.band_err,
            &opts.clean,
            &mut ws.pipe,
            basic,
            ext_row,
        ) {
            reasons[b] = r.code();
            continue;
        }
        let c = &ws.pipe.curve;
        ws.all_t.extend_from_slice(&c.t);
        ws.all_m.extend_from_slice(&c.m);
        ws.all_e.extend_from_slice(&c.e);
        ws.all_b.extend(std::iter::repeat_n(b as u8, c.t.len()));
        if let Some(plan) = &opts.dmdt {
            // the cleaned curve is sorted and finite, so this cannot fail
            let map = &mut stored[b * swidth + pg_width..(b + 1) * swidth];
            dmdt_map(plan, &c.t, &c.m, &c.e, &mut ws.dmdt, map);
        }
        ws.zeros.clear();
        ws.zeros.resize(c.t.len(), 0);
        let curve = Observations {
            time: &c.t,
            mag: &c.m,
            err: &c.e,
            band: &ws.zeros,
        };
        if layout.has(Block::Gls) {
            let source = match given {
                None => PowerSource::Compute,
                Some(g) => PowerSource::Given(g[b]),
            };
            let out = RowSlices {
                values: row,
                stored: &mut stored[b * swidth..b * swidth + pg_width],
            };
            match periodogram_columns(
                opts,
                curve,
                1,
                false,
                source,
                &mut ws.periodograms,
                &mut ws.power,
                out,
            ) {
                Err(code) => reasons[b] = code,
                Ok(()) => {
                    if let Some(r) = layout.block(Block::PeriodFeatures) {
                        // folded at the alias-corrected period where there is one
                        let refined = row[RowLayout::PERIOD_REFINED];
                        let period = if refined.is_finite() {
                            refined
                        } else {
                            row[RowLayout::PERIOD]
                        };
                        let curve = (&c.t[..], &c.m[..], &c.e[..]);
                        period_features(&ws.power, curve, period, &mut ws.phase, &mut row[r]);
                    }
                }
            }
        }
        if let Some(r) = layout.block(Block::Bins) {
            bins_features(&c.t, &c.m, &c.e, &opts.bins, &mut ws.bins, &mut row[r]);
        }
        let mut flag = |code: u8| {
            if reasons[b] == 0 {
                reasons[b] = code;
            }
        };
        if let Some(at) = layout.sf_powerlaw() {
            if c.t.len() > opts.max_sf_points {
                flag(TOO_MANY_POINTS_FOR_SF);
            } else if build_pairs(&c.t, &c.m, &c.e, &mut ws.sf).is_ok() {
                // the pairs are built once for both models
                for (model, at) in [(SfModel::PowerLaw, at), (SfModel::Drw, at + SF_FIT_WIDTH)] {
                    if let Ok(fit) = fit_pairs(model, &SfOptions::default(), &mut ws.sf) {
                        row[at..at + SF_FIT_WIDTH].copy_from_slice(&[
                            fit.params[0],
                            fit.sigma[0],
                            fit.params[1],
                            fit.sigma[1],
                            fit.log_likelihood,
                        ]);
                    }
                }
            }
        }
        if let Some(r) = layout.block(Block::Transient) {
            if !transient_columns(opts, &c.t, &c.m, &c.e, &mut ws.transient, &mut row[r]) {
                flag(TRANSIENT_FIT_FAILED);
            }
        }
        if !period_searches(opts, &layout, curve, &mut ws.searches, &mut ws.power, row) {
            flag(PERIOD_SEARCH_FAILED);
        }
    }
    let colors = layout.block(Block::Color);
    // the multi row: all cleaned points of all bands; with a single band it would
    // repeat that band's periodogram, so its results are copied
    let used: Vec<usize> = (0..bands).filter(|&b| cleaned(reasons[b])).collect();
    // (a band whose only flag is the skipped structure function has its periodogram)
    if used.len() == 1
        && matches!(
            reasons[used[0]],
            0 | TOO_MANY_POINTS_FOR_SF | TRANSIENT_FIT_FAILED | PERIOD_SEARCH_FAILED
        )
    {
        let b = used[0];
        let (head, multi) = stored.split_at_mut(bands * swidth);
        multi.copy_from_slice(&head[b * swidth..(b + 1) * swidth]);
        let (head, multi) = rows.split_at_mut(bands * ncols);
        multi[base..].copy_from_slice(&head[b * ncols + base..(b + 1) * ncols]);
        multi[RowLayout::N_RAW] = obs.time.len() as f64;
        multi[RowLayout::N_CLEAN] = ws.all_t.len() as f64;
        // features, structure functions and transient fits describe single bands only
        for blk in [
            Block::Extended,
            Block::StructureFunction,
            Block::Transient,
            Block::PeriodFeatures,
            Block::Bins,
        ] {
            if let Some(r) = layout.block(blk) {
                multi[r].fill(f64::NAN);
            }
        }
        if layout.has(Block::Gls) {
            multi[RowLayout::PERIOD_FAP] = f64::NAN; // no multiband FAP
        }
        if let Some(r) = colors {
            color_features(
                &ws.all_m,
                &ws.all_e,
                &ws.all_b,
                bands,
                &mut ws.color,
                &mut multi[r],
            );
        }
        if let Some(code) = rainbow_columns(opts, &layout, ws, multi) {
            reasons[bands] = code;
        }
        return;
    }
    let row = &mut rows[bands * ncols..];
    row[RowLayout::N_RAW] = obs.time.len() as f64;
    row[RowLayout::N_CLEAN] = ws.all_t.len() as f64;
    if let Some(r) = colors {
        color_features(
            &ws.all_m,
            &ws.all_e,
            &ws.all_b,
            bands,
            &mut ws.color,
            &mut row[r],
        );
    }
    let rainbow = rainbow_columns(opts, &layout, ws, row);
    if ws.all_t.len() < 3 {
        reasons[bands] = if obs.time.is_empty() {
            NO_DATA
        } else {
            Reason::TooFewPoints.code()
        };
        return;
    }
    if let Some(code) = rainbow {
        reasons[bands] = code;
    }
    if !layout.has(Block::Gls) {
        return;
    }
    // periodograms want time order; bands were appended one after another
    sort_by_time(&mut ws.all_t, &mut ws.all_m, &mut ws.all_e, &mut ws.all_b);
    let all = Observations {
        time: &ws.all_t,
        mag: &ws.all_m,
        err: &ws.all_e,
        band: &ws.all_b,
    };
    let out = RowSlices {
        values: row,
        stored: &mut stored[bands * swidth..bands * swidth + pg_width],
    };
    if let Err(code) = periodogram_columns(
        opts,
        all,
        bands,
        true,
        PowerSource::Compute,
        &mut ws.periodograms,
        &mut ws.power,
        out,
    ) {
        reasons[bands] = code;
    }
}

/// The period searches other than Lomb-Scargle on one band's cleaned curve
/// (`row` the whole row, each method's block filled); false when a chosen
/// search gave no result (its columns NaN). Box least squares searches its
/// own grid ([`bls_grid`]: fine enough for the shortest box); the others the
/// Lomb-Scargle grid, within the same `max_frequencies` and `max_baseline`.
fn period_searches(
    opts: &ObjectOptions,
    layout: &RowLayout,
    curve: Observations,
    ws: &mut SearchScratch,
    power: &mut Vec<f64>,
    row: &mut [f64],
) -> bool {
    let (t, y, dy) = (curve.time, curve.mag, Some(curve.err));
    let mut ok = true;
    let top_k = opts.top_k;
    let peaks_into = |out: &mut [f64], peaks: &[Peak], value: &dyn Fn(f64) -> f64| {
        for (k, p) in peaks.iter().take(top_k).enumerate() {
            out[2 * k] = p.period;
            out[2 * k + 1] = value(p.power);
        }
    };
    if let Some(r) = layout.block(Block::Bls) {
        let bls = BlsOptions {
            magnitudes: !opts.flux,
            ..opts.bls
        };
        let grid =
            bls_grid(t, &bls, &BlsGridOptions::default()).filter(|g| g.n <= opts.max_frequencies);
        let best = grid.as_ref().and_then(|g| {
            bls_best(t, y, dy, BlsTrials::Grid(g), &bls, &mut ws.bls).map(|b| (g, b))
        });
        match best {
            Some((g, b)) => {
                let out = &mut row[r];
                out[..BLS_COLUMNS.len()].copy_from_slice(&[
                    b.period,
                    b.power,
                    b.depth,
                    b.depth_err,
                    b.duration,
                    b.epoch,
                    b.snr,
                    b.sde,
                ]);
                top_peaks(
                    g,
                    &ws.bls.power,
                    top_k,
                    opts.refine.min_separation * g.df,
                    &mut ws.peaks,
                );
                peaks_into(&mut out[BLS_COLUMNS.len()..], &ws.peaks, &|p| p);
            }
            None => ok = false,
        }
    }
    let searches = [Block::Pdm, Block::Ce, Block::Mharm];
    if !searches.iter().any(|&b| layout.has(b)) {
        return ok;
    }
    let grid = autofrequency(t, &opts.grid)
        .filter(|g| g.n <= opts.max_frequencies && t[t.len() - 1] - t[0] <= opts.max_baseline);
    for blk in searches {
        let Some(r) = layout.block(blk) else {
            continue;
        };
        let Some(g) = grid.as_ref() else {
            ok = false;
            continue;
        };
        power.clear();
        power.resize(g.n, 0.0);
        // each method's power is "higher is better"; `value` turns it into the
        // column's quantity (theta, entropy, power)
        let mut hm = f64::NAN;
        let done = match blk {
            Block::Pdm => pdm_power(t, y, dy, g, &opts.pdm, &mut ws.pdm, power),
            Block::Ce => {
                hm = ce_entropy_of_mags(t, y, dy, &opts.ce, &mut ws.ce).unwrap_or(f64::NAN);
                ce_power(t, y, dy, g, &opts.ce, &mut ws.ce, power)
            }
            _ => {
                let mh = MultiHarmonicOptions {
                    nterms: opts.mharm_terms,
                    method: opts.method,
                };
                multiharmonic_power(t, y, dy, g, &mh, &mut ws.mharm, power)
            }
        };
        let value = |p: f64| match blk {
            Block::Pdm => 1.0 - p,
            Block::Ce => hm - p,
            _ => p,
        };
        let best = if done { best_peak(g, power) } else { None };
        let Some(best) = best else {
            ok = false;
            continue;
        };
        let out = &mut row[r];
        out[0] = best.period;
        out[1] = value(best.power);
        top_peaks(
            g,
            power,
            top_k,
            opts.refine.min_separation * g.df,
            &mut ws.peaks,
        );
        peaks_into(&mut out[2..], &ws.peaks, &value);
    }
    ok
}

/// The transient fits of one band's cleaned curve into `out` (the
/// transient block); false when a model gave no fit (its columns NaN).
fn transient_columns(
    opts: &ObjectOptions,
    t: &[f64],
    y: &[f64],
    dy: &[f64],
    ws: &mut TransientScratch,
    out: &mut [f64],
) -> bool {
    let unit = if opts.flux { Unit::Flux } else { Unit::Mag };
    let mut all = true;
    let mut at = 0;
    for model in TRANSIENT_MODELS {
        let n = n_params(model);
        match fit_transient(model, t, y, dy, unit, ws) {
            Some(f) => {
                for k in 0..n {
                    out[at + 2 * k] = f.params[k];
                    out[at + 2 * k + 1] = f.sigma[k];
                }
                out[at + 2 * n] = f.reduced_chi2;
            }
            None => all = false,
        }
        at += 2 * n + 1;
    }
    all
}

/// The Rainbow fit of every cleaned point of the object into its block of the
/// `multi` row; the row's reason code when the block is there and no fit was
/// made ([`NO_BAND_WAVELENGTH`], else [`RAINBOW_FIT_FAILED`]).
fn rainbow_columns(
    opts: &ObjectOptions,
    layout: &RowLayout,
    ws: &mut ObjectScratch,
    row: &mut [f64],
) -> Option<u8> {
    let r = layout.block(Block::Rainbow)?;
    if opts.band_wavelengths.len() != layout.bands {
        return Some(NO_BAND_WAVELENGTH);
    }
    let out = &mut row[r];
    let curve = RainbowCurve {
        t: &ws.all_t,
        y: &ws.all_m,
        dy: &ws.all_e,
        band: &ws.all_b,
        wavelengths: &opts.band_wavelengths,
        unit: if opts.flux { Unit::Flux } else { Unit::Mag },
    };
    let np = 2 * RAINBOW_PARAMS;
    let (head, tail) = out.split_at_mut(np);
    let nb = opts.band_wavelengths.len();
    match fit_rainbow(curve, &mut ws.rainbow, &mut tail[..2 * nb]) {
        Ok(f) => {
            for k in 0..RAINBOW_PARAMS {
                head[2 * k] = f.params[k];
                head[2 * k + 1] = f.sigma[k];
            }
            tail[2 * nb] = f.reduced_chi2;
            None
        }
        Err(RainbowError::NoWavelength(_)) => Some(NO_BAND_WAVELENGTH),
        Err(_) => Some(RAINBOW_FIT_FAILED),
    }
}

/// Sorts the four parallel arrays by time (then band), stably.
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

/// Fills the periodogram and peak columns of the row (and its stored
/// periodogram when kept); the reason code when no periodogram could be
/// made ([`GRID_TOO_LARGE`] past `max_frequencies`, else [`NO_PERIODOGRAM`]).
#[allow(clippy::too_many_arguments)]
fn periodogram_columns(
    opts: &ObjectOptions,
    obs: Observations,
    nbands: usize,
    multi: bool,
    source: PowerSource,
    ws: &mut PeriodogramScratch,
    power: &mut Vec<f64>,
    out: RowSlices,
) -> Result<(), u8> {
    let RowSlices {
        values: row,
        stored,
    } = out;
    let Observations {
        time: t,
        mag: y,
        err: dy,
        band,
    } = obs;
    let Some(grid) = autofrequency(t, &opts.grid) else {
        return Err(NO_PERIODOGRAM);
    };
    if grid.n > opts.max_frequencies {
        return Err(GRID_TOO_LARGE);
    }
    if t.last()
        .zip(t.first())
        .is_some_and(|(l, f)| l - f > opts.max_baseline)
    {
        return Err(BASELINE_TOO_LONG);
    }
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
            opts.method,
            ASTROPY_REG_BAND,
            &mut ws.multi,
            power,
        ),
        (false, PowerSource::Compute) => {
            lomb_scargle(t, y, Some(dy), &grid, opts.method, &mut ws.ls, power)
        }
        (false, PowerSource::Given(Some(p))) => {
            // the same cleaned times give the same grid: a mismatch is a bug
            assert_eq!(p.len(), grid.n, "given periodogram on another grid");
            power.copy_from_slice(p);
            true
        }
        (false, PowerSource::Given(None)) => false,
    };
    if !ok {
        return Err(NO_PERIODOGRAM);
    }
    let Some(best) = best_peak(&grid, power) else {
        return Err(NO_PERIODOGRAM);
    };
    row[RowLayout::PERIOD] = best.period;
    row[RowLayout::PERIOD_POWER] = best.power;
    row[RowLayout::PERIOD_FAP] = if multi {
        f64::NAN
    } else {
        false_alarm_baluev(best.power, grid.f_last(), t, Some(dy))
    };
    // one peak list serves the refinement (its first refine.top_k) and the peak columns
    // (the first top_k): the greedy selection makes a shorter list a prefix of a longer one
    top_peaks(
        &grid,
        power,
        opts.top_k.max(opts.refine.peaks_needed()),
        opts.refine.min_separation * grid.df,
        &mut ws.peaks,
    );
    // `refine_peaks = 0` turns the refinement off: its columns stay NaN and the fold
    // is at the plain peak
    let refined = if opts.refine.top_k == 0 {
        None
    } else {
        refine_peaks(
            t,
            y,
            Some(dy),
            band,
            nbands,
            &grid,
            &ws.peaks,
            &opts.refine,
            &mut ws.harm,
        )
    };
    if let Some(r) = refined {
        row[RowLayout::PERIOD_REFINED] = r.period;
        row[RowLayout::PERIOD_REFINED_CHI2] = r.chi2;
        row[RowLayout::PERIOD_PLAIN_CHI2] = r.plain_chi2;
        row[RowLayout::ALIAS_MARGIN] = r.margin;
    }
    let fold_period = match refined {
        Some(r) => Some(r.period),
        None if opts.refine.top_k == 0 => Some(best.period),
        None => None,
    };
    if let Some(period) = fold_period.filter(|_| !multi) {
        let f = fold_summary(
            t,
            y,
            Some(dy),
            period,
            opts.fold_bins,
            opts.refine.harmonic.nharm,
            &mut ws.fold,
        );
        row[RowLayout::FOLD_AMPLITUDE] = f.fit_amplitude;
        row[RowLayout::FOLD_BINNED_RMS] = f.binned_rms;
    }
    let layout = opts.layout(1);
    let (mean, std) = power_mean_std(power);
    for (k, p) in ws.peaks.iter().take(opts.top_k).enumerate() {
        row[layout.peak_period(k)] = p.period;
        row[layout.peak_power(k)] = p.power;
        row[layout.peak_s_to_n(k)] = peak_signal_to_noise(p.power, mean, std);
    }
    if let Some(sl) = opts.stored_layout() {
        let offsets = alias_offsets(opts.refine.aliases);
        store_periodogram(&grid, power, &ws.peaks, &offsets, &sl, stored);
    }
    Ok(())
}

/// The whole feature row of one band's points (and its `multi` row), for
/// benchmarks and tests: two rows of [`RowLayout::width`] and their reasons.
pub fn process_single(
    opts: &ObjectOptions,
    t: &[f64],
    m: &[f64],
    e: &[f64],
    ws: &mut ObjectScratch,
) -> (Vec<f64>, Vec<u8>) {
    let ncols = opts.layout(1).width();
    let band = vec![0u8; t.len()];
    let mut rows = vec![0.0; 2 * ncols];
    let mut reasons = vec![0u8; 2];
    let obs = Observations {
        time: t,
        mag: m,
        err: e,
        band: &band,
    };
    let mut stored = vec![0.0; 2 * opts.stored_width()];
    let out = ObjectRows {
        values: &mut rows,
        reasons: &mut reasons,
        stored: &mut stored,
    };
    process_object(opts, obs, 1, None, ws, out);
    (rows, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::lightcurve::bins::BINS;
    use crate::numeric::lightcurve::period_features::{
        phase_features, spectrum_features, PERIOD_FEATURES_WIDTH, SPECTRUM,
    };

    fn options() -> ObjectOptions {
        let mut o = crate::jobs::lightcurves::config::tests::config("direct").object;
        o.groups =
            Groups::parse(&["periodic", "period_features", "bins"].map(String::from)).unwrap();
        o.bins = BinsOptions {
            window: 3.0,
            offset: 0.25,
        };
        o.grid.min_period = Some(0.2); // the default grid stops near 1 cycle a day here
        o
    }

    /// A sawtooth of period 0.57 d (fast rise, slow decline) sampled on 120 nights.
    fn sawtooth() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let t: Vec<f64> = (0..120)
            .map(|i| {
                let jitter = ((i as f64 * 12.9898).sin() * 43758.5453).fract().abs();
                54000.0 + 2.3 * i as f64 + 0.8 * jitter
            })
            .collect();
        let m = t
            .iter()
            .map(|&x| 17.0 + 0.8 * ((x / 0.57).fract()) + 0.002 * (x * 13.1).sin())
            .collect();
        (t, m, vec![0.02; 120])
    }

    /// The row's signal-to-noise, period_features and bins columns are the kernels applied
    /// to the band's power and cleaned curve, folded at period_refined; the multi row has
    /// none of the per-band blocks.
    #[test]
    fn row_columns_are_the_kernels_at_period_refined() {
        let opts = options();
        let (t, m, e) = sawtooth();
        let (rows, reasons) = process_single(&opts, &t, &m, &e, &mut ObjectScratch::default());
        assert_eq!(reasons, vec![0, 0]);
        let layout = opts.layout(1);
        let w = layout.width();
        let row = &rows[..w];
        assert_eq!(row[RowLayout::N_CLEAN], 120.0, "nothing clipped");
        let g = autofrequency(&t, &opts.grid).unwrap();
        let mut power = vec![0.0; g.n];
        let mut ls = LombScargleScratch::default();
        assert!(lomb_scargle(
            &t,
            &m,
            Some(&e),
            &g,
            opts.method,
            &mut ls,
            &mut power
        ));
        let (mean, std) = power_mean_std(&power);
        for k in 0..opts.top_k {
            let want = peak_signal_to_noise(row[layout.peak_power(k)], mean, std);
            assert_eq!(row[layout.peak_s_to_n(k)], want, "peak {k}");
        }
        assert!(row[layout.peak_s_to_n(0)] > 10.0);
        let refined = row[RowLayout::PERIOD_REFINED];
        assert!((refined / 0.57 - 1.0).abs() < 1e-3, "{refined}");
        let pf = layout.block(Block::PeriodFeatures).unwrap();
        assert_eq!(pf.len(), PERIOD_FEATURES_WIDTH);
        let mut want = [0.0; PERIOD_FEATURES_WIDTH];
        let (spec, phase) = want.split_at_mut(SPECTRUM.len());
        spectrum_features(&power, spec);
        phase_features(&t, &m, &e, refined, &mut PhaseScratch::default(), phase);
        assert_eq!(&row[pf.clone()], &want[..]);
        // folded at the true period the sawtooth is smooth and rises with phase
        let eta = row[pf.start + SPECTRUM.len()];
        assert!(eta < 0.1, "period_folded_eta {eta}");
        let b = layout.block(Block::Bins).unwrap();
        let mut want = vec![0.0; BINS.len()];
        bins_features(
            &t,
            &m,
            &e,
            &opts.bins,
            &mut BinsScratch::default(),
            &mut want,
        );
        assert_eq!(&row[b.clone()], &want[..]);
        let multi = &rows[w..];
        assert!(multi[pf].iter().chain(&multi[b]).all(|x| x.is_nan()));
        assert!(
            multi[layout.peak_s_to_n(0)].is_finite(),
            "the gls block is copied"
        );
    }

    /// `refine_peaks = 0`: the refinement's columns are NaN, the fold is at the plain
    /// peak, and every other column is the refined row's.
    #[test]
    fn refine_peaks_zero_turns_the_refinement_off() {
        let on = options();
        let mut off = on.clone();
        off.refine.top_k = 0;
        let (t, m, e) = sawtooth();
        let (a, ra) = process_single(&on, &t, &m, &e, &mut ObjectScratch::default());
        let (b, rb) = process_single(&off, &t, &m, &e, &mut ObjectScratch::default());
        assert_eq!((ra, rb), (vec![0, 0], vec![0, 0]));
        let layout = on.layout(1);
        let w = layout.width();
        let refinement = [
            RowLayout::PERIOD_REFINED,
            RowLayout::PERIOD_REFINED_CHI2,
            RowLayout::PERIOD_PLAIN_CHI2,
            RowLayout::ALIAS_MARGIN,
        ];
        let folded = [RowLayout::FOLD_AMPLITUDE, RowLayout::FOLD_BINNED_RMS];
        let pf = layout.block(Block::PeriodFeatures).unwrap();
        for (i, (x, y)) in a[..w].iter().zip(&b[..w]).enumerate() {
            if refinement.contains(&i) {
                assert!(x.is_finite() && y.is_nan(), "column {i}: {x} vs {y}");
            } else if !folded.contains(&i) && !pf.contains(&i) {
                assert!(
                    x == y || (x.is_nan() && y.is_nan()),
                    "column {i}: {x} vs {y}"
                );
            }
        }
        let plain = b[RowLayout::PERIOD];
        assert!(
            (plain / a[RowLayout::PERIOD_REFINED] - 1.0).abs() > 1e-6,
            "a case where the two differ"
        );
        let f = fold_summary(
            &t,
            &m,
            Some(&e),
            plain,
            off.fold_bins,
            off.refine.harmonic.nharm,
            &mut FoldScratch::default(),
        );
        assert_eq!(b[RowLayout::FOLD_AMPLITUDE], f.fit_amplitude);
        assert_eq!(b[RowLayout::FOLD_BINNED_RMS], f.binned_rms);
        assert!(
            b[w + RowLayout::PERIOD_REFINED].is_nan(),
            "the multi row too"
        );
    }

    /// Degenerate bands: too few points give NaN in every new column, a constant curve
    /// NaN signal-to-noise and period features (no periodogram) and NaN for the binned
    /// features that divide by the spread, each with the row's reason.
    #[test]
    fn degenerate_bands_are_nan_with_a_reason() {
        let opts = options();
        let layout = opts.layout(1);
        let (t, m, e) = sawtooth();
        let flat = vec![17.0; t.len()];
        let bins = layout.block(Block::Bins).unwrap();
        let undefined = ["bins_skew", "bins_kurtosis", "bins_stetson_k", "bins_eta_e"]
            .map(|n| bins.start + BINS.iter().position(|f| f.name == n).unwrap());
        for (name, t, m, e) in [
            ("too few", &t[..3], &m[..3], &e[..3]),
            ("constant", &t[..], &flat[..], &e[..]),
        ] {
            let (rows, reasons) = process_single(&opts, t, m, e, &mut ObjectScratch::default());
            assert_ne!(reasons[0], 0, "{name}");
            let row = &rows[..layout.width()];
            let sn = (0..opts.top_k).map(|k| layout.peak_s_to_n(k));
            let cols: Vec<usize> = if name == "too few" {
                sn.chain(layout.block(Block::PeriodFeatures).unwrap())
                    .chain(bins.clone())
                    .collect()
            } else {
                sn.chain(layout.block(Block::PeriodFeatures).unwrap())
                    .chain(undefined)
                    .collect()
            };
            for c in cols {
                assert!(
                    row[c].is_nan(),
                    "{name}: column {c} {} (reason {})",
                    row[c],
                    reasons[0]
                );
            }
        }
    }
}
