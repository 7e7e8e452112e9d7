//! `tessera gpu compare` (job-driver layer): a job's output against a
//! reference output, dataset by dataset, with stated tolerances, for
//! machines without h5diff (the GPU bundle's gpu-check.sh compares each
//! `--backend gpu` output with the CPU output made where it was built).
//!
//! Every numeric dataset of the reference outside /provenance, /timings and
//! /gpu_timings is read as f64 from both files; NaNs must sit at the same
//! places; the difference is the largest |a - b|, relative to the
//! reference's largest |b| (`rel:`) or absolute (`abs:`). The tolerance of
//! a dataset is that of the first `NAME=rel:X` / `NAME=abs:X` whose NAME the
//! dataset's path contains, else 0 (bit-equal values).

use std::path::Path;

/// One dataset's comparison.
#[derive(Debug, Clone)]
pub struct Diff {
    /// Dataset path, e.g. `/convolved`.
    pub name: String,
    /// Largest difference in the chosen metric (infinite on a shape or NaN mismatch).
    pub diff: f64,
    /// `rel` or `abs`.
    pub metric: &'static str,
    /// The tolerance applied.
    pub tolerance: f64,
    /// Elements compared.
    pub len: usize,
    /// What did not match besides values (shape, NaN places, missing).
    pub note: String,
}

impl Diff {
    /// Within tolerance.
    pub fn ok(&self) -> bool {
        self.diff <= self.tolerance
    }
}

/// A parsed `NAME=rel:X` or `NAME=abs:X`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerance {
    /// Substring of the dataset path.
    pub name: String,
    /// `rel` or `abs`.
    pub metric: &'static str,
    /// The tolerance.
    pub value: f64,
}

impl std::str::FromStr for Tolerance {
    type Err = String;
    fn from_str(s: &str) -> Result<Tolerance, String> {
        let bad =
            || format!("--tol '{s}': expected NAME=rel:X or NAME=abs:X (e.g. convolved=rel:1e-12)");
        let (name, rest) = s.split_once('=').ok_or_else(bad)?;
        let (metric, v) = rest.split_once(':').ok_or_else(bad)?;
        let metric = match metric {
            "rel" => "rel",
            "abs" => "abs",
            _ => return Err(bad()),
        };
        let value: f64 = v.parse().map_err(|_| bad())?;
        if !(value >= 0.0) || name.is_empty() {
            return Err(bad());
        }
        Ok(Tolerance {
            name: name.to_string(),
            metric,
            value,
        })
    }
}

fn datasets(g: &hdf5::Group, out: &mut Vec<String>) -> hdf5::Result<()> {
    for n in g.member_names()? {
        let path = format!("{}/{n}", g.name().trim_end_matches('/'));
        if ["/provenance", "/timings", "/gpu_timings"]
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
        {
            continue;
        }
        if let Ok(sub) = g.group(&n) {
            datasets(&sub, out)?;
        } else if g.dataset(&n).is_ok() {
            out.push(path);
        }
    }
    Ok(())
}

/// Compares `got` with `reference`. Errors when a file cannot be read.
pub fn compare(got: &Path, reference: &Path, tols: &[Tolerance]) -> anyhow::Result<Vec<Diff>> {
    let open = |p: &Path| {
        hdf5::File::open(p).map_err(|e| anyhow::anyhow!("cannot open '{}': {e}", p.display()))
    };
    let (g, r) = (open(got)?, open(reference)?);
    let mut names = Vec::new();
    datasets(&r, &mut names)?;
    anyhow::ensure!(
        !names.is_empty(),
        "'{}' holds no datasets to compare",
        reference.display()
    );
    let mut out = Vec::new();
    for name in names {
        let tol = tols.iter().find(|t| name.contains(&t.name));
        let (metric, tolerance) = tol.map_or(("abs", 0.0), |t| (t.metric, t.value));
        let mut d = Diff {
            name: name.clone(),
            diff: f64::INFINITY,
            metric,
            tolerance,
            len: 0,
            note: String::new(),
        };
        let rd = r.dataset(&name)?;
        let Ok(want) = rd.read_raw::<f64>() else {
            // not numeric (strings): not compared
            continue;
        };
        match g.dataset(&name) {
            Err(_) => d.note = "missing".into(),
            Ok(gd) if gd.shape() != rd.shape() => {
                d.note = format!("shape {:?} vs {:?}", gd.shape(), rd.shape())
            }
            Ok(gd) => {
                let have = gd.read_raw::<f64>()?;
                d.len = have.len();
                let nan_mismatch = have
                    .iter()
                    .zip(&want)
                    .filter(|(a, b)| a.is_nan() != b.is_nan())
                    .count();
                if nan_mismatch > 0 {
                    d.note = format!("{nan_mismatch} NaN places differ");
                } else {
                    let pairs = have
                        .iter()
                        .zip(&want)
                        .filter(|(a, b)| !a.is_nan() && !b.is_nan());
                    let abs = pairs
                        .clone()
                        .map(|(a, b)| if a == b { 0.0 } else { (a - b).abs() })
                        .fold(0.0, f64::max);
                    d.diff = if metric == "rel" {
                        let scale = pairs.map(|(_, b)| b.abs()).fold(0.0, f64::max);
                        if abs == 0.0 {
                            0.0
                        } else {
                            abs / scale.max(f64::MIN_POSITIVE)
                        }
                    } else {
                        abs
                    };
                }
            }
        }
        out.push(d);
    }
    Ok(out)
}

/// The comparison table and its verdict line.
pub fn table(diffs: &[Diff]) -> String {
    let mut s = format!(
        "{:<34} {:>10} {:>10} {:>4} {:>9}  result\n",
        "dataset", "elements", "max diff", "", "tol"
    );
    for d in diffs {
        s.push_str(&format!(
            "{:<34} {:>10} {:>10.2e} {:>4} {:>9.1e}  {}{}\n",
            d.name,
            d.len,
            d.diff,
            d.metric,
            d.tolerance,
            if d.ok() { "ok" } else { "FAIL" },
            if d.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", d.note)
            }
        ));
    }
    let bad = diffs.iter().filter(|d| !d.ok()).count();
    s.push_str(&if bad == 0 {
        format!("compare: all {} datasets within tolerance\n", diffs.len())
    } else {
        format!("compare: {bad} of {} datasets FAILED\n", diffs.len())
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_parse_and_reject() {
        let t: Tolerance = "convolved=rel:1e-12".parse().unwrap();
        assert_eq!(
            t,
            Tolerance {
                name: "convolved".into(),
                metric: "rel",
                value: 1e-12
            }
        );
        for bad in [
            "convolved",
            "x=1e-3",
            "x=max:1",
            "=abs:1",
            "x=abs:-1",
            "x=abs:nan",
        ] {
            let e = bad.parse::<Tolerance>().unwrap_err();
            assert!(e.contains("NAME=rel:X"), "{bad}: {e}");
        }
    }
}
