//! `tessera plan` (driver layer): how many cores, ranks and nodes a piece of
//! work needs to finish within a deadline, from measured runs (their
//! `/provenance` and `/timings`), a short calibration run made here, or, for
//! independent tasks of known length (a parameter grid), from arithmetic
//! alone. The answer comes with its model, assumptions and uncertainty.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use hdf5::types::VarLenUnicode;

use super::model::DEFAULT_CLUSTER;
use super::report::Run;
use super::{format_value, knob_for, short_number};
use crate::config::{parse_count, usage};

/// What `tessera plan` was asked.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Measured outputs of one job.
    pub runs: Vec<PathBuf>,
    /// Measure this job here first (1 rank x 1 thread, three repeats at two sizes).
    pub calibrate: Option<String>,
    /// Where calibration runs go.
    pub out_dir: PathBuf,
    /// Config file and `--set`s passed to calibration runs.
    pub config: Option<PathBuf>,
    /// `KEY=VALUE` overrides passed to calibration runs.
    pub sets: Vec<String>,
    /// Work in the job's units (objects, samples, pixels) or independent tasks.
    pub work: Option<f64>,
    /// A parameter grid: its points are independent tasks.
    pub grid: Option<Vec<u64>>,
    /// Seconds one independent task takes on one core.
    pub task_seconds: Option<f64>,
    /// The deadline, seconds.
    pub deadline: f64,
    /// Cores per node.
    pub cores_per_node: usize,
    /// MPI ranks per node (each with cores_per_node / ranks_per_node threads).
    pub ranks_per_node: usize,
}

/// `"5x5x5"` -> `[5, 5, 5]` (usage error otherwise).
pub fn parse_grid(s: &str) -> anyhow::Result<Vec<u64>> {
    let dims: Option<Vec<u64>> = s
        .split(['x', 'X', '*'])
        .map(|d| parse_count(d).filter(|&n| n > 0))
        .collect();
    match dims {
        Some(d) if !d.is_empty() && d.iter().try_fold(1u64, |a, &b| a.checked_mul(b)).is_some() => {
            Ok(d)
        }
        _ => Err(usage(format!(
            "--grid '{s}': expected positive sizes separated by 'x', e.g. 5x5x5"
        ))),
    }
}

/// `"20m"`, `"24h"`, `"1h30m"`, `"90s"` or plain seconds -> seconds.
pub fn parse_deadline(s: &str) -> anyhow::Result<f64> {
    let t = s.trim();
    let secs = match t.parse::<f64>() {
        Ok(v) => v,
        Err(_) => humantime::parse_duration(t)
            .map_err(|e| {
                usage(format!(
                    "--deadline '{s}': {e} (e.g. 20m, 24h, 1h30m, 3600)"
                ))
            })?
            .as_secs_f64(),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(usage(format!(
            "--deadline '{s}': must be a positive duration"
        )));
    }
    Ok(secs)
}

/// How `n` independent tasks of `seconds` each fit a deadline on `cores`
/// cores: tasks cannot be split, so they run in waves of `cores` and the
/// makespan is `ceil(n / cores) * seconds`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskPlan {
    /// Tasks.
    pub tasks: u64,
    /// Seconds per task.
    pub task_seconds: f64,
    /// Most waves that fit the deadline: the largest k with k t <= D.
    pub max_waves: u64,
    /// Fewest cores that meet the deadline: ceil(n / max_waves).
    pub cores: u64,
    /// Waves on that many cores: ceil(n / cores).
    pub waves: u64,
    /// ceil(n / cores) * t, seconds.
    pub makespan: f64,
}

/// The largest whole `k` with `k * step <= limit` (exact at the boundary:
/// 17 * 70 <= 1190 counts 17 even where 1190 / 70 rounds below 17).
fn whole_steps_within(limit: f64, step: f64) -> u64 {
    let mut k = (limit / step).floor().max(0.0) as u64;
    while (k + 1) as f64 * step <= limit {
        k += 1;
    }
    while k > 0 && k as f64 * step > limit {
        k -= 1;
    }
    k
}

/// The fewest cores for `tasks` tasks of `seconds` within `deadline`:
/// `ceil(n / p) t <= D` holds iff `ceil(n / p) <= K = floor(D / t)`, iff
/// `n / p <= K`, iff `p >= ceil(n / K)`. `None` when one task is longer than
/// the deadline.
pub fn plan_tasks(tasks: u64, seconds: f64, deadline: f64) -> Option<TaskPlan> {
    let max_waves = whole_steps_within(deadline, seconds);
    if max_waves == 0 || tasks == 0 {
        return None;
    }
    let cores = tasks.div_ceil(max_waves);
    let waves = tasks.div_ceil(cores);
    Some(TaskPlan {
        tasks,
        task_seconds: seconds,
        max_waves,
        cores,
        waves,
        makespan: waves as f64 * seconds,
    })
}

