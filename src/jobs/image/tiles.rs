//! Convolution of a batch of image tiles on the rank's rayon pool, or tile
//! by tile through a padded-tile convolver such as the GPU's (job-driver
//! layer).

use anyhow::Context;
use rayon::prelude::*;

use crate::gpu::conv::{ConvTimings, PaddedShape};
use crate::numeric::conv2d::{
    convolve_region, extended_tile, ConvError, ConvMethod, ConvScratch, Real, Region, Shape2,
};
use crate::numeric::pixel_stats::{pixel_stats, PixelStats};

use super::config::ImageConfig;

/// Code stored per tile for the method that convolved it.
pub(super) fn method_code(m: ConvMethod) -> f64 {
    match m {
        ConvMethod::Naive => 0.0,
        ConvMethod::Direct => 1.0,
        ConvMethod::Fft => 2.0,
        ConvMethod::Auto => 3.0,
    }
}

/// ConvMethod code of a tile convolved on the GPU (direct method).
pub(super) const GPU_DIRECT: f64 = 4.0;

/// One tile's result: the pixels and their statistics.
pub(super) struct TileResult<T> {
    /// The tile's place in the output image.
    pub tile: Region,
    /// Convolved pixels, row-major, `tile.rows * tile.cols`.
    pub pixels: Vec<T>,
    /// Statistics of `pixels` (non-NaN ones).
    pub stats: PixelStats,
    /// Method that convolved the tile (what `auto` chose).
    pub method: ConvMethod,
}

/// Convolves a batch of tiles (with their input windows already read) on
/// the pool, one workspace per worker.
pub(super) fn convolve_batch<T: Real + Send + Sync>(
    batch: Vec<(Region, Region, Vec<T>)>,
    cfg: &ImageConfig,
    image: Shape2,
    kernel: &[T],
    pool: &rayon::ThreadPool,
) -> Result<Vec<TileResult<T>>, ConvError> {
    pool.install(|| {
        batch
            .into_par_iter()
            .map_init(ConvScratch::<T>::new, |ws, (tile, window, src)| {
                let mut pixels = vec![T::zero(); tile.len()];
                let method = convolve_region(
                    &src,
                    window,
                    image,
                    kernel,
                    cfg.kernel.shape,
                    cfg.mode,
                    cfg.boundary,
                    tile,
                    &mut pixels,
                    cfg.method,
                    ws,
                )?;
                let stats = pixel_stats(&pixels);
                Ok(TileResult {
                    tile,
                    pixels,
                    stats,
                    method,
                })
            })
            .collect()
    })
}

