//! The column layout of a light-curve feature row, in one place: names,
//! descriptions and offsets that the per-object pipeline writes, the job
//! stores as attributes, and `export` and the tests read.
//!
//! A row is the [`pipeline`] row (provenance and feature columns), then the
//! periodogram columns, `top_k` peak pairs and the structure-function fits.

use crate::numeric::lightcurve::features::feature_descriptions;
use crate::numeric::lightcurve::{pipeline, Reason};

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

/// Offsets of every column of a feature row with `top_k` peak columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowLayout {
    /// Number of (period, power) peak pairs.
    pub top_k: usize,
}

impl RowLayout {
    /// Raw and cleaned point counts (the first two pipeline columns).
    pub const N_RAW: usize = 0;
    /// Points after cleaning.
    pub const N_CLEAN: usize = 1;
    /// Best periodogram period.
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

    /// The layout with `top_k` peak pairs.
    pub fn new(top_k: usize) -> RowLayout {
        RowLayout { top_k }
    }

    /// Period of the `k`-th highest peak (`k` from 0).
    pub fn peak_period(&self, k: usize) -> usize {
        Self::PEAKS + 2 * k
    }

    /// Power of the `k`-th highest peak (`k` from 0).
    pub fn peak_power(&self, k: usize) -> usize {
        Self::PEAKS + 2 * k + 1
    }

    /// First column of the power-law structure-function fit.
    pub fn sf_powerlaw(&self) -> usize {
        Self::PEAKS + 2 * self.top_k
    }

    /// First column of the damped-random-walk structure-function fit.
    pub fn sf_drw(&self) -> usize {
        self.sf_powerlaw() + SF_FIT_WIDTH
    }

    /// The structure-function columns, both models.
    pub fn sf_columns(&self) -> std::ops::Range<usize> {
        self.sf_powerlaw()..self.width()
    }

    /// Columns per row.
    pub fn width(&self) -> usize {
        self.sf_powerlaw() + SF_COLUMNS.len()
    }

    /// Every column, in row order.
    pub fn columns(&self) -> Vec<Column> {
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
        c.extend(PERIOD_COLUMNS.iter().map(|(n, d)| col(n, d)));
        for k in 1..=self.top_k {
            c.push(col(
                &format!("peak{k}_period"),
                &format!("period of the {k}-th highest distinct periodogram peak, days"),
            ));
            c.push(col(
                &format!("peak{k}_power"),
                &format!("power of the {k}-th highest distinct periodogram peak"),
            ));
        }
        debug_assert_eq!(c.len(), self.sf_powerlaw());
        c.extend(SF_COLUMNS.iter().map(|(n, d)| col(n, d)));
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
            }
            assert_eq!(at("sf_powerlaw_A"), l.sf_powerlaw());
            assert_eq!(at("sf_drw_omega"), l.sf_drw());
            assert_eq!(at("sf_drw_loglike"), l.width() - 1);
            assert_eq!(l.index_of("sf_drw_tau"), Some(l.sf_drw() + 2));
        }
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
