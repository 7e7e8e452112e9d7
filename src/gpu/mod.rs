//! The CUDA backend (job-driver layer): the only code that imports `cudarc`.
//!
//! [`probe`] finds out, without ever letting cudarc panic, whether the CUDA
//! driver and NVRTC load and which devices exist; [`resolve_backend`] settles
//! `--backend` against it before MPI starts; [`GpuDevice`] is the device a
//! rank uses (node-local rank mod device count). [`kernels`] compiles the
//! embedded `kernels/*.cu` with NVRTC; `launch` holds every unsafe launch;
//! [`mc`], [`lombscargle`] and [`conv`] are the host-side wrappers, each with
//! a CPU twin the tests compare against; [`chunks`] splits work by free memory.
//!
//! cudarc loads its libraries at run time, so tessera builds, tests and runs
//! without CUDA; no cudarc function is called before the probe finds it.

pub mod chunks;
pub mod compare;
pub mod conv;
pub mod kernels;
mod launch;
pub mod lombscargle;
pub mod mc;
pub mod selftest;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use std::collections::HashMap;
use std::sync::Mutex;

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream};

/// Which hardware a job computes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The GPU when one is usable, else the CPU (with a log line saying why).
    Auto,
    /// The CPU, even when a GPU is present.
    Cpu,
    /// The GPU or nothing: exit 2 when no device is usable.
    Gpu,
}

impl Backend {
    /// The accepted `--backend` values.
    pub const NAMES: [&'static str; 3] = ["auto", "cpu", "gpu"];

    /// The `--backend` value that selects this variant.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Backend, String> {
        match s {
            "auto" => Ok(Backend::Auto),
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            _ => Err(format!(
                "unknown backend '{s}'; choose one of: {}",
                Backend::NAMES.join(", ")
            )),
        }
    }
}

/// One CUDA device as the probe saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    /// CUDA device ordinal (as numbered under `CUDA_VISIBLE_DEVICES`).
    pub ordinal: usize,
    /// Device name reported by the driver, or `unnamed (error)`.
    pub name: String,
    /// Compute capability (major, minor); (0, 0) if the driver did not say.
    pub compute_capability: (i32, i32),
    /// Total device memory in bytes; 0 if the driver did not say.
    pub total_bytes: usize,
}

/// What [`probe`] found. `devices` is empty unless the driver library
/// loaded and `cuInit` succeeded.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// libcuda (the driver) can be loaded.
    pub driver_library: bool,
    /// libnvrtc can be loaded.
    pub nvrtc_library: bool,
    /// NVRTC's version (major, minor), when it loaded.
    pub nvrtc_version: Option<(i32, i32)>,
    /// The driver's CUDA version (e.g. 12080), when it loaded.
    pub driver_version: Option<i32>,
    /// The devices found, in ordinal order.
    pub devices: Vec<DeviceInfo>,
    /// Why no device is listed although the driver loaded (cuInit failed...).
    pub driver_error: Option<String>,
    /// The files the CUDA libraries were loaded from (from /proc/self/maps).
    pub libraries: Vec<String>,
    /// Why the kernels NVRTC makes cannot load on this driver (NVRTC of a
    /// newer CUDA major version than the driver's); `None` when they can.
    pub version_mismatch: Option<String>,
}

impl Probe {
    /// Usable for computing: a device exists and kernels can be compiled.
    pub fn usable(&self) -> bool {
        self.missing().is_none()
    }

