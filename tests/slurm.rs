//! The scripts in slurm/ and `tessera scale --launcher sbatch` on a real
//! single-node SLURM started for the test: munged, slurmctld and slurmd
//! from Debian's packages (installed with apt-get when missing and allowed),
//! configured under a temporary directory, and stopped by pid at the end.
//!
//! Skips with a printed reason where SLURM cannot be installed, or when
//! TESSERA_SKIP_SLURM=1.

mod util;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use util::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Daemons this test started, stopped by pid (SIGTERM, then SIGKILL) when
/// dropped, even if the test fails.
struct Daemons {
    children: Vec<(&'static str, Child)>,
}

impl Drop for Daemons {
    fn drop(&mut self) {
        // slurmd first, munged last: each may still talk to the next
        for (name, child) in self.children.iter_mut().rev() {
            let pid = child.id();
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let start = Instant::now();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if start.elapsed() > Duration::from_secs(10) {
                    note(&format!("{name} (pid {pid}) ignored SIGTERM; killing"));
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            note(&format!("stopped {name} (pid {pid})"));
        }
    }
}

/// A single-node SLURM under `dir`.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    /// Held for its `Drop`: the daemons live as long as the cluster.
    _daemons: Daemons,
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(cmd).args(args).output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl Cluster {
    fn start(dir: &Path) -> Result<Cluster, String> {
        let host = command_output("hostname", &["-s"]).ok_or("hostname -s failed")?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mem_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .map_or(1024, |kib| kib / 1024);
        let uid: u32 = command_output("id", &["-u", "munge"])
            .and_then(|s| s.parse().ok())
            .ok_or("no munge user")?;
        let gid: u32 = command_output("id", &["-g", "munge"])
            .and_then(|s| s.parse().ok())
            .ok_or("no munge group")?;

        // MUNGE: its own key and socket; munged insists that its folder is
        // owned by the munge user and not writable by others
        let munge = dir.join("munge");
        for d in ["munge", "state", "spool", "log"] {
            std::fs::create_dir_all(dir.join(d)).map_err(|e| e.to_string())?;
        }
        let chown = Command::new("chown")
            .args(["-R", "munge:munge", munge.to_str().unwrap()])
            .status()
            .map_err(|e| e.to_string())?;
        if !chown.success() {
            return Err("chown of the munge folder failed".into());
        }
        let key = munge.join("munge.key");
        let socket = munge.join("munge.socket");
        let ok = Command::new("mungekey")
            .args(["-c", "-k", key.to_str().unwrap()])
            .uid(uid)
            .gid(gid)
            .status()
            .map_err(|e| e.to_string())?
            .success();
        if !ok {
            return Err("mungekey failed".into());
        }
        let mut daemons = Daemons {
            children: Vec::new(),
        };
        let log = |name: &str| {
            std::fs::File::create(dir.join("log").join(format!("{name}.out")))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null())
        };
        let munged = Command::new("munged")
            .arg("--foreground")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--pid-file={}", munge.join("munged.pid").display()))
            .arg(format!(
                "--seed-file={}",
                munge.join("munged.seed").display()
            ))
            .arg(format!("--log-file={}", munge.join("munged.log").display()))
            .uid(uid)
            .gid(gid)
            .stdin(Stdio::null())
            .stdout(log("munged"))
            .stderr(log("munged"))
            .spawn()
            .map_err(|e| format!("starting munged: {e}"))?;
        daemons.children.push(("munged", munged));
        wait_for(Duration::from_secs(10), || socket.exists())
            .map_err(|_| format!("munged made no socket; see {}", dir.join("log").display()))?;

        let d = dir.display();
        let conf_text = format!(
            "# generated by tests/slurm.rs for a throw-away single-node cluster
ClusterName=tessera-test
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=60
KillWait=5
Waittime=0
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
",
            ctld_port = free_port(),
            slurmd_port = free_port(),
            socket = socket.display(),
            mem = (mem_mib / 2).max(256),
        );
        let conf = dir.join("slurm.conf");
        std::fs::write(&conf, conf_text).map_err(|e| e.to_string())?;
        for (name, bin) in [("slurmctld", "slurmctld"), ("slurmd", "slurmd")] {
            let child = Command::new(bin)
                .args(["-D", "-f", conf.to_str().unwrap()])
                .env("SLURM_CONF", &conf)
                .stdin(Stdio::null())
                .stdout(log(name))
                .stderr(log(name))
                .spawn()
                .map_err(|e| format!("starting {name}: {e}"))?;
            daemons.children.push((name, child));
        }
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            conf,
            _daemons: daemons,
        };
        let idle = wait_for(Duration::from_secs(60), || {
            cluster
                .client("sinfo", &["-h", "-N", "-o", "%T"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
                .unwrap_or(false)
        });
        if idle.is_err() {
            let logs = cluster.logs();
            return Err(format!("the node never became idle\n{logs}"));
        }
        Ok(cluster)
    }

    /// A SLURM client command pointed at this cluster, with the OpenMPI
    /// settings the job steps need here (exported into every job).
    fn client(&self, cmd: &str, args: &[&str]) -> Command {
        let mut c = Command::new(cmd);
        c.args(args)
            .env("SLURM_CONF", &self.conf)
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .env("OMPI_MCA_btl", "self,vader")
            .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
            .current_dir(ROOT);
        c
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for f in ["slurmctld.out", "slurmd.out", "munged.out"] {
            let text = std::fs::read_to_string(self.dir.join("log").join(f)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            s.push_str(&format!(
                "--- {f} (last lines)\n{}\n",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        s
    }
}

/// Prints past the test harness's capture, so skips and progress show in CI logs.
fn note(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "slurm test: {msg}");
}

fn wait_for(limit: Duration, mut ok: impl FnMut() -> bool) -> Result<(), ()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(())
}

/// `sbatch --wait` of one script; returns (job id, exit status, log text).
struct Submitted {
    name: String,
    child: Child,
}

fn submit(
    c: &Cluster,
    name: &str,
    script: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Submitted {
    let mut export = format!("ALL,TESSERA={BIN},TESSERA_OUTDIR={}", c.dir.display());
    for (k, v) in env {
        export.push_str(&format!(",{k}={v}"));
    }
    let log = format!("--output={}/{name}-%j.log", c.dir.display());
    let mut cmd = c.client(
        "sbatch",
        &[
            "--parsable",
            "--wait",
            "--nodes=1",
            "--ntasks-per-node=2",
            "--cpus-per-task=1",
            "--time=00:05:00",
            &log,
            &format!("--export={export}"),
            script.to_str().unwrap(),
        ],
    );
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    Submitted {
        name: name.to_string(),
        child: cmd.spawn().expect("sbatch"),
    }
}

fn finish(c: &Cluster, s: Submitted) -> (String, Output, String) {
    let o = s.child.wait_with_output().expect("sbatch --wait");
    let id = stdout(&o).lines().next().unwrap_or("").trim().to_string();
    let log =
        std::fs::read_to_string(c.dir.join(format!("{}-{id}.log", s.name))).unwrap_or_default();
    (id, o, log)
}

fn h5_u64(file: &Path, name: &str) -> u64 {
    hdf5::File::open(file)
        .unwrap()
        .dataset(name)
        .unwrap()
        .read_scalar()
        .unwrap()
}

#[test]
fn slurm_scripts_and_scale_run_on_a_real_single_node_slurm() {
    if std::env::var("TESSERA_SKIP_SLURM").is_ok_and(|v| v == "1") {
        note("skipped: TESSERA_SKIP_SLURM=1");
        return;
    }
    let ensure = Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/ensure-slurm.sh"))
        .output()
        .expect("bash");
    if !ensure.status.success() {
        note(&format!(
            "skipped: SLURM cannot be installed here: {}",
            stderr(&ensure).trim()
        ));
        return;
    }
    let started = Instant::now();
    let dir = TestDir::new("slurm");
    // munged checks every parent folder of its socket: /tmp is fine, but
    // the test folder must be searchable by the munge user
    let _ = Command::new("chmod")
        .args(["0755", dir.0.to_str().unwrap()])
        .status();
    let cluster = match Cluster::start(&dir.0) {
        Ok(c) => c,
        Err(e) => panic!("SLURM is installed but the test cluster did not start: {e}"),
    };
    note(&format!(
        "cluster up in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        cluster.conf.display()
    ));

    // every script in slurm/ whose job exists in this binary
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("slurm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sbatch"))
        .collect();
    scripts.sort();
    assert!(
        scripts.len() >= 3,
        "slurm/ should hold mc, lightcurves and image scripts"
    );
    let mut pending = Vec::new();
    let mut skipped = Vec::new();
    for script in &scripts {
        let job = script.file_stem().unwrap().to_string_lossy().into_owned();
        let exists = Command::new(BIN)
            .args([job.as_str(), "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !exists {
            skipped.push(job);
            continue;
        }
        let config = Path::new(ROOT).join(format!("configs/{job}.toml"));
        let config = if config.is_file() {
            config.display().to_string()
        } else {
            "/dev/null".to_string()
        };
        // the job's small size: `--set samples=...` (mc), or an input
        // synthesised here, as `tessera scale` does before submitting
        let small: Vec<String> = match tessera::scaling::knob_for(&job) {
            Ok(k) => {
                let input = k.input_path(&cluster.dir, k.small);
                if let Some(f) = &input {
                    k.prepare_input(Path::new(BIN), k.small, f)
                        .unwrap_or_else(|e| panic!("synthesising the {job} input: {e:#}"));
                }
                k.size_args(k.small, input.as_deref())
            }
            Err(_) => Vec::new(),
        };
        let small: Vec<&str> = small.iter().map(String::as_str).collect();
        let env = [("TESSERA_CONFIG", config.as_str())];
        pending.push((
            job.clone(),
            "srun",
            submit(&cluster, &format!("{job}-srun"), script, &env, &small),
        ));
        if job == "mc" {
            let env_mpirun = [
                ("TESSERA_CONFIG", config.as_str()),
                ("TESSERA_LAUNCHER", "mpirun"),
            ];
            pending.push((
                job.clone(),
                "mpirun",
                submit(&cluster, "mc-mpirun", script, &env_mpirun, &small),
            ));
            // a config error must fail the job (exit 2 from every rank) and leave no output
            pending.push((
                job.clone(),
                "bad",
                submit(&cluster, "mc-bad", script, &env, &["--set", "samples=0"]),
            ));
        }
        if job == "lightcurves" {
            // a missing input must fail the job and leave no output
            pending.push((
                job.clone(),
                "bad",
                submit(
                    &cluster,
                    "lightcurves-bad",
                    script,
                    &env,
                    &["--input", "/nonexistent/missing-lc.h5"],
                ),
            ));
        }
    }
    for job in &skipped {
        note(&format!(
            "skipped slurm/{job}.sbatch: `tessera {job}` does not exist in this build"
        ));
    }
    for j in ["mc", "lightcurves", "image"] {
        assert!(skipped.iter().all(|s| s != j), "tessera {j} must exist");
    }

    for (job, how, s) in pending {
        let (id, o, log) = finish(&cluster, s);
        let out = cluster.dir.join(format!("{job}-{id}.h5"));
        if how == "bad" {
            assert!(
                !o.status.success(),
                "a bad config must fail the job; log:\n{log}"
            );
            let names = if job == "mc" {
                "samples"
            } else {
                "missing-lc.h5"
            };
            assert!(log.contains(names), "the log names the bad setting:\n{log}");
            assert!(!out.exists(), "no output after a failed job");
            note(&format!(
                "{job} with a bad config failed as it should ({}), job {id}",
                o.status
            ));
            continue;
        }
        assert!(
            o.status.success(),
            "sbatch --wait for {job} via {how} failed: {}\n{}\nlog:\n{log}\n{}",
            o.status,
            stderr(&o),
            cluster.logs()
        );
        assert!(
            out.is_file(),
            "{job} via {how}: no {} (log:\n{log})",
            out.display()
        );
        assert_eq!(h5_u64(&out, "/provenance/ranks"), 2, "{job} via {how}");
        assert_eq!(
            h5_u64(&out, "/provenance/threads_per_rank"),
            1,
            "{job} via {how}"
        );
        let t = hdf5::File::open(&out)
            .unwrap()
            .dataset("timings")
            .unwrap()
            .read_2d::<f64>()
            .unwrap();
        assert_eq!(t.shape(), &[2, 6]);
        assert!(
            log.contains(&format!("tessera {job}: output")),
            "log:\n{log}"
        );
        let f = hdf5::File::open(&out).unwrap();
        match job.as_str() {
            "lightcurves" => assert_eq!(h5_u64(&out, "/summary/objects"), 32, "{job}"),
            "image" => assert_eq!(f.dataset("convolved").unwrap().shape(), vec![512, 512]),
            _ => {}
        }
        if let Ok(k) = tessera::scaling::knob_for(&job) {
            if let Some(i) = k.input {
                assert_eq!(
                    (i.value_in_output)(&f),
                    Some(k.small),
                    "{job} size read back"
                );
            }
        }
        note(&format!(
            "slurm/{job}.sbatch via {how}: job {id} ok -> {}",
            out.display()
        ));
    }

    requeued_at_the_time_limit_and_resumed(&cluster);

    // a scaling series submitted with sbatch, collected and reported
    let scale_dir = cluster.dir.join("scale");
    let scale_dir_s = scale_dir.display().to_string();
    let o = run_limited(
        {
            let mut c = cluster.client(
                BIN,
                &[
                    "scale",
                    "--job",
                    "mc",
                    "--ranks",
                    "1,2",
                    "--mode",
                    "both",
                    "--launcher",
                    "sbatch",
                    "--work",
                    "4e6",
                    "--out-dir",
                    &scale_dir_s,
                    "--wait-minutes",
                    "4",
                ],
            );
            c.env("TESSERA", BIN);
            c
        },
        Duration::from_secs(300),
        Path::new(ROOT),
    );
    assert_success(&o);
    let md = std::fs::read_to_string(scale_dir.join("scaling.md")).unwrap();
    assert!(
        md.contains("## mc strong") && md.contains("## mc weak"),
        "{md}"
    );
    for f in ["scaling.csv", "scaling.png", "scaling.svg"] {
        assert!(scale_dir.join(f).is_file(), "{f} missing");
    }
    note(&format!(
        "tessera scale --launcher sbatch made {}",
        scale_dir.join("scaling.md").display()
    ));

    // a job with a prepared input: synthesised locally once per size into
    // the (shared) out dir, then submitted with --input
    let lc_dir = cluster.dir.join("scale-lc");
    let lc_dir_s = lc_dir.display().to_string();
    let o = run_limited(
        {
            let mut c = cluster.client(
                BIN,
                &[
                    "scale",
                    "--job",
                    "lightcurves",
                    "--ranks",
                    "1,2",
                    "--mode",
                    "both",
                    "--launcher",
                    "sbatch",
                    "--work",
                    "16",
                    "--out-dir",
                    &lc_dir_s,
                    "--wait-minutes",
                    "4",
                ],
            );
            c.env("TESSERA", BIN);
            c
        },
        Duration::from_secs(300),
        Path::new(ROOT),
    );
    assert_success(&o);
    for n in [16, 32] {
        let f = lc_dir.join(format!("inputs/lightcurves-objects-{n}.h5"));
        assert!(f.is_file(), "{} missing", f.display());
    }
    let md = std::fs::read_to_string(lc_dir.join("scaling.md")).unwrap();
    assert!(
        md.contains("## lightcurves strong (objects = 16")
            && md.contains("## lightcurves weak (objects = 16 per rank"),
        "{md}"
    );
    note(&format!(
        "tessera scale --job lightcurves --launcher sbatch made {}",
        lc_dir.join("scaling.md").display()
    ));
    drop(cluster);
    note(&format!("done in {:.1} s", started.elapsed().as_secs_f64()));
}

/// `scontrol show job ID` field `key` (e.g. JobState, Restarts), if the job
/// is still known.
fn job_field(c: &Cluster, id: &str, key: &str) -> Option<String> {
    let o = c.client("scontrol", &["show", "job", id]).output().ok()?;
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_string))
}

/// lightcurves.sbatch with a one-minute time limit and SLURM's warning
/// 55 s before it (`--signal=B:USR1@55`): the work (slowed to ~40 s per run
/// on 2 ranks by a delay per tile) cannot finish before the warning, so the
/// job stops resumable (exit 75), requeues itself, resumes with
/// `SLURM_RESTART_COUNT > 0`, and ends with the features of an
/// uninterrupted run, byte for byte.
fn requeued_at_the_time_limit_and_resumed(c: &Cluster) {
    let t0 = Instant::now();
    let input = c.dir.join("requeue-lc.h5");
    let input_s = input.display().to_string();
    let ok = |cmd: Command| assert_success(&run(cmd, &c.dir));
    ok(plain(&[
        "synth",
        "lightcurves",
        "-n",
        "160",
        "--epochs",
        "40",
        "--out",
        &input_s,
    ]));
    let reference = c.dir.join("requeue-ref.h5");
    ok(mpirun(
        2,
        &[
            "lightcurves",
            "--input",
            &input_s,
            "--set",
            "tile=2",
            "--threads",
            "1",
            "--out",
            reference.to_str().unwrap(),
        ],
    ));
    let export = format!(
        "ALL,TESSERA={BIN},TESSERA_OUTDIR={},TESSERA_CONFIG=/dev/null,TESSERA_FAULT_RECORD_DELAY_MS=1000",
        c.dir.display()
    );
    let script = Path::new(ROOT).join("slurm/lightcurves.sbatch");
    let o = c
        .client(
            "sbatch",
            &[
                "--parsable",
                "--nodes=1",
                "--ntasks-per-node=2",
                "--cpus-per-task=1",
                "--time=00:01:00",
                "--signal=B:USR1@55",
                &format!("--output={}/requeue-%j.log", c.dir.display()),
                &format!("--export={export}"),
                script.to_str().unwrap(),
                "--input",
                &input_s,
                "--set",
                "tile=2",
            ],
        )
        .output()
        .expect("sbatch");
    assert!(o.status.success(), "sbatch: {}", stderr(&o));
    let id = stdout(&o).trim().split(';').next().unwrap().to_string();
    let out = c.dir.join(format!("lightcurves-{id}.h5"));
    let mut restarts = 0u32;
    let done = wait_for(Duration::from_secs(480), || {
        if let Some(r) = job_field(c, &id, "Restarts").and_then(|r| r.parse().ok()) {
            restarts = restarts.max(r);
        }
        matches!(
            job_field(c, &id, "JobState").as_deref(),
            Some("COMPLETED" | "FAILED" | "TIMEOUT" | "CANCELLED")
        ) || (out.is_file() && job_field(c, &id, "JobState").is_none())
    });
    let log = std::fs::read_to_string(c.dir.join(format!("requeue-{id}.log"))).unwrap_or_default();
    assert!(
        done.is_ok(),
        "job {id} did not finish in 8 minutes; log:\n{log}\n{}",
        c.logs()
    );
    assert_eq!(
        job_field(c, &id, "JobState")
            .as_deref()
            .unwrap_or("COMPLETED"),
        "COMPLETED",
        "log:\n{log}"
    );
    assert!(
        restarts >= 1 && log.contains("requeueing") && log.contains("resuming"),
        "no requeue (restarts {restarts}); log:\n{log}"
    );
    assert!(out.is_file(), "no output; log:\n{log}");
    let read = |f: &Path, n: &str| {
        hdf5::File::open(f)
            .unwrap()
            .dataset(n)
            .unwrap()
            .read_raw::<f64>()
            .unwrap()
    };
    let (a, b) = (
        read(&reference, "features/values"),
        read(&out, "features/values"),
    );
    assert!(
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
        "the requeued job's features differ from an uninterrupted run"
    );
    assert!(
        !c.dir.join(format!(".lightcurves-{id}.h5.resume")).exists(),
        "checkpoint left"
    );
    note(&format!(
        "lightcurves.sbatch with a 1-minute limit: job {id} stopped and requeued {restarts} time(s), finished in {:.0} s, features identical to an uninterrupted run; log:\n{log}",
        t0.elapsed().as_secs_f64()
    ));
}
