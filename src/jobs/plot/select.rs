//! `--select 'COLUMN OP VALUE'`: the gallery's row filter (job-driver
//! layer, pure). An object is selected when any of its rows (or the row of
//! the band named by a `BAND:` prefix) satisfies the comparison; a NaN value
//! satisfies none, so rows without a result never select their object.

use crate::config::usage;

/// A comparison operator of `--select`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// Whether `x OP v` holds; never for a NaN `x`.
    pub fn holds(self, x: f64, v: f64) -> bool {
        if x.is_nan() {
            return false;
        }
        match self {
            Op::Lt => x < v,
            Op::Le => x <= v,
            Op::Gt => x > v,
            Op::Ge => x >= v,
            Op::Eq => x == v,
            Op::Ne => x != v,
        }
    }
}

/// A parsed `--select` filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    /// The band whose row is tested (`g:period_fap<1e-3`); `None` = any row.
    pub band: Option<String>,
    /// The column (a feature column, or `reason` for the row's reason code).
    pub column: String,
    /// The comparison.
    pub op: Op,
    /// The value compared with.
    pub value: f64,
}

impl Filter {
    /// Parses `[BAND:]COLUMN OP VALUE` (spaces allowed around the operator);
    /// a malformed filter is a usage error (exit 2).
    pub fn parse(text: &str) -> anyhow::Result<Filter> {
        let bad = |why: &str| {
            usage(format!(
                "--select '{text}': {why}; write COLUMN OP VALUE with OP one of < <= > >= == != (for example --select 'period_fap<1e-3' or --select 'multi:period_refined>0.5')"
            ))
        };
        // two-character operators first, so "<=" is not read as "<"
        const OPS: [(&str, Op); 6] = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let (at, sym, op) = OPS
            .iter()
            .filter_map(|&(sym, op)| text.find(sym).map(|at| (at, sym, op)))
            .min_by_key(|&(at, sym, _)| (at, std::cmp::Reverse(sym.len())))
            .ok_or_else(|| bad("no comparison operator"))?;
        let lhs = text[..at].trim();
        let rhs = text[at + sym.len()..].trim();
        if lhs.is_empty() {
            return Err(bad("no column before the operator"));
        }
        let value: f64 = rhs
            .parse()
            .map_err(|_| bad(&format!("'{rhs}' is not a number")))?;
        let (band, column) = match lhs.split_once(':') {
            Some((b, c)) => (Some(b.trim().to_string()), c.trim().to_string()),
            None => (None, lhs.to_string()),
        };
        Ok(Filter {
            band,
            column,
            op,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_operator_and_the_band_prefix() {
        let f = Filter::parse("period_fap<1e-3").unwrap();
        assert_eq!(
            f,
            Filter {
                band: None,
                column: "period_fap".into(),
                op: Op::Lt,
                value: 1e-3
            }
        );
        for (text, op) in [
            ("a <= 2", Op::Le),
            ("a>=2", Op::Ge),
            ("a == 2", Op::Eq),
            ("a!=2", Op::Ne),
            ("a > 2", Op::Gt),
        ] {
            let f = Filter::parse(text).unwrap();
            assert_eq!((f.column.as_str(), f.op, f.value), ("a", op, 2.0), "{text}");
        }
        let f = Filter::parse("multi:period_refined > 0.5").unwrap();
        assert_eq!(f.band.as_deref(), Some("multi"));
        assert_eq!(f.column, "period_refined");
        for bad in ["period", "<3", "a < x", "a <"] {
            let e = Filter::parse(bad).unwrap_err();
            assert!(
                e.downcast_ref::<crate::config::UsageError>().is_some(),
                "{bad}"
            );
        }
    }

    #[test]
    fn nan_satisfies_nothing() {
        for op in [Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne] {
            assert!(!op.holds(f64::NAN, 1.0), "{op:?}");
        }
        assert!(Op::Ne.holds(2.0, 1.0) && !Op::Ne.holds(1.0, 1.0));
        assert!(Op::Le.holds(1.0, 1.0) && !Op::Lt.holds(1.0, 1.0));
    }
}