/// Nodes and ranks for `cores` cores: whole nodes of `cores_per_node`, each
/// with `ranks_per_node` ranks of `cores_per_node / ranks_per_node` threads.
fn layout(cores: u64, cores_per_node: usize, ranks_per_node: usize) -> (u64, u64, u64) {
    let threads = (cores_per_node / ranks_per_node).max(1) as u64;
    let ranks = cores.div_ceil(threads);
    let nodes = ranks.div_ceil(ranks_per_node as u64);
    (nodes, ranks, threads)
}

fn layout_line(cores: u64, o: &PlanOptions) -> String {
    let (nodes, ranks, threads) = layout(cores, o.cores_per_node, o.ranks_per_node);
    // a single partly used rank runs only as many threads as cores asked
    let threads = threads.min(cores);
    format!(
        "{nodes} node{} of {} cores: {ranks} rank{} x {threads} thread{} ({} rank{} per node)",
        plural(nodes),
        o.cores_per_node,
        plural(ranks),
        plural(threads),
        o.ranks_per_node.min(ranks as usize),
        plural(o.ranks_per_node.min(ranks as usize) as u64)
    )
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Seconds as "1200 s (20m)".
fn duration(s: f64) -> String {
    let d = std::time::Duration::from_secs(s.round().max(0.0) as u64);
    format!("{s:.0} s ({})", humantime::format_duration(d))
}

/// The answer for independent tasks, as text.
pub fn tasks_text(n: u64, label: &str, seconds: f64, o: &PlanOptions) -> String {
    let mut s = String::new();
    let d = o.deadline;
    let _ = writeln!(
        s,
        "tessera plan: {n} independent tasks ({label}) of {seconds} s each on one core, deadline {}",
        duration(d)
    );
    let _ = writeln!(
        s,
        "model:       tasks cannot be split, so p cores run them in waves of p:"
    );
    let _ = writeln!(
        s,
        "             makespan(p) = ceil(N / p) * t,  N = {n}, t = {seconds} s"
    );
    let _ = writeln!(
        s,
        "             (total work N t = {} core-seconds; the lower bound N t / D = {:.2} cores ignores granularity)",
        n as f64 * seconds,
        n as f64 * seconds / d
    );
    let Some(p) = plan_tasks(n, seconds, d) else {
        let _ = writeln!(
            s,
            "answer:      impossible: one task ({seconds} s) is longer than the deadline ({d} s)"
        );
        return s;
    };
    let _ = writeln!(
        s,
        "waves:       floor(D / t) = floor({d} / {seconds}) = {} waves of {seconds} s fit ({} s <= {d} s)",
        p.max_waves,
        p.max_waves as f64 * seconds
    );
    let _ = writeln!(
        s,
        "answer:      p = ceil(N / waves) = ceil({n} / {}) = {} cores",
        p.max_waves, p.cores
    );
    let _ = writeln!(
        s,
        "             {} cores run {} waves: makespan {} s, {:.0} s to spare; {} cores would need {} waves = {} s",
        p.cores,
        p.waves,
        p.makespan,
        d - p.makespan,
        p.cores.saturating_sub(1).max(1),
        n.div_ceil(p.cores.saturating_sub(1).max(1)),
        n.div_ceil(p.cores.saturating_sub(1).max(1)) as f64 * seconds
    );
    let nodes = p.cores.div_ceil(o.cores_per_node as u64);
    let _ = writeln!(
        s,
        "layout:      {} core{} on {nodes} node{} of {}: one task per core (a job array of {} single-core tasks, or {} ranks x 1 thread)",
        p.cores,
        plural(p.cores),
        plural(nodes),
        o.cores_per_node,
        p.cores,
        p.cores
    );
    let _ = writeln!(
        s,
        "uncertainty: with {} cores the deadline holds while every task takes at most D / {} = {:.1} s ({:+.1}% over {seconds} s)",
        p.cores,
        p.waves,
        d / p.waves as f64,
        100.0 * (d / p.waves as f64 / seconds - 1.0)
    );
    let mut rows = Vec::new();
    for f in [0.9, 1.1, 1.25, 1.5] {
        let t = seconds * f;
        rows.push(match plan_tasks(n, t, d) {
            Some(q) => format!("t = {t:.1} s: {} cores", q.cores),
            None => format!("t = {t:.1} s: impossible"),
        });
    }
    let _ = writeln!(
        s,
        "             if tasks take longer or shorter: {}",
        rows.join("; ")
    );
    let _ = writeln!(
        s,
        "             the fastest possible: {n} cores, one wave, {seconds} s"
    );
    let _ = writeln!(
        s,
        "assumptions: tasks independent and of equal length, one task per core at a time, no start-up cost per task,\n             the cores as fast as the one that took {seconds} s"
    );
    s
}

/// One measured run, reduced to what the model needs.
#[derive(Clone, Debug)]
pub struct RunRate {
    /// Output file.
    pub file: PathBuf,
    /// Cores used: ranks x threads.
    pub cores: f64,
    /// MPI ranks.
    pub ranks: usize,
    /// Threads per rank.
    pub threads: usize,
    /// Work units done.
    pub work: f64,
    /// Wall seconds (slowest rank).
    pub wall: f64,
    /// Compute seconds (slowest rank).
    pub compute: f64,
    /// Output file bytes.
    pub bytes: u64,
}

impl RunRate {
    /// Core-seconds of compute per unit of work.
    pub fn core_seconds_per_unit(&self) -> f64 {
        self.compute * self.cores / self.work
    }
    /// Seconds outside compute: read, hand-out, reduce, write, start-up.
    pub fn outside_compute(&self) -> f64 {
        (self.wall - self.compute).max(0.0)
    }
}

/// `T(p) = S + t W / p` fitted to measured walls.
#[derive(Clone, Copy, Debug)]
pub struct LinearFit {
    /// Seconds that do not shrink with cores.
    pub serial: f64,
    /// Core-seconds per unit of work.
    pub per_unit: f64,
    /// Root mean square of the relative residuals.
    pub rms_relative_error: f64,
}

/// Least-squares fit of `wall = S + t x` with `x = W / p` minimising
/// relative residuals (as [`super::amdahl::AmdahlFit::fit`]), `S >= 0`;
/// `None` with fewer than two distinct `x`.
pub fn fit_walls(runs: &[RunRate]) -> Option<LinearFit> {
    let pts: Vec<(f64, f64)> = runs.iter().map(|r| (r.work / r.cores, r.wall)).collect();
    let mut xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * a.abs().max(b.abs()));
    if xs.len() < 2 || pts.iter().any(|&(_, t)| t <= 0.0) {
        return None;
    }
    let (mut sw, mut sx, mut sxx, mut st, mut sxt) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, t) in &pts {
        let w = 1.0 / (t * t);
        sw += w;
        sx += w * x;
        sxx += w * x * x;
        st += w * t;
        sxt += w * x * t;
    }
    let det = sw * sxx - sx * sx;
    let (mut a, mut b) = ((st * sxx - sx * sxt) / det, (sw * sxt - sx * st) / det);
    if a < 0.0 {
        a = 0.0;
        b = sxt / sxx;
    }
    if b <= 0.0 {
        return None;
    }
    let rms = (pts
        .iter()
        .map(|&(x, t)| ((a + b * x - t) / t).powi(2))
        .sum::<f64>()
        / pts.len() as f64)
        .sqrt();
    Some(LinearFit {
        serial: a,
        per_unit: b,
        rms_relative_error: rms,
    })
}

