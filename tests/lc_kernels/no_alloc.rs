//! The hot path allocates nothing once scratch buffers are warm: counted with a wrapping global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tessera::numeric::lightcurve::sf::{self, SfModel, SfOptions, SfScratch};
use tessera::numeric::lightcurve::*;

struct Counting;

thread_local! {
    // Const-initialised, so touching it never allocates (no recursion into the allocator).
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    COUNT.with(|c| c.get())
}

#[test]
fn warm_hot_path_does_not_allocate() {
    // Unsorted, with a duplicate time, a NaN and an outlier, so every cleaning branch runs.
    let n = 120;
    let mut t: Vec<f64> = (0..n)
        .map(|i| ((i * 37) % n) as f64 * 1.7 + 0.01 * i as f64)
        .collect();
    let mut m: Vec<f64> = (0..n)
        .map(|i| 17.0 + 0.2 * (i as f64 * 0.3).sin())
        .collect();
    let e = vec![0.05; n];
    t[7] = t[8];
    m[3] = f64::NAN;
    m[50] = 25.0;
    let cfg = CleanConfig {
        detrend_window: Some(20.0),
        normalisation: Normalisation::ZScore,
        ..CleanConfig::default()
    };
    let mut ps = PipelineScratch::default();
    let mut row = vec![0.0; row_width()];
    let mut ss = SfScratch::default();
    let opts = SfOptions::default();

    let run = |ps: &mut PipelineScratch, ss: &mut SfScratch, row: &mut [f64]| {
        process(&t, &m, &e, &cfg, ps, row).unwrap();
        let c = &ps.curve;
        sf::build_pairs(&c.t, &c.m, &c.e, ss).unwrap();
        sf::fit_pairs(SfModel::PowerLaw, &opts, ss).unwrap();
        sf::fit_pairs(SfModel::Drw, &opts, ss).unwrap();
    };
    run(&mut ps, &mut ss, &mut row); // warm-up grows the buffers
    let before = allocations();
    assert!(before > 0, "the counter sees the warm-up allocations");
    for _ in 0..3 {
        run(&mut ps, &mut ss, &mut row);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in the warm hot path"
    );
}

#[test]
fn warm_extended_features_do_not_allocate() {
    use tessera::numeric::lightcurve::extended::{extract_extended, ExtendedScratch, N_EXTENDED};
    let n = 150;
    let t: Vec<f64> = (0..n).map(|i| 58000.0 + 1.3 * i as f64).collect();
    let m: Vec<f64> = (0..n)
        .map(|i| 17.0 + 0.3 * (i as f64 * 0.7).sin() + 0.001 * (i % 5) as f64)
        .collect();
    let e: Vec<f64> = (0..n).map(|i| 0.02 + 0.001 * (i % 3) as f64).collect();
    let mut scratch = ExtendedScratch::default();
    let mut row = vec![0.0; N_EXTENDED];
    extract_extended(&t, &m, &e, &mut scratch, &mut row).unwrap(); // warm-up
    let before = allocations();
    for k in [n, 90, 3, n] {
        extract_extended(&t[..k], &m[..k], &e[..k], &mut scratch, &mut row).unwrap();
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in warm extract_extended"
    );
    assert!(row.iter().all(|v| v.is_finite()));
}

#[test]
fn warm_transient_fits_do_not_allocate() {
    use tessera::numeric::lightcurve::transient::{self, Unit, TRANSIENT_MODELS};
    let t: Vec<f64> = (0..40).map(|i| 58000.0 + 3.0 * i as f64).collect();
    let m: Vec<f64> = t
        .iter()
        .map(|&x| 19.0 + 0.04 * (x - 58030.0).abs() + 0.05 * (x * 0.37).sin())
        .collect();
    let e = vec![0.05; t.len()];
    let mut s = transient::TransientScratch::default();
    let run = |s: &mut transient::TransientScratch| {
        for model in TRANSIENT_MODELS {
            transient::fit_transient(model, &t, &m, &e, Unit::Mag, s).unwrap();
        }
    };
    run(&mut s);
    let before = allocations();
    run(&mut s);
    assert_eq!(
        allocations() - before,
        0,
        "allocations in warm transient fits"
    );
}

#[test]
fn warm_period_and_bins_features_do_not_allocate() {
    use tessera::numeric::lightcurve::bins::{bins_features, BinsOptions, BinsScratch, BINS};
    use tessera::numeric::lightcurve::period_features::{
        period_features, PhaseScratch, PERIOD_FEATURES_WIDTH,
    };
    let n = 150;
    let t: Vec<f64> = (0..n).map(|i| 58000.0 + 0.37 * i as f64).collect();
    let m: Vec<f64> = t.iter().map(|&x| 17.0 + 0.3 * (x / 0.61).sin()).collect();
    let e = vec![0.02; n];
    let power: Vec<f64> = (0..5000).map(|k| (k as f64 * 0.013).sin().abs()).collect();
    let (mut ps, mut bs) = (PhaseScratch::default(), BinsScratch::default());
    let mut pf = vec![0.0; PERIOD_FEATURES_WIDTH];
    let mut bf = vec![0.0; BINS.len()];
    let opts = BinsOptions::default();
    let mut run = |k: usize| {
        period_features(&power, (&t[..k], &m[..k], &e[..k]), 0.61, &mut ps, &mut pf);
        bins_features(&t[..k], &m[..k], &e[..k], &opts, &mut bs, &mut bf);
    };
    run(n); // warm-up
    let before = allocations();
    for k in [n, 90, 3, n] {
        run(k);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in warm period and bins features"
    );
}
