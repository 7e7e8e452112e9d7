//! End-to-end tests of the CUDA backend that run everywhere: the NVRTC
//! compile of every kernel (whenever an NVRTC library can be found; CI
//! installs the nvidia-cuda-nvrtc wheel), `tessera gpu info`, and the
//! `--backend` choices of every compute job (mc, lightcurves, image) on a
//! machine with or without a GPU. The whole-job GPU-versus-CPU comparisons
//! below, and the kernel-level ones beside their wrappers (src/gpu/{mc,
//! lombscargle,conv}.rs), need a device: they are `#[ignore]`d, so that
//! `cargo test` counts them as ignored where there is none; run them with
//! `TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored` (what
//! `make test` does when `tessera gpu info` finds a usable device), where
//! each fails, naming what is missing, if there is no usable device. The
//! no-device tests hide the devices (`CUDA_VISIBLE_DEVICES=`), so they run
//! on a GPU machine too.

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
            assert!(
                !require_gpu(),
                "TESSERA_REQUIRE_GPU=1 and no NVRTC for the compile test: {why}"
            );
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
    // real architectures too: PTX for compute_80 and compute_90 (the H100 and
    // H200), and the cubin for sm_90 that a job on an H200 loads
    for (arch, kind) in [
        ("compute_80", "PTX"),
        ("compute_90", "PTX"),
        ("sm_90", "cubin"),
    ] {
        let o = run(
            with_library_path(plain(&["gpu", "compile-kernels", "--arch", arch]), &dir),
            &tmp.0,
        );
        assert_success(&o);
        let out = stdout(&o);
        assert!(out.contains(&format!("arch {arch}")), "{arch}: {out}");
        for file in ["montecarlo.cu", "lombscargle.cu", "convolve2d.cu"] {
            assert!(
                out.lines()
                    .any(|l| l.contains(file) && l.contains(&format!("bytes of {kind}"))),
                "{arch}: no {kind} line for {file}:\n{out}"
            );
        }
    }
    // and `gpu info` sees the library
    let o = run(with_library_path(plain(&["gpu", "info"]), &dir), &tmp.0);
    assert_success(&o);
    assert!(
        stdout(&o).contains("NVRTC library (libnvrtc):       found"),
        "{}",
        stdout(&o)
    );
    // and names the file it loaded, from the directory given
    let canon = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let loaded: Vec<PathBuf> = stdout(&o)
        .lines()
        .filter_map(|l| l.strip_prefix("library loaded:"))
        .map(|p| PathBuf::from(p.trim()))
        .collect();
    assert!(
        loaded.iter().any(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libnvrtc.so"))
                && p.parent().map(canon) == Some(canon(&dir))
        }),
        "no libnvrtc loaded from {}: {}",
        dir.display(),
        stdout(&o)
    );
}

