//! 2-D convolution of padded tiles on the GPU (job-driver layer).
//!
//! The image job synthesises, for each fixed output tile, the
//! boundary-extended input `E` (tile plus halo, boundary rule applied,
//! scipy.signal.convolve2d semantics); this module convolves it:
//! `out[i][j] = sum_p sum_q kflip[p][q] E[i + p][j + q]`, `p` then `q`
//! ascending, one fused multiply-add per term. [`convolve_padded_cpu`] is the
//! CPU twin with the same order and FMA (the tests require f64 agreement
//! within 1e-12 of the output's scale). A tile larger than the device's
//! memory budget is convolved in strips of output rows.

use std::time::Instant;

use crate::gpu::chunks;
pub use crate::gpu::launch::ConvReal;
use crate::gpu::launch::{self, ConvLaunch};
use crate::gpu::{cuda, GpuDevice};

/// Geometry of one padded tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaddedShape {
    /// Output rows.
    pub rows: usize,
    /// Output columns.
    pub cols: usize,
    /// Kernel rows.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
}

impl PaddedShape {
    /// Rows of the padded input: `rows + kh - 1`.
    pub fn ext_rows(&self) -> usize {
        self.rows + self.kh - 1
    }
    /// Columns of the padded input: `cols + kw - 1`.
    pub fn ext_cols(&self) -> usize {
        self.cols + self.kw - 1
    }
}

/// The kernel flipped in both axes (row-major), as the kernels use it.
pub fn flip<T: Copy>(kernel: &[T]) -> Vec<T> {
    kernel.iter().rev().copied().collect()
}

/// CPU twin of the GPU convolution (f64): same sum order, same FMA.
pub fn convolve_padded_cpu(ext: &[f64], kernel: &[f64], s: PaddedShape) -> Vec<f64> {
    assert_eq!(ext.len(), s.ext_rows() * s.ext_cols());
    assert_eq!(kernel.len(), s.kh * s.kw);
    let kflip = flip(kernel);
    let ec = s.ext_cols();
    let mut out = vec![0.0; s.rows * s.cols];
    for i in 0..s.rows {
        for j in 0..s.cols {
            let mut acc = 0.0f64;
            for p in 0..s.kh {
                let row = &ext[(i + p) * ec + j..(i + p) * ec + j + s.kw];
                for (k, e) in kflip[p * s.kw..(p + 1) * s.kw].iter().zip(row) {
                    acc = k.mul_add(*e, acc);
                }
            }
            out[i * s.cols + j] = acc;
        }
    }
    out
}

/// CPU twin of the GPU convolution in f32: the same order and f32 FMA as
/// the f32 kernels, so the two are expected to agree to rounding (the tests
/// allow 1e-6 of the output's scale).
pub fn convolve_padded_cpu_f32(ext: &[f32], kernel: &[f32], s: PaddedShape) -> Vec<f32> {
    assert_eq!(ext.len(), s.ext_rows() * s.ext_cols());
    assert_eq!(kernel.len(), s.kh * s.kw);
    let kflip = flip(kernel);
    let ec = s.ext_cols();
    let mut out = vec![0.0f32; s.rows * s.cols];
    for i in 0..s.rows {
        for j in 0..s.cols {
            let mut acc = 0.0f32;
            for p in 0..s.kh {
                let row = &ext[(i + p) * ec + j..(i + p) * ec + j + s.kw];
                for (k, e) in kflip[p * s.kw..(p + 1) * s.kw].iter().zip(row) {
                    acc = k.mul_add(*e, acc);
                }
            }
            out[i * s.cols + j] = acc;
        }
    }
    out
}

/// Seconds spent in each phase of a GPU convolution, summed over strips
/// (each phase synchronised, so the three are measured separately).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConvTimings {
    /// Seconds copying the kernel and the padded strips to the device.
    pub h2d: f64,
    /// Seconds in the convolution kernel.
    pub kernel: f64,
    /// Seconds copying the output back.
    pub d2h: f64,
    /// Strips the tile was cut into (1 when it fit the memory budget).
    pub strips: usize,
    /// Whether the shared-memory kernel ran (else the global-memory one).
    pub shared_memory: bool,
}

/// Convolves a padded tile on the GPU, in strips of output rows (each with
/// its own `kh - 1` halo rows) sized by [`chunks::plan_uniform`]; returns
/// the row-major output and the timings. Errors on inconsistent lengths, a
/// strip that cannot fit the memory budget, or a CUDA failure.
pub fn convolve_padded_gpu<T: ConvReal>(
    dev: &GpuDevice,
    ext: &[T],
    kernel: &[T],
    s: PaddedShape,
) -> anyhow::Result<(Vec<T>, ConvTimings)> {
    convolve_padded_gpu_capped(dev, ext, kernel, s, launch::CONV_MAX_GRID_Y)
}

