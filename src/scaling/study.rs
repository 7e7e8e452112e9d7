//! `tessera scale` (driver layer): plans a strong or weak scaling series for
//! one job, runs it with `mpirun` or submits one SLURM job per point with
//! `sbatch`, waits for the outputs and writes the report.
//!
//! Strong scaling keeps the total work fixed (the knob value is the same at
//! every rank count); weak scaling keeps the work per rank fixed (the knob
//! grows with the ranks, see [`Growth`](super::Growth)).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::{format_value, knob_for, WorkKnob};
use crate::config::usage;

/// Which series a study runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingMode {
    /// Fixed total work.
    Strong,
    /// Work proportional to the ranks.
    Weak,
    /// A strong and a weak series.
    Both,
}

/// How a study starts its runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launcher {
    /// Run each point here, one after another, with `mpirun`.
    Mpirun,
    /// Submit one SLURM job per point with `sbatch`, wait, then report.
    Sbatch,
}

/// A validated study (usage errors exit 2 before anything runs).
#[derive(Clone, Debug)]
pub struct Study {
    /// The job's work knob.
    pub knob: &'static WorkKnob,
    /// Rank counts, ascending, without duplicates.
    pub ranks: Vec<usize>,
    /// "strong", "weak" or both, in that order.
    pub modes: Vec<&'static str>,
    /// Run here with `mpirun` or submit with `sbatch`.
    pub launcher: Launcher,
    /// Knob value: total work (strong) or work of one rank (weak).
    pub work: f64,
    /// Rayon threads per rank.
    pub threads: usize,
    /// Runs per point.
    pub repeat: usize,
    /// Where outputs, logs, prepared inputs and the report go.
    pub out_dir: PathBuf,
    /// Job config file passed to every run.
    pub config: Option<PathBuf>,
    /// The user's `KEY=VALUE` overrides, passed to every run.
    pub sets: Vec<String>,
    /// sbatch: ranks per node; `None`: all ranks on one node.
    pub ranks_per_node: Option<usize>,
    /// sbatch: the job script.
    pub script: PathBuf,
    /// sbatch: extra options passed to every `sbatch`.
    pub sbatch_args: Vec<String>,
    /// Cores per node, to mark oversubscribed points; `None`: unknown.
    pub cores_per_node: Option<usize>,
    /// Write the report after the runs.
    pub report: bool,
    /// Print the commands without running them.
    pub dry_run: bool,
    /// sbatch: how long to wait for the jobs.
    pub wait_limit: Duration,
}

/// One run of the series.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// "strong" or "weak".
    pub mode: &'static str,
    /// MPI ranks.
    pub ranks: usize,
    /// Which repeat, from 1.
    pub repeat: usize,
    /// The knob value for this run.
    pub value: f64,
    /// The run's output file.
    pub out: PathBuf,
}

/// What `tessera scale` was asked for, before validation: plain values, as
/// given on the command line.
#[derive(Clone, Debug)]
pub struct StudyOptions {
    /// The job to study (`tessera <job>`); must have a work knob.
    pub job: String,
    /// Rank counts, in any order, duplicates allowed.
    pub ranks: Vec<usize>,
    /// Strong, weak or both series.
    pub mode: ScalingMode,
    /// Run here with `mpirun` or submit with `sbatch`.
    pub launcher: Launcher,
    /// The knob value as typed (`4e8`, `1536`); `None`: the job's default.
    pub work: Option<String>,
    /// Rayon threads per rank.
    pub threads: usize,
    /// Runs per point.
    pub repeat: usize,
    /// Where outputs, logs and the report go.
    pub out_dir: PathBuf,
    /// Job config file passed to every run.
    pub config: Option<PathBuf>,
    /// `KEY=VALUE` config overrides passed to every run.
    pub sets: Vec<String>,
    /// sbatch: ranks per node; `None`: all ranks on one node.
    pub ranks_per_node: Option<usize>,
    /// sbatch: the job script; `None`: `slurm/<job>.sbatch`.
    pub script: Option<PathBuf>,
    /// sbatch: extra options passed to every `sbatch`.
    pub sbatch_args: Vec<String>,
    /// Cores per node; `None`: this machine's with mpirun, unknown with sbatch.
    pub cores_per_node: Option<usize>,
    /// sbatch: minutes to wait for the jobs (at least 1).
    pub wait_minutes: u64,
    /// Write the report after the runs.
    pub report: bool,
    /// Print the commands without running them.
    pub dry_run: bool,
}

