//! `tessera image --out x.fits` (job-driver layer): the job runs as for an
//! HDF5 output, into a hidden intermediate HDF5 file beside the target, and
//! rank 0 then copies `/convolved` into the FITS primary image through
//! CFITSIO, with the FITS input's header carried over (reference pixel
//! moved for the full and valid modes), the provenance and `/stats` as
//! `TS*` keywords, the configuration as HISTORY and the kernel as image
//! extension `KERNEL`; the intermediate file is then removed.
//!
//! Why through rank 0 and HDF5 rather than every rank writing its tiles
//! into the FITS file: CFITSIO buffers 2880-byte blocks and writes them back
//! whole, so two processes writing tiles that share a block overwrite each
//! other's pixels; the parallel HDF5 path already writes tiles safely
//! through MPI-IO, is bit-identical for any ranks and threads, and the FITS
//! pixels are a copy of it, so they are too. The price is a serial copy on
//! rank 0 and the intermediate file's disk space while it runs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::config::{boundary_name, method_name, mode_name, ImageConfig};
use super::ImageReport;
use crate::comm::Coordinated;
use crate::io::cfitsio::KeyValue;
use crate::io::fits::{looks_like_fits, FitsImage};
use crate::io::fits_out::{write_fits_image, FitsImageOut};
use crate::numeric::conv2d::full_offset;
use crate::timings::Phase;

/// File name endings that ask for FITS output.
pub const FITS_ENDINGS: [&str; 3] = [".fits", ".fit", ".fts"];

pub use super::config::COMPRESSED_FITS_ENDINGS;

/// Whether `out` names a FITS file (`.fits`, `.fit`, `.fts`, any case).
pub fn is_fits_name(out: &Path) -> bool {
    let lower = out.to_string_lossy().to_ascii_lowercase();
    FITS_ENDINGS.iter().any(|e| lower.ends_with(e))
}

/// The hidden HDF5 file the job writes before the FITS copy: the same name
/// on every rank, `.NAME.convolved.h5` beside the target.
fn intermediate_path(target: &Path) -> PathBuf {
    crate::io::output::hidden_beside(target, ".convolved.h5")
}

/// Input pixel (0-based row, column) of output pixel (0, 0). The `same`
/// output is aligned with the input; in the full convolution `F`, pixel `m`
/// sits on input pixel `m - (k - 1) / 2` (the kernel's centre convention of
/// `same`), and the mode's first pixel is at `full_offset` in `F`.
pub fn output_origin(cfg: &ImageConfig, report: &ImageReport) -> anyhow::Result<(i64, i64)> {
    let k = cfg.kernel.shape;
    let (r, c) = full_offset(report.input, k, cfg.mode)?;
    Ok((
        r as i64 - (k.rows as i64 - 1) / 2,
        c as i64 - (k.cols as i64 - 1) / 2,
    ))
}

/// Runs the job through `run` into the intermediate HDF5 file and, on rank
/// 0, writes the FITS file `cfg.out` from it (after every collective: a
/// failure there is rank 0's alone, exit 1, and leaves nothing).
pub fn run_via_hdf5(
    cfg: &ImageConfig,
    command_line: &str,
    run: impl FnOnce(&ImageConfig) -> anyhow::Result<Option<ImageReport>>,
) -> anyhow::Result<Option<ImageReport>> {
    let h5 = intermediate_path(&cfg.out);
    // a signal between the HDF5 rename and its removal removes it too
    crate::io::cleanup::register_temp_file(h5.clone());
    let inner = ImageConfig {
        out: h5.clone(),
        ..cfg.clone()
    };
    let result = run(&inner);
    let report = match result {
        Ok(Some(r)) => r,
        // ranks other than 0: rank 0 may be copying the file; leave it
        Ok(None) => {
            crate::io::cleanup::unregister_temp_file(&h5);
            return Ok(None);
        }
        // no rank renamed the file into place; a stale one goes too
        Err(e) => {
            forget(&h5);
            return Err(e);
        }
    };
    let t0 = Instant::now();
    let written = write_fits(cfg, &report, &h5, command_line);
    forget(&h5);
    let path = written
        .with_context(|| format!("writing '{}'", cfg.out.display()))
        .map_err(Coordinated)?;
    let mut report = report;
    report.path = path;
    let dt = t0.elapsed().as_secs_f64();
    for phase in [Phase::Write, Phase::Total] {
        report.timing_rows[0][phase as usize] += dt;
    }
    Ok(Some(report))
}

/// Removes the intermediate file and forgets it.
fn forget(h5: &Path) {
    let _ = std::fs::remove_file(h5);
    crate::io::cleanup::unregister_temp_file(h5);
}

