//! Built-in kernels (numeric kernel layer; odd sizes only, even-sized requests are an error).

use super::geometry::{ConvError, Shape2};
use super::real::Real;

/// A kernel: row-major data and shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel<T> {
    /// Row-major weights, `shape.len()` of them.
    pub data: Vec<T>,
    /// Rows and columns.
    pub shape: Shape2,
}

/// Built-in kernel description.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KernelSpec {
    /// The lecture's radial kernel: `x = y = numpy.linspace(-2, 2, size)`,
    /// `K[r][c] = sqrt(x[c]^2 + y[r]^2)` (meshgrid, `indexing='xy'`; symmetric anyway).
    Radial {
        /// Side length in pixels (odd).
        size: usize,
    },
    /// `exp(-(dr^2 + dc^2) / (2 sigma^2))`, offsets from the centre pixel.
    Gaussian {
        /// Standard deviation in pixels (> 0).
        sigma: f64,
        /// Side length in pixels (odd).
        size: usize,
    },
    /// All ones.
    Box {
        /// Side length in pixels (odd).
        size: usize,
    },
    /// 1 where `dr^2 + dc^2 <= radius^2`, else 0; `size` defaults to `2*floor(radius)+1`.
    TopHat {
        /// Radius in pixels (>= 0).
        radius: f64,
        /// Side length in pixels (odd); `None` for `2*floor(radius)+1`.
        size: Option<usize>,
    },
}

/// `numpy.linspace(start, stop, num)` bit-for-bit (`i*step + start`, last = stop).
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    v[num - 1] = stop;
    v
}

fn odd(size: usize) -> Result<usize, ConvError> {
    if size == 0 {
        Err(ConvError::BadKernelParam("size must be positive"))
    } else if size.is_multiple_of(2) {
        Err(ConvError::EvenKernelSize(size))
    } else {
        Ok(size)
    }
}

/// Build a built-in kernel in `f64`, optionally normalised to unit sum, then cast to `T`.
pub fn build_kernel<T: Real>(spec: KernelSpec, normalize: bool) -> Result<Kernel<T>, ConvError> {
    let (s, data): (usize, Vec<f64>) = match spec {
        KernelSpec::Radial { size } => {
            let s = odd(size)?;
            let x = linspace(-2.0, 2.0, s);
            let mut d = Vec::with_capacity(s * s);
            for r in 0..s {
                for c in 0..s {
                    d.push((x[c] * x[c] + x[r] * x[r]).sqrt());
                }
            }
            (s, d)
        }
        KernelSpec::Gaussian { sigma, size } => {
            let s = odd(size)?;
            if sigma.is_nan() || sigma <= 0.0 {
                return Err(ConvError::BadKernelParam("sigma must be > 0"));
            }
            let c0 = (s / 2) as f64;
            let mut d = Vec::with_capacity(s * s);
            for r in 0..s {
                for c in 0..s {
                    let (dr, dc) = (r as f64 - c0, c as f64 - c0);
                    d.push((-(dr * dr + dc * dc) / (2.0 * sigma * sigma)).exp());
                }
            }
            (s, d)
        }
        KernelSpec::Box { size } => {
            let s = odd(size)?;
            (s, vec![1.0; s * s])
        }
        KernelSpec::TopHat { radius, size } => {
            if radius.is_nan() || radius < 0.0 {
                return Err(ConvError::BadKernelParam("radius must be >= 0"));
            }
            let s = odd(size.unwrap_or(2 * radius.floor() as usize + 1))?;
            let c0 = (s / 2) as f64;
            let mut d = Vec::with_capacity(s * s);
            for r in 0..s {
                for c in 0..s {
                    let (dr, dc) = (r as f64 - c0, c as f64 - c0);
                    d.push(if dr * dr + dc * dc <= radius * radius {
                        1.0
                    } else {
                        0.0
                    });
                }
            }
            (s, d)
        }
    };
    let data = if normalize {
        let sum: f64 = data.iter().sum();
        if sum == 0.0 || !sum.is_finite() {
            return Err(ConvError::BadKernelParam(
                "kernel sum is zero; cannot normalise",
            ));
        }
        data.iter().map(|v| v / sum).collect()
    } else {
        data
    };
    Ok(Kernel {
        data: data.into_iter().map(T::of_f64).collect(),
        shape: Shape2::new(s, s),
    })
}
