//! Period searches beside the Lomb-Scargle periodogram (BLS, PDM, conditional entropy,
//! multi-harmonic): injection-recovery of transits by BLS, recovery of the published
//! periods of the SDSS Stripe 82 RR Lyrae by PDM and CE, and timings per curve.
//! References: the injected periods; Sesar et al. (2010) periods in
//! shared/data/sdss-s82-rrlyrae/periods.csv.

use std::path::{Path, PathBuf};
use std::time::Instant;
use tessera::numeric::periodogram::{
    autofrequency, best_peak, bls_best, bls_grid, bls_power, ce_power, lomb_scargle,
    multiharmonic_power, pdm_power, BlsGridOptions, BlsOptions, BlsScratch, BlsTrials, CeOptions,
    CeScratch, GridOptions, LombScargleScratch, MultiHarmonicOptions, MultiHarmonicScratch,
    PdmOptions, PdmScratch, PeriodogramMethod,
};

/// SplitMix64 (Steele, Lea & Flood 2014): reproducible without a rand dependency.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo * (hi / lo).powf(self.uniform())
    }
}

/// One injected transit curve: (t, y, dy, period, duration).
struct Injection {
    t: Vec<f64>,
    y: Vec<f64>,
    dy: Vec<f64>,
    period: f64,
    duration: f64,
    n_in: usize,
}

/// Case `i` of the injection set. N log-uniform in [100, 2000], P log-uniform in
/// [0.5, 20] d, depth uniform in [0.5%, 1%], sigma = depth / 5, baseline uniform in
/// [100, 200] d, times uniform over it, random epoch; duration log-uniform between
/// max(0.02 d, 0.01 P) and min(0.3 d, 0.1 P) (searched range and duty cycles). Drawn
/// until at least 8 points fall in transit (a box of 8 points at 5 sigma each has
/// S/N ~ 14; with fewer, no method can be asked for 0.1%).
fn injection(i: u64) -> Injection {
    let mut r = Rng(0x5EED_0000 + i);
    loop {
        let n = r.log_uniform(100.0, 2000.0).round() as usize;
        let period = r.log_uniform(0.5, 20.0);
        let depth = 0.005 + 0.005 * r.uniform();
        let sigma = depth / 5.0;
        let span = 100.0 + 100.0 * r.uniform();
        let (dlo, dhi) = (0.02f64.max(0.01 * period), 0.3f64.min(0.1 * period));
        let duration = r.log_uniform(dlo, dhi);
        let t0 = 2000.0 + period * r.uniform();
        let mut t: Vec<f64> = (0..n).map(|_| 2000.0 + span * r.uniform()).collect();
        t.sort_by(f64::total_cmp);
        let mut n_in = 0;
        let y = t
            .iter()
            .map(|&x| {
                let ph = (x - t0 + 0.5 * period).rem_euclid(period) - 0.5 * period;
                let inside = ph.abs() < 0.5 * duration;
                n_in += inside as usize;
                (if inside { 1.0 - depth } else { 1.0 }) + sigma * r.normal()
            })
            .collect();
        if n_in >= 8 {
            return Injection {
                t,
                y,
                dy: vec![sigma; n],
                period,
                duration,
                n_in,
            };
        }
    }
}

/// Injection-recovery, the first 40 cases of [`bls_injection_recovery_200`] (about a
/// minute of CPU: BLS costs ~1-3 s per case on its fine grid).
#[test]
fn bls_injection_recovery() {
    injection_recovery(40);
}

/// Injection-recovery on 200 cases (see [`injection`]): run with --ignored.
#[test]
#[ignore]
fn bls_injection_recovery_200() {
    injection_recovery(200);
}

