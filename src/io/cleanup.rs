//! Clean-up of unfinished output files: a registry of temporary files that
//! a panic or a signal deletes before the process ends (I/O layer).

use std::path::PathBuf;
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
            // a temporary directory (export --hats) goes with its contents
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// On SIGTERM, SIGINT or SIGHUP (mpirun forwards these, and sends SIGTERM to
/// every rank when one calls MPI_Abort), delete unfinished outputs and exit
/// with 128 + the signal number. A watcher thread does the work, outside
/// signal context.
pub fn install_cleanup_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) else {
        return;
    };
    std::thread::Builder::new()
        .name("tessera-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                remove_registered_temp_files();
                eprintln!(
                    "[rank {}] stopped by signal {sig}; unfinished output removed",
                    crate::rank::current_rank()
                );
                std::process::exit(128 + sig);
            }
        })
        .ok();
}
