//! A minimal FITS image reader and writer (I/O layer): enough for the image
//! job to read a 2-D primary or IMAGE-extension HDU tile by tile, seeking to
//! each row of a window instead of loading the image. Tile-compressed images
//! (a BINTABLE with `ZIMAGE = T`, what fpack and astropy's `CompImageHDU`
//! write) are read through CFITSIO ([`crate::io::cfitsio`]) window by window;
//! the hand-written header walk stays in front of it, so every HDU's size is
//! checked against the file length before CFITSIO or tessera allocates.
//!
//! FITS (Pence et al. 2010, A&A 524, A42, "Definition of the Flexible Image
//! Transport System"): 2880-byte blocks of 80-character header cards, then
//! big-endian pixels with NAXIS1 (columns) varying fastest, so file row `r`
//! is `data[r]` in astropy/numpy order. Physical value = BZERO + BSCALE * raw.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

const BLOCK: u64 = 2880;
const CARD: usize = 80;

/// Which HDU holds the image: its number (0 = primary) or its `EXTNAME`.
#[derive(Clone, Debug, PartialEq)]
pub enum FitsHdu {
    /// HDU number, 0 = primary.
    Number(usize),
    /// `EXTNAME`, compared without case.
    Name(String),
}

impl FitsHdu {
    /// `3` is a number, anything else an `EXTNAME`.
    pub fn parse(s: &str) -> Result<FitsHdu, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("hdu: empty; give an HDU number (0 = primary) or an EXTNAME".into());
        }
        Ok(match s.parse::<usize>() {
            Ok(n) => FitsHdu::Number(n),
            Err(_) => FitsHdu::Name(s.to_string()),
        })
    }
}

impl std::fmt::Display for FitsHdu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitsHdu::Number(n) => write!(f, "{n}"),
            FitsHdu::Name(s) => write!(f, "{s}"),
        }
    }
}

/// A 2-D image HDU found in a FITS file.
#[derive(Clone, Debug, PartialEq)]
pub struct FitsImage {
    /// The file the HDU is in.
    pub path: PathBuf,
    /// HDU index (0 = primary).
    pub hdu: usize,
    /// Pixel type code: 8, 16, 32, 64 (integers) or -32, -64 (IEEE floats).
    pub bitpix: i64,
    /// Image rows (NAXIS2).
    pub rows: usize,
    /// Image columns (NAXIS1), varying fastest in the file.
    pub cols: usize,
    /// BSCALE: physical value = BZERO + BSCALE * raw (1 if absent).
    pub bscale: f64,
    /// BZERO: offset added to scaled raw values (0 if absent).
    pub bzero: f64,
    /// Byte offset of the first pixel (of the compressed table when `compressed`).
    pub data_start: u64,
    /// A tile-compressed image, read through CFITSIO.
    pub compressed: bool,
}

/// True if the file starts like a FITS file (`SIMPLE  =`).
pub fn looks_like_fits(path: &Path) -> bool {
    let mut head = [0u8; 9];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head == b"SIMPLE  =")
        .unwrap_or(false)
}

#[derive(Default)]
struct Header {
    cards: Vec<(String, String)>,
}

