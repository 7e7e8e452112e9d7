//! Levenberg-Marquardt least squares for the transient models, and the small dense linear
//! algebra it needs (at most [`MAX_PARAMS`] parameters; numeric layer).
//!
//! The method is Marquardt's (Marquardt 1963, SIAM J. Appl. Math. 11, 431) with Moré's
//! scaling (Moré 1978, Lecture Notes in Math. 630, 105: the damping term is `λ D` with `D` the
//! running maximum of `diag(JᵀJ)`) and Nielsen's update of `λ` (Nielsen 1999, IMM-REP-1999-05;
//! Madsen, Nielsen & Tingleff 2004, "Methods for non-linear least squares problems", §3.2):
//! a step that lowers χ² is taken and `λ` is multiplied by `max(1/3, 1 - (2ρ - 1)³)`, with `ρ`
//! the ratio of actual to predicted reduction; a step that does not is refused and `λ` grows by
//! a factor that doubles with each refusal. `JᵀJ`, `Jᵀr` and `χ²` come from an [`Objective`]:
//! for the single-band models one pass over the points ([`accumulate`]), so nothing of size `N`
//! is stored besides the data; the multiband Rainbow model (`rainbow.rs`) has its own.

use super::{eval_point, to_external, Data, TransientModel, MAX_PARAMS};

/// A weighted least-squares problem in at most [`MAX_PARAMS`] internal parameters, as
/// [`minimise`] sees it.
pub(super) trait Objective {
    /// `χ²`, `g = Jᵀr` and `H = JᵀJ` (lower triangle) at the internal parameters `p`, the
    /// Jacobian taken with respect to the internal parameters.
    fn sums(&mut self, p: &Vector) -> Sums;
}

/// One single-band transient model on one normalised curve.
pub(super) struct SingleBand<'a, 'b> {
    pub(super) model: TransientModel,
    pub(super) k: usize,
    pub(super) data: &'b Data<'a>,
}

impl Objective for SingleBand<'_, '_> {
    fn sums(&mut self, p: &Vector) -> Sums {
        accumulate(self.model, self.k, p, self.data, true)
    }
}

/// Parameter vector (the first `k` entries are used).
pub(super) type Vector = [f64; MAX_PARAMS];
/// Square matrix, row-major; only the lower triangle of symmetric ones is kept up to date.
pub(super) type Matrix = [[f64; MAX_PARAMS]; MAX_PARAMS];

/// Convergence: the largest cosine between the residual vector and a Jacobian column.
const GTOL: f64 = 1e-10;
/// Convergence: the Gauss-Newton step's predicted χ² reduction relative to χ².
const FTOL: f64 = 1e-14;
/// No step lowers χ² once the damping exceeds this: the point is a minimum to rounding.
const LAMBDA_MAX: f64 = 1e16;

/// χ², its gradient half `g = Jᵀr` and the Gauss-Newton matrix `H = JᵀJ` (lower triangle).
#[derive(Clone, Copy)]
pub(super) struct Sums {
    pub(super) chi2: f64,
    pub(super) g: Vector,
    pub(super) h: Matrix,
}

/// One pass over the points at internal parameters `p`: `r_i = w_i (f(t_i) - y_i)`.
/// With `internal` the Jacobian is with respect to the internal parameters (the transforms of
/// [`to_external`] chained in), otherwise with respect to the external ones.
pub(super) fn accumulate(
    model: TransientModel,
    k: usize,
    p: &Vector,
    data: &Data<'_>,
    internal: bool,
) -> Sums {
    let (e, chain) = to_external(model, p);
    let chain = if internal { chain } else { [1.0; MAX_PARAMS] };
    let mut s = Sums {
        chi2: 0.0,
        g: [0.0; MAX_PARAMS],
        h: [[0.0; MAX_PARAMS]; MAX_PARAMS],
    };
    let mut d = [0.0; MAX_PARAMS];
    let mut j = [0.0; MAX_PARAMS];
    for ((&t, &y), &w) in data.t.iter().zip(data.y).zip(data.w) {
        let f = eval_point(model, t, &e, &mut d);
        let r = w * (f - y);
        s.chi2 += r * r;
        for a in 0..k {
            j[a] = w * d[a] * chain[a];
            s.g[a] += j[a] * r;
            for b in 0..=a {
                s.h[a][b] += j[a] * j[b];
            }
        }
    }
    s
}

