//! A per-phase performance model that projects a measured strong series to
//! many nodes (pure numerics; docs/scaling-model.md has the derivation and
//! the assumed cluster parameters).

use super::series::{Series, SeriesMode};

/// Cluster parameters assumed by the projection (not measured here).
#[derive(Clone, Copy, Debug)]
pub struct Cluster {
    /// Cores per node.
    pub cores_per_node: f64,
    /// MPI ranks per node.
    pub ranks_per_node: f64,
    /// Point-to-point latency, seconds (InfiniBand HDR class).
    pub latency: f64,
    /// Work assignments rank 0 hands out per second.
    pub handout_rate: f64,
    /// Partial-result messages rank 0 receives per second.
    pub gather_rate: f64,
    /// Per-rank cost of a collective parallel-HDF5 file open/close, seconds.
    pub h5_per_rank: f64,
}

/// The cluster the report's projection assumes.
pub const DEFAULT_CLUSTER: Cluster = Cluster {
    cores_per_node: 64.0,
    ranks_per_node: 4.0,
    latency: 2e-6,
    handout_rate: 1e6,
    gather_rate: 5e5,
    h5_per_rank: 2e-5,
};

/// What the model takes from one measured run (the series' first point).
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Compute seconds times cores, per unit of work.
    pub core_seconds_per_work: f64,
    /// Rank 0's merge seconds per partial result.
    pub merge_seconds_per_partial: f64,
    /// Partial results for an amount of work (the job's [`super::WorkKnob::partials`]).
    pub partials: fn(f64) -> f64,
    /// Read seconds.
    pub read: f64,
    /// Write seconds.
    pub write: f64,
    /// Serial seconds the Amdahl fit of the measured series found beyond
    /// read, write and rank 0's merge (start-up, waiting, anything that did
    /// not shrink with the ranks); kept fixed in every projected row, so the
    /// projection never promises more than the fit allows. 0 without a fit.
    pub serial_extra: f64,
}

impl Measured {
    /// The measurements of a series' first point; `None` for an empty
    /// series or one without a work knob or a recorded amount of work.
    pub fn from_series(s: &Series) -> Option<Measured> {
        let p = s.points.first()?;
        // work units done by the first point's run
        let work = match s.mode {
            SeriesMode::Strong => s.work?,
            SeriesMode::Weak => s.work? * p.ranks as f64,
        };
        let cores = (p.ranks * p.threads) as f64;
        let partials = super::knob_for(&s.job).ok()?.partials;
        Some(Measured {
            core_seconds_per_work: p.phases.compute * cores / work,
            merge_seconds_per_partial: p.phases.reduce / partials(work),
            partials,
            read: p.phases.read,
            write: p.phases.write,
            serial_extra: 0.0,
        })
    }

    /// [`Measured::from_series`] with the series' Amdahl fit taken in: its
    /// parallel part `(1 - s) T1` sets the compute per unit of work, and
    /// what it calls serial beyond read, write and the merge becomes
    /// [`Measured::serial_extra`], so the model reproduces the fit at the
    /// measured work.
    pub fn with_fit(s: &Series) -> Option<Measured> {
        let mut m = Measured::from_series(s)?;
        if let (Some(f), Some(work), Some(p)) = (&s.fit, s.work, s.points.first()) {
            // T(p) = a + b / p over ranks of `threads` threads: the parallel
            // part b is the compute, the serial part a holds read, write and
            // merge, and what is left of it stays serial at any size
            let known = m.read + m.write + m.merge_seconds_per_partial * (m.partials)(work);
            m.core_seconds_per_work = f.t1 * (1.0 - f.serial_fraction) * p.threads as f64 / work;
            m.serial_extra = (f.serial_fraction * f.t1 - known).max(0.0);
        }
        Some(m)
    }

    /// Seconds that no number of cores removes for `work`: read, write,
    /// rank 0's merge and [`Measured::serial_extra`].
    pub fn serial_seconds(&self, work: f64) -> f64 {
        self.read
            + self.write
            + self.merge_seconds_per_partial * (self.partials)(work)
            + self.serial_extra
    }

    /// Modelled seconds on one core for `work`: the serial seconds plus all
    /// the compute.
    pub fn one_core_seconds(&self, work: f64) -> f64 {
        self.serial_seconds(work) + self.core_seconds_per_work * work
    }
}

