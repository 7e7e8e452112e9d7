//! What one object's figure shows, gathered from the features file and the
//! light-curve input (job-driver layer): the raw and cleaned points per band,
//! the periodogram of the object's `multi` row (stored, or recomputed by the
//! same per-object pipeline), the chosen period with its aliases and the top
//! peaks, and the harmonic model folded at the refined period.

use crate::io::lcfile::Quantity;
use crate::numeric::lightcurve::clean::{clean, CleanScratch, LcBuf};
use crate::numeric::lightcurve::columns::{reason_name, Groups, NO_DATA};
use crate::numeric::lightcurve::object::{
    band_points, process_object, ObjectOptions, ObjectRows, ObjectScratch, Observations,
};
use crate::numeric::lightcurve::Normalisation;
use crate::numeric::periodogram::harmonic::shape_at;
use crate::numeric::periodogram::{harmonic_chi2, HarmonicScratch, StoredLayout};

/// Points of the periodogram drawn when the features file kept none: the
/// full periodogram max-pooled like a stored one, so peaks survive.
pub const DISPLAY_POINTS: usize = 2048;

/// Phases at which the fitted model is drawn over two cycles.
const MODEL_SAMPLES: usize = 400;

/// One band of the object.
#[derive(Clone, Debug, Default)]
pub struct BandView {
    /// Band name.
    pub name: String,
    /// Finite raw points: time (days), value, error (NaN when unknown).
    pub raw: Vec<[f64; 3]>,
    /// Whether each raw point survived cleaning.
    pub kept: Vec<bool>,
    /// Cleaned points, folded: phase in [0, 1), value, error.
    pub folded: Vec<[f64; 3]>,
    /// The fitted harmonic model over two cycles: (phase, value).
    pub model: Vec<(f64, f64)>,
    /// The band row's reason code.
    pub reason: u8,
}

/// The periodogram drawn, as a max-pooled record.
#[derive(Clone, Debug, Default)]
pub struct PeriodogramView {
    /// Frequencies, cycles/day, and power of the pooled points.
    pub points: Vec<(f64, f64)>,
    /// The top peaks: frequency, power.
    pub peaks: Vec<(f64, f64)>,
    /// "stored" (read from /periodograms) or "recomputed".
    pub source: &'static str,
    /// Lowest and highest frequency of the grid.
    pub range: (f64, f64),
}

/// Everything one figure shows.
#[derive(Clone, Debug, Default)]
pub struct ObjectView {
    /// Object id as text.
    pub id: String,
    /// Magnitudes (axis inverted) or fluxes.
    pub magnitudes: bool,
    /// The cleaned values were normalised (the folded panel's unit).
    pub normalised: bool,
    /// Every band of the input, in band order.
    pub bands: Vec<BandView>,
    /// The `multi` row's period columns.
    pub period: f64,
    /// Refined period, days (NaN when none).
    pub period_refined: f64,
    /// Power of the plain peak.
    pub period_power: f64,
    /// Lowest single-band false-alarm probability.
    pub best_fap: f64,
    /// The `multi` row's reason code.
    pub reason: u8,
    /// Extra columns for the title (such as `alias_margin`), when present.
    pub extra: Vec<(String, f64)>,
    /// The periodogram, when one could be made.
    pub periodogram: Option<PeriodogramView>,
    /// Signed alias offsets (cycles/day) marked around the chosen frequency.
    pub alias_offsets: [f64; 6],
}

impl ObjectView {
    /// The period the figure marks and folds at: `period_refined`, or the plain peak
    /// `period` when the refinement was off (`refine_peaks = 0`) or found nothing;
    /// with whether it is the refined one. None when neither is a positive number.
    pub fn chosen(&self) -> Option<(f64, bool)> {
        let ok = |p: f64| p.is_finite() && p > 0.0;
        if ok(self.period_refined) {
            Some((self.period_refined, true))
        } else if ok(self.period) {
            Some((self.period, false))
        } else {
            None
        }
    }

    /// [`Self::chosen`] in words, periods written by `fmt`: "refined period P d",
    /// "plain periodogram peak P d (not refined)" or "no period".
    pub fn chosen_text(&self, fmt: impl Fn(f64) -> String) -> String {
        match self.chosen() {
            Some((p, true)) => format!("refined period {} d", fmt(p)),
            Some((p, false)) => format!("plain periodogram peak {} d (not refined)", fmt(p)),
            None => "no period".to_string(),
        }
    }

