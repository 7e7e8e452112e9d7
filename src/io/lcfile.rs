//! Light-curve files (I/O layer): the ragged HDF5 layout tessera reads and
//! writes (one reader, one writer).
//!
//! | `/lightcurves/` dataset | shape | meaning |
//! |---|---|---|
//! | `object_id` | (objects) string | object identifier (CSV file stem) |
//! | `offsets` | (objects + 1) u64 | observations of object `i` are `offsets[i] .. offsets[i+1]` |
//! | `time` | (observations) f64 | time, days (e.g. MJD) |
//! | `mag` | (observations) f64 | magnitude, or flux when the attribute `quantity` is `flux` |
//! | `err` | (observations) f64 | 1-sigma uncertainty of `mag` |
//! | `band` | (observations) u8 | index into `band_names` |
//! | `band_names` | (bands) string | e.g. `u g r i z` |
//! | `true_period` | (objects) f64 | synthetic files only: the period used, days |
//! | `rejects` | (rejected) string | `--skip-bad` ingest: `file:line: reason` per rejected file |

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hdf5::types::VarLenUnicode;

use crate::io::output::{self, AtomicH5};

/// Light curves held in memory in the ragged layout (a whole file when
/// ingesting or synthesising a slab, or one tile when processing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ragged {
    /// Object identifiers (`/lightcurves/object_id`); left empty by
    /// [`LcFile::read_objects`].
    pub object_id: Vec<String>,
    /// Local offsets, `object_id.len() + 1` entries, starting at 0.
    pub offsets: Vec<u64>,
    /// Observation times, days (`/lightcurves/time`).
    pub time: Vec<f64>,
    /// Magnitudes, or fluxes when the quantity is flux (`/lightcurves/mag`).
    pub mag: Vec<f64>,
    /// 1-sigma uncertainties of `mag` (`/lightcurves/err`).
    pub err: Vec<f64>,
    /// Band index of each observation into the band names (`/lightcurves/band`).
    pub band: Vec<u8>,
    /// Synthetic period per object, days; NaN when unknown (`/lightcurves/true_period`).
    pub true_period: Vec<f64>,
    /// Observations dropped for their quality flags, per (object, band):
    /// `object * bands + band`; empty when the input has no flags column.
    pub flagged: Vec<u32>,
}

impl Ragged {
    /// An empty set: no objects, `offsets == [0]`.
    pub fn new() -> Ragged {
        Ragged {
            offsets: vec![0],
            ..Default::default()
        }
    }

