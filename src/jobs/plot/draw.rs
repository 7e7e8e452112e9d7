//! One object's figure (job-driver layer, drawn through `io::figure`): a
//! title with the object id, period and flags; the raw light curve per band;
//! the periodogram with the chosen period, its aliases and the top peaks; the
//! light curve folded at the refined period over two cycles with the fitted
//! harmonic model. Every panel keeps its legend in a column of its own, so
//! no legend covers data.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::view::ObjectView;
use crate::io::figure::{Figure, COLOURS};

/// Figure size in pixels: readable on a laptop screen at 100%.
pub const SIZE: (u32, u32) = (1500, 1380);
/// Width of the legend column right of each panel.
const LEGEND_WIDTH: u32 = 300;
const FONT: &str = "sans-serif";

/// The conventional colour of a survey band (violet u to dark red z), else
/// one of the cycle.
fn band_colour(name: &str, index: usize) -> RGBColor {
    match name {
        "u" => RGBColor(118, 42, 131),
        "g" => RGBColor(44, 160, 44),
        "r" => RGBColor(214, 39, 40),
        "i" => RGBColor(140, 86, 75),
        "z" => RGBColor(60, 60, 60),
        "y" => RGBColor(255, 127, 14),
        _ => COLOURS[index % COLOURS.len()],
    }
}

const GREY: RGBColor = RGBColor(90, 90, 90);
const CHOSEN: RGBColor = RGBColor(214, 39, 40);
const DAILY: RGBColor = RGBColor(255, 127, 14);
const YEARLY: RGBColor = RGBColor(148, 103, 189);
const PEAK: RGBColor = RGBColor(31, 119, 180);

/// One legend line: a sample of the mark and its text.
enum Mark {
    Dot(RGBColor),
    Hollow(RGBColor),
    Line(RGBColor, u32),
    Dashed(RGBColor),
    Triangle(RGBColor),
    None,
}

/// The figure of one [`ObjectView`].
pub struct ObjectFigure<'a>(pub &'a ObjectView);

type Res = anyhow::Result<()>;

fn err<E: std::error::Error + Send + Sync + 'static>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow!("{e}")
}

/// `v` formatted with `digits` significant digits, plainly when that reads
/// well and in exponent form otherwise.
fn sig(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return "NaN".into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        return format!("{v:.*e}", digits.saturating_sub(1));
    }
    let decimals = (digits as i32 - 1 - a.log10().floor().max(-3.0) as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

impl Figure for ObjectFigure<'_> {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Res
    where
        DB::ErrorType: 'static,
    {
        let v = self.0;
        root.fill(&WHITE).map_err(err)?;
        let (title, rest) = root.split_vertically(84);
        draw_title(&title, v)?;
        let (lc, rest) = rest.split_vertically(400);
        let (pg, fold) = rest.split_vertically(400);
        let width = root.dim_in_pixel().0;
        let (lc_chart, lc_legend) = lc.split_horizontally(width - LEGEND_WIDTH);
        draw_light_curve(&lc_chart, &lc_legend, v)?;
        let (pg_chart, pg_legend) = pg.split_horizontally(width - LEGEND_WIDTH);
        draw_periodogram(&pg_chart, &pg_legend, v)?;
        let (fold_chart, fold_legend) = fold.split_horizontally(width - LEGEND_WIDTH);
        draw_folded(&fold_chart, &fold_legend, v)?;
        Ok(())
    }
}

