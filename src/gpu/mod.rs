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
pub mod conv;
pub mod kernels;
mod launch;
pub mod lombscargle;
pub mod mc;

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
}

impl Probe {
    /// Usable for computing: a device exists and kernels can be compiled.
    pub fn usable(&self) -> bool {
        self.nvrtc_library && !self.devices.is_empty()
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
                "the NVRTC library (libnvrtc.so, needed to compile the kernels) was not found; install the CUDA toolkit or `pip install nvidia-cuda-nvrtc-cu12` and add its lib directory to LD_LIBRARY_PATH; searched {:?}",
                lib_names("nvrtc")
            ))
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
            p.driver_error = Some(format!("cuInit failed: {e}"));
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
    p
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
    let device = comm.agree(match backend {
        Resolved::Gpu => GpuDevice::for_rank(comm.node_rank(), comm.node_size()).map(Some),
        Resolved::Cpu { .. } => Ok(None),
    })?;
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
        Ok(GpuDevice {
            ctx,
            stream,
            info: p.devices[ordinal].clone(),
            // ranks r, r + count, r + 2 count, ... of this node share it
            sharers: node_size.saturating_sub(ordinal).div_ceil(count).max(1),
            modules: Mutex::new(HashMap::new()),
        })
    }

    /// Entry point `name` of kernel file `k`: compiled once per process for
    /// this device's architecture, loaded once per device.
    pub fn function(&self, k: &kernels::KernelSource, name: &str) -> anyhow::Result<CudaFunction> {
        let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        let module = match modules.get(k.file) {
            Some(m) => m.clone(),
            None => {
                let ptx = kernels::ptx(k, Some(kernels::arch_for(self.info.compute_capability)))
                    .map_err(anyhow::Error::msg)?;
                let m = self
                    .ctx
                    .load_module(ptx)
                    .map_err(cuda(&format!("loading the PTX of kernels/{}", k.file)))?;
                modules.insert(k.file, m.clone());
                m
            }
        };
        module
            .load_function(name)
            .map_err(cuda(&format!("finding {name} in kernels/{}", k.file)))
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
        Ok(chunks::budget(free, self.sharers))
    }
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
