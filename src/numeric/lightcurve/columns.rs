//! The column layout of a light-curve feature row, in one place: names,
//! descriptions and offsets that the per-object pipeline writes, the job
//! stores as attributes, and `export` and the tests read.
//!
//! A row is the [`pipeline`] row (provenance and feature columns), then the
//! blocks of the chosen groups in [`BLOCKS`] order (the Lomb-Scargle block:
//! periodogram columns, `top_k` peak pairs, then each peak's signal-to-noise).

use crate::numeric::lightcurve::bins::BINS;
use crate::numeric::lightcurve::color::color_width;
use crate::numeric::lightcurve::extended::EXTENDED;
use crate::numeric::lightcurve::features::{feature_descriptions, FeatureInfo};
use crate::numeric::lightcurve::period_features::{PERIOD_FEATURES_WIDTH, PHASE, SPECTRUM};
use crate::numeric::lightcurve::pipeline;
use crate::numeric::lightcurve::reason::Reason;
use crate::numeric::lightcurve::transient::rainbow::{
    RAINBOW_PARAMS, RAINBOW_PARAM_NAMES, RAINBOW_PARAM_UNITS,
};
use crate::numeric::lightcurve::transient::{param_names, TRANSIENT_MODELS};

/// One column of the feature table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Column name (HDF5 attribute `columns`, CSV header).
    pub name: String,
    /// What it holds, with units (HDF5 attribute `descriptions`).
    pub description: String,
}

/// Periodogram columns after the pipeline row, in order.
const PERIOD_COLUMNS: [(&str, &str); 9] = [
    ("period", "best period of the plain generalised Lomb-Scargle periodogram (multi: multiband periodogram), days"),
    ("period_power", "its normalised power (standard normalisation, 0..1)"),
    ("period_fap", "false-alarm probability of that peak (Baluev 2008; NaN for multi)"),
    ("period_refined", "period after re-ranking the top peaks and their daily/yearly aliases by a multi-harmonic fit (shared across bands for multi), days"),
    ("period_refined_chi2", "chi-square of the multi-harmonic fit at period_refined (errors with error_floor in quadrature)"),
    ("period_plain_chi2", "chi-square of the multi-harmonic fit at the plain peak"),
    ("fold_amplitude", "peak-to-peak amplitude of the harmonic fit folded at period_refined"),
    ("fold_binned_rms", "RMS of the residuals about the phase-binned mean at period_refined"),
    ("alias_margin", "confidence of period_refined against its aliases: chi-square of the best candidate at another frequency minus that of period_refined, over the reduced chi-square of period_refined (inf: no other candidate)"),
];

/// Structure-function columns at the end of a row: the power law, then the
/// damped random walk, [`SF_FIT_WIDTH`] columns each.
const SF_COLUMNS: [(&str, &str); 10] = [
    (
        "sf_powerlaw_A",
        "structure function V = A (dt/1 yr)^gamma: A, mag (Schmidt et al. 2010; ML over all pairs)",
    ),
    ("sf_powerlaw_A_err", "1-sigma uncertainty of sf_powerlaw_A"),
    (
        "sf_powerlaw_gamma",
        "structure function power-law index gamma",
    ),
    (
        "sf_powerlaw_gamma_err",
        "1-sigma uncertainty of sf_powerlaw_gamma",
    ),
    (
        "sf_powerlaw_loglike",
        "maximum log-likelihood of the power-law model",
    ),
    (
        "sf_drw_omega",
        "damped random walk V = omega (1 - exp(-dt/tau))^(1/2): omega, mag",
    ),
    ("sf_drw_omega_err", "1-sigma uncertainty of sf_drw_omega"),
    ("sf_drw_tau", "damped random walk timescale tau, days"),
    ("sf_drw_tau_err", "1-sigma uncertainty of sf_drw_tau"),
    (
        "sf_drw_loglike",
        "maximum log-likelihood of the damped-random-walk model",
    ),
];

/// Columns of one structure-function fit: two parameters with their
/// uncertainties, then the log-likelihood.
pub const SF_FIT_WIDTH: usize = 5;

