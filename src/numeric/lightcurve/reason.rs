//! The reasons a light curve (or a call) could not be processed, with their stable codes.

/// Why a light curve (or a call) could not be processed at all.
///
/// Returned as `Err` by `clean()`, `extract()`, `process()` and `fit_structure_function()`.
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
    /// Some point is non-finite (only `extract()`, which expects a cleaned curve).
    NonFinite,
    /// Every finite point had a zero or negative error (`clean()`), or some point did (`extract()`).
    ZeroErrors,
    /// Times are not in non-decreasing order (only `extract()`; `clean()` sorts).
    Unsorted,
    /// Two points share a time (only `extract()`; `clean()` removes duplicates).
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
