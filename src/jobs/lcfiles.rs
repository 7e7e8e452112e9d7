//! Light-curve file commands (job-driver layer): `tessera ingest csv`,
//! `tessera synth lightcurves` and `tessera export`. They run on rank 0;
//! other ranks of an `mpirun` launch wait and exit with it.

use std::path::Path;

use rayon::prelude::*;

use crate::comm::{Comm, SerialComm};
use crate::config::usage;
use crate::io::csv;
use crate::io::identity;
use crate::io::lcfile::{self, LcWriter, Quantity, Ragged};
use crate::io::output::{self, AtomicH5, Provenance};
use crate::io::table::columns::ColumnSpec;
use crate::io::table::TableSource;
use crate::numeric::synth::{synth_curve, SynthParams};
use crate::progress::{Aggregation, Progress};
use crate::say0;

fn provenance(
    comm: &impl Comm,
    job: &str,
    command_line: &str,
    config: String,
    start: String,
) -> Provenance {
    Provenance {
        job: job.into(),
        command_line: command_line.into(),
        config_toml: config,
        ranks: comm.size(),
        threads_per_rank: rayon::current_num_threads(),
        backend: "cpu".into(),
        device: "cpu".into(),
        mpi_library: comm.library_version(),
        hosts: vec![comm.host_name()],
        start_time: start,
        end_time: output::now_rfc3339(),
    }
}

/// `tessera ingest csv DIR --out FILE [--skip-bad]`.
pub fn ingest(
    comm: &impl Comm,
    dir: &Path,
    out: &Path,
    skip_bad: bool,
    command_line: &str,
) -> anyhow::Result<()> {
    if comm.rank() != 0 {
        return Ok(());
    }
    // never write over one of the files being ingested
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            identity::refuse_input_as_output(
                out,
                "--out",
                &[("the ingested directory", &entry.path())],
            )?;
        }
    }
    let start = output::now_rfc3339();
    // fail on an unwritable output before reading thousands of files
    let probe = AtomicH5::create(out)?;
    drop(probe);
    let (data, bands, quantity, rejects) = csv::ingest_dir(dir, skip_bad)?;
    for r in &rejects {
        say0!("ingest: rejected {r}");
    }
    let cfg = format!(
        "dir = {:?}\nskip_bad = {skip_bad}\n",
        dir.display().to_string()
    );
    lcfile::write_file(
        out,
        &data,
        &bands,
        quantity,
        &rejects,
        &provenance(comm, "ingest", command_line, cfg, start),
    )?;
    println!(
        "ingested    {} objects, {} observations, bands {} ({}), {} rejected",
        data.objects(),
        data.time.len(),
        bands.join(","),
        quantity.name(),
        rejects.len()
    );
    println!("output      {}", out.display());
    Ok(())
}

/// `tessera ingest table PATH --out FILE`: every unit of a survey table, in
/// order, appended to one light-curve file (rank 0; one unit in memory at a
/// time).
pub fn ingest_table(
    comm: &impl Comm,
    input: &Path,
    out: &Path,
    spec: &ColumnSpec,
    reject_flags: i64,
    command_line: &str,
    progress_interval: f64,
) -> anyhow::Result<()> {
    if comm.rank() != 0 {
        return Ok(());
    }
    identity::refuse_input_as_output(out, "--out", &[("the input", input)])?;
    let start = output::now_rfc3339();
    let mut table = TableSource::open(input, spec, reject_flags)?;
    table.survey(&SerialComm)?;
    // about 3 bytes of HDF5 per byte of (compressed) input, released if unused
    let input_bytes = table.input_bytes();
    let mut w = LcWriter::create(out, table.objects() as u64, input_bytes / 8)?;
    let mut dropped = 0u64;
    // rank 0 alone
    let progress = Progress::new(
        &SerialComm,
        "ingest",
        "objects",
        table.objects() as u64,
        progress_interval,
        Aggregation::Known,
    );
    for t in 0..table.tiles() {
        let data = table.read_tile(t)?;
        dropped += data.flagged.iter().map(|&c| c as u64).sum::<u64>();
        w.append(&data)?;
        progress.inc(data.objects() as u64);
        progress.tick(&SerialComm);
    }
    progress.finish(&SerialComm);
    let (objects, observations) = w.counts();
    let mut cfg = format!(
        "input = {:?}\ncolumns = {:?}\nreject_flags = {reject_flags}\n",
        input.display().to_string(),
        table.mapping.columns_line()
    );
    if let Some(hdu) = &spec.fits_hdu {
        cfg.push_str(&format!("hdu = {:?}\n", hdu.to_string()));
    }
    let path = w.finish(
        &table.band_names,
        table.quantity(),
        &[],
        &provenance(comm, "ingest", command_line, cfg, start),
    )?;
    println!(
        "ingested    {objects} objects, {observations} observations, bands {} ({}) from {} '{}'",
        table.band_names.join(","),
        table.quantity().name(),
        table.kind,
        input.display()
    );
    if table.mapping.flags.is_some() {
        println!("flags       {dropped} observations dropped (reject_flags {reject_flags})");
    }
    println!("output      {}", path.display());
    Ok(())
}

/// Objects generated and written per slab by `synth lightcurves`.
const SYNTH_SLAB: u64 = 1 << 16;

/// `tessera synth lightcurves`: streams `n` synthetic objects to `out` in
/// slabs, so 10^7 objects never sit in memory at once.
pub fn synth(
    comm: &impl Comm,
    p: &SynthParams,
    n: u64,
    out: &Path,
    command_line: &str,
    progress_interval: f64,
) -> anyhow::Result<()> {
    if comm.rank() != 0 {
        return Ok(());
    }
    let start = output::now_rfc3339();
    // rank 0 alone
    let progress = Progress::new(
        &SerialComm,
        "synth",
        "objects",
        n,
        progress_interval,
        Aggregation::Known,
    );
    // every band is observed at each of about `epochs` epochs
    let observations = n.saturating_mul((p.epochs * p.bands.len()) as u64);
    let mut writer = LcWriter::create(out, n, observations)?;
    let mut first = 0u64;
    while first < n {
        let end = (first + SYNTH_SLAB).min(n);
        let curves: Vec<_> = (first..end)
            .into_par_iter()
            .map(|i| synth_curve(p, i))
            .collect();
        let mut slab = Ragged::new();
        for (k, c) in curves.into_iter().enumerate() {
            slab.time.extend(c.time);
            slab.mag.extend(c.mag);
            slab.err.extend(c.err);
            slab.band.extend(c.band);
            slab.push_object(format!("synth-{:08}", first + k as u64), c.period);
        }
        writer.append(&slab)?;
        progress.inc(end - first);
        progress.tick(&SerialComm);
        first = end;
    }
    progress.finish(&SerialComm);
    let (_, total) = writer.counts();
    let cfg = format!("{p:?}");
    let provenance = provenance(comm, "synth lightcurves", command_line, cfg, start);
    let path = writer.finish(&p.bands, Quantity::Mag, &[], &provenance)?;
    println!(
        "synthesised {n} objects, {total} observations, bands {}",
        p.bands.join(",")
    );
    println!("output      {}", path.display());
    Ok(())
}

/// Parses a comma-separated band list for `synth lightcurves`.
pub fn parse_bands(s: &str) -> anyhow::Result<Vec<String>> {
    let bands: Vec<String> = s
        .split(',')
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect();
    if bands.is_empty() || bands.len() > 32 {
        return Err(usage(format!(
            "--bands '{s}': give 1 to 32 comma-separated band names, e.g. g,r,i"
        )));
    }
    Ok(bands)
}
