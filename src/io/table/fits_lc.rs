//! FITS binary-table light curves (I/O layer), read through CFITSIO: the
//! TESS and Kepler layout, one object per file (named by the file stem),
//! `TIME`, `PDCSAP_FLUX`/`SAP_FLUX`, their `_ERR` and `QUALITY` in the
//! first table HDU, or the one `--hdu` names. A mapped id column groups a file into several objects,
//! as for text tables. Null cells (`TNULLn`, NaN) read as NaN; a null flag
//! reads as 0. Errors name the file, the HDU and the column.

use std::path::Path;

use anyhow::bail;

use super::columns::Mapping;
use super::FlatColumns;
use crate::config::usage;
use crate::io::cfitsio::{Fits, HduKind};
use crate::io::fits::FitsHdu;

/// Every HDU of `f` as `N (kind)` or `N NAME (kind)`, for messages.
fn hdu_list(f: &mut Fits, n: usize) -> String {
    let mut parts = Vec::with_capacity(n);
    for hdu in 0..n {
        let kind = match f.move_to(hdu) {
            Ok(HduKind::Image) => "image",
            Ok(HduKind::AsciiTable) => "ASCII table",
            Ok(HduKind::BinaryTable) => "binary table",
            Err(_) => "unreadable",
        };
        let name = match f.read_key_string("EXTNAME") {
            Ok(Some(n)) if !n.is_empty() => format!(" {n}"),
            _ => String::new(),
        };
        parts.push(format!("{hdu}{name} ({kind})"));
    }
    parts.join(", ")
}

/// Opens `path` at table HDU `hdu` (a number or an EXTNAME, `--hdu`), or
/// at its first table HDU. A missing HDU, or one that is not a table, is a
/// usage error naming the file and listing its HDUs; a file with no table
/// is an error naming the file and what it holds. A tile-compressed table
/// (`ZTABLE = T`) is an error saying so: CFITSIO decompresses images as it
/// reads them, but a compressed table's columns are its compressed bytes.
fn open_table(path: &Path, hdu: Option<&FitsHdu>) -> anyhow::Result<Fits> {
    let mut f = find_table(path, hdu)?;
    if f.read_key_string("ZTABLE")?.as_deref() == Some("T") {
        bail!(
            "{}: a tile-compressed table (ZTABLE = T, as `fpack -table` writes), which tessera does not decompress: uncompress it first (`funpack`)",
            f.place()
        );
    }
    Ok(f)
}

/// [`open_table`] without the compression check.
fn find_table(path: &Path, hdu: Option<&FitsHdu>) -> anyhow::Result<Fits> {
    let mut f = Fits::open(path)?;
    let n = f.hdu_count()?;
    if let Some(want) = hdu {
        let found = match want {
            FitsHdu::Number(k) => (*k < n).then_some(*k),
            FitsHdu::Name(name) => (0..n).find(|&k| {
                f.move_to(k).is_ok()
                    && f.read_key_string("EXTNAME")
                        .ok()
                        .flatten()
                        .is_some_and(|e| e.trim().eq_ignore_ascii_case(name))
            }),
        };
        let why = match found {
            Some(k) => match f.move_to(k)? {
                kind if kind.is_table() => return Ok(f),
                _ => format!("HDU {want} is an image, not a table"),
            },
            None => format!("no HDU {want}"),
        };
        return Err(usage(format!(
            "'{}': {why} (--hdu / hdu); its HDUs: {}",
            path.display(),
            hdu_list(&mut f, n)
        )));
    }
    let mut kinds = Vec::new();
    for hdu in 0..n {
        let kind = f.move_to(hdu)?;
        if kind.is_table() {
            return Ok(f);
        }
        kinds.push(kind);
    }
    bail!(
        "'{}': no table HDU ({n} HDU{}, {}): not a FITS light curve (an image goes to `tessera image`)",
        path.display(),
        if n == 1 { "" } else { "s" },
        if kinds.iter().all(|k| *k == HduKind::Image) {
            "all images"
        } else {
            "none a table"
        }
    )
}