impl Study {
    /// Validates `opts` into a study; mistakes are usage errors.
    pub fn new(opts: StudyOptions) -> anyhow::Result<Study> {
        let knob = knob_for(&opts.job)?;
        if opts.ranks.is_empty() || opts.ranks.contains(&0) {
            return Err(usage("--ranks: give rank counts >= 1, e.g. --ranks 1,2,4"));
        }
        let mut ranks = opts.ranks;
        ranks.sort_unstable();
        ranks.dedup();
        let work = match &opts.work {
            None => knob.default,
            Some(s) => crate::config::parse_count(s)
                .map(|v| v as f64)
                .or_else(|| s.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| {
                    usage(format!(
                        "--work '{s}': expected a positive number such as 4e8 (the job's '{}')",
                        knob.key
                    ))
                })?,
        };
        if opts.threads == 0 || opts.repeat == 0 {
            return Err(usage("--threads and --repeat must be at least 1"));
        }
        if opts.ranks_per_node == Some(0) {
            return Err(usage("--ranks-per-node must be at least 1"));
        }
        for s in &opts.sets {
            if !s.contains('=') {
                return Err(usage(format!("--set '{s}': expected key=value")));
            }
            let key = s.split('=').next().unwrap_or("").trim();
            let own = if knob.input.is_some() {
                key == "input"
            } else {
                key == knob.key
            };
            if own || key == "out" || key == "threads" {
                return Err(usage(format!(
                    "--set {key}=...: the study sets '{key}' itself (use --work / --threads / --out-dir)"
                )));
            }
        }
        let modes = match opts.mode {
            ScalingMode::Strong => vec!["strong"],
            ScalingMode::Weak => vec!["weak"],
            ScalingMode::Both => vec!["strong", "weak"],
        };
        let script = opts
            .script
            .unwrap_or_else(|| PathBuf::from(format!("slurm/{}.sbatch", knob.job)));
        if opts.launcher == Launcher::Sbatch && !opts.dry_run && !script.is_file() {
            return Err(usage(format!(
                "--script: '{}' not found (run from the repository root or pass --script)",
                script.display()
            )));
        }
        let cores_per_node = opts.cores_per_node.or(match opts.launcher {
            // local runs: oversubscription is known
            Launcher::Mpirun => std::thread::available_parallelism().ok().map(|n| n.get()),
            Launcher::Sbatch => None,
        });
        Ok(Study {
            knob,
            ranks,
            modes,
            launcher: opts.launcher,
            work,
            threads: opts.threads,
            repeat: opts.repeat,
            out_dir: opts.out_dir,
            config: opts.config,
            sets: opts.sets,
            ranks_per_node: opts.ranks_per_node,
            script,
            sbatch_args: opts.sbatch_args,
            cores_per_node,
            report: opts.report,
            dry_run: opts.dry_run,
            wait_limit: Duration::from_secs(opts.wait_minutes.max(1) * 60),
        })
    }

    /// Every run of the study, in the order they are launched: round by
    /// round, each round every mode and rank count once.
    pub fn points(&self) -> Vec<Point> {
        // repeats outermost: each round visits every point once, so a busy
        // spell on a shared machine spreads over the points instead of
        // spoiling all repeats of one
        let mut v = Vec::new();
        for r in 1..=self.repeat {
            for &mode in &self.modes {
                for &p in &self.ranks {
                    let value = if mode == "weak" {
                        self.knob.growth.scaled(self.work, p)
                    } else {
                        self.work
                    };
                    let out = self
                        .out_dir
                        .join(format!("{}-{mode}-p{p}-r{r}.h5", self.knob.job));
                    v.push(Point {
                        mode,
                        ranks: p,
                        repeat: r,
                        value,
                        out,
                    });
                }
            }
        }
        v
    }

