//! Structure-function fits: log-likelihood against direct evaluation (scipy and a naive loop),
//! parameter recovery from simulated independent pairs, Hessian against finite differences,
//! and a damped-random-walk light curve.
#![allow(clippy::needless_range_loop)]

use crate::refdata;
use tessera::numeric::lightcurve::sf::{self, SfModel, SfOptions, SfScratch, YEAR_DAYS};

/// xorshift64* (Vigna 2016) with Box-Muller normals: tiny, seeded, reproducible.
struct Rng(u64);
impl Rng {
    fn u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn v2(model: SfModel, p: [f64; 2], dt: f64) -> f64 {
    match model {
        SfModel::PowerLaw => (p[0] * (dt / YEAR_DAYS).powf(p[1])).powi(2),
        SfModel::Drw => p[0] * p[0] * (1.0 - (-dt / p[1]).exp()),
    }
}

/// Direct double loop over i<j, written from the formula without any of the library's tricks.
fn naive_logl(model: SfModel, p: [f64; 2], t: &[f64], m: &[f64], e: &[f64]) -> f64 {
    let mut l = 0.0;
    for i in 0..t.len() {
        for j in i + 1..t.len() {
            let s = v2(model, p, (t[j] - t[i]).abs()) + e[i] * e[i] + e[j] * e[j];
            let dm = m[j] - m[i];
            l += -0.5 * (2.0 * std::f64::consts::PI * s).ln() - dm * dm / (2.0 * s);
        }
    }
    l
}

fn theta_of(model: SfModel, p: [f64; 2]) -> [f64; 2] {
    match model {
        SfModel::PowerLaw => [p[0].ln(), p[1]],
        SfModel::Drw => [p[0].ln(), p[1].ln()],
    }
}

#[test]
fn log_likelihood_matches_scipy_and_naive_loop() {
    use refdata::*;
    let mut s = SfScratch::default();
    assert_eq!(
        sf::build_pairs(&SF_T, &SF_M, &SF_E, &mut s).unwrap(),
        8 * 7 / 2
    );
    for (model, p, want) in [
        (SfModel::PowerLaw, [0.25, 0.4], SF_LOGL_PL),
        (SfModel::Drw, [0.3, 50.0], SF_LOGL_DRW),
    ] {
        let got = sf::log_likelihood(model, theta_of(model, p), &mut s);
        assert!(
            (got - want).abs() < 1e-10 * want.abs(),
            "{model:?}: {got} vs scipy {want}"
        );
        let naive = naive_logl(model, p, &SF_T, &SF_M, &SF_E);
        assert!((got - naive).abs() < 1e-10 * naive.abs());
    }
    // At the optimum too, the reported logL is the direct sum.
    for model in [SfModel::PowerLaw, SfModel::Drw] {
        let fit = sf::fit_pairs(model, &SfOptions::default(), &mut s).unwrap();
        let naive = naive_logl(model, fit.params, &SF_T, &SF_M, &SF_E);
        assert!(
            (fit.log_likelihood - naive).abs() < 1e-9 * naive.abs(),
            "{fit:?} vs {naive}"
        );
    }
}

#[test]
fn optimum_matches_scipy_minimize() {
    use refdata::*;
    let mut s = SfScratch::default();
    sf::build_pairs(&SF_T, &SF_M, &SF_E, &mut s).unwrap();
    for (model, theta, logl) in [
        (SfModel::PowerLaw, SF_FIT_PL_THETA, SF_FIT_PL_LOGL),
        (SfModel::Drw, SF_FIT_DRW_THETA, SF_FIT_DRW_LOGL),
    ] {
        let fit = sf::fit_pairs(model, &SfOptions::default(), &mut s).unwrap();
        assert!(fit.converged && !fit.at_bound, "{fit:?}");
        assert!(
            fit.log_likelihood >= logl - 1e-9,
            "{model:?}: {} < scipy {logl}",
            fit.log_likelihood
        );
        for k in 0..2 {
            let tol = 1e-4 * fit.cov_theta[k][k].sqrt().max(1e-3);
            assert!(
                (fit.theta[k] - theta[k]).abs() < tol,
                "{model:?} θ{k}: {} vs scipy {}",
                fit.theta[k],
                theta[k]
            );
        }
    }
}

/// Independent pairs: Δt log-uniform in [1, 3000] d, per-point errors U(0.02, 0.1).
fn simulate_pairs(
    model: SfModel,
    p: [f64; 2],
    n: usize,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut r = Rng(seed);
    let (mut dt, mut dm, mut var) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let d = (3000f64.ln() * r.uniform()).exp();
        let (e1, e2) = (0.02 + 0.08 * r.uniform(), 0.02 + 0.08 * r.uniform());
        let s2 = e1 * e1 + e2 * e2;
        dt.push(d);
        dm.push((v2(model, p, d) + s2).sqrt() * r.normal());
        var.push(s2);
    }
    (dt, dm, var)
}

