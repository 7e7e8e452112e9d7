//! Where a light-curve job's objects come from (I/O layer): a tessera HDF5
//! file ([`LcFile`]) or a survey table ([`TableSource`]: Parquet, HATS,
//! text), behind one interface of tiles, bands and ids.

use std::ops::Range;
use std::path::Path;

use crate::comm::Comm;
use crate::config::usage;
use anyhow::Context;
use hdf5::types::VarLenUnicode;
use ndarray::s;

use crate::io::lcfile::{LcFile, Quantity};
use crate::io::output;
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

    /// Cuts a table's row groups into tiles of at most `tile` objects (an
    /// HDF5 input is cut on the fly by [`LcSource::tiles`]).
    pub fn split(&mut self, tile: usize) {
        if let LcSource::Table(t) = self {
            t.split(tile);
        }
    }

    /// Number of tiles: `tile` objects each for HDF5; for tables, the
    /// pieces of [`LcSource::split`] (one per unit before it).
    pub fn tiles(&self, tile: usize) -> usize {
        match self {
            LcSource::H5(f) => f.objects.div_ceil(tile),
            LcSource::Table(t) => t.tiles(),
        }
    }

    /// The objects of tile `t`.
    pub fn tile_objects(&self, t: usize, tile: usize) -> Range<usize> {
        match self {
            LcSource::H5(f) => t * tile..((t + 1) * tile).min(f.objects),
            LcSource::Table(s) => s.tile_objects(t),
        }
    }

    /// Object ids in object order (read whole: for tools that need them all).
    pub fn object_ids(&self) -> anyhow::Result<Vec<String>> {
        match self {
            LcSource::H5(f) => f.object_ids(),
            LcSource::Table(t) => t.object_ids(),
        }
    }

    /// Writes `/objects/object_id` (64-bit integers when the input's ids
    /// are, else strings) and, when the input has them, `ra`, `dec`
    /// (degrees, f64) and `_healpix_29` (i64) into `g` (rank 0, after the
    /// parallel writes). The ids are copied in slices and a table is read
    /// unit by unit, so no more than one slice or unit is held at a time.
    pub fn write_object_columns(&self, g: &hdf5::Group) -> anyhow::Result<()> {
        match self {
            LcSource::H5(f) => {
                // copied in slices, so rank 0 never holds every id
                const SLICE: usize = 1 << 16;
                let ids = g
                    .new_dataset::<VarLenUnicode>()
                    .shape(f.objects)
                    .create("object_id")?;
                for first in (0..f.objects).step_by(SLICE) {
                    let end = (first + SLICE).min(f.objects);
                    ids.write_slice(&f.object_ids_slice(first, end)?, s![first..end])?;
                }
                Ok(())
            }
            LcSource::Table(t) => write_table_objects(t, g),
        }
    }
    /// The (Norder, Npix) partitions of a HATS input (empty otherwise).
    pub fn hats_partitions(&self) -> Vec<(u64, u64)> {
        match self {
            LcSource::Table(t) => t.hats_partitions(),
            LcSource::H5(_) => Vec::new(),
        }
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

/// [`LcSource::write_object_columns`] for a table: datasets of the full
/// length created first, then filled one unit at a time.
fn write_table_objects(t: &TableSource, g: &hdf5::Group) -> anyhow::Result<()> {
    let n = t.objects();
    let ids = if t.integer_ids {
        g.new_dataset::<i64>().shape(n).create("object_id")?
    } else {
        g.new_dataset::<VarLenUnicode>()
            .shape(n)
            .create("object_id")?
    };
    let f64_set = |name: &str| g.new_dataset::<f64>().shape(n).create(name);
    let positions = t
        .has_positions()
        .then(|| anyhow::Ok((f64_set("ra")?, f64_set("dec")?)))
        .transpose()?;
    let healpix = t
        .has_healpix29()
        .then(|| g.new_dataset::<i64>().shape(n).create("_healpix_29"))
        .transpose()?;
    for u in 0..t.units() {
        let range = t.unit_objects(u);
        if range.is_empty() {
            continue;
        }
        let cols = t.unit_objects_columns(u)?;
        if t.integer_ids {
            let ints = cols
                .ids
                .iter()
                .map(|s| s.parse::<i64>())
                .collect::<Result<Vec<i64>, _>>()
                .context("integer object ids")?;
            ids.write_slice(&ints, s![range.clone()])?;
        } else {
            let text: Vec<VarLenUnicode> = cols.ids.iter().map(|s| output::varlen_str(s)).collect();
            ids.write_slice(&text, s![range.clone()])?;
        }
        if let Some((ra, dec)) = &positions {
            // a file without positions (FITS tables) leaves its objects' NaN
            let or_nan = |v: Vec<f64>| {
                if v.len() == range.len() {
                    v
                } else {
                    vec![f64::NAN; range.len()]
                }
            };
            ra.write_slice(&or_nan(cols.ra), s![range.clone()])?;
            dec.write_slice(&or_nan(cols.dec), s![range.clone()])?;
        }
        if let Some(h) = &healpix {
            if cols.healpix29.len() != range.len() {
                anyhow::bail!(
                    "unit {u} of '{}' has no _healpix_29 column",
                    t.path.display()
                );
            }
            h.write_slice(&cols.healpix29, s![range.clone()])?;
        }
    }
    Ok(())
}
