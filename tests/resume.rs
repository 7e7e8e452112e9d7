//! Checkpoint and resume (issue "survive the allocation"): each job is
//! stopped by a signal part-way, at several points (as soon as its
//! checkpoint exists, mid-run, and by a second signal while a unit is being
//! written), resumed with `--resume` (on a different number of ranks), and
//! its output compared bit for bit with an uninterrupted run. A resume with
//! a changed config or input, or a rerun without `--resume`, exits 2 and
//! keeps the checkpoint.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::*;

/// Exit code of a run stopped resumably.
const RESUMABLE: i32 = 75;

fn ckpt_dir(dir: &TestDir, out: &str) -> PathBuf {
    dir.path(&format!(".{out}.resume"))
}

/// Finished units recorded in a checkpoint's journals (well-formed lines).
fn journal_units(ckpt: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(ckpt) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("journal-"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with('U') && l.ends_with(';'))
                .count()
        })
        .sum()
}

/// Starts `cmd` in `dir` with each unit's record delayed by `delay_ms`.
fn start(mut cmd: Command, dir: &TestDir, delay_ms: u64) -> Child {
    cmd.current_dir(&dir.0)
        .env("TESSERA_FAULT_RECORD_DELAY_MS", delay_ms.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning tessera")
}

/// SIGUSR1 goes to mpirun, which forwards it to every rank; SIGTERM goes
/// to the ranks themselves, as SLURM delivers it (mpirun would end the job
/// itself on SIGTERM). A plain run gets either directly.
fn signal(child: &Child, sig: i32) {
    let pid = child.id() as i32;
    let mut targets = vec![pid];
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    // (a plain run's children are MPI helpers such as orted, not ranks)
    if sig == libc::SIGTERM && comm.trim() == "mpirun" {
        let ranks = children_of(pid);
        if !ranks.is_empty() {
            targets = ranks;
        }
    }
    for p in targets {
        // SAFETY: kill(2) on our own child (or its children).
        unsafe {
            libc::kill(p, sig);
        }
    }
}

/// Processes whose parent is `pid` (from /proc).
fn children_of(pid: i32) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        // pid (comm) state ppid ...: the command may hold spaces
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            if rest
                .split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<i32>().ok())
                == Some(pid)
            {
                v.push(p);
            }
        }
    }
    v
}

/// Waits until the checkpoint has a manifest and at least `units` recorded
/// units (or the child ended), then sends `signals` (100 ms apart), and
/// returns the child's exit code and stderr.
fn stop_at(mut child: Child, ckpt: &Path, units: usize, signals: &[i32]) -> (Option<i32>, String) {
    let t0 = Instant::now();
    while !(ckpt.join("manifest.toml").exists() && journal_units(ckpt) >= units) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the run never reached {units} units"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for (k, &s) in signals.iter().enumerate() {
        if k > 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
        signal(&child, s);
    }
    let t1 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if t1.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the stopped run did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every dataset under `groups` of two HDF5 files, compared as raw bytes.
fn assert_same_datasets(a: &Path, b: &Path, names: &[&str]) {
    let fa = hdf5::File::open(a).unwrap();
    let fb = hdf5::File::open(b).unwrap();
    for n in names {
        let da = fa
            .dataset(n)
            .unwrap_or_else(|e| panic!("{n} in {}: {e}", a.display()));
        let db = fb
            .dataset(n)
            .unwrap_or_else(|e| panic!("{n} in {}: {e}", b.display()));
        assert_eq!(da.shape(), db.shape(), "{n}");
        let (va, vb) = match da.dtype().unwrap().size() {
            1 => (
                bytes_of(&da.read_raw::<u8>().unwrap()),
                bytes_of(&db.read_raw::<u8>().unwrap()),
            ),
            4 => (
                bytes_of(&da.read_raw::<u32>().unwrap()),
                bytes_of(&db.read_raw::<u32>().unwrap()),
            ),
            _ => (
                bytes_of(&da.read_raw::<u64>().unwrap()),
                bytes_of(&db.read_raw::<u64>().unwrap()),
            ),
        };
        assert!(
            va == vb,
            "{n} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn bytes_of<T: Copy>(v: &[T]) -> Vec<u8> {
    // SAFETY: plain integers reinterpreted as their bytes.
    unsafe {
        std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)).to_vec()
    }
}

