//! The small float trait the convolution core is generic over (`f32`, `f64`).

use rustfft::num_traits::Float;
use rustfft::FftNum;
use std::ops::AddAssign;

/// Floating-point sample type: implemented for `f32` and `f64` only (sealed).
pub trait Real: FftNum + Float + AddAssign + Default + sealed::Sealed {
    /// Lanes of this type in a 512-bit vector (informational; used for block sizing).
    const LANES_512: usize;
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn of_f64(v: f64) -> Self;
    /// Converts to `f64` (exact).
    fn as_f64(self) -> f64;
}

mod sealed {
    /// Implemented only here, so no type outside this module can implement [`super::Real`].
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Real for f32 {
    const LANES_512: usize = 16;
    #[inline(always)]
    fn of_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    const LANES_512: usize = 8;
    #[inline(always)]
    fn of_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
}
