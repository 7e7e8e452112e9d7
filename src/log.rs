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

/// Whether debug lines are printed: the environment variable
/// `TESSERA_DEBUG` is set to anything but empty or `0` (read once).
pub fn debug_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("TESSERA_DEBUG").is_ok_and(|v| !v.is_empty() && v != "0"))
}

/// With [`debug_enabled`]: prints this process's peak and current resident
/// memory (`VmHWM`, `VmRSS` from `/proc/self/status`, Linux) after `stage`,
/// so a run shows which stage holds what.
pub fn memory_debug(stage: &str) {
    if !debug_enabled() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    say!(
        "memory after {stage}: peak {} (VmHWM), now {} (VmRSS)",
        field("VmHWM:"),
        field("VmRSS:")
    );
}