/// `TESSERA_REQUIRE_GPU=1`: every GPU skip is a failure.
fn require_gpu() -> bool {
    std::env::var("TESSERA_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// For the `#[ignore]`d device tests: fails, saying what is missing, unless
/// `tessera gpu info` finds a usable GPU.
fn require_device() {
    let o = run(plain(&["gpu", "info"]), &std::env::temp_dir());
    assert_success(&o);
    let out = stdout(&o);
    assert!(
        out.contains("GPU backend:                    usable"),
        "this test needs a usable CUDA device (it is ignored unless asked for with --include-ignored):\n{out}"
    );
}

/// The binary with every CUDA device hidden, for the no-device tests.
fn hidden(mut cmd: Command) -> Command {
    cmd.env("CUDA_VISIBLE_DEVICES", "");
    cmd
}

/// A toolkit's link-time stub libcuda.so (made here with cc: its `cuInit`
/// returns CUDA_ERROR_STUB_LIBRARY, as the real stub's does) first on the
/// library path: `gpu info` names the stub and what to do, and `--backend
/// gpu` exits 2 with that message.
#[test]
fn a_libcuda_stub_on_the_library_path_is_named() {
    let tmp = TestDir::new("stub");
    let stubs = tmp.path("cuda/lib64/stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    let c = tmp.path("stub.c");
    // every entry point of the real stub returns CUDA_ERROR_STUB_LIBRARY (34)
    std::fs::write(
        &c,
        "int cuInit(unsigned int f) { (void)f; return 34; }\n\
         int cuGetErrorString(int e, const char **s) { (void)e; (void)s; return 34; }\n\
         int cuGetErrorName(int e, const char **s) { (void)e; (void)s; return 34; }\n",
    )
    .unwrap();
    let so = stubs.join("libcuda.so");
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&c)
        .output();
    match cc {
        Ok(o) if o.status.success() => {}
        other => panic!("cc could not build the stub library (a C compiler is needed to build tessera's HDF5 bindings anyway): {other:?}"),
    }
    let o = run(with_library_path(plain(&["gpu", "info"]), &stubs), &tmp.0);
    assert_success(&o);
    let out = stdout(&o);
    assert!(
        out.contains("stub")
            && out.contains(&so.display().to_string())
            && out.contains("LD_LIBRARY_PATH"),
        "{out}"
    );
    let out_h5 = tmp.path("x.h5");
    let a = mc_small(out_h5.to_str().unwrap(), "gpu");
    let o = run(with_library_path(plain(&strs(&a)), &stubs), &tmp.0);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("stub"), "{}", stderr(&o));
}

/// `tessera gpu selftest` where no device is usable (devices hidden): exit
/// 2, naming what is missing, and no MPI started (no mpirun, one message).
#[test]
fn gpu_selftest_without_a_device_exits_2_naming_what_is_missing() {
    let tmp = TestDir::new("selftest-nogpu");
    let o = run(hidden(plain(&["gpu", "selftest"])), &tmp.0);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}\n{}", stdout(&o));
    assert!(e.contains("gpu selftest: no usable GPU"), "{e}");
    assert!(
        e.contains("libcuda") || e.contains("device") || e.contains("NVRTC"),
        "{e}"
    );
    assert_eq!(e.matches("no usable GPU").count(), 1, "{e}");
}

