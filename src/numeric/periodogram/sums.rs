//! Weighted trigonometric sums over a uniform frequency grid: the sufficient statistics
//! of the generalised Lomb-Scargle periodogram, computed exactly (O(N*Nf)) without
//! trigonometric calls in the inner loop.
//!
//! For every grid frequency f_k = f0 + k*df we need (Zechmeister & Kuerster 2009,
//! A&A 496, 577, eqs. 5-13, written with the double-angle identities
//! cos^2 = (1+cos2x)/2, sin*cos = sin2x/2 as in Press & Rybicki 1989, ApJ 338, 277):
//!   C = sum w cos x,  S = sum w sin x,  YC = sum wy cos x,  YS = sum wy sin x,
//!   C2 = sum w cos 2x, S2 = sum w sin 2x,    x = 2*pi*f_k*(t - t_ref).
//! The fast NUFFT path (`nufft.rs`) produces the same six arrays, so everything
//! downstream (single band, multiband) is shared.

use crate::numeric::periodogram::grid::FreqGrid;
use crate::numeric::vmath::sincos_turns_libm;

/// The six per-frequency sums (see module docs). All vectors have length `n`.
#[derive(Clone, Debug, Default)]
pub struct TrigSums {
    /// Number of frequencies.
    pub n: usize,
    /// C = sum w cos x.
    pub c: Vec<f64>,
    /// S = sum w sin x.
    pub s: Vec<f64>,
    /// YC = sum wy cos x.
    pub yc: Vec<f64>,
    /// YS = sum wy sin x.
    pub ys: Vec<f64>,
    /// C2 = sum w cos 2x.
    pub c2: Vec<f64>,
    /// S2 = sum w sin 2x.
    pub s2: Vec<f64>,
}

impl TrigSums {
    /// Resize to `n` frequencies; reuses capacity so repeated calls do not allocate.
    /// The values are left as they were (every producer overwrites all `n`), so
    /// nothing is cleared per call.
    pub fn resize(&mut self, n: usize) {
        self.n = n;
        for v in [
            &mut self.c,
            &mut self.s,
            &mut self.yc,
            &mut self.ys,
            &mut self.c2,
            &mut self.s2,
        ] {
            v.resize(n, 0.0);
        }
    }
}

/// Instruction-set choice for the direct kernel; `Auto` picks the best the CPU has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SimdLevel {
    /// The best level the CPU has.
    #[default]
    Auto,
    /// Four lanes of plain Rust, no fused multiply-add.
    Scalar,
    /// Eight lanes, AVX2 with FMA.
    Avx2,
    /// Sixteen lanes, AVX-512 with FMA.
    Avx512,
}