/// Result of one Levenberg-Marquardt run.
#[derive(Clone, Copy)]
pub(super) struct Outcome {
    pub(super) p: Vector,
    pub(super) chi2: f64,
    pub(super) converged: bool,
    /// Damping at the end, to resume from.
    pub(super) lambda: f64,
}

/// Minimise χ² of `obj` from `p0` (`k` internal parameters) with at most `max_evals` passes,
/// starting with damping `lambda0` (relative to `diag(JᵀJ)`), under the linear constraints
/// `con`.
///
/// Converged when any of: χ² = 0; `max_a |g_a| / sqrt(H_aa χ²) <= GTOL` (the residuals are
/// orthogonal to every Jacobian column); the Gauss-Newton decrement `gᵀH⁻¹g <= FTOL χ²`;
/// or no step lowers χ² even with damping `λ > LAMBDA_MAX` (a minimum to rounding).
pub(super) fn minimise(
    obj: &mut impl Objective,
    k: usize,
    p0: Vector,
    lambda0: f64,
    con: &Constraints,
    max_evals: usize,
) -> Outcome {
    let mut p = p0;
    let mut cur = obj.sums(&p);
    con.reduce(&mut cur, k, &p);
    let mut evals = 1;
    if !cur.chi2.is_finite() {
        return Outcome {
            p,
            chi2: f64::INFINITY,
            converged: false,
            lambda: lambda0,
        };
    }
    let mut scale = [0.0; MAX_PARAMS];
    let mut lambda = lambda0;
    let mut growth = 2.0;
    let mut converged = false;
    while evals < max_evals {
        if cur.chi2 == 0.0 || gradient_cosine(&cur, k) <= GTOL {
            converged = true;
            break;
        }
        if let Some(gn) = solve_spd(&cur.h, k, &cur.g, 0.0, &scale) {
            let decrement: f64 = (0..k).map(|a| gn[a] * cur.g[a]).sum();
            if decrement.abs() <= FTOL * cur.chi2 {
                converged = true;
                break;
            }
        }
        for a in 0..k {
            scale[a] = scale[a].max(cur.h[a][a]);
        }
        let Some(mut step) = solve_spd(&cur.h, k, &cur.g, lambda, &scale) else {
            lambda *= growth;
            growth *= 2.0;
            if lambda > LAMBDA_MAX {
                converged = true;
                break;
            }
            continue;
        };
        // predicted reduction of the linearised χ²: 2 stepᵀg - stepᵀH step (in the
        // reduced variables, where the tied and fixed parameters have no step)
        let mut predicted = 0.0;
        for a in 0..k {
            let mut hs = 0.0;
            for b in 0..k {
                hs += sym(&cur.h, a, b) * step[b];
            }
            predicted += step[a] * (2.0 * cur.g[a] - hs);
        }
        con.expand(&mut step, &p);
        // step solves (H + λD) step = g; the move is -step
        let mut trial = p;
        for a in 0..k {
            trial[a] -= step[a];
        }
        let mut next = obj.sums(&trial);
        con.reduce(&mut next, k, &trial);
        evals += 1;
        let actual = cur.chi2 - next.chi2;
        if next.chi2.is_finite() && actual > 0.0 {
            let rho = actual / predicted;
            lambda *= (1.0 - (2.0 * rho - 1.0).powi(3)).max(1.0 / 3.0);
            lambda = lambda.max(1e-300);
            growth = 2.0;
            p = trial;
            cur = next;
        } else {
            lambda *= growth;
            growth *= 2.0;
            if lambda > LAMBDA_MAX {
                converged = true;
                break;
            }
        }
    }
    Outcome {
        p,
        chi2: cur.chi2,
        converged,
        lambda,
    }
}

