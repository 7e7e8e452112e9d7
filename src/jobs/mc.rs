//! The Monte Carlo integration job (`tessera mc`): job-driver layer where the
//! block kernel, rayon, the communication layer and HDF5 output meet.
//!
//! For `M` samples `x_k` uniform on a box of volume `V`:
//! `I_hat = V * mean(f(x_k))`, `Var[I_hat] = V^2 s^2 / M`, with `s^2` the
//! unbiased sample variance of `f`. The samples are split into fixed blocks
//! (independent of ranks and threads); rank 0 scatters contiguous block
//! ranges, each rank maps its blocks with rayon to (count, mean, M2), and
//! rank 0 merges all blocks in block order, so the result is bit-identical
//! for any decomposition.

use std::path::PathBuf;

use anyhow::Context;
use ndarray::Array2;
use rayon::prelude::*;
use toml::Value;

use crate::comm::{even_ranges, Comm, Coordinated};
use crate::config::{usage, Layered};
use crate::gpu::{Backend, Resolved};
use crate::io::checkpoint::{Checkpoint, Manifest};
use crate::io::output::{self, AtomicH5, Provenance};
use crate::jobs::pool::{build_pool, resolve_threads};
use crate::numeric::integrands::Integrand;
use crate::numeric::moments::Moments;
use crate::numeric::montecarlo::{block_moments, BlockScratch, McProblem};
use crate::progress::{while_ticking, Aggregation, Progress};
use crate::say0;
use crate::timings::{Phase, PhaseTimer};

/// Config keys of the `mc` job (configs/mc.toml documents each).
pub const KEYS: &[&str] = &[
    "backend",
    "resume",
    "integrand",
    "dims",
    "bounds",
    "samples",
    "seed",
    "block_size",
    "threads",
    "out",
    "progress_interval",
];

/// Largest dimension count accepted (a sanity bound, not a kernel limit).
const MAX_DIMS: u64 = 1024;

/// A validated Monte Carlo configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct McConfig {
    /// The function to integrate.
    pub integrand: Integrand,
    /// Integration box, one `(lower, upper)` pair per dimension.
    pub bounds: Vec<(f64, f64)>,
    /// Total number of samples `M`.
    pub samples: u64,
    /// Random-number seed; with the block size it fixes every sample.
    pub seed: u64,
    /// Samples per block, the unit of work handed to ranks and threads.
    pub block_size: u64,
    /// Rayon threads per rank; 0 = automatic.
    pub threads: usize,
    /// Output HDF5 file.
    pub out: PathBuf,
    /// Requested backend (resolved against the GPU probe before MPI).
    pub backend: Backend,
    /// Continue an interrupted run from its checkpoint (`resume`, `--resume`).
    pub resume: bool,
    /// Seconds between progress lines (0 = off).
    pub progress_interval: f64,
}

/// Most blocks a run may have (each keeps a 24-byte partial for the
/// in-order merge: 400 MB at most).
pub const MAX_BLOCKS: u64 = 1 << 24;

/// Default block size for `samples`: a power of two between 2^16 and 2^26
/// giving at most ~2^20 blocks. It depends on the sample count only, never
/// on ranks or threads, so it keeps results reproducible.
pub fn auto_block_size(samples: u64) -> u64 {
    let per = samples.div_ceil(1 << 20).max(1);
    let usual = per.next_power_of_two().clamp(1 << 16, 1 << 26);
    // past 2^50 samples, larger blocks keep the block count within MAX_BLOCKS
    let fewest = samples.div_ceil(MAX_BLOCKS).next_power_of_two();
    usual.max(fewest)
}

