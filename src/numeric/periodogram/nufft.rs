//! The GLS trigonometric sums in O(N + Nf log Nf) by a type-1 non-uniform FFT with
//! Gaussian gridding (Greengard & Lee 2004, SIAM Review 46, 443; Dutt & Rokhlin 1993):
//! the output of `sums::trig_sums_direct`, to the accuracy the parameters set.
//!
//! Error (Greengard & Lee 2004, eq. 9, section 3): with oversampling R and spreading
//! half-width Msp the Gaussian width is tau = pi Msp / (M^2 R (R - 1/2)) and each sum is
//! off by about exp(-pi Msp (R-1)/(R-1/2)) relative to sum |c_j| (the tests assert the
//! resulting power error). The M = Nf modes are a window [-M/2, M - M/2) reached by
//! pre-phasing the sources, so the grid needs only ~R M points.

use crate::numeric::periodogram::grid::FreqGrid;
use crate::numeric::periodogram::power::gls_power;
use crate::numeric::periodogram::sums::{phase_cycles, TrigSums};
use crate::numeric::vmath;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

/// Accuracy parameters of the Gaussian NUFFT.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NufftParams {
    /// Grid oversampling R (> 1); the FFT length is the [`fast_len`] of R*Nf.
    pub oversampling: f64,
    /// Spreading half-width Msp: each point touches 2*Msp grid cells.
    pub half_width: usize,
}

impl Default for NufftParams {
    fn default() -> Self {
        NufftParams {
            oversampling: 1.5,
            half_width: 16,
        }
    }
}

/// Reusable state: FFT plans and buffers, cached deconvolution tables.
pub struct NufftScratch {
    /// The accuracy parameters every transform with this scratch uses.
    pub params: NufftParams,
    /// FFT plans by length, each made by a fresh planner: a shared planner's cache of
    /// sub-plans makes the algorithm chosen for a length depend on the lengths planned
    /// before it, and with it the last bits of the power, so a curve's result would
    /// depend on which curves the same thread saw first.
    plans: std::collections::HashMap<usize, Arc<dyn Fft<f64>>>,
    fft: Option<(usize, Arc<dyn Fft<f64>>)>,
    /// The three grids: sum wy e^{2πi f t}, sum w e^{2πi f t}, sum w e^{2πi 2f t}.
    ga: Vec<Complex64>,
    gb: Vec<Complex64>,
    gc: Vec<Complex64>,
    fft_scratch: Vec<Complex64>,
    e3: Vec<f64>,
    /// (M, n, Msp) the deconvolution table below was made for.
    deconv_key: (usize, usize, usize),
    deconv: Vec<f64>,
    tau: f64,
    /// Per point of the transform being spread (see [`spread_factors`]).
    pts: SpreadPoints,
}

/// Per point: the left grid cell, the Gaussian weight of its first cell and the ratio
/// from one cell to the next, and the phasor (re, im).
#[derive(Default)]
struct SpreadPoints {
    cell: Vec<f64>,
    first: Vec<f64>,
    ratio: Vec<f64>,
    re: Vec<f64>,
    im: Vec<f64>,
}

impl Default for NufftScratch {
    fn default() -> Self {
        Self::new(NufftParams::default())
    }
}

impl NufftScratch {
    /// Empty scratch for `params`; plans and tables are made on first use.
    pub fn new(params: NufftParams) -> Self {
        NufftScratch {
            params,
            plans: std::collections::HashMap::new(),
            fft: None,
            ga: Vec::new(),
            gb: Vec::new(),
            gc: Vec::new(),
            fft_scratch: Vec::new(),
            e3: Vec::new(),
            deconv_key: (0, 0, 0),
            deconv: Vec::new(),
            tau: 0.0,
            pts: SpreadPoints::default(),
        }
    }

    /// Prepare plans and tables for M modes; no-op (no allocation) when unchanged.
    fn prepare(&mut self, m: usize) {
        let msp = self.params.half_width.max(2);
        let want = (self.params.oversampling * m as f64).ceil() as usize;
        let n = fast_len(want.max(2 * msp + 2));
        if self.fft.as_ref().map(|(len, _)| *len) != Some(n) {
            let plan = self
                .plans
                .entry(n)
                .or_insert_with(|| FftPlanner::new().plan_fft_inverse(n))
                .clone();
            self.fft_scratch
                .resize(plan.get_inplace_scratch_len(), Complex64::new(0.0, 0.0));
            self.fft = Some((n, plan));
        }
        if self.deconv_key != (m, n, msp) {
            let r = n as f64 / m as f64;
            let tau = PI * msp as f64 / ((m * m) as f64 * r * (r - 0.5));
            let scale = (PI / tau).sqrt() / n as f64;
            // every curve has its own M, so this runs once per periodogram: vectorised
            self.deconv.resize(m, 0.0);
            deconv_table(&mut self.deconv, m / 2, tau, scale);
            let hg = 2.0 * PI / n as f64;
            self.e3.clear();
            // l runs over -(Msp-1)..=Msp
            self.e3.extend((0..2 * msp).map(|i| {
                let l = i as f64 - (msp as f64 - 1.0);
                (-(l * hg) * (l * hg) / (4.0 * tau)).exp()
            }));
            self.tau = tau;
            self.deconv_key = (m, n, msp);
        }
        for g in [&mut self.ga, &mut self.gb, &mut self.gc] {
            g.clear();
            g.resize(n, Complex64::new(0.0, 0.0));
        }
    }
}

