//! The image job's configuration: keys, defaults, kernel specs and their
//! checks (job-driver layer; `cli` turns flags into these keys).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use toml::Value;

use crate::config::{usage, Layered};
use crate::gpu::Backend;
use crate::io::fits::FitsHdu;
use crate::io::identity::refuse_input_as_output;
use crate::numeric::conv2d::{
    build_kernel, Boundary, ConvError, ConvMethod, ConvMode, Kernel, KernelSpec, Shape2,
};

/// Config keys of the `image` job (configs/image.toml documents each).
pub const KEYS: &[&str] = &[
    "backend",
    "resume",
    "input",
    "dataset",
    "hdu",
    "kernel",
    "normalize",
    "mode",
    "boundary",
    "method",
    "tile",
    "convert",
    "allow_nan",
    "threads",
    "out",
    "progress_interval",
];

/// Endings of compressed FITS names, which the image job does not write.
pub const COMPRESSED_FITS_ENDINGS: [&str; 3] = [".fz", ".fits.gz", ".fit.gz"];

/// Largest built-in kernel edge (a sanity bound: 4097^2 taps).
const MAX_KERNEL: usize = 4097;

/// A validated image-job configuration. The kernel is built (or read from its
/// file) during validation, in f64, and cast to the image's type later.
#[derive(Clone, Debug)]
pub struct ImageConfig {
    /// Continue an interrupted run from its checkpoint (`resume`, `--resume`).
    pub resume: bool,
    /// Input image: an HDF5 or a FITS file.
    pub input: PathBuf,
    /// HDF5 dataset holding the 2-D image (ignored for FITS).
    pub dataset: String,
    /// FITS HDU holding the image (number or EXTNAME); `None`: the first
    /// image HDU with data.
    pub hdu: Option<FitsHdu>,
    /// The kernel spec as given, e.g. `radial:15` (see [`parse_kernel`]).
    pub kernel_spec: String,
    /// The kernel built from the spec, in f64.
    pub kernel: Kernel<f64>,
    /// Whether the kernel was divided by its sum.
    pub normalize: bool,
    /// Output size: full, same or valid (as `scipy.signal.convolve2d`).
    pub mode: ConvMode,
    /// How pixels outside the image are filled.
    pub boundary: Boundary,
    /// Convolution method requested (`auto` picks per tile).
    pub method: ConvMethod,
    /// Tile edge in output pixels; tiles do not depend on ranks or threads.
    pub tile: usize,
    /// Read integer pixels as f64 instead of refusing them.
    pub convert: bool,
    /// Let NaN input pixels propagate instead of failing.
    pub allow_nan: bool,
    /// Rayon threads per rank; 0 = automatic.
    pub threads: usize,
    /// Output file: HDF5, or FITS when the name ends in .fits, .fit or .fts.
    pub out: PathBuf,
    /// Requested backend (resolved against the GPU probe before MPI).
    pub backend: Backend,
    /// Seconds between progress lines (0 = off).
    pub progress_interval: f64,
}

/// The config value naming `m`: `full`, `same` or `valid`.
pub fn mode_name(m: ConvMode) -> &'static str {
    match m {
        ConvMode::Full => "full",
        ConvMode::Same => "same",
        ConvMode::Valid => "valid",
    }
}

/// The config value naming `b`: `zero`, `reflect` or `nearest`.
pub fn boundary_name(b: Boundary) -> &'static str {
    match b {
        Boundary::Zero => "zero",
        Boundary::Reflect => "reflect",
        Boundary::Nearest => "nearest",
    }
}

/// The config value naming `m`: `auto`, `naive`, `direct` or `fft`.
pub fn method_name(m: ConvMethod) -> &'static str {
    match m {
        ConvMethod::Auto => "auto",
        ConvMethod::Naive => "naive",
        ConvMethod::Direct => "direct",
        ConvMethod::Fft => "fft",
    }
}

