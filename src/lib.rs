//! tessera: one SPMD binary for embarrassingly parallel astronomy work
//! (Monte Carlo integration, light curves, image tiles) on MPI ranks with
//! rayon threads inside each rank.
//!
//! Layers: [`comm`] is the only module that uses MPI; [`numeric`] holds pure
//! kernels; [`jobs`] are the drivers; [`output`], [`timings`] and [`log`]
//! are I/O; [`config`] and [`cli`] validate what the user asked for;
//! [`scaling`] plans scaling studies and reports on their outputs.

pub mod bench;
pub mod cli;
pub mod comm;
pub mod config;
pub mod fits;
pub mod gpu;
pub mod jobs;
pub mod lcio;
pub mod log;
pub mod numeric;
pub mod output;
pub mod scaling;
pub mod timings;