/// The feature groups a row can hold (`features = [...]`); `basic` (the
/// cleaning record and the [`FEATURES`](crate::numeric::lightcurve::features::FEATURES)
/// table) is always there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Groups {
    /// The extended scalar features ([`EXTENDED`]).
    pub extended: bool,
    /// The period searches chosen by [`Methods`].
    pub periodic: bool,
    /// The two structure-function fits (O(points^2) pairs).
    pub structure_function: bool,
    /// The transient model fits (Bazin, Villar, Linexp) per band.
    pub transient: bool,
    /// Colours between consecutive bands, on the `multi` row.
    pub color: bool,
    /// The multiband Rainbow transient fit, on the `multi` row.
    pub rainbow: bool,
    /// Features of the Lomb-Scargle spectrum and of the curve folded at its period
    /// (needs `periodic` with `gls`).
    pub period_features: bool,
    /// Features of the time-binned curve.
    pub bins: bool,
}

/// Names of the feature groups, in row order.
pub const GROUP_NAMES: [&str; 9] = [
    "basic",
    "extended",
    "periodic",
    "structure_function",
    "transient",
    "color",
    "rainbow",
    "period_features",
    "bins",
];

/// The groups a row has when `features` is not set: what variable-star
/// work wants (every scalar feature, the periods, the colours), without the
/// O(points^2) structure functions and the supernova fits.
pub const DEFAULT_GROUPS: [&str; 4] = ["basic", "extended", "periodic", "color"];

impl Groups {
    /// Every group on.
    pub const ALL: Groups = Groups {
        extended: true,
        periodic: true,
        structure_function: true,
        transient: true,
        color: true,
        rainbow: true,
        period_features: true,
        bins: true,
    };

    /// The names of the groups that are on, in row order (`basic` first).
    pub fn names(&self) -> Vec<&'static str> {
        let on = [
            true,
            self.extended,
            self.periodic,
            self.structure_function,
            self.transient,
            self.color,
            self.rainbow,
            self.period_features,
            self.bins,
        ];
        GROUP_NAMES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect()
    }

    /// The groups named in `names` (any of [`GROUP_NAMES`]); an unknown
    /// name is an error listing the known ones.
    pub fn parse(names: &[String]) -> Result<Groups, String> {
        let mut g = Groups {
            extended: false,
            periodic: false,
            structure_function: false,
            transient: false,
            color: false,
            rainbow: false,
            period_features: false,
            bins: false,
        };
        for n in names {
            match n.as_str() {
                "basic" => {}
                "extended" => g.extended = true,
                "periodic" => g.periodic = true,
                "structure_function" => g.structure_function = true,
                "transient" => g.transient = true,
                "color" | "colour" => g.color = true,
                "rainbow" => g.rainbow = true,
                "period_features" => g.period_features = true,
                "bins" => g.bins = true,
                other => {
                    return Err(format!(
                        "unknown feature group '{other}'; choose from {}",
                        GROUP_NAMES.join(", ")
                    ))
                }
            }
        }
        Ok(g)
    }
}

/// The period searches of the `periodic` group (`periods = [...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Methods {
    /// Generalised Lomb-Scargle with alias refinement and folding.
    pub gls: bool,
    /// Box least squares (transits and eclipses).
    pub bls: bool,
    /// Phase dispersion minimisation.
    pub pdm: bool,
    /// Conditional entropy.
    pub ce: bool,
    /// Multi-harmonic (nterms) chi-square periodogram.
    pub mharm: bool,
}

/// Names of the period methods, in row order.
pub const METHOD_NAMES: [&str; 5] = ["gls", "bls", "pdm", "ce", "mharm"];

impl Methods {
    /// Only the generalised Lomb-Scargle (the default).
    pub const GLS: Methods = Methods {
        gls: true,
        bls: false,
        pdm: false,
        ce: false,
        mharm: false,
    };

    /// The methods named in `names` (any of [`METHOD_NAMES`]).
    pub fn parse(names: &[String]) -> Result<Methods, String> {
        let mut m = Methods {
            gls: false,
            ..Methods::GLS
        };
        for n in names {
            match n.as_str() {
                "gls" | "lomb_scargle" => m.gls = true,
                "bls" => m.bls = true,
                "pdm" => m.pdm = true,
                "ce" | "conditional_entropy" => m.ce = true,
                "mharm" | "multiharmonic" => m.mharm = true,
                other => {
                    return Err(format!(
                        "unknown period method '{other}'; choose from {}",
                        METHOD_NAMES.join(", ")
                    ))
                }
            }
        }
        Ok(m)
    }
}

