//! tessera: one SPMD binary for embarrassingly parallel astronomy work
//! (Monte Carlo integration, light curves, image tiles) on MPI ranks with
//! rayon threads inside each rank.
//!
//! Layers: [`comm`] is the only module that uses MPI; [`numeric`] holds pure
//! kernels; [`jobs`] are the drivers; [`output`], [`timings`] and [`log`]
//! are I/O; [`config`] and [`cli`] validate what the user asked for;
//! [`scaling`] plans scaling studies and reports on their outputs.

pub mod cli;
pub mod comm;
pub mod config;
pub mod gpu;
pub mod jobs;
pub mod io;
pub mod log;
pub mod rank;
pub mod numeric;
pub mod scaling;
pub mod timings;
