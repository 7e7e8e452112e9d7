//! Multi-harmonic (truncated Fourier series) weighted least-squares fits at one
//! frequency, the shape shared across bands with per-band offsets and optional per-band
//! amplitude scales, and [`refine_period`], which re-ranks periodogram peaks and their
//! daily, sidereal and yearly aliases by the fit's chi-square.
//!
//! Model (Schwarzenberg-Czerny 1996, ApJ 460, L107; shared shape as in VanderPlas &
//! Ivezic 2015, ApJ 812, 18, sect. 3), weights 1/dy^2:
//!   y_i = m_b + a_b * sum_{k=1..K} [A_k cos(2 pi k f t_i) + B_k sin(2 pi k f t_i)].
//! Linear with a_b = 1; with per-band scales bilinear, solved by alternating least
//! squares (no step raises chi2). Every fit works from per-band Gram matrices of
//! [1, cos x, sin x, ..., cos Kx, sin Kx], which the product-to-sum identities build from
//! sum w cos(hx), sum w sin(hx) for h = 1..2K and sum wy cos(hx), sum wy sin(hx) for
//! h = 1..K: one pass over the points per frequency, one sincos per point.

use crate::numeric::periodogram::gls::time_reference;
use crate::numeric::periodogram::grid::FreqGrid;
use crate::numeric::periodogram::peaks::{top_peaks, Peak};
use crate::numeric::vmath;

/// Options of the multi-harmonic fit.
#[derive(Clone, Copy, Debug)]
pub struct HarmonicOptions {
    /// Number of harmonics K (>= 1).
    pub nharm: usize,
    /// Fit a separate amplitude scale a_b per band (shape shared); else a_b = 1.
    pub band_scale: bool,
    /// Alternating least-squares rounds when `band_scale` is set.
    pub scale_iters: usize,
}

impl Default for HarmonicOptions {
    fn default() -> Self {
        HarmonicOptions {
            nharm: 4,
            band_scale: true,
            scale_iters: 4,
        }
    }
}

/// Scratch memory and the last fit's coefficients.
#[derive(Clone, Debug, Default)]
pub struct HarmonicScratch {
    /// Per band: packed Gram (P x P, P = 1 + 2K, row-major), rhs (P), yy, present flag.
    gram: Vec<f64>,
    rhs: Vec<f64>,
    yy: Vec<f64>,
    ybar: Vec<f64>,
    present: Vec<bool>,
    /// Weight sum per band.
    wsum: Vec<f64>,
    /// The points grouped by band, each band padded with zero-weight points to whole
    /// lanes: times relative to `t_ref`, weights, weighted centred values.
    tt: Vec<f64>,
    w: Vec<f64>,
    wy: Vec<f64>,
    /// Band `b` occupies `start[b]..start[b + 1]` of `tt`/`w`/`wy`.
    start: Vec<usize>,
    /// Points per band, then the fill position per band (while preparing).
    cursor: Vec<usize>,
    /// Lane accumulators of the sums kernel (6K rows).
    acc: Vec<[f64; LANES]>,
    /// Sub-grid scans ([`Phasors::Stepped`]): per point (laid out as `tt`), the phasor
    /// e^{2πi f tt} of the next frequency and the step e^{2πi δ tt} to the one after.
    ph_c: Vec<f64>,
    ph_s: Vec<f64>,
    step_c: Vec<f64>,
    step_s: Vec<f64>,
    /// Per band: C_1..C_2K, S_1..S_2K, YC_1..YC_K, YS_1..YS_K.
    sums: Vec<f64>,
    q: Vec<f64>,
    r: Vec<f64>,
    rcopy: Vec<f64>,
    /// Shape coefficients [A_1, B_1, ..., A_K, B_K] of the last [`harmonic_chi2`] fit
    /// (the refinement scans do not fill this or the next two).
    pub shape: Vec<f64>,
    /// Per-band offsets m_b of the last fit, in data units.
    pub offsets: Vec<f64>,
    /// Per-band amplitude scales a_b of the last fit.
    pub scales: Vec<f64>,
    /// Time origin of the last fit's phases.
    pub t_ref: f64,
    peaks: Vec<Peak>,
    candidates: Vec<Candidate>,
}

/// Factorise the symmetric positive definite `n x n` matrix `q` (row-major) in place as
/// `L D L^T` without square roots (one division per column: the factorisation is a chain
/// of dependent steps, so fewer slow operations on it is what makes it fast). `L` goes
/// below the diagonal, `D` on it, and `L[i][j] d_j` above it. False if `q` is not
/// positive definite.
#[inline(always)]
fn ldl_factor(q: &mut [f64], n: usize) -> bool {
    let q = &mut q[..n * n];
    for j in 0..n {
        let mut d = q[j * n + j];
        for k in 0..j {
            d -= q[j * n + k] * q[k * n + j];
        }
        if !(d > 0.0) {
            return false;
        }
        q[j * n + j] = d;
        let inv = 1.0 / d;
        for i in j + 1..n {
            let mut s = q[i * n + j];
            for k in 0..j {
                s -= q[i * n + k] * q[k * n + j];
            }
            q[j * n + i] = s;
            q[i * n + j] = s * inv;
        }
    }
    true
}

/// `r <- L^-1 r` for the unit lower triangle `L` of [`ldl_factor`]; returns
/// `r^T Q^-1 r = z^T D^-1 z` with `z = L^-1 r`.
#[inline(always)]
fn ldl_forward(q: &[f64], r: &mut [f64], n: usize) -> f64 {
    let (q, r) = (&q[..n * n], &mut r[..n]);
    let mut quad = 0.0;
    for i in 0..n {
        let mut s = r[i];
        for k in 0..i {
            s -= q[i * n + k] * r[k];
        }
        r[i] = s;
        quad += s * s / q[i * n + i];
    }
    quad
}

