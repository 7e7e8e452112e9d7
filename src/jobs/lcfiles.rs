//! Light-curve file commands (job-driver layer): `tessera ingest csv`,
//! `tessera synth lightcurves` and `tessera export`. They run on rank 0;
//! other ranks of an `mpirun` launch wait and exit with it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use hdf5::types::VarLenUnicode;
use rayon::prelude::*;

use crate::comm::Comm;
use crate::config::usage;
use crate::io::csv;
use crate::io::identity;
use crate::io::lcfile::{self, LcWriter, Quantity, Ragged};
use crate::io::output::{self, AtomicFile, AtomicH5, Provenance};
use crate::numeric::lightcurve::columns::{reason_name, NO_DATA};
use crate::numeric::synth::{synth_curve, SynthParams};
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
) -> anyhow::Result<()> {
    if comm.rank() != 0 {
        return Ok(());
    }
    let start = output::now_rfc3339();
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
        first = end;
        if n > SYNTH_SLAB {
            say0!("synth: {first}/{n} objects");
        }
    }
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

fn csv_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        format!("{v}")
    }
}

/// `tessera export FEATURES.h5 --csv OUT.csv`: one row per object and band
/// (bands without observations are left out), for pandas.
pub fn export(comm: &impl Comm, input: &Path, csv: &Path) -> anyhow::Result<()> {
    if comm.rank() != 0 {
        return Ok(());
    }
    identity::refuse_input_as_output(csv, "--csv", &[("the features-file argument", input)])?;
    let f =
        hdf5::File::open(input).with_context(|| format!("cannot open '{}'", input.display()))?;
    let g = f.group("features").with_context(|| {
        format!(
            "'{}' has no /features group: is it a tessera lightcurves output?",
            input.display()
        )
    })?;
    let values = g.dataset("values")?;
    let names: Vec<String> = values
        .attr("columns")?
        .read_1d::<VarLenUnicode>()?
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let table = values.read_2d::<f64>()?;
    let reasons = g.dataset("reason")?.read_1d::<u8>()?;
    let objects = g.dataset("object")?.read_1d::<u64>()?;
    let bands = g.dataset("band")?.read_1d::<u8>()?;
    let band_names: Vec<String> = g
        .dataset("band_names")?
        .read_1d::<VarLenUnicode>()?
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let ids: Vec<String> = f
        .dataset("objects/object_id")?
        .read_1d::<VarLenUnicode>()?
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    check_feature_rows(
        input,
        &table,
        &names,
        &reasons,
        &objects,
        &bands,
        ids.len(),
        band_names.len(),
    )?;
    // about 24 characters per value
    let mut out = AtomicFile::create_reserved(csv, table.len() as u64 * 24)?;
    let w = out.writer();
    let rows = (|| -> std::io::Result<usize> {
        write!(w, "object_id,band,reason")?;
        for n in &names {
            write!(w, ",{n}")?;
        }
        writeln!(w)?;
        let mut rows = 0;
        for (r, row) in table.rows().into_iter().enumerate() {
            if reasons[r] == NO_DATA {
                continue;
            }
            let id = &ids[objects[r] as usize];
            write!(
                w,
                "{},{},{}",
                id,
                band_names[bands[r] as usize],
                reason_name(reasons[r])
            )?;
            for v in row {
                write!(w, ",{}", csv_float(*v))?;
            }
            writeln!(w)?;
            rows += 1;
        }
        Ok(rows)
    })()
    .with_context(|| format!("writing '{}'", csv.display()))?;
    out.commit()?;
    println!(
        "exported    {rows} rows x {} columns to {}",
        names.len() + 3,
        csv.display()
    );
    Ok(())
}

/// Checks a features file's row datasets against each other before any
/// output is written: every row has a reason, an object and a band, and
/// every object and band index names one. Errors name the file, the
/// dataset and the first bad row.
#[allow(clippy::too_many_arguments)]
fn check_feature_rows(
    input: &Path,
    table: &ndarray::Array2<f64>,
    names: &[String],
    reasons: &ndarray::Array1<u8>,
    objects: &ndarray::Array1<u64>,
    bands: &ndarray::Array1<u8>,
    n_ids: usize,
    n_bands: usize,
) -> anyhow::Result<()> {
    let file = input.display();
    let rows = table.nrows();
    if table.ncols() != names.len() {
        anyhow::bail!(
            "'{file}': /features/values has {} columns but its 'columns' attribute names {}",
            table.ncols(),
            names.len()
        );
    }
    for (name, len) in [
        ("reason", reasons.len()),
        ("object", objects.len()),
        ("band", bands.len()),
    ] {
        if len != rows {
            anyhow::bail!(
                "'{file}': /features/{name} has {len} rows but /features/values has {rows}"
            );
        }
    }
    if let Some(r) = objects.iter().position(|&o| o as usize >= n_ids) {
        anyhow::bail!(
            "'{file}': /features/object[{r}] = {} but /objects/object_id has {n_ids} ids",
            objects[r]
        );
    }
    if let Some(r) = bands.iter().position(|&b| b as usize >= n_bands) {
        anyhow::bail!(
            "'{file}': /features/band[{r}] = {} but /features/band_names has {n_bands} names",
            bands[r]
        );
    }
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