    /// Why rows are flagged, for the title: `band: reason` of every row
    /// with a non-zero code except bands without observations; empty when
    /// none.
    pub fn flags(&self) -> String {
        let mut v: Vec<String> = self
            .bands
            .iter()
            .filter(|b| b.reason != 0 && b.reason != NO_DATA)
            .map(|b| format!("{}: {}", b.name, reason_name(b.reason)))
            .collect();
        if self.reason != 0 {
            v.push(format!("multi: {}", reason_name(self.reason)));
        }
        v.join(", ")
    }
}

/// One object's observations as owned parallel arrays.
#[derive(Clone, Debug, Default)]
pub struct ObjectData {
    /// Times, days.
    pub time: Vec<f64>,
    /// Magnitudes or fluxes.
    pub mag: Vec<f64>,
    /// Uncertainties.
    pub err: Vec<f64>,
    /// Band index of each point.
    pub band: Vec<u8>,
}

impl ObjectData {
    fn observations(&self) -> Observations<'_> {
        Observations {
            time: &self.time,
            mag: &self.mag,
            err: &self.err,
            band: &self.band,
        }
    }
}

/// The feature-file side of one object: its rows' values and reasons, and
/// its multi row's stored periodogram record when the file kept one.
pub struct ObjectRowsIn<'a> {
    /// Column names of the rows.
    pub names: &'a [String],
    /// `bands + 1` rows of values.
    pub rows: Vec<&'a [f64]>,
    /// `bands + 1` reason codes.
    pub reasons: Vec<u8>,
    /// The multi row's stored record and its layout.
    pub stored: Option<(StoredLayout, Vec<f64>)>,
}

/// Builds the view of one object from its observations and feature rows.
/// `opts` are the options of the run that made the features (from its
/// `/provenance/config`), so cleaning, grid and model are the same.
pub fn build(
    id: &str,
    obs: &ObjectData,
    band_names: &[String],
    quantity: Quantity,
    feature: &ObjectRowsIn,
    opts: &ObjectOptions,
) -> ObjectView {
    let bands = band_names.len();
    let col = |row: usize, name: &str| {
        feature
            .names
            .iter()
            .position(|n| n == name)
            .map_or(f64::NAN, |c| feature.rows[row][c])
    };
    let multi = bands;
    let mut view = ObjectView {
        id: id.to_string(),
        magnitudes: quantity == Quantity::Mag,
        normalised: !matches!(opts.clean.normalisation, Normalisation::None),
        period: col(multi, "period"),
        period_refined: col(multi, "period_refined"),
        period_power: col(multi, "period_power"),
        best_fap: (0..bands)
            .map(|b| col(b, "period_fap"))
            .filter(|x| x.is_finite())
            .fold(f64::NAN, f64::min),
        reason: feature.reasons[multi],
        alias_offsets: crate::numeric::periodogram::alias_offsets(opts.refine.aliases),
        ..Default::default()
    };
    if let Some(c) = feature.names.iter().position(|n| n == "alias_margin") {
        view.extra
            .push(("alias_margin".into(), feature.rows[multi][c]));
    }

    // raw and cleaned points per band, and the cleaned points of all bands for the fit
    let (mut time, mut mag, mut err) = (Vec::new(), Vec::new(), Vec::new());
    let mut scratch = CleanScratch::default();
    let mut cleaned: Vec<LcBuf> = Vec::with_capacity(bands);
    for (b, name) in band_names.iter().enumerate() {
        band_points(obs.observations(), b, &mut time, &mut mag, &mut err);
        let mut curve = LcBuf::default();
        if clean(&time, &mag, &err, &opts.clean, &mut scratch, &mut curve).is_err() {
            curve.clear();
        }
        let mut band = BandView {
            name: name.clone(),
            reason: feature.reasons[b],
            ..Default::default()
        };
        for k in 0..time.len() {
            if time[k].is_finite() && mag[k].is_finite() {
                band.raw.push([time[k], mag[k], err[k]]);
                // cleaning drops points, never moves them in time
                band.kept
                    .push(curve.t.binary_search_by(|t| t.total_cmp(&time[k])).is_ok());
            }
        }
        view.bands.push(band);
        cleaned.push(curve);
    }

    view.periodogram = periodogram(obs, bands, feature, opts);
    if let Some((period, _)) = view.chosen() {
        fold(&mut view, &cleaned, period, opts);
    }
    view
}