/// The blocks of a row after the basic columns, in row order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Generalised Lomb-Scargle: [`PERIOD_COLUMNS`] and the peak pairs.
    Gls,
    /// The extended scalar features.
    Extended,
    /// The structure-function fits.
    StructureFunction,
    /// The transient fits.
    Transient,
    /// Colours of consecutive bands and their spread.
    Color,
    /// Box least squares: [`BLS_COLUMNS`] and the peak pairs.
    Bls,
    /// Phase dispersion minimisation: period, theta and the peak pairs.
    Pdm,
    /// Conditional entropy: period, entropy and the peak pairs.
    Ce,
    /// Multi-harmonic periodogram: period, power and the peak pairs.
    Mharm,
    /// The Rainbow fit: shape parameters, a baseline per band, reduced chi-square.
    Rainbow,
    /// Spectrum and phase-folded features of the Lomb-Scargle search.
    PeriodFeatures,
    /// Features of the time-binned curve.
    Bins,
}

/// Every block, in row order.
pub const BLOCKS: [Block; 12] = [
    Block::Gls,
    Block::Extended,
    Block::StructureFunction,
    Block::Transient,
    Block::Color,
    Block::Bls,
    Block::Pdm,
    Block::Ce,
    Block::Mharm,
    Block::Rainbow,
    Block::PeriodFeatures,
    Block::Bins,
];

/// Box-least-squares columns before its peak pairs, in order.
pub const BLS_COLUMNS: [(&str, &str); 8] = [
    ("bls_period", "best box-least-squares period, days"),
    (
        "bls_power",
        "its log-likelihood power (astropy BoxLeastSquares objective='likelihood')",
    ),
    (
        "bls_depth",
        "transit depth at the best period and duration (same units as the values)",
    ),
    ("bls_depth_err", "1-sigma uncertainty of bls_depth"),
    ("bls_duration", "transit duration, days"),
    (
        "bls_epoch",
        "mid-transit time of a transit, days (same zero as the times)",
    ),
    ("bls_snr", "bls_depth / bls_depth_err"),
    (
        "bls_sde",
        "signal detection efficiency: (peak power - mean power) / std of the power",
    ),
];

/// Offsets of every column of a feature row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowLayout {
    /// Number of (period, power) peak pairs of each period method.
    pub top_k: usize,
    /// The feature groups.
    pub groups: Groups,
    /// The period methods (with `groups.periodic`).
    pub methods: Methods,
    /// Bands of the object (the colour columns depend on it).
    pub bands: usize,
}

impl RowLayout {
    /// Raw and cleaned point counts (the first two pipeline columns).
    pub const N_RAW: usize = 0;
    /// Points after cleaning.
    pub const N_CLEAN: usize = 1;
    /// Best periodogram period (the Lomb-Scargle block comes first after
    /// the basic columns, so these offsets hold whenever it is there).
    pub const PERIOD: usize = pipeline::row_width();
    /// Its normalised power.
    pub const PERIOD_POWER: usize = Self::PERIOD + 1;
    /// Its false-alarm probability.
    pub const PERIOD_FAP: usize = Self::PERIOD + 2;
    /// The refined period.
    pub const PERIOD_REFINED: usize = Self::PERIOD + 3;
    /// Chi-square of the harmonic fit at the refined period.
    pub const PERIOD_REFINED_CHI2: usize = Self::PERIOD + 4;
    /// Chi-square of the harmonic fit at the plain peak.
    pub const PERIOD_PLAIN_CHI2: usize = Self::PERIOD + 5;
    /// Amplitude of the folded harmonic fit.
    pub const FOLD_AMPLITUDE: usize = Self::PERIOD + 6;
    /// RMS about the phase-binned mean.
    pub const FOLD_BINNED_RMS: usize = Self::PERIOD + 7;
    /// How much better period_refined fits than its best alias or competitor.
    pub const ALIAS_MARGIN: usize = Self::PERIOD + 8;
    /// First peak column.
    const PEAKS: usize = Self::PERIOD + PERIOD_COLUMNS.len();

