//! dm-dt maps: the 2-D histogram of magnitude differences against the
//! decimal logarithm of time differences over all pairs of points of one
//! light curve (Mahabal et al. 2017, IEEE SSCI, arXiv:1709.06257), as
//! light-curve's `DmDt` (light-curve-dmdt, Malanchev et al.) makes it
//! (numeric layer; the light-curve job writes the maps to `/dmdt/map`).
//!
//! Grid ([`DmDtGrid`], light-curve's `DmDt.from_borders(min_lgdt, max_lgdt,
//! max_abs_dm, lgdt_size, dm_size)`): `lgdt_size` cells of equal width in
//! `lg dt` over `[10^min_lgdt, 10^max_lgdt)` days and `dm_size` cells of equal
//! width over `[-max_abs_dm, max_abs_dm)`; a cell holds its lower border and
//! not its upper one. As in light-curve the borders are `start = 10^min_lgdt`,
//! `lg_start = log10(start)` (likewise for the end), the `lg dt` cell width
//! `(lg_end - lg_start) / lgdt_size` and the `dm` width `2 max_abs_dm /
//! dm_size`; a pair's cell is `trunc((log10(dt) - lg_start) / width)` (and
//! `trunc((dm + max_abs_dm) / width)`), the last cell where rounding gives one
//! past it.
//!
//! Pairs: every `i < j` of a curve sorted by time, `dt = t_j - t_i`,
//! `dm = m_j - m_i`; pairs with `dt` outside the grid are skipped.
//!
//! - [`DmDtMode::Points`]: each pair with `dm` inside the grid adds 1 to its cell.
//! - [`DmDtMode::Gausses`]: each pair spreads a unit of probability over the
//!   `dm` cells of its `dt` row, `dm ~ N(m_j - m_i, s_i^2 + s_j^2)`: cell
//!   `[a, b)` gets `Phi(b) - Phi(a)`, `Phi(x) = (1 + erf((x - dm) / s / sqrt 2)) / 2`
//!   (`libm::erf`, light-curve's exact error function), over the cells within
//!   `8.2095 s` of `dm` (light-curve's cut, where the CDF is 0 or 1 to double
//!   precision); the part outside the grid is lost.
//!
//! Normalisation ([`DmDtNorm`], applied in this order, light-curve's `norm`):
//! `dt` divides each `dt` row by the number of pairs with that `dt` (inside the
//! grid or not in `dm`; a row with none is left as it is), so a `gausses` row
//! is `p(dm | dt)`; `max` then divides the map by its largest value (unless
//! that is 0).
//!
//! The values are those of light-curve 0.13 `DmDt.points` and `.gausses` with
//! `float64` input: counts exactly, Gaussian maps to rounding (both tested on
//! real SDSS and ZTF curves, `tests/lc_kernels/dmdt.rs`). Minimum points: 2
//! (fewer give a map of zeros). Cost O(N^2) in the points within `10^max_lgdt`
//! of each other.

/// Where the Gaussian of a pair is cut, in standard deviations: light-curve's
/// `sqrt(2) erfinv(1 - eps)` for `f64` (`SQRT_2_ERFINV_UNITY_MINUS_EPS`).
const GAUSS_CUT: f64 = 8.20953615160139;

/// The dm-dt grid, light-curve's `DmDt.from_borders` arguments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DmDtGrid {
    /// `lg` of the smallest `dt`, days.
    pub min_lgdt: f64,
    /// `lg` of the end of the largest `dt` cell, days.
    pub max_lgdt: f64,
    /// Cells in `lg dt`.
    pub lgdt_size: usize,
    /// Half the `dm` range (magnitudes, or flux units).
    pub max_abs_dm: f64,
    /// Cells in `dm`.
    pub dm_size: usize,
}

impl Default for DmDtGrid {
    /// 1 to 1000 days in 32 cells, -3 to 3 mag in 32 cells.
    fn default() -> Self {
        DmDtGrid {
            min_lgdt: 0.0,
            max_lgdt: 3.0,
            lgdt_size: 32,
            max_abs_dm: 3.0,
            dm_size: 32,
        }
    }
}

/// How each pair enters the map (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmDtMode {
    /// One count in the pair's cell.
    Points,
    /// The pair's `dm` as a Gaussian of variance `s_i^2 + s_j^2`.
    Gausses,
}