/// Solve the symmetric positive definite system Q x = r in place (x -> r) through
/// [`ldl_factor`]; false if Q is not positive definite.
#[inline(always)]
fn cholesky_solve(q: &mut [f64], r: &mut [f64], n: usize) -> bool {
    if !ldl_factor(q, n) {
        return false;
    }
    let (q, r) = (&q[..n * n], &mut r[..n]);
    ldl_forward(q, r, n);
    for i in 0..n {
        r[i] /= q[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = r[i];
        for k in i + 1..n {
            s -= q[k * n + i] * r[k];
        }
        r[i] = s;
    }
    true
}

/// Lanes of the sums kernel (one AVX-512 register of f64).
const LANES: usize = 8;

/// Weighted chi-square of the best multi-harmonic model at frequency `freq`.
/// `band[i] < nbands`; `dy = None` means unit weights. The fitted coefficients are left in
/// `ws.shape`, `ws.offsets` (in data units), `ws.scales`. Returns +inf if the system is
/// singular (too few points for B + 2K parameters).
#[allow(clippy::too_many_arguments)]
pub fn harmonic_chi2(
    t: &[f64],
    y: &[f64],
    dy: Option<&[f64]>,
    band: &[u8],
    nbands: usize,
    freq: f64,
    opts: &HarmonicOptions,
    ws: &mut HarmonicScratch,
) -> f64 {
    prepare(t, y, dy, band, nbands, 0.0, ws);
    chi2_with(freq, Phasors::Direct, Coefficients::Keep, opts, ws)
}

/// Groups the points by band, centres each band on its weighted mean (conditioning of
/// the Gram matrix) and pads each band to whole lanes with zero-weight points. Done
/// once per data set; every frequency then costs one pass ([`chi2_prepared`]).
/// Weights are `1 / (dy^2 + floor^2)` (`floor` = 0: plain `1 / dy^2`; no `dy`: unit).
fn prepare(
    t: &[f64],
    y: &[f64],
    dy: Option<&[f64]>,
    band: &[u8],
    nbands: usize,
    floor: f64,
    ws: &mut HarmonicScratch,
) {
    let f2 = floor * floor;
    let weight = |i: usize| dy.map_or(1.0, |d| 1.0 / (d[i] * d[i] + f2));
    ws.t_ref = time_reference(t);
    for v in [&mut ws.yy, &mut ws.ybar, &mut ws.wsum] {
        v.clear();
        v.resize(nbands, 0.0);
    }
    ws.present.clear();
    ws.present.resize(nbands, false);
    ws.cursor.clear();
    ws.cursor.resize(nbands, 0);
    for i in 0..t.len() {
        let b = band[i] as usize;
        let w = weight(i);
        ws.wsum[b] += w;
        ws.ybar[b] += w * y[i];
        ws.cursor[b] += 1;
    }
    ws.start.clear();
    ws.start.push(0);
    for b in 0..nbands {
        if ws.wsum[b] > 0.0 {
            ws.ybar[b] /= ws.wsum[b];
            ws.present[b] = true;
        }
        let padded = ws.cursor[b].div_ceil(LANES) * LANES;
        ws.start.push(ws.start[b] + padded);
    }
    let total = ws.start[nbands];
    for v in [&mut ws.tt, &mut ws.w, &mut ws.wy] {
        v.clear();
        v.resize(total, 0.0);
    }
    // fill each band's points in input order (the cursor starts at the band's start)
    ws.cursor.copy_from_slice(&ws.start[..nbands]);
    for i in 0..t.len() {
        let b = band[i] as usize;
        let k = ws.cursor[b];
        ws.cursor[b] += 1;
        let w = weight(i);
        let yc = y[i] - ws.ybar[b];
        ws.tt[k] = t[i] - ws.t_ref;
        ws.w[k] = w;
        ws.wy[k] = w * yc;
        ws.yy[b] += w * yc * yc;
    }
}

/// Where the kernel takes each point's phasor e^{2πi f tt} from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phasors {
    /// One `sincos` per point at the given frequency.
    Direct,
    /// The next frequency of a uniform scan started by [`start_scan`]: the kept phasors,
    /// advanced by one complex product per point (no `sincos`). Exact up to rounding
    /// (a few ulp after the handful of steps of a sub-grid).
    Stepped,
}

/// One band's slices of the stepped phasors (see [`HarmonicScratch`]).
struct BandPhasors<'a> {
    c: &'a mut [f64],
    s: &'a mut [f64],
    step_c: &'a [f64],
    step_s: &'a [f64],
}

/// Start a uniform scan `lo, lo + step, ...`: the phasors of `lo` and of the step, per point.
fn start_scan(lo: f64, step: f64, ws: &mut HarmonicScratch) {
    let n = ws.tt.len();
    for v in [&mut ws.ph_c, &mut ws.ph_s, &mut ws.step_c, &mut ws.step_s] {
        v.resize(n, 0.0);
    }
    cis_table(lo, &ws.tt, &mut ws.ph_c, &mut ws.ph_s);
    cis_table(step, &ws.tt, &mut ws.step_c, &mut ws.step_s);
}

crate::numeric::simd::dispatch! {
/// `(c, s) = (cos, sin)(2π f tt)` per point, with the kernel's branch-free `sincos`.
fn cis_table(f: f64, tt: &[f64], c: &mut [f64], s: &mut [f64]) {
    for ((&t, c), s) in tt.iter().zip(c.iter_mut()).zip(s.iter_mut()) {
        (*s, *c) = vmath::sincos_turns(f * t);
    }
}
}

/// Most harmonics a fit may have (the `harmonics` configuration key is checked against
/// it): the lane accumulators of the sums kernel are fixed-size arrays.
pub const MAX_HARMONICS: usize = 12;

/// The lane sums over one band's (padded) points at frequency `f`: rows `0..2K` get
/// `w cos(hx)`, rows `2K..4K` `w sin(hx)` for h = 1..2K, rows `4K..5K` `wy cos(hx)` and
/// `5K..6K` `wy sin(hx)` for h = 1..K, with `x = 2π f tt`. One `sincos` per point, the
/// harmonics by complex multiplication. The accumulators are local arrays of `2 M` and
/// `M` rows (`M >= K`): called with `M = K` for the usual counts, so that the loops over
/// harmonics have constant bounds and the accumulators stay in vector registers.
#[inline(always)]
fn harmonic_sums_impl<const FMA: bool, const M: usize, const M2: usize>(
    tt: &[f64],
    w: &[f64],
    wy: &[f64],
    f: f64,
    nharm: usize,
    acc: &mut [[f64; LANES]],
    mut stepped: Option<BandPhasors>,
) {
    // a * b + c, fused where the instruction set has FMA (one instruction, one rounding)
    let mac = |a: f64, b: f64, c: f64| if FMA { a.mul_add(b, c) } else { a * b + c };
    debug_assert!(nharm <= M && M2 == 2 * M);
    let nh = 2 * nharm;
    let mut acc_c = [[0.0f64; LANES]; M2];
    let mut acc_s = [[0.0f64; LANES]; M2];
    let mut acc_yc = [[0.0f64; LANES]; M];
    let mut acc_ys = [[0.0f64; LANES]; M];
    for (q, ((tt, w), wy)) in tt
        .chunks_exact(LANES)
        .zip(w.chunks_exact(LANES))
        .zip(wy.chunks_exact(LANES))
        .enumerate()
    {
        let tt: &[f64; LANES] = tt.try_into().expect("whole lane");
        let w: &[f64; LANES] = w.try_into().expect("whole lane");
        let wy: &[f64; LANES] = wy.try_into().expect("whole lane");
        let mut c1 = [0.0f64; LANES];
        let mut s1 = [0.0f64; LANES];
        if let Some(ph) = stepped.as_mut() {
            // the phasor kept from the previous frequency, advanced by one step
            let lanes = q * LANES..(q + 1) * LANES;
            let (pc, ps) = (&mut ph.c[lanes.clone()], &mut ph.s[lanes.clone()]);
            let (rc, rs) = (&ph.step_c[lanes.clone()], &ph.step_s[lanes]);
            for j in 0..LANES {
                (c1[j], s1[j]) = (pc[j], ps[j]);
                pc[j] = mac(c1[j], rc[j], -(s1[j] * rs[j]));
                ps[j] = mac(s1[j], rc[j], c1[j] * rs[j]);
            }
        } else {
            for j in 0..LANES {
                (s1[j], c1[j]) = vmath::sincos_turns(f * tt[j]);
            }
        }
        let (mut c, mut s) = (c1, s1);
        for h in 0..nh {
            let (ac, as_) = (&mut acc_c[h], &mut acc_s[h]);
            for j in 0..LANES {
                ac[j] = mac(w[j], c[j], ac[j]);
                as_[j] = mac(w[j], s[j], as_[j]);
            }
            if h < nharm {
                let (ayc, ays) = (&mut acc_yc[h], &mut acc_ys[h]);
                for j in 0..LANES {
                    ayc[j] = mac(wy[j], c[j], ayc[j]);
                    ays[j] = mac(wy[j], s[j], ays[j]);
                }
            }
            for j in 0..LANES {
                let cn = mac(c[j], c1[j], -(s[j] * s1[j]));
                s[j] = mac(s[j], c1[j], c[j] * s1[j]);
                c[j] = cn;
            }
        }
    }
    let rows = acc_c[..nh]
        .iter()
        .chain(&acc_s[..nh])
        .chain(&acc_yc[..nharm])
        .chain(&acc_ys[..nharm]);
    for (dst, src) in acc.iter_mut().zip(rows) {
        *dst = *src;
    }
}

