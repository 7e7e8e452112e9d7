//! FITS image output (I/O layer): a 2-D HDF5 dataset copied strip by strip
//! into the primary image of a FITS file written through CFITSIO, with the
//! header of a FITS input carried over (world coordinates and observation
//! cards; the reference pixel moved when the output grid is shifted against
//! the input's), then the caller's keywords, HISTORY and an optional extra
//! image HDU. The file is written under a temporary name and renamed into
//! place when complete, so a failure leaves nothing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hdf5::types::{FloatSize, TypeDescriptor};
use ndarray::s;

use crate::io::cfitsio::{
    card_class, card_value, CardClass, Fits, FitsPixel, FitsWriter, KeyValue,
};
use crate::io::output::TempOutput;

/// Pixels per strip copied from HDF5 to FITS: bounds rank 0's memory.
const STRIP_PIXELS: usize = 1 << 22;

/// Cards of the section family, dropped when the output grid is not the
/// input's: they name pixel ranges of the input.
const SECTION_KEYS: [&str; 6] = [
    "DATASEC", "TRIMSEC", "BIASSEC", "DETSEC", "CCDSEC", "AMPSEC",
];

/// Cards never carried besides those CFITSIO classes as structure,
/// compression, scaling, null, range, HDU identity or checksum: the
/// compressed-data checksums, the extension inheritance flag, the input
/// file's creation date (the output gets its own DATE).
const NEVER_CARRIED: [&str; 4] = ["ZHECKSUM", "ZDATASUM", "INHERIT", "DATE"];

/// A header card to write: one carried as it was, or one rewritten.
#[derive(Clone, Debug, PartialEq)]
pub enum Card {
    /// An 80-character card copied verbatim.
    Raw(String),
    /// A keyword with a new value and the old comment.
    Key(String, KeyValue, String),
}

/// The FITS image to write.
pub struct FitsImageOut<'a> {
    /// The final path.
    pub target: &'a Path,
    /// HDF5 file holding the pixels.
    pub source: &'a Path,
    /// The 2-D f32 or f64 dataset in `source` (BITPIX -32 or -64).
    pub dataset: &'a str,
    /// The FITS file and HDU (0-based) whose header is carried over.
    pub header_from: Option<(&'a Path, usize)>,
    /// Input pixel (0-based row, column) that output pixel (0, 0) sits on;
    /// the carried reference pixels (CRPIXn, LTVn) move by minus this.
    pub origin: (i64, i64),
    /// Keywords written after the carried cards (name, value, comment);
    /// carried cards of the same names are dropped.
    pub keys: &'a [(String, KeyValue, String)],
    /// HISTORY texts, after the keywords.
    pub history: &'a [String],
    /// An image extension written after the primary: EXTNAME, rows,
    /// columns and row-major f64 values (BITPIX -64).
    pub extension: Option<(&'a str, usize, usize, &'a [f64])>,
}

/// The axis (1 = columns, 2 = rows) a reference-pixel keyword counts on:
/// `CRPIXn` with an optional alternate-WCS letter, or IRAF's `LTVn`.
fn reference_pixel_axis(key: &str) -> Option<usize> {
    let rest = key
        .strip_prefix("CRPIX")
        .or_else(|| key.strip_prefix("LTV"))?;
    let digits = rest.trim_end_matches(|c: char| c.is_ascii_uppercase());
    if rest.len() - digits.len() > 1 || (key.starts_with("LTV") && digits.len() != rest.len()) {
        return None;
    }
    digits.parse().ok()
}

/// The keyword of a card (the first 8 characters, trimmed).
fn card_key(card: &str) -> String {
    card.get(..8).unwrap_or(card).trim().to_string()
}

/// The cards of `path`'s HDU `hdu` worth carrying to a derived image:
/// everything but structure, compression, scaling, null, data-range,
/// HDU-identity and checksum cards, table units and layouts, the
/// [`NEVER_CARRIED`] cards and those named in `skip`. When `origin` is not
/// (0, 0), CRPIXn/CRPIXna and LTVn move by minus it (axis 1 = columns) and
/// the section cards (DATASEC, ...) are dropped.
pub fn carried_cards(
    path: &Path,
    hdu: usize,
    origin: (i64, i64),
    skip: &[&str],
) -> anyhow::Result<Vec<Card>> {
    let mut f = Fits::open(path)?;
    f.move_to(hdu)?;
    let place = f.place();
    let shifted = origin != (0, 0);
    let mut out = Vec::new();
    let mut keep_previous = false;
    for card in f.header_cards()? {
        let key = card_key(&card);
        let class = card_class(&card);
        let keep = match class {
            // a long string's rest goes where its keyword went
            CardClass::Continue => keep_previous,
            CardClass::Structure
            | CardClass::Compression
            | CardClass::Scaling
            | CardClass::Null
            | CardClass::Range
            | CardClass::HduId
            | CardClass::Checksum
            | CardClass::TableLayout => false,
            CardClass::Unit => key == "BUNIT",
            CardClass::Wcs | CardClass::RefSystem | CardClass::Commentary | CardClass::User => {
                !NEVER_CARRIED.contains(&key.as_str())
                    && !skip.contains(&key.as_str())
                    && !(shifted && SECTION_KEYS.contains(&key.as_str()))
            }
        };
        keep_previous = keep;
        if !keep {
            continue;
        }
        match reference_pixel_axis(&key).filter(|_| shifted) {
            Some(axis) => {
                let (value, comment) = card_value(&card)?;
                let v: f64 = value
                    .trim()
                    .replace(['D', 'd'], "E")
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .with_context(|| {
                        format!("{place}: {key} = '{value}' is not a number; cannot move it to the output grid")
                    })?;
                let by = match axis {
                    1 => origin.1,
                    2 => origin.0,
                    _ => 0,
                };
                out.push(Card::Key(key, KeyValue::Real(v - by as f64), comment));
            }
            None => out.push(Card::Raw(card)),
        }
    }
    Ok(out)
}