fn draw_title<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, v: &ObjectView) -> Res
where
    DB::ErrorType: 'static,
{
    let mut period = v.chosen_text(|p| sig(p, 7));
    if let Some((_, true)) = v.chosen() {
        period += &format!(" (plain periodogram peak {} d)", sig(v.period, 7));
    }
    area.draw(&Text::new(
        format!("object {}: {period}", v.id),
        (16, 10),
        (FONT, 28).into_font().color(&BLACK),
    ))
    .map_err(err)?;
    let mut line = vec![format!("multiband power {}", sig(v.period_power, 3))];
    if v.best_fap.is_finite() {
        line.push(format!("best single-band FAP {}", sig(v.best_fap, 2)));
    }
    for (name, x) in &v.extra {
        line.push(format!("{name} {}", sig(*x, 3)));
    }
    let flags = v.flags();
    area.draw(&Text::new(
        line.join("   ·   "),
        (16, 48),
        (FONT, 19).into_font().color(&GREY),
    ))
    .map_err(err)?;
    if !flags.is_empty() {
        let at = (area.dim_in_pixel().0 as i32 / 2).max(700);
        area.draw(&Text::new(
            format!("flagged: {flags}"),
            (at, 48),
            (FONT, 19).into_font().color(&CHOSEN),
        ))
        .map_err(err)?;
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    entries: &[(Mark, String)],
) -> Res
where
    DB::ErrorType: 'static,
{
    let (x, mut y) = (8, 44);
    area.draw(&Text::new(
        heading.to_string(),
        (x, y - 22),
        (FONT, 17).into_font().color(&BLACK),
    ))
    .map_err(err)?;
    for (mark, text) in entries {
        let c = (x + 14, y + 8);
        match mark {
            Mark::Dot(col) => area.draw(&Circle::new(c, 5, col.filled())),
            Mark::Hollow(col) => area.draw(&Circle::new(c, 5, col.stroke_width(2))),
            Mark::Line(col, w) => area.draw(&PathElement::new(
                vec![(x, c.1), (x + 28, c.1)],
                col.stroke_width(*w),
            )),
            Mark::Dashed(col) => area
                .draw(&PathElement::new(
                    vec![(x, c.1), (x + 8, c.1), (x + 10, c.1)],
                    col.stroke_width(2),
                ))
                .and_then(|()| {
                    area.draw(&PathElement::new(
                        vec![(x + 16, c.1), (x + 26, c.1)],
                        col.stroke_width(2),
                    ))
                }),
            Mark::Triangle(col) => area.draw(&TriangleMarker::new(c, 7, col.filled())),
            Mark::None => Ok(()),
        }
        .map_err(err)?;
        area.draw(&Text::new(
            text.clone(),
            (x + 36, y),
            (FONT, 16).into_font().color(&BLACK),
        ))
        .map_err(err)?;
        y += 24;
    }
    Ok(())
}

/// A message in the middle of an empty panel.
fn empty_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, caption: &str, why: &str) -> Res
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        caption.to_string(),
        (w as i32 / 2 - 120, 8),
        (FONT, 21).into_font().color(&BLACK),
    ))
    .map_err(err)?;
    area.draw(&Rectangle::new(
        [(70, 40), (w as i32 - 10, h as i32 - 50)],
        GREY.stroke_width(1),
    ))
    .map_err(err)?;
    area.draw(&Text::new(
        why.to_string(),
        (100, h as i32 / 2),
        (FONT, 20).into_font().color(&CHOSEN),
    ))
    .map_err(err)?;
    Ok(())
}

/// A vertical error bar from `lo` to `hi` at `x` (a plain line: plotters'
/// `ErrorBar` needs a feature this build leaves out).
fn error_bar(x: f64, lo: f64, hi: f64, colour: RGBAColor) -> PathElement<(f64, f64)> {
    PathElement::new(vec![(x, lo), (x, hi)], colour.stroke_width(1))
}

/// `lo..hi` of `values` padded by `pad` of the span (and at least `min_pad`).
fn padded(values: impl Iterator<Item = f64>, pad: f64, min_pad: f64) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    if lo > hi {
        return None;
    }
    let p = ((hi - lo) * pad).max(min_pad);
    Some((lo - p, hi + p))
}

/// The sign that puts bright up: magnitudes are drawn negated.
fn up(v: &ObjectView) -> f64 {
    if v.magnitudes {
        -1.0
    } else {
        1.0
    }
}

fn value_label(v: &ObjectView, folded: bool) -> String {
    match (v.magnitudes, folded && v.normalised) {
        (true, false) => "magnitude (brighter up)".into(),
        (true, true) => "normalised magnitude (brighter up)".into(),
        (false, false) => "flux".into(),
        (false, true) => "normalised flux".into(),
    }
}