/// The single-precision start (used from 1024 pairs on) ends where double precision
/// alone ends: the same optimum to 1e-4 σ and no lower logL, on pair sets of both
/// models, from light curves and from simulated independent pairs, with fewer
/// double-precision passes.
#[test]
fn single_precision_start_reaches_the_double_precision_optimum() {
    let plain = SfOptions {
        f32_start: false,
        ..SfOptions::default()
    };
    let mut sets: Vec<SfScratch> = Vec::new();
    for (model, truth) in [
        (SfModel::PowerLaw, [0.15, 0.4]),
        (SfModel::Drw, [0.25, 120.0]),
    ] {
        for seed in 1..4 {
            let (dt, dm, var) = simulate_pairs(model, truth, 5000, seed);
            let mut s = SfScratch::default();
            s.load_pairs(&dt, &dm, &var);
            sets.push(s);
        }
    }
    // a light curve: 120 points of a damped random walk (tau 50 d, SF_inf 0.3 mag)
    // plus noise (7140 pairs)
    let mut r = Rng(77);
    let t: Vec<f64> = (0..120)
        .map(|i| i as f64 * 9.3 + 4.0 * r.uniform())
        .collect();
    let (mut level, mut last) = (0.0, t[0]);
    let m: Vec<f64> = t
        .iter()
        .map(|&ti| {
            let a = (-(ti - last) / 50.0).exp();
            level = level * a + 0.3 / 2f64.sqrt() * (1.0 - a * a).sqrt() * r.normal();
            last = ti;
            17.0 + level + 0.03 * r.normal()
        })
        .collect();
    let e = vec![0.03; t.len()];
    let mut s = SfScratch::default();
    sf::build_pairs(&t, &m, &e, &mut s).unwrap();
    sets.push(s);
    let (mut saved, mut used) = (0, 0);
    for (k, s) in sets.iter_mut().enumerate() {
        assert!(s.n_pairs() >= 1024);
        for model in [SfModel::PowerLaw, SfModel::Drw] {
            let a = sf::fit_pairs(model, &SfOptions::default(), s).unwrap();
            let b = sf::fit_pairs(model, &plain, s).unwrap();
            assert!(a.converged && b.converged, "set {k} {model:?}: {a:?} {b:?}");
            assert_eq!(b.passes_f32, 0);
            used += a.passes_f32;
            saved += b.evaluations.saturating_sub(a.evaluations);
            assert!(
                a.log_likelihood >= b.log_likelihood - 1e-9,
                "set {k} {model:?}: logL {} < {}",
                a.log_likelihood,
                b.log_likelihood
            );
            for q in 0..2 {
                let sigma = b.cov_theta[q][q].sqrt();
                assert!(
                    (a.theta[q] - b.theta[q]).abs() <= 1e-4 * sigma,
                    "set {k} {model:?} θ{q}: {} vs {} (σ {sigma})",
                    a.theta[q],
                    b.theta[q]
                );
            }
        }
    }
    eprintln!("single-precision passes {used}, double-precision passes saved {saved}");
    assert!(used > 0 && saved > 0);
}

