//! `tessera report` (driver layer): scaling tables, plots and the Amdahl
//! fit, made from the HDF5 outputs alone (`/provenance` and `/timings`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hdf5::types::VarLenUnicode;

use super::amdahl::AmdahlFit;
use super::series::{PhaseCosts, Series, SeriesMode, SeriesPoint};
use super::{knob_for, short_number, WorkKnob};
use crate::timings::Phase;

/// The projection beyond one node uses this many times the measured work
/// (a cluster run is bigger than a laptop run).
pub const PROJECTION_FACTOR: f64 = 1000.0;

/// What `tessera report` was asked for.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// HDF5 outputs of tessera runs.
    pub files: Vec<PathBuf>,
    /// Where scaling.md, .csv, .png and .svg go.
    pub out_dir: PathBuf,
    /// Cores per node, to mark oversubscribed points; `None`: unknown.
    pub cores_per_node: Option<usize>,
    /// The Markdown title; `None`: "tessera scaling report".
    pub title: Option<String>,
}

/// One output file, as read back.
#[derive(Clone, Debug)]
pub struct Run {
    /// The output file.
    pub file: PathBuf,
    /// The subcommand that wrote it (`/provenance/job`).
    pub job: String,
    /// MPI ranks.
    pub ranks: usize,
    /// Rayon threads per rank.
    pub threads: usize,
    /// Ranks per host, from `/provenance/hosts` ("host (2 ranks)").
    pub hosts: Vec<(String, usize)>,
    /// The job's work knob, if it has one.
    pub knob: Option<&'static WorkKnob>,
    /// The work knob's value, if the job has one and the config names it.
    pub knob_value: Option<f64>,
    /// Config without the knob, `out` and `threads`: runs with equal
    /// `config_key` differ only in size.
    pub config_key: String,
    /// `/timings`: one row per rank, columns in [`Phase::ALL`] order.
    pub timings: Vec<[f64; 6]>,
    /// `/provenance/mpi_library`.
    pub mpi_library: String,
    /// tessera version and git commit.
    pub version: String,
    /// `/provenance/start_time`.
    pub start_time: String,
}

fn read_string(g: &hdf5::Group, name: &str) -> anyhow::Result<String> {
    let v: VarLenUnicode = g
        .dataset(name)
        .and_then(|d| d.read_scalar())
        .with_context(|| format!("/provenance/{name}"))?;
    Ok(v.as_str().to_string())
}

fn read_count(g: &hdf5::Group, name: &str) -> anyhow::Result<usize> {
    let v: u64 = g
        .dataset(name)
        .and_then(|d| d.read_scalar())
        .with_context(|| format!("/provenance/{name}"))?;
    Ok(v as usize)
}

/// "node01 (2 ranks)" -> ("node01", 2).
pub fn parse_host(s: &str) -> (String, usize) {
    if let Some((name, rest)) = s.rsplit_once(" (") {
        let n = rest
            .trim_end_matches(')')
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok());
        if let Some(n) = n {
            return (name.to_string(), n);
        }
    }
    (s.to_string(), 1)
}

fn knob_value(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        toml::Value::String(s) => crate::config::parse_count(s)
            .map(|n| n as f64)
            .or_else(|| s.parse().ok()),
        _ => None,
    }
}