    /// The layout of every group, with the Lomb-Scargle search only and
    /// `top_k` peak pairs, for one band (as before feature groups).
    pub fn new(top_k: usize) -> RowLayout {
        RowLayout {
            top_k,
            groups: Groups::ALL,
            methods: Methods::GLS,
            bands: 1,
        }
    }

    /// Whether the row has block `b`.
    pub fn has(&self, b: Block) -> bool {
        let (g, m) = (self.groups, self.methods);
        match b {
            Block::Gls => g.periodic && m.gls,
            Block::Extended => g.extended,
            Block::StructureFunction => g.structure_function,
            Block::Transient => g.transient,
            Block::Color => g.color && self.bands >= 2,
            Block::Bls => g.periodic && m.bls,
            Block::Pdm => g.periodic && m.pdm,
            Block::Ce => g.periodic && m.ce,
            Block::Mharm => g.periodic && m.mharm,
            Block::Rainbow => g.rainbow && self.bands >= 2,
            Block::PeriodFeatures => g.period_features && g.periodic && m.gls,
            Block::Bins => g.bins,
        }
    }

    /// Columns of block `b` when present.
    fn block_width(&self, b: Block) -> usize {
        match b {
            Block::Gls => PERIOD_COLUMNS.len() + 3 * self.top_k,
            Block::Extended => EXTENDED.len(),
            Block::StructureFunction => SF_COLUMNS.len(),
            Block::Transient => transient_width(),
            Block::Color => color_width(self.bands),
            Block::Bls => BLS_COLUMNS.len() + 2 * self.top_k,
            Block::Pdm | Block::Ce | Block::Mharm => 2 + 2 * self.top_k,
            Block::Rainbow => 2 * (RAINBOW_PARAMS + self.bands) + 1,
            Block::PeriodFeatures => PERIOD_FEATURES_WIDTH,
            Block::Bins => BINS.len(),
        }
    }

    /// The columns of block `b`, or `None` when the row does not have it.
    pub fn block(&self, b: Block) -> Option<std::ops::Range<usize>> {
        let mut at = pipeline::row_width();
        for x in BLOCKS {
            if !self.has(x) {
                continue;
            }
            let w = self.block_width(x);
            if x == b {
                return Some(at..at + w);
            }
            at += w;
        }
        None
    }

    /// Period of the `k`-th highest Lomb-Scargle peak (`k` from 0).
    pub fn peak_period(&self, k: usize) -> usize {
        Self::PEAKS + 2 * k
    }

    /// Power of the `k`-th highest Lomb-Scargle peak (`k` from 0).
    pub fn peak_power(&self, k: usize) -> usize {
        Self::PEAKS + 2 * k + 1
    }

    /// Signal-to-noise of the `k`-th highest Lomb-Scargle peak (`k` from 0), after the
    /// peak pairs.
    pub fn peak_s_to_n(&self, k: usize) -> usize {
        Self::PEAKS + 2 * self.top_k + k
    }

    /// First column of the power-law structure-function fit.
    pub fn sf_powerlaw(&self) -> Option<usize> {
        self.block(Block::StructureFunction).map(|r| r.start)
    }

    /// First column of the damped-random-walk structure-function fit.
    pub fn sf_drw(&self) -> Option<usize> {
        self.sf_powerlaw().map(|s| s + SF_FIT_WIDTH)
    }

    /// Columns per row.
    pub fn width(&self) -> usize {
        pipeline::row_width()
            + BLOCKS
                .iter()
                .filter(|&&b| self.has(b))
                .map(|&b| self.block_width(b))
                .sum::<usize>()
    }

    /// Every column, in row order, with the bands called by their index.
    pub fn columns(&self) -> Vec<Column> {
        let names: Vec<String> = (0..self.bands).map(|b| format!("band{b}")).collect();
        self.columns_for(&names)
    }

