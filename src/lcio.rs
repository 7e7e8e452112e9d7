//! Light-curve files (I/O layer): the ragged HDF5 layout tessera reads and
//! writes, and ingest of directories of per-object CSV files.
//!
//! Layout of an input file (`/lightcurves` group):
//!
//! | dataset | shape | meaning |
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

use crate::output::{self, AtomicH5};

/// Light curves held in memory in the ragged layout (a whole file when
/// ingesting or synthesising a slab, or one tile when processing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ragged {
    pub object_id: Vec<String>,
    /// Local offsets, `object_id.len() + 1` entries, starting at 0.
    pub offsets: Vec<u64>,
    pub time: Vec<f64>,
    pub mag: Vec<f64>,
    pub err: Vec<f64>,
    pub band: Vec<u8>,
    pub true_period: Vec<f64>,
}

impl Ragged {
    pub fn new() -> Ragged {
        Ragged {
            offsets: vec![0],
            ..Default::default()
        }
    }

    pub fn objects(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Observation range of local object `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i] as usize..self.offsets[i + 1] as usize
    }

    pub fn push_object(&mut self, id: String, period: f64) {
        self.object_id.push(id);
        self.true_period.push(period);
        self.offsets.push(self.time.len() as u64);
    }
}

/// What the value column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    Mag,
    Flux,
}

impl Quantity {
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Mag => "mag",
            Quantity::Flux => "flux",
        }
    }
}

/// Writes a whole ragged set as a light-curve file (atomically).
pub fn write_file(
    path: &Path,
    data: &Ragged,
    band_names: &[String],
    quantity: Quantity,
    rejects: &[String],
    provenance: &output::Provenance,
) -> anyhow::Result<()> {
    let out = AtomicH5::create(path)?;
    let g = out.file().create_group("lightcurves")?;
    write_ragged(&g, data, band_names, quantity)?;
    output::write_str_list(&g, "rejects", rejects)?;
    provenance.write(out.file())?;
    out.commit()?;
    Ok(())
}

fn chunked_1d<T: hdf5::H5Type>(g: &hdf5::Group, name: &str, data: &[T]) -> hdf5::Result<()> {
    let chunk = data.len().clamp(1, 1 << 20);
    g.new_dataset_builder()
        .chunk(chunk)
        .deflate(1)
        .with_data(data)
        .create(name)?;
    Ok(())
}

fn write_ragged(
    g: &hdf5::Group,
    d: &Ragged,
    band_names: &[String],
    q: Quantity,
) -> anyhow::Result<()> {
    output::write_str_list(g, "object_id", &d.object_id)?;
    chunked_1d(g, "offsets", &d.offsets)?;
    chunked_1d(g, "time", &d.time)?;
    chunked_1d(g, "mag", &d.mag)?;
    chunked_1d(g, "err", &d.err)?;
    chunked_1d(g, "band", &d.band)?;
    chunked_1d(g, "true_period", &d.true_period)?;
    output::write_str_list(g, "band_names", band_names)?;
    output::attr_str(g, "quantity", q.name())?;
    output::attr_str(g, "time_unit", "days")?;
    Ok(())
}

/// An open light-curve file, read tile by tile.
pub struct LcFile {
    path: PathBuf,
    group: hdf5::Group,
    pub objects: usize,
    pub band_names: Vec<String>,
    pub quantity: Quantity,
}

fn read_strings(g: &hdf5::Group, name: &str) -> hdf5::Result<Vec<String>> {
    let v = g.dataset(name)?.read_1d::<VarLenUnicode>()?;
    Ok(v.iter().map(|s| s.as_str().to_string()).collect())
}

impl LcFile {
    /// Opens and checks the layout; errors name the file and the object.
    pub fn open(path: &Path) -> anyhow::Result<LcFile> {
        let f = hdf5::File::open(path)
            .with_context(|| format!("cannot open light-curve file '{}'", path.display()))?;
        let group = f.group("lightcurves").with_context(|| {
            format!("'{}' has no /lightcurves group: is it a tessera light-curve file (tessera ingest / synth)?", path.display())
        })?;
        for name in [
            "object_id",
            "offsets",
            "time",
            "mag",
            "err",
            "band",
            "band_names",
        ] {
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

    pub fn path(&self) -> &Path {
        &self.path
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

    pub fn object_ids(&self) -> anyhow::Result<Vec<String>> {
        Ok(read_strings(&self.group, "object_id")?)
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
        let (o0, o1) = (offsets[0] as usize, offsets[end - first] as usize);
        if offsets.windows(2).any(|w| w[1] < w[0]) || o1 > self.group.dataset("time")?.size() {
            bail!("'{}': /lightcurves/offsets is not non-decreasing within the file for objects {first}..{end}", self.path.display());
        }
        let read_f64 = |name: &str| -> anyhow::Result<Vec<f64>> {
            Ok(self
                .group
                .dataset(name)?
                .read_slice_1d(o0..o1)
                .with_context(ctx)?
                .to_vec())
        };
        let band: Vec<u8> = self
            .group
            .dataset("band")?
            .read_slice_1d(o0..o1)
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
        })
    }
}

/// One rejected CSV file and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CsvError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Parses one CSV light curve: a header naming `time`, `mag`+`magerr` or
/// `flux`+`fluxerr`, and optionally `band`; other columns are ignored.
/// Returns (time, value, err, band name per row, quantity).
#[allow(clippy::type_complexity)]
pub fn parse_csv(
    path: &Path,
    text: &str,
) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>, Vec<String>, Quantity), CsvError> {
    let file = path.display().to_string();
    let err = |line: usize, message: String| CsvError {
        file: file.clone(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let Some((hline, header)) = lines.next() else {
        return Err(err(
            1,
            "file is empty (expected a header such as time,mag,magerr,band)".into(),
        ));
    };
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let find = |name: &str| cols.iter().position(|c| c == name);
    let (vcol, ecol, q) = match (find("mag"), find("magerr"), find("flux"), find("fluxerr")) {
        (Some(v), Some(e), _, _) => (v, e, Quantity::Mag),
        (_, _, Some(v), Some(e)) => (v, e, Quantity::Flux),
        _ => {
            return Err(err(
                hline + 1,
                format!(
                    "header must name time and mag,magerr (or flux,fluxerr); found: {}",
                    cols.join(",")
                ),
            ))
        }
    };
    let tcol = find("time").ok_or_else(|| {
        err(
            hline + 1,
            format!("header has no 'time' column; found: {}", cols.join(",")),
        )
    })?;
    let bcol = find("band");
    let (mut t, mut v, mut e, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |c: usize, name: &str| -> Result<f64, CsvError> {
            let s = fields.get(c).ok_or_else(|| {
                err(
                    i + 1,
                    format!(
                        "missing column '{name}' ({} fields, header has {})",
                        fields.len(),
                        cols.len()
                    ),
                )
            })?;
            s.parse::<f64>()
                .map_err(|_| err(i + 1, format!("column '{name}': '{s}' is not a number")))
        };
        t.push(num(tcol, "time")?);
        v.push(num(vcol, &cols[vcol])?);
        e.push(num(ecol, &cols[ecol])?);
        b.push(match bcol {
            Some(c) => {
                let s = fields.get(c).copied().unwrap_or("");
                if s.is_empty() {
                    return Err(err(i + 1, "column 'band' is empty".into()));
                }
                s.to_string()
            }
            None => "all".to_string(),
        });
    }
    if t.is_empty() {
        return Err(err(hline + 1, "no observations after the header".into()));
    }
    Ok((t, v, e, b, q))
}

/// Reads every `*.csv` in `dir` (sorted by name) into one ragged set. With
/// `skip_bad`, malformed files are listed in the returned rejects and
/// skipped; otherwise the first one is an error naming file and line.
pub fn ingest_dir(
    dir: &Path,
    skip_bad: bool,
) -> anyhow::Result<(Ragged, Vec<String>, Quantity, Vec<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory '{}'", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no .csv files in '{}'", dir.display());
    }
    let mut data = Ragged::new();
    let mut bands: Vec<String> = Vec::new();
    let mut quantity: Option<Quantity> = None;
    let mut rejects = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read '{}'", path.display()))?;
        let parsed = parse_csv(path, &text).and_then(|p| match quantity {
            Some(q) if q != p.4 => Err(CsvError {
                file: path.display().to_string(),
                line: 1,
                message: format!(
                    "holds {} but earlier files hold {}; ingest one kind per file",
                    p.4.name(),
                    q.name()
                ),
            }),
            _ => Ok(p),
        });
        let (t, v, e, b, q) = match parsed {
            Ok(p) => p,
            Err(e) if skip_bad => {
                rejects.push(e.to_string());
                continue;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context("malformed light curve (use --skip-bad to record and skip it)"))
            }
        };
        quantity = Some(q);
        for name in &b {
            if !bands.contains(name) {
                if bands.len() == u8::MAX as usize {
                    bail!("'{}': more than 255 distinct bands", path.display());
                }
                bands.push(name.clone());
            }
        }
        data.time.extend(t);
        data.mag.extend(v);
        data.err.extend(e);
        data.band.extend(
            b.iter()
                .map(|n| bands.iter().position(|x| x == n).expect("band registered") as u8),
        );
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        data.push_object(id, f64::NAN);
    }
    if data.objects() == 0 {
        bail!(
            "every file in '{}' was rejected; first: {}",
            dir.display(),
            rejects.first().cloned().unwrap_or_default()
        );
    }
    // bands in a canonical order (ugrizy first), so ids do not depend on file order
    let order = canonical_band_order(&bands);
    let remap: Vec<u8> = (0..bands.len())
        .map(|old| order.iter().position(|&o| o == old).expect("perm") as u8)
        .collect();
    data.band.iter_mut().for_each(|b| *b = remap[*b as usize]);
    let bands: Vec<String> = order.iter().map(|&i| bands[i].clone()).collect();
    Ok((data, bands, quantity.unwrap_or(Quantity::Mag), rejects))
}

/// Indices of `bands` sorted with the usual optical filters first in
/// wavelength order, then the rest alphabetically.
fn canonical_band_order(bands: &[String]) -> Vec<usize> {
    const KNOWN: [&str; 6] = ["u", "g", "r", "i", "z", "y"];
    let key = |s: &str| {
        KNOWN
            .iter()
            .position(|k| *k == s)
            .map_or((1, s.to_string()), |p| (0, format!("{p}")))
    };
    let mut idx: Vec<usize> = (0..bands.len()).collect();
    idx.sort_by_key(|&i| key(&bands[i]));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_parses_mag_and_flux_and_ignores_extra_columns() {
        let p = Path::new("x.csv");
        let (t, v, e, b, q) = parse_csv(
            p,
            "time,mag,magerr,band,extra\n1.0,17.5,0.02,g,zz\n2.0,17.4,0.03,r,zz\n",
        )
        .unwrap();
        assert_eq!(
            (t, v, e, b, q),
            (
                vec![1.0, 2.0],
                vec![17.5, 17.4],
                vec![0.02, 0.03],
                vec!["g".into(), "r".into()],
                Quantity::Mag
            )
        );
        let (_, v, _, b, q) = parse_csv(p, "flux,time,fluxerr\n10,1,0.5\n").unwrap();
        assert_eq!(
            (v, b, q),
            (vec![10.0], vec!["all".to_string()], Quantity::Flux)
        );
    }

    #[test]
    fn csv_errors_name_file_and_line() {
        let p = Path::new("dir/obj7.csv");
        let e = parse_csv(p, "time,mag,magerr,band\n1,17,0.1,g\n2,abc,0.1,g\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dir/obj7.csv:3: column 'mag': 'abc' is not a number"
        );
        let e = parse_csv(p, "").unwrap_err();
        assert!(e.to_string().starts_with("dir/obj7.csv:1: file is empty"));
        let e = parse_csv(p, "time,mag,band\n1,2,g\n").unwrap_err();
        assert!(e
            .to_string()
            .contains("header must name time and mag,magerr"));
        let e = parse_csv(p, "time,mag,magerr\n1,2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dir/obj7.csv:2: missing column 'magerr' (2 fields, header has 3)"
        );
        let e = parse_csv(p, "time,mag,magerr\n").unwrap_err();
        assert!(e.to_string().contains("no observations"));
    }

    #[test]
    fn bands_sort_by_wavelength() {
        let b: Vec<String> = ["z", "g", "w1", "u", "r"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let order: Vec<&str> = canonical_band_order(&b)
            .iter()
            .map(|&i| b[i].as_str())
            .collect();
        assert_eq!(order, ["u", "g", "r", "z", "w1"]);
    }
}
