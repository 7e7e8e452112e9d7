//! The light-curve job (`tessera lightcurves`): job-driver layer.
//!
//! Objects are cut into fixed tiles of `tile` objects. Rank 0 hands tiles out
//! dynamically (see [`crate::jobs::dispatch`]); each rank reads its tile's
//! observations straight from the input file, processes the objects with
//! rayon, and writes the tile's rows into one output file through parallel
//! HDF5 (MPI-IO), so bulk rows never pass through rank 0. Each object gets
//! one row per band of the input plus a `multi` row for results combining
//! all bands; row `r` belongs to object `r / (bands + 1)` and band
//! `r % (bands + 1)` (index `bands` = multi). Every row depends only on its
//! object, so the file's datasets are identical for any ranks and threads.

pub mod config;
pub mod tile;

use std::path::PathBuf;

use ndarray::{s, Array2};

use crate::comm::{Comm, Coordinated};
use crate::gpu::Resolved;
use crate::io::checkpoint::{Checkpoint, Manifest};
use crate::io::lcfile::Quantity;
use crate::io::output::{self, ParallelH5, Provenance};
use crate::io::source::LcSource;
use crate::jobs::dispatch::run_tiles_with_progress;
use crate::jobs::pool::{build_pool, resolve_threads};
use crate::log::memory_debug;
use crate::numeric::lightcurve::columns::reason_name;
use crate::numeric::lightcurve::dmdt::{DmDtMode, DmDtPlan};
use crate::numeric::lightcurve::object::ObjectOptions;
use crate::numeric::periodogram::{alias_offsets, StoredLayout};
use crate::progress::{Aggregation, Progress};
use crate::say0;
use crate::timings::{Phase, PhaseTimer};

pub use config::LcConfig;
use tile::{process_tile, TileRows};

/// The `/features` datasets every rank writes its tiles into.
struct FeatureDatasets {
    values: hdf5::Dataset,
    reason: hdf5::Dataset,
    object: hdf5::Dataset,
    band: hdf5::Dataset,
    /// Observations dropped for their flags, per row (inputs with flags only).
    flagged: Option<hdf5::Dataset>,
    /// `/periodograms/*`, one dataset per field of the record, when kept.
    stored: Option<(StoredLayout, Vec<hdf5::Dataset>)>,
    /// `/dmdt/map` and its shape `(lgdt, dm)`, when kept (the end of a
    /// row's record, after the stored periodogram).
    dmdt: Option<([usize; 2], hdf5::Dataset)>,
    /// Values of a row's record (stored periodogram and dm-dt map).
    record_width: usize,
    /// Rows per object: one per band plus `multi`.
    rows_per_object: usize,
    /// Columns per row.
    ncols: usize,
}

