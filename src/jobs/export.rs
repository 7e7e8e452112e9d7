//! `tessera export`: a features file as a CSV table for pandas and a typed
//! Parquet table for the Arrow ecosystem (job-driver layer). One row per
//! object and band (bands without observations left out): the object id
//! (and its position when the input had one) first, then `band`, `reason`
//! and every feature column. The output is written under a temporary name
//! and renamed into place; a bad features file is an error naming the file,
//! dataset and first bad row, with nothing written.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use hdf5::types::VarLenUnicode;

use crate::comm::Comm;
use crate::config::usage;
use crate::io::identity;
use crate::io::output::AtomicFile;
use crate::numeric::lightcurve::columns::{reason_name, NO_DATA};

/// Object ids as stored: 64-bit integers (from an integer id column) or text.
pub enum Ids {
    /// `/objects/object_id` of integers.
    Int(Vec<i64>),
    /// `/objects/object_id` of strings.
    Text(Vec<String>),
}

impl Ids {
    /// Number of ids.
    pub fn len(&self) -> usize {
        match self {
            Ids::Int(v) => v.len(),
            Ids::Text(v) => v.len(),
        }
    }

    /// Whether there are no ids.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Id `i` as text.
    pub fn text(&self, i: usize) -> String {
        match self {
            Ids::Int(v) => v[i].to_string(),
            Ids::Text(v) => v[i].clone(),
        }
    }
}

/// A features file, checked.
pub struct FeatureTable {
    /// Feature column names.
    pub names: Vec<String>,
    /// Rows x columns.
    pub values: ndarray::Array2<f64>,
    /// Reason code per row.
    pub reasons: Vec<u8>,
    /// Object index per row.
    pub objects: Vec<u64>,
    /// Band index per row.
    pub bands: Vec<u8>,
    /// Band names (with `multi`).
    pub band_names: Vec<String>,
    /// Object ids.
    pub ids: Ids,
    /// Per-object positions carried from the input (`ra`, `dec`, `_healpix_29`).
    pub positions: Vec<(String, Vec<f64>)>,
    /// `_healpix_29` per object, when the input had it.
    pub healpix29: Option<Vec<i64>>,
    /// (Norder, Npix) of the HATS input's partitions, when it was one.
    pub hats_partitions: Vec<(u64, u64)>,
}

fn strings(ds: &hdf5::Dataset) -> anyhow::Result<Vec<String>> {
    Ok(ds
        .read_1d::<VarLenUnicode>()?
        .iter()
        .map(|s| s.as_str().to_string())
        .collect())
}

impl FeatureTable {
    /// Reads and checks a features file: every row has a reason, an object
    /// and a band, and every index names one.
    pub fn load(input: &Path) -> anyhow::Result<FeatureTable> {
        let f = hdf5::File::open(input)
            .with_context(|| format!("cannot open '{}'", input.display()))?;
        let g = f.group("features").with_context(|| {
            format!(
                "'{}' has no /features group: is it a tessera lightcurves output?",
                input.display()
            )
        })?;
        let values_ds = g.dataset("values")?;
        let names: Vec<String> = values_ds
            .attr("columns")?
            .read_1d::<VarLenUnicode>()?
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        let id_ds = f.dataset("objects/object_id")?;
        let ids = if id_ds.dtype()?.is::<i64>() {
            Ids::Int(id_ds.read_raw::<i64>()?)
        } else {
            Ids::Text(strings(&id_ds)?)
        };
        let objects_g = f.group("objects")?;
        let mut positions = Vec::new();
        for name in ["ra", "dec"] {
            if objects_g.link_exists(name) {
                positions.push((
                    name.to_string(),
                    objects_g.dataset(name)?.read_raw::<f64>()?,
                ));
            }
        }
        let healpix29 = if objects_g.link_exists("_healpix_29") {
            Some(objects_g.dataset("_healpix_29")?.read_raw::<i64>()?)
        } else {
            None
        };
        let hats_partitions = if objects_g.link_exists("hats_partitions") {
            let a = objects_g.dataset("hats_partitions")?.read_2d::<u64>()?;
            a.rows().into_iter().map(|r| (r[0], r[1])).collect()
        } else {
            Vec::new()
        };
        let t = FeatureTable {
            hats_partitions,
            values: values_ds.read_2d::<f64>()?,
            names,
            reasons: g.dataset("reason")?.read_raw::<u8>()?,
            objects: g.dataset("object")?.read_raw::<u64>()?,
            bands: g.dataset("band")?.read_raw::<u8>()?,
            band_names: strings(&g.dataset("band_names")?)?,
            ids,
            positions,
            healpix29,
        };
        t.check(input)?;
        Ok(t)
    }

