//! The image job's input: a 2-D float dataset of an HDF5 file or a FITS
//! image HDU, read window by window (job-driver layer).

use std::path::Path;

use anyhow::{bail, Context};
use hdf5::types::TypeDescriptor;
use hdf5::H5Type;
use ndarray::s;

use crate::io::fits::{self, FitsHdu, FitsImage};
use crate::numeric::conv2d::{Real, Region, Shape2};

/// The pixel type the job computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelType {
    /// 32-bit float.
    F32,
    /// 64-bit float; integer and scaled FITS pixels are read as this.
    F64,
}

impl PixelType {
    /// `f32` or `f64`, as in the `/convolved` attribute `pixel_type`.
    pub fn name(self) -> &'static str {
        match self {
            PixelType::F32 => "f32",
            PixelType::F64 => "f64",
        }
    }
}

enum Source {
    H5(hdf5::Dataset),
    Fits(FitsImage),
}

/// An opened input image: its shape, type and where its pixels are.
pub struct InputImage {
    /// Image rows and columns.
    pub shape: Shape2,
    /// Type the pixels are read and convolved in.
    pub pixel: PixelType,
    /// "file 'x.h5', dataset '/image'" or "FITS file 'x.fits', HDU 0".
    pub what: String,
    source: Source,
}

impl InputImage {
    /// Opens and checks the input: a 2-D float dataset (integer ones with
    /// `convert`, read as f64) of an HDF5 file, or a FITS image HDU.
    pub fn open(
        path: &Path,
        dataset: &str,
        hdu: Option<&FitsHdu>,
        convert: bool,
    ) -> anyhow::Result<InputImage> {
        if !path.exists() {
            bail!("input file '{}' does not exist", path.display());
        }
        if fits::looks_like_fits(path) {
            let img = FitsImage::open_hdu(path, convert, hdu)?;
            let what = format!("FITS file '{}', HDU {}", path.display(), img.hdu);
            if img.rows == 0 || img.cols == 0 {
                bail!("{what}: the image is empty ({} x {})", img.rows, img.cols);
            }
            return Ok(InputImage {
                shape: Shape2::new(img.rows, img.cols),
                pixel: if img.is_f32() {
                    PixelType::F32
                } else {
                    PixelType::F64
                },
                what,
                source: Source::Fits(img),
            });
        }
        let what = format!("file '{}', dataset '{dataset}'", path.display());
        let f = hdf5::File::open(path).with_context(|| {
            format!(
                "cannot open input '{}' (neither HDF5 nor FITS?)",
                path.display()
            )
        })?;
        let ds = f
            .dataset(dataset)
            .with_context(|| format!("input {what}: no such dataset"))?;
        let shape = ds.shape();
        if shape.len() != 2 {
            bail!(
                "input {what}: {}-D dataset of shape {shape:?}; a 2-D image is needed",
                shape.len()
            );
        }
        if shape[0] == 0 || shape[1] == 0 {
            bail!(
                "input {what}: the image is empty ({} x {})",
                shape[0],
                shape[1]
            );
        }
        let desc = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .with_context(|| format!("input {what}: unreadable data type"))?;
        let pixel = match desc {
            TypeDescriptor::Float(hdf5::types::FloatSize::U4) => PixelType::F32,
            TypeDescriptor::Float(hdf5::types::FloatSize::U8) => PixelType::F64,
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) if convert => PixelType::F64,
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => bail!(
                "input {what}: integer pixels ({desc}); set convert = true (or --convert) to read them as f64"
            ),
            d => bail!("input {what}: unsupported pixel type {d}; float32 or float64 needed"),
        };
        Ok(InputImage {
            shape: Shape2::new(shape[0], shape[1]),
            pixel,
            what,
            source: Source::H5(ds),
        })
    }

    /// The pixels of window `w` (image coordinates), row-major.
    pub fn read_window<T: Real + H5Type>(&self, w: Region) -> anyhow::Result<Vec<T>> {
        if w.is_empty() {
            return Ok(Vec::new());
        }
        match &self.source {
            Source::H5(ds) => {
                let a = ds
                    .read_slice_2d::<T, _>(s![w.row0..w.row0 + w.rows, w.col0..w.col0 + w.cols])
                    .with_context(|| format!("reading input {}", self.what))?;
                let (v, _) = a.into_raw_vec_and_offset();
                Ok(v)
            }
            Source::Fits(img) => {
                let mut v = Vec::with_capacity(w.len());
                img.read_window(w.row0, w.col0, w.rows, w.cols, |x| v.push(T::of_f64(x)))?;
                Ok(v)
            }
        }
    }
}
