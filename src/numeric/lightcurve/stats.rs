//! Allocation-free descriptive statistics shared by cleaning and features (numpy-compatible definitions).
//!
//! Every function works on a slice the caller owns. Functions whose name ends in `_sorted`
//! require ascending input and do not check it (checking would cost as much as the statistic).

/// Arithmetic mean; NaN for an empty slice.
#[inline]
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sum of squared deviations from `mu` (two-pass form, which avoids the cancellation of
/// `sum(x^2) - n mu^2` for magnitudes around 20 with millimag scatter).
#[inline]
pub fn sum_sq_dev(x: &[f64], mu: f64) -> f64 {
    x.iter().map(|&v| (v - mu) * (v - mu)).sum()
}

/// Sample variance with `ddof` delta degrees of freedom (numpy `var(ddof=...)`); NaN if `n <= ddof`.
#[inline]
pub fn variance(x: &[f64], ddof: usize) -> f64 {
    if x.len() <= ddof {
        return f64::NAN;
    }
    sum_sq_dev(x, mean(x)) / (x.len() - ddof) as f64
}

/// Sort ascending in place without allocating (`sort_unstable` is in-place; NaN sorts last
/// under `total_cmp`, but callers only pass finite data).
#[inline]
pub fn sort(x: &mut [f64]) {
    x.sort_unstable_by(|a, b| a.total_cmp(b));
}

/// Quantile of sorted data with numpy's default `method="linear"` (Hyndman & Fan 1996, type 7):
/// `h = (n-1) q`, `Q = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])`.
///
/// The interpolation is written as numpy's `_lerp` does it (from the upper end when the
/// fraction is >= 0.5) so that results agree with `np.percentile` to the last bit in most cases.
/// NaN for empty input; `q` is clamped to [0, 1].
///
/// Reference: R. J. Hyndman, Y. Fan, 1996, Am. Stat. 50, 361, "Sample quantiles in statistical packages".
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let q = q.clamp(0.0, 1.0);
    let h = (n - 1) as f64 * q;
    let lo = h.floor();
    let i = lo as usize;
    if i + 1 >= n {
        return sorted[n - 1];
    }
    let frac = h - lo;
    let (a, b) = (sorted[i], sorted[i + 1]);
    let d = b - a;
    if frac >= 0.5 {
        b - d * (1.0 - frac)
    } else {
        a + d * frac
    }
}

/// Median of sorted data (mean of the two central values for even `n`, as numpy); NaN if empty.
#[inline]
pub fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

/// Median absolute deviation about the median, unscaled: `median(|x - median(x)|)`.
///
/// `sorted` must be ascending; `tmp` is overwritten (it is the scratch the absolute deviations
/// are sorted in). Equals `scipy.stats.median_abs_deviation(x, scale=1.0)`.
pub fn mad_sorted(sorted: &[f64], tmp: &mut Vec<f64>) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let med = median_sorted(sorted);
    tmp.clear();
    tmp.extend(sorted.iter().map(|&v| (v - med).abs()));
    sort(tmp);
    median_sorted(tmp)
}

/// Normal-consistent scale factor for the MAD, `1 / Phi^{-1}(3/4)`; the value astropy's
/// `mad_std` uses, so that `1.4826 * MAD` estimates sigma for Gaussian data.
pub const MAD_TO_STD: f64 = 1.482602218505602;

/// `ln(erfc(x))` accurate in both tails.
///
/// For `x > 26` `erfc` underflows, so the asymptotic series
/// `erfc x ~ exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6))`
/// (Abramowitz & Stegun 1964, eq. 7.1.23) is used instead; its relative error there is < 1e-9.
pub fn ln_erfc(x: f64) -> f64 {
    if x < 26.0 {
        libm::erfc(x).ln()
    } else {
        let x2 = x * x;
        let inv = 1.0 / x2;
        let series = 1.0 - 0.5 * inv + 0.75 * inv * inv - 1.875 * inv * inv * inv;
        -x2 - (x * std::f64::consts::PI.sqrt()).ln() + series.ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_numpy_linear_small() {
        // np.percentile([1, 2, 4, 8], [0, 10, 25, 50, 90, 100]) = [1, 1.3, 1.75, 3, 6.8, 8]
        let x = [1.0, 2.0, 4.0, 8.0];
        let want = [
            (0.0, 1.0),
            (0.1, 1.3),
            (0.25, 1.75),
            (0.5, 3.0),
            (0.9, 6.8),
            (1.0, 8.0),
        ];
        for (q, w) in want {
            assert!((quantile_sorted(&x, q) - w).abs() < 1e-12, "q={q}");
        }
        assert!(quantile_sorted(&[], 0.5).is_nan());
        assert_eq!(quantile_sorted(&[3.0], 0.7), 3.0);
    }

    #[test]
    fn ln_erfc_branches_agree() {
        // The two branches must meet smoothly at the switch point.
        let a = libm::erfc(25.9).ln();
        let x = 25.9_f64;
        let x2 = x * x;
        let inv = 1.0 / x2;
        let s = 1.0 - 0.5 * inv + 0.75 * inv * inv - 1.875 * inv * inv * inv;
        let b = -x2 - (x * std::f64::consts::PI.sqrt()).ln() + s.ln();
        assert!((a - b).abs() < 1e-9 * a.abs());
        assert!(ln_erfc(40.0).is_finite());
    }
}
