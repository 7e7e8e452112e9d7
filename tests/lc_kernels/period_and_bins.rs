//! The periodogram peak signal-to-noise, spectrum and phase-folded features, and the
//! time-binned features against light-curve's own `Periodogram` and `Bins` (and astropy's
//! weighted Lomb-Scargle) on real SDSS Stripe 82 RR Lyrae and ZTF SN Ia curves, from
//! tests/data/lcfeat2_ref.json made by tests/ref/make_lcfeat2_ref.py.

use serde_json::Value;
use tessera::numeric::lightcurve::bins::{bins_features, BinsOptions, BinsScratch, BINS};
use tessera::numeric::lightcurve::period_features::{
    peak_signal_to_noise, phase_features, power_mean_std, spectrum_features, PhaseScratch, PHASE,
    SPECTRUM,
};
use tessera::numeric::periodogram::{
    autofrequency, lomb_scargle, FreqGrid, GridOptions, LombScargleScratch, PeriodogramMethod,
};

fn refs() -> Value {
    crate::json_ref::load("lcfeat2_ref.json")
}

/// The stored CSV strings parsed as Rust parses them (correctly rounded, as Python).
fn parsed(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().parse().unwrap())
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn curve(c: &Value) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    (parsed(&c["t"]), parsed(&c["m"]), parsed(&c["e"]))
}

/// Relative agreement to `tol` (absolute below 1e-12 in size, for values that are zero).
fn close(ours: f64, theirs: f64, tol: f64, what: &str) {
    let bound = tol * theirs.abs().max(1e-12);
    assert!(
        (ours - theirs).abs() <= bound,
        "{what}: tessera {ours:e} vs reference {theirs:e} (diff {:e})",
        (ours - theirs).abs()
    );
}

fn grid_of(c: &Value) -> FreqGrid {
    FreqGrid {
        f0: c["f0"].as_f64().unwrap(),
        df: c["df"].as_f64().unwrap(),
        n: c["n"].as_u64().unwrap() as usize,
    }
}

/// light-curve's power on an explicit grid: the classic Lomb (1976) / Scargle (1982)
/// periodogram, unweighted, the mean subtracted and not fitted, standard normalisation
/// `p = [(Σ y c)² / Σ c² + (Σ y s)² / Σ s²] / Σ y²` with `c, s = cos, sin ω (t - τ)` and
/// `tan 2ωτ = Σ sin 2ωt / Σ cos 2ωt` (astropy `fit_mean=False, center_data=True`), computed
/// directly (times from the first one: the power is shift invariant).
fn classic_power(t: &[f64], y: &[f64], g: &FreqGrid) -> Vec<f64> {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let yc: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let yy: f64 = yc.iter().map(|v| v * v).sum();
    let tt: Vec<f64> = t.iter().map(|v| v - t[0]).collect();
    (0..g.n)
        .map(|k| {
            let w = std::f64::consts::TAU * g.freq(k);
            let (mut s2, mut c2) = (0.0, 0.0);
            for &x in &tt {
                let (s, c) = (2.0 * w * x).sin_cos();
                s2 += s;
                c2 += c;
            }
            let tau = s2.atan2(c2) / (2.0 * w);
            let (mut yc_c, mut yc_s, mut cc, mut ss) = (0.0, 0.0, 0.0, 0.0);
            for (&x, &v) in tt.iter().zip(&yc) {
                let (s, c) = (w * (x - tau)).sin_cos();
                yc_c += v * c;
                yc_s += v * s;
                cc += c * c;
                ss += s * s;
            }
            (yc_c * yc_c / cc + yc_s * yc_s / ss) / yy
        })
        .collect()
}

/// The grid in the reference is tessera's: `autofrequency` with min_period 0.2 d gives it.
fn check_grid(t: &[f64], g: &FreqGrid, refs: &Value, file: &str) {
    let opts = GridOptions {
        samples_per_peak: refs["samples_per_peak"].as_f64().unwrap(),
        nyquist_factor: refs["nyquist_factor"].as_f64().unwrap(),
        min_period: refs["min_period"].as_f64(),
        ..Default::default()
    };
    let ours = autofrequency(t, &opts).unwrap();
    assert_eq!(ours.n, g.n, "{file}");
    close(ours.f0, g.f0, 1e-15, file);
    close(ours.df, g.df, 1e-15, file);
}

