//! Per-object CSV light curves (I/O layer): parsing one file and ingesting
//! a directory of them (one file per object, the file stem is its id).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::io::lcfile::{Quantity, Ragged};

/// One rejected CSV file and why.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {}", .file, line_suffix(*.line), .message)]
pub struct CsvError {
    /// The CSV file, as displayed.
    pub file: String,
    /// 1-based line number of the problem.
    pub line: usize,
    /// What is wrong on that line.
    pub message: String,
}

/// `:LINE` for a line number, nothing for a whole-file error (line 0).
fn line_suffix(line: usize) -> String {
    if line > 0 {
        format!(":{line}")
    } else {
        String::new()
    }
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

/// A CSV file's text, without a UTF-8 byte-order mark (spreadsheets write
/// one, and it would hide the first column's name); a directory, an
/// unreadable file or one that is not UTF-8 is a [`CsvError`] naming it.
fn read_text(path: &Path) -> Result<String, CsvError> {
    let bad = |message: String| CsvError {
        file: path.display().to_string(),
        line: 0,
        message,
    };
    if path.is_dir() {
        return Err(bad("is a directory, not a CSV file".into()));
    }
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "not UTF-8 text (byte {} is invalid): save it as UTF-8",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
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
    // one object per id: `a.csv` and `a.CSV` (or `a.csv` twice through case)
    // would silently become two objects called `a`
    let mut seen = std::collections::BTreeMap::new();
    for path in &files {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if let Some(first) = seen.insert(stem.clone(), path.clone()) {
            bail!(
                "'{}' and '{}' would both be object '{}': rename one",
                first.display(),
                path.display(),
                stem.unwrap_or_default()
            );
        }
    }
    for path in &files {
        let text = read_text(path);
        let parsed = text
            .and_then(|text| parse_csv(path, &text))
            .and_then(|p| match quantity {
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
/// wavelength order (ugrizy, then ZTF's zg, zr, zi), then the rest
/// alphabetically.
pub(crate) fn canonical_band_order(bands: &[String]) -> Vec<usize> {
    const KNOWN: [&str; 9] = ["u", "g", "r", "i", "z", "y", "zg", "zr", "zi"];
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