impl Run {
    /// Reads `/provenance` and `/timings` of one output file.
    pub fn read(path: &Path) -> anyhow::Result<Run> {
        let f = hdf5::File::open(path)
            .with_context(|| format!("cannot open '{}' as HDF5", path.display()))?;
        let inner = || -> anyhow::Result<Run> {
            let p = f.group("provenance").context("/provenance")?;
            let job = read_string(&p, "job")?;
            let hosts: Vec<VarLenUnicode> = p
                .dataset("hosts")
                .and_then(|d| d.read_raw())
                .context("/provenance/hosts")?;
            let hosts: Vec<(String, usize)> =
                hosts.iter().map(|h| parse_host(h.as_str())).collect();
            let config_text = read_string(&p, "config")?;
            let mut config: toml::Table = config_text.parse().unwrap_or_default();
            let knob = knob_for(&job).ok();
            let knob_value = match knob {
                // the input's size, read back from the output (the config
                // only names the input file, which differs per size)
                Some(k) if k.input.is_some() => {
                    config.remove("input");
                    k.input.and_then(|i| (i.value_in_output)(&f))
                }
                Some(k) => {
                    let v = config.get(k.key).and_then(knob_value);
                    config.remove(k.key);
                    v
                }
                None => None,
            };
            config.remove("out");
            config.remove("threads");
            let ds = f.dataset("timings").context("/timings")?;
            let table = ds.read_2d::<f64>().context("/timings")?;
            let phases: Vec<VarLenUnicode> = ds
                .attr("phases")
                .and_then(|a| a.read_raw())
                .context("/timings attribute 'phases'")?;
            let names: Vec<&str> = phases.iter().map(|p| p.as_str()).collect();
            let columns: Vec<usize> = Phase::ALL
                .iter()
                .map(|ph| {
                    names
                        .iter()
                        .position(|n| *n == ph.name())
                        .with_context(|| format!("/timings has no '{}' column", ph.name()))
                })
                .collect::<anyhow::Result<_>>()?;
            let timings: Vec<[f64; 6]> = table
                .outer_iter()
                .map(|row| std::array::from_fn(|i| row[columns[i]]))
                .collect();
            let ranks = read_count(&p, "ranks")?;
            if timings.len() != ranks {
                bail!("/timings has {} rows for {ranks} ranks", timings.len());
            }
            Ok(Run {
                file: path.to_path_buf(),
                job,
                ranks,
                threads: read_count(&p, "threads_per_rank")?,
                hosts,
                knob,
                knob_value,
                config_key: toml::to_string(&config).unwrap_or_default(),
                timings,
                mpi_library: read_string(&p, "mpi_library").unwrap_or_default(),
                version: format!(
                    "{} ({})",
                    read_string(&p, "tessera_version").unwrap_or_default(),
                    read_string(&p, "git_commit").unwrap_or_default()
                ),
                start_time: read_string(&p, "start_time").unwrap_or_default(),
            })
        };
        inner().with_context(|| format!("'{}' is not a tessera output", path.display()))
    }

    /// Hosts the run used (at least 1).
    pub fn nodes(&self) -> usize {
        self.hosts.len().max(1)
    }

    /// The most ranks on one host.
    pub fn max_ranks_per_node(&self) -> usize {
        self.hosts.iter().map(|h| h.1).max().unwrap_or(self.ranks)
    }

    /// Work units (see [`super::Growth::work`]).
    pub fn work(&self) -> Option<f64> {
        Some(self.knob?.growth.work(self.knob_value?))
    }

    fn column(&self, ph: Phase) -> impl Iterator<Item = f64> + '_ {
        self.timings.iter().map(move |r| r[ph as usize])
    }

    fn max_of(&self, ph: Phase) -> f64 {
        self.column(ph).fold(0.0, f64::max)
    }

    /// Wall time: the longest `total` of any rank (rank 0's includes the write).
    pub fn wall(&self) -> f64 {
        self.max_of(Phase::Total)
    }

    /// Per-rank seconds spent waiting in the reduction for the slowest rank:
    /// the gap between a rank's end of compute and the latest end of compute.
    fn waits(&self) -> Vec<f64> {
        let ends: Vec<f64> = self
            .timings
            .iter()
            .map(|r| {
                r[Phase::Read as usize] + r[Phase::Scatter as usize] + r[Phase::Compute as usize]
            })
            .collect();
        let last = ends.iter().copied().fold(0.0, f64::max);
        ends.iter().map(|e| last - e).collect()
    }

    /// The measured phases of this run.
    pub fn phases(&self) -> PhaseCosts {
        let waits = self.waits();
        let compute: Vec<f64> = self.column(Phase::Compute).collect();
        let mean = compute.iter().sum::<f64>() / compute.len().max(1) as f64;
        let max = compute.iter().copied().fold(0.0, f64::max);
        PhaseCosts {
            read: self.max_of(Phase::Read),
            scatter: self.max_of(Phase::Scatter),
            compute: max,
            reduce: self
                .column(Phase::Reduce)
                .zip(&waits)
                .map(|(r, w)| (r - w).max(0.0))
                .fold(0.0, f64::max),
            wait: waits.iter().copied().fold(0.0, f64::max),
            write: self.max_of(Phase::Write),
            imbalance: if mean > 0.0 { max / mean } else { 1.0 },
        }
    }
}

