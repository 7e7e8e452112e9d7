//! Numeric kernels: pure functions over slices, with no MPI, rayon or CUDA
//! inside, each tested against reference values.

pub mod conv2d;
pub mod integrands;
pub mod lightcurve;
pub mod moments;
pub mod montecarlo;
pub mod periodogram;
pub mod philox;
pub mod pixel_stats;
pub mod simd;
pub mod synth;
pub mod vmath;
