//! `tessera plot`: one figure per object of a features file, or a gallery
//! of them with an index page (job-driver layer; a serial tool, no MPI).
//!
//! The features file gives the rows, periods and, when the run kept them,
//! the stored periodograms; the light-curve input (the one recorded in
//! `/provenance/config`, or `--input`) gives the observations, read and
//! cleaned with the run's own settings, so the figure shows what the
//! features were computed from.

pub mod draw;
pub mod select;
pub mod view;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hdf5::types::VarLenUnicode;
use ndarray::s;

use crate::comm::SerialComm;
use crate::config::{usage, Layered};
use crate::io::figure::render;
use crate::io::output::AtomicFile;
use crate::io::source::LcSource;
use crate::jobs::export::FeatureTable;
use crate::jobs::lightcurves::config::LcConfig;
use crate::numeric::periodogram::StoredLayout;
use select::Filter;
use view::{ObjectData, ObjectRowsIn, ObjectView};

/// Which objects to draw.
#[derive(Clone, Debug)]
pub enum Selection {
    /// One object by id (`--object`).
    One(String),
    /// A list of ids (`--objects`): a gallery.
    List(Vec<String>),
    /// Objects with a row satisfying a filter (`--select`): a gallery.
    Filter(String),
}

/// Options of `tessera plot`.
#[derive(Clone, Debug)]
pub struct PlotOptions {
    /// The features file (`tessera lightcurves` output).
    pub features: PathBuf,
    /// Which objects.
    pub selection: Selection,
    /// The light-curve input; `None` = the one in `/provenance/config`.
    pub input: Option<PathBuf>,
    /// Output directory (created when missing).
    pub out: PathBuf,
    /// Write PNG files.
    pub png: bool,
    /// Write SVG files.
    pub svg: bool,
}

/// What one run made: the files written, for the summary and the tests.
#[derive(Clone, Debug, Default)]
pub struct PlotReport {
    /// Figures written.
    pub figures: Vec<PathBuf>,
    /// The gallery index, when one was written.
    pub index: Option<PathBuf>,
}

/// The features file's `/provenance/config` as the light-curve job's
/// configuration, with the input replaced by `input` when given.
fn run_config(features: &Path, input: Option<&Path>) -> anyhow::Result<LcConfig> {
    let f = hdf5::File::open(features)
        .with_context(|| format!("cannot open '{}'", features.display()))?;
    let text: VarLenUnicode = f
        .dataset("provenance/config")
        .and_then(|d| d.read_scalar())
        .with_context(|| format!("'{}': /provenance/config", features.display()))?;
    let table: toml::Table = text.as_str().parse().with_context(|| {
        format!(
            "'{}': /provenance/config is not valid TOML",
            features.display()
        )
    })?;
    let source = format!("/provenance/config of '{}'", features.display());
    let mut l = Layered::default();
    for (k, v) in table {
        l.set(&k, v, source.clone());
    }
    let recorded = l.string("input", "")?;
    let input = match input {
        Some(p) => p.to_path_buf(),
        None => {
            // a relative input was relative to where the run started: try there
            // (the current directory) and beside the features file
            let p = PathBuf::from(&recorded);
            let beside = features.parent().map(|d| d.join(&p));
            match (p.exists(), beside) {
                (true, _) => p,
                (false, Some(b)) if p.is_relative() && b.exists() => b,
                _ => {
                    return Err(usage(format!(
                        "the light-curve input '{recorded}' recorded in /provenance/config of '{}' does not exist here: pass --input PATH",
                        features.display()
                    )))
                }
            }
        }
    };
    if !input.exists() {
        return Err(usage(format!(
            "light-curve input '{}' (from --input) does not exist",
            input.display()
        )));
    }
    l.set(
        "input",
        toml::Value::String(input.to_string_lossy().into_owned()),
        "--input",
    );
    // the recorded output is the features file itself, never written here
    l.set(
        "out",
        toml::Value::String(String::new()),
        "tessera plot (unused)",
    );
    LcConfig::from_layered(&l)
}

/// The stored periodograms of a features file, when it kept them.
struct StoredFile {
    layout: StoredLayout,
    datasets: Vec<hdf5::Dataset>,
}

impl StoredFile {
    fn open(features: &Path, top_k: usize) -> anyhow::Result<Option<StoredFile>> {
        let f = hdf5::File::open(features)?;
        if !f.link_exists("periodograms") {
            return Ok(None);
        }
        let g = f.group("periodograms")?;
        let points = g.dataset("frequency")?.shape()[1];
        let layout = StoredLayout { points, top_k };
        let datasets = layout
            .fields()
            .iter()
            .map(|field| {
                let ds = g.dataset(field.name)?;
                if ds.shape().get(1) != Some(&field.width) {
                    bail!(
                        "'{}': /periodograms/{} has shape {:?}, expected {} columns",
                        features.display(),
                        field.name,
                        ds.shape(),
                        field.width
                    );
                }
                Ok(ds)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(StoredFile { layout, datasets }))
    }

    /// The record of row `r`.
    fn record(&self, r: usize) -> anyhow::Result<Vec<f64>> {
        let mut rec = Vec::with_capacity(self.layout.width());
        for ds in &self.datasets {
            rec.extend(ds.read_slice_1d::<f64, _>(s![r, ..])?.iter());
        }
        Ok(rec)
    }
}

/// A file name for an object id: letters, digits, `.`, `-` and `_` kept,
/// everything else `_`.
pub fn file_stem(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("object_{s}")
    } else {
        s
    }
}

