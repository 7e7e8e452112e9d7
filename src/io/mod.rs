//! File input and output (I/O layer): atomic and parallel HDF5 outputs with
//! provenance and timings, clean-up of unfinished files, the light-curve
//! file schema, CSV light curves, survey tables (Parquet, HATS, text, FITS),
//! FITS images (read, and written with a carried header), the CFITSIO
//! handle behind them, and PNG/SVG figures.

pub mod cfitsio;
pub mod checkpoint;
pub mod cleanup;
pub mod csv;
pub mod figure;
pub mod fits;
pub mod fits_out;
pub mod identity;
pub mod lcfile;
pub mod output;
pub mod source;
pub mod table;
