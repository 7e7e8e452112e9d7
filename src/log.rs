//! Rank-prefixed messages (I/O layer); progress is [`crate::progress`].
//!
//! Every line tessera prints to stderr starts with `[rank R]`.

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