    /// Every column, in row order; `band_names` name the colour columns
    /// (`color_median_g_r` is median g minus median r).
    pub fn columns_for(&self, band_names: &[String]) -> Vec<Column> {
        let col = |name: &str, description: &str| Column {
            name: name.to_string(),
            description: description.to_string(),
        };
        let meta_desc = [
            "points before cleaning",
            "points after cleaning",
            "normalisation applied (0 none, 1 zscore, 2 minmax)",
            "normalisation offset",
            "normalisation scale",
        ];
        let feature_desc = feature_descriptions();
        let descriptions = meta_desc.iter().chain(feature_desc.iter());
        let mut c: Vec<Column> = pipeline::row_names()
            .iter()
            .zip(descriptions)
            .map(|(n, d)| col(n, d))
            .collect();
        debug_assert_eq!(c.len(), Self::PERIOD);
        let peaks = |c: &mut Vec<Column>, prefix: &str, what: &str, value: &str| {
            for k in 1..=self.top_k {
                c.push(col(
                    &format!("{prefix}peak{k}_period"),
                    &format!("period of the {k}-th best distinct {what} peak, days"),
                ));
                c.push(col(
                    &format!("{prefix}peak{k}_{value}"),
                    &format!("{value} of the {k}-th best distinct {what} peak"),
                ));
            }
        };
        for b in BLOCKS.into_iter().filter(|&b| self.has(b)) {
            debug_assert_eq!(Some(c.len()), self.block(b).map(|r| r.start));
            match b {
                Block::Gls => {
                    c.extend(PERIOD_COLUMNS.iter().map(|(n, d)| col(n, d)));
                    peaks(&mut c, "", "generalised Lomb-Scargle", "power");
                    for k in 1..=self.top_k {
                        c.push(col(
                            &format!("peak{k}_s_to_n"),
                            &format!("signal-to-noise of the {k}-th peak, (power - mean power) / std of the power over the grid (ddof=1; light-curve period_s_to_n_{})", k - 1),
                        ));
                    }
                }
                Block::Extended => {
                    c.extend(EXTENDED.iter().map(|f| col(f.name, f.description)));
                }
                Block::StructureFunction => c.extend(SF_COLUMNS.iter().map(|(n, d)| col(n, d))),
                Block::Transient => c.extend(transient_columns()),
                Block::Color => {
                    let name = |i: usize| {
                        band_names
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| format!("band{i}"))
                    };
                    for i in 1..self.bands {
                        let (a, z) = (name(i - 1), name(i));
                        for (kind, what) in [
                            ("max", "largest magnitude"),
                            ("median", "median magnitude"),
                            ("min", "smallest magnitude"),
                        ] {
                            c.push(col(
                                &format!("color_{kind}_{a}_{z}"),
                                &format!("{what} of band {a} minus that of band {z} (light-curve ColorOf{}), mag; multi row only", capitalise(kind)),
                            ));
                        }
                    }
                    c.push(col("color_spread", "population standard deviation of the bands' inverse-variance weighted mean magnitudes (light-curve ColorSpread), mag; multi row only"));
                }
                Block::Bls => {
                    c.extend(BLS_COLUMNS.iter().map(|(n, d)| col(n, d)));
                    peaks(&mut c, "bls_", "box-least-squares", "power");
                }
                Block::Pdm => {
                    c.push(col(
                        "pdm_period",
                        "period of least phase dispersion (Stellingwerf 1978), days",
                    ));
                    c.push(col(
                        "pdm_theta",
                        "its dispersion ratio theta (0 perfect, about 1 no signal)",
                    ));
                    peaks(&mut c, "pdm_", "phase-dispersion", "theta");
                }
                Block::Ce => {
                    c.push(col(
                        "ce_period",
                        "period of least conditional entropy (Graham et al. 2013), days",
                    ));
                    c.push(col(
                        "ce_entropy",
                        "its conditional entropy H(m | phase), nats",
                    ));
                    peaks(&mut c, "ce_", "conditional-entropy", "entropy");
                }
                Block::Rainbow => c.extend(rainbow_columns(band_names, self.bands)),
                Block::Mharm => {
                    c.push(col("mharm_period", "best period of the multi-harmonic chi-square periodogram (nterms = mharm_terms), days"));
                    c.push(col("mharm_power", "its normalised power 1 - chi2/chi2_ref"));
                    peaks(&mut c, "mharm_", "multi-harmonic", "power");
                }
                Block::PeriodFeatures => {
                    c.extend(SPECTRUM.iter().map(|(n, d)| col(n, d)));
                    let folded = |f: &FeatureInfo| {
                        let d = format!("{}; curve folded at period_refined (else period), phase 0 at the brightest point (light-curve phase_features)", f.description);
                        col(f.name, &d)
                    };
                    c.extend(PHASE.iter().map(folded));
                }
                Block::Bins => c.extend(BINS.iter().map(|f| {
                    col(
                        f.name,
                        &format!("{}; curve binned in bins_window days from bins_offset (light-curve Bins)", f.description),
                    )
                })),
            }
        }
        debug_assert_eq!(c.len(), self.width());
        c
    }

    /// Column names, in row order.
    pub fn names(&self) -> Vec<String> {
        self.columns().into_iter().map(|c| c.name).collect()
    }

    /// The offset of the column called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == name)
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Columns of the transient block: per model ([`TRANSIENT_MODELS`]), each
/// parameter (light-curve's names, `bazin_fit_amplitude`) and its
/// uncertainty, then the reduced chi-square.
pub fn transient_width() -> usize {
    TRANSIENT_MODELS
        .iter()
        .map(|&m| 2 * param_names(m).len() + 1)
        .sum()
}