/// light-curve's `period_s_to_n_k` and spectrum features, recomputed by tessera's kernels
/// from the same power (light-curve's classic periodogram, recomputed directly) on the
/// same grid: the definitions agree to 1e-9 (signal-to-noise with the ddof = 1 standard
/// deviation over the whole grid).
#[test]
fn signal_to_noise_and_spectrum_match_light_curve_on_its_power() {
    let refs = refs();
    let mut checked = 0;
    for c in refs["periodogram"].as_array().unwrap() {
        let file = c["file"].as_str().unwrap();
        let (t, m, _) = curve(c);
        let g = grid_of(c);
        check_grid(&t, &g, &refs, file);
        let power = classic_power(&t, &m, &g);
        let (mean, std) = power_mean_std(&power);
        let lcv = &c["lc"];
        let periods = numbers(&lcv["period"]);
        let s_to_n = numbers(&lcv["s_to_n"]);
        for (k, (&p, &want)) in periods.iter().zip(&s_to_n).enumerate() {
            let i = ((1.0 / p - g.f0) / g.df).round() as usize;
            close(
                1.0 / p,
                g.freq(i),
                1e-12,
                &format!("{file} peak {k} on the grid"),
            );
            let ours = peak_signal_to_noise(power[i], mean, std);
            close(ours, want, 1e-9, &format!("{file} period_s_to_n_{k}"));
        }
        let mut out = [0.0; SPECTRUM.len()];
        spectrum_features(&power, &mut out);
        for ((name, _), (&ours, want)) in SPECTRUM
            .iter()
            .zip(out.iter().zip(numbers(&lcv["spectrum"])))
        {
            close(ours, want, 1e-9, &format!("{file} {name}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 10);
}

/// light-curve's `period_folded_*` features at its best period, by tessera's fold and
/// feature kernels at the same period: agree to 1e-9.
#[test]
fn phase_features_match_light_curve_at_its_period() {
    let refs = refs();
    let mut ws = PhaseScratch::default();
    for c in refs["periodogram"].as_array().unwrap() {
        let file = c["file"].as_str().unwrap();
        let (t, m, e) = curve(c);
        let period = numbers(&c["lc"]["period"])[0];
        let mut out = [0.0; PHASE.len()];
        phase_features(&t, &m, &e, period, &mut ws, &mut out);
        for (f, (&ours, want)) in PHASE.iter().zip(out.iter().zip(numbers(&c["lc"]["phase"]))) {
            close(ours, want, 1e-9, &format!("{file} {}", f.name));
        }
    }
}

/// tessera's own power (weighted generalised Lomb-Scargle, direct method): the mean and
/// standard deviation over the grid and the signal-to-noise of the highest point agree
/// with astropy's to 1e-9. The fast (NUFFT) power's signal-to-noise stays within 1e-9
/// (5.8e-11 measured on these curves).
#[test]
fn signal_to_noise_of_tessera_power_matches_astropy() {
    let refs = refs();
    let mut ws = LombScargleScratch::default();
    let mut worst_fast: f64 = 0.0;
    for c in refs["periodogram"].as_array().unwrap() {
        let file = c["file"].as_str().unwrap();
        let (t, m, e) = curve(c);
        let g = grid_of(c);
        let a = &c["astropy"];
        let mut power = vec![0.0; g.n];
        for method in [PeriodogramMethod::Direct, PeriodogramMethod::Fast] {
            assert!(lomb_scargle(
                &t,
                &m,
                Some(&e),
                &g,
                method,
                &mut ws,
                &mut power
            ));
            let (mean, std) = power_mean_std(&power);
            let best = a["best_index"].as_u64().unwrap() as usize;
            let s = peak_signal_to_noise(power[best], mean, std);
            let want = a["best_s_to_n"].as_f64().unwrap();
            if method == PeriodogramMethod::Direct {
                close(
                    mean,
                    a["mean"].as_f64().unwrap(),
                    1e-9,
                    &format!("{file} mean"),
                );
                close(
                    std,
                    a["std"].as_f64().unwrap(),
                    1e-9,
                    &format!("{file} std"),
                );
                close(s, want, 1e-9, &format!("{file} s_to_n"));
                let top = (0..g.n).max_by(|&i, &j| power[i].total_cmp(&power[j]));
                assert_eq!(top, Some(best), "{file}");
            } else {
                worst_fast = worst_fast.max(((s - want) / want).abs());
            }
        }
    }
    println!("fast power: signal-to-noise within {worst_fast:.1e} relative of astropy's");
    assert!(worst_fast <= 1e-9, "{worst_fast:e}");
}

/// light-curve's `Bins(features, window, offset)` on SDSS RR Lyrae (one point a night) and
/// ZTF SN Ia curves (several a night) for three windows: agree to 1e-9.
#[test]
fn bins_match_light_curve() {
    let refs = refs();
    let names: Vec<String> = refs["bins_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| format!("bins_{}", n.as_str().unwrap()))
        .collect();
    let ours_names: Vec<&str> = BINS.iter().map(|f| f.name).collect();
    assert_eq!(names, ours_names);
    let mut ws = BinsScratch::default();
    let mut checked = 0;
    for c in refs["bins"].as_array().unwrap() {
        let file = c["file"].as_str().unwrap();
        let (t, m, e) = curve(c);
        let opts = BinsOptions {
            window: c["window"].as_f64().unwrap(),
            offset: c["offset"].as_f64().unwrap(),
        };
        let mut out = vec![0.0; BINS.len()];
        bins_features(&t, &m, &e, &opts, &mut ws, &mut out);
        for (f, (&ours, want)) in BINS.iter().zip(out.iter().zip(numbers(&c["values"]))) {
            close(ours, want, 1e-9, &format!("{file} {:?} {}", opts, f.name));
        }
        checked += 1;
    }
    assert_eq!(checked, 42);
}