impl McConfig {
    /// Reads and validates the `mc` keys; a bad or unknown key is a usage
    /// error naming where it came from.
    pub fn from_layered(l: &Layered) -> anyhow::Result<McConfig> {
        l.check_keys(&KEYS)?;
        let integrand: Integrand =
            l.string("integrand", "norm2")?
                .parse()
                .map_err(|e: String| {
                    usage(format!(
                        "config key 'integrand' (from {}): {e}",
                        l.source_of("integrand")
                    ))
                })?;
        let dims = l.count_in("dims", 2, 1, MAX_DIMS)? as usize;
        let bounds = match l.bounds("bounds")? {
            None => vec![(0.0, 1.0); dims],
            Some(b) if b.len() == 1 => vec![b[0]; dims],
            Some(b) if b.len() == dims => b,
            Some(b) => {
                return Err(usage(format!(
                    "config key 'bounds' (from {}): {} pairs given for dims = {dims}; give one pair for all dimensions or one per dimension",
                    l.source_of("bounds"),
                    b.len()
                )))
            }
        };
        for (d, &(lo, hi)) in bounds.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(usage(format!("config key 'bounds' (from {}): dimension {d} has a non-finite bound [{lo}, {hi}]", l.source_of("bounds"))));
            }
            if lo >= hi {
                return Err(usage(format!(
                    "config key 'bounds' (from {}): dimension {d} is inverted or empty: lower {lo} >= upper {hi}",
                    l.source_of("bounds")
                )));
            }
        }
        integrand.check_domain(&bounds).map_err(usage)?;
        let volume: f64 = bounds.iter().map(|(lo, hi)| hi - lo).product();
        if !(volume.is_finite() && volume > 0.0) {
            return Err(usage(format!(
                "config key 'bounds' (from {}): the box's volume {volume} is not a finite positive number in f64; use smaller bounds (or rescale the integrand)",
                l.source_of("bounds")
            )));
        }
        let samples = l.count("samples", 100_000_000, 1)?;
        if samples > i64::MAX as u64 {
            return Err(usage(format!(
                "config key 'samples': at most {} supported, got {samples}",
                i64::MAX
            )));
        }
        let seed = l.count("seed", 0, 0)?;
        let block_size = match l.get("block_size") {
            Some(Value::String(s)) if s == "auto" => auto_block_size(samples),
            None => auto_block_size(samples),
            Some(_) => l.count("block_size", 0, 1)?,
        };
        // one partial (count, mean, M2) per block is kept to merge in block order:
        // memory is bounded by configuration, so the block count is
        let blocks = samples.div_ceil(block_size);
        if blocks > MAX_BLOCKS {
            return Err(usage(format!(
                "samples {samples} in blocks of {block_size} make {blocks} blocks, more than {MAX_BLOCKS}: give a larger block_size (or \"auto\")"
            )));
        }
        let threads = match l.get("threads") {
            Some(Value::String(s)) if s == "auto" => 0,
            _ => l.count_in("threads", 0, 0, 4096)? as usize,
        };
        let backend = l.backend()?;
        let out = PathBuf::from(l.string("out", "mc.h5")?);
        if out.as_os_str().is_empty() {
            return Err(usage("config key 'out': empty output path"));
        }
        Ok(McConfig {
            integrand,
            bounds,
            samples,
            seed,
            block_size,
            threads,
            out,
            backend,
            resume: l.boolean("resume", false)?,
            progress_interval: l.progress_interval()?,
        })
    }

    /// The resolved configuration as TOML (stored in `/provenance/config`).
    pub fn to_toml(&self) -> String {
        let mut t = toml::Table::new();
        t.insert(
            "integrand".into(),
            Value::String(self.integrand.name().into()),
        );
        t.insert("dims".into(), Value::Integer(self.bounds.len() as i64));
        t.insert(
            "bounds".into(),
            Value::Array(
                self.bounds
                    .iter()
                    .map(|&(a, b)| Value::Array(vec![Value::Float(a), Value::Float(b)]))
                    .collect(),
            ),
        );
        t.insert("samples".into(), Value::Integer(self.samples as i64));
        t.insert("seed".into(), Value::String(self.seed.to_string()));
        t.insert("block_size".into(), Value::Integer(self.block_size as i64));
        t.insert("threads".into(), Value::Integer(self.threads as i64));
        t.insert("out".into(), Value::String(self.out.display().to_string()));
        t.insert("backend".into(), Value::String(self.backend.name().into()));
        t.insert("resume".into(), Value::Boolean(self.resume));
        t.insert(
            "progress_interval".into(),
            Value::Float(self.progress_interval),
        );
        toml::to_string(&t).unwrap_or_default()
    }

    /// Number of blocks, `ceil(samples / block_size)`.
    pub fn blocks(&self) -> u64 {
        self.samples.div_ceil(self.block_size)
    }

    /// Samples in block `b` (the last block may be short).
    pub fn block_len(&self, b: u64) -> u64 {
        (self.samples - b * self.block_size).min(self.block_size)
    }
}

