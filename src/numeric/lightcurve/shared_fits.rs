//! The results of the fits that several extended features share, and the per-curve cache
//! of them that a feature context carries (so that the context does not depend on the
//! extended module, which depends on it).

/// `extended::otsu_split`: the Otsu split of the sorted magnitudes into a lower part `sorted[..=k]` and an upper part.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OtsuSplit {
    /// Number of points in the lower part (`1..=N-1`).
    pub n_lower: usize,
    /// Mean of the upper part minus mean of the lower part.
    pub mean_diff: f64,
    /// Standard deviation (ddof = 1) of the lower part; 0 if it has one point.
    pub std_lower: f64,
    /// Standard deviation (ddof = 1) of the upper part; 0 if it has one point.
    pub std_upper: f64,
    /// `n_lower / N`.
    pub lower_to_all_ratio: f64,
}

/// Result of `extended::fit_parabola`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParabolaFit {
    /// Curvature `g` of `m = m₀ + g (t - t₀)²` (magnitude per time unit squared).
    pub g: f64,
    /// Magnitude at the extremum `m₀`.
    pub m0: f64,
    /// `Σ w_i r_i² / (N-3)`.
    pub reduced_chi2: f64,
}

/// The intermediate fits several extended features read, computed once per curve on first
/// use (a `features::FeatureContext` holds one): the Otsu split (4 features) and the parabola fit (3).
#[derive(Clone, Debug, Default)]
pub struct SharedFits {
    pub(crate) otsu: std::cell::OnceCell<Option<OtsuSplit>>,
    pub(crate) parabola: std::cell::OnceCell<Option<ParabolaFit>>,
}
