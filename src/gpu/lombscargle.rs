//! Batched Lomb-Scargle periodograms on the GPU (job-driver layer): many
//! light curves of different lengths, each with its own frequency grid, in
//! one launch per memory chunk. CPU twin: [`lomb_scargle_batch_cpu`], built
//! on [`crate::numeric::periodogram::gpu_twin`].
//!
//! Tolerance: in f64 the power is within 1e-5 absolute of the CPU twin (the
//! test asserts it and prints the measured difference; both reduce the phase
//! to [-1/2, 1/2] turns, so only summation order and sincospi vs sin_cos
//! differ). In f32 the kernel forms CC, SS, CS in a covariance form from
//! the half angle (no cancellation near zero frequency) and finishes in
//! f64; a phase `f dt` of thousands of turns keeps only ~1e-4 turns, so
//! power errors are of order 1e-3 on long baselines ([`F32_TOLERANCE`]).

use crate::gpu::chunks;
use crate::gpu::launch::{self, LsBatch, LsReal, LS_MAX_CURVES_PER_LAUNCH};
use crate::gpu::{cuda, GpuDevice};
use crate::numeric::periodogram::gpu_twin::{power_prepared, prepare, PreparedCurve};
use crate::numeric::periodogram::FreqGrid;

/// Light curves flattened: curve `c` is `t/y/dy[offsets[c]..offsets[c+1]]`
/// with frequency grid `grids[c]`.
#[derive(Clone, Debug, Default)]
pub struct LightCurveBatch {
    /// `curves + 1` prefix sums of the point counts.
    pub offsets: Vec<usize>,
    /// Times, curve after curve.
    pub t: Vec<f64>,
    /// Magnitudes, curve after curve.
    pub y: Vec<f64>,
    /// Empty for equal weights.
    pub dy: Vec<f64>,
    /// Frequency grid of each curve.
    pub grids: Vec<FreqGrid>,
}

impl LightCurveBatch {
    /// Number of curves.
    pub fn curves(&self) -> usize {
        self.grids.len()
    }

    /// Where curve `c`'s power starts in the flat output, and the total.
    pub fn power_offsets(&self) -> Vec<usize> {
        let mut o = Vec::with_capacity(self.curves() + 1);
        o.push(0);
        for g in &self.grids {
            o.push(o.last().copied().unwrap_or(0) + g.n);
        }
        o
    }

    /// Whether curve `c` gets a periodogram: 3 or more points and not
    /// constant (else its power is all zero, on the GPU and in the CPU twin).
    pub fn has_power(&self, c: usize) -> bool {
        self.prepared(c).is_some()
    }

    fn check(&self) -> anyhow::Result<()> {
        let n = self.curves();
        anyhow::ensure!(
            self.offsets.len() == n + 1,
            "offsets must have curves + 1 entries"
        );
        anyhow::ensure!(self.offsets[0] == 0, "offsets must start at 0");
        anyhow::ensure!(
            self.offsets.windows(2).all(|w| w[0] <= w[1]),
            "offsets must not decrease"
        );
        anyhow::ensure!(
            self.offsets[n] == self.t.len() && self.t.len() == self.y.len(),
            "t and y must hold offsets[last] points"
        );
        anyhow::ensure!(
            self.dy.is_empty() || self.dy.len() == self.t.len(),
            "dy length"
        );
        Ok(())
    }

    fn prepared(&self, c: usize) -> Option<PreparedCurve> {
        let r = self.offsets[c]..self.offsets[c + 1];
        let dy = (!self.dy.is_empty()).then(|| &self.dy[r.clone()]);
        prepare(&self.t[r.clone()], &self.y[r], dy)
    }
}

/// CPU twin: the flat power of every curve (see [`LightCurveBatch::power_offsets`]).
pub fn lomb_scargle_batch_cpu(b: &LightCurveBatch) -> anyhow::Result<Vec<f64>> {
    b.check()?;
    let po = b.power_offsets();
    let mut power = vec![0.0; po[b.curves()]];
    for c in 0..b.curves() {
        if let Some(p) = b.prepared(c) {
            power_prepared(&p, &b.grids[c], &mut power[po[c]..po[c + 1]]);
        }
    }
    Ok(power)
}

