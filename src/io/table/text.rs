//! Text tables (I/O layer): CSV, tab- or whitespace-separated files and
//! astropy's ECSV, optionally gzipped, read into the columns a
//! [`Mapping`](super::columns::Mapping) names. Fields may be quoted; an
//! empty field (what pandas writes for NaN), `nan`, `NA`, `null` or `--`
//! is NaN. Errors name the file, line and column.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};

use super::{FlatColumns, Part};
use crate::io::table::columns::Mapping;

/// How the fields of a text table are separated.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Separator {
    /// One byte: `,` (CSV), tab (TSV) or a single space (ECSV).
    Byte(u8),
    /// Runs of spaces or tabs.
    Whitespace,
}

/// A text table's header and body.
struct Text {
    /// The text without the comment lines and byte-order mark.
    body: String,
    /// Line number (1-based) of the header in the file.
    header_line: usize,
    separator: Separator,
}

/// Reads the file (gunzipping when it starts with the gzip magic bytes),
/// drops a byte-order mark and the `#` comment lines (an ECSV header is
/// comment lines: its `delimiter` is honoured).
fn load(path: &Path) -> anyhow::Result<Text> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("'{}': not a valid gzip file", path.display()))?;
        out
    } else {
        raw
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "'{}': not UTF-8 text (byte {} is invalid): save it as UTF-8",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut ecsv = false;
    let mut ecsv_delimiter = b' ';
    let mut body = String::with_capacity(text.len());
    let mut header_line = 0;
    for (i, line) in text.lines().enumerate() {
        if let Some(comment) = line.strip_prefix('#') {
            let c = comment.trim();
            if i == 0 && c.starts_with("%ECSV") {
                ecsv = true;
            } else if ecsv {
                if let Some(d) = c.strip_prefix("delimiter:") {
                    let d = d.trim().trim_matches(|q| q == '\'' || q == '"');
                    ecsv_delimiter = if d == "," { b',' } else { b' ' };
                }
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        if header_line == 0 {
            header_line = i + 1;
        }
        body.push_str(line);
        body.push('\n');
    }
    if header_line == 0 {
        bail!(
            "'{}': no header line (expected column names such as time,mag,magerr,band)",
            path.display()
        );
    }
    let header = body.lines().next().unwrap_or("");
    let separator = if ecsv {
        Separator::Byte(ecsv_delimiter)
    } else if header.contains('\t') {
        Separator::Byte(b'\t')
    } else if header.contains(',') {
        Separator::Byte(b',')
    } else {
        Separator::Whitespace
    };
    Ok(Text {
        body,
        header_line,
        separator,
    })
}

/// Splits the body into records of fields, with the file line of each.
fn records(text: &Text, path: &Path) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
    let mut out = Vec::new();
    match text.separator {
        Separator::Whitespace => {
            // no quoting in whitespace tables: fields are runs of non-blanks
            for (k, line) in text.body.lines().enumerate() {
                out.push((k, line.split_whitespace().map(String::from).collect()));
            }
        }
        Separator::Byte(b) => {
            let mut r = csv::ReaderBuilder::new()
                .delimiter(b)
                .has_headers(false)
                .flexible(true)
                .trim(csv::Trim::All)
                .from_reader(text.body.as_bytes());
            for (k, rec) in r.records().enumerate() {
                let rec = rec.with_context(|| format!("'{}': record {}", path.display(), k))?;
                out.push((k, rec.iter().map(String::from).collect()));
            }
        }
    }
    Ok(out)
}

/// The column names of a text table.
pub fn header(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = load(path)?;
    let first = text.body.lines().next().unwrap_or("");
    let one = Text {
        body: format!("{first}\n"),
        header_line: text.header_line,
        separator: text.separator,
    };
    Ok(records(&one, path)?.remove(0).1)
}

/// Whether a field means "no value".
fn is_missing(s: &str) -> bool {
    matches!(
        s,
        "" | "nan" | "NaN" | "NAN" | "null" | "NULL" | "NA" | "N/A" | "--" | "None"
    )
}

/// Reads the mapped columns of a text table as flat rows. Rows are in file
/// order; the file line of each error is counted without comment and blank
/// lines' effect on data rows (the header line is given exactly).
///
/// Every field is checked whatever `part` asks for; the positions (`ra`,
/// `dec`) are kept for [`Part::Objects`] only.
pub fn read(path: &Path, mapping: &Mapping, part: Part) -> anyhow::Result<FlatColumns> {
    let text = load(path)?;
    let mut recs = records(&text, path)?.into_iter();
    let Some((_, header)) = recs.next() else {
        bail!("'{}': empty table", path.display());
    };
    let col = |name: &str| -> anyhow::Result<usize> {
        header.iter().position(|h| h == name).ok_or_else(|| {
            anyhow::anyhow!(
                "'{}': no column '{name}' (the first file of the input has it); columns: {}",
                path.display(),
                header.join(", ")
            )
        })
    };
    let (tc, vc, ec) = (
        col(&mapping.time)?,
        col(&mapping.value)?,
        col(&mapping.err)?,
    );
    let ic = mapping.id.as_deref().map(col).transpose()?;
    let bc = mapping.band.as_deref().map(col).transpose()?;
    let fc = mapping.flags.as_deref().map(col).transpose()?;
    let pc = match (part, &mapping.ra, &mapping.dec) {
        (Part::Objects, Some(ra), Some(dec)) => Some((col(ra)?, col(dec)?)),
        _ => None,
    };
    let mut out = FlatColumns::default();
    let width = header.len();
    for (k, fields) in recs {
        let row = k; // data row number: header is row 0
        let at = |c: usize| -> anyhow::Result<&str> {
            fields.get(c).map(String::as_str).ok_or_else(|| {
                anyhow::anyhow!(
                    "'{}': data row {row} has {} fields, the header has {width}",
                    path.display(),
                    fields.len()
                )
            })
        };
        let num = |c: usize| -> anyhow::Result<f64> {
            let s = at(c)?;
            if is_missing(s) {
                return Ok(f64::NAN);
            }
            s.parse::<f64>().map_err(|_| {
                anyhow::anyhow!(
                    "'{}': data row {row}, column '{}': '{s}' is not a number",
                    path.display(),
                    header[c]
                )
            })
        };
        out.time.push(num(tc)?);
        out.value.push(num(vc)?);
        out.err.push(num(ec)?);
        if let Some((rc, dc)) = pc {
            out.ra.push(num(rc)?);
            out.dec.push(num(dc)?);
        }
        if let Some(c) = ic {
            let s = at(c)?;
            if s.is_empty() {
                bail!("'{}': data row {row}: empty object id", path.display());
            }
            out.id.push(s.to_string());
        }
        if let Some(c) = bc {
            let s = at(c)?;
            if s.is_empty() {
                bail!("'{}': data row {row}: empty band", path.display());
            }
            out.band.push(s.to_string());
        }
        if let Some(c) = fc {
            let s = at(c)?;
            let v = if is_missing(s) {
                0
            } else {
                s.parse::<i64>().map_err(|_| {
                    anyhow::anyhow!(
                        "'{}': data row {row}, column '{}': '{s}' is not an integer flag",
                        path.display(),
                        header[c]
                    )
                })?
            };
            out.flags.push(v);
        }
    }
    Ok(out)
}