/// BLS with the default options (durations 0.02..0.5 d, duty cycles 0.005..0.25) on
/// `bls_grid` over 0.4..25 d. A case counts when the best period is within 0.1% of the
/// injected one (P/2, 2P and other aliases are misses). Required: at least 95%. Two
/// threads.
fn injection_recovery(cases: u64) {
    let opts = BlsOptions::default();
    let gopts = BlsGridOptions {
        min_period: Some(0.4),
        max_period: Some(25.0),
        max_frequencies: 1_000_000,
        ..Default::default()
    };
    let start = Instant::now();
    let results: Vec<(u64, bool, f64, f64, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2u64)
            .map(|w| {
                s.spawn(move || {
                    let mut ws = BlsScratch::default();
                    let mut out = Vec::new();
                    for i in (w..cases).step_by(2) {
                        let c = injection(i);
                        let g = bls_grid(&c.t, &opts, &gopts).unwrap();
                        let r = bls_best(&c.t, &c.y, Some(&c.dy), BlsTrials::Grid(&g), &opts, &mut ws)
                            .unwrap();
                        let ok = ((r.period - c.period) / c.period).abs() < 1e-3;
                        if !ok {
                            eprintln!(
                                "miss {i}: N={} P={:.4} D={:.3} n_in={} -> P={:.4} (ratio {:.4}) snr {:.1} sde {:.1}",
                                c.t.len(), c.period, c.duration, c.n_in, r.period, r.period / c.period, r.snr, r.sde
                            );
                        }
                        out.push((i, ok, c.period, r.period, g.n));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let hits = results.iter().filter(|r| r.1).count();
    let nf: usize = results.iter().map(|r| r.4).sum();
    eprintln!(
        "BLS injection: {hits} of {cases} within 0.1% ({:.1}%), {:.1} s, mean {} frequencies per curve",
        100.0 * hits as f64 / cases as f64,
        start.elapsed().as_secs_f64(),
        nf / cases as usize
    );
    assert!(hits as f64 >= 0.95 * cases as f64, "{hits} of {cases}");
}

/// The shared data set beside the checkout (CI: `../shared`; a worktree two levels down
/// also finds it).
fn shared_rrlyrae() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join("../shared"), root.join("../../shared")]
        .into_iter()
        .map(|p| p.join("data/sdss-s82-rrlyrae"))
        .find(|p| p.is_dir())
}

/// One star's g band: id, t, mag, err, published period.
type Star = (String, Vec<f64>, Vec<f64>, Vec<f64>, f64);

/// g-band (t, mag, err) of every star, with its published period.
fn rrlyrae_g() -> Option<Vec<Star>> {
    let dir = shared_rrlyrae()?;
    let periods = std::fs::read_to_string(dir.join("periods.csv")).ok()?;
    let mut stars = Vec::new();
    for line in periods.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (id, p) = (f[0].to_string(), f[2].parse::<f64>().ok()?);
        let text =
            std::fs::read_to_string(dir.join("light-curves").join(format!("{id}.csv"))).ok()?;
        let (mut t, mut y, mut dy) = (vec![], vec![], vec![]);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next()?.split(',').collect();
        let col = |name: &str| header.iter().position(|h| h.trim() == name);
        let (ct, cm, ce, cb) = (col("time")?, col("mag")?, col("magerr")?, col("band")?);
        for l in lines {
            let v: Vec<&str> = l.split(',').collect();
            if v.len() <= cb || v[cb].trim() != "g" {
                continue;
            }
            let (a, b, c) = (
                v[ct].parse::<f64>(),
                v[cm].parse::<f64>(),
                v[ce].parse::<f64>(),
            );
            if let (Ok(a), Ok(b), Ok(c)) = (a, b, c) {
                if a.is_finite() && b.is_finite() && c > 0.0 {
                    t.push(a);
                    y.push(b);
                    dy.push(c);
                }
            }
        }
        stars.push((id, t, y, dy, p));
    }
    Some(stars)
}

/// Published-period recovery on the 242 SDSS Stripe 82 RR Lyrae, g band only, search
/// 0.2..1.2 d on the autofrequency grid (samples_per_peak 5): the best period within
/// 0.1% of Sesar et al.'s. Methods: PDM (10 bins, 1 and 2 covers; dy weights), CE
/// (10x5, counts), and, as the yardstick, the single-band GLS and the 2-term
/// periodogram on the same grid. Required: PDM and CE each recover at least 2/3 of
/// the single-band GLS count (justified in the report; printed numbers).
#[test]
fn sdss_rrlyrae_pdm_ce_recovery() {
    let Some(stars) = rrlyrae_g() else {
        eprintln!("skipped: shared/data/sdss-s82-rrlyrae not found beside the checkout");
        return;
    };
    let gopt = GridOptions {
        min_period: Some(0.2),
        max_period: Some(1.2),
        ..Default::default()
    };
    let (mut gls_s, mut mh_s, mut pdm_s, mut ce_s) = (
        LombScargleScratch::default(),
        MultiHarmonicScratch::default(),
        PdmScratch::default(),
        CeScratch::default(),
    );
    let names = ["GLS", "2-term", "PDM(10,1)", "PDM(10,2)", "CE(10x5)"];
    let mut hits = [0usize; 5];
    let mut secs = [0.0f64; 5];
    let mut power = Vec::new();
    for (_, t, y, dy, p_pub) in &stars {
        let g = autofrequency(t, &gopt).unwrap();
        power.resize(g.n, 0.0);
        for (m, hit) in hits.iter_mut().enumerate() {
            let t0 = Instant::now();
            let ok = match m {
                0 => lomb_scargle(
                    t,
                    y,
                    Some(dy),
                    &g,
                    PeriodogramMethod::Fast,
                    &mut gls_s,
                    &mut power,
                ),
                1 => multiharmonic_power(
                    t,
                    y,
                    Some(dy),
                    &g,
                    &MultiHarmonicOptions {
                        nterms: 2,
                        method: PeriodogramMethod::Fast,
                    },
                    &mut mh_s,
                    &mut power,
                ),
                2 => pdm_power(
                    t,
                    y,
                    Some(dy),
                    &g,
                    &PdmOptions::default(),
                    &mut pdm_s,
                    &mut power,
                ),
                3 => pdm_power(
                    t,
                    y,
                    Some(dy),
                    &g,
                    &PdmOptions {
                        n_bins: 10,
                        covers: 2,
                    },
                    &mut pdm_s,
                    &mut power,
                ),
                _ => ce_power(
                    t,
                    y,
                    Some(dy),
                    &g,
                    &CeOptions::default(),
                    &mut ce_s,
                    &mut power,
                ),
            };
            secs[m] += t0.elapsed().as_secs_f64();
            if ok {
                let b = best_peak(&g, &power).unwrap();
                *hit += (((b.period - p_pub) / p_pub).abs() < 1e-3) as usize;
            }
        }
    }
    let n = stars.len();
    for ((name, hit), sec) in names.iter().zip(hits).zip(secs) {
        eprintln!(
            "SDSS S82 RR Lyrae g band: {name:10} {hit:3} of {n} within 0.1% ({:.1}%), {:.1} ms per star",
            100.0 * hit as f64 / n as f64,
            1e3 * sec / n as f64
        );
    }
    assert_eq!(n, 242);
    for m in [2, 3, 4] {
        assert!(
            3 * hits[m] >= 2 * hits[0],
            "{}: {} vs GLS {}",
            names[m],
            hits[m],
            hits[0]
        );
    }
}

/// Timings per 200-point curve (2900-day baseline, the `random_curve` shape) on the
/// autofrequency grid (defaults: 5 samples per peak, Nyquist factor 5), and BLS also on
/// its own grid. Printed, not asserted: run with --ignored --nocapture.
#[test]
#[ignore]
fn timings_200_points() {
    let mut r = Rng(3);
    let n = 200;
    let mut t: Vec<f64> = (0..n).map(|_| 50000.0 + 2900.0 * r.uniform()).collect();
    t.sort_by(f64::total_cmp);
    let dy: Vec<f64> = (0..n).map(|_| 0.05 + 0.1 * r.uniform()).collect();
    let y: Vec<f64> = t
        .iter()
        .zip(&dy)
        .map(|(&x, &e)| 15.0 + 0.3 * (std::f64::consts::TAU * x / 0.61).sin() + e * r.normal())
        .collect();
    let g = autofrequency(&t, &GridOptions::default()).unwrap();
    let mut p = vec![0.0; g.n];
    let reps = 5;
    let time = |name: &str, nf: usize, f: &mut dyn FnMut()| {
        f();
        let t0 = Instant::now();
        for _ in 0..reps {
            f();
        }
        eprintln!(
            "{name:28} {nf:8} frequencies: {:9.3} ms per curve",
            1e3 * t0.elapsed().as_secs_f64() / reps as f64
        );
    };
    let mut gls = LombScargleScratch::default();
    time("GLS direct", g.n, &mut || {
        lomb_scargle(
            &t,
            &y,
            Some(&dy),
            &g,
            PeriodogramMethod::Direct,
            &mut gls,
            &mut p,
        );
    });
    time("GLS fast", g.n, &mut || {
        lomb_scargle(
            &t,
            &y,
            Some(&dy),
            &g,
            PeriodogramMethod::Fast,
            &mut gls,
            &mut p,
        );
    });
    let mut mh = MultiHarmonicScratch::default();
    for k in [2, 3] {
        for method in [PeriodogramMethod::Direct, PeriodogramMethod::Fast] {
            let o = MultiHarmonicOptions { nterms: k, method };
            time(&format!("mharm K={k} {method:?}"), g.n, &mut || {
                multiharmonic_power(&t, &y, Some(&dy), &g, &o, &mut mh, &mut p);
            });
        }
    }
    let mut pdm = PdmScratch::default();
    time("PDM (10,1)", g.n, &mut || {
        pdm_power(
            &t,
            &y,
            Some(&dy),
            &g,
            &PdmOptions::default(),
            &mut pdm,
            &mut p,
        );
    });
    time("PDM (10,2)", g.n, &mut || {
        pdm_power(
            &t,
            &y,
            Some(&dy),
            &g,
            &PdmOptions {
                n_bins: 10,
                covers: 2,
            },
            &mut pdm,
            &mut p,
        );
    });
    let mut ce = CeScratch::default();
    time("CE (10x5)", g.n, &mut || {
        ce_power(
            &t,
            &y,
            Some(&dy),
            &g,
            &CeOptions::default(),
            &mut ce,
            &mut p,
        );
    });
    let mut bls = BlsScratch::default();
    let o = BlsOptions::default();
    time("BLS, autofrequency grid", g.n, &mut || {
        bls_power(&t, &y, Some(&dy), BlsTrials::Grid(&g), &o, &mut bls, &mut p);
    });
    let bg = bls_grid(
        &t,
        &o,
        &BlsGridOptions {
            min_period: Some(0.5),
            max_period: Some(20.0),
            ..Default::default()
        },
    )
    .unwrap();
    let mut pb = vec![0.0; bg.n];
    time("BLS, bls_grid 0.5..20 d", bg.n, &mut || {
        bls_power(
            &t,
            &y,
            Some(&dy),
            BlsTrials::Grid(&bg),
            &o,
            &mut bls,
            &mut pb,
        );
    });
}
