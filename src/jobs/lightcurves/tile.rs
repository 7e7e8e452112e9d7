//! One tile of objects: read, processed on the rank's rayon pool (and the
//! single-band periodograms optionally batched on the GPU) into rows
//! (job-driver layer).

use rayon::prelude::*;

use crate::gpu::lombscargle::{lomb_scargle_batch_gpu, LightCurveBatch};
use crate::gpu::GpuDevice;
use crate::io::lcfile::Ragged;
use crate::io::source::LcSource;
use crate::numeric::lightcurve::clean::{clean, CleanScratch, LcBuf};
use crate::numeric::lightcurve::columns::TOO_MANY_POINTS;
use crate::numeric::lightcurve::object::{
    band_points, process_object, GivenPower, ObjectOptions, ObjectRows, ObjectScratch, Observations,
};
use crate::numeric::periodogram::{autofrequency, FreqGrid};

/// The rows of one tile.
pub struct TileRows {
    /// Index of the tile's first object in the file.
    pub first_object: usize,
    /// Objects in the tile.
    pub objects: usize,
    /// `objects * (bands + 1)` rows of `ncols` values.
    pub values: Vec<f64>,
    /// One reason code per row.
    pub reasons: Vec<u8>,
    /// Observations dropped for their quality flags, per row (the multi
    /// row: all bands); empty when the input has no flags.
    pub flagged: Vec<u32>,
    /// `objects * (bands + 1)` stored-periodogram records (empty when none
    /// are kept).
    pub stored: Vec<f64>,
}

/// Reads and processes the objects of tile `t` (`tile` objects each for an
/// HDF5 input; at most `tile` rows of one row group, or one flat file, for a
/// table) with the current rayon
/// pool. With `device`, the single-band periodograms of all the tile's
/// (object, band) curves are computed first in one batched GPU call (direct
/// method, [`lomb_scargle_batch_gpu`]) and handed to [`process_object`];
/// cleaning, features, peaks, FAP, refinement, folding, structure functions
/// and the multiband periodogram stay on the CPU.
///
/// Memory is bounded by `opts.max_points`, not by the data: from an HDF5
/// file the offsets are read first and an object with more observations is
/// never read (its rows are NaN with [`TOO_MANY_POINTS`]); the others are
/// read and processed in runs of at most `max_points` observations. (A
/// table's tile is read whole, then processed the same way.) Every object
/// is processed alone, so the rows do not depend on how the tile was split.
pub fn process_tile(
    opts: &ObjectOptions,
    input: &LcSource,
    t: usize,
    tile: usize,
    ncols: usize,
    device: Option<&GpuDevice>,
) -> anyhow::Result<TileRows> {
    let objects = input.tile_objects(t, tile);
    let (first, n) = (objects.start, objects.len());
    let bands = input.band_names().len();
    let per = (bands + 1) * ncols;
    let sper = (bands + 1) * opts.stored_width();
    let mut out = TileRows {
        first_object: first,
        objects: n,
        values: vec![f64::NAN; n * per],
        reasons: vec![TOO_MANY_POINTS; n * (bands + 1)],
        flagged: if input.has_flags() {
            vec![0; n * (bands + 1)]
        } else {
            Vec::new()
        },
        stored: vec![f64::NAN; n * sper],
    };
    let mut process = |run: std::ops::Range<usize>, data: &Ragged| -> anyhow::Result<()> {
        let power = device
            .map(|dev| tile_power(opts, data, bands, |b| lomb_scargle_batch_gpu::<f64>(dev, b)))
            .transpose()?;
        let (v, r, st) = process_objects(opts, data, bands, ncols, power.as_ref());
        out.values[run.start * per..run.end * per].copy_from_slice(&v);
        out.stored[run.start * sper..run.end * sper].copy_from_slice(&st);
        out.reasons[run.start * (bands + 1)..run.end * (bands + 1)].copy_from_slice(&r);
        Ok(())
    };
    match input {
        LcSource::H5(file) => {
            let offsets = file.read_offsets(first, first + n)?;
            for run in point_runs(&offsets, opts.max_points) {
                let data = file.read_objects(first + run.start, first + run.end)?;
                process(run, &data)?;
            }
        }
        LcSource::Table(table) => {
            let data = table.read_tile(t)?;
            for run in point_runs(&data.offsets, opts.max_points) {
                process(run.clone(), &data.slice(run, bands))?;
            }
            if !out.flagged.is_empty() {
                for i in 0..n {
                    let counts = &data.flagged[i * bands..(i + 1) * bands];
                    let rows = &mut out.flagged[i * (bands + 1)..(i + 1) * (bands + 1)];
                    rows[..bands].copy_from_slice(counts);
                    rows[bands] = counts.iter().sum();
                }
            }
        }
    }
    Ok(out)
}

