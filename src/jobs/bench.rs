//! `tessera bench`: throughput measurements printed with their units (job
//! driver layer). Ratios are measured inside one run, so a noisy shared
//! machine shifts both sides of a ratio alike.

use std::time::Instant;

use rayon::prelude::*;

use crate::comm::{even_ranges, Comm};
use crate::config::{parse_count, usage};
use crate::jobs::image::synth::{self, synth_in_memory, SynthImage, SynthKind};
use crate::jobs::image::{self, ImageConfig};
use crate::jobs::mc::{auto_block_size, compute_blocks, McConfig};
use crate::jobs::pool::{build_pool, resolve_threads};
use crate::numeric::conv2d::{
    convolve_region, output_shape, tile_grid, Boundary, ConvMethod, ConvMode, ConvScratch, Real,
    Region, Shape2,
};
use crate::numeric::integrands::Integrand;
use crate::numeric::moments::Moments;
use crate::numeric::montecarlo::McProblem;
use crate::progress::Progress;

/// What `bench mc` was asked for, as given on the command line.
#[derive(Clone, Debug)]
pub struct BenchMcOptions {
    /// Samples per measurement (scientific notation accepted).
    pub samples: String,
    /// Dimension counts to measure.
    pub dims: Vec<usize>,
    /// Repetitions per measurement; the best is reported.
    pub repeat: usize,
    /// Integrand to time.
    pub integrand: String,
}

/// Validated arguments of `bench mc` (usage errors exit 2 before MPI).
pub struct BenchMc {
    samples: u64,
    dims: Vec<usize>,
    repeat: usize,
    integrand: Integrand,
}

impl BenchMc {
    /// Checks the options (usage errors exit 2).
    pub fn new(a: &BenchMcOptions) -> anyhow::Result<BenchMc> {
        let samples = parse_count(&a.samples).filter(|&s| s > 0).ok_or_else(|| {
            usage(format!(
                "--samples '{}': expected a positive whole number such as 4e8",
                a.samples
            ))
        })?;
        let integrand: Integrand = a
            .integrand
            .parse()
            .map_err(|e: String| usage(format!("--integrand: {e}")))?;
        if a.dims.is_empty() || a.dims.iter().any(|&d| d == 0 || d > 1024) {
            return Err(usage(
                "--dims: give dimension counts between 1 and 1024, e.g. --dims 2,10",
            ));
        }
        if integrand == Integrand::Pi && a.dims.iter().any(|&d| d != 2) {
            return Err(usage("--integrand pi is 2-dimensional: use --dims 2"));
        }
        if a.repeat == 0 {
            return Err(usage("--repeat must be at least 1"));
        }
        Ok(BenchMc {
            samples,
            dims: a.dims.clone(),
            repeat: a.repeat,
            integrand,
        })
    }
}

/// Best-of-`repeat` seconds for `cfg.samples` samples spread over the ranks
/// listed in `active` with `threads` threads each; idle ranks sleep.
fn time_mc(
    comm: &impl Comm,
    cfg: &McConfig,
    active: usize,
    threads: usize,
    repeat: usize,
) -> anyhow::Result<f64> {
    let pool = build_pool(threads)?;
    let problem = McProblem::new(cfg.integrand, &cfg.bounds, cfg.seed);
    let ranges = even_ranges(cfg.blocks(), active);
    let no_progress = Progress::off();
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        comm.barrier();
        let t0 = Instant::now();
        if comm.rank() < active {
            let (a, b) = ranges[comm.rank()];
            let ids: Vec<u64> = (a..b).collect();
            let blocks = compute_blocks(cfg, &problem, &pool, &ids, &no_progress, usize::MAX);
            std::hint::black_box(Moments::merge_in_order(&blocks));
        }
        comm.idle_barrier();
        best = best.min(t0.elapsed().as_secs_f64());
    }
    // rank 0's clock decides; share it so every rank agrees
    let mut bits = [best.to_bits()];
    comm.broadcast_u64(&mut bits);
    Ok(f64::from_bits(bits[0]))
}