    /// Number of objects held.
    pub fn objects(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Observation range of local object `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i] as usize..self.offsets[i + 1] as usize
    }

    /// Closes an object: its observations are those pushed onto `time`,
    /// `mag`, `err` and `band` since the previous object.
    pub fn push_object(&mut self, id: String, period: f64) {
        self.object_id.push(id);
        self.true_period.push(period);
        self.offsets.push(self.time.len() as u64);
    }

    /// Objects `r` of this set, with local offsets.
    pub fn slice(&self, r: std::ops::Range<usize>, bands: usize) -> Ragged {
        let (a, b) = (self.offsets[r.start] as usize, self.offsets[r.end] as usize);
        Ragged {
            object_id: self
                .object_id
                .get(r.clone())
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            offsets: self.offsets[r.start..=r.end]
                .iter()
                .map(|o| o - a as u64)
                .collect(),
            time: self.time[a..b].to_vec(),
            mag: self.mag[a..b].to_vec(),
            err: self.err[a..b].to_vec(),
            band: self.band[a..b].to_vec(),
            true_period: self
                .true_period
                .get(r.clone())
                .map(<[f64]>::to_vec)
                .unwrap_or_default(),
            flagged: if self.flagged.is_empty() {
                Vec::new()
            } else {
                self.flagged[r.start * bands..r.end * bands].to_vec()
            },
        }
    }
}

/// What the value column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Magnitudes.
    Mag,
    /// Fluxes.
    Flux,
}

impl Quantity {
    /// The value of the `/lightcurves` attribute `quantity`: `mag` or `flux`.
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Mag => "mag",
            Quantity::Flux => "flux",
        }
    }
}

/// The datasets of `/lightcurves` that grow with objects or observations,
/// in the order they are created.
const RAGGED_DATASETS: [&str; 7] = [
    "object_id",
    "offsets",
    "time",
    "mag",
    "err",
    "band",
    "true_period",
];

/// Most rows per HDF5 chunk of the growing datasets.
const WRITER_CHUNK: usize = 1 << 16;

/// The one writer of light-curve files: objects are appended in slabs (so
/// 10^7 synthetic objects never sit in memory at once), and the file appears
/// under its name only when [`LcWriter::finish`] succeeds.
pub struct LcWriter {
    // the group is declared first so it is dropped (closed) before the file
    group: hdf5::Group,
    out: AtomicH5,
    observations: u64,
    objects: u64,
}

impl LcWriter {
    /// Creates the file under a temporary name with empty, growable datasets,
    /// chunked for about `objects` objects and `observations` observations.
    ///
    /// Their size (25 bytes per observation, about 80 per object id) is
    /// reserved on disk first: a full disk fails here, before any work.
    pub fn create(path: &Path, objects: u64, observations: u64) -> anyhow::Result<LcWriter> {
        let expected_bytes = observations
            .saturating_mul(25)
            .saturating_add(objects.saturating_mul(80));
        let out = AtomicH5::create_reserved(path, expected_bytes)?;
        let group = out.file().create_group("lightcurves")?;
        let per_object = (objects + 1).clamp(1, WRITER_CHUNK as u64) as usize;
        let per_observation = observations.clamp(1, WRITER_CHUNK as u64) as usize;
        for name in RAGGED_DATASETS {
            let b = group.new_dataset_builder();
            let (b, chunk) = match name {
                "band" => (b.empty::<u8>(), per_observation),
                "offsets" => (b.empty::<u64>(), per_object),
                "object_id" => (b.empty::<VarLenUnicode>(), per_object),
                "true_period" => (b.empty::<f64>(), per_object),
                _ => (b.empty::<f64>(), per_observation),
            };
            b.chunk(chunk).shape(0..).create(name)?;
        }
        append(&group.dataset("offsets")?, &[0u64])?;
        Ok(LcWriter {
            out,
            group,
            observations: 0,
            objects: 0,
        })
    }

    /// Appends the objects of `slab` (its offsets start at 0).
    pub fn append(&mut self, slab: &Ragged) -> anyhow::Result<()> {
        let ids: Vec<VarLenUnicode> = slab
            .object_id
            .iter()
            .map(|s| output::varlen_str(s))
            .collect();
        let offsets: Vec<u64> = slab.offsets[1..]
            .iter()
            .map(|o| o + self.observations)
            .collect();
        let g = &self.group;
        append(&g.dataset("object_id")?, &ids)?;
        append(&g.dataset("offsets")?, &offsets)?;
        append(&g.dataset("true_period")?, &slab.true_period)?;
        append(&g.dataset("time")?, &slab.time)?;
        append(&g.dataset("mag")?, &slab.mag)?;
        append(&g.dataset("err")?, &slab.err)?;
        append(&g.dataset("band")?, &slab.band)?;
        self.observations += slab.time.len() as u64;
        self.objects += slab.objects() as u64;
        Ok(())
    }

    /// Objects and observations appended so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.objects, self.observations)
    }

    /// Writes the band names, quantity, rejected inputs and provenance, and
    /// renames the file into place.
    pub fn finish(
        self,
        band_names: &[String],
        quantity: Quantity,
        rejects: &[String],
        provenance: &output::Provenance,
    ) -> anyhow::Result<PathBuf> {
        let g = &self.group;
        output::write_str_list(g, "band_names", band_names)?;
        output::attr_str(g, "quantity", quantity.name())?;
        output::attr_str(g, "time_unit", "days")?;
        output::write_str_list(g, "rejects", rejects)?;
        provenance.write(self.out.file())?;
        drop(self.group);
        self.out.commit()
    }
}

/// Appends `data` to the one-dimensional growable dataset `ds`.
fn append<T: hdf5::H5Type>(ds: &hdf5::Dataset, data: &[T]) -> hdf5::Result<()> {
    let at = ds.size();
    ds.resize(at + data.len())?;
    ds.write_slice(data, at..at + data.len())
}

/// Writes a whole ragged set as a light-curve file (atomically).
pub fn write_file(
    path: &Path,
    data: &Ragged,
    band_names: &[String],
    quantity: Quantity,
    rejects: &[String],
    provenance: &output::Provenance,
) -> anyhow::Result<PathBuf> {
    let mut w = LcWriter::create(path, data.objects() as u64, data.time.len() as u64)?;
    w.append(data)?;
    w.finish(band_names, quantity, rejects, provenance)
}

/// An open light-curve file, read tile by tile.
pub struct LcFile {
    path: PathBuf,
    group: hdf5::Group,
    /// Number of objects (length of `/lightcurves/object_id`).
    pub objects: usize,
    /// Band names, indexed by `band` (`/lightcurves/band_names`).
    pub band_names: Vec<String>,
    /// What `mag` holds (attribute `quantity`; `mag` when absent).
    pub quantity: Quantity,
}

fn read_strings(g: &hdf5::Group, name: &str) -> hdf5::Result<Vec<String>> {
    let v = g.dataset(name)?.read_1d::<VarLenUnicode>()?;
    Ok(v.iter().map(|s| s.as_str().to_string()).collect())
}

/// Elements read at a time by the validation pass (bounded memory).
const VALIDATE_CHUNK: usize = 1 << 20;

/// The type each `/lightcurves` dataset must have, checked when the file
/// is opened so a wrong one is named before any work.
fn check_types(g: &hdf5::Group, path: &Path) -> anyhow::Result<()> {
    use hdf5::types::{FloatSize, IntSize, TypeDescriptor as T};
    for name in RAGGED_DATASETS.iter().chain(&["band_names"]) {
        if !g.link_exists(name) {
            continue;
        }
        let desc = g
            .dataset(name)?
            .dtype()
            .and_then(|t| t.to_descriptor())
            .with_context(|| {
                format!(
                    "'{}': /lightcurves/{name}: unreadable data type",
                    path.display()
                )
            })?;
        let (ok, want) = match *name {
            "object_id" | "band_names" => (
                matches!(desc, T::VarLenUnicode | T::VarLenAscii),
                "variable-length strings",
            ),
            "offsets" => (matches!(desc, T::Unsigned(IntSize::U8)), "uint64"),
            "band" => (matches!(desc, T::Unsigned(IntSize::U1)), "uint8"),
            _ => (matches!(desc, T::Float(FloatSize::U8)), "float64"),
        };
        if !ok {
            bail!(
                "'{}': /lightcurves/{name} holds {desc}, expected {want} (see the light-curve file layout in the README)",
                path.display()
            );
        }
    }
    Ok(())
}

/// One pass over the offsets and band indices, in chunks, before any work:
/// offsets start at 0, never decrease and end at the observation count;
/// every band index names a band. Errors name the file, the dataset and the
/// first bad index.
fn validate_layout(
    g: &hdf5::Group,
    path: &Path,
    objects: usize,
    observations: usize,
    bands: usize,
) -> anyhow::Result<()> {
    let offsets = g.dataset("offsets")?;
    let mut previous = 0u64;
    for start in (0..objects + 1).step_by(VALIDATE_CHUNK) {
        let end = (start + VALIDATE_CHUNK).min(objects + 1);
        let chunk: Vec<u64> = offsets.read_slice_1d(start..end)?.to_vec();
        for (k, &o) in chunk.iter().enumerate() {
            let i = start + k;
            let bad = if i == 0 {
                (o != 0).then(|| format!("offsets[0] is {o}, expected 0"))
            } else if o < previous {
                Some(format!(
                    "offsets[{i}] = {o} is below offsets[{}] = {previous}",
                    i - 1
                ))
            } else if o > observations as u64 {
                Some(format!(
                    "offsets[{i}] = {o} is past the {observations} observations"
                ))
            } else {
                None
            };
            if let Some(why) = bad {
                bail!("'{}': /lightcurves/offsets: {why}", path.display());
            }
            previous = o;
        }
    }
    if previous != observations as u64 {
        bail!(
            "'{}': /lightcurves/offsets ends at {previous} but there are {observations} observations",
            path.display()
        );
    }
    let band = g.dataset("band")?;
    for start in (0..observations).step_by(VALIDATE_CHUNK) {
        let end = (start + VALIDATE_CHUNK).min(observations);
        let chunk: Vec<u8> = band.read_slice_1d(start..end)?.to_vec();
        if let Some(k) = chunk.iter().position(|&b| b as usize >= bands) {
            bail!(
                "'{}': /lightcurves/band[{}] = {} but there are only {bands} band names",
                path.display(),
                start + k,
                chunk[k]
            );
        }
    }
    Ok(())
}

impl LcFile {
    /// Opens and checks the layout; errors name the file and the object.
    pub fn open(path: &Path) -> anyhow::Result<LcFile> {
        let f = hdf5::File::open(path)
            .with_context(|| format!("cannot open light-curve file '{}'", path.display()))?;
        let group = f.group("lightcurves").with_context(|| {
            format!("'{}' has no /lightcurves group: is it a tessera light-curve file (tessera ingest / synth)?", path.display())
        })?;
        let required = RAGGED_DATASETS
            .iter()
            .filter(|&&n| n != "true_period")
            .chain(&["band_names"]);
        for name in required {
            if !group.link_exists(name) {
                bail!("'{}': /lightcurves/{name} is missing", path.display());
            }
        }
        let objects = group.dataset("object_id")?.size();
        let n_off = group.dataset("offsets")?.size();
        if n_off != objects + 1 {
            bail!(
                "'{}': /lightcurves/offsets has {n_off} entries, expected objects + 1 = {}",
                path.display(),
                objects + 1
            );
        }
        let n_obs = group.dataset("time")?.size();
        for name in ["mag", "err", "band"] {
            let n = group.dataset(name)?.size();
            if n != n_obs {
                bail!(
                    "'{}': /lightcurves/{name} has {n} entries but time has {n_obs}",
                    path.display()
                );
            }
        }
        check_types(&group, path)?;
        let band_names = read_strings(&group, "band_names")?;
        let quantity = match group
            .attr("quantity")
            .and_then(|a| a.read_scalar::<VarLenUnicode>())
        {
            Ok(q) if q.as_str() == "flux" => Quantity::Flux,
            _ => Quantity::Mag,
        };
        Ok(LcFile {
            path: path.to_path_buf(),
            group,
            objects,
            band_names,
            quantity,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole-file validation pass ([`validate_layout`]): offsets and
    /// band indices, in bounded memory. Run once (by rank 0) before any work.
    pub fn validate(&self) -> anyhow::Result<()> {
        let observations = self.group.dataset("time")?.size();
        validate_layout(
            &self.group,
            &self.path,
            self.objects,
            observations,
            self.band_names.len(),
        )
    }

    /// The synthetic periods, when the file has them.
    pub fn true_periods(&self) -> anyhow::Result<Option<Vec<f64>>> {
        if !self.group.link_exists("true_period") {
            return Ok(None);
        }
        Ok(Some(
            self.group
                .dataset("true_period")?
                .read_1d::<f64>()?
                .to_vec(),
        ))
    }

    /// All object identifiers, in file order.
    pub fn object_ids(&self) -> anyhow::Result<Vec<String>> {
        Ok(read_strings(&self.group, "object_id")?)
    }

    /// The ids of objects `first .. end`, as stored.
    pub fn object_ids_slice(&self, first: usize, end: usize) -> anyhow::Result<Vec<VarLenUnicode>> {
        Ok(self
            .group
            .dataset("object_id")?
            .read_slice_1d::<VarLenUnicode, _>(first..end)
            .with_context(|| {
                format!(
                    "'{}': cannot read the ids of objects {first}..{end}",
                    self.path().display()
                )
            })?
            .to_vec())
    }

    /// The offsets of objects `first .. end` (`end - first + 1` entries, as
    /// stored: not made local).
    pub fn read_offsets(&self, first: usize, end: usize) -> anyhow::Result<Vec<u64>> {
        Ok(self
            .group
            .dataset("offsets")?
            .read_slice_1d(first..end + 1)
            .with_context(|| {
                format!(
                    "reading offsets {first}..{} of '{}'",
                    end + 1,
                    self.path.display()
                )
            })?
            .to_vec())
    }

    /// Objects `first .. end` with their observations (offsets made local).
    pub fn read_objects(&self, first: usize, end: usize) -> anyhow::Result<Ragged> {
        let ctx = || {
            format!(
                "reading objects {first}..{end} of '{}'",
                self.path.display()
            )
        };
        let offsets: Vec<u64> = self
            .group
            .dataset("offsets")?
            .read_slice_1d(first..end + 1)
            .with_context(ctx)?
            .to_vec();
        let (obs_start, obs_end) = (offsets[0] as usize, offsets[end - first] as usize);
        if offsets.windows(2).any(|w| w[1] < w[0]) || obs_end > self.group.dataset("time")?.size() {
            bail!("'{}': /lightcurves/offsets is not non-decreasing within the file for objects {first}..{end}", self.path.display());
        }
        let read_f64 = |name: &str| -> anyhow::Result<Vec<f64>> {
            Ok(self
                .group
                .dataset(name)?
                .read_slice_1d(obs_start..obs_end)
                .with_context(ctx)?
                .to_vec())
        };
        let band: Vec<u8> = self
            .group
            .dataset("band")?
            .read_slice_1d(obs_start..obs_end)
            .with_context(ctx)?
            .to_vec();
        if let Some(&b) = band.iter().find(|&&b| b as usize >= self.band_names.len()) {
            bail!(
                "'{}': band index {b} out of range ({} band names)",
                self.path.display(),
                self.band_names.len()
            );
        }
        let true_period = if self.group.link_exists("true_period") {
            self.group
                .dataset("true_period")?
                .read_slice_1d(first..end)
                .with_context(ctx)?
                .to_vec()
        } else {
            vec![f64::NAN; end - first]
        };
        Ok(Ragged {
            object_id: Vec::new(),
            offsets: offsets.iter().map(|o| o - offsets[0]).collect(),
            time: read_f64("time")?,
            mag: read_f64("mag")?,
            err: read_f64("err")?,
            band,
            true_period,
            flagged: Vec::new(),
        })
    }
}