/// Every start of `starts` minimised for `screen` passes, then the `keep` with the lowest χ²
/// (the order of `starts` on ties) continued to `max_evals` passes; the run with the lowest χ²,
/// `None` when no start gave a finite χ².
pub(super) fn best_of_starts(
    obj: &mut impl Objective,
    k: usize,
    starts: &[Vector],
    (screen, keep, max_evals): (usize, usize, usize),
    lambda0: f64,
) -> Option<Outcome> {
    let mut runs = [None; MAX_STARTS];
    for (run, p0) in runs.iter_mut().zip(starts) {
        let r = minimise(obj, k, *p0, lambda0, &FREE, screen);
        if r.chi2.is_finite() {
            *run = Some(r);
        }
    }
    let runs = &mut runs[..starts.len().min(MAX_STARTS)];
    // lowest χ² first (stable, so ties keep the order of the starts)
    runs.sort_by(|a, b| {
        let key = |r: &Option<Outcome>| r.map_or(f64::INFINITY, |r| r.chi2);
        key(a).total_cmp(&key(b))
    });
    let mut best: Option<Outcome> = None;
    for r in runs.iter().take(keep).flatten() {
        let r = if r.converged {
            *r
        } else {
            minimise(obj, k, r.p, r.lambda, &FREE, max_evals)
        };
        if best.is_none_or(|b| r.chi2 < b.chi2) {
            best = Some(r);
        }
    }
    best
}

/// Most starting points [`best_of_starts`] takes.
pub(super) const MAX_STARTS: usize = 12;

/// No constraint.
pub(super) const FREE: Constraints = Constraints {
    fixed: [false; MAX_PARAMS],
    tie: None,
};

/// Linear equality constraints on the internal parameters during one minimisation.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Constraints {
    /// Parameters that keep their starting value.
    pub(super) fixed: [bool; MAX_PARAMS],
    /// `Some((a, b))`: `p_a + |p_b|` keeps its starting value (`p_b` moves by
    /// `-sgn(p_b) Δp_a`); `b` must not also be in `fixed`.
    pub(super) tie: Option<(usize, usize)>,
}

impl Constraints {
    /// Rewrite the normal equations in the free variables. A tie `(a, b)` substitutes
    /// `Δp_b = c Δp_a`, `c = -sgn(p_b)`: column `a` of `J` becomes `J_a + c J_b`. Then the
    /// tied and fixed parameters are removed: `g = 0` and row and column zero but `H = 1`
    /// on the diagonal, so the solve gives them no step.
    fn reduce(&self, s: &mut Sums, k: usize, p: &Vector) {
        let mut out = [false; MAX_PARAMS];
        out[..k].copy_from_slice(&self.fixed[..k]);
        if let Some((a, b)) = self.tie {
            let c = -p[b].signum();
            let (haa, hab, hbb) = (s.h[a][a], sym(&s.h, a, b), s.h[b][b]);
            for x in 0..k {
                if x != a && x != b {
                    let v = sym(&s.h, a, x) + c * sym(&s.h, b, x);
                    if x < a {
                        s.h[a][x] = v;
                    } else {
                        s.h[x][a] = v;
                    }
                }
            }
            s.h[a][a] = haa + 2.0 * c * hab + c * c * hbb;
            s.g[a] += c * s.g[b];
            out[b] = true;
        }
        for a in 0..k {
            if out[a] {
                s.g[a] = 0.0;
                for b in 0..k {
                    s.h[a][b] = 0.0;
                    s.h[b][a] = 0.0;
                }
                s.h[a][a] = 1.0;
            }
        }
    }

    /// The step of the tied parameter from that of its partner.
    fn expand(&self, step: &mut Vector, p: &Vector) {
        if let Some((a, b)) = self.tie {
            step[b] = -p[b].signum() * step[a];
        }
    }
}

/// `max_a |g_a| / sqrt(H_aa χ²)`: 0 at a stationary point, scale-free.
fn gradient_cosine(s: &Sums, k: usize) -> f64 {
    let mut c: f64 = 0.0;
    for a in 0..k {
        let d = s.h[a][a] * s.chi2;
        if d > 0.0 {
            c = c.max(s.g[a].abs() / d.sqrt());
        }
    }
    c
}

/// Element (a, b) of a symmetric matrix stored as its lower triangle.
#[inline]
pub(super) fn sym(m: &Matrix, a: usize, b: usize) -> f64 {
    if b <= a {
        m[a][b]
    } else {
        m[b][a]
    }
}

