//! The image convolution job (`tessera image`) and `synth image`: job-driver
//! layer where tiled convolution, rayon, MPI and parallel HDF5 meet.
//!
//! The output image (scipy's full, same or valid shape) is cut into fixed
//! row-major tiles, independent of ranks and threads. Rank 0 scatters
//! contiguous tile ranges; each rank reads each tile's input window (tile plus
//! kernel halo), convolves a batch with rayon and writes hyperslabs of
//! `/convolved` through MPI-IO. Per-tile statistics are merged on rank 0 in
//! tile order, so `/convolved` and `/stats` are bit-identical for any ranks
//! and threads (and, with the direct method, any tile size). Rank 0 then adds
//! `/stats`, `/kernel`, `/provenance` and `/timings` serially and renames the
//! file into place.

pub mod config;
pub mod fits_output;
pub mod input;
pub mod synth;
mod tiles;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use hdf5::H5Type;
use ndarray::{s, ArrayView2};

use crate::comm::{even_ranges, Comm, Coordinated};
use crate::config::usage;
use crate::gpu::conv::{convolve_padded_gpu, ConvReal, ConvTimings};
use crate::gpu::{GpuDevice, Resolved};
use crate::io::checkpoint::{Checkpoint, Manifest};
use crate::io::output::{self, ParallelH5, Provenance};
use crate::jobs::pool::{build_pool, resolve_threads};
use crate::numeric::conv2d::{
    input_window, output_shape, tile_grid, ConvMethod, Real, Region, Shape2,
};
use crate::numeric::pixel_stats::PixelStats;
use crate::progress::{Aggregation, Progress};
use crate::say0;
use crate::timings::{Phase, PhaseTimer};

pub use config::{boundary_name, method_name, mode_name, parse_kernel, ImageConfig};
pub use input::{InputImage, PixelType};
use tiles::{convolve_batch, convolve_batch_padded, method_code, GPU_DIRECT};

/// What `run_job` returns on rank 0: enough for the summary and the bench.
#[derive(Clone, Debug)]
pub struct ImageReport {
    /// The output file, renamed into place.
    pub path: PathBuf,
    /// Input image shape.
    pub input: Shape2,
    /// Output image shape (`/convolved`).
    pub output: Shape2,
    /// Pixel type of the input and of `/convolved`.
    pub pixel: PixelType,
    /// Statistics of `/convolved` over its non-NaN pixels (`/stats`).
    pub stats: PixelStats,
    /// Method the tiles actually used, e.g. `direct` or `mixed: ...`
    /// (attribute `method` of `/convolved`).
    pub method_used: String,
    /// Number of tiles.
    pub tiles: usize,
    /// Seconds per phase, one row per rank (`/timings`).
    pub timing_rows: Vec<Vec<f64>>,
    /// With the GPU backend, per rank: host-to-device, kernel and
    /// device-to-host seconds summed over its tiles (`/gpu_timings`).
    pub gpu_timing_rows: Option<Vec<Vec<f64>>>,
    /// `/provenance/device`: "cpu" or the GPUs with their rank counts.
    pub device: String,
    /// Number of MPI ranks.
    pub ranks: usize,
    /// Rayon threads per rank.
    pub threads: usize,
}

