//! Survey tables as light-curve input (I/O layer): Parquet files, directories
//! of them and HATS catalogs, text tables (CSV, TSV, whitespace, ECSV,
//! gzipped), many objects per file, and FITS binary-table light curves
//! (TESS/Kepler, one object per file), read in place without a conversion
//! step.
//!
//! The unit of work is a Parquet row group (one row per object) or a whole
//! file (one row per observation, grouped by id; text and FITS tables), in
//! the order of the sorted paths, then row order; a row group is split into
//! tiles of at most `tile` objects ([`TableSource::split`]), read alone.
//! [`TableSource::survey`] is one cheap collective pass (each rank its share
//! of the units) that fixes the object count of every unit and the band
//! names; after it every rank reads its own tiles straight from the files,
//! and nothing per object is held for the whole input: `/objects` is
//! written unit by unit ([`TableSource::unit_objects_columns`]).

pub mod columns;
pub mod fits_lc;
pub mod parquet;
pub mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::comm::Comm;
use crate::config::usage;
use crate::io::lcfile::{Quantity, Ragged};
use columns::{ColumnSpec, Found, Mapping};
use parquet::ParquetMeta;

/// How a table holds its light curves (see [`parquet`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// One row per observation, grouped by the id column.
    Flat,
    /// One row per object, observations in list columns.
    Lists,
    /// One row per object, observations in the list-of-struct column named.
    Nested(String),
}

/// The file format of a table input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// Apache Parquet (a file, a directory, a HATS catalog).
    Parquet,
    /// Delimited text (CSV, TSV, whitespace, ECSV; optionally gzipped).
    Text,
    /// FITS binary tables (the first table HDU of each file), through CFITSIO.
    Fits,
}

/// Band labels as small codes into `names` (at most 255 bands).
#[derive(Clone, Debug, Default)]
pub struct BandCodes {
    /// Distinct labels, in order of first appearance.
    pub names: Vec<String>,
    /// One code per observation.
    pub index: Vec<u8>,
}

impl BandCodes {
    /// Appends the code of `label`, registering it if new.
    pub fn push(&mut self, label: &str) -> anyhow::Result<()> {
        let code = self.code(label)?;
        self.index.push(code);
        Ok(())
    }

    /// The code of `label`, registering it if new.
    fn code(&mut self, label: &str) -> anyhow::Result<u8> {
        if let Some(p) = self.names.iter().position(|n| n == label) {
            return Ok(p as u8);
        }
        if self.names.len() == u8::MAX as usize {
            bail!("more than 255 distinct bands");
        }
        self.names.push(label.to_string());
        Ok((self.names.len() - 1) as u8)
    }

    /// Registers the names of `other`; returns its codes translated to ours.
    pub fn merge(&mut self, other: &BandCodes) -> Vec<u8> {
        other
            .names
            .iter()
            .map(|n| self.code(n).unwrap_or(u8::MAX))
            .collect()
    }
}

/// One unit's objects, observations flattened with object offsets.
#[derive(Clone, Debug, Default)]
pub struct UnitRows {
    /// Object ids.
    pub ids: Vec<String>,
    /// `ids.len() + 1` offsets into the observations.
    pub offsets: Vec<usize>,
    /// Times, values and uncertainties (read for [`Part::Observations`] only).
    pub time: Vec<f64>,
    /// Magnitudes or fluxes.
    pub value: Vec<f64>,
    /// 1-sigma uncertainties.
    pub err: Vec<f64>,
    /// Band of each observation (empty without a band column).
    pub bands: BandCodes,
    /// Quality flags of each observation (empty without a flags column).
    pub flags: Vec<i64>,
    /// Per-object right ascension, declination (degrees) and `_healpix_29`
    /// (read for [`Part::Objects`] when the table has them; a flat table's
    /// positions are the [`mean_position`] of each object's rows).
    pub ra: Vec<f64>,
    /// See [`UnitRows::ra`].
    pub dec: Vec<f64>,
    /// See [`UnitRows::ra`].
    pub healpix29: Vec<i64>,
}

