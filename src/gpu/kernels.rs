//! The CUDA C++ sources in `kernels/`, embedded in the binary and compiled
//! to PTX with NVRTC once per process (job-driver layer).
//!
//! The sources use no `#include`, so NVRTC needs no CUDA headers: the
//! `nvidia-cuda-nvrtc` wheel alone is enough to compile them (that is what
//! CI does). Monte Carlo is compiled with `--fmad=false` so that no `a * b +
//! c` is contracted, as on the CPU; the convolution writes its `fma` calls
//! explicitly.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};

/// One kernel source file.
#[derive(Clone, Copy, Debug)]
pub struct KernelSource {
    /// File name under `kernels/`.
    pub file: &'static str,
    /// The CUDA C++ text, embedded at build time.
    pub source: &'static str,
    /// Entry points (`extern "C" __global__`).
    pub functions: &'static [&'static str],
    /// `--fmad` setting: false where bit-equality with the CPU matters.
    pub fmad: bool,
}

/// `kernels/montecarlo.cu`: the Monte Carlo block kernel (no FMA contraction).
pub const MONTECARLO: KernelSource = KernelSource {
    file: "montecarlo.cu",
    source: include_str!("../../kernels/montecarlo.cu"),
    functions: &["mc_blocks"],
    fmad: false,
};

/// `kernels/lombscargle.cu`: batched Lomb-Scargle power, f64 and f32.
pub const LOMBSCARGLE: KernelSource = KernelSource {
    file: "lombscargle.cu",
    source: include_str!("../../kernels/lombscargle.cu"),
    functions: &["lombscargle_f64", "lombscargle_f32"],
    fmad: false,
};

/// `kernels/convolve2d.cu`: 2-D convolution of padded tiles, shared- and
/// global-memory variants in f64 and f32 (explicit `fma`).
pub const CONVOLVE2D: KernelSource = KernelSource {
    file: "convolve2d.cu",
    source: include_str!("../../kernels/convolve2d.cu"),
    functions: &[
        "conv2d_shared_f64",
        "conv2d_shared_f32",
        "conv2d_global_f64",
        "conv2d_global_f32",
    ],
    fmad: true,
};

/// Every kernel file, for compiling them all.
pub const ALL: [KernelSource; 3] = [MONTECARLO, LOMBSCARGLE, CONVOLVE2D];

/// Compiles `k` to PTX now (no cache). `arch` is e.g. `compute_80`; `None`
/// lets NVRTC choose its default virtual architecture.
pub fn compile(k: &KernelSource, arch: Option<&'static str>) -> Result<Ptx, String> {
    if !crate::gpu::probe().nvrtc_library {
        return Err(crate::gpu::probe()
            .missing()
            .unwrap_or_else(|| "the NVRTC library was not found".into()));
    }
    let opts = CompileOptions {
        fmad: Some(k.fmad),
        arch,
        name: Some(k.file.to_string()),
        options: vec!["--std=c++14".into()],
        ..Default::default()
    };
    compile_ptx_with_opts(k.source, opts)
        .map_err(|e| format!("NVRTC failed on kernels/{}: {e}", k.file))
}

/// The PTX of `k` for `arch`, compiled on first use and cached for the
/// rest of the process (every rank compiles once, whatever the job size).
pub fn ptx(k: &KernelSource, arch: Option<&'static str>) -> Result<Ptx, String> {
    type Cache = Mutex<HashMap<(&'static str, Option<&'static str>), Result<Ptx, String>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    map.entry((k.file, arch))
        .or_insert_with(|| compile(k, arch))
        .clone()
}

/// The virtual architecture string for a compute capability, e.g. (8, 0)
/// -> `compute_80` (leaked once per distinct value; there are few).
pub fn arch_for(cc: (i32, i32)) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<(i32, i32), &'static str>>> = OnceLock::new();
    let m = NAMES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
    m.entry(cc)
        .or_insert_with(|| Box::leak(format!("compute_{}{}", cc.0, cc.1).into_boxed_str()))
}

/// Result of compiling one kernel file, for `tessera gpu compile-kernels`.
#[derive(Debug)]
pub struct CompileReport {
    /// File name under `kernels/`.
    pub file: &'static str,
    /// Length of the PTX text in bytes.
    pub ptx_bytes: usize,
    /// Entry points found in the PTX (all of [`KernelSource::functions`]).
    pub entry_points_found: Vec<&'static str>,
    /// Wall-clock seconds NVRTC took.
    pub seconds: f64,
}

/// Compiles every kernel (no device needed) and checks that each entry
/// point appears in the PTX.
pub fn compile_all(arch: Option<&'static str>) -> Result<Vec<CompileReport>, String> {
    ALL.iter()
        .map(|k| {
            let t0 = std::time::Instant::now();
            let ptx = compile(k, arch)?;
            let text = ptx.to_src();
            let found: Vec<&'static str> = k
                .functions
                .iter()
                .copied()
                .filter(|f| text.contains(&format!(".entry {f}")))
                .collect();
            if found.len() != k.functions.len() {
                return Err(format!(
                    "kernels/{}: PTX lacks entry points (found {found:?} of {:?})",
                    k.file, k.functions
                ));
            }
            Ok(CompileReport {
                file: k.file,
                ptx_bytes: text.len(),
                entry_points_found: found,
                seconds: t0.elapsed().as_secs_f64(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_need_no_cuda_headers() {
        for k in ALL {
            assert!(
                !k.source
                    .lines()
                    .any(|l| l.trim_start().starts_with("#include")),
                "{} has an #include",
                k.file
            );
            for f in k.functions {
                assert!(
                    k.source.contains(f),
                    "{}: entry point {f} not in the source",
                    k.file
                );
            }
        }
    }

    #[test]
    fn arch_strings() {
        assert_eq!(arch_for((8, 0)), "compute_80");
        assert_eq!(arch_for((9, 0)), "compute_90");
        assert!(std::ptr::eq(arch_for((9, 0)), arch_for((9, 0))));
    }

    /// Compiles every kernel in-process when this test process can load
    /// NVRTC (LD_LIBRARY_PATH set at start); otherwise says why it skips.
    /// tests/gpu.rs runs the same compile as a subprocess with the library
    /// path set, which is what CI relies on.
    #[test]
    fn kernels_compile_when_nvrtc_is_present() {
        if !crate::gpu::probe().nvrtc_library {
            eprintln!(
                "SKIP kernels_compile_when_nvrtc_is_present: libnvrtc not loadable in this process"
            );
            return;
        }
        for r in compile_all(None).unwrap() {
            eprintln!("{}: {} bytes of PTX", r.file, r.ptx_bytes);
            assert!(r.ptx_bytes > 1000);
        }
    }
}