impl Header {
    fn get(&self, key: &str) -> Option<&str> {
        self.cards
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn int(&self, key: &str) -> Option<i64> {
        self.get(key)?.trim().parse().ok()
    }
    fn float(&self, key: &str) -> Option<f64> {
        self.get(key)?.trim().replace(['D', 'd'], "E").parse().ok()
    }
}

/// Reads header cards from the current position up to END; returns the header
/// and the number of header bytes (whole blocks).
fn read_header(f: &mut File, path: &Path) -> anyhow::Result<(Header, u64)> {
    let mut h = Header::default();
    let mut block = vec![0u8; BLOCK as usize];
    let mut used = 0u64;
    loop {
        f.read_exact(&mut block)
            .with_context(|| format!("FITS file '{}': truncated header", path.display()))?;
        used += BLOCK;
        for (k, card) in block.chunks_exact(CARD).enumerate() {
            // FITS headers are printable ASCII (32..=126); anything else is a
            // damaged or hostile file, never a panic
            if let Some(&b) = card.iter().find(|&&b| !(32..=126).contains(&b)) {
                bail!(
                    "FITS file '{}': header card {} holds byte 0x{b:02x}, not printable ASCII: not a valid FITS header",
                    path.display(),
                    (used - BLOCK) / CARD as u64 + k as u64 + 1
                );
            }
            let text = std::str::from_utf8(card).expect("checked ASCII");
            let key = text[..8].trim().to_string();
            if key == "END" {
                return Ok((h, used));
            }
            if text.len() > 10 && &text[8..10] == "= " {
                let raw = &text[10..];
                // strip an inline comment, not a slash inside a quoted string
                let value = if let Some(rest) = raw.trim_start().strip_prefix('\'') {
                    rest.split('\'').next().unwrap_or("").trim().to_string()
                } else {
                    raw.split('/').next().unwrap_or("").trim().to_string()
                };
                h.cards.push((key, value));
            }
        }
        if used > 1000 * BLOCK {
            bail!("FITS file '{}': no END card", path.display());
        }
    }
}

/// Bytes of the HDU's data, `|BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1 * ...)`,
/// in overflow-free arithmetic: `None` when it does not fit in 64 bits.
fn data_bytes(h: &Header) -> Option<u64> {
    let naxis = h.int("NAXIS").unwrap_or(0);
    if naxis <= 0 {
        return Some(0);
    }
    if naxis > 999 {
        return None;
    }
    let bitpix = h.int("BITPIX").unwrap_or(8).unsigned_abs();
    let mut n: u64 = 1;
    for i in 1..=naxis {
        n = n.checked_mul(h.int(&format!("NAXIS{i}")).unwrap_or(0).max(0) as u64)?;
    }
    let pcount = h.int("PCOUNT").unwrap_or(0).max(0) as u64;
    let gcount = h.int("GCOUNT").unwrap_or(1).max(1) as u64;
    (bitpix / 8)
        .checked_mul(gcount)?
        .checked_mul(pcount.checked_add(n)?)
}

/// A scaling keyword: absent is `default`; present but not a number is an
/// error naming the keyword (never silently 1).
fn scaling(h: &Header, key: &str, default: f64, what: &str) -> anyhow::Result<f64> {
    match h.get(key) {
        None => Ok(default),
        Some(_) => match h.float(key) {
            Some(v) if v.is_finite() => Ok(v),
            _ => bail!(
                "{what}: {key} = '{}' is not a finite number",
                h.get(key).unwrap_or("")
            ),
        },
    }
}

impl FitsImage {
    /// Finds the first HDU with data (the primary, or else the first IMAGE
    /// extension) and checks that it is a 2-D image tessera can read.
    /// `convert` must be true for integer BITPIX (8, 16, 32, 64).
    pub fn open(path: &Path, convert: bool) -> anyhow::Result<FitsImage> {
        FitsImage::open_hdu(path, convert, None)
    }