/// Runs of consecutive objects (local indices, from the tile's `offsets`)
/// holding at most `max_points` observations each; objects with more than
/// `max_points` observations belong to no run.
pub fn point_runs(offsets: &[u64], max_points: usize) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut points = 0u64;
    for i in 0..offsets.len().saturating_sub(1) {
        let n = offsets[i + 1].saturating_sub(offsets[i]);
        if n > max_points as u64 {
            if start < i {
                runs.push(start..i);
            }
            start = i + 1;
            points = 0;
            continue;
        }
        if points + n > max_points as u64 && start < i {
            runs.push(start..i);
            start = i;
            points = 0;
        }
        points += n;
    }
    let objects = offsets.len().saturating_sub(1);
    if start < objects {
        runs.push(start..objects);
    }
    runs
}

thread_local! {
    /// Each thread's scratch for [`process_objects`]; contents never carry over between
    /// objects (every buffer is overwritten), only capacity and FFT plans do.
    static SCRATCH: std::cell::RefCell<ObjectScratch> = std::cell::RefCell::new(ObjectScratch::default());
}

/// The rows, reason codes and stored-periodogram records of every object
/// of `data` (with the current rayon pool), the single-band power taken
/// from `power` when given.
pub fn process_objects(
    opts: &ObjectOptions,
    data: &Ragged,
    bands: usize,
    ncols: usize,
    power: Option<&TilePower>,
) -> (Vec<f64>, Vec<u8>, Vec<f64>) {
    let objects = data.objects();
    let per = (bands + 1) * ncols;
    let sper = (bands + 1) * opts.stored_width();
    let mut values = vec![f64::NAN; objects * per];
    let mut reasons = vec![0u8; objects * (bands + 1)];
    let mut stored = vec![f64::NAN; objects * sper];
    let given = power.map(TilePower::given);
    // with no stored periodograms every object gets an empty record
    let records: Vec<&mut [f64]> = if sper == 0 {
        (0..objects).map(|_| &mut [][..]).collect()
    } else {
        stored.chunks_mut(sper).collect()
    };
    values
        .par_chunks_mut(per)
        .zip(reasons.par_chunks_mut(bands + 1))
        .zip(records)
        .enumerate()
        .for_each(|(i, ((rows, why), record))| {
            // one scratch per thread for the whole run: rayon's `for_each_init` would
            // build a fresh one (FFT plans, pair buffers) for every piece of work it splits
            SCRATCH.with_borrow_mut(|ws| {
                let obs = observations(data, i);
                let out = ObjectRows {
                    values: rows,
                    reasons: why,
                    stored: record,
                };
                process_object(
                    opts,
                    obs,
                    bands,
                    given.as_ref().map(|g| &g[i * bands..(i + 1) * bands]),
                    ws,
                    out,
                );
            })
        });
    (values, reasons, stored)
}

/// The single-band periodograms of one tile, computed on the GPU.
pub struct TilePower {
    /// Per (object, band), `object * bands + band`: the curve's index in
    /// the batch, if it was cleaned and has a frequency grid.
    slots: Vec<Option<usize>>,
    /// Flat power of every curve of the batch, and where each starts.
    power: Vec<f64>,
    offsets: Vec<usize>,
    /// Whether curve `c` had a periodogram (3+ points, not constant).
    has_power: Vec<bool>,
}

impl TilePower {
    /// The [`GivenPower`] of every (object, band), `object * bands + band`.
    pub fn given(&self) -> Vec<GivenPower<'_>> {
        self.slots
            .iter()
            .map(|slot| {
                slot.filter(|&c| self.has_power[c])
                    .map(|c| &self.power[self.offsets[c]..self.offsets[c + 1]])
            })
            .collect()
    }
}

