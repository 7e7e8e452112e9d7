//! Scaling plots (I/O layer): wall time and parallel efficiency against
//! ranks, with the ideal lines and the Amdahl fit, as PNG or SVG.

use std::path::Path;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::series::{Series, SeriesMode};
use crate::io::figure::{render, Figure, COLOURS};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 520;

/// The two panels of one set of series.
struct ScalingFigure<'a>(&'a [Series]);

impl Figure for ScalingFigure<'_> {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw_on(root, self.0)
    }
}

/// Draws `series` to `path`; the extension (`.png` or `.svg`) picks the format.
pub fn draw(series: &[Series], path: &Path) -> anyhow::Result<()> {
    render(&ScalingFigure(series), (WIDTH, HEIGHT), path)
}

fn seconds_label(t: f64) -> String {
    if t >= 10.0 {
        format!("{t:.0}")
    } else if t >= 1.0 {
        format!("{t:.1}")
    } else if t >= 0.01 {
        format!("{t:.2}")
    } else {
        format!("{t:.1e}")
    }
}

fn log2(p: usize) -> f64 {
    (p as f64).log2()
}

fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &[Series],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let (left, right) = root.split_horizontally(WIDTH / 2);
    let ranks: Vec<usize> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.ranks))
        .collect();
    let (pmin, pmax) = (
        ranks.iter().copied().min().unwrap_or(1),
        ranks.iter().copied().max().unwrap_or(2),
    );
    let x_range = (log2(pmin) - 0.25)..(log2(pmax) + 0.25);
    let x_labels = (log2(pmax).ceil() - log2(pmin).floor()) as usize + 1;
    let x_fmt = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 {
            format!("{}", 2f64.powi(x.round() as i32))
        } else {
            String::new()
        }
    };
    let walls: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.wall))
        .collect();
    let tmin = walls.iter().copied().fold(f64::INFINITY, f64::min);
    let tmax = walls.iter().copied().fold(0.0, f64::max);
    // room for the strong ideal line, which falls as 1/p
    let ideal_min = series
        .iter()
        .filter(|s| s.mode == SeriesMode::Strong)
        .map(|s| s.points[0].wall * s.points[0].ranks as f64 / pmax as f64)
        .fold(tmin, f64::min);

    // left: wall time
    let mut time = ChartBuilder::on(&left)
        .caption("wall time against ranks", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        // log10 of the time on a linear axis: evenly spaced labels in seconds
        .build_cartesian_2d(
            x_range.clone(),
            (ideal_min * 0.8).log10()..(tmax * 1.25).log10(),
        )
        .map_err(e)?;
    time.configure_mesh()
        .x_desc("MPI ranks")
        .y_desc("wall time (s)")
        .x_labels(x_labels * 4)
        .x_label_formatter(&x_fmt)
        .y_labels(10)
        .y_label_formatter(&|y| seconds_label(10f64.powf(*y)))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    for (i, s) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|p| (log2(p.ranks), p.wall.log10()))
            .collect();
        let label = match &s.fit {
            Some(f) => format!("{} — Amdahl s = {:.4}", s.short_title(), f.serial_fraction),
            None => s.short_title(),
        };
        time.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(e)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        time.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(e)?;
        let (p0, t0) = (s.points[0].ranks as f64, s.points[0].wall);
        let ideal: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|p| {
                let t = match s.mode {
                    SeriesMode::Strong => t0 * p0 / p.ranks as f64,
                    SeriesMode::Weak => t0,
                };
                (log2(p.ranks), t.log10())
            })
            .collect();
        time.draw_series(DashedLineSeries::new(
            ideal,
            6,
            4,
            c.mix(0.6).stroke_width(1),
        ))
        .map_err(e)?;
        if let Some(f) = s.fit {
            let curve: Vec<(f64, f64)> = (0..=60)
                .map(|k| {
                    let x = log2(pmin) + (log2(pmax) - log2(pmin)) * k as f64 / 60.0;
                    (x, f.time(2f64.powf(x)).log10())
                })
                .collect();
            time.draw_series(DashedLineSeries::new(curve, 2, 3, c.stroke_width(2)))
                .map_err(e)?;
        }
    }
    time.draw_series(std::iter::once(PathElement::new(vec![], BLACK)))
        .map_err(e)?
        .label("dashed thin: ideal; dotted: Amdahl fit")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6)));
    time.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(e)?;

    // right: efficiency
    let emax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.efficiency))
        .fold(1.0, f64::max);
    let mut eff = ChartBuilder::on(&right)
        .caption("parallel efficiency against ranks", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range.clone(), 0.0..(emax * 1.1))
        .map_err(e)?;
    eff.configure_mesh()
        .x_desc("MPI ranks")
        .y_desc("efficiency")
        .x_labels(x_labels * 4)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&|y| format!("{:.0}%", 100.0 * y))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    eff.draw_series(DashedLineSeries::new(
        vec![(x_range.start, 1.0), (x_range.end, 1.0)],
        6,
        4,
        BLACK.mix(0.6).stroke_width(1),
    ))
    .map_err(e)?
    .label("ideal")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6)));
    eff.draw_series(DashedLineSeries::new(
        vec![(x_range.start, 0.5), (x_range.end, 0.5)],
        2,
        4,
        BLACK.mix(0.4).stroke_width(1),
    ))
    .map_err(e)?
    .label("50%")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.4)));
    for (i, s) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|p| (log2(p.ranks), p.efficiency))
            .collect();
        eff.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(e)?
            .label(s.short_title())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        eff.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(e)?;
        if let Some(f) = s.fit {
            let curve: Vec<(f64, f64)> = (0..=60)
                .map(|k| {
                    let x = log2(pmin) + (log2(pmax) - log2(pmin)) * k as f64 / 60.0;
                    let p = 2f64.powf(x);
                    // relative to the series' first rank count, as in the table
                    let p0 = s.points[0].ranks as f64;
                    (x, f.time(p0) * p0 / (f.time(p) * p))
                })
                .collect();
            eff.draw_series(DashedLineSeries::new(curve, 2, 3, c.stroke_width(2)))
                .map_err(e)?;
        }
    }
    eff.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(e)?;
    Ok(())
}