/// `tessera bench mc`: M samples/s, per core, for each dimension count on
/// 1 rank x 1 thread, all ranks x 1 thread and all ranks x all threads.
pub fn mc(b: &BenchMc, comm: &impl Comm) -> anyhow::Result<()> {
    let size = comm.size();
    let threads = resolve_threads(0, comm.node_size());
    let say = |s: String| {
        if comm.rank() == 0 {
            println!("{s}");
        }
    };
    say(format!(
        "bench mc: integrand {}, f64, {} samples per measurement, best of {}; {} ranks, {} threads per rank available",
        b.integrand, b.samples, b.repeat, size, threads
    ));
    let mut headline = Vec::new();
    for &dims in &b.dims {
        let cfg = McConfig {
            integrand: b.integrand,
            bounds: vec![(0.0, 1.0); dims],
            samples: b.samples,
            seed: 1,
            block_size: auto_block_size(b.samples),
            threads: 1,
            out: "unused.h5".into(),
            backend: crate::gpu::Backend::Cpu,
            resume: false,
            progress_interval: 0.0,
        };
        let rate = |secs: f64| b.samples as f64 / secs / 1e6;
        let t1 = time_mc(comm, &cfg, 1, 1, b.repeat)?;
        let per_core = rate(t1);
        say(format!(
            "n={dims:<3} 1 rank  x 1 thread : {:9.1} M samples/s = {per_core:7.1} M samples/s/core",
            rate(t1)
        ));
        if size > 1 {
            let tn = time_mc(comm, &cfg, size, 1, b.repeat)?;
            say(format!(
                "n={dims:<3} {size} ranks x 1 thread : {:9.1} M samples/s = {:7.1} M samples/s/core; speed-up over 1 rank {:.3} (efficiency {:.1}%)",
                rate(tn),
                rate(tn) / size as f64,
                t1 / tn,
                100.0 * t1 / tn / size as f64
            ));
        }
        if threads > 1 {
            let tt = time_mc(comm, &cfg, size, threads, b.repeat)?;
            let cores = size * threads;
            say(format!(
                "n={dims:<3} {size} rank{} x {threads} threads: {:9.1} M samples/s = {:7.1} M samples/s/core; speed-up over 1 core {:.3}",
                if size == 1 { " " } else { "s" },
                rate(tt),
                rate(tt) / cores as f64,
                t1 / tt
            ));
        }
        headline.push(format!("n={dims}: {per_core:.1}"));
    }
    say(format!(
        "mc f64 per core (1 rank x 1 thread): {} M samples/s/core",
        headline.join(", ")
    ));
    Ok(())
}

/// What `bench lightcurves` measures.
#[derive(Clone, Debug)]
pub struct BenchLcOptions {
    /// Curves per measurement.
    pub curves: usize,
    /// Points per curve.
    pub points: usize,
    /// Frequencies per periodogram.
    pub frequencies: usize,
    /// Repetitions; the fastest is reported.
    pub repeat: usize,
    /// A tessera HDF5 light-curve file whose first `curves` objects (their
    /// first band) are timed on the default frequency grid, instead of
    /// synthetic curves on a grid of `frequencies`.
    pub input: Option<std::path::PathBuf>,
}