/// Convolves a batch of tiles as padded tiles: each tile's boundary-extended
/// input (tile plus halo, as the CPU's direct method builds it) is made on
/// the pool, convolved by `convolve` one tile after another (on the GPU:
/// [`crate::gpu::conv::convolve_padded_gpu`], the direct method), and its
/// statistics are taken on the pool. Adds the transfer and kernel times to `timings`.
#[allow(clippy::type_complexity)]
pub(super) fn convolve_batch_padded<T: Real + Send + Sync>(
    batch: Vec<(Region, Region, Vec<T>)>,
    cfg: &ImageConfig,
    image: Shape2,
    kernel: &[T],
    pool: &rayon::ThreadPool,
    mut convolve: impl FnMut(&[T], &[T], PaddedShape) -> anyhow::Result<(Vec<T>, ConvTimings)>,
    timings: &mut ConvTimings,
) -> anyhow::Result<Vec<TileResult<T>>> {
    let kshape = cfg.kernel.shape;
    let padded = pool.install(|| {
        batch
            .into_par_iter()
            .map(|(tile, window, src)| {
                extended_tile(&src, window, image, kshape, cfg.mode, cfg.boundary, tile)
                    .map(|ext| (tile, ext))
            })
            .collect::<Result<Vec<_>, ConvError>>()
    })?;
    let mut convolved = Vec::with_capacity(padded.len());
    for (tile, ext) in padded {
        let shape = PaddedShape {
            rows: tile.rows,
            cols: tile.cols,
            kh: kshape.rows,
            kw: kshape.cols,
        };
        let (pixels, t) = convolve(&ext, kernel, shape)
            .with_context(|| format!("convolving tile {tile:?} on the GPU"))?;
        timings.h2d += t.h2d;
        timings.kernel += t.kernel;
        timings.d2h += t.d2h;
        timings.strips += t.strips;
        convolved.push((tile, pixels));
    }
    Ok(pool.install(|| {
        convolved
            .into_par_iter()
            .map(|(tile, pixels)| TileResult {
                tile,
                stats: pixel_stats(&pixels),
                pixels,
                method: ConvMethod::Direct,
            })
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Layered;
    use crate::jobs::image::synth::{synth_in_memory, SynthKind};
    use crate::jobs::pool::build_pool;
    use crate::numeric::conv2d::{input_window, output_shape, tile_grid, Boundary, ConvMode};
    use toml::Value;

    /// The GPU hook-up without a GPU: tiles padded by `extended_tile` and
    /// convolved by the GPU kernel's CPU twin give the CPU direct method's
    /// tiles for every mode and boundary, bit for bit where both use FMA
    /// (required: 1e-13 relative to the output's scale).
    #[test]
    fn padded_tiles_through_the_twin_match_the_direct_method() {
        use crate::gpu::conv::convolve_padded_cpu;
        let pool = build_pool(2).unwrap();
        let image = Shape2::new(45, 38);
        let img = synth_in_memory::<f64>(SynthKind::Random, 4, image.rows, image.cols);
        for (kspec, tile) in [("gaussian:1.5:7", 16), ("radial:15", 11), ("box:3", 64)] {
            for mode in [ConvMode::Full, ConvMode::Same, ConvMode::Valid] {
                for boundary in [Boundary::Zero, Boundary::Reflect, Boundary::Nearest] {
                    let mut l = Layered::default();
                    l.set("input", Value::String("unused.h5".into()), "test");
                    l.set("kernel", Value::String(kspec.into()), "test");
                    l.set("method", Value::String("direct".into()), "test");
                    let mut cfg = ImageConfig::from_layered(&l).unwrap();
                    (cfg.mode, cfg.boundary, cfg.tile) = (mode, boundary, tile);
                    let k = cfg.kernel.data.clone();
                    let oshape = output_shape(image, cfg.kernel.shape, mode).unwrap();
                    let batch = || -> Vec<(Region, Region, Vec<f64>)> {
                        tile_grid(oshape, tile, tile)
                            .into_iter()
                            .map(|t| {
                                let w = input_window(image, cfg.kernel.shape, mode, boundary, t)
                                    .unwrap();
                                let src = (0..w.rows)
                                    .flat_map(|r| {
                                        let a = (w.row0 + r) * image.cols + w.col0;
                                        img[a..a + w.cols].to_vec()
                                    })
                                    .collect();
                                (t, w, src)
                            })
                            .collect()
                    };
                    let direct = convolve_batch(batch(), &cfg, image, &k, &pool).unwrap();
                    let mut times = ConvTimings::default();
                    let twin = convolve_batch_padded(
                        batch(),
                        &cfg,
                        image,
                        &k,
                        &pool,
                        |e, k, s| Ok((convolve_padded_cpu(e, k, s), ConvTimings::default())),
                        &mut times,
                    )
                    .unwrap();
                    assert_eq!(direct.len(), twin.len());
                    for (a, b) in direct.iter().zip(&twin) {
                        assert_eq!(a.tile, b.tile);
                        let scale = a.pixels.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
                        let d = a
                            .pixels
                            .iter()
                            .zip(&b.pixels)
                            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
                        assert!(
                            d <= 1e-13 * scale,
                            "{kspec} {mode:?} {boundary:?} tile {:?}: {d:e}",
                            a.tile
                        );
                    }
                }
            }
        }
    }
}