/// Converts host f64 to the kernel's precision.
pub trait FromF64: LsReal {
    /// `x` in this precision (rounded for `f32`).
    fn from_f64(x: f64) -> Self;
    /// This value as `f64` (exact).
    fn to_f64(self) -> f64;
}
impl FromF64 for f64 {
    fn from_f64(x: f64) -> f64 {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}
impl FromF64 for f32 {
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

/// The stated f32 tolerance: max |power difference| from the f64 CPU twin
/// on the test batches. The kernel's f32 arithmetic emulated on the CPU
/// gives 1.5e-3 over whole autofrequency grids (1000-day baselines) and
/// 4e-7 at the lowest frequencies (test
/// `kernel_arithmetic_emulated_keeps_f32_power_at_low_frequencies`); this
/// allows about three times that for the device's sincospif. Not yet
/// measured on a device (docs/gpu.md).
pub const F32_TOLERANCE: f64 = 5e-3;

/// Device bytes curve `c` needs: 3 point arrays, its power, its table entries.
fn curve_bytes<T>(points: usize, nf: usize) -> usize {
    let e = std::mem::size_of::<T>();
    3 * points * e + nf * e + 6 * 8
}

/// The GPU periodograms of a batch, in precision `T`, returned as f64 in
/// the layout of [`lomb_scargle_batch_cpu`]. Curves with fewer than 3
/// points or constant data get zero power (as on the CPU).
pub fn lomb_scargle_batch_gpu<T: FromF64>(
    dev: &GpuDevice,
    b: &LightCurveBatch,
) -> anyhow::Result<Vec<f64>> {
    b.check()?;
    let po = b.power_offsets();
    let sizes: Vec<usize> = (0..b.curves())
        .map(|c| curve_bytes::<T>(b.offsets[c + 1] - b.offsets[c], b.grids[c].n))
        .collect();
    let plan = chunks::plan(
        &sizes,
        8,
        dev.memory_budget()?,
        LS_MAX_CURVES_PER_LAUNCH * 16,
    )
    .map_err(anyhow::Error::msg)?;
    let mut power = vec![0.0f64; po[b.curves()]];
    let s = &dev.stream;
    for r in plan {
        // host-side preparation of this chunk (weights, centring, dt)
        let (mut dt, mut w, mut wy) = (Vec::new(), Vec::new(), Vec::new());
        let (mut poff, mut yy, mut f0, mut df, mut nf, mut pwo) =
            (vec![0u64], vec![], vec![], vec![], vec![], vec![0u64]);
        for c in r.clone() {
            let g = &b.grids[c];
            match b.prepared(c) {
                Some(p) => {
                    dt.extend(p.dt.iter().map(|&x| T::from_f64(x)));
                    w.extend(p.w.iter().map(|&x| T::from_f64(x)));
                    wy.extend(p.wy.iter().map(|&x| T::from_f64(x)));
                    yy.push(p.yy);
                }
                // degenerate: no points, YY = 0 makes the kernel write zeros
                None => yy.push(0.0),
            }
            poff.push(dt.len() as u64);
            f0.push(g.f0);
            df.push(g.df);
            nf.push(g.n as u64);
            pwo.push(pwo.last().copied().unwrap_or(0) + g.n as u64);
        }
        let total_power = *pwo.last().unwrap_or(&0) as usize;
        let upload = |v: &Vec<T>| {
            // cudarc cannot allocate zero bytes portably: keep one element
            if v.is_empty() {
                s.clone_htod(&[T::default()][..])
            } else {
                s.clone_htod(v)
            }
        };
        let dt_d = upload(&dt).map_err(cuda("copying light curves"))?;
        let batch = LsBatch {
            // one dummy element when every curve of the chunk is degenerate
            points: dt_d.len(),
            dt: dt_d,
            w: upload(&w).map_err(cuda("copying light curves"))?,
            wy: upload(&wy).map_err(cuda("copying light curves"))?,
            point_offsets: s.clone_htod(&poff).map_err(cuda("copying offsets"))?,
            yy: s.clone_htod(&yy).map_err(cuda("copying curve tables"))?,
            f0: s.clone_htod(&f0).map_err(cuda("copying curve tables"))?,
            df: s.clone_htod(&df).map_err(cuda("copying curve tables"))?,
            nf: s.clone_htod(&nf).map_err(cuda("copying curve tables"))?,
            power_offsets: s.clone_htod(&pwo).map_err(cuda("copying offsets"))?,
            curves: r.len(),
            max_nf: nf.iter().copied().max().unwrap_or(0),
            total_power,
        };
        let mut dev_power = s
            .alloc_zeros::<T>(total_power.max(1))
            .map_err(cuda("allocating power"))?;
        launch::lombscargle(dev, &batch, &mut dev_power)?;
        let host = s
            .clone_dtoh(&dev_power)
            .map_err(cuda("copying power back"))?;
        let base = po[r.start];
        for (dst, src) in power[base..base + total_power].iter_mut().zip(&host) {
            *dst = src.to_f64();
        }
    }
    Ok(power)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::periodogram::gpu_twin::lomb_scargle_direct;
    use crate::numeric::periodogram::{autofrequency, GridOptions};

    /// A ragged batch: lengths 3..=260 points, one degenerate curve, own grids.
    pub fn ragged_batch(curves: usize, max_nf: usize) -> LightCurveBatch {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut u = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut b = LightCurveBatch {
            offsets: vec![0],
            ..Default::default()
        };
        for c in 0..curves {
            let n = 3 + (c * 37) % 258;
            let mut t: Vec<f64> = (0..n).map(|_| 58_000.0 + 1000.0 * u()).collect();
            t.sort_by(f64::total_cmp);
            let period = 0.3 + 5.0 * u();
            for &x in &t {
                let y = if c == 1 {
                    7.0 // constant: zero power
                } else {
                    12.0 + 0.3 * (std::f64::consts::TAU * x / period).sin() + 0.05 * u()
                };
                b.y.push(y);
                b.dy.push(0.02 + 0.05 * u());
            }
            let mut g = autofrequency(&t, &GridOptions::default()).unwrap();
            g.n = g.n.min(max_nf);
            b.t.extend(t);
            b.offsets.push(b.t.len());
            b.grids.push(g);
        }
        b
    }

    #[test]
    fn cpu_batch_equals_per_curve_direct() {
        let b = ragged_batch(5, 300);
        let power = lomb_scargle_batch_cpu(&b).unwrap();
        let po = b.power_offsets();
        for c in 0..5 {
            let r = b.offsets[c]..b.offsets[c + 1];
            let mut p = vec![0.0; b.grids[c].n];
            lomb_scargle_direct(
                &b.t[r.clone()],
                &b.y[r.clone()],
                Some(&b.dy[r]),
                &b.grids[c],
                &mut p,
            );
            assert_eq!(&power[po[c]..po[c + 1]], &p[..]);
        }
        assert!(power[po[1]..po[2]].iter().all(|&x| x == 0.0));
    }

    /// GPU vs CPU direct method: f64 within 1e-5 (printed: the measured
    /// maximum difference), f32 within [`F32_TOLERANCE`].
    #[test]
    #[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
    fn gpu_batch_matches_cpu_direct() {
        let dev = crate::gpu::test_device();
        let b = ragged_batch(300, 4000);
        let cpu = lomb_scargle_batch_cpu(&b).unwrap();
        let g64 = lomb_scargle_batch_gpu::<f64>(&dev, &b).unwrap();
        let g32 = lomb_scargle_batch_gpu::<f32>(&dev, &b).unwrap();
        let maxdiff = |g: &[f64]| {
            g.iter()
                .zip(&cpu)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        };
        let (d64, d32) = (maxdiff(&g64), maxdiff(&g32));
        eprintln!("Lomb-Scargle GPU vs CPU direct, {} curves, {} powers: max |dP| f64 {d64:.2e}, f32 {d32:.2e}", b.curves(), cpu.len());
        assert!(d64 <= 1e-5, "f64: {d64:e}");
        assert!(d32 <= F32_TOLERANCE, "f32: {d32:e}");
    }

    /// Past 65 535 curves (two launches: the second with first_curve =
    /// 65 535), and chunks under a small memory cap: the same power as the
    /// CPU twin (f64 within 1e-5).
    #[test]
    #[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
    fn gpu_many_curves_and_small_memory() {
        let mut dev = crate::gpu::test_device();
        let b = ragged_batch(70_000, 16);
        let cpu = lomb_scargle_batch_cpu(&b).unwrap();
        let maxdiff = |g: &[f64]| {
            g.iter()
                .zip(&cpu)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        };
        let g = lomb_scargle_batch_gpu::<f64>(&dev, &b).unwrap();
        assert!(maxdiff(&g) <= 1e-5, "{:e}", maxdiff(&g));
        // the last curves (launched with first_curve > 0) got power
        let po = b.power_offsets();
        let last = b.curves() - 1;
        assert!(g[po[last]..po[last + 1]].iter().any(|&x| x > 0.0));
        dev.memory_cap = Some(200_000);
        let g = lomb_scargle_batch_gpu::<f64>(&dev, &b).unwrap();
        assert!(maxdiff(&g) <= 1e-5, "under the cap: {:e}", maxdiff(&g));
    }

    /// The kernel's arithmetic on the CPU: `f32` rounds every operation
    /// to f32 (exact emulation of f32 + and *; sincospi taken as the
    /// rounded f64 sine and cosine), else f64. `old` is the kernel before
    /// the covariance form (sums of cos, sin, cos 2x, sin 2x; CC = (1 +
    /// C2)/2 - C^2 and the rest in the working precision).
    fn emulate(b: &LightCurveBatch, f32: bool, old: bool) -> Vec<f64> {
        let q = |x: f64| if f32 { f64::from(x as f32) } else { x };
        let po = b.power_offsets();
        let mut power = vec![0.0; po[b.curves()]];
        for c in 0..b.curves() {
            let Some(p) = b.prepared(c) else { continue };
            let g = &b.grids[c];
            let dt: Vec<f64> = p.dt.iter().map(|&x| q(x)).collect();
            let w: Vec<f64> = p.w.iter().map(|&x| q(x)).collect();
            let wy: Vec<f64> = p.wy.iter().map(|&x| q(x)).collect();
            for k in 0..g.n {
                let f = g.f0 + g.df * k as f64;
                if old {
                    let sc = |cycles: f64| {
                        let r = q(cycles - cycles.round_ties_even());
                        let (s, c) = (std::f64::consts::TAU * r).sin_cos();
                        (q(s), q(c))
                    };
                    let mut v = [0.0f64; 6];
                    for j in 0..dt.len() {
                        let cycles = f * dt[j];
                        let (s1, c1) = sc(cycles);
                        let (s2, c2) = sc(2.0 * cycles);
                        for (acc, (a, x)) in v.iter_mut().zip([
                            (w[j], c1),
                            (w[j], s1),
                            (wy[j], c1),
                            (wy[j], s1),
                            (w[j], c2),
                            (w[j], s2),
                        ]) {
                            *acc = q(*acc + q(a * x));
                        }
                    }
                    let [c1s, s1s, ycs, yss, c2s, s2s] = v;
                    let cc = q(q(0.5 * q(1.0 + c2s)) - q(c1s * c1s));
                    let ss = q(q(0.5 * q(1.0 - c2s)) - q(s1s * s1s));
                    let cs = q(q(0.5 * s2s) - q(c1s * s1s));
                    let d = q(q(cc * ss) - q(cs * cs));
                    let num = q(q(q(q(ss * ycs) * ycs) + q(q(cc * yss) * yss))
                        - q(q(q(2.0 * cs) * ycs) * yss));
                    let y2 = q(p.yy);
                    power[po[c] + k] = if d > 0.0 && y2 > 0.0 {
                        q(num / q(y2 * d))
                    } else {
                        0.0
                    };
                } else {
                    let mut v = [0.0f64; 7];
                    for j in 0..dt.len() {
                        let cycles = f * dt[j];
                        let r = q(cycles - 2.0 * (0.5 * cycles).round_ties_even());
                        let (sh, ch) = (std::f64::consts::PI * r).sin_cos();
                        let (sh, ch) = (q(sh), q(ch));
                        let h = q(sh * sh);
                        let s1 = q(q(2.0 * sh) * ch);
                        let wh = q(w[j] * h);
                        for (acc, t) in v.iter_mut().zip([
                            q(w[j] * s1),
                            wh,
                            q(wh * h),
                            q(q(w[j] * s1) * s1),
                            q(wh * s1),
                            q(wy[j] * h),
                            q(wy[j] * s1),
                        ]) {
                            *acc = q(*acc + t);
                        }
                    }
                    let [s_, a_, d_, b_, e_, yh, ys] = v;
                    let yc = -2.0 * yh;
                    let cc = 4.0 * (d_ - a_ * a_);
                    let ss = b_ - s_ * s_;
                    let cs = 2.0 * (a_ * s_ - e_);
                    let d = cc * ss - cs * cs;
                    let num = ss * yc * yc + cc * ys * ys - 2.0 * cs * yc * ys;
                    power[po[c] + k] = if d > 0.0 && p.yy > 0.0 {
                        q(num / (p.yy * d))
                    } else {
                        0.0
                    };
                }
            }
        }
        power
    }

    /// No device: the kernel's arithmetic emulated on the CPU against the
    /// f64 twin. In f64 the covariance form agrees within 1e-9. In f32, at
    /// very low frequencies (0.02 to 0.2 turns across the baseline, where
    /// cos x is near 1) the old form lost the power entirely (printed) and
    /// the covariance form keeps it within F32_TOLERANCE; over whole
    /// autofrequency grids too.
    #[test]
    fn kernel_arithmetic_emulated_keeps_f32_power_at_low_frequencies() {
        let maxdiff = |g: &[f64], cpu: &[f64]| {
            g.iter()
                .zip(cpu)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        };
        let mut low = ragged_batch(60, 20);
        for (c, g) in low.grids.iter_mut().enumerate() {
            let r = low.offsets[c]..low.offsets[c + 1];
            let span = low.t[r.clone()]
                .iter()
                .fold(f64::NEG_INFINITY, |m, &x| m.max(x))
                - low.t[r].iter().fold(f64::INFINITY, |m, &x| m.min(x));
            // 0.02 to 0.2 turns across the baseline
            g.f0 = 0.02 / span.max(1e-9);
            g.df = g.f0 / 2.0;
        }
        let full = ragged_batch(60, 4000);
        let cpu_low = lomb_scargle_batch_cpu(&low).unwrap();
        let cpu_full = lomb_scargle_batch_cpu(&full).unwrap();
        let f64_low = maxdiff(&emulate(&low, false, false), &cpu_low);
        let f64_full = maxdiff(&emulate(&full, false, false), &cpu_full);
        let new_low = maxdiff(&emulate(&low, true, false), &cpu_low);
        let old_low = maxdiff(&emulate(&low, true, true), &cpu_low);
        let new_full = maxdiff(&emulate(&full, true, false), &cpu_full);
        let old_full = maxdiff(&emulate(&full, true, true), &cpu_full);
        eprintln!("emulated kernel vs f64 twin, max |dP|: f64 {f64_low:.1e} (low), {f64_full:.1e} (whole grids); f32 covariance form {new_low:.1e} (low), {new_full:.1e} (whole); f32 old form {old_low:.1e} (low), {old_full:.1e} (whole)");
        assert!(
            f64_low <= 1e-9 && f64_full <= 1e-9,
            "{f64_low:e} {f64_full:e}"
        );
        assert!(new_low <= F32_TOLERANCE, "{new_low:e}");
        assert!(new_full <= F32_TOLERANCE, "{new_full:e}");
        assert!(old_low > 10.0 * new_low, "{old_low:e} vs {new_low:e}");
    }
}