/// Writes `spec.target`: the image of `spec.dataset`, the carried header,
/// the keywords, HISTORY and the extension; returns the final path.
pub fn write_fits_image(spec: &FitsImageOut) -> anyhow::Result<PathBuf> {
    let what = || format!("writing '{}'", spec.target.display());
    let h5 = hdf5::File::open(spec.source)
        .with_context(|| format!("reopening '{}'", spec.source.display()))?;
    let ds = h5
        .dataset(spec.dataset)
        .with_context(|| format!("'{}': no dataset {}", spec.source.display(), spec.dataset))?;
    let shape = ds.shape();
    if shape.len() != 2 {
        bail!("'{}' {}: not 2-D", spec.source.display(), spec.dataset);
    }
    let (rows, cols) = (shape[0], shape[1]);
    let f32_pixels = match ds.dtype().and_then(|t| t.to_descriptor())? {
        TypeDescriptor::Float(FloatSize::U4) => true,
        TypeDescriptor::Float(FloatSize::U8) => false,
        d => bail!(
            "'{}' {}: {d} pixels, not f32 or f64",
            spec.source.display(),
            spec.dataset
        ),
    };
    // the carried cards are read before CFITSIO opens the output
    let skip: Vec<&str> = spec.keys.iter().map(|(k, _, _)| k.as_str()).collect();
    let carried = match spec.header_from {
        Some((path, hdu)) => carried_cards(path, hdu, spec.origin, &skip)?,
        None => Vec::new(),
    };

    let out = TempOutput::prepare(spec.target)?;
    let mut w = FitsWriter::create(out.temp()).with_context(what)?;
    let bpp = if f32_pixels { 4 } else { 8 };
    let ext_bytes = spec
        .extension
        .map_or(0, |(_, r, c, _)| r * c * 8 + 2 * 2880);
    let cards = carried.len() + spec.keys.len() + 8 * spec.history.len() + 64;
    let bytes = (rows * cols * bpp + ext_bytes + cards * 80) as u64 + 4 * 2880;
    out.reserve(bytes)?;
    w.create_image(if f32_pixels { -32 } else { -64 }, rows, cols)
        .with_context(what)?;
    for card in &carried {
        match card {
            Card::Raw(c) => w.write_card(c),
            Card::Key(k, v, c) => w.write_key(k, v, c),
        }
        .with_context(what)?;
    }
    for (k, v, c) in spec.keys {
        w.write_key(k, v, c).with_context(what)?;
    }
    for h in spec.history {
        w.write_history(h).with_context(what)?;
    }
    w.write_date().with_context(what)?;
    if f32_pixels {
        copy_strips::<f32>(&ds, &mut w, rows, cols)
    } else {
        copy_strips::<f64>(&ds, &mut w, rows, cols)
    }
    .with_context(what)?;
    if let Some((name, r, c, values)) = spec.extension {
        w.create_image(-64, r, c).with_context(what)?;
        w.write_key("EXTNAME", &KeyValue::Str(name.to_string()), "")
            .with_context(what)?;
        w.write_pixels(0, values).with_context(what)?;
    }
    w.close().with_context(what)?;
    out.commit()
}

/// Copies `ds` into the current FITS image in strips of whole rows.
fn copy_strips<T: FitsPixel + hdf5::H5Type>(
    ds: &hdf5::Dataset,
    w: &mut FitsWriter,
    rows: usize,
    cols: usize,
) -> anyhow::Result<()> {
    let strip = (STRIP_PIXELS / cols.max(1)).max(1);
    for r0 in (0..rows).step_by(strip) {
        let r1 = (r0 + strip).min(rows);
        let a = ds
            .read_slice_2d::<T, _>(s![r0..r1, ..])
            .with_context(|| format!("reading rows {r0}..{r1} of the convolved image"))?;
        let (v, _) = a.into_raw_vec_and_offset();
        w.write_pixels(r0 * cols, &v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_pixel_keys_and_their_axes() {
        for (k, want) in [
            ("CRPIX1", Some(1)),
            ("CRPIX2", Some(2)),
            ("CRPIX2A", Some(2)),
            ("LTV1", Some(1)),
            ("LTV2", Some(2)),
            ("LTV2A", None),
            ("CRPIX", None),
            ("CRPIX1AB", None),
            ("CRVAL1", None),
            ("LTM1_1", None),
        ] {
            assert_eq!(reference_pixel_axis(k), want, "{k}");
        }
    }
}