fn draw_light_curve<DB: DrawingBackend>(
    chart_area: &DrawingArea<DB, Shift>,
    legend: &DrawingArea<DB, Shift>,
    v: &ObjectView,
) -> Res
where
    DB::ErrorType: 'static,
{
    let s = up(v);
    let all = || v.bands.iter().flat_map(|b| b.raw.iter());
    let kept = || {
        v.bands.iter().flat_map(|b| {
            b.raw
                .iter()
                .zip(&b.kept)
                .filter(|(_, k)| **k)
                .map(|(p, _)| p)
        })
    };
    let Some(x) = padded(all().map(|p| p[0]), 0.02, 1.0) else {
        return empty_panel(chart_area, "light curve", "no finite observation");
    };
    // the value axis fits the cleaned points, so one wild outlier does not flatten
    // the curve; points beyond it are drawn on the edge as hollow triangles
    let y = if kept().count() >= 2 {
        padded(kept().map(|p| s * p[1]), 0.08, 0.02)
    } else {
        padded(all().map(|p| s * p[1]), 0.08, 0.02)
    }
    .unwrap_or((-1.0, 1.0));
    let mut chart = ChartBuilder::on(chart_area)
        .caption("light curve (all observations)", (FONT, 21))
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (MJD, days)")
        .y_desc(value_label(v, false))
        .x_label_formatter(&|t| format!("{t:.0}"))
        .y_label_formatter(&|m| format!("{:.2}", s * m))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .draw()
        .map_err(err)?;
    let clamp = |m: f64| m.clamp(y.0, y.1);
    let mut entries = Vec::new();
    let mut rejected = 0;
    for (bi, b) in v.bands.iter().enumerate() {
        if b.raw.is_empty() {
            continue;
        }
        let c = band_colour(&b.name, bi);
        chart
            .draw_series(b.raw.iter().filter(|p| p[2].is_finite()).map(|p| {
                let m = s * p[1];
                error_bar(p[0], clamp(m - p[2]), clamp(m + p[2]), c.mix(0.45))
            }))
            .map_err(err)?;
        let inside = |p: &&[f64; 3]| (y.0..=y.1).contains(&(s * p[1]));
        chart
            .draw_series(
                b.raw
                    .iter()
                    .zip(&b.kept)
                    .filter(|(p, k)| **k && inside(p))
                    .map(|(p, _)| Circle::new((p[0], s * p[1]), 3, c.filled())),
            )
            .map_err(err)?;
        chart
            .draw_series(
                b.raw
                    .iter()
                    .zip(&b.kept)
                    .filter(|(p, k)| !**k && inside(p))
                    .map(|(p, _)| Circle::new((p[0], s * p[1]), 4, BLACK.stroke_width(1))),
            )
            .map_err(err)?;
        chart
            .draw_series(
                b.raw
                    .iter()
                    .filter(|p| !inside(p))
                    .map(|p| TriangleMarker::new((p[0], clamp(s * p[1])), 5, c.stroke_width(1))),
            )
            .map_err(err)?;
        rejected += b.kept.iter().filter(|k| !**k).count();
        let n_kept = b.kept.iter().filter(|k| **k).count();
        entries.push((Mark::Dot(c), format!("{} ({n_kept} points)", b.name)));
    }
    if rejected > 0 {
        entries.push((
            Mark::Hollow(BLACK),
            format!("dropped by cleaning ({rejected})"),
        ));
    }
    entries.push((Mark::Triangle(GREY), "off scale (at the edge)".into()));
    draw_legend(legend, "bands", &entries)
}

fn draw_periodogram<DB: DrawingBackend>(
    chart_area: &DrawingArea<DB, Shift>,
    legend: &DrawingArea<DB, Shift>,
    v: &ObjectView,
) -> Res
where
    DB::ErrorType: 'static,
{
    let Some(pg) = &v.periodogram else {
        let why = if v.reason != 0 {
            format!(
                "no periodogram: {}",
                crate::numeric::lightcurve::columns::reason_name(v.reason)
            )
        } else {
            "no periodogram".to_string()
        };
        return empty_panel(chart_area, "periodogram", &why);
    };
    let pmax = pg.points.iter().map(|p| p.1).fold(0.0, f64::max);
    let (f0, f1) = pg.range;
    let top = (pmax * 1.18).max(1e-3);
    let mut chart = ChartBuilder::on(chart_area)
        .caption(
            format!(
                "{} periodogram ({}, max-pooled to {} points)",
                if v.bands.iter().filter(|b| !b.raw.is_empty()).count() > 1 {
                    "multiband"
                } else {
                    "Lomb-Scargle"
                },
                pg.source,
                pg.points.len()
            ),
            (FONT, 21),
        )
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(f0..f1, 0.0..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("frequency (cycles / day)")
        .y_desc("normalised power")
        .x_labels(16)
        .x_label_formatter(&|f| sig(*f, 3))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .draw()
        .map_err(err)?;
    let vline = |f: f64| vec![(f, 0.0), (f, top)];
    let mut entries = Vec::new();
    // aliases first, so the power and the chosen period are drawn over them
    if let Some((p, _)) = v.chosen() {
        let fc = 1.0 / p;
        for (k, off) in v.alias_offsets.iter().enumerate() {
            let f = fc + off;
            if f < f0 || f > f1 {
                continue;
            }
            let (c, dash) = if k < 4 { (DAILY, 8) } else { (YEARLY, 3) };
            chart
                .draw_series(DashedLineSeries::new(vline(f), dash, 4, c.stroke_width(2)))
                .map_err(err)?;
        }
        entries.push((
            Mark::Dashed(DAILY),
            format!(
                "daily aliases ±{}, ±{} c/d",
                sig(v.alias_offsets[0], 1),
                sig(v.alias_offsets[2], 5)
            ),
        ));
        entries.push((
            Mark::Dashed(YEARLY),
            format!("yearly aliases ±1/{:.2} c/d", 1.0 / v.alias_offsets[4]),
        ));
    }
    chart
        .draw_series(LineSeries::new(
            pg.points.iter().copied(),
            GREY.stroke_width(1),
        ))
        .map_err(err)?;
    entries.insert(0, (Mark::Line(GREY, 1), "power".to_string()));
    if let Some((p, refined)) = v.chosen() {
        let fc = 1.0 / p;
        chart
            .draw_series(LineSeries::new(vline(fc), CHOSEN.stroke_width(2)))
            .map_err(err)?;
        let what = if refined { "refined" } else { "plain peak" };
        entries.insert(
            1,
            (Mark::Line(CHOSEN, 2), format!("{what}: {} d", sig(p, 7))),
        );
    }
    for (k, &(f, p)) in pg.peaks.iter().enumerate() {
        chart
            .draw_series(std::iter::once(TriangleMarker::new(
                (f, p),
                7,
                PEAK.filled(),
            )))
            .map_err(err)?;
        // the number beside its triangle, a few pixels up and right
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((f, p))
                    + Text::new(
                        format!("{}", k + 1),
                        (7, -24),
                        (FONT, 17).into_font().color(&PEAK),
                    ),
            ))
            .map_err(err)?;
        entries.push((
            if k == 0 {
                Mark::Triangle(PEAK)
            } else {
                Mark::None
            },
            format!("peak {}: {} d, power {}", k + 1, sig(1.0 / f, 6), sig(p, 2)),
        ));
    }
    draw_legend(legend, "periodogram", &entries)
}