/// `tessera bench lightcurves`: single-thread milliseconds per curve for
/// the periodogram alone and for the feature row with and without the
/// slower parts (refinement, structure functions).
pub fn lightcurves(a: &BenchLcOptions, comm: &impl Comm) -> anyhow::Result<()> {
    use crate::jobs::lightcurves::LcConfig;
    use crate::numeric::lightcurve::object::{process_single, ObjectOptions, ObjectScratch};
    use crate::numeric::periodogram::{
        autofrequency, lomb_scargle, LombScargleScratch, PeriodogramMethod,
    };
    use crate::numeric::synth::{synth_curve, SynthCurve, SynthParams};
    if comm.rank() != 0 {
        return Ok(());
    }
    if a.curves == 0 || a.points < 5 || a.frequencies < 10 || a.repeat == 0 {
        return Err(usage(
            "bench lightcurves: need --curves >= 1, --points >= 5, --frequencies >= 10, --repeat >= 1",
        ));
    }
    let baseline = 1000.0;
    let mut l = crate::config::Layered::default();
    l.set("input", toml::Value::String("unused".into()), "bench");
    let curves: Vec<SynthCurve> = match &a.input {
        None => {
            let p = SynthParams {
                seed: 42,
                bands: vec!["g".into()],
                epochs: a.points,
                baseline,
                season_fraction: 1.0,
                ..Default::default()
            };
            // a band of frequencies 2 c/d wide starting at 0.1 c/d gives ~frequencies points at 5 samples per peak
            let spp = a.frequencies as f64 / (2.0 * baseline);
            l.set("samples_per_peak", toml::Value::Float(spp), "bench");
            l.set("min_period", toml::Value::Float(1.0 / 2.1), "bench");
            l.set("max_period", toml::Value::Float(10.0), "bench");
            (0..a.curves as u64).map(|i| synth_curve(&p, i)).collect()
        }
        Some(path) => first_bands(path, a.curves)?,
    };
    let full = LcConfig::from_layered(&l)?.object;
    // everything below runs on this one thread: per-curve work has no rayon inside
    // the fastest of `repeat` passes over all curves
    let time_per_curve = |f: &dyn Fn(&crate::numeric::synth::SynthCurve)| -> f64 {
        let mut best = f64::INFINITY;
        for _ in 0..a.repeat {
            let t0 = Instant::now();
            for c in &curves {
                f(c);
            }
            best = best.min(t0.elapsed().as_secs_f64() * 1e3 / curves.len() as f64);
        }
        best
    };
    let mut nf = 0usize;
    for c in &curves {
        nf += autofrequency(&c.time, &full.grid).map_or(0, |g| g.n);
    }
    let nf = nf / curves.len();
    let points = curves.iter().map(|c| c.time.len()).sum::<usize>() / curves.len().max(1);
    match &a.input {
        None => println!(
            "bench lightcurves: {} synthetic curves x {points} points (1 band), mean {nf} frequencies, 1 thread, best of {}",
            curves.len(),
            a.repeat
        ),
        Some(p) => println!(
            "bench lightcurves: {} curves of {} (first band), mean {points} points, default grid: mean {nf} frequencies, 1 thread, best of {}",
            curves.len(),
            p.display(),
            a.repeat
        ),
    }
    for (name, method) in [
        ("fast (NUFFT)", PeriodogramMethod::Fast),
        ("direct (exact)", PeriodogramMethod::Direct),
    ] {
        let ws = std::cell::RefCell::new(LombScargleScratch::default());
        let power = std::cell::RefCell::new(Vec::new());
        let ms = time_per_curve(&|c| {
            let g = autofrequency(&c.time, &full.grid).expect("grid");
            let mut power = power.borrow_mut();
            power.resize(g.n, 0.0);
            let ok = lomb_scargle(
                &c.time,
                &c.mag,
                Some(&c.err),
                &g,
                method,
                &mut ws.borrow_mut(),
                &mut power,
            );
            std::hint::black_box(ok);
        });
        println!("periodogram {name:<15}: {ms:8.3} ms/curve");
    }
    {
        use crate::numeric::lightcurve::pipeline;
        let scratch = std::cell::RefCell::new(pipeline::PipelineScratch::default());
        let out = std::cell::RefCell::new(vec![0.0; pipeline::row_width()]);
        let ms = time_per_curve(&|c| {
            let r = pipeline::process(
                &c.time,
                &c.mag,
                &c.err,
                &full.clean,
                &mut scratch.borrow_mut(),
                &mut out.borrow_mut(),
            );
            std::hint::black_box(r.is_ok());
        });
        println!("cleaning + 39 features       : {ms:8.3} ms/curve");
    }
    {
        // the two costly steps of a row alone, on the plain periodogram's power
        use crate::numeric::lightcurve::sf::{
            build_pairs, fit_pairs, SfModel, SfOptions, SfScratch,
        };
        use crate::numeric::periodogram::{refine_period, HarmonicScratch};
        let ws = std::cell::RefCell::new(LombScargleScratch::default());
        let harm = std::cell::RefCell::new(HarmonicScratch::default());
        let power = std::cell::RefCell::new(Vec::new());
        let powers: Vec<(crate::numeric::periodogram::FreqGrid, Vec<f64>)> = curves
            .iter()
            .map(|c| {
                let g = autofrequency(&c.time, &full.grid).expect("grid");
                let mut p = power.borrow_mut();
                p.resize(g.n, 0.0);
                lomb_scargle(
                    &c.time,
                    &c.mag,
                    Some(&c.err),
                    &g,
                    PeriodogramMethod::Fast,
                    &mut ws.borrow_mut(),
                    &mut p,
                );
                (g, p.clone())
            })
            .collect();
        let zeros = vec![0u8; curves.iter().map(|c| c.time.len()).max().unwrap_or(0)];
        let next = std::cell::Cell::new(0usize);
        let ms = time_per_curve(&|c| {
            let (g, p) = &powers[next.get()];
            next.set((next.get() + 1) % powers.len());
            let r = refine_period(
                &c.time,
                &c.mag,
                Some(&c.err),
                &zeros[..c.time.len()],
                1,
                g,
                p,
                &full.refine,
                &mut harm.borrow_mut(),
            );
            std::hint::black_box(r);
        });
        println!(
            "period refinement (top-{} peaks and aliases): {ms:8.3} ms/curve",
            full.refine.top_k
        );
        let sf = std::cell::RefCell::new(SfScratch::default());
        let evals = std::cell::Cell::new(0usize);
        let singles = std::cell::Cell::new(0usize);
        let ms = time_per_curve(&|c| {
            let mut sf = sf.borrow_mut();
            if build_pairs(&c.time, &c.mag, &c.err, &mut sf).is_ok() {
                for model in [SfModel::PowerLaw, SfModel::Drw] {
                    if let Ok(f) = fit_pairs(model, &SfOptions::default(), &mut sf) {
                        evals.set(evals.get() + f.evaluations);
                        singles.set(singles.get() + f.passes_f32);
                    }
                }
            }
        });
        println!(
            "structure-function fits (both models, {} pairs, mean {:.1} single- and {:.1} double-precision passes per fit): {ms:8.3} ms/curve",
            points * (points - 1) / 2,
            singles.get() as f64 / (2 * curves.len() * a.repeat) as f64,
            evals.get() as f64 / (2 * curves.len() * a.repeat) as f64
        );
    }
    dmdt_and_rainbow(&curves, &time_per_curve);
    let row = |cfg: &ObjectOptions| {
        let ws = std::cell::RefCell::new(ObjectScratch::default());
        let one = |c: &SynthCurve| {
            std::hint::black_box(process_single(
                cfg,
                &c.time,
                &c.mag,
                &c.err,
                &mut ws.borrow_mut(),
            ));
        };
        // a slow group (box least squares on long baselines, transient fits)
        // is timed on as many curves as take about 2 s (at least one)
        let t0 = Instant::now();
        curves[..1].iter().for_each(one);
        let each = t0.elapsed().as_secs_f64();
        let n = ((2.0 / each.max(1e-9)) as usize).clamp(1, curves.len());
        let mut best = f64::INFINITY;
        for _ in 0..a.repeat {
            let t0 = Instant::now();
            curves[..n].iter().for_each(one);
            best = best.min(t0.elapsed().as_secs_f64() * 1e3 / n as f64);
        }
        (best, n)
    };
    groups_alone(&full, &row, curves.len());
    Ok(())
}