/// Parses a kernel spec: `radial:SIZE`, `gaussian:SIGMA:SIZE`, `box:SIZE`,
/// `tophat:RADIUS[:SIZE]` (built-in, odd sizes only) or `file:PATH` (a text
/// file of rows of numbers, or `file:PATH.h5[:/dataset]`, default
/// `/kernel`). Spec errors are usage errors (exit 2); an unreadable kernel
/// file is an input error (exit 1).
pub fn parse_kernel(spec: &str, normalize: bool) -> anyhow::Result<Kernel<f64>> {
    let bad = |why: &str| {
        usage(format!(
            "kernel '{spec}': {why}; expected radial:SIZE, gaussian:SIGMA:SIZE, box:SIZE, tophat:RADIUS[:SIZE] or file:PATH"
        ))
    };
    let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
    if kind == "file" {
        return read_kernel_file(rest, normalize);
    }
    let parts: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(':').collect()
    };
    let size = |s: &str| -> anyhow::Result<usize> {
        let n: usize = s
            .trim()
            .parse()
            .map_err(|_| bad(&format!("size '{s}' is not a whole number")))?;
        if n > MAX_KERNEL {
            return Err(bad(&format!("size {n} exceeds {MAX_KERNEL}")));
        }
        Ok(n)
    };
    let num = |s: &str| -> anyhow::Result<f64> {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(&format!("'{s}' is not a finite number")))
    };
    let ks = match (kind, parts.as_slice()) {
        ("radial", [n]) => KernelSpec::Radial { size: size(n)? },
        ("gaussian", [sig, n]) => KernelSpec::Gaussian {
            sigma: num(sig)?,
            size: size(n)?,
        },
        ("box", [n]) => KernelSpec::Box { size: size(n)? },
        ("tophat", [r]) => {
            // the default side 2 floor(RADIUS) + 1 obeys the same limit as a given one
            let radius = num(r)?;
            if radius >= 0.0 && 2.0 * radius.floor() + 1.0 > MAX_KERNEL as f64 {
                return Err(bad(&format!(
                    "radius {radius} gives a side of {} pixels, above the limit {MAX_KERNEL}",
                    2.0 * radius.floor() + 1.0
                )));
            }
            KernelSpec::TopHat { radius, size: None }
        }
        ("tophat", [r, n]) => KernelSpec::TopHat {
            radius: num(r)?,
            size: Some(size(n)?),
        },
        ("radial" | "gaussian" | "box" | "tophat", _) => {
            return Err(bad("wrong number of ':'-separated parameters"))
        }
        _ => return Err(bad(&format!("unknown kernel kind '{kind}'"))),
    };
    build_kernel::<f64>(ks, normalize).map_err(|e| match e {
        ConvError::EvenKernelSize(n) => bad(&format!(
            "built-in kernels need an odd size (a centre pixel), got {n}"
        )),
        e => bad(&e.to_string()),
    })
}

fn normalise(mut k: Kernel<f64>, what: &str) -> anyhow::Result<Kernel<f64>> {
    let sum: f64 = k.data.iter().sum();
    if sum == 0.0 || !sum.is_finite() {
        bail!("{what}: kernel sum is {sum}; cannot normalise");
    }
    k.data.iter_mut().for_each(|v| *v /= sum);
    Ok(k)
}

fn read_kernel_file(rest: &str, normalize: bool) -> anyhow::Result<Kernel<f64>> {
    if rest.is_empty() {
        return Err(usage("kernel 'file:': give a path, e.g. file:kernel.txt"));
    }
    let is_h5 = |p: &str| p.ends_with(".h5") || p.ends_with(".hdf5");
    let (path, dataset) = match rest.rsplit_once(':') {
        Some((p, d)) if is_h5(p) => (p, d),
        _ if is_h5(rest) => (rest, "/kernel"),
        _ => (rest, ""),
    };
    let k = if dataset.is_empty() {
        let what = format!("kernel file '{path}'");
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {what}"))?;
        let mut rows: Vec<Vec<f64>> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let row: Vec<f64> = line
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty())
                .map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect::<Option<_>>()
                .with_context(|| format!("{what}, line {}: not a list of finite numbers", i + 1))?;
            if let Some(first) = rows.first() {
                if first.len() != row.len() {
                    bail!(
                        "{what}, line {}: {} values, the first row has {}",
                        i + 1,
                        row.len(),
                        first.len()
                    );
                }
            }
            rows.push(row);
        }
        if rows.is_empty() || rows[0].is_empty() {
            bail!("{what}: no kernel values");
        }
        Kernel {
            shape: Shape2::new(rows.len(), rows[0].len()),
            data: rows.concat(),
        }
    } else {
        let what = format!("kernel file '{path}', dataset '{dataset}'");
        let f =
            hdf5::File::open(path).with_context(|| format!("cannot open kernel file '{path}'"))?;
        let ds = f
            .dataset(dataset)
            .with_context(|| format!("{what}: no such dataset"))?;
        if ds.ndim() != 2 {
            bail!("{what}: {}-D dataset, a 2-D kernel is needed", ds.ndim());
        }
        let a = ds
            .read_2d::<f64>()
            .with_context(|| format!("reading {what}"))?;
        if a.is_empty() || a.iter().any(|v| !v.is_finite()) {
            bail!("{what}: empty or non-finite kernel");
        }
        Kernel {
            shape: Shape2::new(a.nrows(), a.ncols()),
            data: a.iter().copied().collect(),
        }
    };
    if normalize {
        normalise(k, &format!("kernel file '{path}'"))
    } else {
        Ok(k)
    }
}