/// The multi row's periodogram: the stored record when the file kept one,
/// else the object run again through the same per-object pipeline with
/// [`DISPLAY_POINTS`] stored points.
fn periodogram(
    obs: &ObjectData,
    bands: usize,
    feature: &ObjectRowsIn,
    opts: &ObjectOptions,
) -> Option<PeriodogramView> {
    let (layout, record, source) = match &feature.stored {
        Some((layout, record)) => (*layout, record.clone(), "stored"),
        None => {
            let mut o = opts.clone();
            o.store_points = DISPLAY_POINTS;
            o.groups = Groups::parse(&["periodic".into()]).expect("a group");
            let layout = o.stored_layout()?;
            let ncols = o.layout(bands).width();
            let mut values = vec![0.0; (bands + 1) * ncols];
            let mut reasons = vec![0u8; bands + 1];
            let mut stored = vec![0.0; (bands + 1) * layout.width()];
            let out = ObjectRows {
                values: &mut values,
                reasons: &mut reasons,
                stored: &mut stored,
            };
            process_object(
                &o,
                obs.observations(),
                bands,
                None,
                &mut ObjectScratch::default(),
                out,
            );
            let record = stored[bands * layout.width()..].to_vec();
            (layout, record, "recomputed")
        }
    };
    let field = |name: &str| {
        let f = layout.field(name).expect("a field of the stored layout");
        &record[f.offset..f.offset + f.width]
    };
    let grid = field("grid");
    if !grid[0].is_finite() {
        return None;
    }
    let pairs = |f: &[f64], p: &[f64]| -> Vec<(f64, f64)> {
        f.iter()
            .zip(p)
            .filter(|(f, p)| f.is_finite() && p.is_finite())
            .map(|(&f, &p)| (f, p))
            .collect()
    };
    Some(PeriodogramView {
        points: pairs(field("frequency"), field("power")),
        peaks: pairs(field("peak_frequency"), field("peak_power")),
        source,
        range: (grid[0], grid[0] + grid[1] * (grid[2] - 1.0)),
    })
}

/// Folds every band's cleaned points at `period` (the refined one, or the plain
/// peak without refinement) and evaluates
/// the refinement's harmonic model (shape shared across bands, per-band
/// offsets and scales) over two cycles. Phase 0 is the brightest point of
/// the model.
fn fold(view: &mut ObjectView, cleaned: &[LcBuf], period: f64, opts: &ObjectOptions) {
    let (mut t, mut y, mut dy, mut band) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut slot = vec![None; cleaned.len()];
    for (b, c) in cleaned.iter().enumerate() {
        if c.is_empty() {
            continue;
        }
        let k = slot.iter().flatten().count();
        slot[b] = Some(k);
        t.extend_from_slice(&c.t);
        y.extend_from_slice(&c.m);
        dy.extend_from_slice(&c.e);
        band.extend(std::iter::repeat_n(k as u8, c.len()));
    }
    let nb = slot.iter().flatten().count();
    if nb == 0 {
        return;
    }
    let f = 1.0 / period;
    let mut ws = HarmonicScratch::default();
    let chi2 = harmonic_chi2(
        &t,
        &y,
        Some(&dy),
        &band,
        nb,
        f,
        &opts.refine.harmonic,
        &mut ws,
    );
    // the brightest phase of the shared shape (lowest magnitude, highest flux)
    let sign = if view.magnitudes { 1.0 } else { -1.0 };
    let brightest = if chi2.is_finite() {
        let scale = ws
            .scales
            .iter()
            .copied()
            .find(|s| s.is_finite())
            .unwrap_or(1.0);
        (0..512)
            .map(|i| i as f64 / 512.0)
            .min_by(|&a, &b| {
                let v = |x: f64| sign * scale * shape_at(&ws.shape, x);
                v(a).total_cmp(&v(b))
            })
            .unwrap_or(0.0)
    } else {
        0.0
    };
    let phase = |ti: f64| {
        let x = f * (ti - ws.t_ref) - brightest;
        x - x.floor()
    };
    for (b, c) in cleaned.iter().enumerate() {
        let Some(k) = slot[b] else { continue };
        let bv = &mut view.bands[b];
        bv.folded = (0..c.len())
            .map(|i| [phase(c.t[i]), c.m[i], c.e[i]])
            .collect();
        if chi2.is_finite() {
            let (m, a) = (ws.offsets[k], ws.scales[k]);
            bv.model = (0..=MODEL_SAMPLES)
                .map(|i| {
                    let x = 2.0 * i as f64 / MODEL_SAMPLES as f64;
                    (x, m + a * shape_at(&ws.shape, x + brightest))
                })
                .collect();
        }
    }
}

