//! The CUDA C++ sources in `kernels/`, embedded in the binary and compiled
//! with NVRTC once per process (job-driver layer): to a cubin for the
//! device's real architecture (`sm_XY`) when a job runs, which a driver of
//! the same or a newer CUDA major version loads whatever NVRTC's minor
//! version (PTX would need a driver at least as new as NVRTC, minor
//! included); to PTX for `compute_XY` in the compile check.
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

/// The real architecture of a compute capability, e.g. (9, 0) -> `sm_90`.
pub fn sm_for(cc: (i32, i32)) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<(i32, i32), &'static str>>> = OnceLock::new();
    let m = NAMES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
    m.entry(cc)
        .or_insert_with(|| Box::leak(format!("sm_{}{}", cc.0, cc.1).into_boxed_str()))
}

/// Compiles `k` to a cubin for the real architecture `arch` (`sm_90`...).
pub fn compile_cubin(k: &KernelSource, arch: &str) -> Result<Vec<u8>, String> {
    use cudarc::nvrtc::{result, sys};
    if !crate::gpu::probe().nvrtc_library {
        return Err(crate::gpu::probe()
            .missing()
            .unwrap_or_else(|| "the NVRTC library was not found".into()));
    }
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        format!("NVRTC failed on kernels/{} ({what}, {arch}): {e}", k.file)
    };
    let src = std::ffi::CString::new(k.source).map_err(|e| fail("source", &e))?;
    let name = std::ffi::CString::new(k.file).map_err(|e| fail("name", &e))?;
    let prog = result::create_program(&src, Some(&name)).map_err(|e| fail("create", &e))?;
    let options = [
        format!("--fmad={}", k.fmad),
        format!("--gpu-architecture={arch}"),
        "--std=c++14".to_string(),
    ];
    // SAFETY: `prog` was created above and is destroyed only at the end;
    // `src` and `name` outlive it; the size query precedes the copy into a
    // buffer of that size.
    let out = unsafe {
        let r = match result::compile_program(prog, &options) {
            Err(e) => {
                let log = result::get_program_log(prog)
                    .map(|l| {
                        std::ffi::CStr::from_ptr(l.as_ptr())
                            .to_string_lossy()
                            .into_owned()
                    })
                    .unwrap_or_default();
                Err(fail("compile", &format!("{e:?}\n{log}")))
            }
            Ok(()) => {
                let mut size = 0usize;
                match sys::nvrtcGetCUBINSize(prog, &mut size).result() {
                    Err(e) => Err(fail("cubin size", &format!("{e:?}"))),
                    Ok(()) => {
                        let mut bin = vec![0u8; size];
                        sys::nvrtcGetCUBIN(prog, bin.as_mut_ptr().cast())
                            .result()
                            .map(|()| bin)
                            .map_err(|e| fail("cubin", &format!("{e:?}")))
                    }
                }
            }
        };
        let _ = result::destroy_program(prog);
        r
    };
    out
}

/// The loadable image of `k` for a device of real architecture `arch`
/// (`sm_XY`): a cubin, compiled on first use and cached for the process.
pub fn device_image(k: &KernelSource, arch: &'static str) -> Result<Ptx, String> {
    type Cache = Mutex<HashMap<(&'static str, &'static str), Result<Vec<u8>, String>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    map.entry((k.file, arch))
        .or_insert_with(|| compile_cubin(k, arch))
        .clone()
        .map(Ptx::from_binary)
}

/// Result of compiling one kernel file, for `tessera gpu compile-kernels`.
#[derive(Debug)]
pub struct CompileReport {
    /// File name under `kernels/`.
    pub file: &'static str,
    /// Length of the PTX text (or of the cubin, for an `sm_XY` arch) in bytes.
    pub ptx_bytes: usize,
    /// Whether this is a cubin (`sm_XY`) rather than PTX.
    pub cubin: bool,
    /// Entry points found in the PTX (all of [`KernelSource::functions`]).
    pub entry_points_found: Vec<&'static str>,
    /// Wall-clock seconds NVRTC took.
    pub seconds: f64,
}

/// Compiles every kernel (no device needed) and checks that each entry
/// point appears in the PTX (or, for an `sm_XY` arch, in the cubin's
/// symbol names).
pub fn compile_all(arch: Option<&'static str>) -> Result<Vec<CompileReport>, String> {
    let cubin = arch.is_some_and(|a| a.starts_with("sm_"));
    ALL.iter()
        .map(|k| {
            let t0 = std::time::Instant::now();
            let (text, len) = if let (true, Some(a)) = (cubin, arch) {
                let bin = compile_cubin(k, a)?;
                anyhow_elf(&bin, k.file)?;
                (String::from_utf8_lossy(&bin).into_owned(), bin.len())
            } else {
                let t = compile(k, arch)?.to_src();
                let n = t.len();
                (t, n)
            };
            let found: Vec<&'static str> = k
                .functions
                .iter()
                .copied()
                .filter(|f| {
                    if cubin {
                        text.contains(&format!("\0{f}\0"))
                    } else {
                        text.contains(&format!(".entry {f}"))
                    }
                })
                .collect();
            if found.len() != k.functions.len() {
                return Err(format!(
                    "kernels/{}: PTX lacks entry points (found {found:?} of {:?})",
                    k.file, k.functions
                ));
            }
            Ok(CompileReport {
                file: k.file,
                ptx_bytes: len,
                cubin,
                entry_points_found: found,
                seconds: t0.elapsed().as_secs_f64(),
            })
        })
        .collect()
}

/// A cubin is an ELF file: checks the magic number.
fn anyhow_elf(bin: &[u8], file: &str) -> Result<(), String> {
    if bin.starts_with(b"\x7fELF") {
        Ok(())
    } else {
        Err(format!(
            "kernels/{file}: NVRTC's cubin is not an ELF file ({} bytes)",
            bin.len()
        ))
    }
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
        assert_eq!(sm_for((9, 0)), "sm_90");
        assert_eq!(sm_for((10, 0)), "sm_100");
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