/// Solve `(H + λ diag(D)) x = g` for symmetric positive definite `H + λ diag(D)` (lower
/// triangle of `H` given) by Cholesky after Jacobi scaling; `None` if not positive definite.
/// `D_a` below `1e-300` is replaced by 1 so that a vanishing column is still damped.
fn solve_spd(h: &Matrix, k: usize, g: &Vector, lambda: f64, d: &Vector) -> Option<Vector> {
    let mut m = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    let mut s = [1.0; MAX_PARAMS];
    for a in 0..k {
        let damp = if d[a] > 1e-300 { d[a] } else { 1.0 };
        let diag = h[a][a] + lambda * damp;
        if !(diag > 0.0 && diag.is_finite()) {
            return None;
        }
        s[a] = 1.0 / diag.sqrt();
    }
    for a in 0..k {
        for b in 0..a {
            m[a][b] = h[a][b] * s[a] * s[b];
        }
        m[a][a] = 1.0;
    }
    let l = cholesky(&m, k)?;
    let mut rhs = [0.0; MAX_PARAMS];
    for a in 0..k {
        rhs[a] = g[a] * s[a];
    }
    let y = cholesky_solve(&l, k, &rhs);
    let mut x = [0.0; MAX_PARAMS];
    for a in 0..k {
        x[a] = y[a] * s[a];
    }
    Some(x)
}

/// Lower Cholesky factor of the symmetric matrix whose lower triangle is `m`.
fn cholesky(m: &Matrix, k: usize) -> Option<Matrix> {
    let mut l = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    for a in 0..k {
        for b in 0..=a {
            let mut v = m[a][b];
            for c in 0..b {
                v -= l[a][c] * l[b][c];
            }
            if a == b {
                if !(v > 0.0 && v.is_finite()) {
                    return None;
                }
                l[a][a] = v.sqrt();
            } else {
                l[a][b] = v / l[b][b];
            }
        }
    }
    Some(l)
}

fn cholesky_solve(l: &Matrix, k: usize, b: &Vector) -> Vector {
    let mut y = [0.0; MAX_PARAMS];
    for a in 0..k {
        let mut v = b[a];
        for c in 0..a {
            v -= l[a][c] * y[c];
        }
        y[a] = v / l[a][a];
    }
    let mut x = [0.0; MAX_PARAMS];
    for a in (0..k).rev() {
        let mut v = y[a];
        for c in a + 1..k {
            v -= l[c][a] * x[c];
        }
        x[a] = v / l[a][a];
    }
    x
}

/// Inverse of the symmetric positive definite matrix whose lower triangle is `h` (Jacobi
/// scaled, then Cholesky); `None` if it is not positive definite to working precision.
pub(super) fn inverse_spd(h: &Matrix, k: usize) -> Option<Matrix> {
    let mut s = [1.0; MAX_PARAMS];
    for a in 0..k {
        if !(h[a][a] > 0.0 && h[a][a].is_finite()) {
            return None;
        }
        s[a] = 1.0 / h[a][a].sqrt();
    }
    let mut m = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    for a in 0..k {
        for b in 0..=a {
            m[a][b] = h[a][b] * s[a] * s[b];
        }
    }
    let l = cholesky(&m, k)?;
    let mut inv = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    for c in 0..k {
        let mut e = [0.0; MAX_PARAMS];
        e[c] = 1.0;
        let col = cholesky_solve(&l, k, &e);
        for a in 0..k {
            inv[a][c] = col[a] * s[a] * s[c];
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spd_solve_and_inverse() {
        // a 4x4 SPD matrix with very different scales
        let full = [
            [4e6, 2e3, 0.5, 1.0],
            [2e3, 9.0, 0.01, 0.2],
            [0.5, 0.01, 3e-4, 1e-5],
            [1.0, 0.2, 1e-5, 2.0],
        ];
        let mut h = [[0.0; MAX_PARAMS]; MAX_PARAMS];
        for a in 0..4 {
            for b in 0..=a {
                h[a][b] = full[a][b];
            }
        }
        let inv = inverse_spd(&h, 4).unwrap();
        for a in 0..4 {
            for c in 0..4 {
                let v: f64 = (0..4).map(|b| full[a][b] * inv[b][c]).sum();
                let want = if a == c { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-9, "{a} {c}: {v}");
            }
        }
        let g = [1.0, -2.0, 3.0, 0.5, 0.0, 0.0, 0.0];
        let x = solve_spd(&h, 4, &g, 0.0, &[0.0; MAX_PARAMS]).unwrap();
        for a in 0..4 {
            let v: f64 = (0..4).map(|b| full[a][b] * x[b]).sum();
            assert!((v - g[a]).abs() < 1e-9 * (1.0 + g[a].abs()));
        }
        h[3][3] = -1.0;
        assert!(inverse_spd(&h, 4).is_none());
    }
}