/// Work done on one curve, as the benchmark's timer takes it.
type PerCurve<'a> = &'a dyn Fn(&crate::numeric::synth::SynthCurve);

/// Prints the time of a dm-dt map of each curve (the default grid, `points`
/// and `gausses`) and of a Rainbow fit of a two-band supernova simulated on
/// each curve's epochs (alternate points in g and r, 2 % noise).
fn dmdt_and_rainbow(
    curves: &[crate::numeric::synth::SynthCurve],
    time_per_curve: &dyn Fn(PerCurve) -> f64,
) {
    use crate::numeric::lightcurve::dmdt::{
        dmdt_map, DmDtGrid, DmDtMode, DmDtNorm, DmDtOptions, DmDtPlan, DmDtScratch,
    };
    use crate::numeric::lightcurve::transient::rainbow::{
        fit_rainbow, rainbow_model, RainbowCurve, RainbowScratch,
    };
    use crate::numeric::lightcurve::transient::Unit;
    for (label, mode) in [("points", DmDtMode::Points), ("gausses", DmDtMode::Gausses)] {
        let plan = DmDtPlan::new(DmDtOptions {
            grid: DmDtGrid::default(),
            mode,
            norm: DmDtNorm::default(),
        })
        .expect("the default grid");
        let ws = std::cell::RefCell::new(DmDtScratch::default());
        let out = std::cell::RefCell::new(vec![0.0; plan.width()]);
        let ms = time_per_curve(&|c| {
            let ok = dmdt_map(
                &plan,
                &c.time,
                &c.mag,
                &c.err,
                &mut ws.borrow_mut(),
                &mut out.borrow_mut(),
            );
            std::hint::black_box(ok);
        });
        println!("dm-dt map ({label:<7}, 32 x 32) : {ms:8.3} ms/curve");
    }
    // a supernova peaking a fifth into each curve's span
    let waves = [4770.0, 6231.0];
    let sims: Vec<(Vec<f64>, Vec<f64>, Vec<u8>)> = curves
        .iter()
        .map(|c| {
            let (t0, t1) = (c.time[0], c.time[c.time.len() - 1]);
            let span = t1 - t0;
            let p = [
                t0 + 0.2 * span,
                100.0,
                0.02 * span,
                0.1 * span,
                12000.0,
                0.4,
                0.05 * span,
            ];
            let band: Vec<u8> = (0..c.time.len()).map(|i| (i % 2) as u8).collect();
            let y: Vec<f64> = c
                .time
                .iter()
                .zip(&band)
                .enumerate()
                .map(|(i, (&t, &b))| {
                    let f = rainbow_model(t, waves[b as usize], 5500.5, &p);
                    f * (1.0 + 0.02 * (1.7 * i as f64).sin()) + 1.0
                })
                .collect();
            let dy = y.iter().map(|v| 0.02 * v.abs() + 0.5).collect();
            (y, dy, band)
        })
        .collect();
    let ws = std::cell::RefCell::new(RainbowScratch::default());
    let next = std::cell::Cell::new(0usize);
    let ms = time_per_curve(&|c| {
        let (y, dy, band) = &sims[next.get()];
        next.set((next.get() + 1) % sims.len());
        let mut base = [0.0; 4];
        let curve = RainbowCurve {
            t: &c.time,
            y,
            dy,
            band,
            wavelengths: &waves,
            unit: Unit::Flux,
        };
        std::hint::black_box(fit_rainbow(curve, &mut ws.borrow_mut(), &mut base).is_ok());
    });
    println!("rainbow fit (simulated SN, g + r): {ms:8.3} ms/curve");
}

