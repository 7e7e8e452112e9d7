//! Job drivers: where kernels, rayon, I/O and communication meet.

pub mod image;
pub mod mc;
