//! Where a light-curve job's objects come from (I/O layer): a tessera HDF5
//! file ([`LcFile`]) or a survey table ([`TableSource`]: Parquet, HATS,
//! text), behind one interface of tiles, bands and ids.

use std::ops::Range;
use std::path::Path;

use crate::comm::Comm;
use crate::config::usage;
use crate::io::lcfile::{LcFile, Quantity};
use crate::io::table::columns::ColumnSpec;
use crate::io::table::TableSource;

/// A light-curve input.
pub enum LcSource {
    /// tessera's own ragged HDF5 layout.
    H5(LcFile),
    /// A survey table.
    Table(TableSource),
}

/// Whether `path` is an HDF5 file (by its signature, or its name when it
/// cannot be read).
pub fn is_hdf5(path: &Path) -> bool {
    use std::io::Read;
    let mut sig = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open(path) {
        if path.is_file() && f.read_exact(&mut sig).is_ok() {
            return &sig == b"\x89HDF\r\n\x1a\n";
        }
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    matches!(ext.as_deref(), Some("h5" | "hdf5" | "he5"))
}

impl LcSource {
    /// Opens the input (not collective: every rank opens it alike). A
    /// column mapping given for an HDF5 input is a usage error.
    pub fn open(path: &Path, spec: &ColumnSpec, reject_flags: i64) -> anyhow::Result<LcSource> {
        if is_hdf5(path) {
            if let Some((role, (_, source))) = spec.given.iter().next() {
                return Err(usage(format!(
                    "'{}' is a tessera HDF5 file: its columns are fixed, so the column mapping ({role}, from {source}) does not apply; drop it",
                    path.display()
                )));
            }
            if let Some(hdu) = &spec.fits_hdu {
                return Err(usage(format!(
                    "'{}' is a tessera HDF5 file: --hdu / hdu ({hdu}) applies to FITS tables only; drop it",
                    path.display()
                )));
            }
            return Ok(LcSource::H5(LcFile::open(path)?));
        }
        Ok(LcSource::Table(TableSource::open(
            path,
            spec,
            reject_flags,
        )?))
    }

    /// The collective preparation before any tile: the whole-file layout
    /// check of an HDF5 input (rank 0), or a table's survey of its ids and
    /// bands (every rank its share).
    pub fn prepare(&mut self, comm: &impl Comm) -> anyhow::Result<()> {
        match self {
            LcSource::H5(f) => comm.agree(if comm.rank() == 0 {
                f.validate()
            } else {
                Ok(())
            }),
            LcSource::Table(t) => t.survey(comm),
        }
    }

    /// Band names, in row order.
    pub fn band_names(&self) -> &[String] {
        match self {
            LcSource::H5(f) => &f.band_names,
            LcSource::Table(t) => &t.band_names,
        }
    }

    /// Number of objects.
    pub fn objects(&self) -> usize {
        match self {
            LcSource::H5(f) => f.objects,
            LcSource::Table(t) => t.objects(),
        }
    }

    /// Magnitudes or fluxes.
    pub fn quantity(&self) -> Quantity {
        match self {
            LcSource::H5(f) => f.quantity,
            LcSource::Table(t) => t.quantity(),
        }
    }

    /// Whether observations carry quality flags (and rows count the dropped ones).
    pub fn has_flags(&self) -> bool {
        matches!(self, LcSource::Table(t) if t.mapping.flags.is_some())
    }

    /// Number of tiles: `tile` objects each for HDF5, one unit (row group
    /// or file) each for tables.
    pub fn tiles(&self, tile: usize) -> usize {
        match self {
            LcSource::H5(f) => f.objects.div_ceil(tile),
            LcSource::Table(t) => t.units(),
        }
    }

    /// The objects of tile `t`.
    pub fn tile_objects(&self, t: usize, tile: usize) -> Range<usize> {
        match self {
            LcSource::H5(f) => t * tile..((t + 1) * tile).min(f.objects),
            LcSource::Table(s) => s.unit_objects(t),
        }
    }

    /// Object ids in object order (rank 0).
    pub fn object_ids(&self) -> anyhow::Result<Vec<String>> {
        match self {
            LcSource::H5(f) => f.object_ids(),
            LcSource::Table(t) => Ok(t.object_ids().to_vec()),
        }
    }

    /// Per-object columns carried from the input to `/objects` (rank 0):
    /// `ra` and `dec` (degrees) as f64, `_healpix_29` as i64.
    pub fn positions(&self) -> (Vec<(&'static str, &[f64])>, Option<&[i64]>) {
        match self {
            LcSource::Table(t) if !t.ra.is_empty() => (
                vec![("ra", &t.ra[..]), ("dec", &t.dec[..])],
                (!t.healpix29.is_empty()).then_some(&t.healpix29[..]),
            ),
            LcSource::Table(t) => (
                Vec::new(),
                (!t.healpix29.is_empty()).then_some(&t.healpix29[..]),
            ),
            LcSource::H5(_) => (Vec::new(), None),
        }
    }

    /// The (Norder, Npix) partitions of a HATS input (empty otherwise).
    pub fn hats_partitions(&self) -> Vec<(u64, u64)> {
        match self {
            LcSource::Table(t) => t.hats_partitions(),
            LcSource::H5(_) => Vec::new(),
        }
    }

    /// Whether the ids are 64-bit integers in the input.
    pub fn integer_ids(&self) -> bool {
        matches!(self, LcSource::Table(t) if t.integer_ids)
    }

    /// Synthetic periods (tessera synth files only).
    pub fn true_periods(&self) -> anyhow::Result<Option<Vec<f64>>> {
        match self {
            LcSource::H5(f) => f.true_periods(),
            LcSource::Table(_) => Ok(None),
        }
    }

    /// What the input is, for the job's first line.
    pub fn describe(&self) -> String {
        match self {
            LcSource::H5(f) => format!("'{}'", f.path().display()),
            LcSource::Table(t) => format!(
                "{} '{}' ({} {}; {})",
                t.kind,
                t.path.display(),
                t.units(),
                if t.shape == crate::io::table::Shape::Flat {
                    "files"
                } else {
                    "row groups"
                },
                t.mapping.columns_line()
            ),
        }
    }
}