/// The reduced result, written to `/montecarlo`.
#[derive(Clone, Debug, PartialEq)]
pub struct McEstimate {
    /// Count, mean and M2 of `f` over all samples (`samples`, `mean`, `m2`).
    pub moments: Moments,
    /// Volume `V` of the integration box (`volume`).
    pub volume: f64,
    /// The integral estimate `V * mean(f)` (`estimate`).
    pub estimate: f64,
    /// Variance of the estimate, `V^2 s^2 / M` (`variance`).
    pub variance: f64,
    /// Standard error of the estimate, `sqrt(variance)` (`stderr`).
    pub stderr: f64,
    /// The exact integral over the box (`exact`).
    pub exact: f64,
    /// `(estimate - exact) / stderr` (`zscore`).
    pub zscore: f64,
}

impl McEstimate {
    /// The estimate and its error from the merged moments of all samples.
    pub fn from_moments(cfg: &McConfig, moments: Moments) -> McEstimate {
        let volume: f64 = cfg.bounds.iter().map(|(a, b)| b - a).product();
        let estimate = volume * moments.mean;
        // Var[V * mean] = V^2 s^2 / M, s^2 the unbiased sample variance of f
        let variance = volume * volume * moments.sample_variance() / moments.count as f64;
        let stderr = variance.sqrt();
        let exact = cfg.integrand.exact(&cfg.bounds);
        McEstimate {
            moments,
            volume,
            estimate,
            variance,
            stderr,
            exact,
            zscore: (estimate - exact) / stderr,
        }
    }
}

/// Rank `rank` panics if `TESSERA_FAULT_PANIC_RANK` names it: a fault
/// injection used by the tests to show that one failing rank aborts the job.
fn maybe_inject_fault(rank: usize, item: u64) {
    if std::env::var("TESSERA_FAULT_PANIC_RANK")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        == Some(rank)
    {
        panic!("fault injected by TESSERA_FAULT_PANIC_RANK on rank {rank}, block {item}");
    }
}

/// Per-block moments of the listed blocks on this rank's pool, in list
/// order.
pub fn compute_blocks(
    cfg: &McConfig,
    problem: &McProblem,
    pool: &rayon::ThreadPool,
    blocks: &[u64],
    progress: &Progress,
    rank: usize,
) -> Vec<Moments> {
    let first = blocks.first().copied();
    pool.install(|| {
        blocks
            .par_iter()
            .map_init(
                || BlockScratch::new(problem.dims()),
                |scratch, &b| {
                    if Some(b) == first {
                        maybe_inject_fault(rank, b);
                    }
                    let m = block_moments(problem, b, cfg.block_len(b), scratch);
                    progress.inc(1);
                    m
                },
            )
            .collect()
    })
}

/// Computes this rank's blocks in chunks, each recorded in the checkpoint
/// once done; stops between chunks when a stop is requested. Chunks grow
/// to about [`CHUNK_SECONDS`] of work so the journal stays small and a stop
/// comes soon. Returns (block, moments) in block order.
#[allow(clippy::too_many_arguments)]
fn compute_recorded(
    cfg: &McConfig,
    problem: &McProblem,
    pool: &rayon::ThreadPool,
    device: Option<&crate::gpu::GpuDevice>,
    mine: &[u64],
    progress: &Progress,
    rank: usize,
    ckpt: &mut Checkpoint,
    tick: &dyn Fn(),
) -> anyhow::Result<Vec<(u64, Moments)>> {
    let threads = pool.current_num_threads().max(1);
    let mut chunk = 4 * threads;
    let mut out = Vec::with_capacity(mine.len());
    let mut at = 0;
    while at < mine.len() {
        if crate::io::cleanup::stop_requested() {
            break;
        }
        let part = &mine[at..(at + chunk).min(mine.len())];
        let t = std::time::Instant::now();
        let ms = match device {
            None => compute_blocks(cfg, problem, pool, part, progress, rank),
            Some(dev) => {
                if at == 0 {
                    maybe_inject_fault(rank, part[0]);
                }
                // contiguous runs of blocks go to the device together
                let mut ms = Vec::with_capacity(part.len());
                let mut i = 0;
                while i < part.len() {
                    let mut j = i + 1;
                    while j < part.len() && part[j] == part[j - 1] + 1 {
                        j += 1;
                    }
                    ms.extend(crate::gpu::mc::block_moments_gpu(
                        dev,
                        problem,
                        cfg.block_size,
                        cfg.samples,
                        part[i],
                        part[j - 1] + 1,
                        |n| progress.inc(n),
                    )?);
                    i = j;
                }
                ms
            }
        };
        let arrays: Vec<[f64; 3]> = ms.iter().map(|m| m.to_array()).collect();
        let rec: Vec<(u64, &[f64])> = part
            .iter()
            .zip(&arrays)
            .map(|(&b, a)| (b, &a[..]))
            .collect();
        ckpt.record(&rec)?;
        tick();
        out.extend(part.iter().copied().zip(ms));
        at += part.len();
        let secs = t.elapsed().as_secs_f64().max(1e-6);
        let per_block = secs / part.len() as f64;
        chunk = ((CHUNK_SECONDS / per_block) as usize).clamp(4 * threads, 1 << 16);
    }
    Ok(out)
}