/// The object indices selected, in file order; unknown ids and bad filters
/// are usage errors (exit 2) naming them.
fn select(table: &FeatureTable, path: &Path, selection: &Selection) -> anyhow::Result<Vec<usize>> {
    let n = table.ids.len();
    let find = |wanted: &[String]| -> anyhow::Result<Vec<usize>> {
        let all: std::collections::HashMap<String, usize> =
            (0..n).map(|i| (table.ids.text(i), i)).collect();
        let mut idx = Vec::new();
        let mut unknown = Vec::new();
        for id in wanted {
            match all.get(id) {
                Some(&i) => idx.push(i),
                None => unknown.push(id.as_str()),
            }
        }
        if !unknown.is_empty() {
            return Err(usage(format!(
                "unknown object{} {} in '{}' ({n} objects, for example '{}')",
                if unknown.len() > 1 { "s" } else { "" },
                unknown
                    .iter()
                    .map(|u| format!("'{u}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                path.display(),
                if n > 0 {
                    table.ids.text(0)
                } else {
                    String::new()
                }
            )));
        }
        Ok(idx)
    };
    match selection {
        Selection::One(id) => find(std::slice::from_ref(id)),
        Selection::List(ids) => find(ids),
        Selection::Filter(text) => {
            let f = Filter::parse(text)?;
            let col = if f.column == "reason" {
                None
            } else {
                Some(
                    table
                        .names
                        .iter()
                        .position(|c| *c == f.column)
                        .ok_or_else(|| {
                            usage(format!(
                                "--select '{text}': no column '{}' in '{}'; columns: reason, {}",
                                f.column,
                                path.display(),
                                table.names.join(", ")
                            ))
                        })?,
                )
            };
            let band =
                match &f.band {
                    None => None,
                    Some(b) => Some(table.band_names.iter().position(|x| x == b).ok_or_else(
                        || {
                            usage(format!(
                                "--select '{text}': no band '{b}'; bands: {}",
                                table.band_names.join(", ")
                            ))
                        },
                    )? as u8),
                };
            let mut chosen = vec![false; n];
            for r in 0..table.values.nrows() {
                if band.is_some_and(|b| b != table.bands[r]) {
                    continue;
                }
                let x = match col {
                    Some(c) => table.values[[r, c]],
                    None => table.reasons[r] as f64,
                };
                if f.op.holds(x, f.value) {
                    chosen[table.objects[r] as usize] = true;
                }
            }
            Ok((0..n).filter(|&i| chosen[i]).collect())
        }
    }
}

/// Reads object `i` of the input.
fn read_object(input: &LcSource, i: usize, tile: usize) -> anyhow::Result<ObjectData> {
    let (data, local) = match input {
        LcSource::H5(f) => (f.read_objects(i, i + 1)?, 0),
        LcSource::Table(_) => {
            let t = (0..input.tiles(tile))
                .find(|&t| input.tile_objects(t, tile).contains(&i))
                .with_context(|| format!("object {i} is in no unit of the input"))?;
            let LcSource::Table(table) = input else {
                unreachable!()
            };
            (table.read_tile(t)?, i - input.tile_objects(t, tile).start)
        }
    };
    let r = data.range(local);
    Ok(ObjectData {
        time: data.time[r.clone()].to_vec(),
        mag: data.mag[r.clone()].to_vec(),
        err: data.err[r.clone()].to_vec(),
        band: data.band[r].to_vec(),
    })
}

/// Runs `tessera plot`: the figures, and the index of a gallery.
pub fn run(opts: &PlotOptions) -> anyhow::Result<PlotReport> {
    let table = FeatureTable::load(&opts.features)?;
    let objects = select(&table, &opts.features, &opts.selection)?;
    let cfg = run_config(&opts.features, opts.input.as_deref())?;
    let mut input = LcSource::open(&cfg.input, &cfg.columns, cfg.reject_flags)?;
    input.prepare(&SerialComm)?;
    let band_names = input.band_names().to_vec();
    if band_names.len() + 1 != table.band_names.len()
        || band_names
            .iter()
            .zip(&table.band_names)
            .any(|(a, b)| a != b)
    {
        bail!(
            "'{}' has bands {:?} but '{}' was made from bands {:?}: is it the right input?",
            cfg.input.display(),
            band_names,
            opts.features.display(),
            &table.band_names[..table.band_names.len().saturating_sub(1)]
        );
    }
    if input.objects() != table.ids.len() {
        bail!(
            "'{}' holds {} objects but '{}' has {}: is it the right input?",
            cfg.input.display(),
            input.objects(),
            opts.features.display(),
            table.ids.len()
        );
    }
    let input_ids = input.object_ids()?;
    let stored = StoredFile::open(&opts.features, cfg.object.top_k)?;
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create output directory '{}'", opts.out.display()))?;
    let per = band_names.len() + 1;
    let mut report = PlotReport::default();
    let mut views = Vec::new();
    for &i in &objects {
        let id = table.ids.text(i);
        if input_ids.get(i) != Some(&id) {
            bail!(
                "object {i} is '{id}' in '{}' but '{}' in '{}': is it the right input?",
                opts.features.display(),
                input_ids.get(i).map_or("", String::as_str),
                cfg.input.display()
            );
        }
        let obs = read_object(&input, i, cfg.tile.unwrap_or(256))?;
        let rows: Vec<&[f64]> = (i * per..(i + 1) * per)
            .map(|r| {
                table
                    .values
                    .row(r)
                    .to_slice()
                    .expect("a standard-layout row")
            })
            .collect();
        let feature = ObjectRowsIn {
            names: &table.names,
            rows,
            reasons: table.reasons[i * per..(i + 1) * per].to_vec(),
            stored: match &stored {
                Some(s) => Some((s.layout, s.record(i * per + per - 1)?)),
                None => None,
            },
        };
        let v = view::build(
            &id,
            &obs,
            &band_names,
            input.quantity(),
            &feature,
            &cfg.object,
        );
        let stem = file_stem(&id);
        for (on, ext) in [(opts.png, "png"), (opts.svg, "svg")] {
            if on {
                let path = opts.out.join(format!("{stem}.{ext}"));
                render(&draw::ObjectFigure(&v), draw::SIZE, &path)?;
                report.figures.push(path);
            }
        }
        println!(
            "{id}: {}{}",
            v.chosen_text(|p| p.to_string()),
            match v.flags() {
                f if f.is_empty() => String::new(),
                f => format!(" (flagged: {f})"),
            }
        );
        views.push((stem, v));
    }
    if !matches!(opts.selection, Selection::One(_)) {
        let path = opts.out.join("index.html");
        let mut file = AtomicFile::create(&path)?;
        use std::io::Write;
        file.writer()
            .write_all(index_html(opts, &views).as_bytes())
            .with_context(|| format!("writing '{}'", path.display()))?;
        report.index = Some(file.commit()?);
        println!(
            "{} objects; index {}",
            views.len(),
            report.index.as_ref().unwrap().display()
        );
    }
    Ok(report)
}

/// Escapes text for HTML.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The gallery page: one table row per object with its key columns and the
/// figure, linked.
fn index_html(opts: &PlotOptions, views: &[(String, ObjectView)]) -> String {
    let ext = if opts.png { "png" } else { "svg" };
    let what = match &opts.selection {
        Selection::Filter(f) => format!("objects with a row where {}", html(f)),
        _ => "the objects listed".into(),
    };
    let extra: Vec<String> = views
        .first()
        .map(|(_, v)| v.extra.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>tessera plot: {}</title>\n<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} td.id,th.id{{text-align:left}} img{{width:360px}}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{} from <code>{}</code>: {} objects. Periods in days; FAP = the lowest single-band false-alarm probability.</p>\n<table>\n<tr><th class=\"id\">object</th><th>period_refined</th><th>period</th><th>period_power</th><th>best FAP</th>",
        html(&opts.features.display().to_string()),
        html(&opts.features.display().to_string()),
        what,
        html(&opts.features.display().to_string()),
        views.len()
    );
    for e in &extra {
        let _ = write!(h, "<th>{}</th>", html(e));
    }
    h.push_str("<th class=\"id\">flags</th><th>figure</th></tr>\n");
    for (stem, v) in views {
        let file = format!("{stem}.{ext}");
        let _ = write!(
            h,
            "<tr><td class=\"id\"><a href=\"{f}\">{id}</a></td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.2e}</td>",
            v.period_refined,
            v.period,
            v.period_power,
            v.best_fap,
            f = html(&file),
            id = html(&v.id)
        );
        for (_, x) in &v.extra {
            let _ = write!(h, "<td>{x:.3}</td>");
        }
        let _ = writeln!(
            h,
            "<td class=\"id\">{}</td><td><a href=\"{f}\"><img src=\"{f}\" alt=\"{id}\"></a></td></tr>",
            html(&v.flags()),
            f = html(&file),
            id = html(&v.id)
        );
    }
    h.push_str("</table>\n</body>\n</html>\n");
    h
}