/// Runs a wall fit needs (see [`RateModel::from_runs`]).
pub const MIN_RUNS_FOR_FIT: usize = 3;

/// The model of a measured job: `T(p) = S + t W / p + comm(P)`.
#[derive(Clone, Debug)]
pub struct RateModel {
    /// The job.
    pub job: String,
    /// Its work knob's name (objects, samples, side).
    pub unit: &'static str,
    /// The runs.
    pub runs: Vec<RunRate>,
    /// Core-seconds per unit: (low, central, high).
    pub per_unit: (f64, f64, f64),
    /// Serial seconds: (low, central, high).
    pub serial: (f64, f64, f64),
    /// The fit of the walls, when the runs allow one.
    pub fit: Option<LinearFit>,
    /// Whether the fit sets the central values (its `t` within a factor 2
    /// of the runs' compute rates).
    pub fit_used: bool,
    /// Work units per hand-out unit (a tile or block), when known.
    pub granule: Option<f64>,
    /// Output bytes per unit of work (largest measured).
    pub bytes_per_unit: f64,
    /// Mean observations per object of the measured light-curve inputs.
    pub points_per_object: Option<f64>,
}

/// Cores whose ranks' hand-out and gather messages cost `comm(P)` seconds
/// on the assumed cluster ([`DEFAULT_CLUSTER`]): `P / H + P / G + 2 a
/// ceil(log2 P)`.
pub fn comm_seconds(ranks: f64) -> f64 {
    let c = DEFAULT_CLUSTER;
    let tree = ranks.log2().ceil().max(0.0) * c.latency;
    ranks / c.handout_rate + ranks / c.gather_rate + 2.0 * tree
}