/// Prints the time of the basic columns alone, of each group and period
/// method added to them (and what it adds), and of the default row.
fn groups_alone(
    full: &ObjectOptionsRef,
    row: &dyn Fn(&ObjectOptionsRef) -> (f64, usize),
    curves: usize,
) {
    use crate::numeric::lightcurve::columns::{
        Groups, Methods, DEFAULT_GROUPS, GROUP_NAMES, METHOD_NAMES,
    };
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let with = |groups: &[&str], methods: &[&str]| {
        let mut o = full.clone();
        o.groups = Groups::parse(&names(groups)).expect("a group");
        o.methods = Methods::parse(&names(methods)).expect("a method");
        o
    };
    let (basic, _) = row(&with(&["basic"], &[]));
    let on = |n: usize| {
        if n < curves {
            format!(" [on the first {n} curves]")
        } else {
            String::new()
        }
    };
    println!("feature groups, 1 thread (each group alone with the basic columns, and what it adds to them):");
    println!(
        "  {:<34}: {basic:9.3} ms/curve",
        "basic (clean + 39 features)"
    );
    for (label, g, m) in [
        ("+ extended", &["extended"][..], &[][..]),
        (
            "+ periodic: gls (with refinement)",
            &["periodic"][..],
            &["gls"][..],
        ),
        ("+ periodic: bls", &["periodic"][..], &["bls"][..]),
        ("+ periodic: pdm", &["periodic"][..], &["pdm"][..]),
        ("+ periodic: ce", &["periodic"][..], &["ce"][..]),
        ("+ periodic: mharm", &["periodic"][..], &["mharm"][..]),
        (
            "+ periodic: gls + period_features",
            &["periodic", "period_features"][..],
            &["gls"][..],
        ),
        ("+ bins", &["bins"][..], &[][..]),
        ("+ structure_function", &["structure_function"][..], &[][..]),
        ("+ transient", &["transient"][..], &[][..]),
    ] {
        let (ms, n) = row(&with(g, m));
        println!(
            "  {label:<34}: {ms:9.3} ms/curve (+{:.3}){}",
            ms - basic,
            on(n)
        );
    }
    let mut everything = with(&GROUP_NAMES, &METHOD_NAMES);
    everything.groups = Groups::ALL;
    let (ms, n) = row(&everything);
    println!(
        "  {:<34}: {ms:9.3} ms/curve{}",
        "every group and period method",
        on(n)
    );
    let (ms, _) = row(&with(&DEFAULT_GROUPS, &["gls"]));
    println!(
        "  {:<34}: {ms:9.3} ms/curve = {:.0} curves/s/core",
        format!("default row ({})", DEFAULT_GROUPS.join(",")),
        1e3 / ms
    );
    let mut unrefined = with(&DEFAULT_GROUPS, &["gls"]);
    unrefined.refine.top_k = 0;
    let (ms, _) = row(&unrefined);
    println!(
        "  {:<34}: {ms:9.3} ms/curve = {:.0} curves/s/core",
        "default row, refine_peaks = 0",
        1e3 / ms
    );
}

type ObjectOptionsRef = crate::numeric::lightcurve::object::ObjectOptions;

/// The first band of the first `n` objects of a tessera HDF5 file, as
/// curves for the light-curve benchmark.
fn first_bands(
    path: &std::path::Path,
    n: usize,
) -> anyhow::Result<Vec<crate::numeric::synth::SynthCurve>> {
    let f = crate::io::lcfile::LcFile::open(path)?;
    let objects = f.object_ids()?.len().min(n);
    let r = f.read_objects(0, objects)?;
    Ok((0..objects)
        .map(|i| {
            let mut c = crate::numeric::synth::SynthCurve::default();
            for k in r.range(i) {
                if r.band[k] == 0 {
                    c.time.push(r.time[k]);
                    c.mag.push(r.mag[k]);
                    c.err.push(r.err[k]);
                    c.band.push(0);
                }
            }
            c
        })
        .collect())
}

/// What `bench gpu` measures.
#[derive(Clone, Debug)]
pub struct BenchGpuOptions {
    /// Monte Carlo samples (scientific notation accepted).
    pub samples: String,
    /// Light curves in the Lomb-Scargle batch.
    pub curves: usize,
    /// Image side of the convolution.
    pub image: usize,
    /// Kernel side of the convolution.
    pub kernel: usize,
    /// Repetitions; the best is reported.
    pub repeat: usize,
}