/// Same value up to rounding in a config file (relative 1e-6).
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
}

/// Groups runs into strong and weak series and computes speed-ups,
/// efficiencies and the Amdahl fits.
///
/// Runs of one job with the same config (apart from the work knob and the
/// output name) and the same threads per rank form a strong series when
/// their total work is equal and a weak series when their work per rank is
/// equal. A run can belong to both (the one-rank run usually does). Repeats
/// at one rank count keep the fastest run: on a shared machine the least
/// disturbed one is the best estimate of what the code costs.
pub fn build_series(runs: &[Run], cores_per_node: Option<usize>) -> Vec<Series> {
    let mut groups: BTreeMap<(String, usize, String), Vec<&Run>> = BTreeMap::new();
    for r in runs {
        groups
            .entry((r.job.clone(), r.threads, r.config_key.clone()))
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for ((job, _, _), members) in groups {
        let knob = members[0].knob;
        // candidate series: (mode, size, members)
        let mut candidates: Vec<(SeriesMode, Option<f64>, Vec<&Run>)> = Vec::new();
        if members.iter().any(|r| r.work().is_none()) {
            candidates.push((SeriesMode::Strong, None, members.clone()));
        } else {
            for mode in [SeriesMode::Strong, SeriesMode::Weak] {
                let key = |r: &Run| match mode {
                    SeriesMode::Strong => r.work().unwrap_or(0.0),
                    SeriesMode::Weak => {
                        let w = r.work().unwrap_or(0.0) / r.ranks as f64;
                        match knob.map(|k| k.growth) {
                            // sides are whole pixels: round(s sqrt(p)) / sqrt(p)
                            // is within half a pixel of s
                            Some(super::Growth::Sqrt) => w.sqrt().round().powi(2),
                            _ => w,
                        }
                    }
                };
                let mut sizes: Vec<f64> = Vec::new();
                for r in &members {
                    let k = key(r);
                    if !sizes.iter().any(|&s| same(s, k)) {
                        sizes.push(k);
                    }
                }
                sizes.sort_by(f64::total_cmp);
                for size in sizes {
                    let m: Vec<&Run> = members
                        .iter()
                        .copied()
                        .filter(|r| same(key(r), size))
                        .collect();
                    candidates.push((mode, Some(size), m));
                }
            }
        }
        for (mode, size, m) in candidates {
            let mut by_ranks: BTreeMap<usize, Vec<&Run>> = BTreeMap::new();
            for r in m {
                by_ranks.entry(r.ranks).or_default().push(r);
            }
            if by_ranks.len() < 2 {
                continue;
            }
            let mut points: Vec<SeriesPoint> = by_ranks
                .values()
                .map(|rs| {
                    let best = rs
                        .iter()
                        .min_by(|a, b| a.wall().total_cmp(&b.wall()))
                        .expect("non-empty");
                    let oversubscribed = cores_per_node
                        .is_some_and(|c| best.max_ranks_per_node() * best.threads > c);
                    SeriesPoint {
                        ranks: best.ranks,
                        threads: best.threads,
                        nodes: best.nodes(),
                        runs: rs.len(),
                        wall: best.wall(),
                        phases: best.phases(),
                        speedup: 0.0,
                        efficiency: 0.0,
                        oversubscribed,
                        knob_value: best.knob_value,
                        file: best.file.clone(),
                    }
                })
                .collect();
            let (p0, t0) = (points[0].ranks as f64, points[0].wall);
            for pt in &mut points {
                let p = pt.ranks as f64;
                match mode {
                    SeriesMode::Strong => {
                        pt.speedup = p0 * t0 / pt.wall;
                        pt.efficiency = pt.speedup / p;
                    }
                    SeriesMode::Weak => {
                        pt.efficiency = t0 / pt.wall;
                        pt.speedup = p * pt.efficiency;
                    }
                }
            }
            let fit = (mode == SeriesMode::Strong)
                .then(|| {
                    let pts: Vec<(f64, f64)> = points
                        .iter()
                        .filter(|p| !p.oversubscribed)
                        .map(|p| (p.ranks as f64, p.wall))
                        .collect();
                    AmdahlFit::fit(&pts)
                })
                .flatten();
            let size_label = match (knob, size) {
                (Some(k), Some(s)) => {
                    let v = match k.growth {
                        super::Growth::Linear => s,
                        super::Growth::Sqrt => s.sqrt(),
                    };
                    let what = if mode == SeriesMode::Weak {
                        " per rank"
                    } else {
                        ""
                    };
                    // the study's own settings, where these runs used them
                    let config: toml::Table = members[0].config_key.parse().unwrap_or_default();
                    let used: Vec<String> = k
                        .study_sets
                        .iter()
                        .filter_map(|kv| {
                            let (key, val) = kv.split_once('=')?;
                            let have = config.get(key)?;
                            let same = match have {
                                toml::Value::String(t) => t == val,
                                other => other.to_string() == val,
                            };
                            same.then(|| format!("{key} = {val}"))
                        })
                        .collect();
                    let extra = if used.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", used.join(", "))
                    };
                    format!("{} = {}{what}{extra}", k.key, short_number(v))
                }
                _ => "size not recorded".into(),
            };
            out.push(Series {
                job: job.clone(),
                mode,
                knob_key: knob.map(|k| k.key),
                size_label,
                work: size,
                points,
                fit,
            });
        }
    }
    out.sort_by(|a, b| (&a.job, a.mode).cmp(&(&b.job, b.mode)));
    out
}