crate::numeric::simd::dispatch! {
/// `table[k] = scale * exp(tau (k - h)^2)`, the Gaussian deconvolution factors of modes
/// `k - h` (Greengard & Lee 2004, eq. 7), with the branch-free [`vmath::exp`] so that the
/// loop vectorises (within 2 ulp of libm; the factors need far less).
fn deconv_table(table: &mut [f64], h: usize, tau: f64, scale: f64) {
    // symmetric about k = h (h = m/2 <= m - h): the upper half, then its mirror image
    // (mode -h of an even m has no mirror)
    let factor = |j: usize| scale * vmath::exp((j * j) as f64 * tau);
    let (low, high) = table.split_at_mut(h);
    for (j, d) in high.iter_mut().enumerate() {
        *d = factor(j);
    }
    for (k, d) in low.iter_mut().enumerate() {
        *d = high.get(h - k).copied().unwrap_or_else(|| factor(h - k));
    }
}
}

crate::numeric::simd::dispatch! {
/// Deconvolved output modes `k - h`, `k < m = deconv.len()`, of the transformed grid
/// into `re[k]`, `im[k]`. On the periodic grid, modes `-h..0` sit in its last `h`
/// cells and `0..m-h` in its first ones: two contiguous runs.
fn unpack(grid: &[Complex64], deconv: &[f64], re: &mut [f64], im: &mut [f64]) {
    let (m, n) = (deconv.len(), grid.len());
    let h = m / 2;
    let runs = [(0..h, n - h), (h..m, 0)];
    for (ks, at) in runs {
        let cells = &grid[at..at + ks.len()];
        let (re, im, d) = (&mut re[ks.clone()], &mut im[ks.clone()], &deconv[ks]);
        for (((z, d), r), i) in cells.iter().zip(d).zip(re.iter_mut()).zip(im.iter_mut()) {
            *r = z.re * d;
            *i = z.im * d;
        }
    }
}
}

/// FFT length >= n of the form q*2^a (q in 1,3,5,9,15,25) with the least estimated
/// cost n*log2(n)*(1 for powers of two, 1.2 otherwise: rustfft's mixed-radix lengths ran
/// about 1.2 times slower per point when measured); a larger n only raises the
/// oversampling.
pub fn fast_len(n: usize) -> usize {
    let n = n.max(2);
    let mut best = (f64::INFINITY, n.next_power_of_two());
    for q in [1usize, 3, 5, 9, 15, 25] {
        let mut m = q;
        while m < n {
            m *= 2;
        }
        let cost = m as f64 * (m as f64).log2() * if q == 1 { 1.0 } else { 1.2 };
        if cost < best.0 {
            best = (cost, m);
        }
    }
    best.1
}

/// Spread sources onto the periodic grid with the Gaussian kernel. Position of point j is
/// 2*pi*frac(step * tt_j); its phasor pre-factor is e^{2 pi i f tt_j} with
/// f = mult*(f0 + h*df), `base = (f0, df, h, mult)` (phase in double-double, see
/// `sums::phase_cycles`).
/// Uses Greengard-Lee "fast Gaussian gridding": exp(-(l h - d)^2/4tau) =
/// E3[l] * E2^l * E1: the per-point factors in one vectorised pass ([`spread_factors`]),
/// then products only.
#[allow(clippy::too_many_arguments)]
fn spread(
    tt: &[f64],
    amp_a: &[f64],
    amp_b: Option<&[f64]>,
    step: f64,
    base: (f64, f64, usize, f64),
    msp: usize,
    tau: f64,
    e3: &[f64],
    pts: &mut SpreadPoints,
    ga: &mut [Complex64],
    gb: &mut [Complex64],
) {
    let n = ga.len();
    // every value is written by spread_factors: only the lengths matter
    for v in [
        &mut pts.cell,
        &mut pts.first,
        &mut pts.ratio,
        &mut pts.re,
        &mut pts.im,
    ] {
        v.resize(tt.len(), 0.0);
    }
    spread_factors(tt, step, base, n, msp, tau, pts);
    for j in 0..tt.len() {
        let ph = Complex64::new(pts.re[j], pts.im[j]);
        let ca = ph * amp_a[j];
        let cb = amp_b.map(|b| ph * b[j]);
        let (mut p, e2) = (pts.first[j], pts.ratio[j]);
        let m0 = pts.cell[j] as usize;
        // the 2 Msp cells from m0 - (Msp - 1), wrapping around the periodic grid
        let s0 = (m0 as isize - (msp as isize - 1)).rem_euclid(n as isize) as usize;
        let first = (n - s0).min(e3.len());
        for (i, &e) in e3.iter().enumerate() {
            let g = e * p;
            p *= e2;
            let idx = if i < first { s0 + i } else { i - first };
            ga[idx] += ca * g;
            if let Some(cb) = cb {
                gb[idx] += cb * g;
            }
        }
    }
}