impl RateModel {
    /// Builds the model from runs of one job.
    pub fn from_runs(
        runs: Vec<RunRate>,
        job: &str,
        granule: Option<f64>,
    ) -> anyhow::Result<RateModel> {
        let knob = knob_for(job)?;
        if runs.is_empty() {
            return Err(usage("tessera plan: no measured runs"));
        }
        let rates: Vec<f64> = runs.iter().map(|r| r.core_seconds_per_unit()).collect();
        // as for Amdahl's law in the report: two walls fit two parameters
        // exactly, noise included, so a fit needs three runs
        let fit = (runs.len() >= MIN_RUNS_FOR_FIT)
            .then(|| fit_walls(&runs))
            .flatten();
        let outside: Vec<f64> = runs.iter().map(|r| r.outside_compute()).collect();
        let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        let median = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            let n = s.len();
            if n % 2 == 1 {
                s[n / 2]
            } else {
                0.5 * (s[n / 2 - 1] + s[n / 2])
            }
        };
        // central values: the wall fit where there is one (it sees every
        // cost that grows with W/p, not only the compute phase), else the
        // median of the per-run phase split; the range spans both
        let lo_rate = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi_rate = rates.iter().copied().fold(0.0, f64::max);
        let fit_used =
            fit.is_some_and(|f| f.per_unit >= 0.5 * lo_rate && f.per_unit <= 2.0 * hi_rate);
        let (t_mid, s_mid) = match fit {
            Some(f) if fit_used => (f.per_unit, f.serial),
            _ => (median(&rates), median(&outside)),
        };
        let per_unit = (min(&rates).min(t_mid), t_mid, max(&rates).max(t_mid));
        let serial = (min(&outside).min(s_mid), s_mid, max(&outside).max(s_mid));
        let bytes_per_unit = runs
            .iter()
            .map(|r| r.bytes as f64 / r.work)
            .fold(0.0, f64::max);
        Ok(RateModel {
            job: job.to_string(),
            unit: knob.key,
            runs,
            per_unit,
            serial,
            fit,
            fit_used,
            granule,
            bytes_per_unit,
            points_per_object: None,
        })
    }

    /// Modelled seconds for `work` on `cores` cores in `ranks` ranks of
    /// `threads` threads, with core-seconds per unit `t` and serial `s`:
    /// `S + max(t W / p, ceil(U / P) t g / threads) + comm(P)`, the second
    /// term being the granularity bound of `U` hand-out units of `g` work.
    pub fn time(&self, work: f64, cores: u64, ranks: u64, threads: u64, t: f64, s: f64) -> f64 {
        let spread = t * work / cores as f64;
        let granular = match self.granule {
            Some(g) if g > 0.0 => (work / g).ceil() / ranks as f64,
            _ => 0.0,
        };
        let granular = granular.ceil() * t * self.granule.unwrap_or(0.0) / threads as f64;
        s + spread.max(granular) + comm_seconds(ranks as f64)
    }

    /// The fewest cores that finish `work` within `deadline` with `(t, s)`;
    /// `None` when the serial part alone does not fit or no count up to
    /// 2^40 cores does.
    pub fn cores_needed(&self, work: f64, o: &PlanOptions, t: f64, s: f64) -> Option<u64> {
        let at = |p: u64| {
            let (_, ranks, threads) = layout(p, o.cores_per_node, o.ranks_per_node);
            self.time(work, p, ranks, threads.min(p), t, s)
        };
        if s >= o.deadline {
            return None;
        }
        // T(p) falls with p until comm(P) grows: find a p that fits by
        // doubling, then the first that fits by bisection
        let mut hi = 1u64;
        while at(hi) > o.deadline {
            hi *= 2;
            if hi > 1 << 40 {
                return None;
            }
        }
        let mut lo = hi / 2; // at(lo) > deadline, or lo = 0
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if at(mid) <= o.deadline {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }

    /// The model, the answer and its range, as text.
    pub fn text(&self, work: f64, o: &PlanOptions) -> String {
        let mut s = String::new();
        let unit = self.unit;
        let d = o.deadline;
        let _ = writeln!(
            s,
            "tessera plan: {} on {} {unit} within {}, {} cores per node",
            self.job,
            short_number(work),
            duration(d),
            o.cores_per_node
        );
        let works: Vec<f64> = self.runs.iter().map(|r| r.work).collect();
        let _ = writeln!(
            s,
            "measured:    {} run{}: {} {unit}, {} ranks x {} threads",
            self.runs.len(),
            plural(self.runs.len() as u64),
            range_text(&works, short_number),
            range_text(
                &self.runs.iter().map(|r| r.ranks as f64).collect::<Vec<_>>(),
                |v| format!("{v}")
            ),
            range_text(
                &self
                    .runs
                    .iter()
                    .map(|r| r.threads as f64)
                    .collect::<Vec<_>>(),
                |v| format!("{v}")
            ),
        );
        for r in &self.runs {
            let _ = writeln!(
                s,
                "             {}: {} {unit} on {} core{}: wall {:.3} s, compute {:.3} s -> {:.4e} core-s per unit, {:.3} s outside compute",
                r.file.display(),
                short_number(r.work),
                r.cores,
                plural(r.cores as u64),
                r.wall,
                r.compute,
                r.core_seconds_per_unit(),
                r.outside_compute()
            );
        }
        if let Some(ppo) = self.points_per_object {
            let _ = writeln!(
                s,
                "             inputs: {ppo:.1} observations per object on average"
            );
        }
        let _ = writeln!(s, "model:       T(p) = S + W t / p + comm(P)   (p cores in P ranks; Amdahl with a fixed serial S)");
        match self.fit {
            Some(f) => {
                let _ = writeln!(
                    s,
                    "             fit of the {} walls to S + t W/p: S = {:.3} s, t = {:.4e} core-s per unit, rms relative error {:.1}%{}",
                    self.runs.len(),
                    f.serial,
                    f.per_unit,
                    100.0 * f.rms_relative_error,
                    if self.fit_used {
                        ""
                    } else {
                        "; its t is over 2x off the runs' compute rates: not used (median compute rate and median wall - compute instead)"
                    }
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "             no wall fit (needs {MIN_RUNS_FOR_FIT} or more runs with two or more work-per-core values; two runs fit two parameters exactly, noise included):\n             the central t is the median compute core-s per unit, S the median wall - compute"
                );
            }
        }
        let _ = writeln!(
            s,
            "             t = {:.4e} core-s per {} ({:.0} {unit}/s per core); range over runs {:.4e} .. {:.4e}",
            self.per_unit.1,
            unit.trim_end_matches('s'),
            1.0 / self.per_unit.1,
            self.per_unit.0,
            self.per_unit.2
        );
        let _ = writeln!(
            s,
            "             S = {:.3} s (range {:.3} .. {:.3} s): read, hand-out, reduce, write and start-up, kept fixed as W grows",
            self.serial.1, self.serial.0, self.serial.2
        );
        let c = DEFAULT_CLUSTER;
        let _ = writeln!(
            s,
            "             comm(P) = P/H + P/G + 2 a ceil(log2 P), assumed cluster: H = {:.0e} hand-outs/s, G = {:.0e} gathers/s, a = {} us",
            c.handout_rate,
            c.gather_rate,
            c.latency * 1e6
        );
        if let Some(g) = self.granule {
            let _ = writeln!(
                s,
                "             granularity: work goes out in units of {} {unit} ({} units); a rank cannot finish before ceil(U/P) units",
                short_number(g),
                short_number((work / g).ceil())
            );
        }
        let measured_work = self.runs[0].work;
        let t1 = self.serial.1 + self.per_unit.1 * measured_work;
        let t1_target = self.serial.1 + self.per_unit.1 * work;
        let _ = writeln!(
            s,
            "             serial fraction s = S / T(1): {:.4} at the measured {} {unit} (Amdahl: speed-up <= {}); {:.2e} at {} {unit} (Gustafson: S fixed)",
            self.serial.1 / t1,
            short_number(measured_work),
            bound_text(t1 / self.serial.1),
            self.serial.1 / t1_target,
            short_number(work),
        );
        let central = self.cores_needed(work, o, self.per_unit.1, self.serial.1);
        let low = self.cores_needed(work, o, self.per_unit.0, self.serial.0);
        let high = self.cores_needed(work, o, self.per_unit.2, self.serial.2);
        match central {
            None => {
                let _ = writeln!(
                    s,
                    "answer:      not reachable: the serial part S = {:.1} s (or comm) alone exceeds the deadline",
                    self.serial.1
                );
            }
            Some(p) => {
                let (_, ranks, threads) = layout(p, o.cores_per_node, o.ranks_per_node);
                let t = self.time(
                    work,
                    p,
                    ranks,
                    threads.min(p),
                    self.per_unit.1,
                    self.serial.1,
                );
                let _ = writeln!(
                    s,
                    "answer:      p = {p} cores: T = {:.0} s = S {:.2} + W t / p {:.0} + comm {:.2e} s (deadline {d:.0} s)",
                    t,
                    self.serial.1,
                    t - self.serial.1 - comm_seconds(ranks as f64),
                    comm_seconds(ranks as f64)
                );
                let _ = writeln!(s, "             {}", layout_line(p, o));
                let fmt = |x: Option<u64>| x.map_or("not reachable".to_string(), |v| v.to_string());
                let _ = writeln!(
                    s,
                    "uncertainty: {} .. {} cores for t and S over the measured range (nodes {} .. {})",
                    fmt(low),
                    fmt(high),
                    low.map_or("-".into(), |v| layout(v, o.cores_per_node, o.ranks_per_node).0.to_string()),
                    high.map_or("-".into(), |v| layout(v, o.cores_per_node, o.ranks_per_node).0.to_string())
                );
                if self.runs.len() == 1 {
                    let _ = writeln!(
                        s,
                        "             (one run: no spread measured; repeat runs to see one)"
                    );
                }
                let out = self.bytes_per_unit * work;
                let _ = writeln!(
                    s,
                    "output:      about {} ({:.0} bytes per {} measured), written at {} on average",
                    bytes_text(out),
                    self.bytes_per_unit,
                    unit.trim_end_matches('s'),
                    rate_text(out / (t - self.serial.1).max(1e-9))
                );
            }
        }
        let _ = writeln!(
            s,
            "assumptions: the target work is like the measured work per unit; cores as fast as the measured ones\n             (t measured with {} thread{} per rank here); S and the cluster's message rates as stated; the file system\n             keeps up with the output rate above; no failures or queue waits",
            self.runs[0].threads,
            plural(self.runs[0].threads as u64)
        );
        s
    }
}