    /// The input file a point reads, for jobs whose work is their input's
    /// size (made by [`WorkKnob::prepare_input`] before the runs).
    pub fn input_for(&self, pt: &Point) -> Option<PathBuf> {
        self.knob.input_path(&self.out_dir, pt.value)
    }

    /// The job's arguments for one point (after `tessera <job>`), except
    /// `--config`, which the launchers place themselves: the knob's study
    /// settings, the user's `--set`s (which win), the size (`--set KEY=V`
    /// or `--input FILE`), threads and output.
    pub fn job_args(&self, pt: &Point) -> Vec<String> {
        let mut a = Vec::new();
        for s in self
            .knob
            .study_sets
            .iter()
            .copied()
            .chain(self.sets.iter().map(String::as_str))
        {
            a.push("--set".to_string());
            a.push(s.to_string());
        }
        a.extend(self.knob.size_args(pt.value, self.input_for(pt).as_deref()));
        a.extend([
            "--set".into(),
            format!("threads={}", self.threads),
            "--set".into(),
            format!("out={}", pt.out.display()),
        ]);
        a
    }

    fn mpirun_command(&self, bin: &Path, pt: &Point) -> Command {
        let mpirun = std::env::var("TESSERA_MPIRUN").unwrap_or_else(|_| "mpirun".into());
        let mut c = Command::new(mpirun);
        c.args([
            "-n",
            &pt.ranks.to_string(),
            "--oversubscribe",
            "--bind-to",
            "none",
        ]);
        c.arg(bin).arg(self.knob.job);
        if let Some(cfg) = &self.config {
            c.arg("--config").arg(cfg);
        }
        c.args(self.job_args(pt));
        c
    }

    fn sbatch_command(&self, bin: &Path, pt: &Point) -> Command {
        let per_node = self.ranks_per_node.unwrap_or(pt.ranks).min(pt.ranks);
        let nodes = pt.ranks.div_ceil(per_node);
        let name = format!(
            "tessera-{}-{}-p{}-r{}",
            self.knob.job, pt.mode, pt.ranks, pt.repeat
        );
        let mut export = format!("ALL,TESSERA={}", bin.display());
        if let Some(cfg) = &self.config {
            export.push_str(&format!(",TESSERA_CONFIG={}", cfg.display()));
        }
        let mut c = Command::new("sbatch");
        c.args([
            "--parsable".to_string(),
            format!("--job-name={name}"),
            format!("--nodes={nodes}"),
            format!("--ntasks={}", pt.ranks),
            format!("--ntasks-per-node={per_node}"),
            format!("--cpus-per-task={}", self.threads),
            format!(
                "--output={}",
                self.out_dir.join(format!("{name}-%j.log")).display()
            ),
            format!("--export={export}"),
        ]);
        c.args(&self.sbatch_args);
        c.arg(&self.script);
        c.args(self.job_args(pt));
        c
    }
}