    /// The consistency checks of [`FeatureTable::load`]; errors name the
    /// file, the dataset and the first bad row.
    fn check(&self, input: &Path) -> anyhow::Result<()> {
        let file = input.display();
        let rows = self.values.nrows();
        if self.values.ncols() != self.names.len() {
            bail!(
                "'{file}': /features/values has {} columns but its 'columns' attribute names {}",
                self.values.ncols(),
                self.names.len()
            );
        }
        for (name, len) in [
            ("reason", self.reasons.len()),
            ("object", self.objects.len()),
            ("band", self.bands.len()),
        ] {
            if len != rows {
                bail!("'{file}': /features/{name} has {len} rows but /features/values has {rows}");
            }
        }
        let n_ids = self.ids.len();
        if let Some(r) = self.objects.iter().position(|&o| o as usize >= n_ids) {
            bail!(
                "'{file}': /features/object[{r}] = {} but /objects/object_id has {n_ids} ids",
                self.objects[r]
            );
        }
        let n_bands = self.band_names.len();
        if let Some(r) = self.bands.iter().position(|&b| b as usize >= n_bands) {
            bail!(
                "'{file}': /features/band[{r}] = {} but /features/band_names has {n_bands} names",
                self.bands[r]
            );
        }
        for (name, v) in &self.positions {
            if v.len() != n_ids {
                bail!(
                    "'{file}': /objects/{name} has {} entries for {n_ids} objects",
                    v.len()
                );
            }
        }
        Ok(())
    }

    /// The rows exported: every row but those of bands without observations.
    pub fn exported_rows(&self) -> Vec<usize> {
        (0..self.values.nrows())
            .filter(|&r| self.reasons[r] != NO_DATA)
            .collect()
    }

    /// Columns before the features: the id, positions, band and reason.
    fn leading_names(&self) -> Vec<String> {
        let mut v = vec!["object_id".to_string()];
        v.extend(self.positions.iter().map(|(n, _)| n.clone()));
        if self.healpix29.is_some() {
            v.push("_healpix_29".into());
        }
        v.extend(["band".to_string(), "reason".to_string()]);
        v
    }

    /// The Arrow batch of `rows` (the ones [`FeatureTable::exported_rows`] gives).
    pub fn record_batch(&self, rows: &[usize]) -> anyhow::Result<RecordBatch> {
        let obj = |r: &usize| self.objects[*r] as usize;
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        match &self.ids {
            Ids::Int(v) => {
                fields.push(Field::new("object_id", DataType::Int64, false));
                arrays.push(Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| v[obj(r)]),
                )));
            }
            Ids::Text(v) => {
                fields.push(Field::new("object_id", DataType::Utf8, false));
                arrays.push(Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| v[obj(r)].as_str()),
                )));
            }
        }
        for (name, v) in &self.positions {
            fields.push(Field::new(name, DataType::Float64, false));
            arrays.push(Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| v[obj(r)]),
            )));
        }
        if let Some(h) = &self.healpix29 {
            fields.push(Field::new("_healpix_29", DataType::Int64, false));
            arrays.push(Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| h[obj(r)]),
            )));
        }
        fields.push(Field::new("band", DataType::Utf8, false));
        arrays.push(Arc::new(StringArray::from_iter_values(
            rows.iter()
                .map(|&r| self.band_names[self.bands[r] as usize].as_str()),
        )));
        fields.push(Field::new("reason", DataType::Utf8, false));
        arrays.push(Arc::new(StringArray::from_iter_values(
            rows.iter().map(|&r| reason_name(self.reasons[r])),
        )));
        for (c, name) in self.names.iter().enumerate() {
            fields.push(Field::new(name, DataType::Float64, false));
            arrays.push(Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|&r| self.values[[r, c]]),
            )));
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }
}

fn csv_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        format!("{v}")
    }
}

