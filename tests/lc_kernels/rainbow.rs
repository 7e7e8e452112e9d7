//! The Rainbow multiband fit: light-curve's own `RainbowFit` on 30 real ZTF SN Ia in g and r
//! (tests/data/rainbow_ref.json, made by tests/ref/make_rainbow_ref.py), recovery of simulated
//! curves, the uncertainties against the scatter of repeated fits, and degenerate inputs.
#![allow(clippy::needless_range_loop)]

use crate::json_ref::{floats, load};

use crate::transient::Rng;
use tessera::numeric::lightcurve::transient::rainbow::{
    fit_rainbow, rainbow_model, RainbowCurve, RainbowError, RainbowScratch, RAINBOW_PARAMS,
    RAINBOW_PARAM_NAMES,
};
use tessera::numeric::lightcurve::transient::Unit;

/// tessera's reduced chi-square is at most light-curve's (recomputed as plain chi2 / (N - 9)
/// from its parameters) times (1 + 1e-6) on every curve: it minimises chi2 alone, light-curve
/// adds a prior and a barrier (see the module documentation of `rainbow.rs`).
#[test]
fn real_sn_ia_fits_are_at_least_as_good_as_light_curve() {
    let refs = load("rainbow_ref.json");
    let wavelengths = floats(&refs["wavelengths"]);
    let mut ws = RainbowScratch::default();
    let mut base = vec![0.0; 2 * wavelengths.len()];
    let (mut same, mut lower, mut n, mut singular) = (0, 0, 0, 0);
    for c in refs["curves"].as_array().unwrap() {
        let (t, m, e) = (floats(&c["t"]), floats(&c["m"]), floats(&c["e"]));
        let band: Vec<u8> = c["band"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        let curve = RainbowCurve {
            t: &t,
            y: &m,
            dy: &e,
            band: &band,
            wavelengths: &wavelengths,
            unit: Unit::Mag,
        };
        let fit = fit_rainbow(curve, &mut ws, &mut base).unwrap();
        let lc = c["reduced_chi2"].as_f64().unwrap();
        let file = c["file"].as_str().unwrap();
        assert!(
            fit.reduced_chi2 <= lc * (1.0 + 1e-6) + 1e-9,
            "{file}: reduced chi2 {} vs light-curve's {lc}",
            fit.reduced_chi2
        );
        // the values always; the uncertainties are NaN where JᵀWJ is singular (a rise
        // shorter than the sampling: ZTF18abauprj's rise_time runs to 1e-9 days)
        assert!(
            fit.params
                .iter()
                .chain(base.iter().step_by(2))
                .all(|v| v.is_finite()),
            "{file}: {fit:?} {base:?}"
        );
        if fit.sigma.iter().any(|s| s.is_nan()) {
            singular += 1;
        }
        if (fit.reduced_chi2 - lc).abs() <= 1e-3 * lc {
            same += 1;
        } else {
            lower += 1;
        }
        println!(
            "{file}: reduced chi2 {:.6} (light-curve {lc:.6}); T {:.0} +- {:.0} ({:.0}), T_amplitude {:.3} +- {:.3} ({:.3})",
            fit.reduced_chi2,
            fit.params[4],
            fit.sigma[4],
            floats(&c["params"])[4],
            fit.params[5],
            fit.sigma[5],
            floats(&c["params"])[5],
        );
        n += 1;
    }
    assert_eq!(n, 30);
    println!(
        "{same} within 1e-3 of light-curve's chi2, {lower} lower; {singular} with a singular JtWJ (errors NaN)"
    );
    assert!(singular <= 2, "{singular} fits without uncertainties");
}

const WAVELENGTHS: [f64; 3] = [4770.0, 6231.0, 7625.0];
const TRUTH: [f64; RAINBOW_PARAMS] = [58000.0, 1000.0, 3.0, 15.0, 12000.0, 0.4, 8.0];
const BASELINES: [f64; 3] = [5.0, -3.0, 2.0];
const NOISE: f64 = 10.0;

/// Three bands every 2 days from 20 days before the reference time to 60 after, offset by
/// a third of a day per band.
fn epochs() -> (Vec<f64>, Vec<u8>) {
    let mut t = Vec::new();
    let mut b = Vec::new();
    for i in 0..41 {
        for band in 0..3u8 {
            t.push(TRUTH[0] - 20.0 + 2.0 * i as f64 + band as f64 / 3.0);
            b.push(band);
        }
    }
    (t, b)
}

fn simulate(t: &[f64], b: &[u8], noise: f64, rng: &mut Rng) -> Vec<f64> {
    let mean = WAVELENGTHS.iter().sum::<f64>() / 3.0;
    t.iter()
        .zip(b)
        .map(|(&x, &k)| {
            rainbow_model(x, WAVELENGTHS[k as usize], mean, &TRUTH)
                + BASELINES[k as usize]
                + noise * rng.normal()
        })
        .collect()
}

fn fit(
    t: &[f64],
    y: &[f64],
    b: &[u8],
    ws: &mut RainbowScratch,
) -> (
    tessera::numeric::lightcurve::transient::rainbow::RainbowFit,
    Vec<f64>,
) {
    let dy = vec![NOISE; t.len()];
    let mut base = vec![0.0; 6];
    let curve = RainbowCurve {
        t,
        y,
        dy: &dy,
        band: b,
        wavelengths: &WAVELENGTHS,
        unit: Unit::Flux,
    };
    (fit_rainbow(curve, ws, &mut base).unwrap(), base)
}

#[test]
fn noiseless_curves_are_fitted_exactly() {
    let (t, b) = epochs();
    let y = simulate(&t, &b, 0.0, &mut Rng(1));
    let (f, base) = fit(&t, &y, &b, &mut RainbowScratch::default());
    assert!(f.reduced_chi2 < 1e-12, "{}", f.reduced_chi2);
    assert_eq!(f.bands, 3);
    for a in 0..RAINBOW_PARAMS {
        let rel = (f.params[a] - TRUTH[a]).abs() / TRUTH[a].abs();
        assert!(
            rel < 1e-6,
            "{}: {} vs {}",
            RAINBOW_PARAM_NAMES[a],
            f.params[a],
            TRUTH[a]
        );
    }
    for k in 0..3 {
        assert!(
            (base[2 * k] - BASELINES[k]).abs() < 1e-6,
            "baseline {k}: {}",
            base[2 * k]
        );
    }
}

/// 300 noise realisations: the standard deviation of each fitted parameter (and baseline)
/// against the mean reported sigma, within 0.8..1.25 (a few per cent sampling error at this
/// size), as the single-band fits are tested.
#[test]
fn sigma_matches_scatter_of_repeated_fits() {
    let (t, b) = epochs();
    let mut ws = RainbowScratch::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let reps = 300;
    let k = RAINBOW_PARAMS + 3;
    let (mut sum, mut sum2, mut sig) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let mut chi2 = 0.0;
    for _ in 0..reps {
        let y = simulate(&t, &b, NOISE, &mut rng);
        let (f, base) = fit(&t, &y, &b, &mut ws);
        chi2 += f.reduced_chi2 / reps as f64;
        let vals: Vec<(f64, f64)> = (0..RAINBOW_PARAMS)
            .map(|a| (f.params[a], f.sigma[a]))
            .chain((0..3).map(|j| (base[2 * j], base[2 * j + 1])))
            .collect();
        for (a, (v, s)) in vals.into_iter().enumerate() {
            sum[a] += v;
            sum2[a] += v * v;
            sig[a] += s;
        }
    }
    assert!((0.9..1.1).contains(&chi2), "mean reduced chi2 {chi2}");
    for a in 0..k {
        let n = reps as f64;
        let mean = sum[a] / n;
        let sd = ((sum2[a] / n - mean * mean) * n / (n - 1.0)).sqrt();
        let ratio = sd / (sig[a] / n);
        let name = RAINBOW_PARAM_NAMES.get(a).copied().unwrap_or("baseline");
        println!(
            "{name}: scatter {sd:.4e}, mean sigma {:.4e}, ratio {ratio:.3}",
            sig[a] / n
        );
        assert!(
            (0.8..1.25).contains(&ratio),
            "{name}: scatter {sd} vs mean sigma {} (ratio {ratio})",
            sig[a] / n
        );
    }
}

#[test]
fn degenerate_inputs_give_errors() {
    let (t, b) = epochs();
    let y = simulate(&t, &b, NOISE, &mut Rng(7));
    let dy = vec![NOISE; t.len()];
    let mut ws = RainbowScratch::default();
    let mut base = vec![0.0; 6];
    let run = |t: &[f64], y: &[f64], dy: &[f64], b: &[u8], w: &[f64], ws: &mut RainbowScratch| {
        let mut base = vec![0.0; 2 * w.len()];
        fit_rainbow(
            RainbowCurve {
                t,
                y,
                dy,
                band: b,
                wavelengths: w,
                unit: Unit::Flux,
            },
            ws,
            &mut base,
        )
        .map(|_| ())
    };
    assert_eq!(run(&t, &y, &dy, &b, &WAVELENGTHS, &mut ws), Ok(()));
    // one band only
    let one = vec![0u8; t.len()];
    assert_eq!(
        run(&t, &y, &dy, &one, &WAVELENGTHS, &mut ws),
        Err(RainbowError::OneBand)
    );
    // a band with points and no wavelength
    let w = [4770.0, f64::NAN, 7625.0];
    assert_eq!(
        run(&t, &y, &dy, &b, &w, &mut ws),
        Err(RainbowError::NoWavelength(1))
    );
    // a band index past the table
    assert_eq!(
        run(&t, &y, &dy, &b, &WAVELENGTHS[..2], &mut ws),
        Err(RainbowError::NoWavelength(2))
    );
    // 10 points for 7 + 3 parameters
    assert_eq!(
        run(
            &t[..10],
            &y[..10],
            &dy[..10],
            &b[..10],
            &WAVELENGTHS,
            &mut ws
        ),
        Err(RainbowError::TooFewPoints)
    );
    let mut bad = y.clone();
    bad[3] = f64::NAN;
    assert_eq!(
        run(&t, &bad, &dy, &b, &WAVELENGTHS, &mut ws),
        Err(RainbowError::BadInput)
    );
    let mut zero = dy.clone();
    zero[0] = 0.0;
    assert_eq!(
        run(&t, &y, &zero, &b, &WAVELENGTHS, &mut ws),
        Err(RainbowError::BadInput)
    );
    let flat = vec![5.0; t.len()];
    assert_eq!(
        run(&t, &flat, &dy, &b, &WAVELENGTHS, &mut ws),
        Err(RainbowError::NoFit)
    );
    // a band without points: its baseline NaN, the fit made from the others
    let two: Vec<u8> = b.iter().map(|&x| if x == 1 { 2 } else { x }).collect();
    let f = fit_rainbow(
        RainbowCurve {
            t: &t,
            y: &y,
            dy: &dy,
            band: &two,
            wavelengths: &WAVELENGTHS,
            unit: Unit::Flux,
        },
        &mut ws,
        &mut base,
    )
    .unwrap();
    assert_eq!(f.bands, 2);
    assert!(base[2].is_nan() && base[3].is_nan() && base[0].is_finite());
}

/// Time per fit on the 30 real curves, against light-curve's (the `seconds` of
/// tests/data/rainbow_ref.json); run with `cargo test --release --test lc_kernels
/// rainbow_timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn rainbow_timing() {
    let refs = load("rainbow_ref.json");
    let wavelengths = floats(&refs["wavelengths"]);
    let mut ws = RainbowScratch::default();
    let mut base = vec![0.0; 4];
    let (mut ours, mut theirs) = (0.0, 0.0);
    let curves = refs["curves"].as_array().unwrap();
    for c in curves {
        let (t, m, e) = (floats(&c["t"]), floats(&c["m"]), floats(&c["e"]));
        let band: Vec<u8> = floats(&c["band"]).iter().map(|&b| b as u8).collect();
        let curve = RainbowCurve {
            t: &t,
            y: &m,
            dy: &e,
            band: &band,
            wavelengths: &wavelengths,
            unit: Unit::Mag,
        };
        let reps = 50;
        let start = std::time::Instant::now();
        for _ in 0..reps {
            std::hint::black_box(fit_rainbow(std::hint::black_box(curve), &mut ws, &mut base))
                .unwrap();
        }
        ours += start.elapsed().as_secs_f64() / reps as f64;
        theirs += c["seconds"].as_f64().unwrap();
    }
    let n = curves.len() as f64;
    println!(
        "TIMING rainbow: tessera {:.3} ms per fit, light-curve {:.1} ms ({:.0}x) on {n} ZTF SN Ia",
        1e3 * ours / n,
        1e3 * theirs / n,
        theirs / ours
    );
}
