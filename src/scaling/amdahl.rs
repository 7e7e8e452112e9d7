//! Amdahl's law fitted to a strong-scaling series (pure numerics).

/// A fitted Amdahl model (Amdahl 1967): with a serial fraction `s` of the
/// one-rank time `T1`, `T(p) = T1 (s + (1 - s) / p)`, so the speed-up is
/// `S(p) = 1 / (s + (1 - s) / p)` and the efficiency `E(p) = S(p) / p`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AmdahlFit {
    /// Modelled time on one rank, seconds.
    pub t1: f64,
    /// Serial fraction, 0..=1.
    pub serial_fraction: f64,
    /// Root mean square of the relative residuals.
    pub rms_relative_error: f64,
    /// Number of points fitted.
    pub points: usize,
}

impl AmdahlFit {
    /// Distinct rank counts a fit needs. Two parameters go through any two
    /// points exactly, so two points cannot tell Amdahl's law from noise or
    /// from a machine whose cores are shared: a bound printed from them
    /// ("the speed-up can never exceed 1.5") is an artefact of two numbers.
    pub const MIN_RANK_COUNTS: usize = 3;

    /// Least-squares fit to `(ranks, seconds)` pairs; `None` with fewer than
    /// [`AmdahlFit::MIN_RANK_COUNTS`] distinct rank counts or non-positive
    /// times.
    ///
    /// Written as `T(p) = a + b / p` (`a = T1 s`, `b = T1 (1 - s)`) the model
    /// is linear in `a` and `b`; the fit minimises the relative residuals
    /// `(T_model - T) / T`, so a 100-rank point counts as much as a 1-rank
    /// point.
    pub fn fit(points: &[(f64, f64)]) -> Option<AmdahlFit> {
        let mut distinct: Vec<f64> = points.iter().map(|p| p.0).collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() < Self::MIN_RANK_COUNTS
            || points
                .iter()
                .any(|&(p, t)| p < 1.0 || t <= 0.0 || !t.is_finite())
        {
            return None;
        }
        // minimise sum ((a + b x - t) / t)^2 with x = 1/p: weighted normal
        // equations with weights w = 1/t^2
        let (mut sw, mut sx, mut sxx, mut st, mut sxt) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(p, t) in points {
            let w = 1.0 / (t * t);
            let x = 1.0 / p;
            sw += w;
            sx += w * x;
            sxx += w * x * x;
            st += w * t;
            sxt += w * x * t;
        }
        let det = sw * sxx - sx * sx;
        let (mut a, mut b) = ((st * sxx - sx * sxt) / det, (sw * sxt - sx * st) / det);
        // keep 0 <= s <= 1: refit with the bound that was crossed held fixed
        if a < 0.0 {
            a = 0.0;
            b = sxt / sxx;
        } else if b < 0.0 {
            b = 0.0;
            a = st / sw;
        }
        let t1 = a + b;
        let rms = (points
            .iter()
            .map(|&(p, t)| ((a + b / p - t) / t).powi(2))
            .sum::<f64>()
            / points.len() as f64)
            .sqrt();
        Some(AmdahlFit {
            t1,
            serial_fraction: (a / t1).clamp(0.0, 1.0),
            rms_relative_error: rms,
            points: points.len(),
        })
    }

    /// Modelled time on `p` ranks, seconds.
    pub fn time(&self, p: f64) -> f64 {
        self.t1 * (self.serial_fraction + (1.0 - self.serial_fraction) / p)
    }

    /// Modelled speed-up on `p` ranks against one rank.
    pub fn speedup(&self, p: f64) -> f64 {
        self.t1 / self.time(p)
    }

    /// Modelled parallel efficiency on `p` ranks.
    pub fn efficiency(&self, p: f64) -> f64 {
        self.speedup(p) / p
    }

    /// Ranks at which the efficiency falls to `e` (0 < e < 1):
    /// `1 / (s p + 1 - s) = e` gives `p = (1/e - 1 + s) / s`. Infinite for
    /// `s = 0`.
    pub fn ranks_at_efficiency(&self, e: f64) -> f64 {
        let s = self.serial_fraction;
        if s <= 0.0 {
            f64::INFINITY
        } else {
            (1.0 / e - 1.0 + s) / s
        }
    }

    /// Ranks beyond which doubling them gains less than `gain` (e.g. 0.10):
    /// `S(2p) / S(p) = (s + x) / (s + x/2) = 1 + g` with `x = (1-s)/p`
    /// gives `x = 2 g s / (1 - g)`, so `p = (1 - s)(1 - g) / (2 g s)`
    /// (`4.5 (1 - s) / s` for 10%).
    pub fn ranks_where_doubling_gains_less_than(&self, gain: f64) -> f64 {
        let s = self.serial_fraction;
        if s <= 0.0 {
            return f64::INFINITY;
        }
        let x = 2.0 * gain * s / (1.0 - gain);
        (1.0 - s) / x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_serial_fraction() {
        let truth = AmdahlFit {
            t1: 10.0,
            serial_fraction: 0.05,
            rms_relative_error: 0.0,
            points: 0,
        };
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .map(|&p| (p, truth.time(p)))
            .collect();
        let f = AmdahlFit::fit(&pts).unwrap();
        assert!((f.serial_fraction - 0.05).abs() < 1e-12, "{f:?}");
        assert!((f.t1 - 10.0).abs() < 1e-9);
        assert!(f.rms_relative_error < 1e-12);
        // E = 1/(s p + 1 - s) = 0.5 at p = (2 - 0.95)/0.05 = 21
        assert!((f.ranks_at_efficiency(0.5) - 21.0).abs() < 1e-9);
        let p = f.ranks_where_doubling_gains_less_than(0.10);
        assert!((f.speedup(2.0 * p) / f.speedup(p) - 1.10).abs() < 1e-9);
    }

    #[test]
    fn perfect_scaling_has_no_serial_fraction_and_flat_scaling_is_all_serial() {
        let f = AmdahlFit::fit(&[(1.0, 8.0), (2.0, 4.0), (4.0, 2.0)]).unwrap();
        assert!(f.serial_fraction < 1e-12);
        assert!(f.ranks_at_efficiency(0.5).is_infinite());
        let f = AmdahlFit::fit(&[(1.0, 3.0), (2.0, 3.0), (4.0, 3.1)]).unwrap();
        assert!(f.serial_fraction > 0.99, "{f:?}");
        assert!(AmdahlFit::fit(&[(2.0, 3.0), (2.0, 3.1)]).is_none());
        assert!(
            AmdahlFit::fit(&[(1.0, 3.0), (2.0, 2.0)]).is_none(),
            "two rank counts fit any s exactly: no fit"
        );
    }
}
