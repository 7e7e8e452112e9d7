//! `tessera gpu selftest` (job-driver layer): every kernel against its CPU
//! twin on generated inputs, on one device, without MPI.
//!
//! Monte Carlo blocks for each integrand (the last block short), the
//! multi-launch path (more than 2^16 blocks, Philox counters past 2^32);
//! Lomb-Scargle batches of curves of different lengths in f64 and f32, and
//! more than 65 535 curves (two launches); convolution in f64 and f32 on
//! the shared- and global-memory paths, odd sizes, a halo wider than a
//! 16-pixel tile, the row-block multi-launch path; and the chunked paths
//! (Monte Carlo launches, Lomb-Scargle chunks, convolution strips) forced by
//! a small memory cap. Each row prints the largest error against the
//! stated tolerance (the tolerances the tests use) and the seconds taken.

use std::time::Instant;

use crate::gpu::conv::{
    convolve_padded_cpu, convolve_padded_cpu_f32, convolve_padded_gpu, convolve_padded_gpu_capped,
    PaddedShape,
};
use crate::gpu::lombscargle::{
    lomb_scargle_batch_cpu, lomb_scargle_batch_gpu, LightCurveBatch, F32_TOLERANCE,
};
use crate::gpu::mc::block_moments_gpu;
use crate::gpu::GpuDevice;
use crate::numeric::integrands::Integrand;
use crate::numeric::moments::Moments;
use crate::numeric::montecarlo::{block_moments, BlockScratch, McProblem};
use crate::numeric::periodogram::{autofrequency, GridOptions};

/// One line of the selftest table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Kernel family: `mc`, `lombscargle`, `conv2d`.
    pub kernel: &'static str,
    /// What was run.
    pub case: String,
    /// Largest error found (relative or absolute: see `metric`).
    pub error: f64,
    /// The tolerance it must not exceed.
    pub tolerance: f64,
    /// `rel` (relative to the output's scale or per block) or `abs`.
    pub metric: &'static str,
    /// Seconds in the kernels (for mc and lombscargle: the whole call,
    /// transfers included, which these wrappers do not time apart).
    pub kernel_s: f64,
    /// Seconds copying to and from the device; NaN where not timed apart.
    pub transfer_s: f64,
    /// A structural condition (launch or strip count) that must hold, and
    /// whether it did.
    pub check: Option<(String, bool)>,
}

impl Row {
    /// Whether the row passes: error within tolerance and its check true.
    pub fn ok(&self) -> bool {
        self.error <= self.tolerance && self.check.as_ref().is_none_or(|c| c.1)
    }
}

/// xorshift64 uniforms in [0, 1) (inputs only).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs().max(1e-300)
    }
}

