//! End-to-end tests of the CUDA backend that run everywhere: the NVRTC
//! compile of every kernel (whenever an NVRTC library can be found; CI
//! installs the nvidia-cuda-nvrtc wheel), `tessera gpu info`, and the
//! `--backend` choices on a machine with or without a GPU. The GPU-versus-
//! CPU comparisons live beside their wrappers (src/gpu/{mc,lombscargle,
//! conv}.rs) and skip, saying why, without a device.

mod util;

use std::path::PathBuf;
use std::process::Command;

use util::*;

/// The directory of libnvrtc.so.*: `TESSERA_NVRTC_LIB_DIR` (set by `make
/// test` from scripts/nvrtc-lib.sh), else the wheel under target/, else the
/// Python package if importable.
fn nvrtc_dir() -> Result<PathBuf, String> {
    let has_lib = |d: &PathBuf| {
        std::fs::read_dir(d).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libnvrtc.so"))
        })
    };
    if let Ok(d) = std::env::var("TESSERA_NVRTC_LIB_DIR") {
        if !d.is_empty() && has_lib(&PathBuf::from(&d)) {
            return Ok(PathBuf::from(d));
        }
    }
    let wheel =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/nvrtc-wheel/nvidia/cuda_nvrtc/lib");
    if has_lib(&wheel) {
        return Ok(wheel);
    }
    let py = Command::new("python3")
        .args([
            "-c",
            "import nvidia.cuda_nvrtc as m, os; print(os.path.join(list(m.__path__)[0], 'lib'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match py {
        Some(d) if has_lib(&d) => Ok(d),
        _ => Err("no NVRTC library found: set TESSERA_NVRTC_LIB_DIR, run scripts/nvrtc-lib.sh (installs the nvidia-cuda-nvrtc-cu12 wheel), or install the CUDA toolkit".into()),
    }
}

fn with_library_path(mut cmd: Command, dir: &std::path::Path) -> Command {
    let old = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    let path = if old.is_empty() {
        dir.display().to_string()
    } else {
        format!("{}:{old}", dir.display())
    };
    cmd.env("LD_LIBRARY_PATH", path);
    cmd
}

/// Every kernel compiles with NVRTC to PTX containing each entry point (no
/// GPU needed). Runs the binary with LD_LIBRARY_PATH set, because the
/// dynamic loader reads it only when a process starts.
#[test]
fn every_kernel_compiles_with_nvrtc() {
    let dir = match nvrtc_dir() {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIP every_kernel_compiles_with_nvrtc: {why}");
            return;
        }
    };
    let tmp = TestDir::new("nvrtc");
    let o = run(
        with_library_path(plain(&["gpu", "compile-kernels"]), &dir),
        &tmp.0,
    );
    assert_success(&o);
    let out = stdout(&o);
    eprintln!("NVRTC from {}:\n{out}", dir.display());
    for file in ["montecarlo.cu", "lombscargle.cu", "convolve2d.cu"] {
        let line = out
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("no line for {file}:\n{out}"));
        let bytes: usize = line
            .split(": ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no PTX size in {line}"));
        assert!(bytes > 1000, "{line}");
    }
    assert!(out.contains("all kernels compiled"), "{out}");
    // a real architecture too (what a device run asks for)
    let o = run(
        with_library_path(
            plain(&["gpu", "compile-kernels", "--arch", "compute_80"]),
            &dir,
        ),
        &tmp.0,
    );
    assert_success(&o);
    // and `gpu info` sees the library
    let o = run(with_library_path(plain(&["gpu", "info"]), &dir), &tmp.0);
    assert_success(&o);
    assert!(
        stdout(&o).contains("NVRTC library (libnvrtc):       found"),
        "{}",
        stdout(&o)
    );
}

/// Whether `tessera gpu info` says the GPU backend is usable (asked once).
fn gpu_usable() -> bool {
    static USABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *USABLE.get_or_init(|| {
        let o = run(plain(&["gpu", "info"]), &std::env::temp_dir());
        assert_success(&o);
        stdout(&o).contains("GPU backend:                    usable")
    })
}