fn secs(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x >= 0.1 {
        format!("{x:.3}")
    } else if x >= 1e-3 {
        format!("{x:.4}")
    } else {
        format!("{x:.1e}")
    }
}

/// Where adding ranks stops paying, measured: the first step between
/// consecutive rank counts whose speed-up gain per doubling is under 10%.
fn measured_knee(points: &[SeriesPoint]) -> Option<(usize, usize, f64)> {
    points.windows(2).find_map(|w| {
        let doublings = (w[1].ranks as f64 / w[0].ranks as f64).log2();
        let gain = (w[0].wall / w[1].wall).powf(1.0 / doublings) - 1.0;
        (gain < 0.10).then_some((w[0].ranks, w[1].ranks, gain))
    })
}

fn ranks_word(p: usize) -> String {
    format!("{p} rank{}", if p == 1 { "" } else { "s" })
}

fn fmt_ranks(p: f64) -> String {
    if p.is_infinite() {
        "never (no serial fraction measured)".into()
    } else if p <= 1.0 {
        "1 (more ranks do not help at all)".into()
    } else {
        format!("{p:.1}")
    }
}

/// The Markdown report.
pub fn markdown(series: &[Series], runs: &[Run], opts: &ReportOptions, plot_name: &str) -> String {
    let mut md = String::new();
    let title = opts
        .title
        .clone()
        .unwrap_or_else(|| "tessera scaling report".into());
    let _ = writeln!(md, "# {title}\n");
    let mut hosts: Vec<String> = runs
        .iter()
        .flat_map(|r| r.hosts.iter().map(|h| h.0.clone()))
        .collect();
    hosts.sort();
    hosts.dedup();
    let first = runs
        .iter()
        .map(|r| r.start_time.as_str())
        .min()
        .unwrap_or("");
    let last = runs
        .iter()
        .map(|r| r.start_time.as_str())
        .max()
        .unwrap_or("");
    let _ = writeln!(
        md,
        "Made by `tessera report` from {} HDF5 outputs (their `/provenance` and `/timings` only), runs started {first} to {last}.  ",
        runs.len()
    );
    let _ = writeln!(
        md,
        "Hosts: {}; {}; tessera {}.  ",
        hosts.join(", "),
        runs.first()
            .map(|r| r.mpi_library.lines().next().unwrap_or(""))
            .unwrap_or(""),
        runs.first().map(|r| r.version.as_str()).unwrap_or("")
    );
    match opts.cores_per_node {
        Some(c) => {
            let _ = writeln!(md, "Cores per node: {c}; points with more ranks x threads on a node are marked `*` (oversubscribed) and left out of the Amdahl fit.\n");
        }
        None => {
            let _ = writeln!(
                md,
                "Cores per node not given: no point is marked oversubscribed.\n"
            );
        }
    }
    let _ = writeln!(
        md,
        "![time and efficiency against ranks]({plot_name}.png)\n"
    );
    let _ = writeln!(md, "Columns: wall = slowest rank's total; speed-up and efficiency against the smallest rank count (strong: `p0 T(p0) / T(p)` and that over `p`; weak: efficiency `T(p0) / T(p)`, scaled speed-up `p x efficiency`); phases in seconds, largest over ranks; reduce = gather + merge net of waiting; wait = longest wait for the slowest rank; comm = (scatter + reduce) / wall; imbalance = max / mean compute over ranks. Repeats at one rank count: the fastest is shown.\n");
    if series.is_empty() {
        let _ = writeln!(md, "No series: a series needs runs of one job and config at two or more rank counts with equal total work (strong) or equal work per rank (weak).\n");
    }
    for s in series {
        let _ = writeln!(md, "## {}\n", s.title());
        let _ = writeln!(md, "| ranks | threads | nodes | wall s | speed-up | efficiency | read | scatter | compute | reduce | wait | write | comm | imbalance | runs |");
        let _ = writeln!(
            md,
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for p in &s.points {
            let _ = writeln!(
                md,
                "| {}{} | {} | {} | {} | {:.2} | {:.1}% | {} | {} | {} | {} | {} | {} | {:.2}% | {:.3} | {} |",
                p.ranks,
                if p.oversubscribed { "*" } else { "" },
                p.threads,
                p.nodes,
                secs(p.wall),
                p.speedup,
                100.0 * p.efficiency,
                secs(p.phases.read),
                secs(p.phases.scatter),
                secs(p.phases.compute),
                secs(p.phases.reduce),
                secs(p.phases.wait),
                secs(p.phases.write),
                100.0 * p.comm_fraction(),
                p.phases.imbalance,
                p.runs
            );
        }
        let _ = writeln!(md);
        for line in answers(s) {
            let _ = writeln!(md, "- {line}");
        }
        let _ = writeln!(md);
        if let (SeriesMode::Strong, Some(m), Some(w)) =
            (s.mode, super::model::Measured::with_fit(s), s.work)
        {
            // the projection is in work units: pixels for a side knob
            let knob = match knob_for(&s.job).map(|k| k.growth) {
                Ok(super::Growth::Sqrt) => "pixels",
                _ => s.knob_key.unwrap_or("work"),
            };
            let _ = writeln!(
                md,
                "{}",
                super::model::markdown(
                    &m,
                    &super::model::DEFAULT_CLUSTER,
                    w * PROJECTION_FACTOR,
                    knob
                )
            );
        }
    }
    md
}

/// The seeds' questions for one series, in words.
pub fn answers(s: &Series) -> Vec<String> {
    let mut v = Vec::new();
    let pts = &s.points;
    let comm: Vec<String> = pts
        .iter()
        .map(|p| {
            format!(
                "{} {:.2}% ({} s)",
                ranks_word(p.ranks),
                100.0 * p.comm_fraction(),
                secs(p.phases.scatter + p.phases.reduce)
            )
        })
        .collect();
    v.push(format!(
        "Communication (scatter + reduce) costs {}.",
        comm.join(", ")
    ));
    v.extend(loss_breakdown(s));
    match s.mode {
        SeriesMode::Strong => {
            if let Some(p) = pts.iter().skip(1).find(|p| p.wall < pts[0].wall) {
                v.push(format!(
                    "Parallel beats the {}-rank run from {} on (speed-up {:.2}).",
                    pts[0].ranks,
                    ranks_word(p.ranks),
                    p.speedup
                ));
            } else {
                v.push(format!("No rank count beat the {}-rank run.", pts[0].ranks));
            }
            match measured_knee(pts) {
                Some((a, b, gain)) => v.push(format!(
                    "Measured: adding ranks stops paying after {} (going from {a} to {b} ranks gained {:+.1}% per doubling, under 10%).",
                    ranks_word(a),
                    100.0 * gain
                )),
                None => v.push("Measured: every step gained at least 10% per doubling; the knee lies beyond the largest rank count.".into()),
            }
            let usable = pts.iter().filter(|p| !p.oversubscribed).count();
            if let Some(f) = &s.fit {
                v.push(format!(
                    "Amdahl fit T(p) = T1 (s + (1 - s)/p) over {} points: T1 = {:.3} s, serial fraction s = {:.4} ({:.2}%), rms relative error {:.1}%.",
                    f.points,
                    f.t1,
                    f.serial_fraction,
                    100.0 * f.serial_fraction,
                    100.0 * f.rms_relative_error
                ));
                v.push(format!(
                    "Amdahl, at this work ({}): efficiency falls below 50% at p = {}; doubling the ranks gains less than 10% beyond p = {}; the speed-up can never exceed {}.",
                    s.size_label.split(';').next().unwrap_or(""),
                    fmt_ranks(f.ranks_at_efficiency(0.5)),
                    fmt_ranks(f.ranks_where_doubling_gains_less_than(0.10)),
                    if f.serial_fraction > 0.0 { format!("1/s = {:.1}", 1.0 / f.serial_fraction) } else { "any bound (s = 0)".into() }
                ));
                if let (Some(m), Some(w)) = (super::model::Measured::with_fit(s), s.work) {
                    let big = w * PROJECTION_FACTOR;
                    v.push(format!(
                        "The projection below is for {PROJECTION_FACTOR} times this work: it keeps the fit's serial seconds ({:.3} s beyond read, write and merge) in every row, and with the work grown around them (Gustafson) its speed-up over one core can never exceed {:.1}.",
                        m.serial_extra,
                        m.one_core_seconds(big) / m.serial_seconds(big)
                    ));
                }
            } else {
                v.push(format!(
                    "Amdahl fit: not made, so no bound on the speed-up is given: it needs at least {} rank counts that are not oversubscribed, and this series has {usable} (two parameters fit two points exactly, whatever the machine did).",
                    AmdahlFit::MIN_RANK_COUNTS
                ));
            }
        }
        SeriesMode::Weak => {
            let effs: Vec<String> = pts
                .iter()
                .map(|p| format!("{:.1}% at {}", 100.0 * p.efficiency, ranks_word(p.ranks)))
                .collect();
            v.push(format!("Weak-scaling efficiency: {}.", effs.join(", ")));
            if let Some(p) = pts.iter().find(|p| p.efficiency < 0.9) {
                v.push(format!(
                    "Efficiency first falls under 90% at {} ranks{}.",
                    p.ranks,
                    if p.oversubscribed {
                        " (oversubscribed)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    v
}

/// Where the time beyond ideal went, phase by phase, for every point after
/// the first: ideal compute is `compute(p0) p0 / p` (strong) or
/// `compute(p0)` (weak); every other phase ideally costs what it cost at p0.
pub fn loss_breakdown(s: &Series) -> Vec<String> {
    let Some(first) = s.points.first() else {
        return Vec::new();
    };
    let f = &first.phases;
    s.points
        .iter()
        .skip(1)
        .map(|p| {
            let ideal_compute = match s.mode {
                SeriesMode::Strong => f.compute * first.ranks as f64 / p.ranks as f64,
                SeriesMode::Weak => f.compute,
            };
            let ideal_wall = match s.mode {
                SeriesMode::Strong => first.wall * first.ranks as f64 / p.ranks as f64,
                SeriesMode::Weak => first.wall,
            };
            let q = &p.phases;
            format!(
                "Time beyond ideal at {}{}: {:+.3} s = compute on the slowest rank {:+.3} s, communication {:+.4} s, write {:+.4} s, read {:+.4} s (the other ranks waited up to {:.3} s for the slowest){}.",
                ranks_word(p.ranks),
                if p.oversubscribed { " (oversubscribed)" } else { "" },
                p.wall - ideal_wall,
                q.compute - ideal_compute,
                (q.scatter + q.reduce) - (f.scatter + f.reduce),
                q.write - f.write,
                q.read - f.read,
                q.wait,
                if p.wall - ideal_wall > 0.05 * ideal_wall
                    && q.compute - ideal_compute > 0.5 * (p.wall - ideal_wall)
                {
                    "; mostly compute: the same work per core ran slower (cores shared with other processes, oversubscribed, or memory-bound), not communication"
                } else {
                    ""
                }
            )
        })
        .collect()
}

/// The CSV table, one line per point of every series.
pub fn csv(series: &[Series]) -> String {
    let mut s = String::from("job,mode,size,ranks,threads,nodes,runs,wall_s,speedup,efficiency,read_s,scatter_s,compute_s,reduce_s,wait_s,write_s,comm_fraction,imbalance,oversubscribed,serial_fraction,file\n");
    for se in series {
        for p in &se.points {
            let _ = writeln!(
                s,
                "{},{},\"{}\",{},{},{},{},{:.6},{:.4},{:.4},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.5},{:.4},{},{},{}",
                se.job,
                se.mode.name(),
                se.size_label,
                p.ranks,
                p.threads,
                p.nodes,
                p.runs,
                p.wall,
                p.speedup,
                p.efficiency,
                p.phases.read,
                p.phases.scatter,
                p.phases.compute,
                p.phases.reduce,
                p.phases.wait,
                p.phases.write,
                p.comm_fraction(),
                p.phases.imbalance,
                p.oversubscribed,
                se.fit.map(|f| format!("{:.5}", f.serial_fraction)).unwrap_or_default(),
                p.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            );
        }
    }
    s
}

/// Reads the files, writes `scaling.md`, `scaling.csv`, `scaling.png` and
/// `scaling.svg` into the output directory and prints the Markdown.
pub fn run(opts: &ReportOptions) -> anyhow::Result<Vec<Series>> {
    let runs: Vec<Run> = opts
        .files
        .iter()
        .map(|f| Run::read(f))
        .collect::<anyhow::Result<_>>()?;
    let series = build_series(&runs, opts.cores_per_node);
    std::fs::create_dir_all(&opts.out_dir)
        .with_context(|| format!("creating '{}'", opts.out_dir.display()))?;
    let name = "scaling";
    let md = markdown(&series, &runs, opts, name);
    let write = |ext: &str, text: &str| -> anyhow::Result<()> {
        let p = opts.out_dir.join(format!("{name}.{ext}"));
        std::fs::write(&p, text).with_context(|| format!("writing '{}'", p.display()))
    };
    write("md", &md)?;
    write("csv", &csv(&series))?;
    if !series.is_empty() {
        super::plot::draw(&series, &opts.out_dir.join(format!("{name}.png")))?;
        super::plot::draw(&series, &opts.out_dir.join(format!("{name}.svg")))?;
    }
    println!("{md}");
    eprintln!(
        "report: {}/{name}.md, .csv, .png, .svg",
        opts.out_dir.display()
    );
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ranks: usize, samples: f64, compute: &[f64]) -> Run {
        let timings = compute
            .iter()
            .map(|&c| [0.01, 0.001, c, 0.002, 0.0, 0.013 + c])
            .collect();
        Run {
            file: PathBuf::from(format!("mc-p{ranks}-{samples}.h5")),
            job: "mc".into(),
            ranks,
            threads: 1,
            hosts: vec![("vm".into(), ranks)],
            knob: knob_for("mc").ok(),
            knob_value: Some(samples),
            config_key: "dims = 2\n".into(),
            timings,
            mpi_library: "Open MPI".into(),
            version: "0.1.0".into(),
            start_time: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn runs_group_into_strong_and_weak_series() {
        let runs = vec![
            run(1, 4e8, &[4.0]),
            run(2, 4e8, &[2.0, 2.1]),
            run(4, 4e8, &[2.0, 2.0, 2.0, 2.2]),
            run(2, 8e8, &[4.0, 4.1]),
            run(4, 16e8, &[8.0; 4]),
            run(1, 4e8, &[4.5]),
        ];
        let s = build_series(&runs, Some(2));
        assert_eq!(s.len(), 2, "{s:#?}");
        let strong = &s[0];
        assert_eq!(strong.mode, SeriesMode::Strong);
        assert_eq!(
            strong.points.iter().map(|p| p.ranks).collect::<Vec<_>>(),
            [1, 2, 4]
        );
        assert_eq!(strong.points[0].runs, 2, "the repeat at 1 rank");
        assert!(
            (strong.points[0].wall - 4.013).abs() < 1e-12,
            "fastest repeat kept"
        );
        assert!(strong.points[2].oversubscribed && !strong.points[1].oversubscribed);
        assert!(
            strong.fit.is_none(),
            "two points that are not oversubscribed: no Amdahl fit"
        );
        let weak = &s[1];
        assert_eq!(weak.mode, SeriesMode::Weak);
        assert_eq!(
            weak.points.iter().map(|p| p.ranks).collect::<Vec<_>>(),
            [1, 2, 4]
        );
        assert!((weak.points[1].efficiency - 4.013 / 4.113).abs() < 1e-12);
        // imbalance = max / mean compute; the wait is the gap to the slowest rank
        let p2 = &strong.points[1];
        assert!((p2.phases.imbalance - 2.1 / 2.05).abs() < 1e-12);
        assert!((p2.phases.wait - 0.1).abs() < 1e-9);
        assert!(p2.phases.reduce <= 0.002 + 1e-12);
        let md = markdown(
            &s,
            &runs,
            &ReportOptions {
                files: vec![],
                out_dir: PathBuf::new(),
                cores_per_node: Some(2),
                title: None,
            },
            "scaling",
        );
        assert!(
            md.contains("## mc strong (samples = 4e8)")
                && md.contains("## mc weak (samples = 4e8 per rank)"),
            "{md}"
        );
        assert!(
            md.contains("Amdahl fit: not made, so no bound on the speed-up is given: it needs at least 3 rank counts that are not oversubscribed, and this series has 2"),
            "{md}"
        );
        assert!(!md.contains("can never exceed"), "{md}");
        let c = csv(&s);
        assert_eq!(c.lines().count(), 7);
    }

    /// Three points with half the time serial (T = 2 + 2/p s): the fit says
    /// the speed-up at this work stays under 2, and the projection on the
    /// same page keeps that serial time, so no row of it beats the bound it
    /// states for its own (1000 times larger) work.
    #[test]
    fn the_fit_and_the_projection_agree() {
        let runs = vec![
            run(1, 4e8, &[4.0 - 0.013]),
            run(2, 4e8, &[3.0 - 0.013; 2]),
            run(4, 4e8, &[2.5 - 0.013; 4]),
        ];
        let s = build_series(&runs, Some(4));
        let strong = s.iter().find(|x| x.mode == SeriesMode::Strong).unwrap();
        let f = strong.fit.expect("three points: a fit");
        assert!((f.serial_fraction - 0.5).abs() < 1e-9, "{f:?}");
        let m = super::super::model::Measured::with_fit(strong).unwrap();
        // the measured run's read, write and merge are ~0.012 s of the 2 s
        assert!(m.serial_extra > 1.9 && m.serial_extra < 2.0, "{m:?}");
        let big = strong.work.unwrap() * PROJECTION_FACTOR;
        let bound = m.one_core_seconds(big) / m.serial_seconds(big);
        let c = super::super::model::DEFAULT_CLUSTER;
        let mut nodes = 1.0;
        while nodes <= 1024.0 {
            let r = super::super::model::project(&m, &c, big, nodes);
            assert!(r.total >= m.serial_seconds(big), "row {nodes}: {r:?}");
            let speedup_over_one_core = m.one_core_seconds(big) / r.total;
            assert!(speedup_over_one_core <= bound, "row {nodes}");
            nodes *= 2.0;
        }
        // at the measured work the model is the fit: T1 = 4 s on one core,
        // and no node count beats Amdahl's 1/s = 2
        let w = strong.work.unwrap();
        assert!((m.one_core_seconds(w) - 4.0).abs() < 1e-6, "{m:?}");
        let r = super::super::model::project(&m, &c, w, 1024.0);
        assert!(m.one_core_seconds(w) / r.total <= 2.0 + 1e-9);
        let md = markdown(
            &s,
            &runs,
            &ReportOptions {
                files: vec![],
                out_dir: PathBuf::new(),
                cores_per_node: Some(4),
                title: None,
            },
            "scaling",
        );
        assert!(
            md.contains("the speed-up can never exceed 1/s = 2.0"),
            "{md}"
        );
        assert!(
            md.contains(&format!(
                "its speed-up over one core can never exceed {bound:.1}"
            )),
            "{md}"
        );
        // the old page: per-node efficiency near 100% at 32 nodes with half
        // the one-rank time serial; now the serial seconds weigh in
        let one = super::super::model::project(&m, &c, big, 1.0);
        let n32 = super::super::model::project(&m, &c, big, 32.0);
        assert!(one.total / n32.total / 32.0 < 0.9);
    }

    #[test]
    fn hosts_parse_with_their_rank_counts() {
        assert_eq!(parse_host("node01 (2 ranks)"), ("node01".into(), 2));
        assert_eq!(parse_host("a (b) (1 rank)"), ("a (b)".into(), 1));
        assert_eq!(parse_host("plain"), ("plain".into(), 1));
        assert_eq!(short_number(4e8), "4e8");
        assert_eq!(short_number(1536.0), "1536");
    }
}