/// Target seconds of work between two checkpoint records (and stop checks)
/// of the Monte Carlo job.
const CHUNK_SECONDS: f64 = 2.0;

/// Runs the job on this rank with a backend already resolved (before MPI,
/// by the binary, so `--backend gpu` without a device exits 2 early).
pub fn run_on(
    cfg: &McConfig,
    backend: &Resolved,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<()> {
    let mut timer = PhaseTimer::start();
    timer.add(Phase::Read, read_seconds);
    let start_time = output::now_rfc3339();
    let rank = comm.rank();
    let size = comm.size();

    // fail before computing if the output cannot be written
    let out_file = comm.agree(if rank == 0 {
        AtomicH5::create(&cfg.out).map(Some)
    } else {
        Ok(None)
    })?;

    let threads = resolve_threads(cfg.threads, comm.node_size());
    let pool = build_pool(threads)?;
    // each rank opens the device of its node-local rank
    let device = crate::gpu::open_for_job("mc", cfg.backend, backend, comm)?;
    let problem = McProblem::new(cfg.integrand, &cfg.bounds, cfg.seed);
    let blocks = cfg.blocks();
    say0!(
        "mc: {} in {} dims, {} samples in {} blocks of {}, seed {}; {} ranks x {} threads",
        cfg.integrand,
        cfg.bounds.len(),
        cfg.samples,
        blocks,
        cfg.block_size,
        cfg.seed,
        size,
        threads
    );

    // the checkpoint: finished blocks' partials, recorded as they are done
    let manifest = comm.agree(Manifest::new("mc", &cfg.to_toml(), None, blocks))?;
    let mut ckpt = Checkpoint::open(comm, &cfg.out, manifest, cfg.resume)?;
    if !ckpt.resumed {
        comm.agree(ckpt.create_dir().and_then(|()| ckpt.commit_manifest()))?;
    }
    let todo = ckpt.todo();
    let (first, end) = timer.time(Phase::Scatter, || {
        let ranges = if rank == 0 {
            even_ranges(todo.len() as u64, size)
        } else {
            Vec::new()
        };
        comm.scatter_ranges(&ranges)
    });
    let mine = &todo[first as usize..end as usize];

    let progress = Progress::new(
        comm,
        "mc",
        "blocks",
        todo.len() as u64,
        cfg.progress_interval,
        Aggregation::Messages,
    );
    let local = timer.time(Phase::Compute, || match &device {
        // the CPU computes on a helper thread while this one reports progress
        None => while_ticking(&progress, comm, || {
            compute_recorded(
                cfg,
                &problem,
                &pool,
                None,
                mine,
                &progress,
                rank,
                &mut ckpt,
                &|| {},
            )
        }),
        Some(dev) => compute_recorded(
            cfg,
            &problem,
            &pool,
            Some(dev),
            mine,
            &progress,
            rank,
            &mut ckpt,
            &|| progress.tick(comm),
        ),
    });
    // before the next collective: rank 0 waits here for every rank's count
    progress.finish(comm);
    let local = comm.agree(local)?;
    if !comm.all_ok(local.len() == mine.len()) {
        let done = comm
            .gather_f64(&[local.len() as f64])
            .map(|v| v.iter().map(|r| r[0]).sum::<f64>());
        let mut total = [done.unwrap_or(0.0) as u64 + ckpt.done.len() as u64];
        comm.broadcast_u64(&mut total);
        let stopped = ckpt.stopped(total[0], "block");
        ckpt.keep();
        return Err(stopped.into());
    }
    say0!(
        "mc: compute done in {:.3} s on rank 0",
        timer.get(Phase::Compute)
    );

    let flat: Vec<f64> = local
        .iter()
        .flat_map(|(b, m)| {
            let [c, mean, m2] = m.to_array();
            [*b as f64, c, mean, m2]
        })
        .collect();
    let gathered = timer.time(Phase::Reduce, || comm.gather_f64(&flat));
    let hosts = comm.gather_bytes(comm.host_name().as_bytes());
    let devices = crate::gpu::provenance_fields(device.as_ref(), comm);
    let timing_rows = comm.gather_f64(&timer.row());

    // everything below runs on rank 0 only: no collectives follow
    let (Some(gathered), Some(out_file), Some(hosts), Some(devices), Some(mut timing_rows)) =
        (gathered, out_file, hosts, devices, timing_rows)
    else {
        ckpt.finish();
        return Ok(());
    };
    let (estimate, rank_partials) = timer.time(Phase::Reduce, || {
        // every block's partial, from this run or the checkpoint, merged in
        // block order: the same sums whatever ranks, threads or stops
        let mut all: Vec<Option<Moments>> = vec![None; blocks as usize];
        for (&b, v) in &ckpt.done {
            all[b as usize] = Some(Moments::from_array([v[0], v[1], v[2]]));
        }
        for c in gathered.iter().flat_map(|v| v.chunks_exact(4)) {
            all[c[0] as usize] = Some(Moments::from_array([c[1], c[2], c[3]]));
        }
        let all: Vec<Moments> = all
            .into_iter()
            .map(|m| m.expect("every block computed"))
            .collect();
        let partials: Vec<Moments> = even_ranges(blocks, size)
            .iter()
            .map(|&(a, b)| Moments::merge_in_order(&all[a as usize..b as usize]))
            .collect();
        (
            McEstimate::from_moments(cfg, Moments::merge_in_order(&all)),
            partials,
        )
    });
    debug_assert_eq!(estimate.moments.count, cfg.samples);

    let hosts: Vec<String> = hosts
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let provenance = Provenance {
        job: "mc".into(),
        command_line: command_line.to_string(),
        config_toml: cfg.to_toml(),
        ranks: size,
        threads_per_rank: threads,
        // one entry per distinct device with its rank count
        backend: devices.0,
        device: devices.1,
        mpi_library: comm.library_version(),
        hosts: output::summarise_hosts(&hosts),
        start_time,
        end_time: output::now_rfc3339(),
    };
    // no rank waits on rank 0 any more: a failure here ends normally
    let finish = || -> anyhow::Result<PathBuf> {
        let ranges = even_ranges(blocks, size);
        let write_start = std::time::Instant::now();
        write_result(
            &out_file,
            cfg,
            &estimate,
            &rank_partials,
            &ranges,
            &provenance,
        )
        .with_context(|| format!("writing '{}'", cfg.out.display()))?;
        timer.add(Phase::Write, write_start.elapsed().as_secs_f64());
        timing_rows[0] = timer.row().to_vec();
        output::write_timings(out_file.file(), &timing_rows)?;
        out_file.commit()
    };
    let path = finish().map_err(Coordinated)?;
    ckpt.finish();
    print_summary(cfg, &estimate, &timing_rows, size, threads, &path);
    Ok(())
}

fn write_result(
    out: &AtomicH5,
    cfg: &McConfig,
    e: &McEstimate,
    rank_partials: &[Moments],
    ranges: &[(u64, u64)],
    provenance: &Provenance,
) -> anyhow::Result<()> {
    let f = out.file();
    let g = f.create_group("montecarlo")?;
    output::write_f64(&g, "estimate", e.estimate)?;
    output::write_f64(&g, "variance", e.variance)?;
    output::write_f64(&g, "stderr", e.stderr)?;
    output::write_u64(&g, "samples", e.moments.count)?;
    output::write_f64(&g, "exact", e.exact)?;
    output::write_f64(&g, "zscore", e.zscore)?;
    output::write_f64(&g, "mean", e.moments.mean)?;
    output::write_f64(&g, "m2", e.moments.m2)?;
    output::write_f64(&g, "sample_variance", e.moments.sample_variance())?;
    output::write_f64(&g, "volume", e.volume)?;
    output::write_str(&g, "integrand", cfg.integrand.name())?;
    output::write_u64(&g, "dims", cfg.bounds.len() as u64)?;
    output::write_u64(&g, "seed", cfg.seed)?;
    output::write_u64(&g, "block_size", cfg.block_size)?;
    output::write_u64(&g, "blocks", cfg.blocks())?;
    let bounds = Array2::from_shape_fn((cfg.bounds.len(), 2), |(d, j)| {
        if j == 0 {
            cfg.bounds[d].0
        } else {
            cfg.bounds[d].1
        }
    });
    g.new_dataset_builder()
        .with_data(&bounds)
        .create("bounds")?;
    let partials = Array2::from_shape_fn((rank_partials.len(), 3), |(r, j)| {
        rank_partials[r].to_array()[j]
    });
    let ds = g
        .new_dataset_builder()
        .with_data(&partials)
        .create("rank_partials")?;
    output::attr_str_list(&ds, "columns", &["count", "mean", "m2"])?;
    let rb = Array2::from_shape_fn((ranges.len(), 2), |(r, j)| {
        if j == 0 {
            ranges[r].0
        } else {
            ranges[r].1
        }
    });
    let ds = g
        .new_dataset_builder()
        .with_data(&rb)
        .create("rank_blocks")?;
    output::attr_str_list(&ds, "columns", &["first_block", "end_block"])?;
    output::attr_str(&g, "estimator", "estimate = volume * mean(f); variance = volume^2 * m2/(samples-1) / samples; stderr = sqrt(variance); zscore = (estimate - exact) / stderr")?;
    provenance.write(f)?;
    Ok(())
}

fn print_summary(
    cfg: &McConfig,
    e: &McEstimate,
    timing_rows: &[Vec<f64>],
    ranks: usize,
    threads: usize,
    path: &std::path::Path,
) {
    let compute = timing_rows
        .iter()
        .map(|r| r[Phase::Compute as usize])
        .fold(0.0, f64::max);
    let total = timing_rows[0][Phase::Total as usize];
    let rate = cfg.samples as f64 / compute.max(1e-12);
    println!("integrand   {} ({} dims)", cfg.integrand, cfg.bounds.len());
    println!("samples     {}", e.moments.count);
    println!("estimate    {:.15e}", e.estimate);
    println!("stderr      {:.6e}", e.stderr);
    println!("exact       {:.15e}", e.exact);
    println!("z-score     {:+.3}", e.zscore);
    println!(
        "time        {:.3} s total, {:.3} s compute on {} ranks x {} threads ({:.1} M samples/s/core)",
        total,
        compute,
        ranks,
        threads,
        rate / 1e6 / (ranks * threads) as f64
    );
    println!("output      {}", path.display());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::SerialComm;

    fn cfg(
        integrand: Integrand,
        bounds: Vec<(f64, f64)>,
        samples: u64,
        block_size: u64,
    ) -> McConfig {
        McConfig {
            integrand,
            bounds,
            samples,
            seed: 11,
            block_size,
            threads: 2,
            out: PathBuf::from("unused.h5"),
            backend: Backend::Cpu,
            resume: false,
            progress_interval: 0.0,
        }
    }

    fn estimate(cfg: &McConfig, threads: usize) -> McEstimate {
        let pool = build_pool(threads).unwrap();
        let problem = McProblem::new(cfg.integrand, &cfg.bounds, cfg.seed);
        let p = Progress::off();
        let ids: Vec<u64> = (0..cfg.blocks()).collect();
        let blocks = compute_blocks(cfg, &problem, &pool, &ids, &p, 0);
        McEstimate::from_moments(cfg, Moments::merge_in_order(&blocks))
    }

    #[test]
    fn every_integrand_lands_within_five_standard_errors() {
        let cases = [
            (Integrand::Norm2, vec![(0.0, 1.0); 2]),
            (
                Integrand::Norm2,
                vec![(-1.0, 2.0), (0.5, 1.5), (-3.0, -1.0)],
            ),
            (Integrand::Pi, vec![(0.0, 1.0); 2]),
            (Integrand::Gaussian, vec![(-1.0, 2.0); 4]),
            (
                Integrand::CosProd,
                vec![(0.0, 1.5), (-0.5, 0.7), (0.1, 0.2), (-1.0, 1.0), (0.0, 3.0)],
            ),
        ];
        for (integrand, bounds) in cases {
            let c = cfg(integrand, bounds, 2_000_000, 1 << 16);
            let e = estimate(&c, 2);
            assert!(
                e.zscore.abs() < 5.0,
                "{integrand}: estimate {} exact {} z {}",
                e.estimate,
                e.exact,
                e.zscore
            );
            assert!(e.stderr > 0.0 && e.stderr < 1e-2 * e.exact.abs().max(1.0));
        }
    }

    #[test]
    fn result_does_not_depend_on_threads_or_block_partition() {
        let c = cfg(Integrand::Norm2, vec![(0.0, 1.0); 2], 1_000_003, 1 << 16);
        let one = estimate(&c, 1);
        let two = estimate(&c, 2);
        assert_eq!(one, two);
        // the same blocks split across "ranks" and merged per rank give the
        // same bits once merged in block order
        let problem = McProblem::new(c.integrand, &c.bounds, c.seed);
        let pool = build_pool(2).unwrap();
        let p = Progress::off();
        let mut all = Vec::new();
        for (a, b) in even_ranges(c.blocks(), 3) {
            let ids: Vec<u64> = (a..b).collect();
            all.extend(compute_blocks(&c, &problem, &pool, &ids, &p, 0));
        }
        assert_eq!(
            McEstimate::from_moments(&c, Moments::merge_in_order(&all)),
            one
        );
    }

    #[test]
    fn auto_block_size_depends_on_samples_only() {
        assert_eq!(auto_block_size(1), 1 << 16);
        assert_eq!(auto_block_size(100_000_000), 1 << 16);
        assert_eq!(auto_block_size(1_000_000_000_000), 1 << 20);
        assert!(1_000_000_000_000u64.div_ceil(auto_block_size(1_000_000_000_000)) <= 1 << 20);
        assert_eq!(auto_block_size(1 << 50), 1 << 26);
        // past 2^50 samples the blocks grow so that there are at most MAX_BLOCKS
        assert_eq!(auto_block_size(u64::MAX / 2), 1 << 39);
        assert!((i64::MAX as u64).div_ceil(auto_block_size(i64::MAX as u64)) <= MAX_BLOCKS);
    }

    #[test]
    fn ten_to_the_twelve_samples_decompose_without_overflow() {
        let mut l = Layered::default();
        l.set("samples", Value::String("1e12".into()), "--samples");
        let c = McConfig::from_layered(&l).unwrap();
        assert_eq!(c.samples, 1_000_000_000_000);
        let total: u64 = (0..c.blocks()).map(|b| c.block_len(b)).sum();
        assert_eq!(total, c.samples);
        assert_eq!(even_ranges(c.blocks(), 7).last().unwrap().1, c.blocks());
    }

    #[test]
    fn serial_run_writes_a_complete_file() {
        let dir = std::env::temp_dir().join(format!("tessera-mc-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = cfg(Integrand::Pi, vec![(0.0, 1.0); 2], 100_000, 1 << 16);
        c.out = dir.join("pi.h5");
        run_on(
            &c,
            &Resolved::Cpu { reason: None },
            &SerialComm,
            0.0,
            "test",
        )
        .unwrap();
        let f = hdf5::File::open(&c.out).unwrap();
        let est: f64 = f
            .dataset("montecarlo/estimate")
            .unwrap()
            .read_scalar()
            .unwrap();
        assert!((est - std::f64::consts::PI).abs() < 0.05);
        let t = f.dataset("timings").unwrap().read_2d::<f64>().unwrap();
        assert_eq!(t.shape(), &[1, 6]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