/// The model value of band slot `k` at time `ti` from a fit left in `ws`,
/// for the tests: what [`fold`] draws, at a data point.
#[cfg(test)]
fn model_at(ws: &HarmonicScratch, k: usize, f: f64, ti: f64) -> f64 {
    ws.offsets[k] + ws.scales[k] * shape_at(&ws.shape, f * (ti - ws.t_ref))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::lightcurves::config::tests::config;
    use crate::numeric::periodogram::HarmonicOptions;
    use crate::numeric::synth::{synth_curve, SynthParams};

    /// The drawn model is the fit the chi-square belongs to: evaluated at
    /// the data it gives back that chi-square (so offsets, scales, the
    /// shape and its time origin are read the right way round).
    #[test]
    fn drawn_model_reproduces_the_fit_chi2() {
        let c = synth_curve(
            &SynthParams {
                seed: 9,
                epochs: 60,
                ..Default::default()
            },
            3,
        );
        let n = c.time.len();
        let (t, y, dy, band) = (&c.time[..n], &c.mag[..n], &c.err[..n], &c.band[..n]);
        let nb = *band.iter().max().unwrap() as usize + 1;
        let f = 1.0 / c.period;
        for opts in [
            HarmonicOptions::default(),
            HarmonicOptions {
                nharm: 2,
                band_scale: false,
                scale_iters: 1,
            },
        ] {
            let mut ws = HarmonicScratch::default();
            let chi2 = harmonic_chi2(t, y, Some(dy), band, nb, f, &opts, &mut ws);
            let direct: f64 = (0..n)
                .map(|i| {
                    let r = (y[i] - model_at(&ws, band[i] as usize, f, t[i])) / dy[i];
                    r * r
                })
                .sum();
            assert!(
                (direct - chi2).abs() <= 1e-8 * chi2,
                "{opts:?}: model chi2 {direct} vs fit {chi2}"
            );
        }
    }

    /// Recomputed with as many points as a stored record, the view's
    /// periodogram is the stored record's: one pipeline, one pooling.
    #[test]
    fn recomputed_periodogram_equals_the_stored_record() {
        let c = synth_curve(
            &SynthParams {
                seed: 4,
                epochs: 50,
                ..Default::default()
            },
            1,
        );
        let n = c.time.len();
        let obs = ObjectData {
            time: c.time[..n].to_vec(),
            mag: c.mag[..n].to_vec(),
            err: c.err[..n].to_vec(),
            band: c.band[..n].to_vec(),
        };
        let bands = *obs.band.iter().max().unwrap() as usize + 1;
        let mut opts = config("fast").object;
        opts.groups.structure_function = false;
        opts.store_points = DISPLAY_POINTS;
        let layout = opts.stored_layout().unwrap();
        let ncols = opts.layout(bands).width();
        let mut values = vec![0.0; (bands + 1) * ncols];
        let mut reasons = vec![0u8; bands + 1];
        let mut stored = vec![0.0; (bands + 1) * layout.width()];
        process_object(
            &opts,
            obs.observations(),
            bands,
            None,
            &mut ObjectScratch::default(),
            ObjectRows {
                values: &mut values,
                reasons: &mut reasons,
                stored: &mut stored,
            },
        );
        let names = opts.layout(bands).names();
        let rows: Vec<&[f64]> = values.chunks(ncols).collect();
        let with_store = ObjectRowsIn {
            names: &names,
            rows: rows.clone(),
            reasons: reasons.clone(),
            stored: Some((layout, stored[bands * layout.width()..].to_vec())),
        };
        let without = ObjectRowsIn {
            stored: None,
            names: &names,
            rows,
            reasons: reasons.clone(),
        };
        let band_names: Vec<String> = (0..bands).map(|b| format!("b{b}")).collect();
        let a = build("x", &obs, &band_names, Quantity::Mag, &with_store, &opts);
        let mut plain = opts.clone();
        plain.store_points = 0;
        let b = build("x", &obs, &band_names, Quantity::Mag, &without, &plain);
        let (pa, pb) = (a.periodogram.unwrap(), b.periodogram.unwrap());
        assert_eq!((pa.source, pb.source), ("stored", "recomputed"));
        assert!(pa.points.len() > 100, "{} pooled points", pa.points.len());
        assert_eq!(pa.points, pb.points);
        assert_eq!(pa.peaks, pb.peaks);
        // the multi row's plain period is the highest pooled point
        let top = pa.points.iter().max_by(|x, y| x.1.total_cmp(&y.1)).unwrap();
        assert_eq!(1.0 / top.0, a.period, "period column vs pooled maximum");
        assert!(a
            .bands
            .iter()
            .all(|b| !b.folded.is_empty() && !b.model.is_empty()));
        assert_eq!(reasons[bands], 0);
    }
}
