//! Shared helpers for the integration tests: run the real binary plainly or
//! under OpenMPI's `mpirun`, in a fresh directory per test, with a time
//! limit so a hung job fails the test instead of hanging CI.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A scratch directory removed when dropped.
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let dir = std::env::temp_dir().join(format!("tessera-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TestDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Files in the directory (to prove nothing half-written was left).
    pub fn listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tessera ARGS` as a single rank, no mpirun.
pub fn plain(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    c
}

/// The binary as one plain process for 1 rank, else under `mpirun -n ranks`.
pub fn launch(ranks: usize, args: &[&str]) -> Command {
    if ranks == 1 {
        plain(args)
    } else {
        mpirun(ranks, args)
    }
}

/// `mpirun -n N tessera ARGS`, allowed to run as root and with more ranks
/// than cores, and without binding each rank to one core (which would leave
/// rayon a single thread).
pub fn mpirun(n: usize, args: &[&str]) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "-n",
        &n.to_string(),
        "--oversubscribe",
        "--bind-to",
        "none",
        BIN,
    ]);
    c.args(args);
    c.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    // keep OpenMPI from probing network interfaces that do not exist here
    c.env("OMPI_MCA_btl", "self,vader")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    c
}

/// Runs with a time limit; panics (failing the test) if it is exceeded.
pub fn run_limited(mut cmd: Command, limit: Duration, cwd: &Path) -> Output {
    cmd.current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("spawning the command (is OpenMPI's mpirun on PATH?)");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "command hung for {limit:?}: {:?}\nstdout:\n{}\nstderr:\n{}",
                cmd,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn run(cmd: Command, cwd: &Path) -> Output {
    run_limited(cmd, Duration::from_secs(300), cwd)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

pub fn read_f64(file: &Path, name: &str) -> f64 {
    let f = hdf5::File::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
    f.dataset(name)
        .unwrap_or_else(|e| panic!("{name} in {}: {e}", file.display()))
        .read_scalar()
        .unwrap()
}

/// The column names stored with `/features/values` of a features file.
#[allow(dead_code)]
pub fn stored_columns(path: &Path) -> Vec<String> {
    hdf5::File::open(path)
        .unwrap()
        .dataset("features/values")
        .unwrap()
        .attr("columns")
        .unwrap()
        .read_raw::<hdf5::types::VarLenUnicode>()
        .unwrap()
        .iter()
        .map(|s| s.as_str().to_string())
        .collect()
}
