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
pub mod reason;
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
pub use reason::Reason;
pub use sf::{
    build_pairs, fit_pairs, fit_structure_function, SfFit, SfModel, SfOptions, SfScratch,
};
pub use transient::{fit_transient, TransientFit, TransientModel, TransientScratch};
