//! Scaling studies (`tessera scale`) and scaling reports (`tessera report`):
//! a driver layer that starts other tessera runs and reads their HDF5
//! outputs. Nothing here uses MPI; runs are launched with `mpirun` or
//! submitted with `sbatch`, and reports are made from `/provenance` and
//! `/timings` alone.
//!
//! Each job exposes one "work knob" (a config key) that sets how much work
//! a run does. [`WORK_KNOBS`] is the only job-specific table: adding a job
//! to both commands is one line there.

pub mod amdahl;
pub mod model;
pub mod plot;
pub mod report;
pub mod study;

/// How a job's work knob grows with the number of ranks in weak scaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Growth {
    /// The knob counts work items (samples, light curves): value × ranks.
    Linear,
    /// The knob is a side length of a square (an image of size × size
    /// pixels): value × sqrt(ranks), so the area grows with the ranks.
    Sqrt,
}

impl Growth {
    /// Work units (proportional to compute time) for a knob value.
    pub fn work(self, value: f64) -> f64 {
        match self {
            Growth::Linear => value,
            Growth::Sqrt => value * value,
        }
    }

    /// The knob value that gives `ranks` times the work of `base`.
    pub fn scaled(self, base: f64, ranks: usize) -> f64 {
        match self {
            Growth::Linear => base * ranks as f64,
            Growth::Sqrt => (base * (ranks as f64).sqrt()).round(),
        }
    }
}

/// The config key that sets a job's amount of work, with sizes for studies
/// and for smoke tests.
#[derive(Clone, Copy, Debug)]
pub struct WorkKnob {
    /// The subcommand (`tessera <job>`).
    pub job: &'static str,
    /// Config key, passed as `--set KEY=VALUE`.
    pub key: &'static str,
    /// Default total work of a strong series and work per rank of a weak one.
    pub default: f64,
    pub growth: Growth,
    /// A size that runs in about a second on one core (SLURM smoke test).
    pub small: f64,
    /// Partial results rank 0 gathers and merges for this much work (work
    /// units): the serial part of the reduction, used by the multi-node
    /// projection ([`model`]).
    pub partials: fn(f64) -> f64,
}

/// Partials proportional to the work (the default for a new job).
pub fn partials_proportional(work: f64) -> f64 {
    work
}

/// mc gathers one (count, mean, M2) per block; blocks are `samples /
/// auto_block_size(samples)`, at most about 2^20.
pub fn mc_blocks(samples: f64) -> f64 {
    let s = samples.max(1.0) as u64;
    s.div_ceil(crate::jobs::mc::auto_block_size(s)) as f64
}

/// Per-job work knobs. To add a job: one line, e.g.
/// `WorkKnob { job: "lightcurves", key: "curves", default: 2e5, growth: Growth::Linear, small: 2e3, partials: partials_proportional }`
/// or `WorkKnob { job: "image", key: "size", default: 8192.0, growth: Growth::Sqrt, small: 512.0, partials: partials_proportional }`.
pub const WORK_KNOBS: &[WorkKnob] = &[WorkKnob {
    job: "mc",
    key: "samples",
    default: 4e8,
    growth: Growth::Linear,
    small: 2e6,
    partials: mc_blocks,
}];

/// The work knob of `job`, or a usage error listing the known jobs.
pub fn knob_for(job: &str) -> anyhow::Result<&'static WorkKnob> {
    WORK_KNOBS.iter().find(|k| k.job == job).ok_or_else(|| {
        crate::config::usage(format!(
            "no scaling knob for job '{job}'; known jobs: {}",
            WORK_KNOBS
                .iter()
                .map(|k| k.job)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// A knob value as text for `--set`: whole numbers without a fraction.
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e18 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_growth_keeps_work_per_rank() {
        for g in [Growth::Linear, Growth::Sqrt] {
            let base = 1024.0;
            for p in [1usize, 4, 16] {
                let per_rank = g.work(g.scaled(base, p)) / p as f64;
                assert!((per_rank / g.work(base) - 1.0).abs() < 1e-9, "{g:?} {p}");
            }
        }
        assert_eq!(format_value(4e8), "400000000");
        assert_eq!(format_value(2.5), "2.5");
        assert!(knob_for("mc").is_ok());
        assert!(knob_for("nope").is_err());
        assert_eq!(mc_blocks(1e9), 15259.0);
        assert!(mc_blocks(1e12) <= (1u64 << 20) as f64);
    }
}