crate::numeric::simd::dispatch! {
/// [`harmonic_sums_impl`] with fused multiply-adds on the SIMD variants and none on the
/// baseline: the same CPU always takes the same variant, so results do not depend on
/// ranks or threads; CPUs with and without FMA differ in the last bits.
fn harmonic_sums(
    tt: &[f64],
    w: &[f64],
    wy: &[f64],
    f: f64,
    nharm: usize,
    acc: &mut [[f64; LANES]],
    ph: Option<BandPhasors>,
) {
    macro_rules! sized {
        ($fma:literal) => {
            match nharm {
                1 => harmonic_sums_impl::<$fma, 1, 2>(tt, w, wy, f, 1, acc, ph),
                2 => harmonic_sums_impl::<$fma, 2, 4>(tt, w, wy, f, 2, acc, ph),
                3 => harmonic_sums_impl::<$fma, 3, 6>(tt, w, wy, f, 3, acc, ph),
                4 => harmonic_sums_impl::<$fma, 4, 8>(tt, w, wy, f, 4, acc, ph),
                5 => harmonic_sums_impl::<$fma, 5, 10>(tt, w, wy, f, 5, acc, ph),
                6 => harmonic_sums_impl::<$fma, 6, 12>(tt, w, wy, f, 6, acc, ph),
                _ => harmonic_sums_impl::<$fma, MAX_HARMONICS, { 2 * MAX_HARMONICS }>(
                    tt, w, wy, f, nharm, acc, ph,
                ),
            }
        };
    }
    if multiversion::target::target_cfg_f!(target_feature = "fma") {
        sized!(true)
    } else {
        sized!(false)
    }
}
}

/// Chi-square at `freq` of the data set last given to [`prepare`]: per band, the trig
/// sums of one pass give the Gram matrix of [1, cos x, sin x, ..., cos Kx, sin Kx] through
/// the product-to-sum identities (cos jx cos kx = [cos (j-k)x + cos (j+k)x] / 2, ...),
/// then the shared-shape solve.
fn chi2_prepared(freq: f64, opts: &HarmonicOptions, ws: &mut HarmonicScratch) -> f64 {
    chi2_with(freq, Phasors::Direct, Coefficients::Skip, opts, ws)
}

/// Whether a fit leaves its coefficients in `ws.shape`, `ws.offsets`, `ws.scales` (the
/// refinement scans need chi2 only: with one band that skips the back substitution).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Coefficients {
    Keep,
    Skip,
}

/// [`chi2_prepared`] with the phasors from `src` (`freq` must then be the scan's next
/// frequency).
fn chi2_with(
    freq: f64,
    src: Phasors,
    coefs: Coefficients,
    opts: &HarmonicOptions,
    ws: &mut HarmonicScratch,
) -> f64 {
    assert!(
        opts.nharm <= MAX_HARMONICS,
        "at most {MAX_HARMONICS} harmonics"
    );
    // the usual harmonic counts get a copy with constant sizes: small loops unroll
    match opts.nharm.max(1) {
        1 => chi2_prepared_impl(freq, 1, src, coefs, opts, ws),
        2 => chi2_prepared_impl(freq, 2, src, coefs, opts, ws),
        3 => chi2_prepared_impl(freq, 3, src, coefs, opts, ws),
        4 => chi2_prepared_impl(freq, 4, src, coefs, opts, ws),
        5 => chi2_prepared_impl(freq, 5, src, coefs, opts, ws),
        6 => chi2_prepared_impl(freq, 6, src, coefs, opts, ws),
        nharm => chi2_prepared_impl(freq, nharm, src, coefs, opts, ws),
    }
}

#[inline(always)]
fn chi2_prepared_impl(
    freq: f64,
    nharm: usize,
    src: Phasors,
    coefs: Coefficients,
    opts: &HarmonicOptions,
    ws: &mut HarmonicScratch,
) -> f64 {
    let p = 1 + 2 * nharm;
    let nh = 2 * nharm;
    let nbands = ws.present.len();
    // every entry of a present band is overwritten below: no clearing per frequency
    ws.gram.resize(nbands * p * p, 0.0);
    ws.rhs.resize(nbands * p, 0.0);
    ws.acc.resize(6 * nharm, [0.0; LANES]);
    ws.sums.resize(6 * nharm, 0.0);
    for b in 0..nbands {
        if !ws.present[b] {
            continue;
        }
        let r = ws.start[b]..ws.start[b + 1];
        let ph = (src == Phasors::Stepped).then(|| BandPhasors {
            c: &mut ws.ph_c[r.clone()],
            s: &mut ws.ph_s[r.clone()],
            step_c: &ws.step_c[r.clone()],
            step_s: &ws.step_s[r.clone()],
        });
        harmonic_sums(
            &ws.tt[r.clone()],
            &ws.w[r.clone()],
            &ws.wy[r],
            freq,
            nharm,
            &mut ws.acc,
            ph,
        );
        for (sum, lanes) in ws.sums.iter_mut().zip(&ws.acc) {
            *sum = lanes.iter().sum();
        }
        let (sc, rest) = ws.sums.split_at(nh);
        let (ss, rest) = rest.split_at(nh);
        let (syc, sys) = rest.split_at(nharm);
        // C_m and S_m for m = -2K..2K: C_0 = W, C_-m = C_m, S_0 = 0, S_-m = -S_m
        let cm = |m: isize| match m.unsigned_abs() {
            0 => ws.wsum[b],
            a => sc[a - 1],
        };
        let sm = |m: isize| match m {
            0 => 0.0,
            m if m > 0 => ss[m as usize - 1],
            m => -ss[m.unsigned_abs() - 1],
        };
        let g = &mut ws.gram[b * p * p..(b + 1) * p * p];
        // basis index of cos(jx) is 2j - 1 and of sin(jx) is 2j, j = 1..K; 0 is the constant
        g[0] = ws.wsum[b];
        for j in 1..=nharm as isize {
            let (cj, sj) = (2 * j as usize - 1, 2 * j as usize);
            (g[cj], g[cj * p]) = (cm(j), cm(j));
            (g[sj], g[sj * p]) = (sm(j), sm(j));
            for k in 1..=nharm as isize {
                let (ck, sk) = (2 * k as usize - 1, 2 * k as usize);
                g[cj * p + ck] = 0.5 * (cm(j - k) + cm(j + k));
                g[sj * p + sk] = 0.5 * (cm(j - k) - cm(j + k));
                // cos(jx) sin(kx) = [sin((k+j)x) + sin((k-j)x)] / 2
                let cs = 0.5 * (sm(k + j) + sm(k - j));
                (g[cj * p + sk], g[sk * p + cj]) = (cs, cs);
            }
        }
        let rb = &mut ws.rhs[b * p..(b + 1) * p];
        // the centred values have zero weighted sum
        rb[0] = 0.0;
        for k in 0..nharm {
            rb[1 + 2 * k] = syc[k];
            rb[2 + 2 * k] = sys[k];
        }
    }
    solve(nbands, nharm, coefs, opts, ws)
}