/// A flat table's columns, one entry per observation (`id`, `band` and
/// `flags` empty when not mapped; `time`, `value`, `err` empty in the survey
/// pass).
#[derive(Clone, Debug, Default)]
pub struct FlatColumns {
    /// Object id of each row.
    pub id: Vec<String>,
    /// Times.
    pub time: Vec<f64>,
    /// Magnitudes or fluxes.
    pub value: Vec<f64>,
    /// 1-sigma uncertainties.
    pub err: Vec<f64>,
    /// Band labels.
    pub band: Vec<String>,
    /// Quality flags.
    pub flags: Vec<i64>,
    /// Right ascension and declination of each row, degrees (read for
    /// [`Part::Objects`] when the table has them).
    pub ra: Vec<f64>,
    /// See [`FlatColumns::ra`].
    pub dec: Vec<f64>,
}

/// Which columns a read of a unit needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Part {
    /// The object count and band labels: the survey (flat tables read their
    /// ids to count the objects).
    Survey,
    /// Ids and positions (`ra`, `dec`, `_healpix_29`): `/objects`.
    Objects,
    /// Ids and observations: the features.
    Observations,
}

/// The mean position of rows on the sphere, degrees: the direction of the
/// sum of their unit vectors, `ra = atan2(y, x) mod 360`, `dec = atan2(z,
/// hypot(x, y))` with `x = sum cos(dec) cos(ra)`, `y = sum cos(dec) sin(ra)`,
/// `z = sum sin(dec)` over the rows whose `ra` and `dec` are both finite. So
/// a set straddling RA 0/360 averages across the wrap, not to RA 180; rows
/// repeating one position give that position to within rounding. NaN when
/// no row has a position or the vectors cancel (the sum shorter than
/// `1e-9` times the rows counted: antipodal rows have no mean direction).
pub fn mean_position(ra: &[f64], dec: &[f64]) -> (f64, f64) {
    let (mut x, mut y, mut z, mut n) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    for (&a, &d) in ra.iter().zip(dec) {
        if !(a.is_finite() && d.is_finite()) {
            continue;
        }
        let (sa, ca) = a.to_radians().sin_cos();
        let (sd, cd) = d.to_radians().sin_cos();
        x += cd * ca;
        y += cd * sa;
        z += sd;
        n += 1;
    }
    let rho = x.hypot(y);
    if n == 0 || rho.hypot(z) <= 1e-9 * n as f64 {
        return (f64::NAN, f64::NAN);
    }
    let ra = y.atan2(x).to_degrees().rem_euclid(360.0);
    // rem_euclid of a tiny negative angle rounds to 360
    (
        if ra >= 360.0 { 0.0 } else { ra },
        z.atan2(rho).to_degrees(),
    )
}

