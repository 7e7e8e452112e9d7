//! Job drivers: where kernels, rayon, I/O and communication meet.

pub mod bench;
pub mod dispatch;
pub mod export;
pub mod image;
pub mod lcfiles;
pub mod lightcurves;
pub mod mc;
pub mod plot;
pub mod pool;
