//! Light-curve numeric kernels (cleaning, features, structure functions, transient fits)
//! against numpy/scipy/astropy reference values embedded by
//! `tests/lc_kernels/ref/make_ref.py`, degenerate inputs, and the
//! no-allocation guarantee of the hot path.

mod bad_inputs;
mod color;
mod dmdt;
mod extended;
mod json_ref;
mod no_alloc;
mod period_and_bins;
mod rainbow;
mod refdata;
mod reference;
mod sf;
mod transient;
#[path = "../data/transient_ref.rs"]
mod transient_ref;
