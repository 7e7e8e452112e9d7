//! Clean-then-extract for one light curve and band, producing one fixed-width row that also records how the curve was cleaned.
//!
//! Row layout: [`N_META`] provenance columns ([`META_NAMES`]) followed by the
//! [`crate::numeric::lightcurve::features::N_FEATURES`] feature columns. The provenance columns make rows from
//! differently normalised runs distinguishable (features of a z-scored curve are in units of
//! its standard deviation) and keep the cleaning counts next to the features.

use crate::numeric::lightcurve::clean::{clean, CleanConfig, CleanReport, CleanScratch, LcBuf};
use crate::numeric::lightcurve::extended::extract_with_extended;
use crate::numeric::lightcurve::features::{FeatureScratch, N_FEATURES};
use crate::numeric::lightcurve::reason::Reason;

/// Names of the provenance columns at the start of a pipeline row.
pub const META_NAMES: [&str; 5] = ["n_raw", "n_clean", "norm_kind", "norm_offset", "norm_scale"];
/// Number of provenance columns.
pub const N_META: usize = META_NAMES.len();

/// Total width of a pipeline row.
pub const fn row_width() -> usize {
    N_META + N_FEATURES
}

/// Column names of a pipeline row. Allocates; call once.
pub fn row_names() -> Vec<&'static str> {
    META_NAMES
        .iter()
        .copied()
        .chain(
            crate::numeric::lightcurve::features::FEATURES
                .iter()
                .map(|f| f.name),
        )
        .collect()
}

/// All working memory for [`process`]; keep one per thread.
#[derive(Clone, Debug, Default)]
pub struct PipelineScratch {
    /// Working memory of [`clean`].
    pub clean: CleanScratch,
    /// Working memory of [`extract`].
    pub features: FeatureScratch,
    /// The cleaned curve of the last call (useful for a subsequent structure-function fit).
    pub curve: LcBuf,
}

impl PipelineScratch {
    /// Scratch already sized for curves of up to `n` points.
    pub fn with_capacity(n: usize) -> Self {
        PipelineScratch {
            clean: CleanScratch::with_capacity(n),
            features: FeatureScratch::with_capacity(n),
            curve: LcBuf::with_capacity(n),
        }
    }
}

/// Clean one raw curve and extract its features into `row` (width [`row_width()`]).
///
/// On `Err` the row is NaN except `n_raw`, so a caller can still write a row per curve with the
/// reason code alongside. `norm_kind` is [`crate::numeric::lightcurve::clean::Normalisation::code`].
pub fn process(
    time: &[f64],
    mag: &[f64],
    err: &[f64],
    cfg: &CleanConfig,
    scratch: &mut PipelineScratch,
    row: &mut [f64],
) -> Result<CleanReport, Reason> {
    process_with_extended(time, mag, err, cfg, scratch, row, None)
}

/// [`process`], and with `extended` also the extended features of the cleaned curve, from the
/// same feature context (see [`extract_with_extended`]).
pub fn process_with_extended(
    time: &[f64],
    mag: &[f64],
    err: &[f64],
    cfg: &CleanConfig,
    scratch: &mut PipelineScratch,
    row: &mut [f64],
    extended: Option<&mut [f64]>,
) -> Result<CleanReport, Reason> {
    row.fill(f64::NAN);
    if row.len() != row_width() {
        return Err(Reason::RowWidth);
    }
    row[0] = time.len() as f64;
    let report = clean(time, mag, err, cfg, &mut scratch.clean, &mut scratch.curve)?;
    row[1] = report.n_output as f64;
    row[2] = report.normalisation.code();
    row[3] = report.norm_offset;
    row[4] = report.norm_scale;
    let c = &scratch.curve;
    extract_with_extended(
        &c.t,
        &c.m,
        &c.e,
        &mut scratch.features,
        &mut row[N_META..],
        extended,
    )?;
    Ok(report)
}
