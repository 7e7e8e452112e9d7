//! `tessera bench`: throughput measurements printed with their units (job
//! driver layer). Ratios are measured inside one run, so a noisy shared
//! machine shifts both sides of a ratio alike.

use std::time::Instant;

use rayon::prelude::*;

use crate::cli::{BenchImageArgs, BenchMcArgs};
use crate::comm::{even_ranges, Comm};
use crate::config::{parse_count, usage};
use crate::jobs::image::{self, ImageConfig, SynthImage, SynthKind};
use crate::jobs::mc::{auto_block_size, build_pool, compute_blocks, resolve_threads, McConfig};
use crate::log::Progress;
use crate::numeric::conv2d::{
    convolve_region, output_shape, tile_grid, Boundary, Method, Mode, Real, Region, Shape2,
    Workspace,
};
use crate::numeric::integrands::Integrand;
use crate::numeric::moments::Moments;
use crate::numeric::montecarlo::McProblem;

/// Validated arguments of `bench mc` (usage errors exit 2 before MPI).
pub struct BenchMc {
    samples: u64,
    dims: Vec<usize>,
    repeat: usize,
    integrand: Integrand,
}

impl BenchMc {
    pub fn from_args(a: &BenchMcArgs) -> anyhow::Result<BenchMc> {
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
    let no_progress = Progress::new(1, 0, "");
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        comm.barrier();
        let t0 = Instant::now();
        if comm.rank() < active {
            let (a, b) = ranges[comm.rank()];
            let blocks = compute_blocks(cfg, &problem, &pool, a, b, &no_progress, usize::MAX);
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

/// Validated arguments of `bench image`.
pub struct BenchImage {
    size: usize,
    kernel_spec: String,
    tile: usize,
    method: Method,
    repeat: usize,
    dir: std::path::PathBuf,
}

impl BenchImage {
    pub fn from_args(a: &BenchImageArgs) -> anyhow::Result<BenchImage> {
        if a.size == 0 || a.size > 1 << 16 {
            return Err(usage("--size: between 1 and 65536"));
        }
        image::parse_kernel(&a.kernel, false)?;
        if a.tile == 0 {
            return Err(usage("--tile must be at least 1"));
        }
        let method = match a.method.as_str() {
            "auto" => Method::Auto,
            "direct" => Method::Direct,
            "fft" => Method::Fft,
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
) -> anyhow::Result<(f64, Method)> {
    let ishape = Shape2::new(b.size, b.size);
    let img = image::synth_in_memory::<T>(SynthKind::Deltas, 0, b.size, b.size);
    let k = image::parse_kernel(&b.kernel_spec, false)?;
    let kernel: Vec<T> = k.data.iter().map(|&v| T::of_f64(v)).collect();
    let oshape = output_shape(ishape, k.shape, Mode::Same)?;
    let tiles = tile_grid(oshape, b.tile, b.tile);
    let pool = build_pool(threads)?;
    let run = || -> Vec<Method> {
        pool.install(|| {
            tiles
                .par_iter()
                .map_init(Workspace::<T>::new, |ws, &t| {
                    let mut out = vec![T::zero(); t.len()];
                    let m = convolve_region(
                        &img,
                        Region::whole(ishape),
                        ishape,
                        &kernel,
                        k.shape,
                        Mode::Same,
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
        image::synth(&SynthImage {
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
        let mut used = Method::Auto;
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
