//! Figures as PNG or SVG files through plotters (I/O layer): the bundled
//! font, the colour cycle and the choice of backend by file extension,
//! shared by the scaling report and `tessera plot`.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Context};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Text is drawn with a bundled DejaVu Sans (assets/fonts, Bitstream Vera
/// licence) through ab_glyph, so no system font library is needed.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font as `sans-serif` (once per process).
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // the bytes are a known-good TTF compiled in; failure is a build error
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The colour cycle (matplotlib's first six), for series in order.
pub const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// Something drawn on a drawing area of any plotters backend.
pub trait Figure {
    /// Draws the whole figure on `root` (already the figure's size).
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;
}

/// Draws `figure` at `size` pixels into `path`; the extension (`.png` or
/// `.svg`) picks the format.
pub fn render(figure: &impl Figure, size: (u32, u32), path: &Path) -> anyhow::Result<()> {
    register_font();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let result = match ext {
        "svg" => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            figure
                .draw_on(&root)
                .and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
        }
        "png" => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            figure
                .draw_on(&root)
                .and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
        }
        _ => Err(anyhow!("plot file must end in .png or .svg")),
    };
    result.with_context(|| format!("drawing '{}'", path.display()))
}
