//! Parquet tables and HATS partitions (I/O layer), read with Apache
//! arrow-rs. Three shapes, told apart by the schema:
//! - `Lists`: one row per object, the observations in list columns
//!   (`hmjd: list<double>`, ...; ZTF's light-curve tables); the band may be
//!   a list or one value per row;
//! - `Nested`: one row per object, the observations in one list-of-struct
//!   column (nested-pandas, LSDB, light-curve's Arrow layout; Rubin's
//!   `diaObjectForcedSource`);
//! - `Flat`: one row per observation, grouped by the id column.
//!
//! Only the mapped columns are read (a projection on the Parquet leaves).

use std::fs::File;
use std::ops::Range;
use std::path::Path;

use anyhow::{bail, Context};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;

use super::{BandCodes, FlatColumns, Part, Shape, UnitRows};
use crate::io::table::columns::Mapping;

/// A Parquet file's metadata (footer), read once.
pub struct ParquetMeta {
    meta: ArrowReaderMetadata,
}

fn open_file(path: &Path) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("cannot open '{}'", path.display()))
}

impl ParquetMeta {
    /// Reads the footer; a file that is not Parquet or has a corrupt footer
    /// is an error naming it.
    pub fn open(path: &Path) -> anyhow::Result<ParquetMeta> {
        let f = open_file(path)?;
        let meta = ArrowReaderMetadata::load(&f, Default::default()).with_context(|| {
            format!(
                "'{}': not a readable Parquet file (corrupt or truncated footer?)",
                path.display()
            )
        })?;
        Ok(ParquetMeta { meta })
    }

    /// Rows of each row group.
    pub fn row_group_rows(&self) -> Vec<usize> {
        self.meta
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| rg.num_rows() as usize)
            .collect()
    }

    /// Top-level column names, and the field names inside the one
    /// list-of-struct column, if there is exactly one.
    pub fn names(&self) -> (Vec<String>, Option<(String, Vec<String>)>) {
        let schema = self.meta.schema();
        let top: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        // list<struct<...>> (light-curve, Rubin) or struct<list, list, ...> (nested-pandas)
        let nested: Vec<(String, Vec<String>)> = schema
            .fields()
            .iter()
            .filter_map(|f| {
                let names = |fields: &arrow_schema::Fields| {
                    fields.iter().map(|f| f.name().clone()).collect::<Vec<_>>()
                };
                match (
                    list_item(f.data_type()).map(|i| i.data_type()),
                    f.data_type(),
                ) {
                    (Some(DataType::Struct(fields)), _) => Some((f.name().clone(), names(fields))),
                    (None, DataType::Struct(fields))
                        if fields.iter().all(|c| list_item(c.data_type()).is_some()) =>
                    {
                        Some((f.name().clone(), names(fields)))
                    }
                    _ => None,
                }
            })
            .collect();
        let nested = if nested.len() == 1 {
            nested.into_iter().next()
        } else {
            None
        };
        (top, nested)
    }

    /// Whether the top-level column `name` is a list.
    pub fn is_list(&self, name: &str) -> bool {
        self.meta
            .schema()
            .field_with_name(name)
            .is_ok_and(|f| list_item(f.data_type()).is_some())
    }

    /// Whether the top-level column `name` holds integers.
    pub fn is_integer(&self, name: &str) -> bool {
        self.meta
            .schema()
            .field_with_name(name)
            .is_ok_and(|f| f.data_type().is_integer())
    }

    /// The leaves to read: every leaf under a top-level column in `top`, and
    /// the leaves named `nested_fields` under the column `nested.0`.
    fn projection(&self, top: &[&str], nested: Option<(&str, &[&str])>) -> ProjectionMask {
        let descr = self.meta.parquet_schema();
        let leaves = descr.columns().iter().enumerate().filter_map(|(i, c)| {
            let parts = c.path().parts();
            let root = parts[0].as_str();
            let keep = top.contains(&root)
                || nested.is_some_and(|(col, fields)| {
                    root == col && fields.iter().any(|f| parts[1..].iter().any(|p| p == f))
                });
            keep.then_some(i)
        });
        ProjectionMask::leaves(descr, leaves)
    }
}

/// The item field of a list type.
fn list_item(t: &DataType) -> Option<&Field> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => Some(f),
        _ => None,
    }
}

/// A list array's row offsets (into its values) and values.
fn list_parts(a: &dyn Array) -> Option<(Vec<usize>, ArrayRef)> {
    if let Some(l) = a.as_list_opt::<i32>() {
        return Some((
            l.offsets().iter().map(|&o| o as usize).collect(),
            l.values().clone(),
        ));
    }
    a.as_list_opt::<i64>().map(|l| {
        (
            l.offsets().iter().map(|&o| o as usize).collect(),
            l.values().clone(),
        )
    })
}

