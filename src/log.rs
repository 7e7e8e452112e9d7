//! Rank-prefixed messages, progress display and clean-up of unfinished
//! output files (I/O layer).
//!
//! Every line tessera prints to stderr starts with `[rank R]`. Rank 0 shows a
//! progress bar when stderr is a terminal and one line per phase otherwise
//! (batch logs stay readable).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Prints `[rank R] message` to stderr.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("[rank {}] {}", $crate::comm::current_rank(), format_args!($($arg)*))
    };
}

/// Prints only on rank 0: phase lines and summaries.
#[macro_export]
macro_rules! say0 {
    ($($arg:tt)*) => {
        if $crate::comm::current_rank() == 0 {
            $crate::say!($($arg)*);
        }
    };
}

/// Progress of the local share of work on rank 0; a no-op elsewhere and when
/// stderr is not a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(rank: usize, total: u64, what: &str) -> Progress {
        let show = rank == 0 && std::io::stderr().is_terminal() && total > 0;
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "[rank 0] {msg} [{bar:30}] {pos}/{len} ({percent}%) eta {eta}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.set_message(what.to_string());
            bar
        });
        Progress { bar }
    }

    #[inline]
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Temporary output files to delete if the process dies in a panic (the hook
/// aborts MPI, so no destructor would run).
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub fn register_temp_file(path: PathBuf) {
    if let Ok(mut v) = TEMP_FILES.lock() {
        v.push(path);
    }
}

pub fn unregister_temp_file(path: &std::path::Path) {
    if let Ok(mut v) = TEMP_FILES.lock() {
        v.retain(|p| p != path);
    }
}

pub fn remove_registered_temp_files() {
    if let Ok(v) = TEMP_FILES.try_lock() {
        for p in v.iter() {
            let _ = std::fs::remove_file(p);
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
                    crate::comm::current_rank()
                );
                std::process::exit(128 + sig);
            }
        })
        .ok();
}