/// Runs every case on `dev`; the table rows in order. Errors only when a
/// CUDA call fails (a wrong result is a failing row, not an error).
pub fn run(dev: &mut GpuDevice, say: &mut dyn FnMut(&Row)) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut push = |r: Row, rows: &mut Vec<Row>| {
        say(&r);
        rows.push(r);
    };

    // ---- Monte Carlo: each integrand, 3 full blocks and a short one
    let (bs, total) = (1u64 << 16, 3 * (1u64 << 16) + 1000);
    let cases: [(Integrand, Vec<(f64, f64)>, f64); 6] = [
        (Integrand::Pi, vec![(0.0, 1.0); 2], 0.0),
        (Integrand::Norm2, vec![(-1.0, 2.0); 1], 1e-12),
        (Integrand::Norm2, vec![(0.0, 1.0); 2], 1e-12),
        (
            Integrand::Norm2,
            vec![(-1.0, 2.0), (0.5, 1.5), (-3.0, -1.0)],
            1e-12,
        ),
        (Integrand::Gaussian, vec![(-1.0, 2.0); 4], 1e-12),
        (Integrand::CosProd, vec![(0.0, 1.5); 5], 1e-12),
    ];
    for (integrand, bounds, tol) in cases {
        let p = McProblem::new(integrand, &bounds, 42);
        let blocks = total.div_ceil(bs);
        push(
            mc_row(
                dev,
                &p,
                bs,
                total,
                0,
                blocks,
                tol,
                format!(
                    "{integrand} n={} {blocks} blocks of 2^16, last short",
                    bounds.len()
                ),
                None,
            )?,
            &mut rows,
        );
    }
    // more than 2^16 blocks (several launches), counters past 2^32
    let p = McProblem::new(Integrand::Pi, &[(0.0, 1.0); 2], 7);
    let first = 1u64 << 25;
    let end = first + 70_000;
    push(
        mc_row(
            dev,
            &p,
            256,
            end * 256 - 100,
            first,
            end,
            0.0,
            "pi n=2 70000 blocks of 256 from block 2^25".into(),
            Some(2),
        )?,
        &mut rows,
    );
    dev.memory_cap = Some(1000 * 24 + 64);
    let r = mc_row(
        dev,
        &p,
        256,
        end * 256 - 100,
        first,
        end,
        0.0,
        "pi n=2 same, memory cap 24 KB".into(),
        Some(70),
    );
    dev.memory_cap = None;
    push(r?, &mut rows);

    // ---- Lomb-Scargle: ragged batches, f64 and f32
    for (curves, max_nf) in [(50usize, 500usize), (300, 4000)] {
        let b = ragged_batch(curves, max_nf, 11 + curves as u64);
        let cpu = lomb_scargle_batch_cpu(&b)?;
        for f32 in [false, true] {
            let t0 = Instant::now();
            let g = if f32 {
                lomb_scargle_batch_gpu::<f32>(dev, &b)?
            } else {
                lomb_scargle_batch_gpu::<f64>(dev, &b)?
            };
            let secs = t0.elapsed().as_secs_f64();
            push(
                Row {
                    kernel: "lombscargle",
                    case: format!(
                        "{} {curves} curves of 3..260 points, {} powers",
                        if f32 { "f32" } else { "f64" },
                        cpu.len()
                    ),
                    error: max_abs(&g, &cpu),
                    tolerance: if f32 { F32_TOLERANCE } else { 1e-5 },
                    metric: "abs",
                    kernel_s: secs,
                    transfer_s: f64::NAN,
                    check: None,
                },
                &mut rows,
            );
        }
    }
    let b = ragged_batch(70_000, 16, 5);
    let cpu = lomb_scargle_batch_cpu(&b)?;
    for cap in [None, Some(200_000usize)] {
        dev.memory_cap = cap;
        let t0 = Instant::now();
        let g = lomb_scargle_batch_gpu::<f64>(dev, &b);
        dev.memory_cap = None;
        let g = g?;
        let po = b.power_offsets();
        let last = b.curves() - 1;
        let last_has_power = g[po[last]..po[last + 1]].iter().any(|&x| x > 0.0);
        push(
            Row {
                kernel: "lombscargle",
                case: format!(
                    "f64 70000 curves (2 launches){}",
                    if cap.is_some() {
                        ", memory cap 200 KB"
                    } else {
                        ""
                    }
                ),
                error: max_abs(&g, &cpu),
                tolerance: 1e-5,
                metric: "abs",
                kernel_s: t0.elapsed().as_secs_f64(),
                transfer_s: f64::NAN,
                check: Some(("last curve has power".into(), last_has_power)),
            },
            &mut rows,
        );
    }

    // ---- convolution: f64 and f32, shared and global, odd sizes, wide halo
    let conv_cases: [(usize, usize, usize, usize, &str); 6] = [
        (37, 53, 5, 3, "odd sizes"),
        (64, 40, 15, 15, ""),
        (9, 7, 4, 6, "even kernel, image < tile"),
        (20, 30, 31, 9, "halo 30 rows > tile"),
        (67, 45, 47, 47, "f64 shared limit"),
        (67, 45, 48, 48, "f64 global"),
    ];
    for (h, w, kh, kw, note) in conv_cases {
        for f32 in [false, true] {
            push(conv_row(dev, h, w, kh, kw, f32, None, note)?, &mut rows);
        }
    }
    for (k, note) in [(70, "f32 shared limit"), (71, "f32 global")] {
        push(conv_row(dev, 67, 45, k, k, true, None, note)?, &mut rows);
    }
    // several row-block launches (grid y capped at 2 blocks), then strips
    push(
        conv_row(dev, 100, 37, 7, 5, false, Some(2), "grid y capped at 2")?,
        &mut rows,
    );
    let (h, w, kh, kw) = (100usize, 37usize, 7usize, 5usize);
    let ec = w + kw - 1;
    dev.memory_cap = Some(((kh - 1) * ec + kh * kw + 10 * (ec + w)) * 8);
    let r = conv_row(
        dev,
        h,
        w,
        kh,
        kw,
        false,
        None,
        "memory cap: ~10 rows a strip",
    );
    dev.memory_cap = None;
    push(r?, &mut rows);
    Ok(rows)
}

