//! Numeric periodogram core for the light-curve job: frequency grids, the generalised
//! Lomb-Scargle periodogram (exact recurrence and NUFFT), peaks and false-alarm
//! probabilities, the multiband periodogram, multi-harmonic period refinement and
//! phase-folding summaries. Pure functions over slices; callers own all scratch memory.

// `!(x > 0.0)` is deliberate: it also rejects NaN. Index loops mirror the formulas.
#![allow(
    clippy::neg_cmp_op_on_partial_ord,
    clippy::needless_range_loop,
    clippy::too_many_arguments
)]

pub mod fold;
pub mod gls;
pub mod grid;
pub mod harmonic;
pub mod multiband;
pub mod nufft;
pub mod peaks;
pub mod sums;
#[cfg(test)]
mod testdata;
#[doc(hidden)]
pub mod testutil;

pub use fold::{fold_summary, FoldSummary, FoldWorkspace};
pub use gls::{lomb_scargle, Method, Workspace};
pub use grid::{autofrequency, FreqGrid, GridOptions};
pub use harmonic::{
    harmonic_chi2, refine_peaks, refine_period, HarmonicOptions, HarmonicWorkspace, RefineOptions,
    Refined, MAX_HARMONICS,
};
pub use multiband::{multiband_power, MultibandWorkspace, ASTROPY_REG_BAND};
pub use peaks::{best_peak, false_alarm_baluev, top_peaks, Peak};