/// Any numeric array as f64, nulls as NaN.
pub fn to_f64(a: &dyn Array, what: &dyn Fn() -> String) -> anyhow::Result<Vec<f64>> {
    let c = arrow_cast::cast(a, &DataType::Float64)
        .with_context(|| format!("{}: not a numeric column ({})", what(), a.data_type()))?;
    let p = c.as_primitive::<Float64Type>();
    if p.null_count() == 0 {
        return Ok(p.values().to_vec());
    }
    Ok(p.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Integer flags as i64, nulls as 0.
fn to_i64(a: &dyn Array, what: &dyn Fn() -> String) -> anyhow::Result<Vec<i64>> {
    let c = arrow_cast::cast(a, &DataType::Int64)
        .with_context(|| format!("{}: flags must be integers ({})", what(), a.data_type()))?;
    Ok(c.as_primitive::<Int64Type>()
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// Any array as strings (integers in decimal); a null is an error.
pub fn to_strings(a: &dyn Array, what: &dyn Fn() -> String) -> anyhow::Result<Vec<String>> {
    let c = arrow_cast::cast(a, &DataType::Utf8)
        .with_context(|| format!("{}: cannot be read as text ({})", what(), a.data_type()))?;
    let s = c.as_string::<i32>();
    if let Some(i) = (0..s.len()).find(|&i| s.is_null(i)) {
        bail!("{}: value {i} is null", what());
    }
    Ok(s.iter().map(|v| v.unwrap_or("").to_string()).collect())
}

/// Band labels as codes into a small local list, read straight from the
/// arrow array (dictionary or string), without a string per observation.
fn band_codes(a: &dyn Array, what: &dyn Fn() -> String) -> anyhow::Result<BandCodes> {
    let c = arrow_cast::cast(a, &DataType::Utf8)
        .with_context(|| format!("{}: cannot be read as text ({})", what(), a.data_type()))?;
    let s = c.as_string::<i32>();
    let mut codes = BandCodes::default();
    codes.index.reserve(s.len());
    for i in 0..s.len() {
        if s.is_null(i) {
            bail!("{}: band of observation {i} is null", what());
        }
        codes.push(s.value(i))?;
    }
    Ok(codes)
}

/// Reads rows `rows` of row group `row_group` (or the whole file when
/// `None`) of a Parquet file, only the columns named (a projection); the
/// rows outside `rows` are skipped, not materialised.
fn batches(
    path: &Path,
    meta: &ParquetMeta,
    row_group: Option<(usize, &Range<usize>)>,
    top: &[&str],
    nested: Option<(&str, &[&str])>,
) -> anyhow::Result<Vec<RecordBatch>> {
    let f = open_file(path)?;
    let mut b = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta.meta.clone())
        .with_projection(meta.projection(top, nested))
        .with_batch_size(1 << 16);
    if let Some((rg, rows)) = row_group {
        b = b.with_row_groups(vec![rg]);
        let total = meta.row_group_rows()[rg];
        if *rows != (0..total) {
            let selectors = [
                RowSelector::skip(rows.start),
                RowSelector::select(rows.len()),
                RowSelector::skip(total.saturating_sub(rows.end)),
            ];
            b = b.with_row_selection(RowSelection::from(
                selectors
                    .into_iter()
                    .filter(|s| s.row_count > 0)
                    .collect::<Vec<_>>(),
            ));
        }
    }
    let row_group = row_group.map(|(rg, _)| rg);
    let reader = b
        .build()
        .with_context(|| format!("'{}': cannot read", path.display()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| match row_group {
            Some(rg) => format!("'{}': row group {rg} is corrupt", path.display()),
            None => format!("'{}': corrupt data", path.display()),
        })
}

/// Rows `rows` of one row group of a `Lists` or `Nested` table: one object
/// per row; the columns `part` needs.
pub fn read_objects(
    path: &Path,
    meta: &ParquetMeta,
    (row_group, rows): (usize, Range<usize>),
    mapping: &Mapping,
    shape: &Shape,
    part: Part,
) -> anyhow::Result<UnitRows> {
    let where_ = |col: &str| format!("'{}' row group {row_group}, column '{col}'", path.display());
    let obs_cols: Vec<&str> = match part {
        Part::Observations => mapping.observation_columns(),
        Part::Survey => mapping.band.as_deref().into_iter().collect(),
        Part::Objects => Vec::new(),
    };
    let mut id: Vec<&str> = Vec::new();
    if part != Part::Survey {
        id.extend(mapping.id.as_deref());
    }
    if part == Part::Objects {
        id.extend(mapping.ra.as_deref());
        id.extend(mapping.dec.as_deref());
        id.extend(mapping.healpix29.as_deref());
    }
    let selected = Some((row_group, &rows));
    let batches = match shape {
        Shape::Nested(col) => batches(path, meta, selected, &id, Some((col, &obs_cols)))?,
        _ => {
            let mut top = id.clone();
            top.extend(&obs_cols);
            batches(path, meta, selected, &top, None)?
        }
    };
    let mut out = UnitRows::default();
    out.offsets.push(0);
    for batch in &batches {
        let n = batch.num_rows();
        match (&mapping.id, part) {
            (_, Part::Survey) => {}
            (Some(name), _) => {
                let a = batch.column_by_name(name).expect("projected");
                out.ids.extend(to_strings(a, &|| where_(name))?);
            }
            (None, _) => {
                let first = rows.start + out.offsets.len() - 1;
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                out.ids
                    .extend((first..first + n).map(|r| format!("{stem}:{row_group}:{r}")));
            }
        }
        if part == Part::Objects {
            if let (Some(ra), Some(dec)) = (&mapping.ra, &mapping.dec) {
                let col = |n: &str| batch.column_by_name(n).expect("projected").clone();
                out.ra.extend(to_f64(col(ra).as_ref(), &|| where_(ra))?);
                out.dec.extend(to_f64(col(dec).as_ref(), &|| where_(dec))?);
            }
            if let Some(h) = &mapping.healpix29 {
                let a = batch.column_by_name(h).expect("projected");
                out.healpix29.extend(to_i64(a.as_ref(), &|| where_(h))?);
            }
            let last = *out.offsets.last().unwrap();
            out.offsets.extend(std::iter::repeat_n(last, n));
            continue;
        }
        // each observation column: (row offsets, values), broadcast when one value per row
        let column = |name: &str| -> anyhow::Result<(Option<Vec<usize>>, ArrayRef)> {
            match shape {
                Shape::Nested(col) => {
                    let nest = batch.column_by_name(col).expect("projected");
                    let missing = || anyhow::anyhow!("{}: no nested field '{name}'", where_(col));
                    match list_parts(nest.as_ref()) {
                        // list<struct>: one list of records per row
                        Some((offs, values)) => {
                            let child = values
                                .as_struct()
                                .column_by_name(name)
                                .ok_or_else(missing)?;
                            Ok((Some(offs), child.clone()))
                        }
                        // struct<list, ...>: one list per field per row
                        None => {
                            let s = nest.as_struct_opt().ok_or_else(|| {
                                anyhow::anyhow!("{}: not a nested column", where_(col))
                            })?;
                            let child = s.column_by_name(name).ok_or_else(missing)?;
                            let (offs, values) = list_parts(child.as_ref()).ok_or_else(|| {
                                anyhow::anyhow!(
                                    "{}: nested field '{name}' is not a list",
                                    where_(col)
                                )
                            })?;
                            Ok((Some(offs), values))
                        }
                    }
                }
                _ => {
                    let a = batch.column_by_name(name).expect("projected");
                    Ok(match list_parts(a.as_ref()) {
                        Some((offs, values)) => (Some(offs), values),
                        None => (None, a.clone()),
                    })
                }
            }
        };
        // the survey pass needs only the distinct band labels, list or scalar
        if part == Part::Survey {
            if let Some(b) = mapping.band.as_deref() {
                let (_, values) = column(b)?;
                let codes = band_codes(values.as_ref(), &|| where_(b))?;
                out.bands.merge(&codes);
            }
            let last = *out.offsets.last().unwrap();
            out.offsets.extend(std::iter::repeat_n(last, n));
            continue;
        }
        // the object structure comes from the time column
        let lead = mapping.time.as_str();
        let (lead_offs, _) = column(lead)?;
        let Some(lead_offs) = lead_offs else {
            bail!(
                "{}: expected a list column (one row per object)",
                where_(lead)
            );
        };
        let base = *out.offsets.last().unwrap();
        let lengths: Vec<usize> = lead_offs.windows(2).map(|w| w[1] - w[0]).collect();
        // gathers a column's values of every row, checking its lengths against the lead's
        let gather_f64 = |name: &str| -> anyhow::Result<Vec<f64>> {
            let (offs, values) = column(name)?;
            let all = to_f64(values.as_ref(), &|| where_(name))?;
            let mut v = Vec::with_capacity(lengths.iter().sum());
            match offs {
                Some(offs) => {
                    for (r, w) in offs.windows(2).enumerate() {
                        if w[1] - w[0] != lengths[r] {
                            bail!(
                                "{}: row {r} has {} values but '{lead}' has {} (mixed list lengths within a row)",
                                where_(name),
                                w[1] - w[0],
                                lengths[r]
                            );
                        }
                        v.extend_from_slice(&all[w[0]..w[1]]);
                    }
                }
                None => {
                    for (r, &n) in lengths.iter().enumerate() {
                        v.extend(std::iter::repeat_n(all[r], n));
                    }
                }
            }
            Ok(v)
        };
        out.time.extend(gather_f64(&mapping.time)?);
        out.value.extend(gather_f64(&mapping.value)?);
        out.err.extend(gather_f64(&mapping.err)?);
        if let Some(f) = &mapping.flags {
            let (offs, values) = column(f)?;
            let all = to_i64(values.as_ref(), &|| where_(f))?;
            match offs {
                Some(offs) => {
                    for (r, w) in offs.windows(2).enumerate() {
                        if w[1] - w[0] != lengths[r] {
                            bail!("{}: row {r}: mixed list lengths within a row", where_(f));
                        }
                        out.flags.extend_from_slice(&all[w[0]..w[1]]);
                    }
                }
                None => {
                    for (r, &n) in lengths.iter().enumerate() {
                        out.flags.extend(std::iter::repeat_n(all[r], n));
                    }
                }
            }
        }
        if let Some(b) = &mapping.band {
            let (offs, values) = column(b)?;
            let codes = band_codes(values.as_ref(), &|| where_(b))?;
            let local = out.bands.merge(&codes);
            match offs {
                Some(offs) => {
                    for (r, w) in offs.windows(2).enumerate() {
                        if w[1] - w[0] != lengths[r] {
                            bail!("{}: row {r}: mixed list lengths within a row", where_(b));
                        }
                        out.bands
                            .index
                            .extend(codes.index[w[0]..w[1]].iter().map(|&c| local[c as usize]));
                    }
                }
                None => {
                    for (r, &n) in lengths.iter().enumerate() {
                        out.bands
                            .index
                            .extend(std::iter::repeat_n(local[codes.index[r] as usize], n));
                    }
                }
            }
        }
        let mut acc = base;
        for n in lengths {
            acc += n;
            out.offsets.push(acc);
        }
    }
    Ok(out)
}

/// A whole `Flat` file: one row per observation; the columns `part` needs
/// (the id and band for the survey, the id and positions for `/objects`).
pub fn read_flat(
    path: &Path,
    meta: &ParquetMeta,
    mapping: &Mapping,
    part: Part,
) -> anyhow::Result<FlatColumns> {
    let where_ = |col: &str| format!("'{}', column '{col}'", path.display());
    let mut cols: Vec<&str> = mapping.id.as_deref().into_iter().collect();
    let positions = match (part, &mapping.ra, &mapping.dec) {
        (Part::Objects, Some(ra), Some(dec)) => Some((ra.as_str(), dec.as_str())),
        _ => None,
    };
    match part {
        Part::Observations => cols.extend(mapping.observation_columns()),
        Part::Survey => cols.extend(mapping.band.as_deref()),
        Part::Objects => cols.extend(positions.iter().flat_map(|&(r, d)| [r, d])),
    }
    let mut out = FlatColumns::default();
    for batch in batches(path, meta, None, &cols, None)? {
        let col = |name: &str| batch.column_by_name(name).expect("projected");
        if let Some(id) = &mapping.id {
            out.id.extend(to_strings(col(id).as_ref(), &|| where_(id))?);
        }
        if let Some((ra, dec)) = positions {
            out.ra.extend(to_f64(col(ra).as_ref(), &|| where_(ra))?);
            out.dec.extend(to_f64(col(dec).as_ref(), &|| where_(dec))?);
        }
        if let (Some(b), Part::Survey | Part::Observations) = (&mapping.band, part) {
            out.band.extend(to_strings(col(b).as_ref(), &|| where_(b))?);
        }
        if part == Part::Observations {
            let num = |name: &str| to_f64(col(name).as_ref(), &|| where_(name));
            out.time.extend(num(&mapping.time)?);
            out.value.extend(num(&mapping.value)?);
            out.err.extend(num(&mapping.err)?);
            if let Some(f) = &mapping.flags {
                out.flags.extend(to_i64(col(f).as_ref(), &|| where_(f))?);
            }
        }
    }
    Ok(out)
}