fn max_abs(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[allow(clippy::too_many_arguments)]
fn mc_row(
    dev: &GpuDevice,
    p: &McProblem,
    bs: u64,
    total: u64,
    first: u64,
    end: u64,
    tol: f64,
    case: String,
    min_launches: Option<usize>,
) -> anyhow::Result<Row> {
    let mut launches = 0usize;
    let t0 = Instant::now();
    let gpu = block_moments_gpu(dev, p, bs, total, first, end, |_| launches += 1)?;
    let secs = t0.elapsed().as_secs_f64();
    let mut s = BlockScratch::new(p.dims());
    let cpu: Vec<Moments> = (first..end)
        .map(|b| block_moments(p, b, (total - b * bs).min(bs), &mut s))
        .collect();
    let mut err = 0.0f64;
    for (g, c) in gpu.iter().zip(&cpu) {
        if g.count != c.count {
            err = f64::INFINITY;
        }
        err = err.max(rel(g.mean, c.mean)).max(rel(g.m2, c.m2));
    }
    if gpu.len() != cpu.len() {
        err = f64::INFINITY;
    }
    Ok(Row {
        kernel: "mc",
        case,
        error: err,
        tolerance: tol,
        metric: "rel",
        kernel_s: secs,
        transfer_s: f64::NAN,
        check: min_launches.map(|m| (format!("{launches} launches >= {m}"), launches >= m)),
    })
}

#[allow(clippy::too_many_arguments)]
fn conv_row(
    dev: &GpuDevice,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    f32: bool,
    max_grid_y: Option<u32>,
    note: &str,
) -> anyhow::Result<Row> {
    // the padded input of an h x w output ('valid' of an (h+kh-1) x (w+kw-1) input)
    let s = PaddedShape {
        rows: h,
        cols: w,
        kh,
        kw,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (h * 131 + kh) as u64);
    let ext: Vec<f64> = (0..s.ext_rows() * s.ext_cols())
        .map(|_| rng.next() - 0.3)
        .collect();
    let k: Vec<f64> = (0..kh * kw).map(|_| rng.next() - 0.3).collect();
    let cap = max_grid_y.unwrap_or(crate::gpu::launch::CONV_MAX_GRID_Y);
    let (err, t) = if f32 {
        let e32: Vec<f32> = ext.iter().map(|&x| x as f32).collect();
        let k32: Vec<f32> = k.iter().map(|&x| x as f32).collect();
        let (g, t) = convolve_padded_gpu_capped(dev, &e32, &k32, s, cap)?;
        let c = convolve_padded_cpu_f32(&e32, &k32, s);
        let to64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
        (max_rel_scale(&to64(&g), &to64(&c)), t)
    } else {
        let (g, t) = if max_grid_y.is_some() {
            convolve_padded_gpu_capped(dev, &ext, &k, s, cap)?
        } else {
            convolve_padded_gpu(dev, &ext, &k, s)?
        };
        (max_rel_scale(&g, &convolve_padded_cpu(&ext, &k, s)), t)
    };
    let path = if t.shared_memory { "shared" } else { "global" };
    let check = if note.starts_with("memory cap") {
        Some((format!("{} strips >= 5", t.strips), t.strips >= 5))
    } else if note.contains("shared limit") {
        Some(("shared path".to_string(), t.shared_memory))
    } else if note.contains("global") {
        Some(("global path".to_string(), !t.shared_memory))
    } else {
        None
    };
    Ok(Row {
        kernel: "conv2d",
        case: format!(
            "{} {h}x{w} k{kh}x{kw} {path}{}{note}",
            if f32 { "f32" } else { "f64" },
            if note.is_empty() { "" } else { ", " }
        ),
        error: err,
        tolerance: if f32 { 1e-6 } else { 1e-12 },
        metric: "rel",
        kernel_s: t.kernel,
        transfer_s: t.h2d + t.d2h,
        check,
    })
}

fn max_rel_scale(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
    max_abs(a, b) / scale
}

/// A ragged batch: curves of 3..=260 points over 1000 days, one constant
/// (zero power), each with its autofrequency grid cut to `max_nf`.
pub fn ragged_batch(curves: usize, max_nf: usize, seed: u64) -> LightCurveBatch {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ seed);
    let mut b = LightCurveBatch {
        offsets: vec![0],
        ..Default::default()
    };
    for c in 0..curves {
        let n = 3 + (c * 37) % 258;
        let mut t: Vec<f64> = (0..n).map(|_| 58_000.0 + 1000.0 * rng.next()).collect();
        t.sort_by(f64::total_cmp);
        let period = 0.3 + 5.0 * rng.next();
        for &x in &t {
            let y = if c == 1 {
                7.0
            } else {
                12.0 + 0.3 * (std::f64::consts::TAU * x / period).sin() + 0.05 * rng.next()
            };
            b.y.push(y);
            b.dy.push(0.02 + 0.05 * rng.next());
        }
        let mut g = autofrequency(&t, &GridOptions::default()).unwrap_or(
            crate::numeric::periodogram::FreqGrid {
                f0: 0.01,
                df: 0.01,
                n: 1,
            },
        );
        g.n = g.n.min(max_nf);
        b.t.extend(t);
        b.offsets.push(b.t.len());
        b.grids.push(g);
    }
    b
}