    /// As [`FitsImage::open`], at HDU `choice` when given (an error naming
    /// the HDU when it is not a 2-D image); without a choice, the first
    /// image with data, plain or tile-compressed.
    pub fn open_hdu(
        path: &Path,
        convert: bool,
        choice: Option<&FitsHdu>,
    ) -> anyhow::Result<FitsImage> {
        let mut f =
            File::open(path).with_context(|| format!("cannot open input '{}'", path.display()))?;
        let len = f.metadata()?.len();
        let mut pos = 0u64;
        let mut hdu = 0usize;
        loop {
            if pos >= len {
                match choice {
                    Some(c) => bail!(
                        "FITS file '{}': no HDU {c} (--hdu / hdu; the file has {hdu} HDUs)",
                        path.display()
                    ),
                    None => bail!(
                        "FITS file '{}': no HDU with image data found",
                        path.display()
                    ),
                }
            }
            f.seek(SeekFrom::Start(pos))?;
            let (h, hbytes) = read_header(&mut f, path)?;
            let xtension = h.get("XTENSION").map(|x| x.trim().to_string());
            let compressed = xtension.as_deref() == Some("BINTABLE")
                && h.get("ZIMAGE").map(str::trim) == Some("T");
            // a compressed image describes itself with Z keywords
            let z = |k: &str| {
                if compressed {
                    format!("Z{k}")
                } else {
                    k.to_string()
                }
            };
            let naxis = h.int(&z("NAXIS")).unwrap_or(0);
            let is_image = hdu == 0 || xtension.as_deref() == Some("IMAGE") || compressed;
            let what = format!("FITS file '{}', HDU {hdu}", path.display());
            let chosen = match choice {
                None => is_image && naxis > 0,
                Some(FitsHdu::Number(n)) => *n == hdu,
                Some(FitsHdu::Name(name)) => h
                    .get("EXTNAME")
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(name)),
            };
            if chosen && !(is_image && naxis > 0) {
                bail!(
                    "{what}: not an image with data ({}, NAXIS = {naxis}); --hdu must name an image HDU",
                    xtension.as_deref().unwrap_or("primary HDU")
                );
            }
            // sizes are checked against the file before anything is allocated
            let nbytes = match data_bytes(&h) {
                Some(n) if n <= len => n,
                _ => bail!(
                    "{what}: the header declares more data than the file holds ({} bytes): damaged or not a FITS file",
                    len
                ),
            };
            if chosen {
                if naxis != 2 {
                    bail!("{what}: the image has {naxis} axes (NAXIS = {naxis}); a 2-D image is needed");
                }
                let cols = h.int(&z("NAXIS1")).unwrap_or(-1);
                let rows = h.int(&z("NAXIS2")).unwrap_or(-1);
                if cols < 0 || rows < 0 {
                    bail!("{what}: missing NAXIS1/NAXIS2");
                }
                let bitpix = h.int(&z("BITPIX")).unwrap_or(0);
                match bitpix {
                    -64 | -32 => {}
                    8 | 16 | 32 | 64 if convert => {}
                    8 | 16 | 32 | 64 => bail!(
                        "{what}: integer pixels (BITPIX = {bitpix}); set convert = true (or --convert) to read them as f64"
                    ),
                    b => bail!("{what}: unsupported BITPIX = {b}"),
                }
                let img = FitsImage {
                    path: path.to_path_buf(),
                    hdu,
                    bitpix,
                    rows: rows as usize,
                    cols: cols as usize,
                    bscale: scaling(&h, "BSCALE", 1.0, &what)?,
                    bzero: scaling(&h, "BZERO", 0.0, &what)?,
                    data_start: pos + hbytes,
                    compressed,
                };
                if compressed {
                    // the compressed table's size was checked above; a tile
                    // is decompressed at a time, each no larger than the image
                    let tile = h.int("ZTILE1").unwrap_or(cols).max(1) as u64
                        * h.int("ZTILE2").unwrap_or(1).max(1) as u64;
                    if tile > (rows.max(1) as u64).saturating_mul(cols.max(1) as u64) {
                        bail!("{what}: ZTILE1 x ZTILE2 is larger than the image");
                    }
                    return Ok(img);
                }
                let end = (rows as u64)
                    .checked_mul(cols as u64)
                    .and_then(|n| n.checked_mul(img.bytes_per_pixel()))
                    .and_then(|n| n.checked_add(img.data_start));
                if end.is_none_or(|end| end > len) {
                    bail!("{what}: file is shorter than its data ({rows} x {cols} pixels)");
                }
                return Ok(img);
            }
            pos = pos.saturating_add(hbytes + nbytes.div_ceil(BLOCK) * BLOCK);
            hdu += 1;
        }
    }

    /// Bytes per stored pixel, `|BITPIX| / 8`.
    pub fn bytes_per_pixel(&self) -> u64 {
        self.bitpix.unsigned_abs() / 8
    }