/// The column names of table HDU `hdu` (default: the first table) of `path`.
pub fn header(path: &Path, hdu: Option<&FitsHdu>) -> anyhow::Result<Vec<String>> {
    open_table(path, hdu)?.column_names()
}

/// The 1-based number of column `name` (exact, then without case).
fn column(f: &mut Fits, names: &[String], name: &str) -> anyhow::Result<usize> {
    let hit = names
        .iter()
        .position(|n| n == name)
        .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)));
    match hit {
        Some(k) => Ok(k + 1),
        None => bail!(
            "{}: no column '{name}' (the first file of the input has it); columns: {}",
            f.place(),
            names.join(", ")
        ),
    }
}

/// Reads a numeric column as f64, refusing text and vector cells.
fn numbers(f: &mut Fits, names: &[String], name: &str, rows: usize) -> anyhow::Result<Vec<f64>> {
    let c = column(f, names, name)?;
    let t = f.column_type(c)?;
    if !t.is_scalar_number() {
        bail!(
            "{}, column '{name}': not one number per row (CFITSIO type {}, repeat {})",
            f.place(),
            t.code,
            t.repeat
        );
    }
    f.read_f64(c, rows)
}

/// Reads a label column (id or band): text as trimmed strings, integers
/// in decimal.
fn labels(f: &mut Fits, names: &[String], name: &str, rows: usize) -> anyhow::Result<Vec<String>> {
    let c = column(f, names, name)?;
    let t = f.column_type(c)?;
    if t.is_string() {
        return f.read_strings(c, rows, t.width.max(t.repeat).max(1) as usize);
    }
    if t.is_scalar_number() {
        return Ok(f
            .read_i64(c, rows, 0)?
            .into_iter()
            .map(|v| v.to_string())
            .collect());
    }
    bail!(
        "{}, column '{name}': labels must be text or integers (CFITSIO type {})",
        f.place(),
        t.code
    )
}