/// [`convolve_padded_gpu`] with at most `max_grid_y` row blocks per launch
/// (lowered by the tests and `gpu selftest` to exercise the multi-launch
/// path, which otherwise needs strips over a million rows tall).
pub fn convolve_padded_gpu_capped<T: ConvReal>(
    dev: &GpuDevice,
    ext: &[T],
    kernel: &[T],
    s: PaddedShape,
    max_grid_y: u32,
) -> anyhow::Result<(Vec<T>, ConvTimings)> {
    anyhow::ensure!(s.kh > 0 && s.kw > 0, "empty kernel");
    anyhow::ensure!(
        ext.len() == s.ext_rows() * s.ext_cols(),
        "padded tile length"
    );
    anyhow::ensure!(kernel.len() == s.kh * s.kw, "kernel length");
    anyhow::ensure!(
        s.ext_rows() <= u32::MAX as usize && s.ext_cols() <= u32::MAX as usize,
        "tile too large for 32-bit indices"
    );
    let e = std::mem::size_of::<T>();
    let ec = s.ext_cols();
    // a strip of r output rows needs (r + kh - 1) padded rows and r output rows
    let strips = chunks::plan_uniform(
        s.rows,
        (ec + s.cols) * e,
        (s.kh - 1) * ec * e + std::mem::size_of_val(kernel),
        dev.memory_budget()?,
        usize::MAX,
    )
    .map_err(anyhow::Error::msg)?;
    let st = &dev.stream;
    let mut t = ConvTimings::default();
    let t0 = Instant::now();
    let kflip_d = st
        .clone_htod(&flip(kernel))
        .map_err(cuda("copying the kernel"))?;
    st.synchronize().map_err(cuda("copying the kernel"))?;
    t.h2d += t0.elapsed().as_secs_f64();
    let mut out = vec![T::default(); s.rows * s.cols];
    for r in strips {
        let rows = r.len();
        let a = r.start * ec;
        let b = (r.end + s.kh - 1) * ec;
        let t0 = Instant::now();
        let ext_d = st
            .clone_htod(&ext[a..b])
            .map_err(cuda("copying the tile"))?;
        let mut out_d = st
            .alloc_zeros::<T>(rows * s.cols)
            .map_err(cuda("allocating the output"))?;
        st.synchronize().map_err(cuda("copying the tile"))?;
        let t1 = Instant::now();
        let args = ConvLaunch {
            ext_stride: ec as u32,
            kh: s.kh as u32,
            kw: s.kw as u32,
            rows: rows as u32,
            cols: s.cols as u32,
        };
        t.shared_memory =
            launch::conv2d_capped(dev, &args, &ext_d, &kflip_d, &mut out_d, max_grid_y)?;
        st.synchronize().map_err(cuda("running conv2d"))?;
        let t2 = Instant::now();
        st.memcpy_dtoh(&out_d, &mut out[r.start * s.cols..r.end * s.cols])
            .map_err(cuda("copying the output back"))?;
        st.synchronize().map_err(cuda("copying the output back"))?;
        t.h2d += (t1 - t0).as_secs_f64();
        t.kernel += (t2 - t1).as_secs_f64();
        t.d2h += t2.elapsed().as_secs_f64();
        t.strips += 1;
    }
    Ok((out, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Boundary {
        Zero,
        Reflect,
        Nearest,
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Mode {
        Full,
        Same,
        Valid,
    }

    /// scipy.signal.convolve2d's boundary rules ('fill', 'symm', and edge
    /// replication); `None` is a zero.
    fn map(x: isize, n: usize, b: Boundary) -> Option<usize> {
        let n = n as isize;
        if (0..n).contains(&x) {
            return Some(x as usize);
        }
        match b {
            Boundary::Zero => None,
            Boundary::Nearest => Some(x.clamp(0, n - 1) as usize),
            Boundary::Reflect => {
                let m = x.rem_euclid(2 * n);
                Some(if m < n { m } else { 2 * n - 1 - m } as usize)
            }
        }
    }

    /// (output length, offset into the full convolution) per axis.
    fn axis(n: usize, k: usize, mode: Mode) -> (usize, usize) {
        match mode {
            Mode::Full => (n + k - 1, 0),
            Mode::Same => (n, (k - 1) / 2),
            Mode::Valid => (n.max(k) - n.min(k) + 1, n.min(k) - 1),
        }
    }

    #[allow(clippy::too_many_arguments)]
    /// Naive reference straight from the definition
    /// F[i][j] = sum k[p][q] E[i - p][j - q], in f64.
    fn naive(
        img: &[f64],
        h: usize,
        w: usize,
        k: &[f64],
        kh: usize,
        kw: usize,
        mode: Mode,
        b: Boundary,
    ) -> Vec<f64> {
        let b = if mode == Mode::Valid {
            Boundary::Zero
        } else {
            b
        };
        let (oh, or) = axis(h, kh, mode);
        let (ow, oc) = axis(w, kw, mode);
        let mut out = vec![0.0; oh * ow];
        for i in 0..oh {
            for j in 0..ow {
                let mut s = 0.0;
                for p in 0..kh {
                    for q in 0..kw {
                        let r = map((i + or) as isize - p as isize, h, b);
                        let c = map((j + oc) as isize - q as isize, w, b);
                        if let (Some(r), Some(c)) = (r, c) {
                            s += k[p * kw + q] * img[r * w + c];
                        }
                    }
                }
                out[i * ow + j] = s;
            }
        }
        out
    }

    /// The padded tile of the whole output (what the image job builds per tile).
    fn pad(
        img: &[f64],
        h: usize,
        w: usize,
        kh: usize,
        kw: usize,
        mode: Mode,
        b: Boundary,
    ) -> (Vec<f64>, PaddedShape) {
        let b = if mode == Mode::Valid {
            Boundary::Zero
        } else {
            b
        };
        let (oh, or) = axis(h, kh, mode);
        let (ow, oc) = axis(w, kw, mode);
        let s = PaddedShape {
            rows: oh,
            cols: ow,
            kh,
            kw,
        };
        let mut ext = vec![0.0; s.ext_rows() * s.ext_cols()];
        for a in 0..s.ext_rows() {
            for c in 0..s.ext_cols() {
                let r = map(a as isize + or as isize - (kh as isize - 1), h, b);
                let cc = map(c as isize + oc as isize - (kw as isize - 1), w, b);
                if let (Some(r), Some(cc)) = (r, cc) {
                    ext[a * s.ext_cols() + c] = img[r * w + cc];
                }
            }
        }
        (ext, s)
    }

    fn data(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.3
            })
            .collect()
    }

    fn max_rel(a: &[f64], b: &[f64]) -> f64 {
        let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
            / scale
    }

    const CASES: [(usize, usize, usize, usize); 4] = [
        (37, 53, 5, 3),
        (64, 40, 15, 15),
        (9, 7, 4, 6),
        (20, 30, 31, 9),
    ];

    #[test]
    fn cpu_twin_matches_naive_for_every_mode_and_boundary() {
        for (h, w, kh, kw) in CASES {
            let img = data(h * w, 5);
            let k = data(kh * kw, 7);
            for mode in [Mode::Full, Mode::Same, Mode::Valid] {
                for b in [Boundary::Zero, Boundary::Reflect, Boundary::Nearest] {
                    let (ext, s) = pad(&img, h, w, kh, kw, mode, b);
                    let got = convolve_padded_cpu(&ext, &k, s);
                    let want = naive(&img, h, w, &k, kh, kw, mode, b);
                    assert!(
                        max_rel(&got, &want) < 1e-13,
                        "{h}x{w} k{kh}x{kw} {mode:?} {b:?}"
                    );
                }
            }
        }
    }

    /// GPU vs CPU twin and naive reference, f64 within 1e-12 (printed:
    /// measured difference and H2D/kernel/D2H times).
    #[test]
    #[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
    fn gpu_matches_cpu_for_every_mode_and_boundary() {
        let dev = crate::gpu::test_device();
        for (h, w, kh, kw) in CASES.into_iter().chain([(300, 257, 61, 61)]) {
            let img = data(h * w, 5);
            let k = data(kh * kw, 7);
            for mode in [Mode::Full, Mode::Same, Mode::Valid] {
                for b in [Boundary::Zero, Boundary::Reflect, Boundary::Nearest] {
                    let (ext, s) = pad(&img, h, w, kh, kw, mode, b);
                    let (got, t) = convolve_padded_gpu(&dev, &ext, &k, s).unwrap();
                    let twin = convolve_padded_cpu(&ext, &k, s);
                    let want = naive(&img, h, w, &k, kh, kw, mode, b);
                    let (d_twin, d_naive) = (max_rel(&got, &twin), max_rel(&got, &want));
                    eprintln!("{h}x{w} k{kh}x{kw} {mode:?} {b:?}: vs twin {d_twin:.1e}, vs naive {d_naive:.1e}; shared {} h2d {:.2e}s kernel {:.2e}s d2h {:.2e}s", t.shared_memory, t.h2d, t.kernel, t.d2h);
                    assert!(d_twin <= 1e-12 && d_naive <= 1e-12);
                }
            }
        }
    }

    /// f32 on the device against the f32 twin (1e-6 of the scale), on both
    /// sides of the 48 KiB shared/global switch for each precision (f64:
    /// 47 x 47 shared, 48 x 48 global; f32: 70 x 70 shared, 71 x 71 global).
    #[test]
    #[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
    fn gpu_f32_and_the_shared_global_switch() {
        let dev = crate::gpu::test_device();
        for (k, elem, shared) in [(47, 8, true), (48, 8, false), (70, 4, true), (71, 4, false)] {
            assert_eq!(
                launch::conv_shared_bytes(k, k, elem) <= launch::CONV_MAX_SHARED,
                shared,
                "k {k}, {elem}-byte elements"
            );
            let (h, w) = (67, 45);
            let img = data(h * w, 11);
            let kern = data(k * k, 13);
            let (ext, s) = pad(&img, h, w, k, k, Mode::Same, Boundary::Reflect);
            if elem == 8 {
                let (got, t) = convolve_padded_gpu(&dev, &ext, &kern, s).unwrap();
                assert_eq!(t.shared_memory, shared, "f64 k {k}");
                let d = max_rel(&got, &convolve_padded_cpu(&ext, &kern, s));
                eprintln!("f64 k{k}x{k} shared {shared}: {d:.1e}");
                assert!(d <= 1e-12, "f64 k {k}: {d:e}");
            } else {
                let ext32: Vec<f32> = ext.iter().map(|&x| x as f32).collect();
                let k32: Vec<f32> = kern.iter().map(|&x| x as f32).collect();
                let (got, t) = convolve_padded_gpu(&dev, &ext32, &k32, s).unwrap();
                assert_eq!(t.shared_memory, shared, "f32 k {k}");
                let twin = convolve_padded_cpu_f32(&ext32, &k32, s);
                let to64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
                let d = max_rel(&to64(&got), &to64(&twin));
                eprintln!("f32 k{k}x{k} shared {shared}: {d:.1e}");
                assert!(d <= 1e-6, "f32 k {k}: {d:e}");
            }
        }
    }

    /// The multi-launch path over row blocks (grid y capped at 2 blocks,
    /// so a 100-row strip takes 4 launches), and strip splitting by a
    /// small memory budget (the cap override): same result as the twin.
    #[test]
    #[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
    fn gpu_row_block_launches_and_strips() {
        let mut dev = crate::gpu::test_device();
        let (h, w, kh, kw) = (100, 37, 7, 5);
        let img = data(h * w, 3);
        let k = data(kh * kw, 4);
        let (ext, s) = pad(&img, h, w, kh, kw, Mode::Same, Boundary::Nearest);
        let twin = convolve_padded_cpu(&ext, &k, s);
        let (got, t) = convolve_padded_gpu_capped(&dev, &ext, &k, s, 2).unwrap();
        assert_eq!(t.strips, 1);
        assert!(max_rel(&got, &twin) <= 1e-12);
        // about 10 output rows per strip
        dev.memory_cap = Some(((kh - 1) * s.ext_cols() + kh * kw + 10 * (s.ext_cols() + w)) * 8);
        let (got, t) = convolve_padded_gpu(&dev, &ext, &k, s).unwrap();
        eprintln!("strips under the cap: {}", t.strips);
        assert!(t.strips >= 5, "{} strips", t.strips);
        assert!(max_rel(&got, &twin) <= 1e-12);
    }

    /// A strip taller than 65 535 row blocks (1 048 577 x 3, f32): the
    /// launch the uncapped grid could not make.
    #[test]
    #[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
    fn gpu_strip_taller_than_the_grid_limit() {
        let dev = crate::gpu::test_device();
        let (h, w, kh, kw) = (65_535 * 16 + 17, 3, 3, 3);
        let img: Vec<f32> = data(h * w, 21).iter().map(|&x| x as f32).collect();
        let k: Vec<f32> = data(kh * kw, 22).iter().map(|&x| x as f32).collect();
        let s = PaddedShape {
            rows: h - kh + 1,
            cols: w - kw + 1,
            kh,
            kw,
        };
        let (got, _) = convolve_padded_gpu(&dev, &img, &k, s).unwrap();
        let twin = convolve_padded_cpu_f32(&img, &k, s);
        let bad = got
            .iter()
            .zip(&twin)
            .filter(|(a, b)| (*a - *b).abs() > 1e-6)
            .count();
        assert_eq!(bad, 0, "{bad} of {} pixels differ", got.len());
    }
}