/// Cleans every band of every object of a tile (on the rayon pool, with the
/// same [`clean`] that [`process_object`] runs, so the same curves and
/// frequency grids) and computes all their generalised Lomb-Scargle
/// periodograms in one batched call of `periodograms`: on the GPU
/// `lomb_scargle_batch_gpu::<f64>` (direct method; within 1e-5 of the
/// CPU's, see docs/gpu.md), in tests its CPU twin. Host memory: 8 bytes per
/// frequency of every curve of the tile.
pub fn tile_power(
    opts: &ObjectOptions,
    data: &Ragged,
    bands: usize,
    periodograms: impl FnOnce(&LightCurveBatch) -> anyhow::Result<Vec<f64>>,
) -> anyhow::Result<TilePower> {
    struct Cleaned {
        band: usize,
        curve: LcBuf,
        grid: FreqGrid,
    }
    let per_object: Vec<Vec<Cleaned>> = (0..data.objects())
        .into_par_iter()
        .map_init(
            || (CleanScratch::default(), Vec::new(), Vec::new(), Vec::new()),
            |(scratch, time, mag, err), i| {
                let obs = observations(data, i);
                let mut out = Vec::new();
                for b in 0..bands {
                    band_points(obs, b, time, mag, err);
                    if time.is_empty() {
                        continue;
                    }
                    let mut curve = LcBuf::default();
                    if clean(time, mag, err, &opts.clean, scratch, &mut curve).is_err() {
                        continue;
                    }
                    // a grid past the bound is the row's grid_too_large, never computed
                    let grid = autofrequency(&curve.t, &opts.grid)
                        .filter(|g| g.n <= opts.max_frequencies)
                        .filter(|_| {
                            curve
                                .t
                                .last()
                                .zip(curve.t.first())
                                .is_none_or(|(l, f)| l - f <= opts.max_baseline)
                        });
                    if let Some(grid) = grid {
                        out.push(Cleaned {
                            band: b,
                            curve,
                            grid,
                        });
                    }
                }
                out
            },
        )
        .collect();
    let mut batch = LightCurveBatch {
        offsets: vec![0],
        ..Default::default()
    };
    let mut slots = vec![None; per_object.len() * bands];
    for (i, cleaned) in per_object.into_iter().enumerate() {
        for c in cleaned {
            slots[i * bands + c.band] = Some(batch.curves());
            batch.t.extend_from_slice(&c.curve.t);
            batch.y.extend_from_slice(&c.curve.m);
            batch.dy.extend_from_slice(&c.curve.e);
            batch.offsets.push(batch.t.len());
            batch.grids.push(c.grid);
        }
    }
    let power = if batch.curves() == 0 {
        Vec::new()
    } else {
        periodograms(&batch)?
    };
    anyhow::ensure!(
        power.len() == batch.power_offsets()[batch.curves()],
        "batched periodogram: {} powers for {} frequencies",
        power.len(),
        batch.power_offsets()[batch.curves()]
    );
    Ok(TilePower {
        slots,
        power,
        offsets: batch.power_offsets(),
        has_power: (0..batch.curves()).map(|c| batch.has_power(c)).collect(),
    })
}