/// One projected row.
#[derive(Clone, Copy, Debug)]
pub struct Projected {
    /// Nodes.
    pub nodes: f64,
    /// MPI ranks on all nodes.
    pub ranks: f64,
    /// Compute seconds.
    pub compute: f64,
    /// Hand-out seconds.
    pub scatter: f64,
    /// Gather and merge seconds.
    pub reduce: f64,
    /// Write seconds.
    pub write: f64,
    /// Read + compute + scatter + reduce + write, seconds.
    pub total: f64,
}

/// Projects `work` units of work on `nodes` nodes of cluster `c`. For `N`
/// nodes with `c` cores and `q` ranks each (`P = N q` ranks):
///
/// ```text
/// compute(N) = C W / (N c)                 C: measured core-seconds per unit of work
/// scatter(N) = P / H + a log2 P            H: rank-0 hand-out rate, a: network latency
/// reduce(N)  = m B(W) + P / G + a log2 P   m: measured rank-0 merge seconds per partial result,
///                                          B(W): partials for work W (mc: blocks),
///                                          G: rate at which rank 0 receives partial messages
/// write(N)   = w + P d                     w: measured rank-0 write, d: per-rank cost of a
///                                          collective parallel-HDF5 open/close
/// read(N)    = r                           measured
/// serial     = S                           the Amdahl fit's serial seconds beyond r, w and
///                                          the merge (0 without a fit), fixed
/// ```
pub fn project(m: &Measured, c: &Cluster, work: f64, nodes: f64) -> Projected {
    let p = nodes * c.ranks_per_node;
    let tree = p.log2().ceil().max(0.0) * c.latency;
    let compute = m.core_seconds_per_work * work / (nodes * c.cores_per_node);
    let scatter = p / c.handout_rate + tree;
    let reduce = m.merge_seconds_per_partial * (m.partials)(work) + p / c.gather_rate + tree;
    let write = m.write + p * c.h5_per_rank;
    Projected {
        nodes,
        ranks: p,
        compute,
        scatter,
        reduce,
        write,
        total: m.read + compute + scatter + reduce + write + m.serial_extra,
    }
}

/// The projection table for `work` units of work (Markdown), for 1, 2, 4
/// .. 1024 nodes, strong scaling, plus the weak-scaling efficiency with
/// `work` per node.
pub fn markdown(m: &Measured, c: &Cluster, work: f64, knob: &str) -> String {
    let mut s = format!(
        "Projection (strong scaling of {knob} = {}; {} cores and {} ranks per node; latency {} us, hand-out {:.0e}/s, gather {:.0e}/s, HDF5 open {} us per rank; see docs/scaling-model.md):\n\n",
        super::short_number(work),
        c.cores_per_node,
        c.ranks_per_node,
        c.latency * 1e6,
        c.handout_rate,
        c.gather_rate,
        c.h5_per_rank * 1e6
    );
    if m.serial_extra > 0.0 {
        s.push_str(&format!(
            "Every row keeps the {:.3} s the Amdahl fit found serial beyond read, write and merge, so at this work the speed-up over one core can never exceed {:.1}.\n\n",
            m.serial_extra,
            m.one_core_seconds(work) / m.serial_seconds(work)
        ));
    }
    s.push_str("| nodes | ranks | compute s | scatter s | reduce s | write s | total s | speed-up | efficiency | weak eff. |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let base = project(m, c, work, 1.0);
    let mut n = 1.0;
    while n <= 1024.0 {
        let r = project(m, c, work, n);
        let weak = project(m, c, work * n, n);
        let speedup = base.total / r.total;
        s.push_str(&format!(
            "| {} | {} | {:.3e} | {:.2e} | {:.2e} | {:.2e} | {:.3e} | {:.1} | {:.1}% | {:.1}% |\n",
            n,
            r.ranks,
            r.compute,
            r.scatter,
            r.reduce,
            r.write,
            r.total,
            speedup,
            100.0 * speedup / n,
            100.0 * base.total / weak.total
        ));
        n *= 2.0;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_shrinks_and_overheads_grow_with_nodes() {
        let m = Measured {
            core_seconds_per_work: 1e-8,
            merge_seconds_per_partial: 5e-8,
            partials: super::super::mc_blocks,
            read: 1e-3,
            write: 1e-3,
            serial_extra: 0.0,
        };
        let c = DEFAULT_CLUSTER;
        let a = project(&m, &c, 1e12, 1.0);
        let b = project(&m, &c, 1e12, 1024.0);
        assert!((a.compute / b.compute - 1024.0).abs() < 1e-9);
        assert!(b.scatter > a.scatter && b.reduce > a.reduce && b.write > a.write);
        assert!(markdown(&m, &c, 1e12, "samples").lines().count() > 12);
    }
}