/// The shared-shape least squares from the per-band Gram matrices, right-hand sides and
/// `yy` in `ws`: the offsets are eliminated by their Schur complement; with per-band
/// scales, alternating steps follow (each cannot raise chi2). With
/// [`Coefficients::Skip`] and a single round, chi2 comes from the forward half of the
/// solve alone.
#[inline(always)]
fn solve(
    nbands: usize,
    nharm: usize,
    coefs: Coefficients,
    opts: &HarmonicOptions,
    ws: &mut HarmonicScratch,
) -> f64 {
    let p = 1 + 2 * nharm;
    let nh = 2 * nharm;
    ws.scales.clear();
    ws.scales.resize(nbands, 1.0);
    ws.offsets.clear();
    ws.offsets.resize(nbands, 0.0);
    ws.shape.clear();
    ws.shape.resize(nh, 0.0);
    // with one band the scale step is a no-op (a = 1 is already optimal for the fitted
    // shape, since scaling the shape is part of the linear fit), so one round suffices
    let bands_present = ws.present.iter().filter(|&&b| b).count();
    let rounds = if opts.band_scale && bands_present > 1 {
        opts.scale_iters.max(1)
    } else {
        1
    };
    let mut chi2 = f64::INFINITY;
    for round in 0..rounds {
        // theta step: eliminate the offsets m_b (Schur complement on G00).
        ws.q.clear();
        ws.q.resize(nh * nh, 0.0);
        ws.r.clear();
        ws.r.resize(nh, 0.0);
        let mut base = 0.0;
        for b in 0..nbands {
            if !ws.present[b] {
                continue;
            }
            let g = &ws.gram[b * p * p..(b + 1) * p * p];
            let rb = &ws.rhs[b * p..(b + 1) * p];
            let a = ws.scales[b];
            let inv00 = 1.0 / g[0];
            base += ws.yy[b] - rb[0] * rb[0] * inv00;
            for i in 0..nh {
                let gi = g[1 + i] * inv00;
                ws.r[i] += a * (rb[1 + i] - gi * rb[0]);
                for j in 0..nh {
                    ws.q[i * nh + j] += a * a * (g[(1 + i) * p + 1 + j] - gi * g[1 + j]);
                }
            }
        }
        // a relative ridge of 1e-12 keeps near-degenerate frequencies solvable without
        // changing chi2 measurably
        let tr: f64 = (0..nh).map(|i| ws.q[i * nh + i]).sum();
        for i in 0..nh {
            ws.q[i * nh + i] += 1e-12 * tr / nh as f64;
        }
        if coefs == Coefficients::Skip && rounds == 1 {
            // chi2 = base - r^T Q^-1 r needs the forward half of the solve only
            if !ldl_factor(&mut ws.q, nh) {
                return f64::INFINITY;
            }
            return (base - ldl_forward(&ws.q, &mut ws.r, nh)).max(0.0);
        }
        ws.rcopy.clear();
        ws.rcopy.extend_from_slice(&ws.r);
        if !cholesky_solve(&mut ws.q, &mut ws.r, nh) {
            return f64::INFINITY;
        }
        ws.shape.copy_from_slice(&ws.r);
        chi2 = base - (0..nh).map(|i| ws.shape[i] * ws.rcopy[i]).sum::<f64>();
        for b in 0..nbands {
            if !ws.present[b] {
                continue;
            }
            let g = &ws.gram[b * p * p..(b + 1) * p * p];
            let gth: f64 = (0..nh).map(|i| g[1 + i] * ws.shape[i]).sum();
            ws.offsets[b] = ws.ybar[b] + (ws.rhs[b * p] - ws.scales[b] * gth) / g[0];
        }
        if round + 1 == rounds {
            break;
        }
        // scale step: per band, 2x2 least squares for (m_b, a_b) with the shape fixed.
        for b in 0..nbands {
            if !ws.present[b] {
                continue;
            }
            let g = &ws.gram[b * p * p..(b + 1) * p * p];
            let rb = &ws.rhs[b * p..(b + 1) * p];
            let th = &ws.shape;
            let g0s: f64 = (0..nh).map(|i| g[1 + i] * th[i]).sum();
            let mut gss = 0.0;
            for i in 0..nh {
                for j in 0..nh {
                    gss += th[i] * g[(1 + i) * p + 1 + j] * th[j];
                }
            }
            let rs: f64 = (0..nh).map(|i| rb[1 + i] * th[i]).sum();
            let det = g[0] * gss - g0s * g0s;
            if det > 1e-12 * g[0] * gss.max(f64::MIN_POSITIVE) {
                ws.scales[b] = (g[0] * rs - g0s * rb[0]) / det;
            }
        }
    }
    chi2.max(0.0)
}

/// Value of a fitted shape (`HarmonicScratch::shape`, without offset and scale) at the
/// phase `x_cycles` = f (t - t_ref) turns.
pub fn shape_at(shape: &[f64], x_cycles: f64) -> f64 {
    shape_at_phasor(shape, vmath::sincos_turns_libm(x_cycles))
}

/// [`shape_at`] for the phasor `(sin, cos)` of the phase, as [`vmath::sincos_turns_libm`]
/// gives it (so a caller evaluating fixed phases can keep the phasors).
pub fn shape_at_phasor(shape: &[f64], (s1, c1): (f64, f64)) -> f64 {
    let (mut c, mut s) = (c1, s1);
    let mut v = 0.0;
    for k in 0..shape.len() / 2 {
        v += shape[2 * k] * c + shape[2 * k + 1] * s;
        let cn = c * c1 - s * s1;
        s = s * c1 + c * s1;
        c = cn;
    }
    v
}

/// Default of [`RefineOptions::error_floor`], magnitudes.
pub const DEFAULT_ERROR_FLOOR: f64 = 0.02;

/// Default of [`RefineOptions::unsure_margin`]: off. 75 (units of [`Refined::margin`])
/// is the value chosen on each half of the Stripe 82 stars and validated on the other
/// (docs/alias-log.md, stage 6): it helps sparse light curves, and on curves without a
/// clear period (where it runs for nearly every row) it costs about as much again as
/// the refinement, the second pass keeping the first pass's candidates.
pub const DEFAULT_UNSURE_MARGIN: f64 = 0.0;
/// Default of [`RefineOptions::unsure_peaks`].
pub const DEFAULT_UNSURE_PEAKS: usize = 12;

/// Options of `refine_period`.
#[derive(Clone, Copy, Debug)]
pub struct RefineOptions {
    /// Periodogram peaks considered.
    pub top_k: usize,
    /// When the pick among the top `top_k` peaks is unsure (its [`Refined::margin`]
    /// below `unsure_margin`, or NaN), the refinement is done again over the top
    /// `unsure_peaks` peaks and their aliases, and that result is kept: on sparse
    /// light curves the right peak is often below the fifth. 0 turns this off.
    pub unsure_margin: f64,
    /// Peaks of the second refinement (used when larger than `top_k`).
    pub unsure_peaks: usize,
    /// Alias spacings added as f +- n*a, n = 1..=alias_order (cycles per time unit):
    /// solar day, sidereal day, year.
    pub aliases: [f64; 3],
    /// Highest alias order n (1: f +- a only; 2 also f +- 2a, for peaks two days off).
    pub alias_order: usize,
    /// Half-width of each local search, in units of the periodogram grid step df.
    pub half_width: f64,
    /// Points of the coarse sub-grid per local search (before the polish).
    pub subgrid: usize,
    /// Target width of the polished minimum, as a fraction of the sub-grid step: Brent's
    /// method stops once the minimum is bracketed this tightly.
    pub polish_tol: f64,
    /// Candidates (lowest sub-grid chi2 first) that get the polish (Brent's method);
    /// the plain peak is always polished too.
    pub polish: usize,
    /// Minimum separation of distinct peaks, in units of df (side lobes are skipped).
    pub min_separation: f64,
    /// The multi-harmonic model whose chi-square ranks the candidates.
    pub harmonic: HarmonicOptions,
    /// Error floor added in quadrature to every error of the fit (data units: mag),
    /// weights `1 / (dy^2 + floor^2)`. Survey errors of bright stars (a few mmag) are far
    /// below the photometric repeatability and the star's own cycle-to-cycle scatter, so
    /// with `1 / dy^2` a handful of points decide between a period and its alias; the
    /// floor is the survey's repeatability (about 0.01-0.02 mag for SDSS, Ivezic et al.
    /// 2007). 0 gives plain `1 / dy^2` weights.
    pub error_floor: f64,
}