fn stop_and_resume(
    dir: &TestDir,
    job_args: &[&str],
    out: &str,
    points: &[(usize, &[i32])],
    delay_ms: u64,
) -> Vec<String> {
    let ckpt = ckpt_dir(dir, out);
    let mut notes = Vec::new();
    for (k, (units, signals)) in points.iter().enumerate() {
        let mut args: Vec<&str> = job_args.to_vec();
        args.extend(["--out", out]);
        if k > 0 {
            args.push("--resume");
        }
        let before = journal_units(&ckpt);
        let (code, err) = stop_at(
            start(mpirun(2, &args), dir, delay_ms),
            &ckpt,
            before + units,
            signals,
        );
        assert_eq!(code, Some(RESUMABLE), "stop {k}: stderr:\n{err}");
        assert!(
            ckpt.join("manifest.toml").exists() && ckpt.join("partial.h5").exists()
                || !job_args.contains(&"image") && !job_args.contains(&"lightcurves"),
            "stop {k}: no checkpoint kept: {:?}",
            dir.listing()
        );
        assert!(
            !dir.path(out).exists(),
            "stop {k}: a stopped run must not leave its output"
        );
        assert!(
            dir.listing().iter().all(|f| !f.contains(".tmp-")),
            "stop {k}: temporary files left: {:?}",
            dir.listing()
        );
        notes.push(format!("stop {k}: {} units recorded", journal_units(&ckpt)));
    }
    // the resumed run finishes on a different number of ranks
    let mut args: Vec<&str> = job_args.to_vec();
    args.extend(["--out", out, "--resume"]);
    let o = run(plain(&args), &dir.0);
    assert_success(&o);
    assert!(stderr(&o).contains("already done"), "{}", stderr(&o));
    assert!(
        !ckpt.exists(),
        "the checkpoint must go once the output is complete"
    );
    notes
}

#[test]
fn lightcurves_stopped_at_several_points_resume_bit_identical() {
    let dir = TestDir::new("resume-lc");
    let ok = |c: Command| assert_success(&run(c, &dir.0));
    ok(plain(&[
        "synth",
        "lightcurves",
        "-n",
        "240",
        "--epochs",
        "60",
        "--out",
        "lc.h5",
    ]));
    let job = [
        "lightcurves",
        "--input",
        "lc.h5",
        "--set",
        "tile=4",
        "--threads",
        "1",
    ];
    let mut args = job.to_vec();
    args.extend(["--out", "ref.h5"]);
    ok(mpirun(2, &args));
    // stopped as soon as the checkpoint exists, then mid-run, then by a
    // second signal while a tile is written but not yet recorded
    let notes = stop_and_resume(
        &dir,
        &job,
        "f.h5",
        &[
            (0, &[libc::SIGUSR1]),
            (8, &[libc::SIGTERM]),
            (8, &[libc::SIGUSR1, libc::SIGUSR1]),
        ],
        40,
    );
    eprintln!("{notes:?}");
    assert_same_datasets(
        &dir.path("ref.h5"),
        &dir.path("f.h5"),
        &[
            "features/values",
            "features/reason",
            "features/object",
            "features/band",
        ],
    );
}

#[test]
fn mc_stopped_and_resumed_is_bit_identical() {
    let dir = TestDir::new("resume-mc");
    let job = [
        "mc",
        "--samples",
        "2e9",
        "--set",
        "block_size=1000000",
        "--threads",
        "1",
    ];
    let mut args = job.to_vec();
    args.extend(["--out", "ref.h5"]);
    assert_success(&run(mpirun(2, &args), &dir.0));
    stop_and_resume(
        &dir,
        &job,
        "mc.h5",
        &[(1, &[libc::SIGUSR1]), (1, &[libc::SIGUSR1, libc::SIGUSR1])],
        300,
    );
    for n in ["estimate", "variance", "mean", "m2"] {
        let (a, b) = (
            read_f64(&dir.path("ref.h5"), &format!("montecarlo/{n}")),
            read_f64(&dir.path("mc.h5"), &format!("montecarlo/{n}")),
        );
        assert_eq!(a.to_bits(), b.to_bits(), "montecarlo/{n}: {a} vs {b}");
    }
}

#[test]
fn image_stopped_and_resumed_is_bit_identical() {
    let dir = TestDir::new("resume-image");
    let ok = |c: Command| assert_success(&run(c, &dir.0));
    ok(plain(&[
        "synth", "image", "--size", "384", "--out", "img.h5",
    ]));
    let job = [
        "image",
        "--input",
        "img.h5",
        "--kernel",
        "gaussian:2:9",
        "--set",
        "tile=32",
        "--threads",
        "1",
    ];
    let mut args = job.to_vec();
    args.extend(["--out", "ref.h5"]);
    ok(mpirun(2, &args));
    stop_and_resume(
        &dir,
        &job,
        "conv.h5",
        &[(0, &[libc::SIGTERM]), (10, &[libc::SIGUSR1, libc::SIGUSR1])],
        40,
    );
    assert_same_datasets(&dir.path("ref.h5"), &dir.path("conv.h5"), &["convolved"]);
    for n in ["sum", "mean", "variance", "min", "max"] {
        let (a, b) = (
            read_f64(&dir.path("ref.h5"), &format!("stats/{n}")),
            read_f64(&dir.path("conv.h5"), &format!("stats/{n}")),
        );
        assert_eq!(a.to_bits(), b.to_bits(), "stats/{n}");
    }
}