crate::numeric::simd::dispatch! {
/// The per-point factors of [`spread`] into `pts`: left grid cell m0 of the point's
/// position x (grid units), d = (x - m0) * 2 pi / n, the first cell's weight
/// E1 E2^-(Msp-1) = exp(-d^2/4tau - (Msp-1) d h/2tau) and the ratio E2 = exp(d h/2tau),
/// and the phasor; branch-free ([`vmath::exp`], [`vmath::sincos_turns`]), so the loop
/// vectorises.
fn spread_factors(
    tt: &[f64],
    step: f64,
    base: (f64, f64, usize, f64),
    n: usize,
    msp: usize,
    tau: f64,
    pts: &mut SpreadPoints,
) {
    let hg = 2.0 * PI / n as f64;
    let (f0, df, h, mult) = base;
    let (nf, back) = (n as f64, (msp - 1) as f64);
    let SpreadPoints {
        cell,
        first,
        ratio,
        re,
        im,
    } = pts;
    let out = cell
        .iter_mut()
        .zip(first.iter_mut())
        .zip(ratio.iter_mut())
        .zip(re.iter_mut())
        .zip(im.iter_mut());
    for (&t, ((((cell, first), ratio), re), im)) in tt.iter().zip(out) {
        let u = step * t;
        let x = (u - u.floor()) * nf; // grid units, in [0, n)
        let m0 = x.floor().min(nf - 1.0);
        let d = (x - m0) * hg; // distance to the left grid point, radians
        let b = d * hg / (2.0 * tau);
        *cell = m0;
        *first = vmath::exp(-d * d / (4.0 * tau) - back * b);
        *ratio = vmath::exp(b);
        (*im, *re) = vmath::sincos_turns(phase_cycles(f0, df, h, mult, t));
    }
}
}

/// The three transformed grids in `sc` (see [`NufftScratch`]) for the M = `grid.n`
/// modes; `tt` are times minus `t_ref`; w, wy the weights and weighted data.
#[allow(clippy::too_many_arguments)]
fn transform(
    t: &[f64],
    w: &[f64],
    wy: &[f64],
    t_ref: f64,
    grid: &FreqGrid,
    sc: &mut NufftScratch,
    tt_buf: &mut Vec<f64>,
) {
    assert!(w.len() == t.len() && wy.len() == t.len());
    let m = grid.n;
    tt_buf.clear();
    tt_buf.extend(t.iter().map(|&x| x - t_ref));
    sc.prepare(m);
    let msp = sc.params.half_width.max(2);
    let fft = sc.fft.as_ref().unwrap().1.clone();
    // sum (wy, w) e^{i 2 pi f_k t}, f_k = f0 + k df
    spread(
        tt_buf,
        wy,
        Some(w),
        grid.df,
        (grid.f0, grid.df, m / 2, 1.0),
        msp,
        sc.tau,
        &sc.e3,
        &mut sc.pts,
        &mut sc.ga,
        &mut sc.gb,
    );
    // sum w e^{i 2 pi (2 f_k) t}, i.e. base 2 f0 and step 2 df, same M
    spread(
        tt_buf,
        w,
        None,
        2.0 * grid.df,
        (grid.f0, grid.df, m / 2, 2.0),
        msp,
        sc.tau,
        &sc.e3,
        &mut sc.pts,
        &mut sc.gc,
        &mut sc.gb,
    );
    for g in [&mut sc.ga, &mut sc.gb, &mut sc.gc] {
        fft.process_with_scratch(g, &mut sc.fft_scratch);
    }
}