fn check_recovery(model: SfModel, truth: [f64; 2], seed: u64) {
    let (dt, dm, var) = simulate_pairs(model, truth, 4000, seed);
    let mut s = SfScratch::default();
    s.load_pairs(&dt, &dm, &var);
    let fit = sf::fit_pairs(model, &SfOptions::default(), &mut s).unwrap();
    assert!(fit.converged && !fit.at_bound, "{fit:?}");
    #[allow(clippy::needless_range_loop)]
    for k in 0..2 {
        let z = (fit.params[k] - truth[k]) / fit.sigma[k];
        assert!(
            z.abs() < 3.0,
            "{model:?} param {k}: {} ± {} vs truth {} (z = {z})",
            fit.params[k],
            fit.sigma[k],
            truth[k]
        );
        // Uncertainties of the right size (not a huge sigma that makes any value pass).
        assert!(fit.sigma[k] < 0.2 * truth[k].abs(), "{fit:?}");
    }
    // Optimum: every nearby point in θ has lower logL.
    for d in [[1e-3, 0.0], [-1e-3, 0.0], [0.0, 1e-3], [0.0, -1e-3]] {
        let th = [fit.theta[0] + d[0], fit.theta[1] + d[1]];
        assert!(sf::log_likelihood(model, th, &mut s) < fit.log_likelihood);
    }
    // Analytic Hessian vs central finite differences of logL.
    let h = 1e-4;
    let mut f =
        |a: f64, b: f64| sf::log_likelihood(model, [fit.theta[0] + a, fit.theta[1] + b], &mut s);
    let f0 = f(0.0, 0.0);
    let h00 = (f(h, 0.0) - 2.0 * f0 + f(-h, 0.0)) / (h * h);
    let h11 = (f(0.0, h) - 2.0 * f0 + f(0.0, -h)) / (h * h);
    let h01 = (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4.0 * h * h);
    let det = h00 * h11 - h01 * h01;
    let cov_fd = [-(h11 / det), h01 / det, -(h00 / det)];
    let cov = fit.cov_theta;
    for (a, b) in [
        (cov[0][0], cov_fd[0]),
        (cov[0][1], cov_fd[1]),
        (cov[1][1], cov_fd[2]),
    ] {
        assert!(
            (a - b).abs() < 1e-3 * (cov[0][0] * cov[1][1]).sqrt(),
            "cov {a} vs finite-difference {b}"
        );
    }
}

#[test]
fn power_law_recovered_within_uncertainties() {
    check_recovery(SfModel::PowerLaw, [0.2, 0.45], 0x9E37_79B9_7F4A_7C15);
    check_recovery(SfModel::PowerLaw, [0.5, 0.2], 12345);
}

#[test]
fn drw_recovered_within_uncertainties() {
    check_recovery(SfModel::Drw, [0.25, 200.0], 0xD1B5_4A32_D192_ED03);
    check_recovery(SfModel::Drw, [0.4, 30.0], 777);
}

#[test]
fn drw_light_curve_roughly_recovered() {
    // Exact Ornstein-Uhlenbeck update (Kelly et al. 2009 eq. A4-A5): with process variance
    // σ² = ω²/2 the structure function is ω² (1 - e^{-Δt/τ}).
    let (omega, tau) = (0.3, 80.0);
    let mut r = Rng(2024);
    let n = 300;
    let (mut t, mut m, mut e) = (Vec::new(), Vec::new(), Vec::new());
    let mut time = 0.0;
    let mut x = omega / 2f64.sqrt() * r.normal();
    for _ in 0..n {
        let dt = 1.0 + 19.0 * r.uniform();
        time += dt;
        let a = (-dt / tau).exp();
        x = a * x + omega / 2f64.sqrt() * (1.0 - a * a).sqrt() * r.normal();
        let err = 0.03;
        t.push(time);
        m.push(18.0 + x + err * r.normal());
        e.push(err);
    }
    let mut s = SfScratch::with_points(n);
    let fit = sf::fit_structure_function(&t, &m, &e, SfModel::Drw, &SfOptions::default(), &mut s)
        .unwrap();
    assert_eq!(fit.n_pairs, n * (n - 1) / 2);
    assert!(fit.converged && !fit.at_bound, "{fit:?}");
    // Pairs are correlated, so the formal errors are too small; check only the right ballpark.
    assert!((fit.params[0] / omega - 1.0).abs() < 0.3, "{fit:?}");
    assert!(
        fit.params[1] > tau / 2.0 && fit.params[1] < tau * 2.0,
        "{fit:?}"
    );
    let pl = sf::fit_pairs(SfModel::PowerLaw, &SfOptions::default(), &mut s).unwrap();
    assert!(
        pl.converged && pl.log_likelihood < fit.log_likelihood,
        "DRW fits a DRW better: {pl:?}"
    );
}
