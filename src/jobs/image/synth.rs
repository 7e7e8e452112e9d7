//! `tessera synth image`: synthetic test images with known answers
//! (job-driver layer), written as HDF5 or FITS band by band.

use std::path::PathBuf;

use anyhow::Context;
use hdf5::H5Type;
use ndarray::{s, ArrayView2};

use crate::io::fits;
use crate::io::output::{self, AtomicFile, AtomicH5};
use crate::numeric::conv2d::Real;
use crate::numeric::philox::PhiloxStream;
use crate::say0;

/// Kinds of synthetic images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthKind {
    /// The lecture's delta grid: 1 at `[8::16, 8::16]`, else 0.
    Deltas,
    /// Uniform (0, 1) from Philox stream `row` under `seed`.
    Random,
    /// `(r + 2 c) / (rows + 2 cols)`.
    Gradient,
}

/// Pixel `(r, c)` of a synthetic image (row `r` of `Random` drawn in order).
fn synth_row(kind: SynthKind, seed: u64, r: usize, rows: usize, cols: usize, out: &mut Vec<f64>) {
    out.clear();
    match kind {
        SynthKind::Deltas => {
            out.extend((0..cols).map(|c| if r % 16 == 8 && c % 16 == 8 { 1.0 } else { 0.0 }))
        }
        SynthKind::Random => {
            let mut s = PhiloxStream::new(seed, r as u64);
            out.extend((0..cols).map(|_| s.next_unit()));
        }
        SynthKind::Gradient => {
            let d = (rows + 2 * cols) as f64;
            out.extend((0..cols).map(|c| (r as f64 + 2.0 * c as f64) / d));
        }
    }
}

/// Validated `synth image` arguments.
#[derive(Clone, Debug)]
pub struct SynthImage {
    /// What the image shows.
    pub kind: SynthKind,
    /// Image rows.
    pub rows: usize,
    /// Image columns.
    pub cols: usize,
    /// "f32", "f64" or "i16" (integers: round(1000 * value)).
    pub dtype: String,
    /// Seed of the `Random` kind's Philox streams.
    pub seed: u64,
    /// Output file.
    pub out: PathBuf,
    /// HDF5 dataset to write the image to (unused for FITS).
    pub dataset: String,
    /// Write a FITS primary image instead of HDF5.
    pub fits: bool,
}

/// Writes the synthetic image band by band (at most 256 rows in memory),
/// under a temporary name renamed when complete.
pub fn synth(s: &SynthImage) -> anyhow::Result<()> {
    const BAND: usize = 256;
    let mut row = Vec::with_capacity(s.cols);
    if s.fits {
        let pixel_bytes: u64 = if s.dtype == "i16" {
            2
        } else if s.dtype == "f32" {
            4
        } else {
            8
        };
        let mut out =
            AtomicFile::create_reserved(&s.out, (s.rows * s.cols) as u64 * pixel_bytes + 5760)?;
        let bitpix = match s.dtype.as_str() {
            "f32" => -32,
            "f64" => -64,
            _ => 16,
        };
        fits::write_image(out.writer(), bitpix, s.rows, s.cols, |r, buf| {
            synth_row(s.kind, s.seed, r, s.rows, s.cols, &mut row);
            for &v in &row {
                match bitpix {
                    -32 => buf.extend_from_slice(&(v as f32).to_be_bytes()),
                    -64 => buf.extend_from_slice(&v.to_be_bytes()),
                    _ => buf.extend_from_slice(&((v * 1000.0).round() as i16).to_be_bytes()),
                }
            }
        })
        .with_context(|| format!("writing '{}'", s.out.display()))?;
        out.commit()?;
        return Ok(());
    }
    let bytes_per_pixel: u64 = if s.dtype == "i16" {
        2
    } else if s.dtype == "f32" {
        4
    } else {
        8
    };
    let out = AtomicH5::create_reserved(&s.out, (s.rows * s.cols) as u64 * bytes_per_pixel)?;
    let chunk = [s.rows.min(BAND), s.cols.min(BAND)];
    fn write_bands<U: H5Type + Copy>(
        ds: &hdf5::Dataset,
        s: &SynthImage,
        row: &mut Vec<f64>,
        conv: impl Fn(f64) -> U,
    ) -> anyhow::Result<()> {
        let mut band: Vec<U> = Vec::with_capacity(BAND * s.cols);
        for r0 in (0..s.rows).step_by(BAND) {
            let r1 = (r0 + BAND).min(s.rows);
            band.clear();
            for r in r0..r1 {
                synth_row(s.kind, s.seed, r, s.rows, s.cols, row);
                band.extend(row.iter().map(|&v| conv(v)));
            }
            let view = ArrayView2::from_shape((r1 - r0, s.cols), &band)?;
            ds.write_slice(view, s![r0..r1, ..])?;
        }
        Ok(())
    }
    let f = out.file();
    let name = s.dataset.trim_start_matches('/');
    let (kind, dtype) = (s.kind, s.dtype.as_str());
    match dtype {
        "f32" => {
            let ds = f
                .new_dataset::<f32>()
                .shape([s.rows, s.cols])
                .chunk(chunk)
                .create(name)?;
            write_bands(&ds, s, &mut row, |v| v as f32)?;
        }
        "f64" => {
            let ds = f
                .new_dataset::<f64>()
                .shape([s.rows, s.cols])
                .chunk(chunk)
                .create(name)?;
            write_bands(&ds, s, &mut row, |v| v)?;
        }
        _ => {
            let ds = f
                .new_dataset::<i16>()
                .shape([s.rows, s.cols])
                .chunk(chunk)
                .create(name)?;
            write_bands(&ds, s, &mut row, |v| (v * 1000.0).round() as i16)?;
        }
    }
    let ds = f.dataset(name)?;
    output::attr_str(&ds, "kind", &format!("{kind:?}").to_lowercase())?;
    ds.new_attr::<u64>().create("seed")?.write_scalar(&s.seed)?;
    let path = out.commit()?;
    say0!(
        "synth: wrote {:?} image {} x {} ({}) to {}",
        kind,
        s.rows,
        s.cols,
        dtype,
        path.display()
    );
    Ok(())
}

/// The synthetic image in memory (for benchmarks and tests).
pub fn synth_in_memory<T: Real>(kind: SynthKind, seed: u64, rows: usize, cols: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(rows * cols);
    let mut row = Vec::with_capacity(cols);
    for r in 0..rows {
        synth_row(kind, seed, r, rows, cols, &mut row);
        v.extend(row.iter().map(|&x| T::of_f64(x)));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_follow_the_lecture_grid() {
        let v = synth_in_memory::<f64>(SynthKind::Deltas, 0, 32, 32);
        assert_eq!(v.iter().sum::<f64>(), 4.0);
        assert_eq!(v[8 * 32 + 8], 1.0);
        assert_eq!(v[24 * 32 + 24], 1.0);
    }
}