/// The table: one line per row, then the verdict line.
pub fn table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<11} {:<58} {:>9} {:>9} {:>4} {:>10} {:>10}  {}\n",
        "kernel", "case", "max err", "tol", "", "kernel s", "xfer s", "result"
    );
    for r in rows {
        s.push_str(&line(r));
    }
    let failed = rows.iter().filter(|r| !r.ok()).count();
    if failed == 0 {
        s.push_str(&format!(
            "selftest: all {} cases within tolerance\n",
            rows.len()
        ));
    } else {
        s.push_str(&format!(
            "selftest: {failed} of {} cases FAILED\n",
            rows.len()
        ));
    }
    s
}

/// One table line.
pub fn line(r: &Row) -> String {
    let xfer = if r.transfer_s.is_nan() {
        "-".to_string()
    } else {
        format!("{:.2e}", r.transfer_s)
    };
    format!(
        "{:<11} {:<58} {:>9.2e} {:>9.1e} {:>4} {:>10.2e} {:>10}  {}{}\n",
        r.kernel,
        r.case,
        r.error,
        r.tolerance,
        r.metric,
        r.kernel_s,
        xfer,
        if r.ok() { "ok" } else { "FAIL" },
        r.check
            .as_ref()
            .map(|(c, ok)| format!(" ({c}{})", if *ok { "" } else { ": NOT MET" }))
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fail_on_error_or_check() {
        let r = Row {
            kernel: "mc",
            case: "x".into(),
            error: 0.0,
            tolerance: 0.0,
            metric: "rel",
            kernel_s: 0.1,
            transfer_s: f64::NAN,
            check: None,
        };
        assert!(r.ok());
        let bad = Row {
            error: 1e-9,
            ..r.clone()
        };
        assert!(!bad.ok());
        let nan = Row {
            error: f64::NAN,
            ..r.clone()
        };
        assert!(!nan.ok(), "NaN error must fail");
        let unmet = Row {
            check: Some(("1 launches >= 2".into(), false)),
            ..r.clone()
        };
        assert!(!unmet.ok());
        let t = table(&[r, unmet]);
        assert!(t.contains("selftest: 1 of 2 cases FAILED"), "{t}");
        assert!(t.contains("NOT MET"), "{t}");
    }

    #[test]
    fn ragged_batch_is_ragged_with_a_constant_curve() {
        let b = ragged_batch(10, 50, 1);
        assert_eq!(b.curves(), 10);
        assert!(!b.has_power(1));
        let lens: Vec<usize> = b.offsets.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(lens.iter().min() < lens.iter().max());
    }
}