    /// True for BITPIX -32 without scaling: readable as f32 exactly.
    pub fn is_f32(&self) -> bool {
        self.bitpix == -32 && self.bscale == 1.0 && self.bzero == 0.0
    }

    /// Reads rows `r0..r0 + rows`, columns `c0..c0 + cols` as f64 physical
    /// values (or f32 through `out_f32`), one seek per row.
    pub fn read_window(
        &self,
        r0: usize,
        c0: usize,
        rows: usize,
        cols: usize,
        mut sink: impl FnMut(f64),
    ) -> anyhow::Result<()> {
        if self.compressed {
            let mut f = crate::io::cfitsio::Fits::open(&self.path)?;
            f.move_to(self.hdu)?;
            for v in f.read_image_window(r0, c0, rows, cols)? {
                sink(v);
            }
            return Ok(());
        }
        let mut f = File::open(&self.path)
            .with_context(|| format!("cannot open input '{}'", self.path.display()))?;
        let bpp = self.bytes_per_pixel() as usize;
        let mut buf = vec![0u8; cols * bpp];
        for r in r0..r0 + rows {
            let off = self.data_start + ((r * self.cols + c0) * bpp) as u64;
            f.seek(SeekFrom::Start(off))?;
            f.read_exact(&mut buf).with_context(|| {
                format!(
                    "FITS file '{}', HDU {}: reading row {r}",
                    self.path.display(),
                    self.hdu
                )
            })?;
            let scale = |raw: f64| self.bzero + self.bscale * raw;
            for px in buf.chunks_exact(bpp) {
                let v = match self.bitpix {
                    -64 => scale(f64::from_be_bytes(px.try_into().unwrap())),
                    -32 => scale(f32::from_be_bytes(px.try_into().unwrap()) as f64),
                    8 => scale(px[0] as f64),
                    16 => scale(i16::from_be_bytes(px.try_into().unwrap()) as f64),
                    32 => scale(i32::from_be_bytes(px.try_into().unwrap()) as f64),
                    _ => scale(i64::from_be_bytes(px.try_into().unwrap()) as f64),
                };
                sink(v);
            }
        }
        Ok(())
    }
}

