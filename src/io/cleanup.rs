//! Clean-up of unfinished output files: a registry of temporary files that
//! a panic or a signal deletes before the process ends (I/O layer).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Temporary output files to delete if the process dies in a panic (the hook
/// aborts MPI, so no destructor would run).
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Records a temporary output file (or directory) to delete if the process dies.
pub fn register_temp_file(path: PathBuf) {
    if let Ok(mut v) = TEMP_FILES.lock() {
        v.push(path);
    }
}

/// Forgets a temporary file (it was renamed into place or removed).
pub fn unregister_temp_file(path: &std::path::Path) {
    if let Ok(mut v) = TEMP_FILES.lock() {
        v.retain(|p| p != path);
    }
}

/// Deletes every registered temporary file (from a panic hook or a signal).
pub fn remove_registered_temp_files() {
    if let Ok(v) = TEMP_FILES.try_lock() {
        for p in v.iter() {
            // a temporary directory (export --hats, a checkpoint) goes with its
            // contents; renamed away first (one atomic step), so that another rank
            // still writing cannot add a file between the removal of the files and
            // of the directory and leave it behind: its new files then fail instead
            if p.is_dir() {
                let mut name = p.file_name().unwrap_or_default().to_os_string();
                name.push(format!(".removing-{}", std::process::id()));
                let gone = p.with_file_name(name);
                let at = if std::fs::rename(p, &gone).is_ok() {
                    &gone
                } else {
                    p
                };
                let _ = std::fs::remove_dir_all(at);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Exit code of a run that stopped on a signal with its finished units
/// durable: rerun the same command with `--resume` to continue it
/// (EX_TEMPFAIL of sysexits.h: "try again later").
pub const EXIT_RESUMABLE: u8 = 75;

/// Seconds a resumable job is given to finish its current unit after the
/// first signal before it ends at once (`TESSERA_STOP_GRACE` overrides).
pub const DEFAULT_STOP_GRACE: f64 = 120.0;

/// A stop was asked for (first SIGUSR1/SIGTERM/SIGINT during a resumable run).
static STOP: AtomicBool = AtomicBool::new(false);

/// Set once a run has stopped resumably (its checkpoint kept): a signal
/// arriving while the process exits keeps exit code [`EXIT_RESUMABLE`].
static KEPT: AtomicBool = AtomicBool::new(false);

/// Records that the run stopped resumably, its checkpoint kept.
pub fn mark_kept() {
    KEPT.store(true, Ordering::SeqCst);
}

/// The checkpoint directory of the resumable run in progress: kept (not
/// deleted) when a signal ends the run, deleted by a panic.
static CHECKPOINT: Mutex<Option<PathBuf>> = Mutex::new(None);

/// True once a stop was requested: jobs finish their current unit, make it
/// durable and return [`Stopped`].
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Requests a stop (the signal thread, or rank 0 when another rank reports
/// one).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Marks `dir` as the checkpoint of the resumable run in progress (a signal
/// then stops the run cleanly instead of ending it at once); `None` when the
/// run ends.
pub fn set_checkpoint(dir: Option<PathBuf>) {
    if let Ok(mut c) = CHECKPOINT.lock() {
        *c = dir;
    }
}

fn checkpoint() -> Option<PathBuf> {
    CHECKPOINT.try_lock().ok().and_then(|c| c.clone())
}

/// The error a resumable job returns on every rank when a signal stopped
/// it: its finished units are durable in the checkpoint (exit code
/// [`EXIT_RESUMABLE`]).
#[derive(Debug, thiserror::Error)]
#[error("stopped by a signal after {done} of {total} {unit}s; finished work is kept in '{checkpoint}'; rerun the same command with --resume to continue")]
pub struct Stopped {
    /// Units durable (this run and earlier ones).
    pub done: u64,
    /// Units in the whole run.
    pub total: u64,
    /// What a unit is: tile, block.
    pub unit: &'static str,
    /// The checkpoint directory.
    pub checkpoint: String,
}

fn stop_grace() -> f64 {
    std::env::var("TESSERA_STOP_GRACE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|g| g.is_finite() && *g >= 0.0)
        .unwrap_or(DEFAULT_STOP_GRACE)
}

/// Ends the process at once after a signal: unfinished outputs are deleted;
/// a resumable run's checkpoint is kept (its recorded units are durable).
fn end_now(sig: i32, why: &str) -> ! {
    if KEPT.load(Ordering::SeqCst) {
        eprintln!(
            "[rank {}] signal {sig} after the run had already stopped resumably",
            crate::rank::current_rank()
        );
        std::process::exit(i32::from(EXIT_RESUMABLE));
    }
    let kept = checkpoint();
    if let (Some(dir), Ok(mut v)) = (&kept, TEMP_FILES.try_lock()) {
        // the checkpoint and what is inside it (its partial output) stay
        v.retain(|p| !p.starts_with(dir));
    }
    remove_registered_temp_files();
    let rank = crate::rank::current_rank();
    match kept {
        Some(dir) => {
            eprintln!(
                "[rank {rank}] {why}; stopping at once; finished units are kept in '{}' (resume with --resume)",
                dir.display()
            );
            std::process::exit(i32::from(EXIT_RESUMABLE));
        }
        None => {
            eprintln!("[rank {rank}] stopped by signal {sig}; unfinished output removed");
            std::process::exit(128 + sig);
        }
    }
}

/// True when this process was started by OpenMPI's mpirun (its parent).
fn parent_is_mpirun() -> bool {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let ppid = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_default();
    let comm = std::fs::read_to_string(format!("/proc/{ppid}/comm")).unwrap_or_default();
    matches!(
        comm.trim(),
        "mpirun" | "mpiexec" | "orterun" | "prterun" | "orted"
    )
}

/// Signals (a watcher thread does the work, outside signal context):
/// - SIGTERM to a rank started by mpirun (mpirun ending the job): stop at
///   once, keeping the recorded units.
/// - SIGUSR1, SIGTERM or SIGINT during a resumable run (mc, lightcurves,
///   image with a checkpoint, see [`set_checkpoint`]): the first asks the
///   job to finish its current unit, keep what is done and exit with
///   [`EXIT_RESUMABLE`]; a second signal, or [`DEFAULT_STOP_GRACE`] seconds
///   without the job stopping, ends it at once, keeping the checkpoint.
///   SLURM sends SIGUSR1 (`--signal`) or SIGTERM (time limit, preemption);
///   mpirun forwards SIGUSR1 to every rank.
/// - Otherwise, and for SIGHUP: delete unfinished outputs and exit with
///   128 + the signal number. mpirun sends SIGTERM to every rank when one
///   calls MPI_Abort.
pub fn install_cleanup_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])
    else {
        return;
    };
    std::thread::Builder::new()
        .name("tessera-signals".into())
        .spawn(move || {
            let under_mpirun = parent_is_mpirun();
            for sig in signals.forever() {
                let graceful = sig != SIGHUP && checkpoint().is_some();
                if !graceful {
                    end_now(sig, "");
                }
                // mpirun sends SIGTERM when it ends the job (another rank
                // aborted, or mpirun itself was told to stop) and SIGKILL
                // soon after: no time to finish a unit, so stop at once,
                // keeping what is recorded. SIGUSR1 is the clean way.
                if sig == SIGTERM && under_mpirun {
                    end_now(sig, "SIGTERM from mpirun");
                }
                if stop_requested() {
                    end_now(sig, &format!("second signal {sig}"));
                }
                request_stop();
                let grace = stop_grace();
                eprintln!(
                    "[rank {}] signal {sig}: finishing the current unit, then stopping resumable (a second signal, or {grace:.0} s, stops at once)",
                    crate::rank::current_rank()
                );
                let _ = std::thread::Builder::new()
                    .name("tessera-grace".into())
                    .spawn(move || {
                        std::thread::sleep(std::time::Duration::from_secs_f64(grace));
                        end_now(sig, &format!("no clean stop {grace:.0} s after signal {sig}"));
                    });
            }
        })
        .ok();
}