fn bound_text(b: f64) -> String {
    if b.is_finite() {
        format!("1/s = {b:.1}")
    } else {
        "no bound (s = 0)".into()
    }
}

fn range_text(v: &[f64], f: impl Fn(f64) -> String) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo == hi {
        f(lo)
    } else {
        format!("{}..{}", f(lo), f(hi))
    }
}

fn bytes_text(b: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{v:.1} {}", units[i])
}

fn rate_text(bytes_per_s: f64) -> String {
    format!("{}/s", bytes_text(bytes_per_s))
}

fn provenance_string(f: &hdf5::File, name: &str) -> Option<String> {
    let v: VarLenUnicode = f
        .dataset(&format!("provenance/{name}"))
        .ok()?
        .read_scalar()
        .ok()?;
    Some(v.as_str().to_string())
}

/// Mean observations per object of a light-curve input file.
fn points_per_object(input: &Path) -> Option<f64> {
    let f = hdf5::File::open(input).ok()?;
    let offsets: Vec<u64> = f.dataset("lightcurves/offsets").ok()?.read_raw().ok()?;
    let n = offsets.len().checked_sub(1).filter(|&n| n > 0)?;
    Some(*offsets.last()? as f64 / n as f64)
}

/// Reads the measured runs and the job's granularity and inputs.
pub fn read_runs(files: &[PathBuf]) -> anyhow::Result<RateModel> {
    let mut runs = Vec::new();
    let mut job: Option<String> = None;
    let mut granule = None;
    let mut points = Vec::new();
    for path in files {
        let run = Run::read(path)?;
        match &job {
            None => job = Some(run.job.clone()),
            Some(j) if *j != run.job => {
                return Err(usage(format!(
                    "tessera plan: '{}' is a {} run, the others are {j}: plan one job at a time",
                    path.display(),
                    run.job
                )))
            }
            _ => {}
        }
        let work = run
            .work()
            .with_context(|| format!("'{}': its amount of work is not recorded", path.display()))?;
        let ph = run.phases();
        let f = hdf5::File::open(path).with_context(|| format!("opening '{}'", path.display()))?;
        let config: toml::Table = provenance_string(&f, "config")
            .and_then(|c| c.parse().ok())
            .unwrap_or_default();
        let int = |k: &str| config.get(k).and_then(|v| v.as_integer()).map(|v| v as f64);
        // the tile a lightcurves run used (recorded since tiles adapt)
        let used_tile: Option<u64> = f
            .dataset("provenance/tile")
            .ok()
            .and_then(|d| d.read_scalar().ok());
        granule = match run.job.as_str() {
            "lightcurves" => Some(used_tile.map(|t| t as f64).or(int("tile")).unwrap_or(256.0)),
            "mc" => Some(work / super::mc_blocks(work)),
            "image" => Some(int("tile").unwrap_or(512.0).powi(2)),
            _ => None,
        };
        if run.job == "lightcurves" {
            if let Some(p) = config
                .get("input")
                .and_then(|v| v.as_str())
                .and_then(|i| points_per_object(Path::new(i)))
            {
                points.push(p);
            }
        }
        runs.push(RunRate {
            file: path.clone(),
            cores: (run.ranks * run.threads) as f64,
            ranks: run.ranks,
            threads: run.threads,
            work,
            wall: run.wall(),
            compute: ph.compute,
            bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        });
    }
    let job = job.ok_or_else(|| usage("tessera plan: no measured runs"))?;
    // lightcurves tiles adapt to the ranks: a plan for many ranks uses the cap
    if job == "lightcurves" {
        granule = granule.map(|g| g.max(256.0));
    }
    let mut m = RateModel::from_runs(runs, &job, granule)?;
    if !points.is_empty() {
        m.points_per_object = Some(points.iter().sum::<f64>() / points.len() as f64);
    }
    Ok(m)
}

