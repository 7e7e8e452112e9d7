//! Monte Carlo blocks on the GPU (job-driver layer): the twin of
//! [`crate::numeric::montecarlo::block_moments`] run over a range of blocks.
//!
//! Same Philox4x32-10 streams, same fixed blocks, same chunking and chunk
//! moments in the CPU's evaluation order, merged in order with
//! Chan-Golub-LeVeque. Each block's (count, mean, M2) is reduced on the
//! device; the host merges blocks in block order, exactly as for CPU partials.

use cudarc::driver::CudaSlice;

use crate::gpu::chunks;
use crate::gpu::launch::{self, McLaunch};
use crate::gpu::{cuda, GpuDevice};
use crate::numeric::integrands::Integrand;
use crate::numeric::moments::Moments;
use crate::numeric::montecarlo::McProblem;
use crate::numeric::philox::TWO_POW_M32;

/// The integrand code used by kernels/montecarlo.cu.
fn integrand_code(i: Integrand) -> i32 {
    match i {
        Integrand::Norm2 => 0,
        Integrand::Pi => 1,
        Integrand::Gaussian => 2,
        Integrand::CosProd => 3,
    }
}

/// Bytes of device memory per block in flight: its (count, mean, M2).
const BYTES_PER_BLOCK: usize = 3 * std::mem::size_of::<f64>();
/// Most blocks in one launch (keeps each launch short, so a shared GPU and
/// the progress bar stay responsive).
pub const MAX_BLOCKS_PER_LAUNCH: usize = 1 << 16;