#[test]
fn gpu_info_reports_libraries_and_devices_without_failing() {
    let tmp = TestDir::new("gpuinfo");
    let o = run(plain(&["gpu", "info"]), &tmp.0);
    assert_success(&o);
    let out = stdout(&o);
    for needle in [
        "CUDA driver library",
        "NVRTC library",
        "devices:",
        "GPU backend:",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
    eprintln!("{out}");
}

fn mc_small(out: &str, backend: &str) -> Vec<String> {
    [
        "mc",
        "--integrand",
        "pi",
        "--samples",
        "300000",
        "--seed",
        "3",
        "--threads",
        "1",
        "--backend",
        backend,
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn read_str(file: &std::path::Path, name: &str) -> String {
    let f = hdf5::File::open(file).unwrap();
    f.dataset(name)
        .unwrap()
        .read_scalar::<hdf5::types::VarLenUnicode>()
        .unwrap()
        .to_string()
}

#[test]
fn backend_gpu_without_a_device_exits_2_naming_what_is_missing() {
    if gpu_usable() {
        eprintln!("SKIP backend_gpu_without_a_device_exits_2_naming_what_is_missing: this machine has a usable GPU");
        return;
    }
    let tmp = TestDir::new("nogpu");
    let out = tmp.path("x.h5");
    let args = mc_small(out.to_str().unwrap(), "gpu");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for cmd in [plain(&args), mpirun(2, &args)] {
        let o = run(cmd, &tmp.0);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("--backend gpu: no usable GPU"), "{e}");
        assert!(
            e.contains("libcuda") || e.contains("device") || e.contains("NVRTC"),
            "{e}"
        );
        assert_eq!(e.matches("no usable GPU").count(), 1, "printed once: {e}");
        assert!(!out.exists());
    }
}

#[test]
fn backend_auto_falls_back_to_cpu_and_says_why() {
    if gpu_usable() {
        eprintln!(
            "SKIP backend_auto_falls_back_to_cpu_and_says_why: this machine has a usable GPU"
        );
        return;
    }
    let tmp = TestDir::new("auto");
    let auto = tmp.path("auto.h5");
    let cpu = tmp.path("cpu.h5");
    let a = mc_small(auto.to_str().unwrap(), "auto");
    let o = run(
        plain(&a.iter().map(String::as_str).collect::<Vec<_>>()),
        &tmp.0,
    );
    assert_success(&o);
    assert!(
        stderr(&o).contains("backend auto: using the CPU because"),
        "{}",
        stderr(&o)
    );
    let c = mc_small(cpu.to_str().unwrap(), "cpu");
    let o = run(
        plain(&c.iter().map(String::as_str).collect::<Vec<_>>()),
        &tmp.0,
    );
    assert_success(&o);
    assert_eq!(read_str(&auto, "/provenance/backend"), "cpu");
    assert_eq!(read_str(&auto, "/provenance/device"), "cpu");
    assert_eq!(
        read_f64(&auto, "/montecarlo/estimate").to_bits(),
        read_f64(&cpu, "/montecarlo/estimate").to_bits()
    );
}

#[test]
fn unknown_backend_is_a_usage_error() {
    let tmp = TestDir::new("badbackend");
    let out = tmp.path("x.h5");
    let o = run(
        plain(&["mc", "--backend", "cuda", "--out", out.to_str().unwrap()]),
        &tmp.0,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("config key 'backend' (from --backend): unknown backend 'cuda'; choose one of: auto, cpu, gpu"),
        "{}",
        stderr(&o)
    );
}

/// On a GPU machine: `--backend gpu` under mpirun gives the CPU's pi
/// estimate exactly (hit counts), and names the device in /provenance.
#[test]
fn gpu_run_matches_cpu_run_exactly_for_pi() {
    if !gpu_usable() {
        eprintln!(
            "SKIP gpu_run_matches_cpu_run_exactly_for_pi: no usable GPU (see `tessera gpu info`)"
        );
        return;
    }
    let tmp = TestDir::new("gpupi");
    let (g, c) = (tmp.path("gpu.h5"), tmp.path("cpu.h5"));
    for (file, backend, n) in [(&g, "gpu", 2usize), (&c, "cpu", 1)] {
        let a = mc_small(file.to_str().unwrap(), backend);
        let o = run(
            mpirun(n, &a.iter().map(String::as_str).collect::<Vec<_>>()),
            &tmp.0,
        );
        assert_success(&o);
    }
    for ds in ["/montecarlo/estimate", "/montecarlo/variance"] {
        assert_eq!(
            read_f64(&g, ds).to_bits(),
            read_f64(&c, ds).to_bits(),
            "{ds}"
        );
    }
    assert_eq!(read_str(&g, "/provenance/backend"), "gpu");
    assert!(read_str(&g, "/provenance/device").contains("device"));
}