/// Writes the CSV table.
fn write_csv(
    t: &FeatureTable,
    rows: &[usize],
    csv: &Path,
    progress: &crate::progress::Progress,
) -> anyhow::Result<()> {
    // about 24 characters per value
    let mut out = AtomicFile::create_reserved(csv, t.values.len() as u64 * 24)?;
    let w = out.writer();
    (|| -> std::io::Result<()> {
        writeln!(
            w,
            "{}",
            t.leading_names()
                .into_iter()
                .chain(t.names.iter().cloned())
                .collect::<Vec<_>>()
                .join(",")
        )?;
        for (k, &r) in rows.iter().enumerate() {
            if k % 4096 == 4095 {
                progress.inc(4096);
                progress.tick(&crate::comm::SerialComm);
            }
            let o = t.objects[r] as usize;
            write!(w, "{}", t.ids.text(o))?;
            for (_, v) in &t.positions {
                write!(w, ",{}", csv_float(v[o]))?;
            }
            if let Some(h) = &t.healpix29 {
                write!(w, ",{}", h[o])?;
            }
            write!(
                w,
                ",{},{}",
                t.band_names[t.bands[r] as usize],
                reason_name(t.reasons[r])
            )?;
            for v in t.values.row(r) {
                write!(w, ",{}", csv_float(*v))?;
            }
            writeln!(w)?;
        }
        Ok(())
    })()
    .with_context(|| format!("writing '{}'", csv.display()))?;
    out.commit()?;
    Ok(())
}

/// Writes the Parquet table (zstd-compressed, row groups of 64Ki rows).
pub fn write_parquet(t: &FeatureTable, rows: &[usize], path: &Path) -> anyhow::Result<()> {
    let mut out = AtomicFile::create_reserved(path, t.values.len() as u64 * 9)?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .set_max_row_group_row_count(Some(1 << 16))
        .build();
    let batch = t.record_batch(rows)?;
    {
        let mut w = parquet::arrow::ArrowWriter::try_new(out.writer(), batch.schema(), Some(props))
            .with_context(|| format!("writing '{}'", path.display()))?;
        for start in (0..rows.len()).step_by(1 << 16) {
            let n = (1 << 16).min(rows.len() - start);
            w.write(&batch.slice(start, n))
                .with_context(|| format!("writing '{}'", path.display()))?;
        }
        w.close()
            .with_context(|| format!("writing '{}'", path.display()))?;
    }
    out.commit()?;
    Ok(())
}