impl FlatColumns {
    /// Groups the rows by id, objects in order of first appearance and each
    /// object's rows in file order; without ids the file is one object
    /// called `stem`.
    pub fn group(self, stem: &str) -> anyhow::Result<UnitRows> {
        let rows = self
            .id
            .len()
            .max(self.band.len())
            .max(self.time.len())
            .max(self.ra.len());
        let (ids, object_of): (Vec<String>, Vec<usize>) = if self.id.is_empty() {
            (vec![stem.to_string()], vec![0; rows])
        } else {
            let mut index: HashMap<&str, usize> = HashMap::new();
            let mut ids = Vec::new();
            let object_of = self
                .id
                .iter()
                .map(|id| {
                    *index.entry(id.as_str()).or_insert_with(|| {
                        ids.push(id.clone());
                        ids.len() - 1
                    })
                })
                .collect();
            (ids, object_of)
        };
        // a stable counting sort of the rows by object
        let mut offsets = vec![0usize; ids.len() + 1];
        for &o in &object_of {
            offsets[o + 1] += 1;
        }
        for k in 1..offsets.len() {
            offsets[k] += offsets[k - 1];
        }
        let mut next = offsets.clone();
        let mut order = vec![0usize; rows];
        for (r, &o) in object_of.iter().enumerate() {
            order[next[o]] = r;
            next[o] += 1;
        }
        let pick = |v: &[f64]| -> Vec<f64> {
            if v.is_empty() {
                Vec::new()
            } else {
                order.iter().map(|&r| v[r]).collect()
            }
        };
        let mut bands = BandCodes::default();
        for &r in order.iter().filter(|_| !self.band.is_empty()) {
            bands.push(&self.band[r])?;
        }
        let (mut ra, mut dec) = (Vec::new(), Vec::new());
        if !self.ra.is_empty() {
            let (ra_rows, dec_rows) = (pick(&self.ra), pick(&self.dec));
            for w in offsets.windows(2) {
                let (a, d) = mean_position(&ra_rows[w[0]..w[1]], &dec_rows[w[0]..w[1]]);
                ra.push(a);
                dec.push(d);
            }
        }
        Ok(UnitRows {
            ra,
            dec,
            ids,
            time: pick(&self.time),
            value: pick(&self.value),
            err: pick(&self.err),
            flags: if self.flags.is_empty() {
                Vec::new()
            } else {
                order.iter().map(|&r| self.flags[r]).collect()
            },
            bands,
            offsets,
            ..Default::default()
        })
    }
}

/// One unit of work: a row group of a Parquet file, or a whole file.
#[derive(Clone, Debug)]
struct Unit {
    file: usize,
    row_group: Option<usize>,
}

/// One tile: rows `rows` of unit `unit` (all of a flat unit's objects).
#[derive(Clone, Debug)]
struct TableTile {
    unit: usize,
    rows: std::ops::Range<usize>,
}

/// A table input: its files, how its columns map, and after
/// [`TableSource::survey`] its objects and bands.
pub struct TableSource {
    /// The path the user gave.
    pub path: PathBuf,
    /// Parquet, text or FITS.
    pub format: Format,
    /// What the input is, for messages (`HATS catalog`, `Parquet file`, ...).
    pub kind: &'static str,
    files: Vec<PathBuf>,
    metas: Vec<Option<ParquetMeta>>,
    /// The resolved columns.
    pub mapping: Mapping,
    /// Flat, list columns or nested.
    pub shape: Shape,
    units: Vec<Unit>,
    /// Object index of each unit's first object (`units + 1` entries); set by the survey.
    unit_first: Vec<usize>,
    /// The tiles: one per unit after the survey, row groups split into
    /// pieces of at most `tile` rows by [`TableSource::split`].
    tiles: Vec<TableTile>,
    /// Band names, in canonical order; set by the survey.
    pub band_names: Vec<String>,
    /// Whether the id column holds integers (kept as 64-bit integers).
    pub integer_ids: bool,
    /// A point whose flags share a bit with this mask is dropped.
    pub reject_flags: i64,
    /// The HDU of FITS tables holding the columns; `None`: the first table.
    fits_hdu: Option<crate::io::fits::FitsHdu>,
}

/// Sort key of a HATS partition path: (Norder, Npix) when the path has
/// them, so partitions are in HEALPix order; then the path.
fn partition_key(p: &Path) -> (u64, u64, PathBuf) {
    let s = p.to_string_lossy();
    let num = |key: &str| {
        s.split('/')
            .find_map(|part| part.strip_prefix(key))
            .and_then(|v| v.trim_end_matches(".parquet").parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    };
    (num("Norder="), num("Npix="), p.to_path_buf())
}

/// Files under `dir` (recursively) whose name satisfies `keep`, sorted.
fn files_under(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .with_context(|| format!("cannot read directory '{}'", d.display()))?
        {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if keep(&p) {
                out.push(p);
            }
        }
    }
    out.sort_by_key(|p| partition_key(p));
    Ok(out)
}

/// Whether `p` names a Parquet file (`.parquet`, `.pq`, `.parq`).
pub fn is_parquet_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_ascii_lowercase();
    n.ends_with(".parquet") || n.ends_with(".pq") || n.ends_with(".parq")
}

