//! CFITSIO, through the C bindings the `fitsio` crate ships (I/O layer):
//! one safe handle over the few calls tessera makes, so every `unsafe` FITS
//! call is in this file. Files are opened with `fits_open_diskfile`, so a
//! name is a name (CFITSIO's extended syntax, `file.fits[1]`, is not
//! parsed); gzip-compressed files are read transparently. Column reads go in
//! bounded chunks, so memory grows only with data actually read, never with
//! a row count a header claims.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use anyhow::bail;
use fitsio::sys;

/// Rows per CFITSIO read call: bounds the memory a lying header can cost.
const CHUNK_ROWS: usize = 1 << 16;

/// What an HDU holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HduKind {
    /// An image (the primary array, an IMAGE extension or a tile-compressed image).
    Image,
    /// An ASCII table extension.
    AsciiTable,
    /// A binary table extension.
    BinaryTable,
}

impl HduKind {
    /// Whether the HDU is a table of either kind.
    pub fn is_table(self) -> bool {
        matches!(self, HduKind::AsciiTable | HduKind::BinaryTable)
    }
}

/// The type of a table column as CFITSIO reports it after scaling
/// (`fits_get_eqcoltypell`).
#[derive(Clone, Copy, Debug)]
pub struct ColumnType {
    /// CFITSIO type code (`TDOUBLE`, `TSTRING`, ...); negative for a
    /// variable-length array column.
    pub code: i32,
    /// Elements per cell (characters for a string column).
    pub repeat: i64,
    /// Bytes (characters) per element.
    pub width: i64,
}

impl ColumnType {
    /// Whether the column holds text.
    pub fn is_string(&self) -> bool {
        self.code == sys::TSTRING as i32
    }

    /// Whether the column holds real or integer numbers, one per cell.
    pub fn is_scalar_number(&self) -> bool {
        let c = self.code;
        c > 0
            && self.repeat == 1
            && ![
                sys::TSTRING,
                sys::TLOGICAL,
                sys::TBIT,
                sys::TCOMPLEX,
                sys::TDBLCOMPLEX,
            ]
            .contains(&(c as u32))
    }
}