    /// Why the GPU cannot be used, naming what is missing; `None` if usable.
    pub fn missing(&self) -> Option<String> {
        if !self.driver_library {
            Some(format!(
                "the CUDA driver library (libcuda.so) was not found: no NVIDIA driver is installed or it is not on the library path (LD_LIBRARY_PATH); searched {:?}",
                lib_names("cuda")
            ))
        } else if let Some(e) = &self.driver_error {
            Some(format!("the CUDA driver could not start: {e}"))
        } else if self.devices.is_empty() {
            Some("the CUDA driver found no GPU device (check CUDA_VISIBLE_DEVICES)".into())
        } else if !self.nvrtc_library {
            Some(format!(
                "the NVRTC library (libnvrtc.so, needed to compile the kernels) was not found; install the CUDA toolkit or `pip install nvidia-cuda-nvrtc-cu13` (or -cu12) and add its lib directory to LD_LIBRARY_PATH; searched {:?}",
                lib_names("nvrtc")
            ))
        } else if let Some(why) = &self.version_mismatch {
            Some(why.clone())
        } else {
            None
        }
    }

    /// The human-readable report of `tessera gpu info`.
    pub fn report(&self) -> String {
        let yes_no = |b: bool| if b { "found" } else { "not found" };
        let mut s = String::new();
        s.push_str(&format!(
            "CUDA driver library (libcuda):  {}{}\n",
            yes_no(self.driver_library),
            self.driver_version
                .map(|v| format!(", CUDA {}.{}", v / 1000, (v % 1000) / 10))
                .unwrap_or_default()
        ));
        s.push_str(&format!(
            "NVRTC library (libnvrtc):       {}{}\n",
            yes_no(self.nvrtc_library),
            self.nvrtc_version
                .map(|(a, b)| format!(", version {a}.{b}"))
                .unwrap_or_default()
        ));
        if let Some(e) = &self.driver_error {
            s.push_str(&format!("driver error:                   {e}\n"));
        }
        for l in &self.libraries {
            s.push_str(&format!("library loaded:                 {l}\n"));
        }
        s.push_str(&format!(
            "devices:                        {}\n",
            self.devices.len()
        ));
        for d in &self.devices {
            s.push_str(&format!(
                "  device {}: {}, compute capability {}.{}, {:.1} GiB\n",
                d.ordinal,
                d.name,
                d.compute_capability.0,
                d.compute_capability.1,
                d.total_bytes as f64 / (1u64 << 30) as f64
            ));
        }
        match self.missing() {
            None => s.push_str("GPU backend:                    usable\n"),
            Some(why) => s.push_str(&format!(
                "GPU backend:                    not usable: {why}\n"
            )),
        }
        s
    }
}

/// The file names cudarc tries for a library (for messages).
fn lib_names(name: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in cudarc::get_lib_name_candidates(name) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// Probes the CUDA libraries and devices once per process. Never panics:
/// each cudarc call is made only after its library was found.
pub fn probe() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(probe_now)
}

fn probe_now() -> Probe {
    let mut p = Probe {
        // SAFETY: these only try to dlopen the library names cudarc uses;
        // loading the CUDA libraries runs no user-visible initialisation.
        driver_library: unsafe { cudarc::driver::sys::is_culib_present() },
        // SAFETY: as above.
        nvrtc_library: unsafe { cudarc::nvrtc::sys::is_culib_present() },
        ..Probe::default()
    };
    if p.nvrtc_library {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: the NVRTC library is present (checked above); the pointers
        // are to live locals.
        let rc = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        if rc == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
            p.nvrtc_version = Some((major, minor));
        }
    }
    if p.driver_library {
        if let Err(e) = cudarc::driver::result::init() {
            p.libraries = loaded_cuda_libraries();
            p.driver_error = Some(match p.libraries.iter().find(|l| is_stub(l)) {
                Some(stub) => format!(
                    "cuInit failed ({:?}) because the libcuda loaded is the CUDA toolkit's stub {stub}, which only serves linking: remove its stubs directory from LD_LIBRARY_PATH (and /etc/ld.so.conf.d) so that the NVIDIA driver's libcuda.so.1 loads",
                    e.0
                ),
                None if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_STUB_LIBRARY => format!(
                    "cuInit failed ({:?}): the libcuda loaded is a stub library, not the NVIDIA driver's; remove the CUDA toolkit's lib64/stubs from LD_LIBRARY_PATH",
                    e.0
                ),
                None => format!("cuInit failed: {e}"),
            });
            return p;
        }
        let mut v = 0;
        // SAFETY: the driver library is present and initialised; `v` is a live local.
        if unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) }
            == cudarc::driver::sys::CUresult::CUDA_SUCCESS
        {
            p.driver_version = Some(v);
        }
        let count = match CudaContext::device_count() {
            Ok(n) => n.max(0) as usize,
            Err(e) => {
                p.driver_error = Some(format!("cuDeviceGetCount failed: {e}"));
                return p;
            }
        };
        for ordinal in 0..count {
            p.devices.push(device_info(ordinal));
        }
    }
    p.version_mismatch = version_mismatch(p.nvrtc_version, p.driver_version);
    p.libraries = loaded_cuda_libraries();
    p
}