/// Fast trig sums (same definition and output as `sums::trig_sums_direct`) via the
/// Gaussian NUFFT. `tt` are times minus `t_ref`; w, wy the weights and weighted data.
#[allow(clippy::too_many_arguments)]
pub fn trig_sums_nufft(
    t: &[f64],
    w: &[f64],
    wy: &[f64],
    t_ref: f64,
    grid: &FreqGrid,
    sc: &mut NufftScratch,
    tt_buf: &mut Vec<f64>,
    out: &mut TrigSums,
) {
    out.resize(grid.n);
    if grid.n == 0 {
        return;
    }
    transform(t, w, wy, t_ref, grid, sc, tt_buf);
    unpack(&sc.ga, &sc.deconv, &mut out.yc, &mut out.ys);
    unpack(&sc.gb, &sc.deconv, &mut out.c, &mut out.s);
    unpack(&sc.gc, &sc.deconv, &mut out.c2, &mut out.s2);
}

/// GLS power straight from the NUFFT grids: what [`trig_sums_nufft`] and
/// [`power_from_sums`](crate::numeric::periodogram::power::power_from_sums) give (the same
/// bits), without writing and reading back the six sums; `yy` as there.
#[allow(clippy::too_many_arguments)]
pub fn power_nufft(
    t: &[f64],
    w: &[f64],
    wy: &[f64],
    t_ref: f64,
    grid: &FreqGrid,
    yy: f64,
    sc: &mut NufftScratch,
    tt_buf: &mut Vec<f64>,
    power: &mut [f64],
) {
    if grid.n == 0 {
        return;
    }
    transform(t, w, wy, t_ref, grid, sc, tt_buf);
    power_from_grids(&sc.ga, &sc.gb, &sc.gc, &sc.deconv, yy, &mut power[..grid.n]);
}

crate::numeric::simd::dispatch! {
/// The power of modes `k - h` straight from the three transformed grids (see [`unpack`]
/// for the layout): the sums deconvolved in registers, then [`gls_power`].
fn power_from_grids(
    ga: &[Complex64],
    gb: &[Complex64],
    gc: &[Complex64],
    deconv: &[f64],
    yy: f64,
    power: &mut [f64],
) {
    let (m, n) = (deconv.len(), ga.len());
    let h = m / 2;
    for (ks, at) in [(0..h, n - h), (h..m, 0)] {
        let cells = at..at + ks.len();
        let (a, b, c) = (&ga[cells.clone()], &gb[cells.clone()], &gc[cells]);
        let (d, p) = (&deconv[ks.clone()], &mut power[ks]);
        for ((((p, a), b), c), &d) in p.iter_mut().zip(a).zip(b).zip(c).zip(d) {
            let (c_, s_) = (b.re * d, b.im * d);
            *p = gls_power(c_, s_, a.re * d, a.im * d, c.re * d, c.im * d, yy);
        }
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sums of one curve on one grid, with `sc` as it is.
    fn sums(t: &[f64], m: usize, sc: &mut NufftScratch) -> Vec<u64> {
        let w: Vec<f64> = t.iter().map(|x| 1.0 + 0.5 * (3.1 * x).cos()).collect();
        let wy: Vec<f64> = t.iter().zip(&w).map(|(x, w)| w * (0.9 * x).sin()).collect();
        let grid = FreqGrid {
            f0: 0.01,
            df: 0.0007,
            n: m,
        };
        let (mut out, mut buf) = (TrigSums::default(), Vec::new());
        trig_sums_nufft(t, &w, &wy, 50.0, &grid, sc, &mut buf, &mut out);
        let all = [&out.c, &out.s, &out.yc, &out.ys, &out.c2, &out.s2];
        all.iter()
            .flat_map(|v| v.iter().map(|x| x.to_bits()))
            .collect()
    }

    /// A curve's sums do not depend on what its scratch computed before: every length
    /// gives the same bits from a fresh scratch and from one that has transformed many
    /// other lengths first (a shared FFT planner chose the algorithm of a length from
    /// the sub-plans it had cached, so a thread's earlier curves moved the last bits).
    #[test]
    fn sums_do_not_depend_on_the_scratch_history() {
        let t: Vec<f64> = (0..157)
            .map(|i| 100.0 * (i as f64 * 0.618_033_988_7).fract() + 0.01 * i as f64)
            .collect();
        let mut warm = NufftScratch::default();
        for m in (40..9000).step_by(137) {
            let _ = sums(&t, m, &mut warm);
        }
        for m in [700, 1200, 2047, 2500, 3333, 5000, 7001] {
            let fresh = sums(&t, m, &mut NufftScratch::default());
            assert!(sums(&t, m, &mut warm) == fresh, "M = {m}");
        }
    }
}
