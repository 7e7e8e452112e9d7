//! The data a scaling report is made of: series of runs at several rank
//! counts, with their measured phases (plain data, shared by the report,
//! the model and the plots).

use std::path::PathBuf;

use super::amdahl::AmdahlFit;

/// Seconds per phase on the critical path (largest over ranks).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseCosts {
    /// Reading the input.
    pub read: f64,
    /// Handing out work.
    pub scatter: f64,
    /// Compute on the slowest rank.
    pub compute: f64,
    /// Gather and merge, net of waiting for the slowest rank.
    pub reduce: f64,
    /// Longest wait in the reduction for the slowest rank (load imbalance).
    pub wait: f64,
    /// Writing the output.
    pub write: f64,
    /// Max / mean of the per-rank compute times.
    pub imbalance: f64,
}

/// Strong scaling (fixed total work) or weak scaling (fixed work per rank).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SeriesMode {
    /// Equal total work at every rank count.
    Strong,
    /// Equal work per rank at every rank count.
    Weak,
}

impl SeriesMode {
    /// "strong" or "weak", as in headings and the CSV.
    pub fn name(self) -> &'static str {
        match self {
            SeriesMode::Strong => "strong",
            SeriesMode::Weak => "weak",
        }
    }
}

/// One rank count of a series (the fastest of its repeats).
#[derive(Clone, Debug)]
pub struct SeriesPoint {
    /// MPI ranks.
    pub ranks: usize,
    /// Rayon threads per rank.
    pub threads: usize,
    /// Hosts the ranks ran on.
    pub nodes: usize,
    /// Repeats at this rank count.
    pub runs: usize,
    /// Wall time of the fastest repeat: the slowest rank's total, seconds.
    pub wall: f64,
    /// Phases of the fastest repeat.
    pub phases: PhaseCosts,
    /// Speed-up against the series' first point (weak: scaled speed-up).
    pub speedup: f64,
    /// Parallel efficiency against the series' first point.
    pub efficiency: f64,
    /// More ranks x threads on a node than it has cores.
    pub oversubscribed: bool,
    /// The work knob's value, if recorded.
    pub knob_value: Option<f64>,
    /// The output file of the fastest repeat.
    pub file: PathBuf,
}

impl SeriesPoint {
    /// Share of the wall time spent communicating (scatter + reduce).
    pub fn comm_fraction(&self) -> f64 {
        (self.phases.scatter + self.phases.reduce) / self.wall
    }
}

/// Runs of one job and config at two or more rank counts, with equal total
/// work (strong) or equal work per rank (weak).
#[derive(Clone, Debug)]
pub struct Series {
    /// The subcommand the runs ran (`tessera <job>`).
    pub job: String,
    /// Strong or weak.
    pub mode: SeriesMode,
    /// The work knob's name, if the job has one.
    pub knob_key: Option<&'static str>,
    /// Strong: the total; weak: the work per rank (knob units).
    pub size_label: String,
    /// Strong: total work units; weak: work units per rank.
    pub work: Option<f64>,
    /// One point per rank count, fewest ranks first.
    pub points: Vec<SeriesPoint>,
    /// Amdahl fit of a strong series (points not oversubscribed).
    pub fit: Option<AmdahlFit>,
}

impl Series {
    /// Heading: job, mode and size (with the study settings).
    pub fn title(&self) -> String {
        format!("{} {} ({})", self.job, self.mode.name(), self.size_label)
    }

    /// [`Series::title`] without the study settings (plot legends).
    pub fn short_title(&self) -> String {
        let size = self.size_label.split(';').next().unwrap_or("");
        format!("{} {} ({size})", self.job, self.mode.name())
    }
}