/// Whether a library path is the CUDA toolkit's link-time stub.
fn is_stub(path: &str) -> bool {
    path.contains("/stubs/")
}

/// The CUDA libraries (libcuda, libnvrtc and NVRTC's builtins) mapped into
/// this process, as file paths; empty where /proc/self/maps is unreadable.
pub fn loaded_cuda_libraries() -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut libs: Vec<String> = Vec::new();
    for line in maps.lines() {
        let Some(path) = line.split_whitespace().nth(5) else {
            continue;
        };
        let file = path.rsplit('/').next().unwrap_or(path);
        if (file.starts_with("libcuda.") || file.starts_with("libnvrtc"))
            && !libs.iter().any(|l| l == path)
        {
            libs.push(path.to_string());
        }
    }
    libs
}

/// The kernels are compiled to a cubin for the device's `sm_XY` (see
/// [`kernels::device_image`]), which a driver loads when NVRTC's CUDA major
/// version is not newer than the driver's (CUDA's minor version
/// compatibility); PTX would also need NVRTC's minor version not newer. A
/// newer major version cannot load: that is reported here, before any job
/// starts.
pub fn version_mismatch(nvrtc: Option<(i32, i32)>, driver: Option<i32>) -> Option<String> {
    let ((major, minor), d) = (nvrtc?, driver?);
    let (dmajor, dminor) = (d / 1000, (d % 1000) / 10);
    (major > dmajor).then(|| {
        format!(
            "NVRTC {major}.{minor} makes kernels for CUDA {major}, which the driver (CUDA {dmajor}.{dminor}) cannot load: use an NVRTC of CUDA {dmajor}.x (e.g. `pip install nvidia-cuda-nvrtc-cu{dmajor}` and put its lib directory first on LD_LIBRARY_PATH) or update the NVIDIA driver"
        )
    })
}