fn draw_folded<DB: DrawingBackend>(
    chart_area: &DrawingArea<DB, Shift>,
    legend: &DrawingArea<DB, Shift>,
    v: &ObjectView,
) -> Res
where
    DB::ErrorType: 'static,
{
    let Some((period, refined)) = v.chosen() else {
        let why = if v.reason != 0 {
            format!(
                "no period to fold at: {}",
                crate::numeric::lightcurve::columns::reason_name(v.reason)
            )
        } else {
            "no period to fold at".to_string()
        };
        return empty_panel(chart_area, "folded light curve", &why);
    };
    let s = up(v);
    let Some(y) = padded(
        v.bands
            .iter()
            .flat_map(|b| b.folded.iter().map(move |p| s * p[1])),
        0.08,
        0.02,
    ) else {
        return empty_panel(chart_area, "folded light curve", "no cleaned points");
    };
    let mut chart = ChartBuilder::on(chart_area)
        .caption(
            format!(
                "folded at the {} {} d (two cycles)",
                if refined {
                    "refined period"
                } else {
                    "plain periodogram peak"
                },
                sig(period, 7)
            ),
            (FONT, 21),
        )
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..2.0, y.0..y.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("phase (cycles; 0 = brightest point of the model)")
        .y_desc(value_label(v, true))
        .x_labels(9)
        .x_label_formatter(&|x| format!("{x:.2}"))
        .y_label_formatter(&|m| format!("{:.2}", s * m))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .draw()
        .map_err(err)?;
    let clamp = |m: f64| m.clamp(y.0, y.1);
    let mut entries = Vec::new();
    for (bi, b) in v.bands.iter().enumerate() {
        if b.folded.is_empty() {
            continue;
        }
        let c = band_colour(&b.name, bi);
        for cycle in [0.0, 1.0] {
            chart
                .draw_series(b.folded.iter().filter(|p| p[2].is_finite()).map(|p| {
                    let m = s * p[1];
                    error_bar(p[0] + cycle, clamp(m - p[2]), clamp(m + p[2]), c.mix(0.35))
                }))
                .map_err(err)?;
            chart
                .draw_series(
                    b.folded
                        .iter()
                        .map(|p| Circle::new((p[0] + cycle, s * p[1]), 3, c.filled())),
                )
                .map_err(err)?;
        }
        if !b.model.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    b.model.iter().map(|&(x, m)| (x, s * m)),
                    c.stroke_width(3),
                ))
                .map_err(err)?;
        }
        entries.push((
            Mark::Dot(c),
            format!("{} ({} points)", b.name, b.folded.len()),
        ));
    }
    entries.push((Mark::Line(GREY, 3), "harmonic model (shape shared".into()));
    entries.push((Mark::None, "by the bands; offset and".into()));
    entries.push((Mark::None, "amplitude per band)".into()));
    draw_legend(legend, "folded", &entries)
}