fn parse_choice<T: Copy>(
    l: &Layered,
    key: &str,
    default: &str,
    choices: &[(&str, T)],
) -> anyhow::Result<T> {
    let v = l.string(key, default)?;
    choices
        .iter()
        .find(|(n, _)| *n == v)
        .map(|&(_, c)| c)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            usage(format!(
                "config key '{key}' (from {}): expected one of {}, got '{v}'",
                l.source_of(key),
                names.join(", ")
            ))
        })
}

impl ImageConfig {
    /// Reads and validates the `image` keys and builds the kernel. Bad keys
    /// are usage errors (exit 2); an unreadable kernel file is an input
    /// error (exit 1), reported only after every key has been checked.
    pub fn from_layered(l: &Layered) -> anyhow::Result<ImageConfig> {
        l.check_keys(&KEYS)?;
        let input = l.string("input", "")?;
        if input.is_empty() {
            return Err(usage(
                "no input image: give --input FILE (HDF5 or FITS) or the config key 'input'",
            ));
        }
        let dataset = l.string("dataset", "/image")?;
        if dataset.is_empty() {
            return Err(usage("config key 'dataset': empty dataset path"));
        }
        let hdu = l.fits_hdu()?;
        let normalize = l.boolean("normalize", false)?;
        let kernel_spec = l.string("kernel", "radial:15")?;
        let mode = parse_choice(
            l,
            "mode",
            "same",
            &[
                ("full", ConvMode::Full),
                ("same", ConvMode::Same),
                ("valid", ConvMode::Valid),
            ],
        )?;
        let boundary = parse_choice(
            l,
            "boundary",
            "zero",
            &[
                ("zero", Boundary::Zero),
                ("reflect", Boundary::Reflect),
                ("nearest", Boundary::Nearest),
            ],
        )?;
        let method = parse_choice(
            l,
            "method",
            "auto",
            &[
                ("auto", ConvMethod::Auto),
                ("direct", ConvMethod::Direct),
                ("fft", ConvMethod::Fft),
                ("naive", ConvMethod::Naive),
            ],
        )?;
        let tile = l.count_in("tile", 512, 1, 1 << 15)?;
        let convert = l.boolean("convert", false)?;
        let allow_nan = l.boolean("allow_nan", false)?;
        let threads = match l.get("threads") {
            Some(Value::String(s)) if s == "auto" => 0,
            _ => l.count_in("threads", 0, 0, 4096)? as usize,
        };
        let out = PathBuf::from(l.string("out", "conv.h5")?);
        if out.as_os_str().is_empty() {
            return Err(usage("config key 'out': empty output path"));
        }
        refuse_input_as_output(
            &out,
            &l.source_of("out"),
            &[(&l.source_of("input"), Path::new(&input))],
        )?;
        // .fits/.fit/.fts get FITS (jobs/image/fits_output.rs); a compressed
        // FITS name would silently hold an uncompressed file
        let lower = out.to_string_lossy().to_ascii_lowercase();
        if COMPRESSED_FITS_ENDINGS.iter().any(|e| lower.ends_with(e)) {
            return Err(usage(format!(
                "output '{}' ({}): the image job writes HDF5 or uncompressed FITS; give an .h5 or a .fits name",
                out.display(),
                l.source_of("out")
            )));
        }
        let backend = l.backend()?;
        // last: reading a kernel file is an input error (exit 1), after
        // every usage error has had its chance
        let kernel = parse_kernel(&kernel_spec, normalize)?;
        Ok(ImageConfig {
            resume: l.boolean("resume", false)?,
            input: PathBuf::from(input),
            dataset,
            hdu,
            kernel_spec,
            kernel,
            normalize,
            mode,
            boundary,
            method,
            tile: tile as usize,
            convert,
            allow_nan,
            threads,
            out,
            backend,
            progress_interval: l.progress_interval()?,
        })
    }