/// Reads the mapped columns of table HDU `hdu` (default: the first table)
/// of `path` as flat rows, in file order. Without an id column the rows are
/// one object.
pub fn read(path: &Path, mapping: &Mapping, hdu: Option<&FitsHdu>) -> anyhow::Result<FlatColumns> {
    let mut f = open_table(path, hdu)?;
    let names = f.column_names()?;
    let rows = f.rows()?;
    let mut out = FlatColumns {
        time: numbers(&mut f, &names, &mapping.time, rows)?,
        value: numbers(&mut f, &names, &mapping.value, rows)?,
        err: numbers(&mut f, &names, &mapping.err, rows)?,
        ..FlatColumns::default()
    };
    if let Some(id) = &mapping.id {
        out.id = labels(&mut f, &names, id, rows)?;
        if let Some(r) = out.id.iter().position(String::is_empty) {
            bail!(
                "{}, column '{id}': row {r} has an empty object id",
                f.place()
            );
        }
    }
    if let Some(band) = &mapping.band {
        out.band = labels(&mut f, &names, band, rows)?;
        if let Some(r) = out.band.iter().position(String::is_empty) {
            bail!("{}, column '{band}': row {r} has an empty band", f.place());
        }
    }
    if let Some(flags) = &mapping.flags {
        let c = column(&mut f, &names, flags)?;
        let t = f.column_type(c)?;
        if !t.is_scalar_number() {
            bail!(
                "{}, column '{flags}': flags must be one integer per row (CFITSIO type {})",
                f.place(),
                t.code
            );
        }
        out.flags = f.read_i64(c, rows, 0)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::lcfile::Quantity;
    use fitsio::tables::{ColumnDataType, ColumnDescription};
    use fitsio::FitsFile;

    fn tess_mapping(flux: &str) -> Mapping {
        Mapping {
            id: None,
            time: "TIME".into(),
            value: flux.into(),
            quantity: Quantity::Flux,
            err: format!("{flux}_ERR"),
            band: None,
            flags: Some("QUALITY".into()),
            ra: None,
            dec: None,
            healpix29: None,
        }
    }

    /// A TESS-like file: an empty primary HDU, then LIGHTCURVE.
    fn write_tess(path: &Path, time: &[f64], flux: &[f64], err: &[f32], quality: &[i32]) {
        let _ = std::fs::remove_file(path);
        let mut f = FitsFile::create(path).open().unwrap();
        let col = |name: &str, t| ColumnDescription::new(name).with_type(t).create().unwrap();
        let cols = [
            col("TIME", ColumnDataType::Double),
            col("PDCSAP_FLUX", ColumnDataType::Double),
            col("PDCSAP_FLUX_ERR", ColumnDataType::Float),
            col("QUALITY", ColumnDataType::Int),
        ];
        let hdu = f.create_table("LIGHTCURVE", &cols).unwrap();
        hdu.write_col(&mut f, "TIME", time).unwrap();
        hdu.write_col(&mut f, "PDCSAP_FLUX", flux).unwrap();
        hdu.write_col(&mut f, "PDCSAP_FLUX_ERR", err).unwrap();
        hdu.write_col(&mut f, "QUALITY", quality).unwrap();
    }

    #[test]
    fn a_tess_table_reads_with_nan_and_flags() {
        let dir = std::env::temp_dir().join(format!("tessera-fits-lc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tic1.fits");
        let time = [1325.0, 1325.5, 1326.0, 1326.25];
        let flux = [100.5, f64::NAN, 99.25, 101.0];
        let err = [0.5f32, 0.5, f32::NAN, 0.25];
        write_tess(&path, &time, &flux, &err, &[0, 0, 128, 0]);
        assert_eq!(
            header(&path, None).unwrap(),
            ["TIME", "PDCSAP_FLUX", "PDCSAP_FLUX_ERR", "QUALITY"]
        );
        let got = read(&path, &tess_mapping("PDCSAP_FLUX"), None).unwrap();
        assert!(got.id.is_empty() && got.band.is_empty());
        assert_eq!(got.time, time);
        assert_eq!(got.value[0], 100.5);
        assert!(got.value[1].is_nan());
        assert_eq!((got.value[2], got.value[3]), (99.25, 101.0));
        assert_eq!((got.err[0], got.err[3]), (0.5, 0.25));
        assert!(got.err[2].is_nan());
        assert_eq!(got.flags, [0, 0, 128, 0]);
        let rows = got.clone().group("tic1").unwrap();
        assert_eq!(rows.ids, ["tic1"]);
        assert_eq!(rows.offsets, [0, 4]);
        // gzipped, as archives serve them: the same values
        let gz = dir.join("tic1.fits.gz");
        {
            use std::io::Write;
            let mut z = flate2::write::GzEncoder::new(
                std::fs::File::create(&gz).unwrap(),
                flate2::Compression::default(),
            );
            z.write_all(&std::fs::read(&path).unwrap()).unwrap();
            z.finish().unwrap();
        }
        let unzipped = read(&gz, &tess_mapping("PDCSAP_FLUX"), None).unwrap();
        assert_eq!(unzipped.time, time);
        assert_eq!(unzipped.flags, got.flags);

        // a missing column names the file, the HDU and the columns
        let e = read(&path, &tess_mapping("SAP_FLUX"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("tic1.fits' HDU 1 (LIGHTCURVE): no column 'SAP_FLUX'"),
            "{e}"
        );
        assert!(
            e.contains("TIME, PDCSAP_FLUX, PDCSAP_FLUX_ERR, QUALITY"),
            "{e}"
        );

        // an image-only FITS file is not a light curve
        let img = dir.join("image.fits");
        let _ = std::fs::remove_file(&img);
        {
            let desc = fitsio::images::ImageDescription {
                data_type: fitsio::images::ImageType::Float,
                dimensions: &[4, 4],
            };
            FitsFile::create(&img)
                .with_custom_primary(&desc)
                .open()
                .unwrap();
        }
        let e = header(&img, None).unwrap_err().to_string();
        assert!(
            e.contains("image.fits': no table HDU (1 HDU, all images)"),
            "{e}"
        );
        // not FITS at all
        std::fs::write(dir.join("text.fits"), "time,flux\n1,2\n").unwrap();
        let e = header(&dir.join("text.fits"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("text.fits': not a readable FITS file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hdu_picks_a_table_and_a_wrong_one_lists_them() {
        let dir = std::env::temp_dir().join(format!("tessera-fits-hdu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("two.fits");
        let _ = std::fs::remove_file(&path);
        {
            let mut f = FitsFile::create(&path).open().unwrap();
            let col = |name: &str| {
                ColumnDescription::new(name)
                    .with_type(ColumnDataType::Double)
                    .create()
                    .unwrap()
            };
            let cols = [col("TIME"), col("FLUX"), col("FLUX_ERR")];
            for (name, t0) in [("FIRST", 1.0), ("SECOND", 100.0)] {
                let hdu = f.create_table(name, &cols).unwrap();
                hdu.write_col(&mut f, "TIME", &[t0, t0 + 1.0]).unwrap();
                hdu.write_col(&mut f, "FLUX", &[5.0, 6.0]).unwrap();
                hdu.write_col(&mut f, "FLUX_ERR", &[0.1, 0.1]).unwrap();
            }
        }
        let m = Mapping {
            err: "FLUX_ERR".into(),
            flags: None,
            ..tess_mapping("FLUX")
        };
        let time = |hdu: Option<&FitsHdu>| read(&path, &m, hdu).unwrap().time;
        assert_eq!(time(None), [1.0, 2.0]);
        assert_eq!(time(Some(&FitsHdu::Number(1))), [1.0, 2.0]);
        assert_eq!(time(Some(&FitsHdu::Number(2))), [100.0, 101.0]);
        assert_eq!(time(Some(&FitsHdu::Name("second".into()))), [100.0, 101.0]);
        for (hdu, why) in [
            (FitsHdu::Number(0), "HDU 0 is an image, not a table"),
            (FitsHdu::Number(3), "no HDU 3"),
            (FitsHdu::Name("LIGHTCURVE".into()), "no HDU LIGHTCURVE"),
        ] {
            let e = header(&path, Some(&hdu)).unwrap_err();
            assert!(
                e.downcast_ref::<crate::config::UsageError>().is_some(),
                "{e}"
            );
            let e = e.to_string();
            assert!(
                e.contains(&format!("two.fits': {why}"))
                    && e.contains(
                        "its HDUs: 0 (image), 1 FIRST (binary table), 2 SECOND (binary table)"
                    ),
                "{e}"
            );
        }
        // a tile-compressed table is refused, saying why (CFITSIO copies
        // small tables uncompressed: this one has 20000 rows)
        let big = dir.join("big.fits");
        let _ = std::fs::remove_file(&big);
        {
            let mut f = FitsFile::create(&big).open().unwrap();
            let col = |name: &str| {
                ColumnDescription::new(name)
                    .with_type(ColumnDataType::Double)
                    .create()
                    .unwrap()
            };
            let hdu = f
                .create_table("LC", &[col("TIME"), col("FLUX"), col("FLUX_ERR")])
                .unwrap();
            let v: Vec<f64> = (0..20000).map(|i| i as f64).collect();
            for c in ["TIME", "FLUX", "FLUX_ERR"] {
                hdu.write_col(&mut f, c, &v).unwrap();
            }
        }
        let packed = dir.join("packed.fits");
        crate::io::cfitsio::compress_tables(&big, &packed).unwrap();
        let mut p = Fits::open(&packed).unwrap();
        p.move_to(1).unwrap();
        assert_eq!(p.read_key_string("ZTABLE").unwrap().as_deref(), Some("T"));
        drop(p);
        assert_eq!(read(&big, &m, None).unwrap().time.len(), 20000);
        let e = read(&packed, &m, None).unwrap_err().to_string();
        assert!(
            e.contains("packed.fits' HDU 1 (LC): a tile-compressed table (ZTABLE = T"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