fn write_fits(
    cfg: &ImageConfig,
    r: &ImageReport,
    h5: &Path,
    command_line: &str,
) -> anyhow::Result<PathBuf> {
    let header_from = if looks_like_fits(&cfg.input) {
        let img = FitsImage::open_hdu(&cfg.input, cfg.convert, cfg.hdu.as_ref())?;
        Some(img.hdu)
    } else {
        None
    };
    let origin = output_origin(cfg, r)?;
    let s = &r.stats;
    let str_key = |v: &str| KeyValue::Str(v.to_string());
    let count = s.count();
    let keys: Vec<(String, KeyValue, String)> = [
        (
            "TSVERSN",
            str_key(env!("CARGO_PKG_VERSION")),
            "tessera version",
        ),
        (
            "TSCOMMIT",
            str_key(env!("TESSERA_GIT_COMMIT")),
            "tessera git commit",
        ),
        ("TSJOB", str_key("image"), "tessera job"),
        (
            "TSINPUT",
            str_key(&cfg.input.display().to_string()),
            "input image file",
        ),
        (
            "TSINHDU",
            KeyValue::Int(header_from.map_or(-1, |h| h as i64)),
            "input FITS HDU (-1: HDF5 input)",
        ),
        (
            "TSINROWS",
            KeyValue::Int(r.input.rows as i64),
            "input image rows (NAXIS2)",
        ),
        (
            "TSINCOLS",
            KeyValue::Int(r.input.cols as i64),
            "input image columns (NAXIS1)",
        ),
        (
            "TSKERNEL",
            str_key(&cfg.kernel_spec),
            "kernel spec; values in HDU KERNEL",
        ),
        (
            "TSKNORM",
            KeyValue::Bool(cfg.normalize),
            "kernel normalised to unit sum",
        ),
        (
            "TSMODE",
            str_key(mode_name(cfg.mode)),
            "output size: full, same or valid",
        ),
        (
            "TSBOUND",
            str_key(boundary_name(cfg.boundary)),
            "pixels outside the input",
        ),
        (
            "TSMETHRQ",
            str_key(method_name(cfg.method)),
            "convolution method requested",
        ),
        (
            "TSMETHOD",
            str_key(&r.method_used),
            "convolution method used",
        ),
        (
            "TSPIXTYP",
            str_key(r.pixel.name()),
            "pixel type computed in",
        ),
        (
            "TSTILE",
            KeyValue::Int(cfg.tile as i64),
            "tile edge, output pixels",
        ),
        ("TSTILES", KeyValue::Int(r.tiles as i64), "number of tiles"),
        (
            "TSROFF",
            KeyValue::Int(origin.0),
            "input row of output row 0; CRPIX2 -= this",
        ),
        (
            "TSCOFF",
            KeyValue::Int(origin.1),
            "input col of output col 0; CRPIX1 -= this",
        ),
        ("TSRANKS", KeyValue::Int(r.ranks as i64), "MPI ranks"),
        (
            "TSTHRDS",
            KeyValue::Int(r.threads as i64),
            "threads per rank",
        ),
        ("TSDEVICE", str_key(&r.device), "compute device"),
        (
            "TSCOUNT",
            KeyValue::Int(count as i64),
            "non-NaN pixels (/stats/count)",
        ),
        (
            "TSNNAN",
            KeyValue::Int((r.output.len() as u64 - count) as i64),
            "NaN pixels",
        ),
        ("TSSUM", KeyValue::Real(s.sum), "sum of non-NaN pixels"),
        (
            "TSMEAN",
            KeyValue::Real(s.moments.mean),
            "mean of non-NaN pixels",
        ),
        (
            "TSVAR",
            KeyValue::Real(s.variance()),
            "population variance (TSM2 / TSCOUNT)",
        ),
        (
            "TSM2",
            KeyValue::Real(s.moments.m2),
            "sum of squared deviations from the mean",
        ),
        ("TSMIN", KeyValue::Real(s.min), "smallest non-NaN pixel"),
        ("TSMAX", KeyValue::Real(s.max), "largest non-NaN pixel"),
    ]
    .into_iter()
    .map(|(k, v, c)| (k.to_string(), v, c.to_string()))
    .collect();
    let mut history = vec![
        format!(
            "tessera {} image: {} convolved with {} ({} x {}), mode {}, boundary {}",
            env!("CARGO_PKG_VERSION"),
            cfg.input.display(),
            cfg.kernel_spec,
            cfg.kernel.shape.rows,
            cfg.kernel.shape.cols,
            mode_name(cfg.mode),
            boundary_name(cfg.boundary)
        ),
        format!("tessera command line: {command_line}"),
    ];
    if origin != (0, 0) {
        history.push(format!(
            "tessera: output pixel (0, 0) is input pixel (row {}, col {}): CRPIXn/LTVn moved, *SEC cards dropped",
            origin.0, origin.1
        ));
    }
    history.extend(
        cfg.to_toml()
            .lines()
            .map(|l| format!("tessera config: {l}")),
    );
    write_fits_image(&FitsImageOut {
        target: &cfg.out,
        source: h5,
        dataset: "convolved",
        header_from: header_from.map(|h| (cfg.input.as_path(), h)),
        origin,
        keys: &keys,
        history: &history,
        extension: Some((
            "KERNEL",
            cfg.kernel.shape.rows,
            cfg.kernel.shape.cols,
            &cfg.kernel.data,
        )),
    })
}
