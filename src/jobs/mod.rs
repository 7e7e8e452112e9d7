//! Job drivers: where kernels, rayon, I/O and communication meet.

pub mod dispatch;
pub mod mc;