impl Default for RefineOptions {
    fn default() -> Self {
        RefineOptions {
            top_k: 5,
            unsure_margin: DEFAULT_UNSURE_MARGIN,
            unsure_peaks: DEFAULT_UNSURE_PEAKS,
            aliases: [1.0, 1.002_737_9, 1.0 / 365.25],
            alias_order: 1,
            half_width: 1.5,
            subgrid: 5,
            polish_tol: 0.003,
            polish: 3,
            min_separation: 2.0,
            harmonic: HarmonicOptions::default(),
            error_floor: DEFAULT_ERROR_FLOOR,
        }
    }
}

/// A refinement candidate after its sub-grid scan.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    peak: usize,
    offset: f64,
    scan: Scan,
    /// (frequency, chi2) after Brent's polish, once polished.
    polished: Option<(f64, f64)>,
    /// The polish an earlier pass over fewer peaks made of this candidate (the same
    /// scan gives the same polish): used, not recomputed, when this pass polishes it.
    earlier: Option<(f64, f64)>,
}

/// Result of `refine_period`.
#[derive(Clone, Copy, Debug)]
pub struct Refined {
    /// Best refined frequency.
    pub frequency: f64,
    /// Its period, `1 / frequency`.
    pub period: f64,
    /// Its multi-harmonic chi-square.
    pub chi2: f64,
    /// The plain periodogram maximum, for comparison.
    pub plain: Peak,
    /// Multi-harmonic chi-square at the (locally refined) plain peak.
    pub plain_chi2: f64,
    /// Index in the top-k list of the peak whose alias family won.
    pub from_peak: usize,
    /// The alias offset applied to that peak (0 = the peak itself).
    pub alias_offset: f64,
    /// How much better the winner fits than the best candidate at a distinct frequency
    /// (another peak or alias, more than `min_separation` grid steps away): their
    /// chi-square difference over the winner's reduced chi-square, i.e. the
    /// log-likelihood ratio (times 2) with the errors rescaled to the fit's own scatter.
    /// +inf when no distinct candidate exists (or the fit is exact); NaN when the fit has
    /// no degrees of freedom left.
    pub margin: f64,
}

/// Coarse minimum of chi2(f) on a sub-grid of `opts.subgrid` points over [lo, hi], for
/// the data set last prepared in `ws` (one phasor scan: no `sincos` per frequency).
fn subgrid_min(lo: f64, hi: f64, opts: &RefineOptions, ws: &mut HarmonicScratch) -> Scan {
    let m = opts.subgrid.max(3);
    let step = (hi - lo) / (m - 1) as f64;
    start_scan(lo, step, ws);
    // the lowest point and chi2 one step below and above it
    let (mut best_i, mut best) = (0, f64::INFINITY);
    let (mut below, mut above, mut prev) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for i in 0..m {
        let f = lo + step * i as f64;
        let c = chi2_with(f, Phasors::Stepped, Coefficients::Skip, &opts.harmonic, ws);
        if c < best {
            (best_i, best, below, above) = (i, c, prev, f64::INFINITY);
        } else if i == best_i + 1 {
            above = c;
        }
        prev = c;
    }
    Scan {
        f: lo + step * best_i as f64,
        chi2: best,
        step,
        sides: [below, above],
    }
}

/// A sub-grid minimum: frequency, chi2, the sub-grid step, and chi2 one step below and
/// above (infinite where the sub-grid ended).
#[derive(Clone, Copy, Debug)]
struct Scan {
    f: f64,
    chi2: f64,
    step: f64,
    sides: [f64; 2],
}