fn transient_columns() -> Vec<Column> {
    let mut c = Vec::new();
    for m in TRANSIENT_MODELS {
        let prefix = m.name();
        for p in param_names(m) {
            c.push(Column {
                name: format!("{prefix}_{p}"),
                description: format!(
                    "{} fit in flux ({}; magnitudes are fitted as uJy, 10^(-0.4 (m - 23.9))): {p}",
                    m.title(),
                    m.param_unit(p)
                ),
            });
            c.push(Column {
                name: format!("{prefix}_{p}_err"),
                description: format!(
                    "1-sigma uncertainty of {prefix}_{p} (from the inverse of J^T W J at the optimum)"
                ),
            });
        }
        c.push(Column {
            name: format!("{prefix}_reduced_chi2"),
            description: format!("reduced chi-square of the {} fit", m.title()),
        });
    }
    c
}

/// Columns of the Rainbow block (multi row only): each shape parameter and its
/// uncertainty, each band's baseline and its uncertainty, the reduced chi-square.
fn rainbow_columns(band_names: &[String], bands: usize) -> Vec<Column> {
    let mut c = Vec::new();
    let mut pair = |name: String, what: String| {
        c.push(Column {
            name: format!("rainbow_fit_{name}"),
            description: what,
        });
        c.push(Column {
            name: format!("rainbow_fit_{name}_err"),
            description: format!("1-sigma uncertainty of rainbow_fit_{name}"),
        });
    };
    for (p, unit) in RAINBOW_PARAM_NAMES.iter().zip(RAINBOW_PARAM_UNITS) {
        pair(
            p.to_string(),
            format!("Rainbow fit (Russeil et al. 2024; light-curve RainbowFit) of all bands in flux (magnitudes as uJy): {p}, {unit}; multi row only"),
        );
    }
    for b in 0..bands {
        let name = band_names
            .get(b)
            .cloned()
            .unwrap_or_else(|| format!("band{b}"));
        pair(
            format!("baseline_{name}"),
            format!("Rainbow fit: constant flux added in band {name} (flux unit); multi row only"),
        );
    }
    c.push(Column {
        name: "rainbow_fit_reduced_chi2".into(),
        description: "reduced chi-square of the Rainbow fit, chi2 / (N - 7 - bands fitted)".into(),
    });
    c
}

/// A band of the object has no observations (its row is NaN).
pub const NO_DATA: u8 = 20;
/// No periodogram could be made (periodogram columns NaN, features kept).
pub const NO_PERIODOGRAM: u8 = 21;
/// The band's frequency grid would exceed `max_frequencies` (periodogram
/// columns NaN, features kept): a very long baseline, or a time far off.
pub const GRID_TOO_LARGE: u8 = 22;
/// The band has more than `max_sf_points` points, so its structure-function
/// fits were skipped (their columns NaN, everything else kept).
pub const TOO_MANY_POINTS_FOR_SF: u8 = 23;
/// The band's time span exceeds `max_baseline` days (a time value far off,
/// such as 1e300): periodogram columns NaN, features kept.
pub const BASELINE_TOO_LONG: u8 = 24;