fn device_info(ordinal: usize) -> DeviceInfo {
    use cudarc::driver::result::device;
    let dev = device::get(ordinal as i32);
    let name = dev
        .and_then(device::get_name)
        .unwrap_or_else(|e| format!("unnamed ({e})"));
    let cc = dev
        .and_then(|d| {
            use cudarc::driver::sys::CUdevice_attribute as A;
            // SAFETY: `d` is a valid device handle from cuDeviceGet.
            unsafe {
                Ok((
                    device::get_attribute(d, A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
                    device::get_attribute(d, A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
                ))
            }
        })
        .unwrap_or((0, 0));
    // SAFETY: `d` is a valid device handle from cuDeviceGet.
    let total = dev
        .and_then(|d| unsafe { device::total_mem(d) })
        .unwrap_or(0);
    DeviceInfo {
        ordinal,
        name,
        compute_capability: cc,
        total_bytes: total,
    }
}

/// The backend a job will use, decided before MPI starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Run on the CPU.
    Cpu {
        /// Why `auto` fell back from the GPU; `None` when the CPU was asked for.
        reason: Option<String>,
    },
    /// Run on the GPU (a usable device was found).
    Gpu,
}

/// Resolves `--backend` against the probe: `gpu` without a usable device is
/// an error whose message names what is missing (the caller makes it exit
/// 2); `auto` falls back to the CPU and says why.
pub fn resolve_backend(requested: Backend) -> Result<Resolved, String> {
    if requested != Backend::Cpu {
        memory_cap_from_env()?;
    }
    match requested {
        Backend::Cpu => Ok(Resolved::Cpu { reason: None }),
        Backend::Auto => Ok(match probe().missing() {
            None => Resolved::Gpu,
            Some(why) => Resolved::Cpu { reason: Some(why) },
        }),
        Backend::Gpu => match probe().missing() {
            None => Ok(Resolved::Gpu),
            Some(why) => Err(format!("--backend gpu: no usable GPU: {why}")),
        },
    }
}

/// Opens this rank's device when `backend` resolved to the GPU and logs the
/// choice: each rank names its device; with `auto` and no usable GPU, rank 0
/// says why the job runs on the CPU. `comm.agree` makes one rank's failure
/// every rank's error. `job` starts the log lines.
pub fn open_for_job(
    job: &str,
    requested: Backend,
    backend: &Resolved,
    comm: &impl crate::comm::Comm,
) -> anyhow::Result<Option<GpuDevice>> {
    let opened = match backend {
        Resolved::Gpu => GpuDevice::for_rank(comm.node_rank(), comm.node_size()).map(Some),
        Resolved::Cpu { .. } => Ok(None),
    };
    // `auto`: a device that does not open, or kernels that do not compile or
    // load, on any rank send every rank to the CPU (saying why)
    let (device, backend) = if requested == Backend::Auto && matches!(backend, Resolved::Gpu) {
        let ok = comm.all_ok(opened.is_ok());
        match opened {
            Ok(d) if ok => (d, backend.clone()),
            Ok(_) => (
                None,
                Resolved::Cpu {
                    reason: Some("another rank could not open its GPU (see its message)".into()),
                },
            ),
            Err(e) => {
                let why = format!("{e:#}");
                crate::say!("{job}: backend auto: this rank's GPU failed: {why}");
                (None, Resolved::Cpu { reason: Some(why) })
            }
        }
    } else {
        (comm.agree(opened)?, backend.clone())
    };
    let backend = &backend;
    match (backend, &device) {
        (Resolved::Cpu { reason: Some(why) }, _) => {
            crate::say0!("{job}: backend auto: using the CPU because {why}")
        }
        (_, Some(d)) => crate::say!(
            "{job}: backend {requested}: using GPU {} (node-local rank {} of {})",
            d.describe(),
            comm.node_rank(),
            comm.node_size()
        ),
        _ => {}
    }
    Ok(device)
}

/// `(backend, device)` for `/provenance` on rank 0 (`None` elsewhere):
/// `("cpu", "cpu")`, or `"gpu"` and each distinct device with its rank
/// count. Collective: every rank calls it.
pub fn provenance_fields(
    device: Option<&GpuDevice>,
    comm: &impl crate::comm::Comm,
) -> Option<(String, String)> {
    let name = device.map_or_else(|| "cpu".to_string(), GpuDevice::describe);
    let names = comm.gather_bytes(name.as_bytes())?;
    Some(if device.is_some() {
        let names: Vec<String> = names
            .iter()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .collect();
        (
            "gpu".into(),
            crate::io::output::summarise_hosts(&names).join("; "),
        )
    } else {
        ("cpu".into(), "cpu".into())
    })
}

/// The device of a node-local rank: `node_rank mod device_count`.
pub fn device_for_rank(node_rank: usize, device_count: usize) -> usize {
    node_rank % device_count.max(1)
}

/// A CUDA context and stream on the device this rank uses.
pub struct GpuDevice {
    /// The CUDA context of the device.
    pub ctx: Arc<CudaContext>,
    /// The context's default stream; every copy and launch goes on it.
    pub stream: Arc<CudaStream>,
    /// What the probe saw of the device.
    pub info: DeviceInfo,
    /// Ranks of this node that share the device (they split its memory).
    pub sharers: usize,
    /// Most bytes [`GpuDevice::memory_budget`] returns (`TESSERA_GPU_MEMORY_CAP`
    /// at open, or set by `tessera gpu selftest`): forces the chunked paths.
    pub memory_cap: Option<usize>,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
}

impl GpuDevice {
    /// Opens the device of node-local rank `node_rank` of `node_size`.
    /// Call only after [`resolve_backend`] returned [`Resolved::Gpu`].
    pub fn for_rank(node_rank: usize, node_size: usize) -> anyhow::Result<GpuDevice> {
        let p = probe();
        if let Some(why) = p.missing() {
            anyhow::bail!("no usable GPU: {why}");
        }
        let count = p.devices.len();
        let ordinal = device_for_rank(node_rank, count);
        let ctx = CudaContext::new(ordinal)
            .map_err(|e| anyhow::anyhow!("opening CUDA device {ordinal}: {e}"))?;
        let stream = ctx.default_stream();
        let dev = GpuDevice {
            ctx,
            stream,
            info: p.devices[ordinal].clone(),
            // ranks r, r + count, r + 2 count, ... of this node share it
            sharers: node_size.saturating_sub(ordinal).div_ceil(count).max(1),
            memory_cap: memory_cap_from_env().map_err(anyhow::Error::msg)?,
            modules: Mutex::new(HashMap::new()),
        };
        // compile and load every kernel now, so that a toolkit the driver
        // cannot use fails here (where `auto` can still fall back), not mid-job
        for k in kernels::ALL {
            dev.module(&k)?;
        }
        Ok(dev)
    }

    /// Entry point `name` of kernel file `k`: compiled once per process for
    /// this device's architecture, loaded once per device.
    pub fn function(&self, k: &kernels::KernelSource, name: &str) -> anyhow::Result<CudaFunction> {
        self.module(k)?
            .load_function(name)
            .map_err(cuda(&format!("finding {name} in kernels/{}", k.file)))
    }

    /// The loaded module of kernel file `k` (compiled to a cubin for this
    /// device's `sm_XY` on first use).
    fn module(&self, k: &kernels::KernelSource) -> anyhow::Result<Arc<CudaModule>> {
        let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = modules.get(k.file) {
            return Ok(m.clone());
        }
        let arch = kernels::sm_for(self.info.compute_capability);
        let image = kernels::device_image(k, arch).map_err(anyhow::Error::msg)?;
        let m = self.ctx.load_module(image).map_err(|e| {
            anyhow::anyhow!(
                "loading kernels/{} ({arch} cubin from NVRTC {}) on the driver of CUDA {}: {e}",
                k.file,
                probe()
                    .nvrtc_version
                    .map_or("?".into(), |(a, b)| format!("{a}.{b}")),
                probe().driver_version.map_or("?".into(), |v| format!(
                    "{}.{}",
                    v / 1000,
                    (v % 1000) / 10
                )),
            )
        })?;
        modules.insert(k.file, m.clone());
        Ok(m)
    }

    /// `NAME (device i, cc X.Y)`, for logs and `/provenance/device`.
    pub fn describe(&self) -> String {
        format!(
            "{} (device {}, compute capability {}.{})",
            self.info.name,
            self.info.ordinal,
            self.info.compute_capability.0,
            self.info.compute_capability.1
        )
    }

    /// Bytes this rank may use now: the free memory divided among the ranks
    /// sharing the device.
    pub fn memory_budget(&self) -> anyhow::Result<usize> {
        let (free, _total) = self
            .ctx
            .mem_get_info()
            .map_err(|e| anyhow::anyhow!("cuMemGetInfo: {e}"))?;
        let b = chunks::budget(free, self.sharers);
        Ok(self.memory_cap.map_or(b, |cap| b.min(cap)))
    }
}

/// `TESSERA_GPU_MEMORY_CAP` (bytes, e.g. `65536` or `64e3`): the most device
/// memory a rank plans for, to force the chunked paths; unset or empty: none.
/// [`resolve_backend`] checks it before MPI starts (a bad value exits 2).
pub fn memory_cap_from_env() -> Result<Option<usize>, String> {
    match std::env::var("TESSERA_GPU_MEMORY_CAP") {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<f64>() {
            Ok(x) if x >= 1.0 && x.is_finite() => Ok(Some(x as usize)),
            _ => Err(format!(
                "TESSERA_GPU_MEMORY_CAP='{v}': expected a number of bytes of at least 1 (e.g. 65536), or unset it"
            )),
        },
        _ => Ok(None),
    }
}

/// The device of the `#[ignore]`d device tests (run with `--include-ignored`):
/// device 0, or a panic naming what is missing.
#[doc(hidden)]
pub fn test_device() -> GpuDevice {
    if let Some(why) = probe().missing() {
        panic!("this test needs a usable CUDA device (it is ignored unless asked for with --include-ignored): {why}");
    }
    GpuDevice::for_rank(0, 1).expect("opening CUDA device 0")
}

/// A CUDA driver error with context, as an `anyhow` error.
pub(crate) fn cuda(what: &str) -> impl FnOnce(cudarc::driver::DriverError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_round_trip() {
        for name in Backend::NAMES {
            assert_eq!(name.parse::<Backend>().unwrap().name(), name);
        }
        assert!("cuda"
            .parse::<Backend>()
            .unwrap_err()
            .contains("auto, cpu, gpu"));
    }

    /// NVRTC of a newer CUDA major version than the driver cannot make
    /// kernels it loads (cubins load across minor versions): named, with
    /// both versions and what to install.
    #[test]
    fn nvrtc_newer_than_the_driver_is_named() {
        // driver 580 is CUDA 13.0
        assert_eq!(version_mismatch(Some((13, 0)), Some(13000)), None);
        assert_eq!(version_mismatch(Some((13, 2)), Some(13000)), None);
        assert_eq!(version_mismatch(Some((12, 9)), Some(13000)), None);
        let e = version_mismatch(Some((13, 0)), Some(12080)).unwrap();
        assert!(e.contains("NVRTC 13.0") && e.contains("CUDA 12.8"), "{e}");
        assert!(e.contains("nvidia-cuda-nvrtc-cu12"), "{e}");
        assert_eq!(version_mismatch(None, Some(12080)), None);
        assert_eq!(version_mismatch(Some((13, 0)), None), None);
        let p = Probe {
            driver_library: true,
            nvrtc_library: true,
            devices: vec![DeviceInfo {
                ordinal: 0,
                name: "x".into(),
                compute_capability: (9, 0),
                total_bytes: 1,
            }],
            version_mismatch: Some(e.clone()),
            ..Probe::default()
        };
        assert!(!p.usable());
        assert_eq!(p.missing(), Some(e));
    }

    #[test]
    fn ranks_spread_over_devices() {
        let picks: Vec<usize> = (0..6).map(|r| device_for_rank(r, 4)).collect();
        assert_eq!(picks, [0, 1, 2, 3, 0, 1]);
        assert_eq!(device_for_rank(3, 1), 0);
        assert_eq!(device_for_rank(3, 0), 0);
    }

    #[test]
    fn probe_never_panics_and_explains() {
        let p = probe();
        let report = p.report();
        assert!(report.contains("CUDA driver library"), "{report}");
        if !p.usable() {
            let why = p.missing().expect("a reason when unusable");
            assert!(why.contains("lib") || why.contains("device"), "{why}");
            assert!(matches!(
                resolve_backend(Backend::Auto),
                Ok(Resolved::Cpu { reason: Some(_) })
            ));
            assert!(resolve_backend(Backend::Gpu).is_err());
        }
        assert_eq!(
            resolve_backend(Backend::Cpu),
            Ok(Resolved::Cpu { reason: None })
        );
    }
}