fn shown(c: &Command) -> String {
    std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the study and, unless told not to, writes the report into the
/// output directory. Returns the output files.
pub fn run(study: &Study) -> anyhow::Result<Vec<PathBuf>> {
    let bin = std::env::current_exe().context("locating the tessera binary")?;
    let points = study.points();
    if !study.dry_run {
        std::fs::create_dir_all(&study.out_dir)
            .with_context(|| format!("creating '{}'", study.out_dir.display()))?;
    }
    // inputs first, once per distinct size, reused by every repeat (and by
    // sbatch jobs: the out dir must be on a file system the nodes share)
    let mut prepared: Vec<PathBuf> = Vec::new();
    for pt in &points {
        let Some(file) = study.input_for(pt) else {
            continue;
        };
        if prepared.contains(&file) {
            continue;
        }
        eprintln!(
            "scale: input {} = {} -> {}{}",
            study.knob.key,
            format_value(pt.value),
            file.display(),
            if file.is_file() { " (cached)" } else { "" }
        );
        if !study.dry_run {
            study.knob.prepare_input(&bin, pt.value, &file)?;
        }
        prepared.push(file);
    }
    let mut outputs = Vec::new();
    match study.launcher {
        Launcher::Mpirun => {
            for (i, pt) in points.iter().enumerate() {
                let mut c = study.mpirun_command(&bin, pt);
                eprintln!("scale [{}/{}] {}", i + 1, points.len(), shown(&c));
                if study.dry_run {
                    continue;
                }
                let o = c
                    .stdout(std::process::Stdio::null())
                    .output()
                    .context("starting mpirun (is OpenMPI installed?)")?;
                if !o.status.success() {
                    bail!(
                        "run {} failed with {}:\n{}",
                        pt.out.display(),
                        o.status,
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
                outputs.push(pt.out.clone());
            }
        }
        Launcher::Sbatch => {
            let mut jobs = Vec::new();
            for pt in &points {
                let mut c = study.sbatch_command(&bin, pt);
                eprintln!("scale: {}", shown(&c));
                if study.dry_run {
                    continue;
                }
                let o = c.output().context("running sbatch (is SLURM installed?)")?;
                if !o.status.success() {
                    bail!(
                        "sbatch failed: {}",
                        String::from_utf8_lossy(&o.stderr).trim()
                    );
                }
                let id = String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .to_string();
                eprintln!("scale: submitted job {id} -> {}", pt.out.display());
                jobs.push((id, pt.clone()));
            }
            if !study.dry_run {
                wait_for_jobs(&jobs, study.wait_limit)?;
                for (id, pt) in &jobs {
                    if pt.out.is_file() {
                        outputs.push(pt.out.clone());
                    } else {
                        eprintln!(
                            "scale: job {id} left no {} (see its log in {})",
                            pt.out.display(),
                            study.out_dir.display()
                        );
                    }
                }
                if outputs.len() < jobs.len() {
                    bail!(
                        "{} of {} jobs produced no output",
                        jobs.len() - outputs.len(),
                        jobs.len()
                    );
                }
            }
        }
    }
    if study.report && !study.dry_run {
        let opts = super::report::ReportOptions {
            files: outputs.clone(),
            out_dir: study.out_dir.clone(),
            cores_per_node: study.cores_per_node,
            title: None,
        };
        super::report::run(&opts)?;
    }
    Ok(outputs)
}

/// Polls `squeue` until none of `jobs` is queued or running.
fn wait_for_jobs(jobs: &[(String, Point)], limit: Duration) -> anyhow::Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = jobs.iter().map(|(id, _)| id.as_str()).collect();
    let list = ids.join(",");
    let start = Instant::now();
    eprintln!("scale: waiting for jobs {list}");
    loop {
        let o = Command::new("squeue")
            .args(["-h", "-o", "%i", "-j", &list])
            .output()
            .context("running squeue")?;
        // squeue exits non-zero once every listed job has left the queue
        let left = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        if left == 0 {
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!(
                "{left} of {} jobs still queued or running after {:?}; run `tessera report` on the outputs later",
                ids.len(),
                limit
            );
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options of a plain `tessera scale` (its command-line defaults).
    fn defaults() -> StudyOptions {
        StudyOptions {
            job: "mc".into(),
            ranks: vec![1, 2, 4],
            mode: ScalingMode::Strong,
            launcher: Launcher::Mpirun,
            work: None,
            threads: 1,
            repeat: 1,
            out_dir: PathBuf::from("out/scaling"),
            config: None,
            sets: Vec::new(),
            ranks_per_node: None,
            script: None,
            sbatch_args: Vec::new(),
            cores_per_node: None,
            wait_minutes: 60,
            report: true,
            dry_run: false,
        }
    }

    fn study(opts: StudyOptions) -> anyhow::Result<Study> {
        Study::new(opts)
    }

    #[test]
    fn strong_keeps_total_and_weak_scales_it() {
        let s = study(StudyOptions {
            ranks: vec![4, 1, 2],
            mode: ScalingMode::Both,
            work: Some("1e6".into()),
            ..defaults()
        })
        .unwrap();
        let pts = s.points();
        assert_eq!(pts.len(), 6);
        let strong: Vec<f64> = pts
            .iter()
            .filter(|p| p.mode == "strong")
            .map(|p| p.value)
            .collect();
        let weak: Vec<(usize, f64)> = pts
            .iter()
            .filter(|p| p.mode == "weak")
            .map(|p| (p.ranks, p.value))
            .collect();
        assert_eq!(strong, vec![1e6; 3]);
        assert_eq!(weak, vec![(1, 1e6), (2, 2e6), (4, 4e6)]);
        let args = s.job_args(&pts[5]);
        assert!(args.contains(&"samples=4000000".to_string()), "{args:?}");
        assert!(args.contains(&"threads=1".to_string()));
    }

    #[test]
    fn input_jobs_read_a_prepared_file_per_size() {
        let s = study(StudyOptions {
            job: "image".into(),
            ranks: vec![1, 4],
            mode: ScalingMode::Weak,
            work: Some("1024".into()),
            out_dir: PathBuf::from("/o"),
            sets: vec!["kernel=box:3".into()],
            ..defaults()
        })
        .unwrap();
        let pts = s.points();
        assert_eq!(pts[1].value, 2048.0);
        let args = s.job_args(&pts[1]);
        let i = args.iter().position(|a| a == "--input").unwrap();
        assert_eq!(args[i + 1], "/o/inputs/image-side-2048.h5");
        // the user's --set comes after the study's own and wins
        let study_k = args.iter().position(|a| a == "kernel=radial:15").unwrap();
        let user_k = args.iter().position(|a| a == "kernel=box:3").unwrap();
        assert!(study_k < user_k, "{args:?}");
        assert!(!args.iter().any(|a| a.starts_with("side=")), "{args:?}");
        let lc = study(StudyOptions {
            job: "lightcurves".into(),
            work: Some("100".into()),
            ..defaults()
        })
        .unwrap();
        let args = lc.job_args(&lc.points()[0]);
        assert!(args.contains(&"structure_function=false".to_string()));
        assert!(study(StudyOptions {
            job: "lightcurves".into(),
            sets: vec!["input=x.h5".into()],
            ..defaults()
        })
        .is_err());
    }

    #[test]
    fn sbatch_points_ask_for_nodes_tasks_and_cpus() {
        let s = study(StudyOptions {
            ranks: vec![8],
            launcher: Launcher::Sbatch,
            ranks_per_node: Some(4),
            threads: 2,
            dry_run: true,
            ..defaults()
        })
        .unwrap();
        let pt = &s.points()[0];
        let c = shown(&s.sbatch_command(Path::new("/bin/tessera"), pt));
        for want in [
            "--nodes=2",
            "--ntasks=8",
            "--ntasks-per-node=4",
            "--cpus-per-task=2",
            "slurm/mc.sbatch",
        ] {
            assert!(c.contains(want), "{want} missing in {c}");
        }
    }

    #[test]
    fn bad_studies_are_usage_errors() {
        for opts in [
            StudyOptions {
                ranks: vec![0, 2],
                ..defaults()
            },
            StudyOptions {
                job: "nope".into(),
                ..defaults()
            },
            StudyOptions {
                work: Some("-5".into()),
                ..defaults()
            },
            StudyOptions {
                sets: vec!["samples=5".into()],
                ..defaults()
            },
            StudyOptions {
                threads: 0,
                ..defaults()
            },
        ] {
            let label = format!("{opts:?}");
            let e = study(opts).unwrap_err();
            assert!(
                e.downcast_ref::<crate::config::UsageError>().is_some(),
                "{label}: {e}"
            );
        }
    }
}