/// Normalisations after the map is built (`dt` first, then `max`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmDtNorm {
    /// Divide each `dt` row by its number of pairs.
    pub dt: bool,
    /// Divide by the largest value.
    pub max: bool,
}

/// What a dm-dt map is made of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DmDtOptions {
    /// The cells.
    pub grid: DmDtGrid,
    /// Counts or Gaussians.
    pub mode: DmDtMode,
    /// Normalisations.
    pub norm: DmDtNorm,
}

impl DmDtOptions {
    /// Values per map, `lgdt_size * dm_size` (row-major, `dm` fastest).
    pub fn width(&self) -> usize {
        self.grid.lgdt_size * self.grid.dm_size
    }
}

/// The options with the grid's borders and cell widths, computed once.
#[derive(Clone, Debug, PartialEq)]
pub struct DmDtPlan {
    /// What the maps are made of.
    pub options: DmDtOptions,
    dt_start: f64,
    dt_end: f64,
    lg_start: f64,
    lg_cell: f64,
    lgdt_size: usize,
    dm_start: f64,
    dm_end: f64,
    dm_cell: f64,
    dm_size: usize,
    dm_borders: Vec<f64>,
}

/// Where a value falls on one axis.
enum Cell {
    Below,
    Above,
    At(usize),
}

impl DmDtPlan {
    /// The plan of `options`; `None` unless both sizes are at least 1, the
    /// bounds finite, `min_lgdt < max_lgdt` and `max_abs_dm > 0`.
    pub fn new(options: DmDtOptions) -> Option<DmDtPlan> {
        let grid = &options.grid;
        let ok = grid.lgdt_size >= 1
            && grid.dm_size >= 1
            && grid.min_lgdt.is_finite()
            && grid.max_lgdt.is_finite()
            && grid.min_lgdt < grid.max_lgdt
            && grid.max_abs_dm.is_finite()
            && grid.max_abs_dm > 0.0;
        if !ok {
            return None;
        }
        let dt_start = 10f64.powf(grid.min_lgdt);
        let dt_end = 10f64.powf(grid.max_lgdt);
        let (lg_start, lg_end) = (dt_start.log10(), dt_end.log10());
        let (dm_start, dm_end) = (-grid.max_abs_dm, grid.max_abs_dm);
        let n = grid.dm_size;
        // light-curve's borders: numpy/ndarray linspace, start + i (end - start) / n
        let step = (dm_end - dm_start) / n as f64;
        let dm_borders = (0..=n).map(|i| dm_start + step * i as f64).collect();
        Some(DmDtPlan {
            options,
            dt_start,
            dt_end,
            lg_start,
            lg_cell: (lg_end - lg_start) / grid.lgdt_size as f64,
            lgdt_size: grid.lgdt_size,
            dm_start,
            dm_end,
            dm_cell: (dm_end - dm_start) / n as f64,
            dm_size: n,
            dm_borders,
        })
    }

    /// Values per map (see [`DmDtOptions::width`]).
    pub fn width(&self) -> usize {
        self.options.width()
    }

    /// The `lg dt` borders, `lgdt_size + 1` values: `lg_start + i * width`.
    pub fn lgdt_edges(&self) -> Vec<f64> {
        (0..=self.lgdt_size)
            .map(|i| self.lg_start + self.lg_cell * i as f64)
            .collect()
    }

    /// The `dm` borders, `dm_size + 1` values.
    pub fn dm_edges(&self) -> &[f64] {
        &self.dm_borders
    }

    fn dt_cell(&self, dt: f64) -> Cell {
        if dt < self.dt_start {
            return Cell::Below;
        }
        if dt >= self.dt_end {
            return Cell::Above;
        }
        let i = ((dt.log10() - self.lg_start) / self.lg_cell) as usize;
        Cell::At(i.min(self.lgdt_size - 1))
    }

    fn dm_cell(&self, dm: f64) -> Cell {
        if dm < self.dm_start {
            return Cell::Below;
        }
        if dm >= self.dm_end {
            return Cell::Above;
        }
        let i = ((dm - self.dm_start) / self.dm_cell) as usize;
        Cell::At(i.min(self.dm_size - 1))
    }
}

/// Working memory of [`dmdt_map`]: pair counts per `dt` row.
#[derive(Clone, Debug, Default)]
pub struct DmDtScratch {
    dt_pairs: Vec<u64>,
}