    /// The resolved configuration as TOML (stored in `/provenance/config`).
    pub fn to_toml(&self) -> String {
        let mut t = toml::Table::new();
        let s = |v: &str| Value::String(v.to_string());
        t.insert("input".into(), s(&self.input.display().to_string()));
        t.insert("dataset".into(), s(&self.dataset));
        if let Some(h) = &self.hdu {
            t.insert("hdu".into(), s(&h.to_string()));
        }
        t.insert("kernel".into(), s(&self.kernel_spec));
        t.insert("normalize".into(), Value::Boolean(self.normalize));
        t.insert("mode".into(), s(mode_name(self.mode)));
        t.insert("boundary".into(), s(boundary_name(self.boundary)));
        t.insert("method".into(), s(method_name(self.method)));
        t.insert("tile".into(), Value::Integer(self.tile as i64));
        t.insert("convert".into(), Value::Boolean(self.convert));
        t.insert("allow_nan".into(), Value::Boolean(self.allow_nan));
        t.insert("threads".into(), Value::Integer(self.threads as i64));
        t.insert("out".into(), s(&self.out.display().to_string()));
        t.insert("backend".into(), s(self.backend.name()));
        t.insert("resume".into(), Value::Boolean(self.resume));
        t.insert(
            "progress_interval".into(),
            Value::Float(self.progress_interval),
        );
        toml::to_string(&t).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn kernel_specs_parse_and_even_sizes_are_usage_errors() {
        let k = parse_kernel("radial:15", false).unwrap();
        assert_eq!(k.shape, Shape2::new(15, 15));
        assert_eq!(k.data[0], 8f64.sqrt());
        assert_eq!(k.data[7 * 15 + 7], 0.0);
        let g = parse_kernel("gaussian:2.5:9", true).unwrap();
        assert!((g.data.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(parse_kernel("box:3", false).unwrap().data, vec![1.0; 9]);
        assert_eq!(
            parse_kernel("tophat:1", false).unwrap().data,
            vec![0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0]
        );
        for bad in ["radial:14", "box:0", "gaussian:1", "blur:3", "radial:x"] {
            let e = parse_kernel(bad, false).unwrap_err();
            assert!(
                e.downcast_ref::<crate::config::UsageError>().is_some(),
                "{bad}: {e}"
            );
        }
        let e = parse_kernel("radial:4", false).unwrap_err().to_string();
        assert!(e.contains("odd"), "{e}");
    }

    #[test]
    fn text_kernel_file_is_read_even_sized() {
        let p = std::env::temp_dir().join(format!("tessera-k-{}.txt", std::process::id()));
        std::fs::write(&p, "# a 2x3 kernel\n1 2 3\n4, 5, 6\n").unwrap();
        let k = parse_kernel(&format!("file:{}", p.display()), false).unwrap();
        assert_eq!(k.shape, Shape2::new(2, 3));
        assert_eq!(k.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        std::fs::write(&p, "1 2\n3\n").unwrap();
        let e = parse_kernel(&format!("file:{}", p.display()), false).unwrap_err();
        assert!(e.downcast_ref::<crate::config::UsageError>().is_none());
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn shipped_config_is_valid() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/image.toml");
        let l = Layered::from_file(Some(Path::new(path))).unwrap();
        let c = ImageConfig::from_layered(&l).unwrap();
        assert_eq!(
            (c.mode, c.boundary, c.method),
            (ConvMode::Same, Boundary::Zero, ConvMethod::Auto)
        );
        assert_eq!(c.kernel.shape, Shape2::new(15, 15));
        assert_eq!(c.tile, 512);
    }
}