/// On a GPU machine: `tessera gpu selftest` passes (every kernel within its
/// stated tolerance, memory cap forcing the chunked paths included).
#[test]
#[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
fn gpu_selftest_passes() {
    require_device();
    let tmp = TestDir::new("selftest");
    let o = run(plain(&["gpu", "selftest"]), &tmp.0);
    eprintln!("{}", stdout(&o));
    assert_success(&o);
    assert!(stdout(&o).contains("selftest: all"), "{}", stdout(&o));
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
    let tmp = TestDir::new("nogpu");
    let out = tmp.path("x.h5");
    let args = mc_small(out.to_str().unwrap(), "gpu");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for cmd in [hidden(plain(&args)), hidden(mpirun(2, &args))] {
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
    let tmp = TestDir::new("auto");
    let auto = tmp.path("auto.h5");
    let cpu = tmp.path("cpu.h5");
    let a = mc_small(auto.to_str().unwrap(), "auto");
    let o = run(
        hidden(plain(&a.iter().map(String::as_str).collect::<Vec<_>>())),
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
#[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
fn gpu_run_matches_cpu_run_exactly_for_pi() {
    require_device();
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

// ------------------------------------------------------------ lightcurves, image

/// `tessera synth lightcurves` (40 objects, 3 bands) into `dir/lc.h5`.
fn lc_input(dir: &TestDir) -> String {
    let out = dir.path("lc.h5").to_str().unwrap().to_string();
    let o = run(
        plain(&[
            "synth",
            "lightcurves",
            "-n",
            "40",
            "--seed",
            "4",
            "--epochs",
            "30",
            "--outliers",
            "0.02",
            "--out",
            &out,
        ]),
        &dir.0,
    );
    assert_success(&o);
    out
}

/// `tessera synth image` (random, 70 x 61, `dtype`) into `dir/img-DTYPE.h5`.
fn image_input(dir: &TestDir, dtype: &str) -> String {
    let out = dir.path(&format!("img-{dtype}.h5"));
    let out = out.to_str().unwrap().to_string();
    let o = run(
        plain(&[
            "synth", "image", "--kind", "random", "--rows", "70", "--cols", "61", "--seed", "9",
            "--dtype", dtype, "--out", &out,
        ]),
        &dir.0,
    );
    assert_success(&o);
    out
}

fn lc_args(input: &str, out: &str, backend: &str) -> Vec<String> {
    [
        "lightcurves",
        "--input",
        input,
        "--out",
        out,
        "--tile",
        "16",
        "--threads",
        "1",
        "--periodogram",
        "direct",
        "--backend",
        backend,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn image_job_args(input: &str, out: &str, backend: &str) -> Vec<String> {
    [
        "image",
        "--input",
        input,
        "--out",
        out,
        "--kernel",
        "gaussian:2:9",
        "--boundary",
        "reflect",
        "--method",
        "direct",
        "--tile",
        "32",
        "--threads",
        "1",
        "--backend",
        backend,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Every dataset a job writes besides /provenance and /timings, as bits.
fn result_bits(file: &std::path::Path) -> Vec<(String, Vec<u64>)> {
    let f = hdf5::File::open(file).unwrap();
    let mut names = Vec::new();
    for g in ["features", "stats"] {
        if let Ok(g) = f.group(g) {
            for n in g.member_names().unwrap() {
                names.push(format!("{}/{n}", g.name()));
            }
        }
    }
    names.push("/convolved".into());
    names
        .into_iter()
        .filter_map(|n| {
            let ds = f.dataset(&n).ok()?;
            let bits = match ds.read_raw::<f64>() {
                Ok(v) => v.iter().map(|x| x.to_bits()).collect(),
                Err(_) => ds
                    .read_raw::<u64>()
                    .map(|v| v.to_vec())
                    .or_else(|_| {
                        ds.read_raw::<u8>()
                            .map(|v| v.iter().map(|&x| x as u64).collect())
                    })
                    .unwrap_or_default(),
            };
            Some((n, bits))
        })
        .collect()
}

/// A job's arguments for (output, backend).
type JobArgs = Box<dyn Fn(&str, &str) -> Vec<String>>;

/// The argument lists of the two jobs the new backend flag covers.
fn job_cases(dir: &TestDir) -> Vec<(&'static str, JobArgs)> {
    let lc = lc_input(dir);
    let img = image_input(dir, "f64");
    vec![
        (
            "lightcurves",
            Box::new(move |out: &str, b: &str| lc_args(&lc, out, b)),
        ),
        (
            "image",
            Box::new(move |out: &str, b: &str| image_job_args(&img, out, b)),
        ),
    ]
}

#[test]
fn lightcurves_and_image_backend_gpu_without_a_device_exit_2() {
    let tmp = TestDir::new("nogpu-jobs");
    for (job, args) in job_cases(&tmp) {
        let out = tmp.path(&format!("{job}.h5"));
        let a = args(out.to_str().unwrap(), "gpu");
        for cmd in [hidden(plain(&strs(&a))), hidden(mpirun(2, &strs(&a)))] {
            let o = run(cmd, &tmp.0);
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{job}: {e}");
            assert!(e.contains("--backend gpu: no usable GPU"), "{job}: {e}");
            assert!(
                e.contains("libcuda") || e.contains("device") || e.contains("NVRTC"),
                "{job}: {e}"
            );
            assert_eq!(
                e.matches("no usable GPU").count(),
                1,
                "{job}, printed once: {e}"
            );
            assert!(!out.exists(), "{job}: output written");
            assert!(
                !tmp.listing().iter().any(|f| f.contains(".tmp")),
                "{job}: temporary file left: {:?}",
                tmp.listing()
            );
        }
    }
}

#[test]
fn lightcurves_and_image_backend_auto_falls_back_to_identical_cpu_output() {
    let tmp = TestDir::new("auto-jobs");
    for (job, args) in job_cases(&tmp) {
        let auto = tmp.path(&format!("{job}-auto.h5"));
        let cpu = tmp.path(&format!("{job}-cpu.h5"));
        let o = run(
            hidden(plain(&strs(&args(auto.to_str().unwrap(), "auto")))),
            &tmp.0,
        );
        assert_success(&o);
        assert!(
            stderr(&o).contains(&format!("{job}: backend auto: using the CPU because")),
            "{job}: {}",
            stderr(&o)
        );
        assert_success(&run(
            plain(&strs(&args(cpu.to_str().unwrap(), "cpu"))),
            &tmp.0,
        ));
        assert_eq!(read_str(&auto, "/provenance/backend"), "cpu", "{job}");
        assert_eq!(read_str(&auto, "/provenance/device"), "cpu", "{job}");
        assert!(
            read_str(&auto, "/provenance/config").contains("backend = \"auto\""),
            "{job}: {}",
            read_str(&auto, "/provenance/config")
        );
        let (a, c) = (result_bits(&auto), result_bits(&cpu));
        assert!(
            a.len() >= 2,
            "{job}: datasets {:?}",
            a.iter().map(|x| &x.0).collect::<Vec<_>>()
        );
        assert_eq!(a, c, "{job}: auto and cpu outputs differ");
        let f = hdf5::File::open(&auto).unwrap();
        assert!(
            f.dataset("gpu_timings").is_err(),
            "{job}: /gpu_timings on the CPU"
        );
    }
}

#[test]
fn lightcurves_and_image_unknown_backend_is_a_usage_error() {
    let tmp = TestDir::new("badbackend-jobs");
    let out = tmp.path("x.h5");
    let out = out.to_str().unwrap();
    for args in [
        vec![
            "lightcurves",
            "--input",
            "lc.h5",
            "--backend",
            "tpu",
            "--out",
            out,
        ],
        vec![
            "image",
            "--input",
            "img.h5",
            "--backend",
            "tpu",
            "--out",
            out,
        ],
        vec![
            "image",
            "--input",
            "img.h5",
            "--set",
            "backend=tpu",
            "--out",
            out,
        ],
    ] {
        let o = run(plain(&args), &tmp.0);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("config key 'backend'")
                && stderr(&o).contains("unknown backend 'tpu'; choose one of: auto, cpu, gpu"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(!tmp.path("x.h5").exists());
    }
}

/// On a GPU machine: `tessera lightcurves --backend gpu` (single-band
/// periodograms batched on the GPU, direct method), plainly and under
/// `mpirun -n 2`, against the CPU's direct method: features and reasons bit
/// for bit, best and refined periods equal, powers within 1e-5.
#[test]
#[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
fn lightcurves_gpu_matches_cpu_direct() {
    require_device();
    let tmp = TestDir::new("gpu-lc");
    let lc = lc_input(&tmp);
    let cpu = tmp.path("cpu.h5");
    assert_success(&run(
        plain(&strs(&lc_args(&lc, cpu.to_str().unwrap(), "cpu"))),
        &tmp.0,
    ));
    let names = tessera::numeric::lightcurve::columns::RowLayout::new(3).names();
    let col = |n: &str| names.iter().position(|c| c == n).unwrap();
    let base = col("period");
    let read = |p: &std::path::Path| {
        let f = hdf5::File::open(p).unwrap();
        let v = f
            .dataset("features/values")
            .unwrap()
            .read_2d::<f64>()
            .unwrap();
        let r = f
            .dataset("features/reason")
            .unwrap()
            .read_raw::<u8>()
            .unwrap();
        (v, r)
    };
    let (cv, cr) = read(&cpu);
    for ranks in [1usize, 2] {
        let gpu = tmp.path(&format!("gpu-{ranks}.h5"));
        let a = lc_args(&lc, gpu.to_str().unwrap(), "gpu");
        let o = run(launch(ranks, &strs(&a)), &tmp.0);
        assert_success(&o);
        assert_eq!(read_str(&gpu, "/provenance/backend"), "gpu");
        assert!(read_str(&gpu, "/provenance/device").contains("device"));
        let (gv, gr) = read(&gpu);
        assert_eq!(gr, cr, "reason codes");
        let mut max_dp = 0.0f64;
        for (r, (g, c)) in gv.rows().into_iter().zip(cv.rows()).enumerate() {
            for k in 0..base {
                assert_eq!(
                    g[k].to_bits(),
                    c[k].to_bits(),
                    "row {r}, feature column {k}"
                );
            }
            for name in ["period", "period_refined"] {
                let k = col(name);
                assert_eq!(
                    g[k].to_bits(),
                    c[k].to_bits(),
                    "row {r}, {name}: {} vs {}",
                    g[k],
                    c[k]
                );
            }
            for name in ["period_power", "peak1_power", "peak2_power", "peak3_power"] {
                let k = col(name);
                if c[k].is_finite() || g[k].is_finite() {
                    let d = (g[k] - c[k]).abs();
                    max_dp = max_dp.max(d);
                    assert!(d <= 1e-5, "row {r}, {name}: {} vs {}", g[k], c[k]);
                }
            }
        }
        eprintln!("lightcurves GPU ({ranks} ranks) vs CPU direct: max |dP| {max_dp:.2e}");
    }
}

/// On a GPU machine: `tessera image --backend gpu` against the CPU's direct
/// method, plainly and under `mpirun -n 2`, with a symmetric kernel and an
/// asymmetric one (a 3 x 5 text kernel: a flip or transpose mistake shows):
/// f64 within 1e-12 and f32 within 1e-6 relative to the output's scale
/// (printed); /gpu_timings holds host-to-device, kernel and device-to-host
/// seconds per rank.
#[test]
#[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
fn image_gpu_matches_cpu_direct() {
    require_device();
    let tmp = TestDir::new("gpu-img");
    let asym = tmp.path("asym.txt");
    std::fs::write(&asym, "1 2 3 4 5\n0 -1 7 2 1\n3 0 0 1 9\n").unwrap();
    let asym = format!("file:{}", asym.display());
    let read = |p: &std::path::Path| -> Vec<f64> {
        let f = hdf5::File::open(p).unwrap();
        f.dataset("convolved").unwrap().read_raw::<f64>().unwrap()
    };
    let imgs = [
        ("f64", image_input(&tmp, "f64")),
        ("f32", image_input(&tmp, "f32")),
    ];
    for kernel in ["gaussian:2:9", asym.as_str()] {
        let args = |img: &str, out: &str, backend: &str| {
            let mut a = image_job_args(img, out, backend);
            let k = a.iter().position(|x| x == "--kernel").unwrap() + 1;
            a[k] = kernel.to_string();
            a
        };
        for (dtype, img) in &imgs {
            let cpu = tmp.path(&format!("cpu-{dtype}.h5"));
            let _ = std::fs::remove_file(&cpu);
            assert_success(&run(
                plain(&strs(&args(img, cpu.to_str().unwrap(), "cpu"))),
                &tmp.0,
            ));
            let want = read(&cpu);
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for ranks in [1usize, 2] {
                let gpu = tmp.path(&format!("gpu-{dtype}-{ranks}.h5"));
                let _ = std::fs::remove_file(&gpu);
                let a = args(img, gpu.to_str().unwrap(), "gpu");
                let o = run(launch(ranks, &strs(&a)), &tmp.0);
                assert_success(&o);
                assert!(stdout(&o).contains("host-to-device"), "{}", stdout(&o));
                assert_eq!(read_str(&gpu, "/provenance/backend"), "gpu");
                let got = read(&gpu);
                assert_eq!(got.len(), want.len());
                let d = got
                    .iter()
                    .zip(&want)
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
                    / scale;
                eprintln!(
                    "image GPU ({kernel}, {dtype}, {ranks} ranks) vs CPU direct: max relative difference {d:.2e}"
                );
                let tol = if *dtype == "f64" { 1e-12 } else { 1e-6 };
                assert!(d <= tol, "{kernel} {dtype}: {d:e} > {tol:e}");
                let f = hdf5::File::open(&gpu).unwrap();
                let t = f.dataset("gpu_timings").unwrap().read_2d::<f64>().unwrap();
                assert_eq!(t.shape(), &[ranks, 3]);
                assert!(
                    t.iter().all(|&x| x >= 0.0) && t.column(1).sum() > 0.0,
                    "{t:?}"
                );
            }
        }
    }
}

/// A memory cap that is not a number of bytes is a usage error (exit 2,
/// naming the variable) before MPI starts, for `gpu` and `auto`, and for
/// `gpu selftest`; `cpu` ignores it.
#[test]
fn a_bad_memory_cap_is_a_usage_error() {
    let tmp = TestDir::new("memcap");
    let out = tmp.path("x.h5");
    for backend in ["gpu", "auto"] {
        let a = mc_small(out.to_str().unwrap(), backend);
        let mut cmd = plain(&strs(&a));
        cmd.env("TESSERA_GPU_MEMORY_CAP", "lots");
        let o = run(cmd, &tmp.0);
        assert_eq!(o.status.code(), Some(2), "{backend}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("TESSERA_GPU_MEMORY_CAP='lots': expected a number of bytes"),
            "{backend}: {}",
            stderr(&o)
        );
        assert!(!out.exists());
    }
    let mut cmd = plain(&["gpu", "selftest"]);
    cmd.env("TESSERA_GPU_MEMORY_CAP", "0");
    let o = run(cmd, &tmp.0);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("TESSERA_GPU_MEMORY_CAP='0'"),
        "{}",
        stderr(&o)
    );
    let a = mc_small(out.to_str().unwrap(), "cpu");
    let mut cmd = plain(&strs(&a));
    cmd.env("TESSERA_GPU_MEMORY_CAP", "lots");
    assert_success(&run(cmd, &tmp.0));
}