/// Standard normal CDF of `(x - mean) / sigma`, light-curve's operation order.
#[inline]
fn normal_cdf(x: f64, mean: f64, sigma: f64) -> f64 {
    0.5 * (1.0 + libm::erf((x - mean) / sigma * std::f64::consts::FRAC_1_SQRT_2))
}

/// The dm-dt map of the curve `(t, m, err)` (times ascending; `err` is read
/// in [`DmDtMode::Gausses`] only) into `out` (`lgdt_size * dm_size` values,
/// row `i` = `lg dt` cell `i`), as the module documentation says. Returns
/// false, with `out` NaN, for slices of different lengths, times not in
/// ascending order or a non-finite value. Allocates nothing once `ws` has
/// grown to the grid.
pub fn dmdt_map(
    plan: &DmDtPlan,
    t: &[f64],
    m: &[f64],
    err: &[f64],
    ws: &mut DmDtScratch,
    out: &mut [f64],
) -> bool {
    let (nt, nm) = (plan.lgdt_size, plan.dm_size);
    let opts = &plan.options;
    assert_eq!(out.len(), nt * nm, "dm-dt map width");
    let gausses = opts.mode == DmDtMode::Gausses;
    let ok = m.len() == t.len()
        && (!gausses || err.len() == t.len())
        && t.windows(2).all(|w| w[0] <= w[1])
        && t.iter().chain(m).all(|v| v.is_finite())
        && (!gausses || err.iter().all(|v| v.is_finite()));
    if !ok {
        out.fill(f64::NAN);
        return false;
    }
    out.fill(0.0);
    ws.dt_pairs.clear();
    ws.dt_pairs.resize(nt, 0);
    for i in 0..t.len() {
        for j in i + 1..t.len() {
            let row = match plan.dt_cell(t[j] - t[i]) {
                Cell::Below => continue,
                // times ascend: every later j is further away
                Cell::Above => break,
                Cell::At(r) => r,
            };
            ws.dt_pairs[row] += 1;
            let dm = m[j] - m[i];
            let cells = &mut out[row * nm..(row + 1) * nm];
            if !gausses {
                if let Cell::At(c) = plan.dm_cell(dm) {
                    cells[c] += 1.0;
                }
                continue;
            }
            let s = (err[i] * err[i] + err[j] * err[j]).sqrt();
            let lo = match plan.dm_cell(dm - GAUSS_CUT * s) {
                Cell::Below => 0,
                Cell::Above => continue,
                Cell::At(c) => c,
            };
            let hi = match plan.dm_cell(dm + GAUSS_CUT * s) {
                Cell::Below => continue,
                Cell::Above => nm,
                Cell::At(c) => (c + 1).min(nm),
            };
            let mut below = normal_cdf(plan.dm_borders[lo], dm, s);
            for (c, cell) in cells.iter_mut().enumerate().take(hi).skip(lo) {
                let above = normal_cdf(plan.dm_borders[c + 1], dm, s);
                *cell += above - below;
                below = above;
            }
        }
    }
    if opts.norm.dt {
        for (row, &n) in out.chunks_exact_mut(nm).zip(&ws.dt_pairs) {
            let n = if n == 0 { 1.0 } else { n as f64 };
            row.iter_mut().for_each(|v| *v /= n);
        }
    }
    if opts.norm.max {
        let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if max != 0.0 {
            out.iter_mut().for_each(|v| *v /= max);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct definition: every pair, its cells found by scanning the
    /// borders (lg dt borders from the plan).
    fn slow_points(plan: &DmDtPlan, t: &[f64], m: &[f64]) -> Vec<f64> {
        let lg = plan.lgdt_edges();
        let dm = plan.dm_edges();
        let mut out = vec![0.0; plan.lgdt_size * plan.dm_size];
        for i in 0..t.len() {
            for j in i + 1..t.len() {
                let x = (t[j] - t[i]).log10();
                let y = m[j] - m[i];
                let r = (0..plan.lgdt_size).find(|&k| x >= lg[k] && x < lg[k + 1]);
                let c = (0..plan.dm_size).find(|&k| y >= dm[k] && y < dm[k + 1]);
                if let (Some(r), Some(c)) = (r, c) {
                    out[r * plan.dm_size + c] += 1.0;
                }
            }
        }
        out
    }

    fn curve(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let t: Vec<f64> = (0..n)
            .map(|i| i as f64 * 3.7 + (i as f64 * 1.3).sin() * 1.5)
            .collect();
        let m: Vec<f64> = t.iter().map(|x| 1.3 * (x * 0.21).sin()).collect();
        let e: Vec<f64> = (0..n).map(|i| 0.05 + 0.01 * (i % 7) as f64).collect();
        (t, m, e)
    }

    #[test]
    fn points_match_the_direct_definition() {
        let grid = DmDtGrid {
            min_lgdt: 0.3,
            max_lgdt: 2.1,
            lgdt_size: 9,
            max_abs_dm: 2.0,
            dm_size: 11,
        };
        let opts = DmDtOptions {
            grid,
            mode: DmDtMode::Points,
            norm: DmDtNorm::default(),
        };
        let plan = DmDtPlan::new(opts).unwrap();
        let (t, m, e) = curve(80);
        let mut out = vec![0.0; opts.width()];
        assert!(dmdt_map(
            &plan,
            &t,
            &m,
            &e,
            &mut DmDtScratch::default(),
            &mut out
        ));
        let slow = slow_points(&plan, &t, &m);
        // cells found by the border scan agree except where log10 rounding puts a
        // pair on a border; these curves have none
        assert_eq!(out, slow);
        assert!(out.iter().sum::<f64>() > 100.0);
    }

    #[test]
    fn gausses_rows_sum_to_their_pairs_and_norms_apply() {
        let grid = DmDtGrid {
            max_abs_dm: 6.0,
            lgdt_size: 8,
            dm_size: 24,
            ..DmDtGrid::default()
        };
        let (t, m, e) = curve(60);
        let mut ws = DmDtScratch::default();
        let make = |mode, norm, ws: &mut DmDtScratch| {
            let opts = DmDtOptions { grid, mode, norm };
            let plan = DmDtPlan::new(opts).unwrap();
            let mut out = vec![0.0; opts.width()];
            assert!(dmdt_map(&plan, &t, &m, &e, ws, &mut out));
            out
        };
        let pts = make(DmDtMode::Points, DmDtNorm::default(), &mut ws);
        let gs = make(DmDtMode::Gausses, DmDtNorm::default(), &mut ws);
        // |dm| <= 2.6 and s <= 0.16: every Gaussian lies inside +-6 mag
        for (p, g) in pts.chunks(24).zip(gs.chunks(24)) {
            let (np, ng): (f64, f64) = (p.iter().sum(), g.iter().sum());
            assert!((np - ng).abs() < 1e-9 * np.max(1.0), "{np} {ng}");
        }
        let dt = make(
            DmDtMode::Gausses,
            DmDtNorm {
                dt: true,
                max: false,
            },
            &mut ws,
        );
        for row in dt.chunks(24) {
            let s: f64 = row.iter().sum();
            assert!(s == 0.0 || (s - 1.0).abs() < 1e-12, "{s}");
        }
        let both = make(
            DmDtMode::Points,
            DmDtNorm {
                dt: true,
                max: true,
            },
            &mut ws,
        );
        let max = both.iter().copied().fold(0.0, f64::max);
        assert_eq!(max, 1.0);
    }

    #[test]
    fn bad_grids_and_inputs() {
        let g = DmDtGrid::default();
        let opts = DmDtOptions {
            grid: g,
            mode: DmDtMode::Gausses,
            norm: DmDtNorm::default(),
        };
        let with = |grid| DmDtPlan::new(DmDtOptions { grid, ..opts });
        assert!(with(DmDtGrid { lgdt_size: 0, ..g }).is_none());
        assert!(with(DmDtGrid { dm_size: 0, ..g }).is_none());
        assert!(with(DmDtGrid { min_lgdt: 3.0, ..g }).is_none());
        assert!(with(DmDtGrid {
            max_abs_dm: f64::NAN,
            ..g
        })
        .is_none());
        let plan = with(g).unwrap();
        let mut out = vec![0.0; opts.width()];
        let mut ws = DmDtScratch::default();
        let ok = dmdt_map(
            &plan,
            &[2.0, 1.0],
            &[0.0, 1.0],
            &[0.1, 0.1],
            &mut ws,
            &mut out,
        );
        assert!(!ok && out.iter().all(|v| v.is_nan()), "unsorted times");
        assert!(dmdt_map(&plan, &[1.0], &[0.0], &[0.1], &mut ws, &mut out));
        assert!(out.iter().all(|&v| v == 0.0), "one point: no pairs");
    }
}
