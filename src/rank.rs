//! This process's MPI rank, known before and after MPI starts (the bottom
//! layer: `comm` records it, `log` and the error paths read it).

use std::sync::OnceLock;

/// Rank recorded by [`set_world_rank`] once MPI is up.
static WORLD_RANK: OnceLock<usize> = OnceLock::new();

/// Records the rank MPI assigned to this process (first call wins).
pub fn set_world_rank(rank: usize) {
    let _ = WORLD_RANK.set(rank);
}

/// This process's rank: from MPI once started, else from the launcher's
/// environment (mpirun, srun), else 0. Lets usage errors found before MPI
/// starts be printed by one rank only.
pub fn current_rank() -> usize {
    if let Some(&r) = WORLD_RANK.get() {
        return r;
    }
    [
        "OMPI_COMM_WORLD_RANK",
        "PMI_RANK",
        "PMIX_RANK",
        "SLURM_PROCID",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.parse().ok())
    .unwrap_or(0)
}