/// The object has more than `max_points` observations: it was not read,
/// every row of it is NaN.
pub const TOO_MANY_POINTS: u8 = 25;

/// A transient model fit did not give a result on a band whose features
/// were computed (too few points for the model, constant flux, a
/// non-finite flux from a magnitude): that model's columns are NaN.
pub const TRANSIENT_FIT_FAILED: u8 = 26;

/// A period search other than the Lomb-Scargle one (box least squares,
/// phase dispersion, conditional entropy, multi-harmonic) gave no result on
/// a band whose features were computed: its columns are NaN.
pub const PERIOD_SEARCH_FAILED: u8 = 27;

/// The Rainbow fit gave no result on the `multi` row (fewer than two
/// cleaned bands, too few points, no convergence): its columns are NaN.
pub const RAINBOW_FIT_FAILED: u8 = 40;

/// A band with cleaned points has no effective wavelength
/// (`band_wavelengths`), so the Rainbow fit was not made: its columns NaN.
pub const NO_BAND_WAVELENGTH: u8 = 41;

/// Every cleaning and feature [`Reason`], for naming codes.
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

/// Name of a row's reason code: codes 1..=12 are the cleaning and feature
/// reasons of [`Reason`]; [`NO_DATA`], [`NO_PERIODOGRAM`], [`GRID_TOO_LARGE`]
/// [`TOO_MANY_POINTS_FOR_SF`], [`BASELINE_TOO_LONG`] and [`TOO_MANY_POINTS`]
/// the row's own;
/// 0 (ok) is the empty string.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "",
        NO_DATA => "no_data_in_band",
        NO_PERIODOGRAM => "periodogram_failed",
        GRID_TOO_LARGE => "grid_too_large",
        TOO_MANY_POINTS_FOR_SF => "too_many_points_for_sf",
        BASELINE_TOO_LONG => "baseline_too_long",
        TOO_MANY_POINTS => "too_many_points",
        TRANSIENT_FIT_FAILED => "transient_fit_failed",
        PERIOD_SEARCH_FAILED => "period_search_failed",
        RAINBOW_FIT_FAILED => "rainbow_fit_failed",
        NO_BAND_WAVELENGTH => "no_band_wavelength",
        c => ALL_REASONS
            .iter()
            .find(|r| r.code() == c)
            .map_or("unknown", |r| r.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_the_names() {
        for top_k in [1, 3, 20] {
            let l = RowLayout::new(top_k);
            let names = l.names();
            assert_eq!(names.len(), l.width());
            let at = |n: &str| names.iter().position(|c| c == n).unwrap();
            assert_eq!(at("n_raw"), RowLayout::N_RAW);
            assert_eq!(at("n_clean"), RowLayout::N_CLEAN);
            assert_eq!(at("period"), RowLayout::PERIOD);
            assert_eq!(at("period_power"), RowLayout::PERIOD_POWER);
            assert_eq!(at("period_fap"), RowLayout::PERIOD_FAP);
            assert_eq!(at("period_refined"), RowLayout::PERIOD_REFINED);
            assert_eq!(at("period_refined_chi2"), RowLayout::PERIOD_REFINED_CHI2);
            assert_eq!(at("period_plain_chi2"), RowLayout::PERIOD_PLAIN_CHI2);
            assert_eq!(at("fold_amplitude"), RowLayout::FOLD_AMPLITUDE);
            assert_eq!(at("fold_binned_rms"), RowLayout::FOLD_BINNED_RMS);
            assert_eq!(at("alias_margin"), RowLayout::ALIAS_MARGIN);
            for k in 0..top_k {
                assert_eq!(at(&format!("peak{}_period", k + 1)), l.peak_period(k));
                assert_eq!(at(&format!("peak{}_power", k + 1)), l.peak_power(k));
                assert_eq!(at(&format!("peak{}_s_to_n", k + 1)), l.peak_s_to_n(k));
            }
            assert_eq!(Some(at("sf_powerlaw_A")), l.sf_powerlaw());
            assert_eq!(Some(at("sf_drw_omega")), l.sf_drw());
            assert_eq!(l.index_of("sf_drw_tau"), Some(l.sf_drw().unwrap() + 2));
        }
    }

    /// Every combination of groups and methods: names unique, the blocks
    /// contiguous and in row order, each block's first column where
    /// `block` says, the width the sum of what is on.
    #[test]
    fn group_layouts_are_consistent() {
        for mask in 0..(1u32 << 13) {
            let bit = |k: u32| mask & (1 << k) != 0;
            let l = RowLayout {
                top_k: 2,
                groups: Groups {
                    extended: bit(0),
                    periodic: bit(1),
                    structure_function: bit(2),
                    transient: bit(3),
                    color: bit(4),
                    rainbow: bit(10),
                    period_features: bit(11),
                    bins: bit(12),
                },
                methods: Methods {
                    gls: bit(5),
                    bls: bit(6),
                    pdm: bit(7),
                    ce: bit(8),
                    mharm: bit(9),
                },
                bands: 3,
            };
            let names = l.names();
            assert_eq!(names.len(), l.width());
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(
                unique.len(),
                names.len(),
                "duplicate names for mask {mask:b}"
            );
            let mut at = pipeline::row_width();
            for b in BLOCKS {
                match l.block(b) {
                    Some(r) => {
                        assert_eq!(r.start, at, "{b:?} mask {mask:b}");
                        at = r.end;
                    }
                    None => assert!(!l.has(b)),
                }
            }
            assert_eq!(at, l.width());
            let first = |b: Block, name: &str| {
                if let Some(r) = l.block(b) {
                    assert_eq!(names[r.start], name, "mask {mask:b}");
                }
            };
            first(Block::Gls, "period");
            first(Block::Extended, EXTENDED[0].name);
            first(Block::StructureFunction, "sf_powerlaw_A");
            first(Block::Transient, "bazin_fit_amplitude");
            first(Block::Color, "color_max_band0_band1");
            first(Block::Bls, "bls_period");
            first(Block::Pdm, "pdm_period");
            first(Block::Ce, "ce_period");
            first(Block::Mharm, "mharm_period");
            first(Block::Rainbow, "rainbow_fit_reference_time");
            first(Block::PeriodFeatures, "periodogram_mean");
            first(Block::Bins, "bins_count");
            if l.has(Block::Gls) {
                assert_eq!(names[RowLayout::PERIOD], "period");
                assert_eq!(names[RowLayout::ALIAS_MARGIN], "alias_margin");
            }
        }
    }

    #[test]
    fn group_and_method_names_parse() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let g = Groups::parse(&v(&DEFAULT_GROUPS)).unwrap();
        assert_eq!(g.names(), DEFAULT_GROUPS.to_vec());
        assert!(!g.structure_function && !g.transient);
        assert_eq!(Groups::parse(&v(&GROUP_NAMES)).unwrap(), Groups::ALL);
        let e = Groups::parse(&v(&["basic", "periodics"])).unwrap_err();
        assert!(
            e.contains("'periodics'") && e.contains("structure_function"),
            "{e}"
        );
        let m = Methods::parse(&v(&["bls", "pdm"])).unwrap();
        assert!(m.bls && m.pdm && !m.gls && !m.ce && !m.mharm);
        let e = Methods::parse(&v(&["tls"])).unwrap_err();
        assert!(e.contains("'tls'") && e.contains("mharm"), "{e}");
        let one_band = RowLayout {
            bands: 1,
            ..RowLayout::new(3)
        };
        assert!(!one_band.has(Block::Color), "a single band has no colours");
    }

    #[test]
    fn reason_codes_have_names() {
        assert_eq!(reason_name(0), "");
        assert_eq!(reason_name(NO_DATA), "no_data_in_band");
        assert_eq!(reason_name(GRID_TOO_LARGE), "grid_too_large");
        assert_eq!(
            reason_name(TOO_MANY_POINTS_FOR_SF),
            "too_many_points_for_sf"
        );
        assert_eq!(reason_name(BASELINE_TOO_LONG), "baseline_too_long");
        assert_eq!(reason_name(TOO_MANY_POINTS), "too_many_points");
        assert_eq!(reason_name(Reason::TooFewPoints.code()), "too_few_points");
        assert_eq!(reason_name(99), "unknown");
    }
}