/// Writes a primary-HDU FITS image from rows produced by `row(r, &mut buf)`
/// (big-endian bytes of one row, `cols * |bitpix| / 8` long).
pub fn write_image(
    out: &mut impl Write,
    bitpix: i64,
    rows: usize,
    cols: usize,
    mut row: impl FnMut(usize, &mut Vec<u8>),
) -> anyhow::Result<()> {
    let mut header = String::new();
    let mut card = |k: &str, v: String| {
        header.push_str(&format!("{k:<8}= {v:>20}{:<50}", ""));
    };
    card("SIMPLE", "T".into());
    card("BITPIX", bitpix.to_string());
    card("NAXIS", "2".into());
    card("NAXIS1", cols.to_string());
    card("NAXIS2", rows.to_string());
    header.push_str(&format!("{:<80}", "END"));
    while !(header.len() as u64).is_multiple_of(BLOCK) {
        header.push(' ');
    }
    out.write_all(header.as_bytes())?;
    let mut buf = Vec::new();
    let mut written = 0u64;
    for r in 0..rows {
        buf.clear();
        row(r, &mut buf);
        out.write_all(&buf)?;
        written += buf.len() as u64;
    }
    let pad = (BLOCK - written % BLOCK) % BLOCK;
    out.write_all(&vec![0u8; pad as usize])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header of the given cards (padded to whole blocks) and `data` bytes.
    fn hand_made(name: &str, cards: &[&[u8]], data: usize) -> PathBuf {
        let mut bytes = Vec::new();
        for c in cards {
            let mut card = c.to_vec();
            card.resize(CARD, b' ');
            bytes.extend(card);
        }
        let mut end = b"END".to_vec();
        end.resize(CARD, b' ');
        bytes.extend(end);
        bytes.resize(bytes.len().div_ceil(BLOCK as usize) * BLOCK as usize, b' ');
        bytes.resize(bytes.len() + data, 0);
        let dir = std::env::temp_dir().join(format!("tessera-fits-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn hostile_headers_are_errors_before_any_allocation() {
        let simple: &[u8] = b"SIMPLE  =                    T";
        // 2^32 x 2^32 pixels of 8 bytes overflows 64 bits: refused, not allocated
        for (rows, cols) in [
            ("4294967296", "4294967296"),
            ("3037000500", "3037000500"),
            ("100", "100"),
        ] {
            let n1 = format!("NAXIS1  = {cols:>20}");
            let n2 = format!("NAXIS2  = {rows:>20}");
            let p = hand_made(
                "bomb.fits",
                &[
                    simple,
                    b"BITPIX  =                  -64",
                    b"NAXIS   =                    2",
                    n1.as_bytes(),
                    n2.as_bytes(),
                ],
                8,
            );
            let e = FitsImage::open(&p, false).unwrap_err().to_string();
            assert!(
                e.contains("bomb.fits") && e.contains("more data than the file holds"),
                "{e}"
            );
        }
        // a non-ASCII byte in a keyword is named, never a panic
        let p = hand_made(
            "latin1.fits",
            &[
                simple,
                b"BITPIX  =                  -64",
                b"NAXIS   =                    2",
                b"NAXIS1  =                    1",
                b"NAXIS2  =                    1",
                b"OBS\xe9RVR= 'x'",
            ],
            8,
        );
        let mut raw = std::fs::read(&p).unwrap();
        let at = 5 * CARD + 3;
        raw[at] = 0xe9;
        std::fs::write(&p, raw).unwrap();
        let e = FitsImage::open(&p, false).unwrap_err().to_string();
        assert!(e.contains("card 6") && e.contains("0xe9"), "{e}");
        // a scaling keyword that is not a number is an error, not 1
        let p = hand_made(
            "bscale.fits",
            &[
                simple,
                b"BITPIX  =                   16",
                b"NAXIS   =                    2",
                b"NAXIS1  =                    1",
                b"NAXIS2  =                    1",
                b"BSCALE  = 'two'",
            ],
            2,
        );
        let e = FitsImage::open(&p, true).unwrap_err().to_string();
        assert!(
            e.contains("BSCALE") && e.contains("not a finite number"),
            "{e}"
        );
    }

    #[test]
    fn round_trip_f64_and_scaled_i16() {
        let dir = std::env::temp_dir().join(format!("tessera-fits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.fits");
        let mut f = File::create(&p).unwrap();
        write_image(&mut f, -64, 3, 5, |r, b| {
            for c in 0..5 {
                b.extend_from_slice(&((r * 10 + c) as f64).to_be_bytes());
            }
        })
        .unwrap();
        drop(f);
        assert!(looks_like_fits(&p));
        let img = FitsImage::open(&p, false).unwrap();
        assert_eq!((img.rows, img.cols, img.bitpix), (3, 5, -64));
        let mut v = Vec::new();
        img.read_window(1, 2, 2, 3, |x| v.push(x)).unwrap();
        assert_eq!(v, vec![12.0, 13.0, 14.0, 22.0, 23.0, 24.0]);

        let p = dir.join("b.fits");
        let mut f = File::create(&p).unwrap();
        write_image(&mut f, 16, 2, 2, |r, b| {
            for c in 0..2 {
                b.extend_from_slice(&((r * 2 + c) as i16 - 1).to_be_bytes());
            }
        })
        .unwrap();
        drop(f);
        let e = FitsImage::open(&p, false).unwrap_err().to_string();
        assert!(e.contains("BITPIX = 16") && e.contains("convert"), "{e}");
        let img = FitsImage::open(&p, true).unwrap();
        let mut v = Vec::new();
        img.read_window(0, 0, 2, 2, |x| v.push(x)).unwrap();
        assert_eq!(v, vec![-1.0, 0.0, 1.0, 2.0]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