/// Serialises CFITSIO calls when the library was built without
/// `--enable-reentrant` (Debian's is reentrant: then this is never taken).
fn serial() -> Option<MutexGuard<'static, ()>> {
    static REENTRANT: OnceLock<bool> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    // SAFETY: fits_is_reentrant reads a compile-time constant of the library.
    let reentrant = *REENTRANT.get_or_init(|| unsafe { sys::fits_is_reentrant() } != 0);
    (!reentrant).then(|| LOCK.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The text of a CFITSIO status and the library's error-message stack.
fn cfitsio_message(status: c_int) -> String {
    let mut text = [0 as c_char; 31];
    // SAFETY: ffgerr writes at most 30 characters and a NUL into `text`.
    unsafe { sys::ffgerr(status, text.as_mut_ptr()) };
    // SAFETY: `text` is NUL-terminated (zero-initialised, ffgerr terminates).
    let mut out = unsafe { CStr::from_ptr(text.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    let mut detail = Vec::new();
    loop {
        let mut msg = [0 as c_char; sys::FLEN_ERRMSG as usize];
        // SAFETY: ffgmsg writes at most FLEN_ERRMSG bytes including the NUL.
        let n = unsafe { sys::ffgmsg(msg.as_mut_ptr()) };
        if n == 0 {
            break;
        }
        // SAFETY: as above, NUL-terminated.
        let m = unsafe { CStr::from_ptr(msg.as_ptr()) }.to_string_lossy();
        let m = m.trim();
        if !m.is_empty() && detail.len() < 4 {
            detail.push(m.to_string());
        }
    }
    if !detail.is_empty() {
        out = format!("{out} ({})", detail.join("; "));
    }
    format!("{out}, CFITSIO status {status}")
}

/// An open FITS file, read-only; closed on drop.
pub struct Fits {
    ptr: *mut sys::fitsfile,
    path: PathBuf,
    /// The 0-based HDU the file is positioned at, for messages.
    hdu: usize,
    _serial: Option<MutexGuard<'static, ()>>,
}

impl Drop for Fits {
    fn drop(&mut self) {
        let mut status = 0;
        // SAFETY: `ptr` came from a successful ffdkopn and is closed once, here.
        unsafe { sys::ffclos(self.ptr, &mut status) };
    }
}

impl Fits {
    /// Opens `path` read-only (gzip-compressed files are decompressed in memory).
    pub fn open(path: &Path) -> anyhow::Result<Fits> {
        let guard = serial();
        let name = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
            anyhow::anyhow!(
                "'{}': a path with a NUL byte cannot be opened",
                path.display()
            )
        })?;
        let mut ptr = std::ptr::null_mut();
        let mut status = 0;
        // SAFETY: `name` is a NUL-terminated path; on success CFITSIO stores a
        // valid handle in `ptr`, on failure it leaves it null.
        unsafe { sys::ffdkopn(&mut ptr, name.as_ptr(), sys::READONLY as c_int, &mut status) };
        if status != 0 || ptr.is_null() {
            bail!(
                "'{}': not a readable FITS file: {}",
                path.display(),
                cfitsio_message(status)
            );
        }
        Ok(Fits {
            ptr,
            path: path.to_path_buf(),
            hdu: 0,
            _serial: guard,
        })
    }

    /// The file, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An error naming the file and current HDU.
    fn fail(&self, what: &str, status: c_int) -> anyhow::Error {
        anyhow::anyhow!(
            "'{}' HDU {}: {what}: {}",
            self.path.display(),
            self.hdu,
            cfitsio_message(status)
        )
    }

    /// Number of HDUs in the file.
    pub fn hdu_count(&mut self) -> anyhow::Result<usize> {
        let mut n = 0;
        let mut status = 0;
        // SAFETY: valid handle; `n` receives the count.
        unsafe { sys::ffthdu(self.ptr, &mut n, &mut status) };
        if status != 0 {
            return Err(self.fail("cannot count the HDUs", status));
        }
        Ok(n.max(0) as usize)
    }

    /// Moves to HDU `index` (0 = primary) and says what it holds. The data
    /// of an uncompressed file must fit in the file's length.
    pub fn move_to(&mut self, index: usize) -> anyhow::Result<HduKind> {
        let mut kind = 0;
        let mut status = 0;
        self.hdu = index;
        let number = c_int::try_from(index + 1).unwrap_or(c_int::MAX);
        // SAFETY: valid handle; `kind` receives the HDU type.
        unsafe { sys::ffmahd(self.ptr, number, &mut kind, &mut status) };
        if status != 0 {
            return Err(self.fail("cannot move to this HDU", status));
        }
        let (mut head, mut start, mut end) = (0, 0, 0);
        // SAFETY: valid handle, positioned at an HDU.
        unsafe { sys::ffghadll(self.ptr, &mut head, &mut start, &mut end, &mut status) };
        if status != 0 {
            return Err(self.fail("cannot locate the data", status));
        }
        if !is_gzip(&self.path) {
            let len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
            // a last block short of its padding (careless writers) is let pass
            if u64::try_from(end).unwrap_or(u64::MAX) > len.next_multiple_of(2880) {
                bail!(
                    "'{}' HDU {index}: the header puts the data's end at byte {end} but the file has {len} bytes (truncated?)",
                    self.path.display()
                );
            }
        }
        Ok(match kind as u32 {
            sys::ASCII_TBL => HduKind::AsciiTable,
            sys::BINARY_TBL => HduKind::BinaryTable,
            _ => HduKind::Image,
        })
    }

    /// A string keyword of the current HDU, `None` when absent.
    pub fn read_key_string(&mut self, key: &str) -> anyhow::Result<Option<String>> {
        let name = CString::new(key).expect("keyword without NUL");
        let mut value = [0 as c_char; sys::FLEN_VALUE as usize];
        let mut status = 0;
        // SAFETY: valid handle; `value` has FLEN_VALUE bytes as CFITSIO requires;
        // a null comment pointer means "not wanted".
        unsafe {
            sys::ffgkys(
                self.ptr,
                name.as_ptr(),
                value.as_mut_ptr(),
                std::ptr::null_mut(),
                &mut status,
            )
        };
        if status == sys::KEY_NO_EXIST as c_int {
            // clear the message stack left by the miss
            let _ = cfitsio_message(status);
            return Ok(None);
        }
        if status != 0 {
            return Err(self.fail(&format!("cannot read keyword {key}"), status));
        }
        // SAFETY: CFITSIO NUL-terminates `value`.
        let s = unsafe { CStr::from_ptr(value.as_ptr()) }.to_string_lossy();
        Ok(Some(s.trim_end().to_string()))
    }

    /// The current HDU as `N` or `N (EXTNAME)`, for messages.
    pub fn hdu_label(&mut self) -> String {
        match self.read_key_string("EXTNAME") {
            Ok(Some(n)) if !n.is_empty() => format!("{} ({n})", self.hdu),
            _ => self.hdu.to_string(),
        }
    }

    /// `'path' HDU N (EXTNAME)`, for messages.
    pub fn place(&mut self) -> String {
        let label = self.hdu_label();
        format!("'{}' HDU {label}", self.path.display())
    }

    /// Column names of the current (table) HDU, `TTYPEn` in order (`COLn`
    /// for an unnamed column).
    pub fn column_names(&mut self) -> anyhow::Result<Vec<String>> {
        let mut n = 0;
        let mut status = 0;
        // SAFETY: valid handle positioned at a table HDU.
        unsafe { sys::ffgncl(self.ptr, &mut n, &mut status) };
        if status != 0 {
            return Err(self.fail("cannot count the columns", status));
        }
        (1..=n.max(0))
            .map(|k| {
                Ok(self
                    .read_key_string(&format!("TTYPE{k}"))?
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| format!("COL{k}")))
            })
            .collect()
    }

    /// Number of rows of the current (table) HDU.
    pub fn rows(&mut self) -> anyhow::Result<usize> {
        let mut n = 0;
        let mut status = 0;
        // SAFETY: valid handle positioned at a table HDU.
        unsafe { sys::ffgnrwll(self.ptr, &mut n, &mut status) };
        if status != 0 {
            return Err(self.fail("cannot read the row count", status));
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The type of column `col` (1-based) after scaling.
    pub fn column_type(&mut self, col: usize) -> anyhow::Result<ColumnType> {
        let (mut code, mut repeat, mut width) = (0, 0, 0);
        let mut status = 0;
        // SAFETY: valid handle positioned at a table HDU; outputs are plain integers.
        unsafe {
            sys::ffeqtyll(
                self.ptr,
                col as c_int,
                &mut code,
                &mut repeat,
                &mut width,
                &mut status,
            )
        };
        if status != 0 {
            return Err(self.fail(&format!("cannot read the type of column {col}"), status));
        }
        Ok(ColumnType {
            code,
            repeat,
            width,
        })
    }

    /// Column `col` (1-based, one number per cell) as f64; null cells
    /// (`TNULLn`, or NaN in a float column) are NaN.
    pub fn read_f64(&mut self, col: usize, rows: usize) -> anyhow::Result<Vec<f64>> {
        let mut out = Vec::new();
        for first in (0..rows).step_by(CHUNK_ROWS) {
            let n = CHUNK_ROWS.min(rows - first);
            let at = out.len();
            out.resize(at + n, f64::NAN);
            let mut anynul = 0;
            let mut status = 0;
            // SAFETY: `out[at..]` has room for the `n` values requested; a NaN
            // null value makes CFITSIO write NaN for undefined cells.
            unsafe {
                sys::ffgcvd(
                    self.ptr,
                    col as c_int,
                    first as i64 + 1,
                    1,
                    n as i64,
                    f64::NAN,
                    out[at..].as_mut_ptr(),
                    &mut anynul,
                    &mut status,
                )
            };
            if status != 0 {
                return Err(self.fail(&format!("cannot read column {col}"), status));
            }
        }
        Ok(out)
    }

    /// Column `col` (1-based, one integer per cell) as i64; null cells are
    /// `null`.
    pub fn read_i64(&mut self, col: usize, rows: usize, null: i64) -> anyhow::Result<Vec<i64>> {
        let mut out = Vec::new();
        for first in (0..rows).step_by(CHUNK_ROWS) {
            let n = CHUNK_ROWS.min(rows - first);
            let at = out.len();
            out.resize(at + n, null);
            let mut anynul = 0;
            let mut status = 0;
            // SAFETY: `out[at..]` has room for the `n` values requested.
            unsafe {
                sys::ffgcvjj(
                    self.ptr,
                    col as c_int,
                    first as i64 + 1,
                    1,
                    n as i64,
                    null,
                    out[at..].as_mut_ptr(),
                    &mut anynul,
                    &mut status,
                )
            };
            if status != 0 {
                return Err(self.fail(&format!("cannot read column {col}"), status));
            }
        }
        Ok(out)
    }

    /// Column `col` (1-based, a string column of `width` characters) as
    /// trimmed strings.
    pub fn read_strings(
        &mut self,
        col: usize,
        rows: usize,
        width: usize,
    ) -> anyhow::Result<Vec<String>> {
        if width > 1 << 16 {
            bail!(
                "'{}' HDU {}: column {col} holds strings of {width} characters",
                self.path.display(),
                self.hdu
            );
        }
        let stride = width + 1;
        let chunk = CHUNK_ROWS.min(rows.max(1));
        let mut buf = vec![0 as c_char; chunk * stride];
        let mut out = Vec::new();
        let empty = CString::default();
        for first in (0..rows).step_by(CHUNK_ROWS) {
            let n = CHUNK_ROWS.min(rows - first);
            buf.fill(0);
            let mut ptrs: Vec<*mut c_char> = buf
                .chunks_exact_mut(stride)
                .take(n)
                .map(|c| c.as_mut_ptr())
                .collect();
            let mut anynul = 0;
            let mut status = 0;
            // SAFETY: each of the `n` pointers has `width + 1` bytes, as
            // CFITSIO writes at most `width` characters and a NUL per cell.
            unsafe {
                sys::ffgcvs(
                    self.ptr,
                    col as c_int,
                    first as i64 + 1,
                    1,
                    n as i64,
                    empty.as_ptr() as *mut c_char,
                    ptrs.as_mut_ptr(),
                    &mut anynul,
                    &mut status,
                )
            };
            if status != 0 {
                return Err(self.fail(&format!("cannot read column {col}"), status));
            }
            for p in ptrs {
                // SAFETY: zero-filled and at most `width` bytes written: NUL-terminated.
                let s = unsafe { CStr::from_ptr(p) }.to_string_lossy();
                out.push(s.trim().to_string());
            }
        }
        Ok(out)
    }
}

impl Fits {
    /// Rows `r0..r0 + rows`, columns `c0..c0 + cols` of the current (2-D,
    /// plain or tile-compressed) image HDU as f64 physical values, row-major;
    /// undefined pixels (`BLANK`, NaN) are NaN.
    pub fn read_image_window(
        &mut self,
        r0: usize,
        c0: usize,
        rows: usize,
        cols: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let mut out = vec![f64::NAN; rows * cols];
        if out.is_empty() {
            return Ok(out);
        }
        let long = |v: usize| std::os::raw::c_long::try_from(v).unwrap_or(0);
        // FITS pixel numbers are 1-based, the first axis the column
        let mut blc = [long(c0 + 1), long(r0 + 1)];
        let mut trc = [long(c0 + cols), long(r0 + rows)];
        let mut inc = [1 as std::os::raw::c_long; 2];
        let mut nulval = f64::NAN;
        let mut anynul = 0;
        let mut status = 0;
        // SAFETY: valid handle at a 2-D image HDU; `out` holds exactly the
        // rows x cols values of the window CFITSIO writes (TDOUBLE).
        unsafe {
            sys::ffgsv(
                self.ptr,
                sys::TDOUBLE as c_int,
                blc.as_mut_ptr(),
                trc.as_mut_ptr(),
                inc.as_mut_ptr(),
                &mut nulval as *mut f64 as *mut std::ffi::c_void,
                out.as_mut_ptr() as *mut std::ffi::c_void,
                &mut anynul,
                &mut status,
            )
        };
        if status != 0 {
            return Err(self.fail(
                &format!(
                    "cannot read rows {r0}..{} columns {c0}..{}",
                    r0 + rows,
                    c0 + cols
                ),
                status,
            ));
        }
        Ok(out)
    }
}

/// Whether the file starts with the gzip magic bytes.
fn is_gzip(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == [0x1f, 0x8b]
}

/// What a header card is, by CFITSIO's classification (`fits_get_keyclass`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CardClass {
    /// Describes the HDU's structure (SIMPLE, BITPIX, NAXISn, XTENSION,
    /// PCOUNT, GCOUNT, EXTEND, TFIELDS, TTYPEn, TFORMn, ...).
    Structure,
    /// Tile-compression keywords (ZIMAGE, ZCMPTYPE, ZBITPIX, ZNAXISn, ZTILEn, ...).
    Compression,
    /// Pixel scaling (BSCALE, BZERO, TSCALn, TZEROn).
    Scaling,
    /// Null values (BLANK, TNULLn).
    Null,
    /// Data ranges (DATAMIN, DATAMAX, TLMINn, ...).
    Range,
    /// Units (BUNIT, TUNITn).
    Unit,
    /// HDU identity (EXTNAME, EXTVER, EXTLEVEL, HDUNAME, ...).
    HduId,
    /// CHECKSUM, DATASUM.
    Checksum,
    /// World coordinates (CTYPEn, CRPIXn, CRVALn, CDELTn, CDi_j, PCi_j, PVi_m, ...).
    Wcs,
    /// Reference system (RADESYS, EQUINOX, EPOCH, DATE-OBS, MJD-OBS).
    RefSystem,
    /// COMMENT, HISTORY and blank keywords.
    Commentary,
    /// CONTINUE (the rest of a long string).
    Continue,
    /// Table dimension or display keywords (TDIMn, TDISPn).
    TableLayout,
    /// Everything else (OBJECT, TELESCOP, EXPTIME, ...).
    User,
}

/// CFITSIO's class of an 80-character header card.
pub fn card_class(card: &str) -> CardClass {
    let mut c: Vec<c_char> = card.bytes().take(80).map(|b| b as c_char).collect();
    c.push(0);
    // SAFETY: `c` is a NUL-terminated card; ffgkcl only reads it.
    let class = unsafe { sys::ffgkcl(c.as_mut_ptr()) } as u32;
    match class {
        sys::TYP_STRUC_KEY => CardClass::Structure,
        sys::TYP_CMPRS_KEY => CardClass::Compression,
        sys::TYP_SCAL_KEY => CardClass::Scaling,
        sys::TYP_NULL_KEY => CardClass::Null,
        sys::TYP_RANG_KEY => CardClass::Range,
        sys::TYP_UNIT_KEY => CardClass::Unit,
        sys::TYP_HDUID_KEY => CardClass::HduId,
        sys::TYP_CKSUM_KEY => CardClass::Checksum,
        sys::TYP_WCS_KEY => CardClass::Wcs,
        sys::TYP_REFSYS_KEY => CardClass::RefSystem,
        sys::TYP_COMM_KEY => CardClass::Commentary,
        sys::TYP_CONT_KEY => CardClass::Continue,
        sys::TYP_DIM_KEY | sys::TYP_DISP_KEY => CardClass::TableLayout,
        _ => CardClass::User,
    }
}

/// The value and comment of a header card (`fits_parse_value`): the value
/// as written (strings keep their quotes), the comment without its slash.
pub fn card_value(card: &str) -> anyhow::Result<(String, String)> {
    let mut c: Vec<c_char> = card.bytes().take(80).map(|b| b as c_char).collect();
    c.push(0);
    let mut value = [0 as c_char; sys::FLEN_VALUE as usize];
    let mut comment = [0 as c_char; sys::FLEN_COMMENT as usize];
    let mut status = 0;
    // SAFETY: `c` is NUL-terminated; the outputs have the FLEN_VALUE and
    // FLEN_COMMENT bytes CFITSIO writes at most.
    unsafe {
        sys::ffpsvc(
            c.as_mut_ptr(),
            value.as_mut_ptr(),
            comment.as_mut_ptr(),
            &mut status,
        )
    };
    if status != 0 {
        bail!(
            "header card '{}': {}",
            card.trim_end(),
            cfitsio_message(status)
        );
    }
    // SAFETY: both NUL-terminated by CFITSIO (zero-initialised besides).
    let text = |b: &[c_char]| {
        unsafe { CStr::from_ptr(b.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    Ok((text(&value), text(&comment)))
}

impl Fits {
    /// Every card of the current HDU's header, in order, as CFITSIO reads
    /// them (the raw table header for a tile-compressed image), without END.
    pub fn header_cards(&mut self) -> anyhow::Result<Vec<String>> {
        let (mut n, mut more, mut status) = (0, 0, 0);
        // SAFETY: valid handle positioned at an HDU.
        unsafe { sys::ffghsp(self.ptr, &mut n, &mut more, &mut status) };
        if status != 0 {
            return Err(self.fail("cannot count the header cards", status));
        }
        let mut cards = Vec::with_capacity(n.max(0) as usize);
        for k in 1..=n {
            let mut card = [0 as c_char; sys::FLEN_CARD as usize];
            // SAFETY: `card` has the FLEN_CARD bytes CFITSIO writes at most.
            unsafe { sys::ffgrec(self.ptr, k, card.as_mut_ptr(), &mut status) };
            if status != 0 {
                return Err(self.fail(&format!("cannot read header card {k}"), status));
            }
            // SAFETY: NUL-terminated by CFITSIO.
            let s = unsafe { CStr::from_ptr(card.as_ptr()) }.to_string_lossy();
            cards.push(s.into_owned());
        }
        Ok(cards)
    }
}

/// A keyword value tessera writes.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyValue {
    /// A string (the long-string convention when over 68 characters).
    Str(String),
    /// A real, written with 17 significant digits (exact round trip);
    /// NaN and infinities are written as an undefined value.
    Real(f64),
    /// An integer.
    Int(i64),
    /// A logical.
    Bool(bool),
}

/// `s` with every character outside printable ASCII replaced by `?`: FITS
/// headers hold nothing else.
fn printable(s: &str) -> CString {
    let b: Vec<u8> = s
        .chars()
        .map(|c| {
            if (' '..='~').contains(&c) {
                c as u8
            } else {
                b'?'
            }
        })
        .collect();
    CString::new(b).expect("no NUL in printable ASCII")
}

/// A FITS file being written; closed on drop (errors then ignored: call
/// [`FitsWriter::close`] to see them).
pub struct FitsWriter {
    ptr: *mut sys::fitsfile,
    path: PathBuf,
    _serial: Option<MutexGuard<'static, ()>>,
}

impl Drop for FitsWriter {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            let mut status = 0;
            // SAFETY: `ptr` came from a successful ffdkinit and is closed once.
            unsafe { sys::ffclos(self.ptr, &mut status) };
        }
    }
}

impl FitsWriter {
    /// Creates `path`, which must not exist (CFITSIO never overwrites).
    pub fn create(path: &Path) -> anyhow::Result<FitsWriter> {
        let guard = serial();
        let name = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
            anyhow::anyhow!(
                "'{}': a path with a NUL byte cannot be created",
                path.display()
            )
        })?;
        let mut ptr = std::ptr::null_mut();
        let mut status = 0;
        // SAFETY: `name` is a NUL-terminated path; on success CFITSIO stores a
        // valid handle in `ptr`.
        unsafe { sys::ffdkinit(&mut ptr, name.as_ptr(), &mut status) };
        if status != 0 || ptr.is_null() {
            bail!(
                "cannot create FITS file '{}': {}",
                path.display(),
                cfitsio_message(status)
            );
        }
        Ok(FitsWriter {
            ptr,
            path: path.to_path_buf(),
            _serial: guard,
        })
    }

    fn check(&self, what: &str, status: c_int) -> anyhow::Result<()> {
        if status == 0 {
            return Ok(());
        }
        bail!(
            "writing '{}': {what}: {}",
            self.path.display(),
            cfitsio_message(status)
        )
    }

    /// Appends a 2-D image HDU of `rows` x `cols` pixels (the primary HDU
    /// when the file is empty); `bitpix` -32 or -64. Keywords and pixels
    /// then go to it.
    pub fn create_image(&mut self, bitpix: i32, rows: usize, cols: usize) -> anyhow::Result<()> {
        let long = |v: usize| std::os::raw::c_long::try_from(v).unwrap_or(0);
        let mut naxes = [long(cols), long(rows)];
        let mut status = 0;
        // SAFETY: valid handle; `naxes` holds the 2 axis lengths ffcrim reads.
        unsafe { sys::ffcrim(self.ptr, bitpix, 2, naxes.as_mut_ptr(), &mut status) };
        self.check("cannot create the image HDU", status)
    }

    /// Appends an 80-character header card as it is.
    pub fn write_card(&mut self, card: &str) -> anyhow::Result<()> {
        let c = printable(card);
        let mut status = 0;
        // SAFETY: valid handle; `c` is NUL-terminated.
        unsafe { sys::ffprec(self.ptr, c.as_ptr(), &mut status) };
        self.check(&format!("cannot write card '{}'", card.trim_end()), status)
    }

    /// Appends keyword `key` with `value` and `comment`.
    pub fn write_key(&mut self, key: &str, value: &KeyValue, comment: &str) -> anyhow::Result<()> {
        let k = printable(key);
        let c = printable(comment);
        let mut status = 0;
        // SAFETY (all arms): valid handle; key, comment and string values are
        // NUL-terminated and only read.
        match value {
            KeyValue::Str(s) => {
                let v = printable(s);
                unsafe { sys::ffpkls(self.ptr, k.as_ptr(), v.as_ptr(), c.as_ptr(), &mut status) }
            }
            KeyValue::Real(v) if v.is_finite() => unsafe {
                sys::ffpkyd(self.ptr, k.as_ptr(), *v, -17, c.as_ptr(), &mut status)
            },
            KeyValue::Real(_) => unsafe {
                sys::ffpkyu(self.ptr, k.as_ptr(), c.as_ptr(), &mut status)
            },
            KeyValue::Int(v) => unsafe {
                sys::ffpkyj(self.ptr, k.as_ptr(), *v, c.as_ptr(), &mut status)
            },
            KeyValue::Bool(v) => unsafe {
                sys::ffpkyl(
                    self.ptr,
                    k.as_ptr(),
                    c_int::from(*v),
                    c.as_ptr(),
                    &mut status,
                )
            },
        };
        self.check(&format!("cannot write keyword {key}"), status)
    }

    /// Appends HISTORY cards holding `text` (continued over several cards
    /// when longer than one).
    pub fn write_history(&mut self, text: &str) -> anyhow::Result<()> {
        let t = printable(text);
        let mut status = 0;
        // SAFETY: valid handle; `t` is NUL-terminated.
        unsafe { sys::ffphis(self.ptr, t.as_ptr(), &mut status) };
        self.check("cannot write HISTORY", status)
    }

    /// Appends the DATE keyword (the current UTC time).
    pub fn write_date(&mut self) -> anyhow::Result<()> {
        let mut status = 0;
        // SAFETY: valid handle.
        unsafe { sys::ffpdat(self.ptr, &mut status) };
        self.check("cannot write DATE", status)
    }

    /// Writes `pixels` (row-major, f32 or f64) into the current image from
    /// 0-based element `first` on.
    pub fn write_pixels<T: FitsPixel>(&mut self, first: usize, pixels: &[T]) -> anyhow::Result<()> {
        if pixels.is_empty() {
            return Ok(());
        }
        let mut status = 0;
        // SAFETY: valid handle at an image HDU; `pixels` holds `len` values of
        // the type T::CODE names, which CFITSIO only reads.
        unsafe {
            sys::ffppr(
                self.ptr,
                T::CODE as c_int,
                first as i64 + 1,
                pixels.len() as i64,
                pixels.as_ptr() as *mut std::ffi::c_void,
                &mut status,
            )
        };
        self.check(
            &format!("cannot write pixels {first}..{}", first + pixels.len()),
            status,
        )
    }

    /// Closes the file: every buffered block is written, and a full disk
    /// is an error here.
    pub fn close(mut self) -> anyhow::Result<()> {
        let ptr = std::mem::replace(&mut self.ptr, std::ptr::null_mut());
        let mut status = 0;
        // SAFETY: `ptr` is valid and closed once (Drop sees null).
        unsafe { sys::ffclos(ptr, &mut status) };
        self.check("cannot close the file", status)
    }
}

