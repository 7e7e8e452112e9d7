//! tessera: one SPMD binary for embarrassingly parallel astronomy work
//! (Monte Carlo integration, light curves, image tiles) on MPI ranks with
//! rayon threads inside each rank.
//!
//! Layers, with dependencies pointing down: [`cli`] turns arguments into job
//! configurations; [`jobs`] are the drivers; [`io`], [`comm`] (the only
//! module that uses MPI), [`gpu`] (the only one that uses CUDA), [`log`] and
//! [`timings`] serve them; [`numeric`] holds pure kernels and imports nothing
//! outside itself; [`config`] and [`rank`] sit at the bottom. [`scaling`]
//! runs scaling studies and reports on their outputs.

#![warn(missing_docs)]

pub mod cli;
pub mod comm;
pub mod config;
pub mod gpu;
pub mod io;
pub mod jobs;
pub mod log;
pub mod numeric;
pub mod progress;
pub mod rank;
pub mod scaling;
pub mod timings;