/// `tessera bench gpu`: GPU throughput on one device (no MPI). Every
/// figure is the best of `repeat` runs and printed with its unit.
pub fn gpu(a: &BenchGpuOptions) -> anyhow::Result<()> {
    use crate::gpu::conv::{convolve_padded_gpu, PaddedShape};
    use crate::gpu::lombscargle::{lomb_scargle_batch_gpu, LightCurveBatch};
    use crate::gpu::{resolve_backend, Backend, GpuDevice};
    use crate::numeric::periodogram::FreqGrid;

    let samples = parse_count(&a.samples).filter(|&s| s > 0).ok_or_else(|| {
        usage(format!(
            "--samples '{}': expected a positive whole number",
            a.samples
        ))
    })?;
    if a.repeat == 0 || a.curves == 0 || a.image == 0 || a.kernel == 0 {
        return Err(usage(
            "--repeat, --curves, --image and --kernel must be at least 1",
        ));
    }
    resolve_backend(Backend::Gpu).map_err(usage)?;
    let dev = GpuDevice::for_rank(0, 1)?;
    println!("bench gpu: {}", dev.describe());
    let best = |f: &mut dyn FnMut() -> anyhow::Result<f64>| -> anyhow::Result<f64> {
        let mut b = f64::INFINITY;
        for _ in 0..a.repeat {
            b = b.min(f()?);
        }
        Ok(b)
    };

    // Monte Carlo, norm2 in 2 dimensions, f64 sums (one warm-up compiles the kernel)
    let problem = McProblem::new(Integrand::Norm2, &[(0.0, 1.0); 2], 1);
    let bs = auto_block_size(samples);
    let blocks = samples.div_ceil(bs);
    crate::gpu::mc::block_moments_gpu(&dev, &problem, bs, samples.min(bs), 0, 1, |_| {})?;
    let secs = best(&mut || {
        let t0 = Instant::now();
        let m = crate::gpu::mc::block_moments_gpu(&dev, &problem, bs, samples, 0, blocks, |_| {})?;
        std::hint::black_box(Moments::merge_in_order(&m));
        Ok(t0.elapsed().as_secs_f64())
    })?;
    println!(
        "mc n=2 norm2 f64: {samples} samples in {secs:.3} s = {:.1} G samples/s",
        samples as f64 / secs / 1e9
    );

    // Lomb-Scargle: curves of 200 points, 1e4 frequencies each
    let mut batch = LightCurveBatch {
        offsets: vec![0],
        ..Default::default()
    };
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut u = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..a.curves {
        let mut t: Vec<f64> = (0..200).map(|_| 58_000.0 + 1000.0 * u()).collect();
        t.sort_by(f64::total_cmp);
        for &x in &t {
            batch.y.push(10.0 + (x / 0.7).sin() + 0.1 * u());
            batch.dy.push(0.05 + 0.05 * u());
        }
        batch.t.extend(t);
        batch.offsets.push(batch.t.len());
        batch.grids.push(FreqGrid {
            f0: 0.001,
            df: 0.0005,
            n: 10_000,
        });
    }
    for precision in ["f64", "f32"] {
        let run = |b: &LightCurveBatch| match precision {
            "f64" => lomb_scargle_batch_gpu::<f64>(&dev, b),
            _ => lomb_scargle_batch_gpu::<f32>(&dev, b),
        };
        run(&batch)?;
        let secs = best(&mut || {
            let t0 = Instant::now();
            std::hint::black_box(run(&batch)?);
            Ok(t0.elapsed().as_secs_f64())
        })?;
        println!(
            "lomb-scargle {precision}: {} curves x 200 points x 1e4 frequencies in {secs:.3} s = {:.0} light curves/s (host preparation and transfers included)",
            a.curves,
            a.curves as f64 / secs
        );
    }

    // 2-D convolution of an image x image tile, kernel x kernel, 'same', zero boundary
    let shape = PaddedShape {
        rows: a.image,
        cols: a.image,
        kh: a.kernel,
        kw: a.kernel,
    };
    let ext: Vec<f64> = (0..shape.ext_rows() * shape.ext_cols())
        .map(|i| ((i % 1013) as f64) * 1e-3)
        .collect();
    let kern: Vec<f64> = (0..a.kernel * a.kernel)
        .map(|i| 1.0 / (1 + i) as f64)
        .collect();
    let ext32: Vec<f32> = ext.iter().map(|&x| x as f32).collect();
    let kern32: Vec<f32> = kern.iter().map(|&x| x as f32).collect();
    for precision in ["f64", "f32"] {
        let run = || match precision {
            "f64" => convolve_padded_gpu(&dev, &ext, &kern, shape).map(|(_, t)| t),
            _ => convolve_padded_gpu(&dev, &ext32, &kern32, shape).map(|(_, t)| t),
        };
        run()?;
        let mut best_t = None::<crate::gpu::conv::ConvTimings>;
        for _ in 0..a.repeat {
            let t = run()?;
            if best_t.is_none_or(|b| t.kernel < b.kernel) {
                best_t = Some(t);
            }
        }
        let t = best_t.expect("repeat >= 1");
        println!(
            "conv2d {precision} {}x{} image, {}x{} kernel: kernel {:.2} ms, host-to-device {:.2} ms, device-to-host {:.2} ms ({} strip{}, {} memory)",
            a.image,
            a.image,
            a.kernel,
            a.kernel,
            1e3 * t.kernel,
            1e3 * t.h2d,
            1e3 * t.d2h,
            t.strips,
            if t.strips == 1 { "" } else { "s" },
            if t.shared_memory { "shared" } else { "global" }
        );
    }
    Ok(())
}

