//! Threads per rank and the rayon pool every job runs in (job-driver layer).

use anyhow::Context;

/// Threads for this rank: the config's, else SLURM's cpus-per-task, else
/// the node's cores shared among the node's ranks.
pub fn resolve_threads(requested: usize, node_ranks: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    if let Some(n) = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return n.max(1);
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    (cores / node_ranks.max(1)).max(1)
}

/// A rayon pool of `threads` named workers (`tessera-worker-N`).
pub fn build_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("tessera-worker-{i}"))
        .build()
        .context("starting the rayon thread pool")
}