/// Runs `job` here at two sizes (the job's scaling-study size and half of
/// it), three times each, on 1 rank x 1 thread, and returns the outputs.
pub fn calibrate(job: &str, o: &PlanOptions) -> anyhow::Result<Vec<PathBuf>> {
    let knob = knob_for(job)?;
    let bin = std::env::current_exe().context("locating the tessera binary")?;
    std::fs::create_dir_all(&o.out_dir)
        .with_context(|| format!("creating '{}'", o.out_dir.display()))?;
    let mut outs = Vec::new();
    for value in [knob.default / 2.0, knob.default] {
        let value = if knob.growth == super::Growth::Sqrt {
            value.round()
        } else {
            value
        };
        let input = knob.input_path(&o.out_dir, value);
        if let Some(f) = &input {
            knob.prepare_input(&bin, value, f)?;
        }
        for r in 1..=3 {
            let out = o.out_dir.join(format!(
                "{job}-{}-{}-r{r}.h5",
                knob.key,
                format_value(value)
            ));
            let mut c = Command::new(&bin);
            c.arg(job);
            if let Some(cfg) = &o.config {
                c.arg("--config").arg(cfg);
            }
            c.args(knob.size_args(value, input.as_deref()));
            c.args(["--threads", "1", "--out"]).arg(&out);
            for kv in &o.sets {
                c.arg("--set").arg(kv);
            }
            eprintln!(
                "plan: calibrating: {job} {} = {} (run {r} of 3)",
                knob.key,
                format_value(value)
            );
            let res = c
                .stdout(std::process::Stdio::null())
                .output()
                .context("running the calibration")?;
            if !res.status.success() {
                anyhow::bail!(
                    "calibration run of {job} failed with {}:\n{}",
                    res.status,
                    String::from_utf8_lossy(&res.stderr)
                );
            }
            outs.push(out);
        }
    }
    Ok(outs)
}