impl FeatureDatasets {
    /// Creates `/features/{values,reason,object,band}` (and the
    /// `/periodograms` fields and `/dmdt/map` when `opts` keeps them)
    /// collectively, chunked by tile.
    fn create(
        f: &hdf5::File,
        tile: usize,
        objects: usize,
        rows_per_object: usize,
        ncols: usize,
        flags: bool,
        opts: &ObjectOptions,
    ) -> anyhow::Result<FeatureDatasets> {
        let stored = opts.stored_layout();
        let n_rows = objects * rows_per_object;
        let g = f.create_group("features")?;
        let chunk_rows = (tile * rows_per_object).min(n_rows.max(1));
        let values = g
            .new_dataset::<f64>()
            .chunk((chunk_rows, ncols))
            .shape((n_rows, ncols))
            .create("values")?;
        let reason = g
            .new_dataset::<u8>()
            .chunk(chunk_rows)
            .shape(n_rows)
            .create("reason")?;
        let object = g
            .new_dataset::<u64>()
            .chunk(chunk_rows)
            .shape(n_rows)
            .create("object")?;
        let band = g
            .new_dataset::<u8>()
            .chunk(chunk_rows)
            .shape(n_rows)
            .create("band")?;
        let flagged = flags
            .then(|| {
                g.new_dataset::<u32>()
                    .chunk(chunk_rows)
                    .shape(n_rows)
                    .create("n_flagged")
            })
            .transpose()?;
        let stored = match stored {
            None => None,
            Some(layout) => {
                let pg = f.create_group("periodograms")?;
                let sets = layout
                    .fields()
                    .iter()
                    .map(|field| {
                        pg.new_dataset::<f64>()
                            .chunk((chunk_rows, field.width))
                            .shape((n_rows, field.width))
                            .create(field.name)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some((layout, sets))
            }
        };
        let dmdt = match &opts.dmdt {
            None => None,
            Some(plan) => {
                let shape = [plan.options.grid.lgdt_size, plan.options.grid.dm_size];
                let map = f
                    .create_group("dmdt")?
                    .new_dataset::<f64>()
                    .chunk((chunk_rows, shape[0], shape[1]))
                    .shape((n_rows, shape[0], shape[1]))
                    .create("map")?;
                Some((shape, map))
            }
        };
        Ok(FeatureDatasets {
            values,
            reason,
            object,
            band,
            flagged,
            stored,
            dmdt,
            record_width: opts.stored_width(),
            rows_per_object,
            ncols,
        })
    }

    /// Opens the datasets of a partial output (a resumed run).
    fn open(
        f: &hdf5::File,
        rows_per_object: usize,
        ncols: usize,
        opts: &ObjectOptions,
    ) -> anyhow::Result<FeatureDatasets> {
        let dmdt = match &opts.dmdt {
            None => None,
            Some(plan) => {
                let shape = [plan.options.grid.lgdt_size, plan.options.grid.dm_size];
                Some((shape, f.group("dmdt")?.dataset("map")?))
            }
        };
        let stored = match opts.stored_layout() {
            None => None,
            Some(layout) => {
                let pg = f.group("periodograms")?;
                let sets = layout
                    .fields()
                    .iter()
                    .map(|field| pg.dataset(field.name))
                    .collect::<Result<Vec<_>, _>>()?;
                Some((layout, sets))
            }
        };
        let g = f.group("features")?;
        let values = g.dataset("values")?;
        if values.shape().get(1) != Some(&ncols) {
            anyhow::bail!("the partial output's /features/values does not have {ncols} columns");
        }
        Ok(FeatureDatasets {
            values,
            reason: g.dataset("reason")?,
            object: g.dataset("object")?,
            band: g.dataset("band")?,
            flagged: g.dataset("n_flagged").ok(),
            stored,
            dmdt,
            record_width: opts.stored_width(),
            rows_per_object,
            ncols,
        })
    }

    /// Writes one tile's rows (values, reasons, object and band indices).
    fn write_tile(&self, rows: TileRows) -> anyhow::Result<()> {
        let per = self.rows_per_object;
        let r0 = rows.first_object * per;
        let r1 = r0 + rows.objects * per;
        let arr = Array2::from_shape_vec((r1 - r0, self.ncols), rows.values)?;
        self.values.write_slice(&arr, s![r0..r1, ..])?;
        self.reason.write_slice(&rows.reasons, s![r0..r1])?;
        let obj: Vec<u64> = (r0..r1).map(|r| (r / per) as u64).collect();
        self.object.write_slice(&obj, s![r0..r1])?;
        let bnd: Vec<u8> = (r0..r1).map(|r| (r % per) as u8).collect();
        self.band.write_slice(&bnd, s![r0..r1])?;
        if let Some(f) = &self.flagged {
            f.write_slice(&rows.flagged, s![r0..r1])?;
        }
        if self.record_width == 0 {
            return Ok(());
        }
        let records = Array2::from_shape_vec((r1 - r0, self.record_width), rows.stored)?;
        let mut at = 0;
        if let Some((layout, sets)) = &self.stored {
            for (field, ds) in layout.fields().iter().zip(sets) {
                let part = records
                    .slice(s![.., field.offset..field.offset + field.width])
                    .to_owned();
                ds.write_slice(&part, s![r0..r1, ..])?;
            }
            at = layout.width();
        }
        if let Some(([nt, nm], map)) = &self.dmdt {
            let part = records
                .slice(s![.., at..at + nt * nm])
                .to_owned()
                .into_shape_with_order((r1 - r0, *nt, *nm))?;
            map.write_slice(&part, s![r0..r1, .., ..])?;
        }
        Ok(())
    }
}

/// What every rank contributed, gathered on rank 0 after the tiles.
struct Gathered {
    /// Tiles each rank computed.
    tiles_per_rank: Vec<Vec<f64>>,
    /// Host names, per rank.
    hosts: Vec<String>,
    /// `/provenance/backend` and `/provenance/device`.
    backend_name: String,
    device_name: String,
    /// `/timings` rows, per rank.
    timing_rows: Vec<Vec<f64>>,
}

/// Runs the job on this rank with a backend already resolved (before MPI,
/// by the binary, so `--backend gpu` without a device exits 2 early).
pub fn run_on(
    cfg: &LcConfig,
    backend: &Resolved,
    comm: &impl Comm,
    read_seconds: f64,
    command_line: &str,
) -> anyhow::Result<()> {
    let mut timer = PhaseTimer::start();
    timer.add(Phase::Read, read_seconds);
    let start_time = output::now_rfc3339();
    let size = comm.size();

    let mut input = comm.agree(timer.time(Phase::Read, || {
        LcSource::open(&cfg.input, &cfg.columns, cfg.reject_flags)
    }))?;
    // the whole layout checked (HDF5) or the ids and bands surveyed (tables)
    // once, before any tile is computed
    let t_prepare = std::time::Instant::now();
    input.prepare(comm)?;
    timer.add(Phase::Read, t_prepare.elapsed().as_secs_f64());
    memory_debug("survey");
    if input.quantity() == Quantity::Flux {
        say0!("lightcurves: input holds fluxes; features describe flux values");
    }
    let bands = input.band_names().len();
    let objects = input.objects();
    let ncols = cfg.object.layout(bands).width();
    // the input says whether its values are fluxes (transient fits, box least squares)
    // and which bands the Rainbow fit sees
    let object = ObjectOptions {
        flux: input.quantity() == Quantity::Flux,
        band_wavelengths: cfg.wavelengths_for(input.band_names()),
        ..cfg.object.clone()
    };
    if object.groups.rainbow {
        let missing: Vec<&str> = input
            .band_names()
            .iter()
            .zip(&object.band_wavelengths)
            .filter(|(_, w)| w.is_nan())
            .map(|(b, _)| b.as_str())
            .collect();
        if !missing.is_empty() {
            say0!(
                "lightcurves: no wavelength for band(s) {} (set [band_wavelengths]); Rainbow fits of objects with points there are NaN (no_band_wavelength)",
                missing.join(", ")
            );
        }
    }
    let rows_per_object = bands + 1;
    let threads = resolve_threads(cfg.threads, comm.node_size());
    let mut tile = cfg.tile.unwrap_or_else(|| match input {
        LcSource::H5(_) => config::auto_tile(objects, size, threads),
        LcSource::Table(_) => config::AUTO_TABLE_TILE,
    });
    if cfg.tile.is_none() && cfg.resume {
        // an automatic tile depends on the ranks: a resumed run keeps the
        // interrupted run's tile, so its units are the same
        let mut t = [0u64];
        if comm.rank() == 0 {
            t[0] = crate::io::checkpoint::recorded_int(&cfg.out, "tile").unwrap_or(0);
        }
        comm.broadcast_u64(&mut t);
        if t[0] > 0 {
            tile = t[0] as usize;
        }
    }
    input.split(tile);
    let tiles = input.tiles(tile) as u64;
    let pool = build_pool(threads)?;
    // each rank opens the device of its node-local rank
    let device = crate::gpu::open_for_job("lightcurves", cfg.backend, backend, comm)?;
    say0!(
        "lightcurves: {objects} objects x {bands} bands from {} in {tiles} tiles{}; {size} ranks x {threads} threads{}",
        input.describe(),
        format!(
            " of {}{tile}{}",
            match input {
                LcSource::H5(_) => "",
                LcSource::Table(_) => "at most ",
            },
            if cfg.tile.is_none() { " (auto)" } else { "" }
        ),
        if device.is_some() {
            "; single-band periodograms on the GPU (direct method)"
        } else {
            ""
        }
    );

    // the output: one file, written collectively as the checkpoint's
    // partial.h5 and renamed into place when complete; the manifest holds
    // the tile in use, so an automatic tile survives a resume on other ranks
    let mut resolved: toml::Table = cfg.toml.parse().unwrap_or_default();
    resolved.insert("tile".into(), toml::Value::Integer(tile as i64));
    let manifest = comm.agree(Manifest::new(
        "lightcurves",
        &toml::to_string(&resolved).unwrap_or_default(),
        Some(&cfg.input),
        tiles,
    ))?;
    let mut ckpt = Checkpoint::open(comm, &cfg.out, manifest, cfg.resume)?;
    let write_start = std::time::Instant::now();
    let (out, datasets) = if ckpt.resumed {
        let out = ParallelH5::open_at(comm, &cfg.out, ckpt.partial_h5())?;
        let datasets = comm.agree(FeatureDatasets::open(
            out.file(),
            rows_per_object,
            ncols,
            &cfg.object,
        ))?;
        (out, datasets)
    } else {
        // disk reserved for the feature rows, their chunk padding and the metadata
        let chunk_rows = (tile * rows_per_object) as u64;
        let n_rows = (objects * rows_per_object) as u64;
        let row_bytes = (ncols + cfg.object.stored_width()) as u64 * 8 + 10;
        let reserve = n_rows.div_ceil(chunk_rows.max(1)) * chunk_rows * row_bytes
            + objects as u64 * 64
            + (4 << 20);
        comm.agree(ckpt.create_dir())?;
        let out = ParallelH5::create_at(comm, &cfg.out, ckpt.partial_h5(), reserve)?;
        let datasets = comm.agree(FeatureDatasets::create(
            out.file(),
            tile,
            objects,
            rows_per_object,
            ncols,
            input.has_flags(),
            &cfg.object,
        ))?;
        // the layout on disk before any unit is recorded
        out.flush(comm)?;
        comm.agree(ckpt.commit_manifest())?;
        (out, datasets)
    };
    comm.agree(ckpt.sync_before_record(&ckpt.partial_h5()))?;
    timer.add(Phase::Write, write_start.elapsed().as_secs_f64());
    memory_debug("output created");

    let todo = ckpt.todo();
    let progress = Progress::new(
        comm,
        "lightcurves",
        "tiles",
        todo.len() as u64,
        cfg.progress_interval,
        Aggregation::Known,
    );
    let dispatch = run_tiles_with_progress(
        comm,
        &todo,
        &progress,
        |t| {
            pool.install(|| process_tile(&object, &input, t as usize, tile, ncols, device.as_ref()))
        },
        |tile, rows: TileRows| {
            datasets.write_tile(rows)?;
            ckpt.record(&[(tile, &[])])
        },
    )?;
    progress.finish(comm);
    memory_debug("tiles");
    timer.add(Phase::Scatter, dispatch.scatter);
    timer.add(Phase::Compute, dispatch.compute);
    timer.add(Phase::Write, dispatch.write);
    let close_start = std::time::Instant::now();
    drop(datasets);
    if !dispatch.complete {
        out.close_keep(comm)?;
        let mine = [dispatch.tiles.len() as f64];
        let done = comm
            .gather_f64(&mine)
            .map(|v| v.iter().map(|r| r[0]).sum::<f64>());
        let mut total = [done.unwrap_or(0.0) as u64 + ckpt.done.len() as u64];
        comm.broadcast_u64(&mut total);
        let stopped = ckpt.stopped(total[0], "tile");
        ckpt.keep();
        return Err(stopped.into());
    }
    let out = out.close_parallel(comm)?;
    timer.add(Phase::Write, close_start.elapsed().as_secs_f64());

    let t_reduce = std::time::Instant::now();
    let my_tiles = comm.gather_f64(&[dispatch.tiles.len() as f64]);
    let hosts = comm.gather_bytes(comm.host_name().as_bytes());
    let devices = crate::gpu::provenance_fields(device.as_ref(), comm);
    timer.add(Phase::Reduce, t_reduce.elapsed().as_secs_f64());
    let timing_rows = comm.gather_f64(&timer.row());
    let (
        Some(tiles_per_rank),
        Some(hosts),
        Some((backend_name, device_name)),
        Some(timing_rows),
        Some(out),
    ) = (my_tiles, hosts, devices, timing_rows, out)
    else {
        ckpt.finish();
        return Ok(());
    };
    let gathered = Gathered {
        tiles_per_rank,
        hosts: hosts
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect(),
        backend_name,
        device_name,
        timing_rows,
    };
    // rank 0 alone, after every collective: metadata, provenance, timings
    let provenance = Provenance {
        job: "lightcurves".into(),
        command_line: command_line.to_string(),
        config_toml: cfg.toml.clone(),
        ranks: size,
        threads_per_rank: threads,
        backend: gathered.backend_name.clone(),
        device: gathered.device_name.clone(),
        mpi_library: comm.library_version(),
        hosts: output::summarise_hosts(&gathered.hosts),
        start_time,
        end_time: String::new(),
    };
    finish(
        cfg,
        &input,
        out,
        provenance,
        timer,
        gathered,
        (threads, tile),
    )
    .map_err(Coordinated)?;
    ckpt.finish();
    Ok(())
}

/// Rank 0: the attributes that say what `/periodograms` holds.
fn describe_stored(
    f: &hdf5::File,
    layout: &StoredLayout,
    spacings: &[f64; 3],
    rows_per_object: usize,
) -> anyhow::Result<()> {
    let pg = f.group("periodograms")?;
    output::attr_str(
        &pg,
        "description",
        &format!(
            "per /features row (row r = object r / {rows_per_object}, band r % {rows_per_object}): the row's periodogram max-pooled over {} contiguous blocks of its frequency grid (block j = grid indices j*n/{}..(j+1)*n/{}), and the power at the top {} peaks and at their aliases; NaN where the row has no periodogram",
            layout.points, layout.points, layout.points, layout.top_k
        ),
    )?;
    for field in layout.fields() {
        let ds = pg.dataset(field.name)?;
        output::attr_str(&ds, "description", &field.description)?;
    }
    pg.dataset("alias_frequency")?
        .new_attr_builder()
        .with_data(&alias_offsets(*spacings))
        .create("alias_offsets")?;
    pg.new_attr_builder()
        .with_data(&[layout.points as u64])
        .create("points")?;
    Ok(())
}

/// Rank 0: the axis edges and attributes that say what `/dmdt/map` holds.
fn describe_dmdt(f: &hdf5::File, plan: &DmDtPlan, rows_per_object: usize) -> anyhow::Result<()> {
    let g = f.group("dmdt")?;
    let o = &plan.options;
    let mode = match o.mode {
        DmDtMode::Points => "points",
        DmDtMode::Gausses => "gausses",
    };
    let norm: Vec<&str> = [("dt", o.norm.dt), ("max", o.norm.max)]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect();
    let map = g.dataset("map")?;
    output::attr_str(
        &map,
        "description",
        &format!(
            "per /features band row (row r = object r / {rows_per_object}, band r % {rows_per_object}): the dm-dt map of its cleaned points, [row, lg dt cell, dm cell] (light-curve DmDt.{mode}, Mahabal et al. 2017); multi: a copy of an object's only usable band, else NaN; NaN where the band was not cleaned"
        ),
    )?;
    output::attr_str(&map, "mode", mode)?;
    output::attr_str_list(&map, "norm", &norm)?;
    let edges = |name: &str, v: &[f64], what: &str| -> anyhow::Result<()> {
        let ds = g.new_dataset_builder().with_data(v).create(name)?;
        output::attr_str(&ds, "description", what)?;
        Ok(())
    };
    edges(
        "lgdt_edges",
        &plan.lgdt_edges(),
        "borders of the lg dt cells, lg days (cell i holds lgdt_edges[i] <= lg dt < lgdt_edges[i+1])",
    )?;
    edges(
        "dm_edges",
        plan.dm_edges(),
        "borders of the dm cells, magnitudes (or the input's flux unit); dm = later minus earlier point",
    )?;
    Ok(())
}

/// Rank 0, after every collective: adds the column and reason metadata,
/// object ids, summary, provenance and timings, renames the file into place
/// and prints the summary.
fn finish(
    cfg: &LcConfig,
    input: &LcSource,
    mut out: output::ClosedH5,
    mut provenance: Provenance,
    mut timer: PhaseTimer,
    mut gathered: Gathered,
    (threads, tile): (usize, usize),
) -> anyhow::Result<PathBuf> {
    let t_write = std::time::Instant::now();
    let bands = input.band_names().len();
    let objects = input.objects();
    let rows_per_object = bands + 1;
    let n_rows = objects * rows_per_object;
    let f = out.reopen()?;
    let g = f.group("features")?;
    // counted from the file: a resumed run computed only some of the rows
    let mut reason_counts = vec![0u64; 256];
    for c in g.dataset("reason")?.read_raw::<u8>()? {
        reason_counts[c as usize] += 1;
    }
    let values = g.dataset("values")?;
    let columns = cfg.object.layout(bands).columns_for(input.band_names());
    let name_refs: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let desc_refs: Vec<&str> = columns.iter().map(|c| c.description.as_str()).collect();
    output::attr_str_list(&values, "columns", &name_refs)?;
    output::attr_str_list(&values, "descriptions", &desc_refs)?;
    output::attr_str(&values, "row_layout", &format!("row r = object r / {rows_per_object}, band r % {rows_per_object} (index {bands} = multi)"))?;
    let codes: Vec<u8> = (0..=255u8)
        .filter(|&c| c == 0 || reason_name(c) != "unknown")
        .collect();
    let code_names: Vec<String> = codes
        .iter()
        .map(|&c| format!("{c}={}", if c == 0 { "ok" } else { reason_name(c) }))
        .collect();
    output::write_str_list(&g, "reason_codes", &code_names)?;
    let mut band_names = input.band_names().to_vec();
    band_names.push("multi".into());
    output::write_str_list(&g, "band_names", &band_names)?;
    if let Some(layout) = cfg.object.stored_layout() {
        describe_stored(&f, &layout, &cfg.object.refine.aliases, rows_per_object)?;
    }
    if let Some(plan) = &cfg.object.dmdt {
        describe_dmdt(&f, plan, rows_per_object)?;
    }
    let objects_g = f.create_group("objects")?;
    input.write_object_columns(&objects_g)?;
    memory_debug("/objects written");
    let partitions = input.hats_partitions();
    if !partitions.is_empty() {
        let flat: Vec<u64> = partitions.iter().flat_map(|&(k, n)| [k, n]).collect();
        let arr = Array2::from_shape_vec((partitions.len(), 2), flat)?;
        objects_g
            .new_dataset_builder()
            .with_data(&arr)
            .create("hats_partitions")?
            .new_attr_builder()
            .with_data(&output::varlen_str(
                "Norder, Npix of each partition of the HATS input",
            ))
            .create("description")?;
    }
    if let Some(p) = input.true_periods()? {
        objects_g
            .new_dataset_builder()
            .with_data(&p)
            .create("true_period")?;
    }
    let summary = f.create_group("summary")?;
    output::write_u64(&summary, "objects", objects as u64)?;
    output::write_u64(&summary, "rows", n_rows as u64)?;
    let flagged: Vec<String> = codes
        .iter()
        .filter(|&&c| c != 0 && reason_counts[c as usize] > 0)
        .map(|&c| format!("{}: {}", reason_name(c), reason_counts[c as usize]))
        .collect();
    output::write_str_list(&summary, "flagged_rows", &flagged)?;
    let compute = gathered
        .timing_rows
        .iter()
        .map(|r| r[Phase::Compute as usize])
        .fold(0.0, f64::max);
    provenance.end_time = output::now_rfc3339();
    provenance.write(&f)?;
    // the tile used: the `tile` key, or the automatic choice
    output::write_u64(&f.group("provenance")?, "tile", tile as u64)?;
    timer.add(Phase::Write, t_write.elapsed().as_secs_f64());
    gathered.timing_rows[0] = timer.row().to_vec();
    output::write_timings(&f, &gathered.timing_rows)?;
    let path = out.finish()?;
    let total = gathered.timing_rows[0][Phase::Total as usize];
    let size = provenance.ranks;
    println!("objects     {objects} ({n_rows} rows: {bands} bands + multi)");
    println!(
        "flagged     {}",
        if flagged.is_empty() {
            "none".to_string()
        } else {
            flagged.join(", ")
        }
    );
    println!(
        "tiles/rank  {}",
        gathered
            .tiles_per_rank
            .iter()
            .map(|v| format!("{}", v[0]))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "time        {total:.3} s total, {compute:.3} s compute on {size} ranks x {threads} threads ({:.0} objects/s, {:.3} ms per object per core)",
        objects as f64 / total,
        1e3 * compute * (threads as f64) / objects.max(1) as f64
    );
    if gathered.backend_name == "gpu" {
        println!(
            "gpu         {} (single-band periodograms, direct method)",
            gathered.device_name
        );
    }
    println!("output      {}", path.display());
    Ok(path)
}