/// A pixel type CFITSIO writes: its datatype code.
pub trait FitsPixel: Copy {
    /// `TFLOAT` or `TDOUBLE`.
    const CODE: u32;
}

impl FitsPixel for f32 {
    const CODE: u32 = sys::TFLOAT;
}

impl FitsPixel for f64 {
    const CODE: u32 = sys::TDOUBLE;
}

/// Writes a copy of `src` whose table HDUs are tile-compressed
/// (`fits_compress_table`, what `fpack -table` writes), for tests.
#[cfg(test)]
pub fn compress_tables(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let mut input = Fits::open(src)?;
    let n = input.hdu_count()?;
    let out = FitsWriter::create(dst)?;
    let mut status = 0;
    // SAFETY: valid handle; an empty primary array (NAXIS = 0) reads no axes.
    unsafe { sys::ffcrim(out.ptr, 8, 0, std::ptr::null_mut(), &mut status) };
    out.check("cannot create the primary HDU", status)?;
    for hdu in 1..n {
        if input.move_to(hdu)?.is_table() {
            // SAFETY: both handles valid; input positioned at a binary table.
            unsafe { sys::fits_compress_table(input.ptr, out.ptr, &mut status) };
            out.check("cannot compress a table", status)?;
        }
    }
    out.close()
}