/// Writes a HATS catalog of the rows, partitioned like the HATS input the
/// features came from: `dataset/Norder=K/Dir=D/Npix=N.parquet` per input
/// partition (rows sorted by `_healpix_29`, then object and band),
/// `dataset/_common_metadata`, `partition_info.csv`, and `hats.properties`
/// (also as `properties`). Built in a temporary directory beside `dir` and
/// renamed into place.
pub fn write_hats(
    t: &FeatureTable,
    rows: &[usize],
    dir: &Path,
    input: &Path,
) -> anyhow::Result<()> {
    let Some(hpx) = &t.healpix29 else {
        return Err(usage(format!(
            "--hats: '{}' has no /objects/_healpix_29: export --hats needs features of a HATS catalog input",
            input.display()
        )));
    };
    if t.hats_partitions.is_empty() || t.positions.len() != 2 {
        return Err(usage(format!(
            "--hats: '{}' has no HATS partition list or no ra/dec: export --hats needs features of a HATS catalog input",
            input.display()
        )));
    }
    if dir.exists() {
        return Err(usage(format!(
            "--hats '{}' exists: tessera writes a new catalog directory and never replaces one; remove it or choose another name",
            dir.display()
        )));
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "features".into());
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    crate::io::cleanup::register_temp_file(tmp.clone());
    let result = (|| -> anyhow::Result<()> {
        std::fs::create_dir_all(tmp.join("dataset"))
            .with_context(|| format!("cannot create '{}'", tmp.display()))?;
        let max_order = t.hats_partitions.iter().map(|p| p.0).max().unwrap_or(0);
        // every row goes to the partition holding its object's _healpix_29
        let mut by_partition: std::collections::BTreeMap<(u64, u64), Vec<usize>> =
            t.hats_partitions.iter().map(|&p| (p, Vec::new())).collect();
        for &r in rows {
            let h = hpx[t.objects[r] as usize] as u64;
            let home = t
                .hats_partitions
                .iter()
                .find(|&&(k, n)| h >> (2 * (29 - k)) == n)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "'{}': object {} (_healpix_29 {h}) is in none of the HATS partitions",
                        input.display(),
                        t.ids.text(t.objects[r] as usize)
                    )
                })?;
            by_partition.get_mut(home).expect("listed").push(r);
        }
        let mut max_rows = 0;
        for ((k, n), mut part) in by_partition {
            part.sort_by_key(|&r| (hpx[t.objects[r] as usize], t.objects[r], t.bands[r]));
            max_rows = max_rows.max(part.len());
            let d = tmp.join(format!("dataset/Norder={k}/Dir={}", n / 10_000 * 10_000));
            std::fs::create_dir_all(&d)?;
            write_parquet(t, &part, &d.join(format!("Npix={n}.parquet")))?;
        }
        // the schema alone, as hats-import writes it
        write_parquet(t, &[], &tmp.join("dataset/_common_metadata"))?;
        let mut info = String::from("Norder,Npix\n");
        for (k, n) in &t.hats_partitions {
            info.push_str(&format!("{k},{n}\n"));
        }
        std::fs::write(tmp.join("partition_info.csv"), info)?;
        let props = format!(
            "#HATS catalog\nobs_collection={name}\ndataproduct_type=object\nhats_nrows={}\nhats_col_ra=ra\nhats_col_dec=dec\nhats_col_healpix=_healpix_29\nhats_col_healpix_order=29\nhats_npix_suffix=.parquet\nhats_max_rows={max_rows}\nhats_order={max_order}\nhats_builder=tessera v{}\nhats_creation_date={}\nhats_version=v1.0\n",
            rows.len(),
            env!("CARGO_PKG_VERSION"),
            crate::io::output::now_rfc3339()
        );
        std::fs::write(tmp.join("hats.properties"), &props)?;
        std::fs::write(tmp.join("properties"), &props)?;
        std::fs::rename(&tmp, dir)
            .with_context(|| format!("cannot rename '{}' to '{}'", tmp.display(), dir.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    crate::io::cleanup::unregister_temp_file(&tmp);
    result.with_context(|| format!("writing HATS catalog '{}'", dir.display()))
}

/// `tessera export FEATURES.h5 [--csv OUT.csv] [--parquet OUT.parquet] [--hats DIR]`.
pub fn export(
    comm: &impl Comm,
    input: &Path,
    csv: Option<&Path>,
    parquet: Option<&Path>,
    hats: Option<&Path>,
    progress_interval: f64,
) -> anyhow::Result<()> {
    if comm.rank() != 0 {
        return Ok(());
    }
    if csv.is_none() && parquet.is_none() && hats.is_none() {
        return Err(usage(
            "export: say what to write: --csv features.csv, --parquet features.parquet and/or --hats DIR",
        ));
    }
    for (out, flag) in [(csv, "--csv"), (parquet, "--parquet")] {
        if let Some(out) = out {
            identity::refuse_input_as_output(out, flag, &[("the features-file argument", input)])?;
        }
    }
    let t = FeatureTable::load(input)?;
    let rows = t.exported_rows();
    let width = t.leading_names().len() + t.names.len();
    // rank 0 alone: rows over all requested outputs
    let outputs = [csv.is_some(), parquet.is_some(), hats.is_some()]
        .iter()
        .filter(|&&b| b)
        .count();
    let progress = crate::progress::Progress::new(
        &crate::comm::SerialComm,
        "export",
        "rows",
        (rows.len() * outputs) as u64,
        progress_interval,
        crate::progress::Aggregation::Known,
    );
    let output_done = |before: u64| {
        progress.inc((rows.len() as u64).saturating_sub(before));
        progress.tick(&crate::comm::SerialComm);
    };
    if let Some(csv) = csv {
        write_csv(&t, &rows, csv, &progress)?;
        output_done(rows.len() as u64 / 4096 * 4096);
        println!(
            "exported    {} rows x {width} columns to {}",
            rows.len(),
            csv.display()
        );
    }
    if let Some(p) = parquet {
        write_parquet(&t, &rows, p)?;
        output_done(0);
        println!(
            "exported    {} rows x {width} columns to {}",
            rows.len(),
            p.display()
        );
    }
    if let Some(d) = hats {
        write_hats(&t, &rows, d, input)?;
        output_done(0);
        println!(
            "exported    {} rows x {width} columns to HATS catalog {} ({} partitions)",
            rows.len(),
            d.display(),
            t.hats_partitions.len()
        );
    }
    progress.finish(&crate::comm::SerialComm);
    Ok(())
}