impl SimdLevel {
    /// The level `Auto` resolves to on this CPU (requested levels the CPU lacks fall back).
    pub fn resolve(self) -> SimdLevel {
        #[cfg(target_arch = "x86_64")]
        {
            let has512 = std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("fma");
            let has2 = std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma");
            match self {
                SimdLevel::Auto | SimdLevel::Avx512 if has512 => SimdLevel::Avx512,
                SimdLevel::Auto | SimdLevel::Avx512 | SimdLevel::Avx2 if has2 => SimdLevel::Avx2,
                _ => SimdLevel::Scalar,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = self;
            SimdLevel::Scalar
        }
    }
}

/// Scratch space of the direct kernel (per-point rotation tables); reuse across calls.
#[derive(Clone, Debug, Default)]
pub struct DirectScratch {
    /// Instruction set to use (`Auto` unless a test or bench pins one).
    pub simd: SimdLevel,
    /// Per point: e^{i j Δ_i} for j < B, stored as B cosines then B sines.
    lanes: Vec<f64>,
    /// Per point: block-start phasor, block step phasor, weight, weighted datum.
    pts: Vec<PointState>,
}

#[derive(Clone, Copy, Debug, Default)]
struct PointState {
    c: f64,
    s: f64,
    rc: f64,
    rs: f64,
    w: f64,
    wy: f64,
}

#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

#[inline(always)]
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

/// Phase in cycles, reduced to about [-1/2, 1/2], of frequency m*(f0 + k*df) at time tt,
/// evaluated in double-double arithmetic (Knuth two-sum, FMA two-product; Dekker 1971).
/// Why: for MJD-length baselines f*t reaches ~1e4 cycles, and a plain product would lose
/// ~1e-12 cycles -- as much as the whole recurrence error budget. This makes both the
/// oracle and the recurrence seeds accurate to ~1e-16 cycles.
#[inline(always)]
pub fn phase_cycles(f0: f64, df: f64, k: usize, mult: f64, tt: f64) -> f64 {
    let (p, pe) = two_prod(k as f64, df);
    let (s, se) = two_sum(f0, p);
    let (fh, fl) = (s * mult, (pe + se) * mult); // mult is 1 or 2: exact scaling
    let (q, qe) = two_prod(fh, tt);
    let lo = qe + fl * tt;
    (q - q.round()) + lo
}

/// Reference implementation: the same sums with one sin/cos per (point, frequency).
/// Slow; this is the oracle for the recurrence kernel and the NUFFT.
pub fn trig_sums_naive(
    t: &[f64],
    w: &[f64],
    wy: &[f64],
    t_ref: f64,
    grid: &FreqGrid,
    out: &mut TrigSums,
) {
    out.resize(grid.n);
    for k in 0..grid.n {
        let mut acc = [0.0f64; 6];
        for i in 0..t.len() {
            let cyc = phase_cycles(grid.f0, grid.df, k, 1.0, t[i] - t_ref);
            let (s, c) = sincos_turns_libm(cyc);
            let (s2, c2) = sincos_turns_libm(2.0 * cyc);
            acc[0] += w[i] * c;
            acc[1] += w[i] * s;
            acc[2] += wy[i] * c;
            acc[3] += wy[i] * s;
            acc[4] += w[i] * c2;
            acc[5] += w[i] * s2;
        }
        out.c[k] = acc[0];
        out.s[k] = acc[1];
        out.yc[k] = acc[2];
        out.ys[k] = acc[3];
        out.c2[k] = acc[4];
        out.s2[k] = acc[5];
    }
}

/// Exact sums by the rotation recurrence (no trig in the inner loop).
///
/// Layout (why): the recurrence is sequential in frequency for a single point, so to
/// vectorise across frequencies we process blocks of B consecutive frequencies as SIMD
/// lanes. For point i we keep the phasor e^{i x} at the block start (`st`), a per-point
/// table e^{i j Δ_i}, j < B (Δ_i = 2π df t_i) that fans it out over the lanes, and the
/// block step e^{i B Δ_i}. Each (point, block) then costs one complex multiply per lane,
/// the double angle, and six FMAs into register accumulators. The block-start phasors are
/// re-seeded with exact trig every `RESEED` blocks, bounding the recurrence drift
/// (about RESEED rounding errors, ~1e-14) independently of Nf.
pub fn trig_sums_direct(
    t: &[f64],
    w: &[f64],
    wy: &[f64],
    t_ref: f64,
    grid: &FreqGrid,
    scratch: &mut DirectScratch,
    out: &mut TrigSums,
) {
    assert!(w.len() == t.len() && wy.len() == t.len());
    out.resize(grid.n);
    match scratch.simd.resolve() {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { driver_avx512(t, w, wy, t_ref, grid, scratch, out) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { driver_avx2(t, w, wy, t_ref, grid, scratch, out) },
        _ => driver::<4, false>(t, w, wy, t_ref, grid, scratch, out),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn driver_avx512(
    t: &[f64],
    w: &[f64],
    wy: &[f64],
    t_ref: f64,
    g: &FreqGrid,
    sc: &mut DirectScratch,
    out: &mut TrigSums,
) {
    driver::<16, true>(t, w, wy, t_ref, g, sc, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn driver_avx2(
    t: &[f64],
    w: &[f64],
    wy: &[f64],
    t_ref: f64,
    g: &FreqGrid,
    sc: &mut DirectScratch,
    out: &mut TrigSums,
) {
    driver::<8, true>(t, w, wy, t_ref, g, sc, out)
}

/// Blocks between exact re-seeds of the block-start phasors.
const RESEED: usize = 64;

#[inline(always)]
fn fma<const F: bool>(a: f64, b: f64, c: f64) -> f64 {
    // mul_add is a single instruction only when the fma feature is enabled; elsewhere
    // it would be a slow libm call, so the scalar build uses separate mul and add.
    if F {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
fn driver<const B: usize, const F: bool>(
    t: &[f64],
    w: &[f64],
    wy: &[f64],
    t_ref: f64,
    grid: &FreqGrid,
    sc: &mut DirectScratch,
    out: &mut TrigSums,
) {
    let n = t.len();
    let nf = grid.n;
    if nf == 0 {
        return;
    }
    sc.lanes.clear();
    sc.lanes.resize(n * 2 * B, 0.0);
    sc.pts.clear();
    for i in 0..n {
        let tt = t[i] - t_ref;
        let (ds, dc) = sincos_turns_libm(grid.df * tt);
        let (mut c, mut s) = (1.0, 0.0);
        let lane = &mut sc.lanes[i * 2 * B..(i + 1) * 2 * B];
        for j in 0..B {
            lane[j] = c;
            lane[B + j] = s;
            let cn = c * dc - s * ds;
            s = s * dc + c * ds;
            c = cn;
        }
        let (rs, rc) = sincos_turns_libm(B as f64 * grid.df * tt);
        sc.pts.push(PointState {
            c: 1.0,
            s: 0.0,
            rc,
            rs,
            w: w[i],
            wy: wy[i],
        });
    }
    let nblocks = nf.div_ceil(B);
    for b in 0..nblocks {
        let k0 = b * B;
        if b % RESEED == 0 {
            for (p, &ti) in sc.pts.iter_mut().zip(t) {
                (p.s, p.c) = sincos_turns_libm(phase_cycles(grid.f0, grid.df, k0, 1.0, ti - t_ref));
            }
        }
        let mut a_c = [0.0f64; B];
        let mut a_s = [0.0f64; B];
        let mut a_yc = [0.0f64; B];
        let mut a_ys = [0.0f64; B];
        let mut a_c2 = [0.0f64; B];
        let mut a_s2 = [0.0f64; B];
        for (p, lane) in sc.pts.iter_mut().zip(sc.lanes.chunks_exact(2 * B)) {
            let (c0, s0, wi, wyi) = (p.c, p.s, p.w, p.wy);
            let w2 = 2.0 * wi;
            let (lc, ls) = lane.split_at(B);
            for j in 0..B {
                let c = fma::<F>(c0, lc[j], -(s0 * ls[j]));
                let s = fma::<F>(s0, lc[j], c0 * ls[j]);
                a_c[j] = fma::<F>(wi, c, a_c[j]);
                a_s[j] = fma::<F>(wi, s, a_s[j]);
                a_yc[j] = fma::<F>(wyi, c, a_yc[j]);
                a_ys[j] = fma::<F>(wyi, s, a_ys[j]);
                // cos2x = (c-s)(c+s), sin2x = 2cs: two FMAs per lane with w folded in.
                a_c2[j] = fma::<F>(wi * (c - s), c + s, a_c2[j]);
                a_s2[j] = fma::<F>(w2 * c, s, a_s2[j]);
            }
            p.c = fma::<F>(c0, p.rc, -(s0 * p.rs));
            p.s = fma::<F>(s0, p.rc, c0 * p.rs);
        }
        let m = B.min(nf - k0);
        out.c[k0..k0 + m].copy_from_slice(&a_c[..m]);
        out.s[k0..k0 + m].copy_from_slice(&a_s[..m]);
        out.yc[k0..k0 + m].copy_from_slice(&a_yc[..m]);
        out.ys[k0..k0 + m].copy_from_slice(&a_ys[..m]);
        out.c2[k0..k0 + m].copy_from_slice(&a_c2[..m]);
        out.s2[k0..k0 + m].copy_from_slice(&a_s2[..m]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::periodogram::testutil::random_curve;

    fn max_diff(a: &TrigSums, b: &TrigSums) -> f64 {
        let pairs = [
            (&a.c, &b.c),
            (&a.s, &b.s),
            (&a.yc, &b.yc),
            (&a.ys, &b.ys),
            (&a.c2, &b.c2),
            (&a.s2, &b.s2),
        ];
        pairs
            .iter()
            .flat_map(|(x, y)| x.iter().zip(y.iter()).map(|(p, q)| (p - q).abs()))
            .fold(0.0, f64::max)
    }

    /// Oracle: the naive trig version. The recurrence must stay within ~1e-12 of it
    /// (normalised weights), for every SIMD level, on a grid long enough (Nf = 20000,
    /// >> RESEED*B) to exercise drift between re-seeds.
    #[test]
    fn recurrence_matches_trig() {
        for (n, nf, f0) in [(5usize, 20_000usize, 1e-4), (60, 3_000, 0.5), (7, 37, 2.0)] {
            let (t, y, dy) = random_curve(n, 2900.0, n as u64);
            let mut w: Vec<f64> = dy.iter().map(|e| 1.0 / (e * e)).collect();
            let sw: f64 = w.iter().sum();
            w.iter_mut().for_each(|x| *x /= sw);
            let wy: Vec<f64> = w.iter().zip(&y).map(|(a, b)| a * (b - 15.0)).collect();
            let grid = FreqGrid {
                f0,
                df: 1.0 / (5.0 * 2900.0),
                n: nf,
            };
            let t_ref = t[0];
            let mut naive = TrigSums::default();
            trig_sums_naive(&t, &w, &wy, t_ref, &grid, &mut naive);
            for level in [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512] {
                let mut sc = DirectScratch {
                    simd: level,
                    ..Default::default()
                };
                let mut direct = TrigSums::default();
                trig_sums_direct(&t, &w, &wy, t_ref, &grid, &mut sc, &mut direct);
                let d = max_diff(&naive, &direct);
                assert!(d < 1e-12, "n={n} nf={nf} level={level:?}: diff {d:e}");
            }
        }
    }
}