/// What `bench image` was asked for, as given on the command line.
#[derive(Clone, Debug)]
pub struct BenchImageOptions {
    /// Image edge (the deltas image, square).
    pub size: usize,
    /// Kernel spec.
    pub kernel: String,
    /// Tile edge.
    pub tile: usize,
    /// auto, direct or fft.
    pub method: String,
    /// Repetitions per measurement; the best is reported.
    pub repeat: usize,
    /// Directory for the temporary files. [default: the system's]
    pub dir: Option<std::path::PathBuf>,
}

/// Validated arguments of `bench image`.
pub struct BenchImage {
    size: usize,
    kernel_spec: String,
    tile: usize,
    method: ConvMethod,
    repeat: usize,
    dir: std::path::PathBuf,
}

impl BenchImage {
    /// Checks the options (usage errors exit 2).
    pub fn new(a: &BenchImageOptions) -> anyhow::Result<BenchImage> {
        if a.size == 0 || a.size > 1 << 16 {
            return Err(usage("--size: between 1 and 65536"));
        }
        image::parse_kernel(&a.kernel, false)?;
        if a.tile == 0 {
            return Err(usage("--tile must be at least 1"));
        }
        let method = match a.method.as_str() {
            "auto" => ConvMethod::Auto,
            "direct" => ConvMethod::Direct,
            "fft" => ConvMethod::Fft,
            m => return Err(usage(format!("--method '{m}': auto, direct or fft"))),
        };
        if a.repeat == 0 {
            return Err(usage("--repeat must be at least 1"));
        }
        let dir = a.dir.clone().unwrap_or_else(std::env::temp_dir);
        if !dir.is_dir() {
            return Err(usage(format!(
                "--dir '{}' is not a directory",
                dir.display()
            )));
        }
        Ok(BenchImage {
            size: a.size,
            kernel_spec: a.kernel.clone(),
            tile: a.tile,
            method,
            repeat: a.repeat,
            dir,
        })
    }
}

/// Best-of-`repeat` seconds of the in-memory tiled convolution (mode same,
/// zero fill) of the deltas image on `threads` threads, and the method used.
fn time_convolution<T: Real + Send + Sync>(
    b: &BenchImage,
    threads: usize,
) -> anyhow::Result<(f64, ConvMethod)> {
    let ishape = Shape2::new(b.size, b.size);
    let img = synth_in_memory::<T>(SynthKind::Deltas, 0, b.size, b.size);
    let k = image::parse_kernel(&b.kernel_spec, false)?;
    let kernel: Vec<T> = k.data.iter().map(|&v| T::of_f64(v)).collect();
    let oshape = output_shape(ishape, k.shape, ConvMode::Same)?;
    let tiles = tile_grid(oshape, b.tile, b.tile);
    let pool = build_pool(threads)?;
    let run = || -> Vec<ConvMethod> {
        pool.install(|| {
            tiles
                .par_iter()
                .map_init(ConvScratch::<T>::new, |ws, &t| {
                    let mut out = vec![T::zero(); t.len()];
                    let m = convolve_region(
                        &img,
                        Region::whole(ishape),
                        ishape,
                        &kernel,
                        k.shape,
                        ConvMode::Same,
                        Boundary::Zero,
                        t,
                        &mut out,
                        b.method,
                        ws,
                    )
                    .expect("valid tile");
                    std::hint::black_box(&out);
                    m
                })
                .collect()
        })
    };
    // a first, uncounted round faults the pages in
    let used = run()[0];
    let mut best = f64::INFINITY;
    for _ in 0..b.repeat {
        let t0 = Instant::now();
        std::hint::black_box(run());
        best = best.min(t0.elapsed().as_secs_f64());
    }
    Ok((best, used))
}

