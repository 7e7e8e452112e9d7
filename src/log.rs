//! Rank-prefixed messages and progress display (I/O layer).
//!
//! Every line tessera prints to stderr starts with `[rank R]`. Rank 0 shows a
//! progress bar when stderr is a terminal and one line per phase otherwise
//! (batch logs stay readable).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Prints `[rank R] message` to stderr.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("[rank {}] {}", $crate::rank::current_rank(), format_args!($($arg)*))
    };
}

/// Prints only on rank 0: phase lines and summaries.
#[macro_export]
macro_rules! say0 {
    ($($arg:tt)*) => {
        if $crate::rank::current_rank() == 0 {
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
    /// A bar of `total` units labelled `what`, shown only on rank 0 with a terminal on
    /// stderr and `total > 0`.
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

    /// Advances the bar by `n` units.
    #[inline]
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