/// Runs the job with a backend already resolved (before MPI, by the
/// binary, so `--backend gpu` without a device exits 2 early) and prints
/// the summary on rank 0.
pub fn run_on(
    cfg: &ImageConfig,
    backend: &Resolved,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<()> {
    if let Some(r) = run_job_on(cfg, backend, comm, read_seconds, command_line)? {
        print_summary(cfg, &r);
    }
    Ok(())
}

/// Runs the job on this rank on the backend `cfg.backend` resolves to;
/// `Some(report)` on rank 0.
pub fn run_job(
    cfg: &ImageConfig,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<Option<ImageReport>> {
    let backend = crate::gpu::resolve_backend(cfg.backend).map_err(usage)?;
    run_job_on(cfg, &backend, comm, read_seconds, command_line)
}

/// Runs the job on this rank with a resolved backend; `Some(report)` on
/// rank 0.
pub fn run_job_on(
    cfg: &ImageConfig,
    backend: &Resolved,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<Option<ImageReport>> {
    if fits_output::is_fits_name(&cfg.out) {
        return fits_output::run_via_hdf5(cfg, command_line, |h5| {
            run_job_on(h5, backend, comm, read_seconds, command_line)
        });
    }
    let mut timer = PhaseTimer::start();
    timer.add(Phase::Read, read_seconds);
    let rank = comm.rank();

    // rank 0 checks the input first so a bad input gives one message
    let first = timer.time(Phase::Read, || {
        comm.agree(if rank == 0 {
            InputImage::open(&cfg.input, &cfg.dataset, cfg.hdu.as_ref(), cfg.convert).map(Some)
        } else {
            Ok(None)
        })
    })?;
    let input = timer.time(Phase::Read, || {
        comm.agree(match first {
            Some(i) => Ok(i),
            None => InputImage::open(&cfg.input, &cfg.dataset, cfg.hdu.as_ref(), cfg.convert),
        })
    })?;
    // each rank opens the device of its node-local rank
    let device = crate::gpu::open_for_job("image", cfg.backend, backend, comm)?;
    let device = device.as_ref();
    if device.is_some() && !matches!(cfg.method, ConvMethod::Auto | ConvMethod::Direct) {
        say0!(
            "image: backend gpu convolves every tile by the direct method; method {} applies to the CPU backend only",
            method_name(cfg.method)
        );
    }
    match input.pixel {
        PixelType::F32 => run_typed::<f32>(cfg, comm, &input, device, timer, command_line),
        PixelType::F64 => run_typed::<f64>(cfg, comm, &input, device, timer, command_line),
    }
}

fn run_typed<T: Real + ConvReal + H5Type + Send + Sync>(
    cfg: &ImageConfig,
    comm: &impl Comm,
    input: &InputImage,
    device: Option<&GpuDevice>,
    mut timer: PhaseTimer,
    command_line: &str,
) -> anyhow::Result<Option<ImageReport>> {
    let start_time = output::now_rfc3339();
    let rank = comm.rank();
    let size = comm.size();
    let image = input.shape;
    let kshape = cfg.kernel.shape;
    let kernel: Vec<T> = cfg.kernel.data.iter().map(|&v| T::of_f64(v)).collect();
    let oshape = output_shape(image, kshape, cfg.mode)?;
    let tiles = tile_grid(oshape, cfg.tile, cfg.tile);
    let threads = resolve_threads(cfg.threads, comm.node_size());
    let pool = build_pool(threads)?;
    say0!(
        "image: {} {} x {} ({}), kernel {} ({} x {}), mode {}, boundary {}, method {}; {} tiles of {}; {} ranks x {} threads",
        input.what,
        image.rows,
        image.cols,
        input.pixel.name(),
        cfg.kernel_spec,
        kshape.rows,
        kshape.cols,
        mode_name(cfg.mode),
        boundary_name(cfg.boundary),
        method_name(cfg.method),
        tiles.len(),
        cfg.tile,
        size,
        threads
    );

    // one file for all ranks under rank 0's temporary name; rank 0 checks the
    // path first, so an unwritable output fails cleanly everywhere
    // disk reserved for /convolved's chunks (edge chunks are whole) and the metadata
    let chunk = [cfg.tile.min(oshape.rows), cfg.tile.min(oshape.cols)];
    let reserve = (oshape.rows.div_ceil(chunk[0]) * chunk[0]) as u64
        * (oshape.cols.div_ceil(chunk[1]) * chunk[1]) as u64
        * std::mem::size_of::<T>() as u64
        + (4 << 20);
    // the output is written as the checkpoint's partial.h5, tile by tile,
    // and renamed into place when complete
    let manifest = comm.agree(Manifest::new(
        "image",
        &cfg.to_toml(),
        Some(&cfg.input),
        tiles.len() as u64,
    ))?;
    let mut ckpt = Checkpoint::open(comm, &cfg.out, manifest, cfg.resume)?;
    let (out, dataset) = timer.time(Phase::Write, || -> anyhow::Result<_> {
        if ckpt.resumed {
            let out = ParallelH5::open_at(comm, &cfg.out, ckpt.partial_h5())?;
            let ds = comm.agree(
                out.file()
                    .dataset("convolved")
                    .context("opening /convolved"),
            )?;
            return Ok((out, ds));
        }
        comm.agree(ckpt.create_dir())?;
        let out = ParallelH5::create_at(comm, &cfg.out, ckpt.partial_h5(), reserve)?;
        let ds = comm.agree(
            out.file()
                .new_dataset::<T>()
                .shape([oshape.rows, oshape.cols])
                .chunk(chunk)
                .create("convolved")
                .context("creating /convolved"),
        )?;
        // the layout on disk before any tile is recorded
        out.flush(comm)?;
        comm.agree(ckpt.commit_manifest())?;
        Ok((out, ds))
    })?;
    comm.agree(ckpt.sync_before_record(&ckpt.partial_h5()))?;

    let todo = ckpt.todo();
    let (first, end) = timer.time(Phase::Scatter, || {
        let ranges = if rank == 0 {
            even_ranges(todo.len() as u64, size)
        } else {
            Vec::new()
        };
        comm.scatter_ranges(&ranges)
    });
    let mine: Vec<(u64, Region)> = todo[first as usize..end as usize]
        .iter()
        .map(|&t| (t, tiles[t as usize]))
        .collect();
    let ctx = TileContext {
        cfg,
        input,
        kernel: &kernel,
        pool: &pool,
        device,
        batch_len: (2 * threads).max(1),
    };
    let mut local: Vec<f64> = Vec::with_capacity(mine.len() * 8);
    let mut gpu_times = ConvTimings::default();
    let progress = Progress::new(
        comm,
        "image",
        "tiles",
        todo.len() as u64,
        cfg.progress_interval,
        Aggregation::Messages,
    );
    let on_batch = |n: u64| {
        progress.inc(n);
        progress.tick(comm);
    };
    let result = convolve_my_tiles(
        &ctx,
        &mine,
        &dataset,
        &mut timer,
        &mut local,
        &mut gpu_times,
        &on_batch,
        &mut ckpt,
    );
    // before the next collective: rank 0 waits here for every rank's count
    progress.finish(comm);
    let result = comm.agree(result);
    // closing a parallel file is collective: every rank, error or not
    drop(dataset);
    if result.is_ok() && !comm.all_ok(local.len() == mine.len() * 8) {
        out.close_keep(comm)?;
        let done = comm
            .gather_f64(&[(local.len() / 8) as f64])
            .map(|v| v.iter().map(|r| r[0]).sum::<f64>());
        let mut total = [done.unwrap_or(0.0) as u64 + ckpt.done.len() as u64];
        comm.broadcast_u64(&mut total);
        let stopped = ckpt.stopped(total[0], "tile");
        ckpt.keep();
        return Err(stopped.into());
    }
    let closed = timer.time(Phase::Write, || out.close_parallel(comm));
    result?;
    let closed = closed?;

    let gathered = timer.time(Phase::Reduce, || comm.gather_f64(&local));
    let hosts = comm.gather_bytes(comm.host_name().as_bytes());
    let devices = crate::gpu::provenance_fields(device, comm);
    let gpu_rows = comm.gather_f64(&[gpu_times.h2d, gpu_times.kernel, gpu_times.d2h]);
    let timing_rows = comm.gather_f64(&timer.row());

    // below: rank 0 only, no collectives follow
    let (
        Some(gathered),
        Some(hosts),
        Some((backend_name, device_name)),
        Some(gpu_rows),
        Some(mut timing_rows),
        Some(mut closed),
    ) = (gathered, hosts, devices, gpu_rows, timing_rows, closed)
    else {
        return Ok(None);
    };
    let gpu_timing_rows = device.is_some().then_some(gpu_rows);
    let (stats, method_used) = timer.time(Phase::Reduce, || {
        // every tile's statistics, from this run or the checkpoint, in tile order
        let mut per_tile: Vec<Vec<f64>> = vec![Vec::new(); tiles.len()];
        for (&t, v) in &ckpt.done {
            per_tile[t as usize] = v.clone();
        }
        for c in gathered.iter().flat_map(|v| v.chunks_exact(8)) {
            per_tile[c[0] as usize] = c[1..].to_vec();
        }
        merge_tile_stats(&[per_tile.concat()])
    });
    let hosts: Vec<String> = hosts
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let provenance = Provenance {
        job: "image".into(),
        command_line: command_line.to_string(),
        config_toml: cfg.to_toml(),
        ranks: size,
        threads_per_rank: threads,
        backend: backend_name,
        device: device_name.clone(),
        mpi_library: comm.library_version(),
        hosts: output::summarise_hosts(&hosts),
        start_time,
        end_time: output::now_rfc3339(),
    };
    let finish = || -> anyhow::Result<PathBuf> {
        let t0 = Instant::now();
        let f = closed.reopen()?;
        write_metadata(&f, cfg, input, oshape, &stats, &method_used, tiles.len())?;
        provenance.write(&f)?;
        timer.add(Phase::Write, t0.elapsed().as_secs_f64());
        timing_rows[0] = timer.row().to_vec();
        output::write_timings(&f, &timing_rows)?;
        if let Some(rows) = &gpu_timing_rows {
            output::write_gpu_timings(&f, rows)?;
        }
        closed.finish()
    };
    let path = finish()
        .with_context(|| format!("writing '{}'", cfg.out.display()))
        .map_err(Coordinated)?;
    ckpt.finish();
    Ok(Some(ImageReport {
        path,
        input: image,
        output: oshape,
        pixel: input.pixel,
        stats,
        method_used,
        tiles: tiles.len(),
        timing_rows,
        gpu_timing_rows,
        device: device_name,
        ranks: size,
        threads,
    }))
}

fn write_metadata(
    f: &hdf5::File,
    cfg: &ImageConfig,
    input: &InputImage,
    oshape: Shape2,
    stats: &PixelStats,
    method_used: &str,
    tiles: usize,
) -> anyhow::Result<()> {
    let ds = f.dataset("convolved")?;
    output::attr_str(&ds, "input", &input.what)?;
    output::attr_str(&ds, "kernel", &cfg.kernel_spec)?;
    output::attr_str(
        &ds,
        "normalize",
        if cfg.normalize { "true" } else { "false" },
    )?;
    output::attr_str(&ds, "mode", mode_name(cfg.mode))?;
    output::attr_str(&ds, "boundary", boundary_name(cfg.boundary))?;
    output::attr_str(&ds, "method_requested", method_name(cfg.method))?;
    output::attr_str(&ds, "method", method_used)?;
    output::attr_str(&ds, "pixel_type", input.pixel.name())?;
    for (name, v) in [
        ("tile", cfg.tile as u64),
        ("tiles", tiles as u64),
        ("input_rows", input.shape.rows as u64),
        ("input_cols", input.shape.cols as u64),
    ] {
        ds.new_attr::<u64>().create(name)?.write_scalar(&v)?;
    }
    let k = ndarray::Array2::from_shape_vec(
        (cfg.kernel.shape.rows, cfg.kernel.shape.cols),
        cfg.kernel.data.clone(),
    )?;
    let kd = f.new_dataset_builder().with_data(&k).create("kernel")?;
    output::attr_str(&kd, "spec", &cfg.kernel_spec)?;
    let g = f.create_group("stats")?;
    output::write_u64(&g, "count", stats.count())?;
    output::write_u64(&g, "nan_count", oshape.len() as u64 - stats.count())?;
    output::write_f64(&g, "sum", stats.sum)?;
    output::write_f64(&g, "mean", stats.moments.mean)?;
    output::write_f64(&g, "variance", stats.variance())?;
    output::write_f64(&g, "m2", stats.moments.m2)?;
    output::write_f64(&g, "min", stats.min)?;
    output::write_f64(&g, "max", stats.max)?;
    output::attr_str(
        &g,
        "description",
        "statistics of /convolved over its non-NaN pixels; variance = m2 / count (population)",
    )?;
    Ok(())
}

fn print_summary(cfg: &ImageConfig, r: &ImageReport) {
    let t = &r.timing_rows[0];
    println!(
        "input       {} x {} ({})",
        r.input.rows,
        r.input.cols,
        r.pixel.name()
    );
    println!(
        "kernel      {} ({} x {}), mode {}, boundary {}",
        cfg.kernel_spec,
        cfg.kernel.shape.rows,
        cfg.kernel.shape.cols,
        mode_name(cfg.mode),
        boundary_name(cfg.boundary)
    );
    println!(
        "output      {} x {} in {} tiles of {}; method {}",
        r.output.rows, r.output.cols, r.tiles, cfg.tile, r.method_used
    );
    println!(
        "stats       sum {:.10e}, mean {:.10e}, variance {:.10e}, min {:.6e}, max {:.6e}",
        r.stats.sum,
        r.stats.moments.mean,
        r.stats.variance(),
        r.stats.min,
        r.stats.max
    );
    println!(
        "time        {:.3} s total; rank 0: read {:.3} s, compute {:.3} s, write {:.3} s on {} ranks x {} threads",
        t[Phase::Total as usize],
        t[Phase::Read as usize],
        t[Phase::Compute as usize],
        t[Phase::Write as usize],
        r.ranks,
        r.threads
    );
    if let Some(g) = &r.gpu_timing_rows {
        let sum = |k: usize| g.iter().map(|row| row[k]).sum::<f64>();
        println!("gpu         {}", r.device);
        println!(
            "gpu time    rank 0: host-to-device {:.3} s, kernel {:.3} s, device-to-host {:.3} s; all ranks: {:.3} s, {:.3} s, {:.3} s",
            g[0][0],
            g[0][1],
            g[0][2],
            sum(0),
            sum(1),
            sum(2)
        );
    }
    println!("output      {}", r.path.display());
}

/// What every tile of a run shares.
struct TileContext<'a, T> {
    cfg: &'a ImageConfig,
    input: &'a InputImage,
    /// The kernel in the image's type.
    kernel: &'a [T],
    pool: &'a rayon::ThreadPool,
    device: Option<&'a GpuDevice>,
    /// Tiles read, convolved and written together (bounds memory).
    batch_len: usize,
}

/// Reads, convolves and writes this rank's tiles in batches: HDF5 calls stay
/// on this (the MPI) thread, convolution runs on the pool. Appends each
/// tile's statistics and method code to `local` and the GPU's transfer and
/// kernel times to `gpu_times`.
/// Convolves this rank's tiles (index, region) in batches, writing each
/// batch into `/convolved` and recording it in the checkpoint with its
/// statistics (8 values per tile in `local`: index, 6 statistics, method);
/// stops between batches when a stop is requested.
fn convolve_my_tiles<T: Real + ConvReal + H5Type + Send + Sync>(
    ctx: &TileContext<T>,
    mine: &[(u64, Region)],
    dataset: &hdf5::Dataset,
    timer: &mut PhaseTimer,
    local: &mut Vec<f64>,
    gpu_times: &mut ConvTimings,
    on_batch: &dyn Fn(u64),
    ckpt: &mut Checkpoint,
) -> anyhow::Result<()> {
    let image = ctx.input.shape;
    let kshape = ctx.cfg.kernel.shape;
    for indexed in mine.chunks(ctx.batch_len) {
        if crate::io::cleanup::stop_requested() {
            break;
        }
        let batch: Vec<Region> = indexed.iter().map(|&(_, r)| r).collect();
        let read = timer.time(Phase::Read, || -> anyhow::Result<_> {
            batch
                .iter()
                .map(|&t| {
                    let w = input_window(image, kshape, ctx.cfg.mode, ctx.cfg.boundary, t)?;
                    let src = ctx.input.read_window::<T>(w)?;
                    if !ctx.cfg.allow_nan {
                        // infinite pixels poison a convolution as NaN ones do
                        if let Some(i) = src.iter().position(|v| !v.is_finite()) {
                            bail!(
                                "input {}: NaN or infinite pixel at row {}, column {} (set allow_nan = true to let it propagate)",
                                ctx.input.what,
                                w.row0 + i / w.cols,
                                w.col0 + i % w.cols
                            );
                        }
                    }
                    Ok((t, w, src))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        let done = timer.time(Phase::Compute, || match ctx.device {
            None => Ok(convolve_batch(read, ctx.cfg, image, ctx.kernel, ctx.pool)?),
            Some(dev) => convolve_batch_padded(
                read,
                ctx.cfg,
                image,
                ctx.kernel,
                ctx.pool,
                |ext, k, shape| convolve_padded_gpu(dev, ext, k, shape),
                gpu_times,
            ),
        })?;
        timer.time(Phase::Write, || -> anyhow::Result<()> {
            for r in &done {
                let t = r.tile;
                let view = ArrayView2::from_shape((t.rows, t.cols), &r.pixels)?;
                dataset
                    .write_slice(view, s![t.row0..t.row0 + t.rows, t.col0..t.col0 + t.cols])
                    .with_context(|| format!("writing tile {t:?} of /convolved"))?;
            }
            Ok(())
        })?;
        on_batch(done.len() as u64);
        let start = local.len();
        for (r, &(t, _)) in done.iter().zip(indexed) {
            local.push(t as f64);
            local.extend(r.stats.to_array());
            local.push(if ctx.device.is_some() {
                GPU_DIRECT
            } else {
                method_code(r.method)
            });
        }
        let rec: Vec<(u64, &[f64])> = local[start..]
            .chunks_exact(8)
            .map(|c| (c[0] as u64, &c[1..]))
            .collect();
        ckpt.record(&rec)?;
    }
    Ok(())
}

/// Merges the per-tile statistics gathered from every rank (7 values per
/// tile, in tile order) and names the method(s) that convolved the tiles.
fn merge_tile_stats(gathered: &[Vec<f64>]) -> (PixelStats, String) {
    let per_tile: Vec<&[f64]> = gathered.iter().flat_map(|v| v.chunks_exact(7)).collect();
    let stats: Vec<PixelStats> = per_tile
        .iter()
        .map(|c| PixelStats::from_array([c[0], c[1], c[2], c[3], c[4], c[5]]))
        .collect();
    let count = |code: f64| per_tile.iter().filter(|c| c[6] == code).count();
    let (direct, fft, gpu) = (count(1.0), count(2.0), count(GPU_DIRECT));
    let naive = per_tile.len() - direct - fft - gpu;
    let used = match (direct, fft, naive, gpu) {
        (_, 0, 0, 0) => "direct".to_string(),
        (0, _, 0, 0) => "fft".to_string(),
        (0, 0, _, 0) => "naive".to_string(),
        (0, 0, 0, _) => "gpu-direct".to_string(),
        _ => {
            format!("mixed: direct on {direct} tiles, fft on {fft}, naive on {naive}, GPU on {gpu}")
        }
    };
    (PixelStats::merge_in_order(&stats), used)
}