/// Moments of blocks `first..end` of an integration of `total_samples`
/// samples in blocks of `block_size`, in block order; `on_chunk` is told
/// how many blocks each launch finished. Errors if the memory budget cannot
/// hold a block or a CUDA call fails.
///
/// Agreement with the CPU: `pi` and `norm2` use only IEEE +, * and compares
/// in the same order (compiled with `--fmad=false`), so they are expected to
/// match bit for bit; the tests require exact equality for `pi` and 1e-12
/// relative for `norm2`. `gaussian` and `cosprod` call CUDA's `exp`/`cos`,
/// which may differ from Rust's libm in the last bits: 1e-12 relative.
pub fn block_moments_gpu(
    dev: &GpuDevice,
    problem: &McProblem,
    block_size: u64,
    total_samples: u64,
    first: u64,
    end: u64,
    mut on_chunk: impl FnMut(u64),
) -> anyhow::Result<Vec<Moments>> {
    let dims = problem.dims();
    let scale: Vec<f64> = problem.width.iter().map(|w| w * TWO_POW_M32).collect();
    let s = &dev.stream;
    let lo_d = s.clone_htod(&problem.lo).map_err(cuda("copying bounds"))?;
    let scale_d = s.clone_htod(&scale).map_err(cuda("copying bounds"))?;
    let count = (end - first) as usize;
    let fixed = 2 * dims * std::mem::size_of::<f64>();
    let plan = chunks::plan_uniform(
        count,
        BYTES_PER_BLOCK,
        fixed,
        dev.memory_budget()?,
        MAX_BLOCKS_PER_LAUNCH,
    )
    .map_err(anyhow::Error::msg)?;
    let mut out = Vec::with_capacity(count);
    let largest = plan.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut partials: CudaSlice<f64> = s
        .alloc_zeros(3 * largest.max(1))
        .map_err(cuda("allocating block partials"))?;
    for r in plan {
        let args = McLaunch {
            integrand: integrand_code(problem.integrand),
            lo: &lo_d,
            scale: &scale_d,
            key: problem.key,
            first_block: first + r.start as u64,
            nblocks: r.len() as u64,
            block_size,
            total_samples,
        };
        launch::mc_blocks(dev, &args, &mut partials)?;
        let host = s
            .clone_dtoh(&partials.slice(..3 * r.len()))
            .map_err(cuda("copying block partials back"))?;
        out.extend(
            host.chunks_exact(3)
                .map(|c| Moments::from_array([c[0], c[1], c[2]])),
        );
        on_chunk(r.len() as u64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::montecarlo::{block_moments, BlockScratch};

    fn cpu_blocks(
        p: &McProblem,
        block_size: u64,
        total: u64,
        first: u64,
        end: u64,
    ) -> Vec<Moments> {
        let mut s = BlockScratch::new(p.dims());
        (first..end)
            .map(|b| block_moments(p, b, (total - b * block_size).min(block_size), &mut s))
            .collect()
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-300)
    }

    /// GPU vs CPU on the same blocks: pi exactly, norm2 within 1e-12
    /// relative (mean and M2 of every block and of the merged result); the
    /// measured differences are printed.
    #[test]
    #[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
    fn gpu_blocks_match_cpu_blocks() {
        let dev = crate::gpu::test_device();
        type Case = (Integrand, Vec<(f64, f64)>, f64);
        let cases: Vec<Case> = vec![
            (Integrand::Pi, vec![(0.0, 1.0); 2], 0.0),
            (Integrand::Norm2, vec![(0.0, 1.0); 2], 1e-12),
            (Integrand::Norm2, vec![(-1.0, 2.0); 1], 1e-12),
            (
                Integrand::Norm2,
                vec![(-1.0, 2.0), (0.5, 1.5), (-3.0, -1.0)],
                1e-12,
            ),
            (Integrand::Norm2, vec![(0.0, 1.0); 4], 1e-12),
            (Integrand::Gaussian, vec![(-1.0, 2.0); 4], 1e-12),
            (Integrand::CosProd, vec![(0.0, 1.5); 5], 1e-12),
        ];
        // a short last block and a short last chunk
        let (block_size, total) = (1u64 << 16, 5 * (1u64 << 16) + 1000);
        let blocks = total.div_ceil(block_size);
        for (integrand, bounds, tol) in cases {
            let p = McProblem::new(integrand, &bounds, 42);
            let gpu = block_moments_gpu(&dev, &p, block_size, total, 0, blocks, |_| {}).unwrap();
            let cpu = cpu_blocks(&p, block_size, total, 0, blocks);
            let (mut dmean, mut dm2) = (0.0f64, 0.0f64);
            for (g, c) in gpu.iter().zip(&cpu) {
                assert_eq!(g.count, c.count);
                dmean = dmean.max(rel(g.mean, c.mean));
                dm2 = dm2.max(rel(g.m2, c.m2));
            }
            let g = Moments::merge_in_order(&gpu);
            let c = Moments::merge_in_order(&cpu);
            eprintln!(
                "{integrand} dims {}: max relative difference per block: mean {dmean:.2e}, M2 {dm2:.2e}; merged mean {:.2e}",
                bounds.len(),
                rel(g.mean, c.mean)
            );
            if tol == 0.0 {
                assert_eq!(gpu, cpu, "{integrand}: GPU and CPU must agree exactly");
            } else {
                assert!(dmean <= tol && dm2 <= tol, "{integrand}: {dmean:e} {dm2:e}");
            }
        }
    }

    /// The multi-launch path: 70 000 blocks of 256 samples (past the 2^16
    /// blocks of one launch), starting at block 2^25 (sample 2^33: the
    /// Philox counter's high word is non-zero), the last block short; and
    /// the same under a memory cap of 1000 blocks per launch. pi: exact.
    #[test]
    #[ignore = "needs a CUDA device; run with TESSERA_REQUIRE_GPU=1 cargo test --release -- --include-ignored"]
    fn gpu_multi_launch_and_high_counter_words() {
        let mut dev = crate::gpu::test_device();
        let p = McProblem::new(Integrand::Pi, &[(0.0, 1.0); 2], 7);
        let bs = 256u64;
        let first = 1u64 << 25;
        let end = first + 70_000;
        let total = end * bs - 100;
        let cpu = cpu_blocks(&p, bs, total, first, end);
        let mut launches = 0;
        let gpu = block_moments_gpu(&dev, &p, bs, total, first, end, |_| launches += 1).unwrap();
        assert!(launches >= 2, "{launches} launches");
        assert_eq!(gpu, cpu);
        dev.memory_cap = Some(1000 * BYTES_PER_BLOCK + 64);
        let mut launches = 0;
        let gpu = block_moments_gpu(&dev, &p, bs, total, first, end, |_| launches += 1).unwrap();
        assert!(launches >= 70, "{launches} launches under the cap");
        assert_eq!(gpu, cpu);
    }
}