/// The observations of object `i` of a tile.
fn observations(data: &Ragged, i: usize) -> Observations<'_> {
    let r = data.range(i);
    Observations {
        time: &data.time[r.clone()],
        mag: &data.mag[r.clone()],
        err: &data.err[r.clone()],
        band: &data.band[r],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::lombscargle::lomb_scargle_batch_cpu;
    use crate::numeric::lightcurve::columns::RowLayout;
    use crate::numeric::lightcurve::Reason;
    use crate::numeric::synth::{synth_curve, SynthParams};

    use crate::jobs::lightcurves::config::tests::config;

    /// Synthetic objects in 3 bands, a few of them too short to clean.
    fn objects(n: u64) -> Ragged {
        let p = SynthParams {
            seed: 5,
            epochs: 30,
            outlier_fraction: 0.02,
            ..Default::default()
        };
        let mut data = Ragged::new();
        for i in 0..n {
            let mut c = synth_curve(&p, i);
            if i % 9 == 4 {
                c.time.truncate(4); // too few points in every band
            }
            let k = c.time.len();
            data.time.extend(&c.time);
            data.mag.extend(&c.mag[..k]);
            data.err.extend(&c.err[..k]);
            data.band.extend(&c.band[..k]);
            data.push_object(format!("obj{i}"), c.period);
        }
        data
    }

    /// Runs cover every object within the bound, in order, each run within
    /// the bound; objects past it are in none (checked against a naive scan).
    #[test]
    fn point_runs_skip_large_objects_and_respect_the_bound() {
        let lengths = [3u64, 4, 0, 11, 2, 2, 5, 10, 1, 12, 1];
        let mut offsets = vec![0u64];
        for n in lengths {
            offsets.push(offsets.last().unwrap() + n);
        }
        for max in [1usize, 4, 5, 10, 11, 100] {
            let runs = point_runs(&offsets, max);
            let covered: Vec<usize> = runs.iter().flat_map(|r| r.clone()).collect();
            let expected: Vec<usize> = (0..lengths.len())
                .filter(|&i| lengths[i] <= max as u64)
                .collect();
            assert_eq!(covered, expected, "max {max}: {runs:?}");
            for r in &runs {
                let pts: u64 = lengths[r.clone()].iter().sum();
                assert!(pts <= max as u64, "max {max}: run {r:?} has {pts}");
                assert!(!r.is_empty());
            }
        }
        assert_eq!(point_runs(&[0], 10), Vec::<std::ops::Range<usize>>::new());
    }

    /// The GPU hook-up without a GPU: the tile's curves batched, their power
    /// computed by the GPU's CPU twin and handed to `process_object` give
    /// the rows of the CPU direct method: features and reasons bit for bit,
    /// periodogram columns within the twin's rounding (the best and refined
    /// periods equal).
    #[test]
    fn batched_power_gives_the_rows_of_the_cpu_direct_method() {
        let cfg = config("direct");
        let data = objects(40);
        let bands = 3;
        let ncols = cfg.object.layout(bands).width();
        let (cpu, cpu_why, _) = process_objects(&cfg.object, &data, bands, ncols, None);
        let power = tile_power(&cfg.object, &data, bands, lomb_scargle_batch_cpu).unwrap();
        assert!(power.given().iter().filter(|g| g.is_some()).count() > 80);
        let (twin, twin_why, _) = process_objects(&cfg.object, &data, bands, ncols, Some(&power));
        assert_eq!(cpu_why, twin_why);
        assert!(cpu_why.contains(&Reason::TooFewPoints.code()));
        let base = RowLayout::PERIOD;
        let mut max_dp = 0.0f64;
        for (r, (a, b)) in cpu.chunks(ncols).zip(twin.chunks(ncols)).enumerate() {
            let same = |x: f64, y: f64| x.to_bits() == y.to_bits();
            for k in 0..base {
                assert!(same(a[k], b[k]), "row {r} column {k}: {} vs {}", a[k], b[k]);
            }
            // period and refined period equal, powers close
            assert!(
                same(a[base], b[base]),
                "row {r}: period {} vs {}",
                a[base],
                b[base]
            );
            assert!(same(a[base + 3], b[base + 3]), "row {r}: refined period");
            if a[base + 1].is_finite() {
                max_dp = max_dp.max((a[base + 1] - b[base + 1]).abs());
            }
            for k in base..ncols {
                let rel = (a[k] - b[k]).abs() / a[k].abs().max(1e-300);
                assert!(
                    same(a[k], b[k]) || rel < 1e-6,
                    "row {r} column {k}: {} vs {}",
                    a[k],
                    b[k]
                );
            }
        }
        eprintln!("batched twin vs CPU direct: max |dP| of the best peak {max_dp:.1e}");
        assert!(max_dp <= 1e-9, "{max_dp:e}");
    }

    /// With the fast method the CPU computes single-band power itself; given
    /// power replaces it for the bands only, the multiband row stays the same.
    #[test]
    fn given_power_leaves_the_multiband_row_to_the_cpu() {
        let cfg = config("fast");
        let data = objects(12);
        let ncols = cfg.object.layout(3).width();
        let (cpu, _, _) = process_objects(&cfg.object, &data, 3, ncols, None);
        let power = tile_power(&cfg.object, &data, 3, lomb_scargle_batch_cpu).unwrap();
        let (twin, _, _) = process_objects(&cfg.object, &data, 3, ncols, Some(&power));
        for (a, b) in cpu.chunks(4 * ncols).zip(twin.chunks(4 * ncols)) {
            let multi = 3 * ncols..4 * ncols;
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a[multi.clone()]), bits(&b[multi]));
        }
    }
}