/// Whether `p` names a text table (`.csv`, `.tsv`, `.txt`, `.dat`,
/// `.ecsv`, each optionally `.gz`).
pub fn is_text_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_ascii_lowercase();
    let n = n.strip_suffix(".gz").unwrap_or(&n);
    [".csv", ".tsv", ".txt", ".dat", ".ecsv"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// Whether `p` names a FITS file (`.fits`, `.fit`, `.fts`, each optionally
/// `.gz`, or `.fz`).
pub fn is_fits_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_ascii_lowercase();
    let n = n.strip_suffix(".gz").unwrap_or(&n);
    [".fits", ".fit", ".fts", ".fz"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// The files of a table input and what it is.
fn discover(path: &Path) -> anyhow::Result<(Format, &'static str, Vec<PathBuf>)> {
    if !path.exists() {
        bail!("input '{}' does not exist", path.display());
    }
    if path.is_file() {
        if is_parquet_name(path) {
            return Ok((Format::Parquet, "Parquet file", vec![path.to_path_buf()]));
        }
        if is_fits_name(path) {
            return Ok((Format::Fits, "FITS table", vec![path.to_path_buf()]));
        }
        return Ok((Format::Text, "text table", vec![path.to_path_buf()]));
    }
    let hats = ["hats.properties", "properties"]
        .iter()
        .any(|p| path.join(p).is_file());
    if hats {
        let dataset = path.join("dataset");
        let files = files_under(
            if dataset.is_dir() { &dataset } else { path },
            &is_parquet_name,
        )?;
        if files.is_empty() {
            bail!(
                "HATS catalog '{}' has no Parquet partitions under dataset/",
                path.display()
            );
        }
        return Ok((Format::Parquet, "HATS catalog", files));
    }
    if path.join("partition_info.csv").is_file() || path.join("dataset").is_dir() {
        return Err(usage(format!(
            "'{}' looks like a HATS catalog (partition_info.csv or dataset/) but has no hats.properties or properties file: it is incomplete; rebuild it with hats-import",
            path.display()
        )));
    }
    let parquet = files_under(path, &is_parquet_name)?;
    if !parquet.is_empty() {
        return Ok((Format::Parquet, "Parquet directory", parquet));
    }
    let fits = files_under(path, &is_fits_name)?;
    if !fits.is_empty() {
        return Ok((Format::Fits, "directory of FITS tables", fits));
    }
    let text = files_under(path, &is_text_name)?;
    if !text.is_empty() {
        return Ok((Format::Text, "directory of text tables", text));
    }
    Err(usage(format!(
        "'{}' holds no light curves tessera reads (Parquet, HATS, .csv/.tsv/.ecsv/.txt[.gz], .fits/.fit[.gz]/.fz, or a tessera HDF5 file)",
        path.display()
    )))
}

/// Column names a flat table leaves unmapped that look like an object id.
fn id_like(top: &[String], mapping: &Mapping) -> Vec<String> {
    let used: Vec<&str> = mapping.observation_columns();
    top.iter()
        .filter(|c| !used.contains(&c.as_str()))
        .filter(|c| {
            let l = c.to_ascii_lowercase();
            l.ends_with("id") || l.contains("_id") || l.ends_with("name") || l == "object"
        })
        .cloned()
        .collect()
}

impl TableSource {
    /// Finds the files, reads the first one's schema and resolves the
    /// columns (usage errors name the file and the columns found). Not
    /// collective: every rank does the same from the same files.
    pub fn open(path: &Path, spec: &ColumnSpec, reject_flags: i64) -> anyhow::Result<TableSource> {
        let (format, kind, files) = discover(path)?;
        if let (Some(hdu), false) = (&spec.fits_hdu, format == Format::Fits) {
            return Err(usage(format!(
                "'{}' is a {kind}: --hdu / hdu ({hdu}) applies to FITS tables only; drop it",
                path.display()
            )));
        }
        let first = &files[0];
        let what = first.display().to_string();
        let (metas, mapping, shape, integer_ids) = match format {
            Format::Parquet => {
                let metas = files
                    .iter()
                    .map(|f| ParquetMeta::open(f).map(Some))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let meta = metas[0].as_ref().expect("opened");
                let (top, nested) = meta.names();
                let found = Found {
                    what: &what,
                    top: &top,
                    observations: nested.as_ref().map(|n| n.1.as_slice()),
                };
                // a table with a list-of-struct column whose observation columns are at the
                // top level anyway is not read as nested
                let flat = Found {
                    observations: None,
                    ..found
                };
                let (mapping, shape) = match &nested {
                    Some((col, _)) => match columns::resolve(&found, spec) {
                        Ok(m) => (m, Shape::Nested(col.clone())),
                        Err(e) => match columns::resolve(&flat, spec) {
                            Ok(m) => (m, Shape::Flat),
                            Err(_) => return Err(e),
                        },
                    },
                    None => (columns::resolve(&flat, spec)?, Shape::Flat),
                };
                let shape = match shape {
                    Shape::Flat if meta.is_list(&mapping.time) => Shape::Lists,
                    s => s,
                };
                let integer_ids = mapping.id.as_deref().is_some_and(|id| meta.is_integer(id));
                if shape != Shape::Flat && mapping.id.is_none() && spec.given.get("id").is_none() {
                    return Err(usage(format!(
                        "{what}: one row per object but no id column recognised; columns: {}. Name it with --columns id=COLUMN (or id= to number the rows)",
                        top.join(", ")
                    )));
                }
                if shape == Shape::Flat && mapping.id.is_none() && spec.given.get("id").is_none() {
                    refuse_silent_merge(&what, &top, &mapping)?;
                }
                (metas, mapping, shape, integer_ids)
            }
            Format::Text | Format::Fits => {
                let top = if format == Format::Fits {
                    fits_lc::header(first, spec.fits_hdu.as_ref())?
                } else {
                    text::header(first)?
                };
                let mapping = columns::resolve(
                    &Found {
                        what: &what,
                        top: &top,
                        observations: None,
                    },
                    spec,
                )?;
                if mapping.id.is_none() && spec.given.get("id").is_none() {
                    refuse_silent_merge(&what, &top, &mapping)?;
                }
                (
                    files.iter().map(|_| None).collect(),
                    mapping,
                    Shape::Flat,
                    false,
                )
            }
        };
        let units = match shape {
            Shape::Flat => (0..files.len())
                .map(|file| Unit {
                    file,
                    row_group: None,
                })
                .collect(),
            _ => metas
                .iter()
                .enumerate()
                .flat_map(|(file, m)| {
                    let groups = m.as_ref().expect("parquet").row_group_rows().len();
                    (0..groups).map(move |rg| Unit {
                        file,
                        row_group: Some(rg),
                    })
                })
                .collect(),
        };
        Ok(TableSource {
            path: path.to_path_buf(),
            format,
            kind,
            files,
            metas,
            mapping,
            shape,
            units,
            unit_first: Vec::new(),
            tiles: Vec::new(),
            band_names: Vec::new(),
            integer_ids,
            reject_flags,
            fits_hdu: spec.fits_hdu.clone(),
        })
    }

    /// What the value column holds.
    pub fn quantity(&self) -> Quantity {
        self.mapping.quantity
    }

    /// The (Norder, Npix) of every partition of a HATS catalog, in order;
    /// empty for other inputs.
    pub fn hats_partitions(&self) -> Vec<(u64, u64)> {
        if self.kind != "HATS catalog" {
            return Vec::new();
        }
        self.files
            .iter()
            .map(|f| partition_key(f))
            .filter(|(k, n, _)| *k != u64::MAX && *n != u64::MAX)
            .map(|(k, n, _)| (k, n))
            .collect()
    }

    /// Total size of the input files, bytes.
    pub fn input_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Number of units of work (files or row groups).
    pub fn units(&self) -> usize {
        self.units.len()
    }

    /// Objects of every unit (after the survey).
    pub fn objects(&self) -> usize {
        self.unit_first.last().copied().unwrap_or(0)
    }

    /// The object range of unit `u` (after the survey).
    pub fn unit_objects(&self, u: usize) -> std::ops::Range<usize> {
        self.unit_first[u]..self.unit_first[u + 1]
    }

    /// Splits every row group of `n` rows into `ceil(n / tile)` tiles of
    /// nearly equal size (piece `k` = rows `k n / pieces .. (k + 1) n /
    /// pieces`), in row order; a flat unit (a file, grouped by id) stays one
    /// tile. The objects and their order do not depend on `tile`.
    pub fn split(&mut self, tile: usize) {
        let tile = tile.max(1);
        self.tiles = (0..self.units.len())
            .flat_map(|unit| {
                let n = self.unit_objects(unit).len();
                let pieces = if self.shape == Shape::Flat {
                    1
                } else {
                    n.div_ceil(tile).max(1)
                };
                (0..pieces).map(move |k| TableTile {
                    unit,
                    rows: k * n / pieces..(k + 1) * n / pieces,
                })
            })
            .collect();
    }

    /// Number of tiles (after the survey: one per unit until [`TableSource::split`]).
    pub fn tiles(&self) -> usize {
        self.tiles.len()
    }

    /// The object range of tile `t`.
    pub fn tile_objects(&self, t: usize) -> std::ops::Range<usize> {
        let tile = &self.tiles[t];
        let first = self.unit_first[tile.unit];
        first + tile.rows.start..first + tile.rows.end
    }

    /// Whether `/objects` gets `ra` and `dec` (the table has both columns).
    pub fn has_positions(&self) -> bool {
        self.mapping.ra.is_some() && self.mapping.dec.is_some()
    }

    /// Whether `/objects` gets `_healpix_29` (one-row-per-object tables with it).
    pub fn has_healpix29(&self) -> bool {
        self.mapping.healpix29.is_some() && self.shape != Shape::Flat
    }

    /// Reads rows `rows` of unit `u` (all of a flat unit), the columns `part` needs.
    fn read_rows(
        &self,
        u: usize,
        rows: std::ops::Range<usize>,
        part: Part,
    ) -> anyhow::Result<UnitRows> {
        let unit = &self.units[u];
        let file = &self.files[unit.file];
        match (&self.shape, unit.row_group) {
            (Shape::Flat, _) => {
                let flat = match self.format {
                    Format::Text => text::read(file, &self.mapping, part)?,
                    Format::Fits => fits_lc::read(file, &self.mapping, self.fits_hdu.as_ref())?,
                    Format::Parquet => parquet::read_flat(
                        file,
                        self.metas[unit.file].as_ref().expect("parquet"),
                        &self.mapping,
                        part,
                    )?,
                };
                let stem = file_stem(file);
                flat.group(&stem)
            }
            (shape, Some(rg)) => parquet::read_objects(
                file,
                self.metas[unit.file].as_ref().expect("parquet"),
                (rg, rows),
                &self.mapping,
                shape,
                part,
            ),
            (_, None) => unreachable!("row-group units have a row group"),
        }
    }

    /// The object count and band labels of unit `u`: for a row group, the
    /// rows in its metadata and the band column; for a flat file, the ids.
    fn survey_unit(&self, u: usize) -> anyhow::Result<(usize, Vec<String>)> {
        let unit = &self.units[u];
        let rows = match (&self.shape, unit.row_group) {
            (Shape::Flat, _) => 0..0,
            (_, Some(rg)) => {
                let n = self.metas[unit.file]
                    .as_ref()
                    .expect("parquet")
                    .row_group_rows()[rg];
                if self.mapping.band.is_none() {
                    return Ok((n, Vec::new()));
                }
                0..n
            }
            (_, None) => unreachable!("row-group units have a row group"),
        };
        let read = self.read_rows(u, rows.clone(), Part::Survey)?;
        let count = if self.shape == Shape::Flat {
            read.ids.len()
        } else {
            rows.len()
        };
        Ok((count, read.bands.names))
    }

    /// The collective survey: each rank reads the band (and, for flat
    /// tables, id) columns of units `rank, rank + size, ...`; rank 0 merges
    /// the object counts and band names (in canonical order: ugrizy first)
    /// and every rank receives them. No rank holds anything per object: the
    /// ids and positions are read again, unit by unit, when `/objects` is
    /// written ([`TableSource::unit_objects_columns`]).
    pub fn survey(&mut self, comm: &impl Comm) -> anyhow::Result<()> {
        // one record per unit: u, count, band names separated by 0x1f
        let mut bytes = Vec::new();
        let mut failure = None;
        for u in (comm.rank()..self.units.len()).step_by(comm.size()) {
            match self.survey_unit(u) {
                Ok((count, bands)) => bytes.extend_from_slice(
                    format!("{u}\x1e{count}\x1e{}\x1d", bands.join("\x1f")).as_bytes(),
                ),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        comm.agree(failure.map_or(Ok(()), Err))?;
        let gathered = comm.gather_bytes(&bytes);
        drop(bytes);
        let mut summary = Vec::new();
        if let Some(all) = gathered {
            let mut counts = vec![0usize; self.units.len()];
            let mut bands: Vec<String> = Vec::new();
            for rank_bytes in all {
                let text = String::from_utf8_lossy(&rank_bytes).into_owned();
                for rec in text.split('\x1d').filter(|r| !r.is_empty()) {
                    let f: Vec<&str> = rec.split('\x1e').collect();
                    let u: usize = f[0].parse().expect("unit");
                    counts[u] = f[1].parse().expect("count");
                    for b in f[2].split('\x1f').filter(|b| !b.is_empty()) {
                        if !bands.iter().any(|x| x == b) {
                            bands.push(b.to_string());
                        }
                    }
                }
            }
            if self.mapping.band.is_none() {
                bands = vec!["all".to_string()];
            }
            let order = crate::io::csv::canonical_band_order(&bands);
            let bands: Vec<String> = order.iter().map(|&i| bands[i].clone()).collect();
            summary = format!(
                "{}\x1e{}",
                counts
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                bands.join("\x1f")
            )
            .into_bytes();
        }
        comm.broadcast_bytes(&mut summary);
        let text = String::from_utf8(summary).expect("utf-8 summary");
        let (counts, bands) = text.split_once('\x1e').expect("summary");
        self.unit_first = vec![0];
        for c in counts.split(',').filter(|c| !c.is_empty()) {
            let c: usize = c.parse().expect("count");
            self.unit_first.push(self.unit_first.last().unwrap() + c);
        }
        self.band_names = bands.split('\x1f').map(String::from).collect();
        if self.band_names.len() > 255 {
            bail!("'{}': more than 255 distinct bands", self.path.display());
        }
        // one tile per unit until split
        self.split(usize::MAX);
        Ok(())
    }

    /// The error for a unit whose object count changed since the survey.
    fn check_count(&self, u: usize, found: usize, expected: usize) -> anyhow::Result<()> {
        if found != expected {
            bail!(
                "'{}': unit {u} now holds {found} objects, {expected} when the run started: did the file change?",
                self.files[self.units[u].file].display(),
            );
        }
        Ok(())
    }

    /// Unit `u`'s object ids and, where the table has them, positions
    /// (`ra`, `dec`, `_healpix_29` of one-row-per-object tables; the
    /// [`mean_position`] of each object's rows in a flat table).
    pub fn unit_objects_columns(&self, u: usize) -> anyhow::Result<UnitRows> {
        let expected = self.unit_objects(u).len();
        let rows = self.read_rows(u, 0..expected, Part::Objects)?;
        self.check_count(u, rows.ids.len(), expected)?;
        Ok(rows)
    }

    /// Object ids in object order, read unit by unit.
    pub fn object_ids(&self) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::with_capacity(self.objects());
        for u in 0..self.units() {
            ids.extend(self.unit_objects_columns(u)?.ids);
        }
        Ok(ids)
    }

    /// Tile `t`'s objects with their observations, band indices into
    /// [`TableSource::band_names`]; points whose flags meet `reject_flags`
    /// dropped and counted per (object, band) in `flagged`.
    pub fn read_tile(&self, t: usize) -> anyhow::Result<Ragged> {
        let tile = &self.tiles[t];
        let rows = self.read_rows(tile.unit, tile.rows.clone(), Part::Observations)?;
        self.check_count(tile.unit, rows.ids.len(), tile.rows.len())?;
        let bands = self.band_names.len();
        let global: Vec<u8> = rows
            .bands
            .names
            .iter()
            .map(|n| {
                self.band_names
                    .iter()
                    .position(|b| b == n)
                    .map(|p| p as u8)
                    .ok_or_else(|| anyhow::anyhow!("band '{n}' appeared after the survey"))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut out = Ragged::new();
        let has_flags = !rows.flags.is_empty();
        if has_flags {
            out.flagged = vec![0; rows.ids.len() * bands];
        }
        for (i, id) in rows.ids.into_iter().enumerate() {
            for k in rows.offsets[i]..rows.offsets[i + 1] {
                let band = if rows.bands.index.is_empty() {
                    0
                } else {
                    global[rows.bands.index[k] as usize]
                };
                if has_flags && rows.flags[k] & self.reject_flags != 0 {
                    out.flagged[i * bands + band as usize] += 1;
                    continue;
                }
                out.time.push(rows.time[k]);
                out.mag.push(rows.value[k]);
                out.err.push(rows.err[k]);
                out.band.push(band);
            }
            out.push_object(id, f64::NAN);
        }
        Ok(out)
    }
}

/// A file's name without its extensions (`a.csv.gz` -> `a`).
fn file_stem(p: &Path) -> String {
    let n = p
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    n.split('.').next().unwrap_or(&n).to_string()
}

/// A flat table with no id column but a column that looks like one would be
/// silently merged into one object: a usage error instead.
fn refuse_silent_merge(what: &str, top: &[String], mapping: &Mapping) -> anyhow::Result<()> {
    let suspects = id_like(top, mapping);
    if suspects.is_empty() {
        return Ok(());
    }
    Err(usage(format!(
        "{what}: no object id column recognised, but {} look{} like one; every row would become one object. Map it with --columns id={} (or --columns id= if the file really is one object)",
        suspects.join(", "),
        if suspects.len() == 1 { "s" } else { "" },
        suspects[0]
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed forms: two points at one declination either side of RA 0
    /// average to RA 0; points on one meridian to the bisecting
    /// declination; one row gives itself; NaN rows are skipped; no finite
    /// row or cancelling (antipodal) rows give NaN.
    #[test]
    fn mean_position_follows_the_unit_vectors() {
        let (ra, dec) = mean_position(&[350.0, 10.0], &[-20.0, -20.0]);
        assert!(ra.min(360.0 - ra) < 1e-12, "{ra}");
        // sum = 2 cos20 cos10 in x, -2 sin20 in z
        let want = (-(20f64.to_radians().tan()) / 10f64.to_radians().cos()).atan();
        assert!((dec - want.to_degrees()).abs() < 1e-12, "{dec}");
        let (ra, dec) = mean_position(&[200.0, 200.0, f64::NAN], &[10.0, 50.0, 3.0]);
        assert!((ra - 200.0).abs() < 1e-12 && (dec - 30.0).abs() < 1e-12);
        let (ra, dec) = mean_position(&[123.0], &[90.0]);
        assert!((ra - 123.0).abs() < 1e-9 && dec == 90.0, "{ra} {dec}");
        assert!(mean_position(&[f64::NAN], &[1.0]).0.is_nan());
        assert!(mean_position(&[], &[]).1.is_nan());
        assert!(mean_position(&[0.0, 180.0], &[0.0, 0.0]).0.is_nan());
    }
}