/// Brent's method (Brent 1973, ch. 5; the scipy `brent` form) on [f - step, f + step]
/// around a sub-grid minimum: parabolic steps through the three best points, golden
/// sections when a parabola is not to be trusted. The sub-grid neighbours seed the
/// first parabola when both were evaluated. Returns (f, chi2); never worse than `start`.
fn brent_polish(start: Scan, opts: &RefineOptions, ws: &mut HarmonicScratch) -> (f64, f64) {
    const CG: f64 = 0.381_966_011_250_105_1; // (3 - sqrt 5) / 2
    let mut chi = |f: f64| chi2_prepared(f, &opts.harmonic, ws);
    let step = start.step;
    let tol = (opts.polish_tol * step).max(1e-15 * start.f.abs());
    let (mut a, mut b) = (start.f - step, start.f + step);
    let (mut x, mut fx) = (start.f, start.chi2);
    let (mut w, mut fw, mut v, mut fv) = (x, fx, x, fx);
    let (mut d, mut e) = (0.0f64, 0.0f64);
    if start.sides.iter().all(|c| c.is_finite()) {
        (w, fw, v, fv) = (a, start.sides[0], b, start.sides[1]);
        e = step;
    }
    for _ in 0..100 {
        let xm = 0.5 * (a + b);
        if (x - xm).abs() <= 2.0 * tol - 0.5 * (b - a) {
            break;
        }
        let mut golden = true;
        if e.abs() > tol {
            let r = (x - w) * (fx - fv);
            let q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            let mut q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            let e_old = e;
            e = d;
            if p.abs() < (0.5 * q * e_old).abs() && p > q * (a - x) && p < q * (b - x) {
                d = p / q;
                let u = x + d;
                if u - a < 2.0 * tol || b - u < 2.0 * tol {
                    d = if xm >= x { tol } else { -tol };
                }
                golden = false;
            }
        }
        if golden {
            e = if x >= xm { a - x } else { b - x };
            d = CG * e;
        }
        let u = if d.abs() >= tol {
            x + d
        } else {
            x + tol.copysign(d)
        };
        let fu = chi(u);
        if fu <= fx {
            if u >= x {
                a = x;
            } else {
                b = x;
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    (x, fx)
}

/// Refine the period: take the top-k periodogram peaks, add their aliases f +- a for each
/// alias spacing a, minimise the multi-harmonic chi-square around each candidate within
/// +- half_width*df, and return the lowest-chi2 candidate together with the plain peak.
/// Candidates outside [grid.f0, grid.f_last()] (the caller's search range) are ignored.
/// All candidates have the same number of parameters, so chi2 is a fair comparison.
/// The fit weights carry `opts.error_floor` in quadrature; [`Refined::margin`] says by
/// how much the winner beat the best candidate at another frequency.
#[allow(clippy::too_many_arguments)]
pub fn refine_period(
    t: &[f64],
    y: &[f64],
    dy: Option<&[f64]>,
    band: &[u8],
    nbands: usize,
    grid: &FreqGrid,
    power: &[f64],
    opts: &RefineOptions,
    ws: &mut HarmonicScratch,
) -> Option<Refined> {
    let mut peaks = std::mem::take(&mut ws.peaks);
    top_peaks(
        grid,
        power,
        opts.peaks_needed(),
        opts.min_separation * grid.df,
        &mut peaks,
    );
    let r = refine_peaks(t, y, dy, band, nbands, grid, &peaks, opts, ws);
    ws.peaks = peaks;
    r
}

impl RefineOptions {
    /// How many top peaks [`refine_peaks`] may use: `top_k`, or `unsure_peaks` when the
    /// second refinement is on and wider.
    pub fn peaks_needed(&self) -> usize {
        if self.top_k > 0 && self.unsure_margin > 0.0 {
            self.top_k.max(self.unsure_peaks)
        } else {
            self.top_k
        }
    }
}

/// [`refine_period`] for peaks the caller already has: `peaks` must be what
/// [`top_peaks`] gives for `opts.peaks_needed()` and a separation of
/// `opts.min_separation * df` (or a longer list from it: the first ones are used, as
/// the greedy selection makes the shorter list a prefix of the longer one).
/// The pick among the top `top_k` peaks is kept unless it is unsure (see
/// [`RefineOptions::unsure_margin`]), when the top `unsure_peaks` are refined instead.
#[allow(clippy::too_many_arguments)]
pub fn refine_peaks(
    t: &[f64],
    y: &[f64],
    dy: Option<&[f64]>,
    band: &[u8],
    nbands: usize,
    grid: &FreqGrid,
    peaks: &[Peak],
    opts: &RefineOptions,
    ws: &mut HarmonicScratch,
) -> Option<Refined> {
    prepare(t, y, dy, band, nbands, opts.error_floor, ws);
    ws.candidates.clear();
    refine_prepared(t.len(), grid, peaks, opts, ws)
}

/// [`refine_peaks`] for the data set last prepared in `ws`. `ws.candidates` holds the
/// candidates of an earlier pass over a prefix of `peaks` (or nothing): they are the
/// first ones this pass makes, in the same order, so their scans and polishes are
/// kept and the result is that of a pass from scratch.
fn refine_prepared(
    npoints: usize,
    grid: &FreqGrid,
    peaks: &[Peak],
    opts: &RefineOptions,
    ws: &mut HarmonicScratch,
) -> Option<Refined> {
    let peaks_all = peaks;
    let peaks = &peaks[..peaks.len().min(opts.top_k)];
    let plain = *peaks.first()?;
    let half_width = opts.half_width * grid.df;
    let (fmin, fmax) = (grid.f0, grid.f_last());
    // every candidate (peak or alias) gets a coarse sub-grid scan; only the best
    // `polish` of them, and the plain peak, get the golden-section polish
    let mut cands = std::mem::take(&mut ws.candidates);
    let earlier = cands.len();
    for c in &mut cands {
        c.earlier = c.polished.take().or(c.earlier);
    }
    let mut made = 0;
    for (pi, pk) in peaks.iter().enumerate() {
        let order = opts.alias_order.min(4);
        let mut offsets = [0.0f64; 1 + 2 * 3 * 4];
        let mut no = 1;
        for a in opts.aliases {
            for m in 1..=order {
                offsets[no] = m as f64 * a;
                offsets[no + 1] = -(m as f64) * a;
                no += 2;
            }
        }
        for &off in &offsets[..no] {
            let fc = pk.frequency + off;
            if fc < fmin || fc > fmax || fc <= half_width {
                continue;
            }
            made += 1;
            if made <= earlier {
                debug_assert!(cands[made - 1].peak == pi && cands[made - 1].offset == off);
                continue;
            }
            let scan = subgrid_min(fc - half_width, fc + half_width, opts, ws);
            cands.push(Candidate {
                peak: pi,
                offset: off,
                scan,
                polished: None,
                earlier: None,
            });
        }
    }
    let plain_idx = cands.iter().position(|c| c.peak == 0 && c.offset == 0.0);
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (cands[a].scan.chi2, cands[b].scan.chi2);
        x.total_cmp(&y).then(a.cmp(&b))
    });
    let mut best: Option<Refined> = None;
    let polish_set = order
        .iter()
        .copied()
        .take(opts.polish.max(1))
        .chain(plain_idx);
    for k in polish_set {
        polish_candidate(k, &mut cands, &mut best, plain, opts, ws);
    }
    let mut best = best?;
    // the best competitor at a distinct frequency, for the margin: a candidate that was
    // not polished enters with its sub-grid chi2 (an upper bound), and is polished when
    // that bound beats every polished competitor (it may then also take the lead)
    let sep = opts.min_separation * grid.df;
    let mut competitor = f64::INFINITY;
    for _ in 0..cands.len() {
        competitor = cands
            .iter()
            .filter_map(|c| c.polished)
            .filter(|&(f, _)| (f - best.frequency).abs() > sep)
            .map(|(_, c)| c)
            .fold(f64::INFINITY, f64::min);
        let next = order.iter().copied().find(|&k| {
            cands[k].polished.is_none() && (cands[k].scan.f - best.frequency).abs() > sep
        });
        match next {
            Some(k) if cands[k].scan.chi2 < competitor => {
                let mut b = Some(best);
                polish_candidate(k, &mut cands, &mut b, plain, opts, ws);
                best = b.expect("kept");
            }
            _ => break,
        }
    }
    best.plain_chi2 = plain_idx
        .and_then(|k| cands[k].polished)
        .map_or(f64::INFINITY, |(_, c)| c);
    let bands = ws.present.iter().filter(|&&p| p).count();
    let scales = if opts.harmonic.band_scale && bands > 1 {
        bands - 1
    } else {
        0
    };
    let dof = npoints as f64 - (bands + 2 * opts.harmonic.nharm.max(1) + scales) as f64;
    best.margin = if !(dof > 0.0) {
        f64::NAN
    } else if !(best.chi2 > 0.0) || competitor == f64::INFINITY {
        f64::INFINITY
    } else {
        (competitor - best.chi2) / (best.chi2 / dof)
    };
    ws.candidates = cands;
    // an unsure pick: the refinement again over more peaks (this pass's candidates
    // kept), and that result
    let wider = opts.unsure_peaks.min(peaks_all.len());
    if opts.unsure_margin > 0.0 && !(best.margin >= opts.unsure_margin) && wider > opts.top_k {
        let wide = RefineOptions {
            top_k: wider,
            unsure_margin: 0.0,
            ..*opts
        };
        return refine_prepared(npoints, grid, peaks_all, &wide, ws);
    }
    Some(best)
}

/// Brent's polish of candidate `k` (once), keeping the lowest chi2 in `best`.
fn polish_candidate(
    k: usize,
    cands: &mut [Candidate],
    best: &mut Option<Refined>,
    plain: Peak,
    opts: &RefineOptions,
    ws: &mut HarmonicScratch,
) {
    let c = cands[k];
    if c.polished.is_some() {
        return;
    }
    let (f, chi2) = c.earlier.unwrap_or_else(|| brent_polish(c.scan, opts, ws));
    cands[k].polished = Some((f, chi2));
    if best.is_none_or(|b| chi2 < b.chi2) {
        *best = Some(Refined {
            frequency: f,
            period: 1.0 / f,
            chi2,
            plain,
            plain_chi2: 0.0,
            from_peak: c.peak,
            alias_offset: c.offset,
            margin: f64::NAN,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::periodogram::gls::{lomb_scargle, LombScargleScratch, PeriodogramMethod};
    use crate::numeric::periodogram::grid::{autofrequency, GridOptions};
    use crate::numeric::periodogram::multiband::{
        multiband_power, MultibandScratch, ASTROPY_REG_BAND,
    };
    use crate::numeric::periodogram::testutil::{rrlyrae_like, Rng};

    /// Naive oracle: dense normal equations of the full design matrix
    /// [one-hot band offsets | cos kx, sin kx], solved by Gaussian elimination.
    fn naive_chi2(
        t: &[f64],
        y: &[f64],
        dy: &[f64],
        band: &[u8],
        nb: usize,
        f: f64,
        k: usize,
    ) -> f64 {
        let p = nb + 2 * k;
        let mut a = vec![0.0; p * p];
        let mut r = vec![0.0; p];
        let mut yy = 0.0;
        for i in 0..t.len() {
            let w = 1.0 / (dy[i] * dy[i]);
            let mut row = vec![0.0; p];
            row[band[i] as usize] = 1.0;
            for h in 0..k {
                let x = std::f64::consts::TAU * (h + 1) as f64 * f * t[i];
                row[nb + 2 * h] = x.cos();
                row[nb + 2 * h + 1] = x.sin();
            }
            for u in 0..p {
                r[u] += w * row[u] * y[i];
                for v in 0..p {
                    a[u * p + v] += w * row[u] * row[v];
                }
            }
            yy += w * y[i] * y[i];
        }
        let b = r.clone();
        // Gaussian elimination with partial pivoting
        let mut x = r;
        for c in 0..p {
            let piv = (c..p)
                .max_by(|&i, &j| a[i * p + c].abs().total_cmp(&a[j * p + c].abs()))
                .unwrap();
            for v in 0..p {
                a.swap(c * p + v, piv * p + v);
            }
            x.swap(c, piv);
            for i in c + 1..p {
                let m = a[i * p + c] / a[c * p + c];
                for v in c..p {
                    a[i * p + v] -= m * a[c * p + v];
                }
                x[i] -= m * x[c];
            }
        }
        for c in (0..p).rev() {
            let mut s = x[c];
            for v in c + 1..p {
                s -= a[c * p + v] * x[v];
            }
            x[c] = s / a[c * p + c];
        }
        yy - x.iter().zip(&b).map(|(u, v)| u * v).sum::<f64>()
    }

    /// Oracle: the naive dense least squares above, on random multiband data (times
    /// shifted near 0 so the naive version's plain trig is accurate).
    #[test]
    fn shared_fit_matches_dense_least_squares() {
        let (t, band, dy, y) = noisy_sinusoid(5, 90, 300.0, 3, 2.3);
        let mut ws = HarmonicScratch::default();
        // the constant-size kernels (1..=6 harmonics) and the general one (up to 12)
        for nharm in [1, 4, 6, 7, MAX_HARMONICS] {
            let opts = HarmonicOptions {
                nharm,
                band_scale: false,
                scale_iters: 1,
            };
            for f in [0.1, 0.366, 1.7, 3.3] {
                let c = harmonic_chi2(&t, &y, Some(&dy), &band, 3, f, &opts, &mut ws);
                let c0 = naive_chi2(&t, &y, &dy, &band, 3, f, nharm);
                assert!((c - c0).abs() < 1e-8 * c0, "K={nharm} f={f}: {c} vs {c0}");
            }
        }
    }

    /// One band, chi2 only (the scans' short path) against the dense normal equations
    /// and against the general solve that also returns the coefficients.
    #[test]
    fn one_band_chi2_matches_dense_least_squares() {
        let (t, band, dy, y) = noisy_sinusoid(6, 80, 400.0, 1, 1.9);
        let mut ws = HarmonicScratch::default();
        for nharm in [1, 3, 4, 7, MAX_HARMONICS] {
            let opts = HarmonicOptions {
                nharm,
                ..HarmonicOptions::default()
            };
            prepare(&t, &y, Some(&dy), &band, 1, 0.0, &mut ws);
            for f in [0.05, 0.302, 1.9 / std::f64::consts::TAU, 2.7] {
                let short = chi2_prepared(f, &opts, &mut ws);
                let general = chi2_with(f, Phasors::Direct, Coefficients::Keep, &opts, &mut ws);
                let dense = naive_chi2(&t, &y, &dy, &band, 1, f, nharm);
                assert!(
                    (short - dense).abs() < 1e-8 * dense,
                    "K={nharm} f={f}: {short} vs {dense}"
                );
                assert!((short - general).abs() < 1e-10 * general, "K={nharm} f={f}");
            }
        }
    }

    /// A sub-grid scan that steps the phasors gives the chi2 of one `sincos` per point
    /// at every frequency of the scan.
    #[test]
    fn stepped_scan_matches_direct_chi2() {
        let (t, band, dy, y) = noisy_sinusoid(12, 150, 2000.0, 2, 6.1);
        let opts = HarmonicOptions::default();
        let mut ws = HarmonicScratch::default();
        prepare(&t, &y, Some(&dy), &band, 2, 0.0, &mut ws);
        let (lo, step) = (0.9712, 3.7e-5);
        start_scan(lo, step, &mut ws);
        for i in 0..9 {
            let f = lo + step * i as f64;
            let stepped = chi2_with(f, Phasors::Stepped, Coefficients::Skip, &opts, &mut ws);
            let direct = chi2_prepared(f, &opts, &mut ws);
            assert!(
                (stepped - direct).abs() <= 1e-10 * direct,
                "step {i}: {stepped} vs {direct}"
            );
        }
    }

    /// `n` random times over `span` days, bands in turn, errors U(0.02, 0.07), and a
    /// sinusoid `0.4 sin(omega t)` on per-band offsets `15 + 0.3 b`, plus the noise.
    fn noisy_sinusoid(
        seed: u64,
        n: usize,
        span: f64,
        nbands: usize,
        omega: f64,
    ) -> (Vec<f64>, Vec<u8>, Vec<f64>, Vec<f64>) {
        let mut rng = Rng(seed);
        let t: Vec<f64> = (0..n).map(|_| span * rng.uniform()).collect();
        let band: Vec<u8> = (0..n).map(|i| (i % nbands) as u8).collect();
        let dy: Vec<f64> = (0..n).map(|_| 0.02 + 0.05 * rng.uniform()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                15.0 + band[i] as f64 * 0.3 + 0.4 * (omega * t[i]).sin() + dy[i] * rng.normal()
            })
            .collect();
        (t, band, dy, y)
    }

    /// Closed form: noise-free data generated by the model itself (offsets, per-band
    /// scales, 3 harmonics) give chi2 = 0 at the true frequency with band_scale, and the
    /// fitted shape * scale reproduces the generating curve.
    #[test]
    fn exact_model_recovered() {
        let mut rng = Rng(9);
        let f = 1.87;
        let coef = [0.3, -0.2, 0.1, 0.05, -0.04, 0.02];
        let scales = [1.0, 0.7, 0.5];
        let (mut t, mut y, mut band) = (vec![], vec![], vec![]);
        for i in 0..120 {
            let ti = 51000.0 + 2000.0 * rng.uniform();
            let b = i % 3;
            let x = f * ti;
            let s = (0..3)
                .map(|k| {
                    let a = std::f64::consts::TAU * (k + 1) as f64 * x;
                    coef[2 * k] * a.cos() + coef[2 * k + 1] * a.sin()
                })
                .sum::<f64>();
            t.push(ti);
            y.push(16.0 + b as f64 + scales[b] * s);
            band.push(b as u8);
        }
        let mut ws = HarmonicScratch::default();
        let opts = HarmonicOptions {
            nharm: 3,
            band_scale: true,
            scale_iters: 8,
        };
        let c = harmonic_chi2(&t, &y, None, &band, 3, f, &opts, &mut ws);
        assert!(c < 1e-9, "chi2 {c}"); // roundoff of a 120-point fit around y ~ 16
        for i in 0..t.len() {
            let b = band[i] as usize;
            let model = ws.offsets[b] + ws.scales[b] * shape_at(&ws.shape, f * (t[i] - ws.t_ref));
            assert!((model - y[i]).abs() < 1e-6);
        }
        let no_scale = HarmonicOptions {
            band_scale: false,
            ..opts
        };
        assert!(harmonic_chi2(&t, &y, None, &band, 3, f, &no_scale, &mut ws) > 0.05);
    }

    /// The second refinement: a pick surer than `unsure_margin` is the top-5 refinement's,
    /// an unsure one is exactly the refinement over the top `unsure_peaks`.
    #[test]
    fn unsure_picks_are_refined_again_over_more_peaks() {
        let mut mws = MultibandScratch::default();
        let mut hws = HarmonicScratch::default();
        let mut differ = 0;
        for seed in 0..12u64 {
            let (t, y, dy, band, _) = rrlyrae_like(14, 300 + seed);
            let grid = autofrequency(&t, &s82_grid()).unwrap();
            let mut p = vec![0.0; grid.n];
            five_band_power(&t, &y, &dy, &band, &grid, &mut mws, &mut p);
            let run = |top_k: usize, unsure_margin: f64, hws: &mut HarmonicScratch| {
                let o = RefineOptions {
                    top_k,
                    unsure_margin,
                    unsure_peaks: 12,
                    ..Default::default()
                };
                let r = refine_period(&t, &y, Some(&dy), &band, 5, &grid, &p, &o, hws).unwrap();
                (r.frequency.to_bits(), r.chi2.to_bits(), r.margin.to_bits())
            };
            let five = run(5, 0.0, &mut hws);
            let twelve = run(12, 0.0, &mut hws);
            let m = f64::from_bits(five.2);
            assert!(m.is_finite() && m > 0.0, "seed {seed}: margin {m}");
            assert_eq!(run(5, 0.5 * m, &mut hws), five, "seed {seed}: sure");
            assert_eq!(run(5, 2.0 * m, &mut hws), twelve, "seed {seed}: unsure");
            assert_eq!(run(5, f64::INFINITY, &mut hws), twelve, "seed {seed}");
            differ += (five != twelve) as usize;
        }
        assert!(differ > 0, "no curve where more peaks change the pick");
    }

    /// The 0.2-2 d search grid of the Stripe 82-like tests.
    fn s82_grid() -> GridOptions {
        GridOptions {
            min_period: Some(0.2),
            max_period: Some(2.0),
            ..Default::default()
        }
    }

    /// The 5-band multiband power (fast method, astropy's band regularisation) into `p`.
    fn five_band_power(
        t: &[f64],
        y: &[f64],
        dy: &[f64],
        band: &[u8],
        grid: &FreqGrid,
        mws: &mut MultibandScratch,
        p: &mut [f64],
    ) {
        let fast = PeriodogramMethod::Fast;
        multiband_power(
            t,
            y,
            Some(dy),
            band,
            5,
            grid,
            fast,
            ASTROPY_REG_BAND,
            mws,
            p,
        );
    }

    /// Synthetic Stripe 82-like RR Lyrae (see testutil::rrlyrae_like): 55 nights x 5 bands
    /// over 8 seasons. Reference: the generating period. The refined multiband period must
    /// be within 0.1% for every star; the plain single-band (g) peak misses some (aliases).
    #[test]
    fn refinement_recovers_true_period() {
        let mut gws = LombScargleScratch::default();
        let mut mws = MultibandScratch::default();
        let mut hws = HarmonicScratch::default();
        let nstar = 12usize;
        let (mut plain_g_ok, mut plain_mb_ok, mut refined_ok) = (0, 0, 0);
        for seed in 0..nstar {
            let (t, y, dy, band, period) = rrlyrae_like(40, 100 + seed as u64);
            let grid = autofrequency(&t, &s82_grid()).unwrap();
            let mut p = vec![0.0; grid.n];
            // g band alone (band 1)
            let idx: Vec<usize> = (0..t.len()).filter(|&i| band[i] == 1).collect();
            let (tg, yg, eg): (Vec<f64>, Vec<f64>, Vec<f64>) = (
                idx.iter().map(|&i| t[i]).collect(),
                idx.iter().map(|&i| y[i]).collect(),
                idx.iter().map(|&i| dy[i]).collect(),
            );
            lomb_scargle(
                &tg,
                &yg,
                Some(&eg),
                &grid,
                PeriodogramMethod::Fast,
                &mut gws,
                &mut p,
            );
            let pg = crate::numeric::periodogram::peaks::best_peak(&grid, &p).unwrap();
            plain_g_ok += ((pg.period / period - 1.0).abs() < 1e-3) as usize;
            five_band_power(&t, &y, &dy, &band, &grid, &mut mws, &mut p);
            let r = refine_period(
                &t,
                &y,
                Some(&dy),
                &band,
                5,
                &grid,
                &p,
                &RefineOptions::default(),
                &mut hws,
            )
            .unwrap();
            plain_mb_ok += ((r.plain.period / period - 1.0).abs() < 1e-3) as usize;
            let ok = (r.period / period - 1.0).abs() < 1e-3;
            refined_ok += ok as usize;
            eprintln!("true {period:.6} g-peak {:.6} mb-peak {:.6} refined {:.6} (peak #{} alias {:+.7}) {}",
                      pg.period, r.plain.period, r.period, r.from_peak, r.alias_offset, if ok { "ok" } else { "MISS" });
        }
        eprintln!("plain g {plain_g_ok}/{nstar}, plain multiband {plain_mb_ok}/{nstar}, refined {refined_ok}/{nstar}");
        assert_eq!(refined_ok, nstar);
        assert!(
            plain_g_ok + plain_mb_ok < 2 * nstar,
            "test data should contain aliased plain peaks"
        );
    }

    /// The error floor: 0 gives the plain 1/dy^2 chi-square of [`harmonic_chi2`] at the
    /// refined frequency; a floor gives that of errors sqrt(dy^2 + floor^2).
    #[test]
    fn error_floor_enters_the_weights() {
        let (t, y, dy, band, _) = rrlyrae_like(30, 77);
        let grid = autofrequency(&t, &s82_grid()).unwrap();
        let mut p = vec![0.0; grid.n];
        let mut mws = MultibandScratch::default();
        five_band_power(&t, &y, &dy, &band, &grid, &mut mws, &mut p);
        let mut ws = HarmonicScratch::default();
        for floor in [0.0, 0.05] {
            let opts = RefineOptions {
                error_floor: floor,
                ..Default::default()
            };
            let r = refine_period(&t, &y, Some(&dy), &band, 5, &grid, &p, &opts, &mut ws).unwrap();
            let e: Vec<f64> = dy.iter().map(|d| (d * d + floor * floor).sqrt()).collect();
            let c = harmonic_chi2(
                &t,
                &y,
                Some(&e),
                &band,
                5,
                r.frequency,
                &opts.harmonic,
                &mut ws,
            );
            assert!(
                (c - r.chi2).abs() < 1e-9 * c,
                "floor {floor}: {c} vs {}",
                r.chi2
            );
        }
    }
}