/// Best-of-`repeat` wall seconds of `tessera image` on the deltas image,
/// reading and writing HDF5 (all ranks take part), and rank 0's compute phase.
fn time_whole_run(b: &BenchImage, comm: &impl Comm, dtype: &str) -> anyhow::Result<(f64, f64)> {
    let tag = format!("tessera-bench-image-{}-{dtype}", std::process::id());
    let mut pid = [u64::from(std::process::id())];
    comm.broadcast_u64(&mut pid);
    let tag = format!("{tag}-{}", pid[0]);
    let input = b.dir.join(format!("{tag}-in.h5"));
    let out = b.dir.join(format!("{tag}-out.h5"));
    let made = if comm.rank() == 0 {
        synth::synth(&SynthImage {
            kind: SynthKind::Deltas,
            rows: b.size,
            cols: b.size,
            dtype: dtype.into(),
            seed: 0,
            out: input.clone(),
            dataset: "/image".into(),
            fits: false,
        })
    } else {
        Ok(())
    };
    comm.agree(made)?;
    let mut l = crate::config::Layered::default();
    let sv = |v: &str| toml::Value::String(v.into());
    l.set("input", sv(&input.display().to_string()), "bench");
    l.set("kernel", sv(&b.kernel_spec), "bench");
    l.set("method", sv(image::method_name(b.method)), "bench");
    l.set("tile", toml::Value::Integer(b.tile as i64), "bench");
    l.set("out", sv(&out.display().to_string()), "bench");
    let cfg = ImageConfig::from_layered(&l)?;
    let (mut best, mut compute) = (f64::INFINITY, 0.0);
    for _ in 0..b.repeat {
        comm.barrier();
        let t0 = Instant::now();
        let report = image::run_job(&cfg, comm, 0.0, "tessera bench image")?;
        comm.barrier();
        let dt = t0.elapsed().as_secs_f64();
        if let Some(r) = report {
            if dt < best {
                best = dt;
                compute = r.timing_rows[0][crate::timings::Phase::Compute as usize];
            }
        }
    }
    if comm.rank() == 0 {
        let _ = std::fs::remove_file(&input);
        let _ = std::fs::remove_file(&out);
    }
    let mut bits = [best.to_bits(), f64::to_bits(compute)];
    comm.broadcast_u64(&mut bits);
    Ok((f64::from_bits(bits[0]), f64::from_bits(bits[1])))
}

/// `tessera bench image`: seconds of the convolution alone (1 thread and all
/// threads) and of the whole `tessera image` run with HDF5, in f64 and f32.
pub fn image(b: &BenchImage, comm: &impl Comm) -> anyhow::Result<()> {
    let threads = resolve_threads(0, comm.node_size());
    let say = |s: String| {
        if comm.rank() == 0 {
            println!("{s}");
        }
    };
    say(format!(
        "bench image: deltas {n} x {n}, kernel {}, mode same, boundary zero, tiles of {}, method {}, best of {}; {} ranks, {} threads per rank",
        b.kernel_spec,
        b.tile,
        image::method_name(b.method),
        b.repeat,
        comm.size(),
        threads,
        n = b.size
    ));
    let mut conv = Vec::new();
    for dtype in ["f64", "f32"] {
        // convolution only: rank 0 times, the others wait
        let mut times = [0.0f64; 2];
        let mut used = ConvMethod::Auto;
        if comm.rank() == 0 {
            for (i, t) in [1, threads].into_iter().enumerate() {
                let (secs, m) = if dtype == "f64" {
                    time_convolution::<f64>(b, t)?
                } else {
                    time_convolution::<f32>(b, t)?
                };
                times[i] = secs;
                used = m;
            }
        }
        comm.idle_barrier();
        say(format!(
            "{dtype} convolution only ({}): 1 thread {:.4} s, {threads} threads {:.4} s (speed-up {:.2}); {:.1} Mpixel/s",
            image::method_name(used),
            times[0],
            times[1],
            times[0] / times[1],
            (b.size * b.size) as f64 / times[1] / 1e6
        ));
        let (whole, compute) = time_whole_run(b, comm, dtype)?;
        say(format!(
            "{dtype} whole run incl. HDF5 read + write: {whole:.4} s (compute phase {compute:.4} s)"
        ));
        conv.push((dtype, times[1], whole));
    }
    say(format!(
        "image {n}x{n} {}: convolution only {}; whole run incl. HDF5 {} (seconds, {threads} threads)",
        b.kernel_spec,
        conv.iter().map(|(d, c, _)| format!("{d} {c:.4} s")).collect::<Vec<_>>().join(", "),
        conv.iter().map(|(d, _, w)| format!("{d} {w:.4} s")).collect::<Vec<_>>().join(", "),
        n = b.size
    ));
    Ok(())
}
