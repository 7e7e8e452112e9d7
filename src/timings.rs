//! Per-phase wall-clock timers, one table row per rank (I/O layer).
//!
//! Every job times the same phases on every rank, so `/timings` can show
//! what communication costs next to compute and a scaling report can be made
//! from output files alone (after SWIFT's `timers.h`).

use std::time::Instant;

/// The phases every job reports, in table-column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading configuration and input data.
    Read,
    /// Handing out work assignments.
    Scatter,
    /// The numerical work itself.
    Compute,
    /// Gathering and merging partial results.
    Reduce,
    /// Writing the output file.
    Write,
    /// Wall time from start to the end of the write phase.
    Total,
}

impl Phase {
    /// Every phase, in table-column order.
    pub const ALL: [Phase; 6] = [
        Phase::Read,
        Phase::Scatter,
        Phase::Compute,
        Phase::Reduce,
        Phase::Write,
        Phase::Total,
    ];

    /// The column name in `/timings`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Read => "read",
            Phase::Scatter => "scatter",
            Phase::Compute => "compute",
            Phase::Reduce => "reduce",
            Phase::Write => "write",
            Phase::Total => "total",
        }
    }

    /// Column names of `/timings`, in order.
    pub fn names() -> Vec<&'static str> {
        Phase::ALL.iter().map(|p| p.name()).collect()
    }
}

/// Accumulates seconds per phase on one rank.
#[derive(Clone, Debug)]
pub struct PhaseTimer {
    start: Instant,
    seconds: [f64; 6],
}

impl PhaseTimer {
    /// A timer with every phase at zero; `total` counts from now.
    pub fn start() -> PhaseTimer {
        PhaseTimer {
            start: Instant::now(),
            seconds: [0.0; 6],
        }
    }

    /// Runs `f`, adding its wall time to `phase`.
    pub fn time<T>(&mut self, phase: Phase, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let out = f();
        self.seconds[phase as usize] += t0.elapsed().as_secs_f64();
        out
    }

    /// Adds `seconds` measured elsewhere to `phase`.
    pub fn add(&mut self, phase: Phase, seconds: f64) {
        self.seconds[phase as usize] += seconds;
    }

    /// Seconds accumulated in `phase` so far (`Total` is only set by [`PhaseTimer::row`]).
    pub fn get(&self, phase: Phase) -> f64 {
        self.seconds[phase as usize]
    }

    /// The row for `/timings`, with `total` set to the wall time so far.
    pub fn row(&self) -> [f64; 6] {
        let mut r = self.seconds;
        r[Phase::Total as usize] = self.start.elapsed().as_secs_f64();
        r
    }
}
