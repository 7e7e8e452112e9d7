//! Uniform frequency grids for periodograms, reproducing astropy's `LombScargle.autofrequency`.
//!
//! The grid rule is VanderPlas (2018, ApJS 236, 16), section 7.1: a peak of width
//! ~1/T is sampled `samples_per_peak` times, and the upper limit is a multiple of the
//! "average Nyquist" frequency n/(2T). We reproduce astropy's arithmetic exactly
//! (same order of operations, same rounding of the count) so that grids agree bit for bit.

/// A uniform frequency grid f_k = f0 + k*df, k = 0..n (cycles per unit of time).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FreqGrid {
    /// First frequency.
    pub f0: f64,
    /// Step between frequencies.
    pub df: f64,
    /// Number of frequencies.
    pub n: usize,
}

impl FreqGrid {
    /// Frequency of grid point `k`.
    #[inline]
    pub fn freq(&self, k: usize) -> f64 {
        self.f0 + self.df * k as f64
    }
    /// Highest frequency on the grid.
    pub fn f_last(&self) -> f64 {
        self.freq(self.n.saturating_sub(1))
    }
}

/// Options of `autofrequency`; `Default` gives astropy's defaults.
#[derive(Clone, Copy, Debug)]
pub struct GridOptions {
    /// Grid points across a peak of width 1/T (sets `df = 1/(T samples_per_peak)`).
    pub samples_per_peak: f64,
    /// Upper limit as a multiple of the average Nyquist frequency n/(2T).
    pub nyquist_factor: f64,
    /// Overrides the lower frequency limit (astropy `minimum_frequency`).
    pub minimum_frequency: Option<f64>,
    /// Overrides the upper frequency limit (astropy `maximum_frequency`).
    pub maximum_frequency: Option<f64>,
    /// Shortest period searched; sets `maximum_frequency = 1/min_period` unless that is given.
    pub min_period: Option<f64>,
    /// Longest period searched; sets `minimum_frequency = 1/max_period` unless that is given.
    pub max_period: Option<f64>,
}

impl Default for GridOptions {
    fn default() -> Self {
        GridOptions {
            samples_per_peak: 5.0,
            nyquist_factor: 5.0,
            minimum_frequency: None,
            maximum_frequency: None,
            min_period: None,
            max_period: None,
        }
    }
}

/// Baseline max(t) - min(t); 0 for fewer than two points.
pub fn baseline(t: &[f64]) -> f64 {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in t {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if t.len() < 2 {
        0.0
    } else {
        hi - lo
    }
}

/// Frequency grid as astropy `LombScargle.autofrequency` (astropy 8.0, `core.py`):
/// df = 1/(T*spp); fmin = 0.5*df; fmax = nyquist_factor * 0.5*n/T;
/// Nf = 1 + round((fmax - fmin)/df). `n` is the number of samples (for multiband,
/// the total over all bands, as astropy's multiband class does).
/// Returns `None` when the baseline is zero or the limits are inverted.
pub fn autofrequency(t: &[f64], opts: &GridOptions) -> Option<FreqGrid> {
    let base = baseline(t);
    if !(base > 0.0) {
        return None;
    }
    let df = 1.0 / base / opts.samples_per_peak;
    let fmin = opts
        .minimum_frequency
        .or(opts.max_period.map(|p| 1.0 / p))
        .unwrap_or(0.5 * df);
    let fmax = opts
        .maximum_frequency
        .or(opts.min_period.map(|p| 1.0 / p))
        .unwrap_or_else(|| opts.nyquist_factor * (0.5 * t.len() as f64 / base));
    let span = (fmax - fmin) / df;
    if !(span >= 0.0) || !span.is_finite() {
        return None;
    }
    // numpy's np.round is round-half-to-even; f64::round_ties_even matches it.
    let nf = 1 + span.round_ties_even() as usize;
    Some(FreqGrid {
        f0: fmin,
        df,
        n: nf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::periodogram::testdata as td;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    /// Reference: astropy 8.0.2 `LombScargle.autofrequency` (tests/ref/make_periodogram_ref.py).
    #[test]
    fn matches_astropy_defaults_and_overrides() {
        let g = autofrequency(&td::A_T, &GridOptions::default()).unwrap();
        assert_eq!(g.n, td::A_NF);
        assert!(
            close(g.f0, td::A_F0, 1e-15) && close(g.df, td::A_DF, 1e-12),
            "{g:?}"
        );
        let o1 = GridOptions {
            samples_per_peak: 10.0,
            nyquist_factor: 2.0,
            minimum_frequency: Some(0.1),
            maximum_frequency: Some(3.0),
            ..Default::default()
        };
        let g = autofrequency(&td::A_T, &o1).unwrap();
        assert_eq!(g.n, td::A_O1_NF);
        assert!(close(g.f0, td::A_O1_F0, 1e-15) && close(g.df, td::A_O1_DF, 1e-12));
        // periods 0.2..2 days expressed as min/max period
        let o2 = GridOptions {
            min_period: Some(0.2),
            max_period: Some(2.0),
            ..Default::default()
        };
        let g = autofrequency(&td::A_T, &o2).unwrap();
        assert_eq!(g.n, td::A_O2_NF);
        assert!(close(g.f0, td::A_O2_F0, 1e-15) && close(g.df, td::A_O2_DF, 1e-12));
        let g = autofrequency(&td::B_T, &GridOptions::default()).unwrap();
        assert_eq!(g.n, td::B_NF);
        assert!(close(g.f0, td::B_F0, 1e-15) && close(g.df, td::B_DF, 1e-12));
    }

    /// Closed form: t = {0, 1, 4}: T = 4, df = 1/20, fmin = 1/40, fmax = 5*0.5*3/4 = 1.875,
    /// Nf = 1 + round((1.875 - 0.025)/0.05) = 38.
    #[test]
    fn closed_form_small() {
        let g = autofrequency(&[0.0, 1.0, 4.0], &GridOptions::default()).unwrap();
        assert_eq!(g.n, 38);
        assert!(close(g.df, 0.05, 1e-15) && close(g.f0, 0.025, 1e-15));
        assert!(close(g.f_last(), 1.875, 1e-14));
        assert!(autofrequency(&[3.0, 3.0], &GridOptions::default()).is_none());
    }
}