/// `tessera plan`: prints the answer; returns it as text too.
pub fn run(o: &PlanOptions) -> anyhow::Result<String> {
    let text = match (&o.grid, o.task_seconds) {
        (Some(g), Some(t)) => {
            let n = g.iter().product::<u64>();
            let label = format!(
                "a {} grid",
                g.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("x")
            );
            tasks_text(n, &label, t, o)
        }
        (Some(_), None) => {
            return Err(usage(
                "--grid needs --task-seconds (how long one task takes on one core)",
            ))
        }
        (None, Some(t)) => {
            let n = o.work.ok_or_else(|| {
                usage("--task-seconds needs --grid or --work (the number of tasks)")
            })?;
            if n.fract() != 0.0 || n < 1.0 {
                return Err(usage(format!(
                    "--work {n}: independent tasks are a whole number >= 1"
                )));
            }
            tasks_text(n as u64, "independent", t, o)
        }
        (None, None) => {
            let work = o.work.ok_or_else(|| {
                usage("tessera plan needs --work (or --grid with --task-seconds)")
            })?;
            let mut files = o.runs.clone();
            if let Some(job) = &o.calibrate {
                files.extend(calibrate(job, o)?);
            }
            if files.is_empty() {
                return Err(usage(
                    "tessera plan --work needs measured runs (their HDF5 outputs) or --calibrate JOB",
                ));
            }
            read_runs(&files)?.text(work, o)
        }
    };
    print!("{text}");
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest p with ceil(n / p) t <= D, by trying every p.
    fn brute_force(n: u64, t: f64, d: f64) -> Option<u64> {
        (1..=n).find(|&p| n.div_ceil(p) as f64 * t <= d)
    }

    #[test]
    fn the_seeds_grid_question() {
        // 5x5x5 fits of 70 s within 20 minutes: 17 waves fit (1190 s), so
        // ceil(125 / 17) = 8 cores, which run 16 waves (1120 s); 7 cores
        // would need 18 waves (1260 s)
        let p = plan_tasks(125, 70.0, parse_deadline("20m").unwrap()).unwrap();
        assert_eq!(p.max_waves, 17);
        assert_eq!(p.cores, brute_force(125, 70.0, 1200.0).unwrap());
        assert_eq!(p.cores, 8);
        assert_eq!(p.waves, 16);
        assert_eq!(p.makespan, 1120.0);
    }

    #[test]
    fn task_plans_match_brute_force() {
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for _ in 0..2000 {
            let n = 1 + (next() * 500.0) as u64;
            let t = 1.0 + (next() * 100.0).round();
            let d = (next() * 3000.0).round();
            let want = brute_force(n, t, d);
            let got = plan_tasks(n, t, d).map(|p| p.cores);
            assert_eq!(got, want, "n {n} t {t} d {d}");
        }
        // exact boundary: 17 waves of 70 s are exactly 1190 s
        assert_eq!(plan_tasks(17, 70.0, 1190.0).unwrap().cores, 1);
        assert!(plan_tasks(5, 70.0, 69.0).is_none());
    }

    #[test]
    fn grids_and_deadlines_parse() {
        assert_eq!(parse_grid("5x5x5").unwrap(), vec![5, 5, 5]);
        assert_eq!(parse_grid("10X3").unwrap(), vec![10, 3]);
        assert!(parse_grid("5x0").is_err());
        assert!(parse_grid("5xx5").is_err());
        assert_eq!(parse_deadline("20m").unwrap(), 1200.0);
        assert_eq!(parse_deadline("24h").unwrap(), 86400.0);
        assert_eq!(parse_deadline("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_deadline("90").unwrap(), 90.0);
        assert!(parse_deadline("soon").is_err());
        assert!(parse_deadline("0").is_err());
    }

    fn run(work: f64, cores: f64, wall: f64, compute: f64) -> RunRate {
        RunRate {
            file: PathBuf::from("x.h5"),
            cores,
            ranks: cores as usize,
            threads: 1,
            work,
            wall,
            compute,
            bytes: (work * 100.0) as u64,
        }
    }

    #[test]
    fn wall_fit_recovers_serial_and_rate() {
        // T = 0.3 + 1e-3 W / p
        let runs = vec![
            run(1000.0, 1.0, 1.3, 1.0),
            run(2000.0, 1.0, 2.3, 2.0),
            run(2000.0, 2.0, 1.3, 1.0),
        ];
        let f = fit_walls(&runs).unwrap();
        assert!(
            (f.serial - 0.3).abs() < 1e-9 && (f.per_unit - 1e-3).abs() < 1e-12,
            "{f:?}"
        );
        assert!(fit_walls(&runs[..1]).is_none());
    }

    #[test]
    fn cores_needed_is_the_first_count_that_fits() {
        let runs = vec![run(1000.0, 1.0, 1.3, 1.0), run(2000.0, 1.0, 2.3, 2.0)];
        let m = RateModel::from_runs(runs, "lightcurves", Some(256.0)).unwrap();
        let o = PlanOptions {
            runs: vec![],
            calibrate: None,
            out_dir: PathBuf::from("."),
            config: None,
            sets: vec![],
            work: Some(1e9),
            grid: None,
            task_seconds: None,
            deadline: 86400.0,
            cores_per_node: 64,
            ranks_per_node: 1,
        };
        let (t, s) = (m.per_unit.1, m.serial.1);
        let p = m.cores_needed(1e9, &o, t, s).unwrap();
        let at = |p: u64| {
            let (_, ranks, threads) = layout(p, 64, 1);
            m.time(1e9, p, ranks, threads.min(p), t, s)
        };
        assert!(at(p) <= 86400.0 && at(p - 1) > 86400.0, "p {p}");
        // 1e9 x 1e-3 core-s = 1e6 core-s in 86400 - 0.3 s: 11.57.. -> 12 cores
        assert_eq!(p, 12);
        assert!(m.text(1e9, &o).contains("p = 12 cores"));
    }
}
