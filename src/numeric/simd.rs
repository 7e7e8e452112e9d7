//! The one list of instruction sets that the SIMD kernels are compiled for.

/// Compiles the wrapped function for AVX-512 (F, VL, DQ, BW) with FMA, AVX2 with FMA,
/// NEON and the baseline, and calls the best one the CPU has (`multiversion`, detected
/// once per process). Write the function unindented inside `dispatch! { ... }`, as if
/// this were an attribute.
///
/// Rust never fuses `a * b + c` by itself, so every variant gives the same bits unless
/// the code asks for fused operations: kernels that do test
/// `multiversion::target::target_cfg_f!(target_feature = "fma")`, which is true on the
/// two x86 variants only.
macro_rules! dispatch {
    ($($item:tt)*) => {
        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
            "x86_64+avx2+fma",
            "aarch64+neon"
        ))]
        $($item)*
    };
}
pub(crate) use dispatch;
