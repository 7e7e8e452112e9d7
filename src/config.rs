//! Job configuration: a TOML file, then command-line flags, then `--set
//! key=value` overrides, merged into one table and validated before MPI
//! starts (argument layer). Every problem is a [`UsageError`] (exit code 2)
//! whose message names the key and where its value came from.

use std::collections::BTreeMap;
use std::path::Path;

use toml::{Table, Value};

/// A usage or configuration error: exit code 2, nothing computed or written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Wraps `msg` as a [`UsageError`] inside an `anyhow::Error` (exit code 2).
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Config keys with the source each value came from (file name, flag or
/// `--set`), so an error can say where to fix it.
#[derive(Clone, Debug, Default)]
pub struct Layered {
    table: Table,
    source: BTreeMap<String, String>,
    /// Every key a job read, with the value it resolved to (defaults
    /// included): the whole configuration for `/provenance/config`.
    resolved: std::cell::RefCell<Table>,
}

impl Layered {
    /// Starts from the TOML file, if any.
    pub fn from_file(path: Option<&Path>) -> anyhow::Result<Layered> {
        let mut l = Layered::default();
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .map_err(|e| usage(format!("cannot read config file '{}': {e}", path.display())))?;
            let table: Table = text.parse().map_err(|e: toml::de::Error| {
                usage(format!(
                    "config file '{}' is not valid TOML: {}",
                    path.display(),
                    e.message()
                ))
            })?;
            for (k, v) in table {
                l.source
                    .insert(k.clone(), format!("config file '{}'", path.display()));
                l.table.insert(k, v);
            }
        }
        Ok(l)
    }

    /// Sets `key` to `value`, replacing an earlier layer's value; `source` is what error
    /// messages name as its origin (e.g. `--dims`).
    pub fn set(&mut self, key: &str, value: Value, source: impl Into<String>) {
        self.table.insert(key.to_string(), value);
        self.source.insert(key.to_string(), source.into());
    }

    /// Applies `--set key=value` items; the value is read as TOML (so
    /// `dims=3`, `bounds=[[0,1]]`, `integrand="pi"`) and falls back to a
    /// plain string (`integrand=pi`).
    pub fn apply_sets(&mut self, sets: &[String]) -> anyhow::Result<()> {
        for item in sets {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                usage(format!(
                    "--set '{item}': expected key=value, for example --set dims=3"
                ))
            })?;
            let k = k.trim();
            let v = v.trim();
            let value = format!("x = {v}")
                .parse::<Table>()
                .ok()
                .and_then(|mut t| t.remove("x"))
                .unwrap_or_else(|| Value::String(v.to_string()));
            self.set(k, value, format!("--set {k}"));
        }
        Ok(())
    }

    /// Rejects keys outside `known`, naming where the unknown key came from.
    pub fn check_keys(&self, known: &[&str]) -> anyhow::Result<()> {
        for k in self.table.keys() {
            if !known.contains(&k.as_str()) {
                return Err(usage(format!(
                    "unknown config key '{k}' (from {}); known keys: {}",
                    self.source_of(k),
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The raw value of `key`; `None` when no layer set it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let v = self.table.get(key);
        if let Some(v) = v {
            self.note(key, v.clone());
        }
        v
    }

    /// Records the value `key` resolved to (a default, or a parsed value);
    /// the typed getters call it, and jobs for keys they parse themselves.
    pub fn note(&self, key: &str, value: Value) {
        self.resolved.borrow_mut().insert(key.to_string(), value);
    }

    /// Every key read so far with its resolved value, as TOML: fed back
    /// with `--config`, it reproduces the run.
    pub fn resolved_toml(&self) -> String {
        toml::to_string(&*self.resolved.borrow()).unwrap_or_default()
    }

    /// Where the value of `key` came from, for messages; `defaults` when no layer set it.
    pub fn source_of(&self, key: &str) -> String {
        self.source
            .get(key)
            .cloned()
            .unwrap_or_else(|| "defaults".into())
    }

    fn bad(&self, key: &str, what: &str, v: &Value) -> anyhow::Error {
        usage(format!(
            "config key '{key}' (from {}): {what}, got {v}",
            self.source_of(key)
        ))
    }

    /// A whole number >= `min`: accepts integers, integral floats and
    /// strings such as "1e12" or "1_000_000" (so huge sample counts are easy
    /// to type).
    pub fn count(&self, key: &str, default: u64, min: u64) -> anyhow::Result<u64> {
        self.count_in(key, default, min, u64::MAX)
    }

    /// [`Layered::count`] that must also be at most `max`; the error names the key, its
    /// source, the range and the value.
    pub fn count_in(&self, key: &str, default: u64, min: u64, max: u64) -> anyhow::Result<u64> {
        let Some(v) = self.get(key) else {
            self.note(key, count_value(default));
            return Ok(default);
        };
        let parsed = match v {
            Value::Integer(i) => u64::try_from(*i).ok(),
            Value::Float(f) => float_to_count(*f),
            Value::String(s) => parse_count(s),
            _ => None,
        };
        match parsed {
            Some(n) if (min..=max).contains(&n) => {
                self.note(key, count_value(n));
                Ok(n)
            }
            Some(n) if n > max => Err(self.bad(
                key,
                &format!("must be a whole number from {min} to {max}"),
                v,
            )),
            _ => Err(self.bad(
                key,
                &format!("must be a whole number >= {min} (e.g. 100000000 or 1e12)"),
                v,
            )),
        }
    }

    /// A string value, or `default` when unset; any other type is a usage error.
    pub fn string(&self, key: &str, default: &str) -> anyhow::Result<String> {
        let r = match self.get(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(self.bad(key, "must be a string", v)),
        };
        if let Ok(s) = &r {
            self.note(key, Value::String(s.clone()));
        }
        r
    }

    /// The `backend` key (auto, cpu, gpu; default cpu), shared by every
    /// compute job; an unknown value is a usage error naming the key.
    pub fn backend(&self) -> anyhow::Result<crate::gpu::Backend> {
        self.string("backend", "cpu")?.parse().map_err(|e: String| {
            usage(format!(
                "config key 'backend' (from {}): {e}",
                self.source_of("backend")
            ))
        })
    }

    /// The `hdu` key of the jobs that read FITS: an HDU number (0 = primary)
    /// or an EXTNAME; unset is `None`. Anything else is a usage error.
    pub fn fits_hdu(&self) -> anyhow::Result<Option<crate::io::fits::FitsHdu>> {
        use crate::io::fits::FitsHdu;
        match self.get("hdu") {
            None => Ok(None),
            Some(Value::Integer(n)) if *n >= 0 => Ok(Some(FitsHdu::Number(*n as usize))),
            Some(Value::String(s)) => FitsHdu::parse(s)
                .map(Some)
                .map_err(|e| usage(format!("{} (from {})", e, self.source_of("hdu")))),
            Some(v) => Err(usage(format!(
                "config key 'hdu' (from {}): {v} is not an HDU number or EXTNAME",
                self.source_of("hdu")
            ))),
        }
    }

    /// A list of names: a TOML array of strings, or one string of
    /// comma-separated names (`--set features=basic,periodic`); `default`
    /// when unset. Names are trimmed; an empty item or another type is a
    /// usage error naming the key.
    pub fn string_list(&self, key: &str, default: &[&str]) -> anyhow::Result<Vec<String>> {
        let list = match self.get(key) {
            None => default.iter().map(|s| s.to_string()).collect(),
            Some(Value::String(s)) if s.trim().is_empty() => Vec::new(),
            Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
            Some(v @ Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.trim().to_string()),
                    _ => Err(self.bad(key, "must be a list of names", v)),
                })
                .collect::<anyhow::Result<Vec<String>>>()?,
            Some(v) => return Err(self.bad(key, "must be a list of names", v)),
        };
        if let Some(v) = self.get(key) {
            if list.iter().any(|s| s.is_empty()) {
                return Err(self.bad(key, "has an empty name", v));
            }
        }
        self.note(
            key,
            Value::Array(list.iter().map(|s| Value::String(s.clone())).collect()),
        );
        Ok(list)
    }

    /// `true`/`false`, also accepted as the strings "true"/"false"/"yes"/"no".
    pub fn boolean(&self, key: &str, default: bool) -> anyhow::Result<bool> {
        let r = match self.get(key) {
            None => Ok(default),
            Some(Value::Boolean(b)) => Ok(*b),
            Some(Value::String(s)) if matches!(s.as_str(), "true" | "yes") => Ok(true),
            Some(Value::String(s)) if matches!(s.as_str(), "false" | "no") => Ok(false),
            Some(v) => Err(self.bad(key, "must be true or false", v)),
        };
        if let Ok(b) = r {
            self.note(key, Value::Boolean(b));
        }
        r
    }

    /// A finite number (integer, float or numeric string), or `default` when unset;
    /// anything else, or an infinite or NaN value, is a usage error.
    pub fn float(&self, key: &str, default: f64) -> anyhow::Result<f64> {
        let r = match self.get(key) {
            None => Ok(default),
            Some(Value::Float(f)) if f.is_finite() => Ok(*f),
            Some(Value::Integer(i)) => Ok(*i as f64),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| self.bad(key, "must be a finite number", &Value::String(s.clone()))),
            Some(v) => Err(self.bad(key, "must be a finite number", v)),
        };
        if let Ok(f) = r {
            self.note(key, Value::Float(f));
        }
        r
    }

    /// The `progress_interval` key of every job: seconds between progress
    /// lines in a batch log (a terminal shows a bar instead); 0 turns both
    /// off. Default [`crate::progress::DEFAULT_INTERVAL`].
    pub fn progress_interval(&self) -> anyhow::Result<f64> {
        let v = self.float("progress_interval", crate::progress::DEFAULT_INTERVAL)?;
        if v < 0.0 {
            return Err(usage(format!(
                "config key 'progress_interval' (from {}): seconds between progress lines, >= 0 (0 = off), got {v}",
                self.source_of("progress_interval")
            )));
        }
        Ok(v)
    }

    /// A list of `len` finite numbers: a TOML array, or one string of
    /// comma-separated numbers (`--set dmdt_lgdt=0,3,32`); `default` when
    /// unset. Another length or type is a usage error naming the key.
    pub fn numbers(&self, key: &str, default: &[f64]) -> anyhow::Result<Vec<f64>> {
        let len = default.len();
        let list = match self.get(key) {
            None => Some(default.to_vec()),
            Some(Value::String(s)) => s.split(',').map(|x| x.trim().parse::<f64>().ok()).collect(),
            Some(Value::Array(items)) => items.iter().map(num).collect(),
            Some(_) => None,
        };
        match list {
            Some(l) if l.len() == len && l.iter().all(|x| x.is_finite()) => {
                self.note(
                    key,
                    Value::Array(l.iter().map(|&x| Value::Float(x)).collect()),
                );
                Ok(l)
            }
            _ => Err(self.bad(
                key,
                &format!("must be a list of {len} finite numbers"),
                self.get(key).unwrap_or(&Value::Boolean(false)),
            )),
        }
    }

    /// Per-dimension `[lo, hi]` pairs: a TOML array of pairs, or the flag
    /// form "lo:hi[,lo:hi...]".
    pub fn bounds(&self, key: &str) -> anyhow::Result<Option<Vec<(f64, f64)>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let hint = "must be a list of [lo, hi] pairs, e.g. [[0.0, 1.0]] or \"0:1,-1:1\"";
        let pairs: Option<Vec<(f64, f64)>> = match v {
            Value::String(s) => s
                .split(',')
                .map(|p| {
                    let (a, b) = p.split_once(':')?;
                    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
                })
                .collect(),
            Value::Array(items) => items
                .iter()
                .map(|p| match p {
                    Value::Array(ab) if ab.len() == 2 => Some((num(&ab[0])?, num(&ab[1])?)),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        match pairs {
            Some(p) if !p.is_empty() => Ok(Some(p)),
            _ => Err(self.bad(key, hint, v)),
        }
    }
}

/// A count as a TOML value: an integer when it fits, else its decimal text
/// (which [`Layered::count`] reads back).
fn count_value(n: u64) -> Value {
    i64::try_from(n)
        .map(Value::Integer)
        .unwrap_or_else(|_| Value::String(n.to_string()))
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

fn float_to_count(f: f64) -> Option<u64> {
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1.8e19).then_some(f as u64)
}

/// Parses "100000000", "1_000_000", "1e12", "2.5e9" as a whole number.
pub fn parse_count(s: &str) -> Option<u64> {
    let t: String = s.trim().chars().filter(|&c| c != '_').collect();
    if t.is_empty() {
        return None;
    }
    if let Ok(n) = t.parse::<u64>() {
        return Some(n);
    }
    if let Some((mant, exp)) = t.split_once(['e', 'E']) {
        let exp: u32 = exp.trim_start_matches('+').parse().ok()?;
        // exact for integer mantissas (1e12 must be exactly 10^12)
        if let Ok(m) = mant.parse::<u64>() {
            return m.checked_mul(10u64.checked_pow(exp)?);
        }
    }
    float_to_count(t.parse::<f64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accept_scientific_notation_exactly() {
        assert_eq!(parse_count("1e12"), Some(1_000_000_000_000));
        assert_eq!(parse_count("1_000"), Some(1000));
        assert_eq!(parse_count("2.5e3"), Some(2500));
        assert_eq!(parse_count("1e20"), None);
        assert_eq!(parse_count("-5"), None);
        assert_eq!(parse_count("1.5"), None);
        assert_eq!(parse_count("abc"), None);
    }

    #[test]
    fn sets_parse_as_toml_or_string() {
        let mut l = Layered::default();
        l.apply_sets(&[
            "dims=3".into(),
            "integrand=pi".into(),
            "bounds=[[0,1]]".into(),
        ])
        .unwrap();
        assert_eq!(l.count("dims", 2, 1).unwrap(), 3);
        assert_eq!(l.string("integrand", "norm2").unwrap(), "pi");
        assert_eq!(l.bounds("bounds").unwrap().unwrap(), vec![(0.0, 1.0)]);
        assert!(l.apply_sets(&["novalue".into()]).is_err());
    }

    #[test]
    fn resolved_config_holds_defaults_and_set_values() {
        let mut l = Layered::default();
        l.apply_sets(&["dims=3".into(), "name=x".into()]).unwrap();
        assert_eq!(l.count("dims", 2, 1).unwrap(), 3);
        assert_eq!(l.count("samples", 1000, 1).unwrap(), 1000);
        assert!(!l.boolean("resume", false).unwrap());
        assert_eq!(l.float("tol", 0.5).unwrap(), 0.5);
        let t: Table = l.resolved_toml().parse().unwrap();
        assert_eq!(t["dims"].as_integer(), Some(3));
        assert_eq!(t["samples"].as_integer(), Some(1000));
        assert_eq!(t["resume"].as_bool(), Some(false));
        assert_eq!(t["tol"].as_float(), Some(0.5));
        // a key never read is not part of the resolved configuration
        assert!(!t.contains_key("name"));
        // read back, it resolves to the same values
        let back = Layered::default();
        let mut b = back.clone();
        for (k, v) in t {
            b.set(&k, v, "replay");
        }
        assert_eq!(b.count("dims", 2, 1).unwrap(), 3);
        assert_eq!(b.float("tol", 9.0).unwrap(), 0.5);
    }

    #[test]
    fn errors_name_key_and_source() {
        let mut l = Layered::default();
        l.set("dims", Value::Integer(-3), "--dims");
        let e = l.count("dims", 2, 1).unwrap_err().to_string();
        assert!(
            e.contains("'dims'") && e.contains("--dims") && e.contains("-3"),
            "{e}"
        );
        l.set("tile", Value::Integer(40000), "--set tile");
        let e = l.count_in("tile", 512, 1, 32768).unwrap_err().to_string();
        assert!(
            e.contains("'tile'") && e.contains("--set tile") && e.contains("1 to 32768"),
            "{e}"
        );
        let e = l.count_in("dims", 2, 1, 3).unwrap_err().to_string();
        assert!(
            e.contains("'dims'") && e.contains(">= 1") && e.contains("-3"),
            "{e}"
        );
        l.set("colour", Value::Integer(1), "--set colour");
        let e = l.check_keys(&["dims"]).unwrap_err().to_string();
        assert!(
            e.contains("unknown config key 'colour'") && e.contains("--set colour"),
            "{e}"
        );
    }
}
