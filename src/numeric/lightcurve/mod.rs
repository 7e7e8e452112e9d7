//! Numeric core of tessera's light-curve job: cleaning, fixed-width feature rows and structure-function fits.
//!
//! Everything here is a pure function over `f64` slices. There is no MPI, no rayon and no I/O, so
//! the same code runs inside any thread of any rank. Functions that need working memory take a
//! caller-owned scratch struct; once its buffers have grown to the largest curve a thread sees,
//! later calls allocate nothing. That matters when millions of curves go through the hot path.
//!
//! Modules:
//! - [`clean`](mod@clean): drop bad points, sort, remove duplicate times, sigma-clip, detrend, normalise.
//! - [`features`]: the feature table (names, descriptions, minimum points) and [`features::extract`].
//! - [`dmdt`]: dm-dt maps (2-D histograms of magnitude against time differences).
//! - [`sf`]: maximum-likelihood structure-function fits (power law and damped random walk).
//! - [`pipeline`]: clean followed by extract, producing one row with provenance columns.
//! - [`stats`]: small allocation-free statistics helpers (numpy-compatible quantiles, moments).
//!
//! Failures that make a whole curve unusable are reported as a [`Reason`]; features that are
//! merely undefined for a particular curve are written as NaN.

/// A feature table whose entries are functions of [`features::FeatureContext`] under a
/// column-name prefix: `prefixed_table! { /// doc \n NAME, "prefix_", f, min_points, "description"; ... }`
/// gives `pub const NAME: &[FeatureInfo]` with `NAME[k].name = "prefix_f"`.
macro_rules! prefixed_table {
    ($(#[$doc:meta])* $table:ident, $prefix:literal, $( $f:ident, $min:literal, $desc:literal; )*) => {
        $(#[$doc])*
        pub const $table: &[$crate::numeric::lightcurve::features::FeatureInfo] = &[
            $( $crate::numeric::lightcurve::features::FeatureInfo {
                name: concat!($prefix, stringify!($f)),
                description: $desc,
                min_points: $min,
                eval: $f,
            }, )*
        ];
    };
}
pub(crate) use prefixed_table;

pub mod bins;
pub mod clean;
pub mod color;
pub mod columns;
pub mod dmdt;
pub mod extended;
pub mod features;
pub mod object;
pub mod period_features;
pub mod pipeline;
pub mod sf;
pub mod shared_fits;
pub mod stats;
pub mod transient;

pub use clean::{
    clean, CleanConfig, CleanReport, CleanScratch, ClipCenter, ClipScale, DuplicatePolicy, LcBuf,
    Normalisation, SigmaClip,
};
pub use features::{
    extract, feature_descriptions, feature_info, feature_names, n_features, validate, FeatureInfo,
    FeatureScratch, FEATURES, N_FEATURES,
};
pub use pipeline::{process, row_names, row_width, PipelineScratch, META_NAMES, N_META};
pub use sf::{
    build_pairs, fit_pairs, fit_structure_function, SfFit, SfModel, SfOptions, SfScratch,
};
pub use transient::{fit_transient, TransientFit, TransientModel, TransientScratch};

/// Why a light curve (or a call) could not be processed at all.
///
/// Returned as `Err` by [`clean()`], [`extract()`], [`process()`] and [`fit_structure_function()`].
/// The numeric code in [`Reason::code`] is stable so that it can be stored in an output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The input slices were empty.
    Empty,
    /// Time, magnitude and error slices have different lengths.
    LengthMismatch,
    /// The output row slice does not have the width the feature table requires.
    RowWidth,
    /// No point had finite time, magnitude and error.
    AllNonFinite,
    /// Some point is non-finite (only [`extract()`], which expects a cleaned curve).
    NonFinite,
    /// Every finite point had a zero or negative error ([`clean()`]), or some point did ([`extract()`]).
    ZeroErrors,
    /// Times are not in non-decreasing order (only [`extract()`]; [`clean()`] sorts).
    Unsorted,
    /// Two points share a time (only [`extract()`]; [`clean()`] removes duplicates).
    DuplicateTimes,
    /// Sigma clipping rejected every point.
    AllClipped,
    /// Fewer points than the configured minimum survive.
    TooFewPoints,
    /// All magnitudes are equal, which the configuration (or the normalisation) cannot accept.
    ConstantMagnitude,
    /// An invalid configuration value (for example a non-positive detrending window).
    BadConfig,
}

impl Reason {
    /// Stable numeric code for files and logs (0 is reserved for "ok").
    pub fn code(self) -> u8 {
        match self {
            Reason::Empty => 1,
            Reason::LengthMismatch => 2,
            Reason::RowWidth => 3,
            Reason::AllNonFinite => 4,
            Reason::NonFinite => 5,
            Reason::ZeroErrors => 6,
            Reason::Unsorted => 7,
            Reason::DuplicateTimes => 8,
            Reason::AllClipped => 9,
            Reason::TooFewPoints => 10,
            Reason::ConstantMagnitude => 11,
            Reason::BadConfig => 12,
        }
    }

    /// Short snake_case name, for logs and summary tables.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Empty => "empty",
            Reason::LengthMismatch => "length_mismatch",
            Reason::RowWidth => "row_width",
            Reason::AllNonFinite => "all_non_finite",
            Reason::NonFinite => "non_finite",
            Reason::ZeroErrors => "zero_errors",
            Reason::Unsorted => "unsorted",
            Reason::DuplicateTimes => "duplicate_times",
            Reason::AllClipped => "all_clipped",
            Reason::TooFewPoints => "too_few_points",
            Reason::ConstantMagnitude => "constant_magnitude",
            Reason::BadConfig => "bad_config",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for Reason {}