#[test]
fn a_resume_that_does_not_match_exits_2_and_keeps_the_checkpoint() {
    let dir = TestDir::new("resume-mismatch");
    let ok = |c: Command| assert_success(&run(c, &dir.0));
    ok(plain(&[
        "synth",
        "lightcurves",
        "-n",
        "120",
        "--epochs",
        "40",
        "--out",
        "lc.h5",
    ]));
    let job = [
        "lightcurves",
        "--input",
        "lc.h5",
        "--set",
        "tile=4",
        "--threads",
        "1",
        "--out",
        "f.h5",
    ];
    let ckpt = ckpt_dir(&dir, "f.h5");
    let (code, err) = stop_at(start(mpirun(2, &job), &dir, 40), &ckpt, 3, &[libc::SIGUSR1]);
    assert_eq!(code, Some(RESUMABLE), "{err}");
    assert!(err.contains("--resume"), "{err}");
    let units = journal_units(&ckpt);
    let refused = |args: &[&str], words: &[&str]| {
        let o = run(plain(args), &dir.0);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        for w in words {
            assert!(
                stderr(&o).contains(w),
                "{args:?}: no '{w}' in:\n{}",
                stderr(&o)
            );
        }
        assert_eq!(
            journal_units(&ckpt),
            units,
            "a refused resume must keep the checkpoint"
        );
        assert!(!dir.path("f.h5").exists());
    };
    // without --resume: the finished work is not silently thrown away
    refused(&job, &["--resume", ".f.h5.resume"]);
    // a changed setting
    let mut changed = job.to_vec();
    changed.extend(["--resume", "--set", "top_k=5"]);
    refused(&changed, &["top_k", "does not match"]);
    // a changed input
    ok(plain(&[
        "synth",
        "lightcurves",
        "-n",
        "120",
        "--epochs",
        "41",
        "--out",
        "lc.h5",
    ]));
    let mut resumed = job.to_vec();
    resumed.push("--resume");
    refused(&resumed, &["input", "does not match"]);
}

#[test]
fn sigterm_to_a_single_process_run_is_resumable() {
    // a plain mc run (no mpirun) stopped by SIGTERM, as srun delivers it
    let dir = TestDir::new("resume-plain");
    let job = [
        "mc",
        "--samples",
        "2e9",
        "--set",
        "block_size=1000000",
        "--threads",
        "1",
        "--out",
        "mc.h5",
    ];
    let ckpt = ckpt_dir(&dir, "mc.h5");
    let (code, err) = stop_at(start(plain(&job), &dir, 300), &ckpt, 1, &[libc::SIGTERM]);
    assert_eq!(code, Some(RESUMABLE), "{err}");
    assert!(
        err.contains("stopped by a signal") && err.contains("--resume"),
        "{err}"
    );
    assert!(journal_units(&ckpt) >= 1);
}

#[test]
fn the_stored_configuration_replays_the_run() {
    // /provenance/config holds every key the job read (defaults included);
    // fed back with --config it gives the same features
    let dir = TestDir::new("resume-replay");
    let ok = |c: Command| assert_success(&run(c, &dir.0));
    ok(plain(&[
        "synth",
        "lightcurves",
        "-n",
        "30",
        "--epochs",
        "50",
        "--out",
        "lc.h5",
    ]));
    ok(plain(&[
        "lightcurves",
        "--input",
        "lc.h5",
        "--out",
        "a.h5",
        "--set",
        "top_k=4",
        "--set",
        "sigma_clip=4.5",
    ]));
    let f = hdf5::File::open(dir.path("a.h5")).unwrap();
    let text = f
        .dataset("provenance/config")
        .unwrap()
        .read_scalar::<hdf5::types::VarLenUnicode>()
        .unwrap()
        .to_string();
    drop(f);
    let table: toml::Table = text.parse().unwrap();
    for key in [
        "top_k",
        "sigma_clip",
        "samples_per_peak",
        "min_points",
        "tile",
        "max_points",
        "input",
        "resume",
    ] {
        assert!(
            table.contains_key(key),
            "/provenance/config lacks '{key}' (a default must be stored too):\n{text}"
        );
    }
    assert_eq!(table["top_k"].as_integer(), Some(4), "{text}");
    std::fs::write(dir.path("replay.toml"), &text).unwrap();
    ok(plain(&[
        "lightcurves",
        "--config",
        "replay.toml",
        "--out",
        "b.h5",
    ]));
    assert_same_datasets(
        &dir.path("a.h5"),
        &dir.path("b.h5"),
        &["features/values", "features/reason"],
    );
}
