//! Checkpoints of resumable runs (I/O layer): what `mc`, `lightcurves` and
//! `image` have finished is durable as it is done, so a run stopped by the
//! end of an allocation continues with `--resume` instead of starting over.
//!
//! Beside the output `DIR/NAME` a run keeps the directory `DIR/.NAME.resume/`:
//! - `manifest.toml`: the job, tessera version and commit, the resolved
//!   configuration, a fingerprint of the input (paths, sizes and
//!   modification times) and the number of units. A resumed run must match
//!   it exactly; the directory without a manifest is not a checkpoint.
//! - `partial.h5` (lightcurves, image): the output being written through
//!   parallel HDF5. Its datasets are created and flushed before the
//!   manifest is written, so it is a valid HDF5 file at every moment after;
//!   units write fixed places in it.
//! - `journal-RUN-RANK`: one line per finished unit, `U<index> <hex bits of
//!   the unit's partial results>;`, appended by each rank after the unit's
//!   data reached the disk (fsync). A line cut short by a kill does not
//!   parse and its unit is simply done again.
//!
//! A run that completes renames `partial.h5` (or writes the output) into
//! place and removes the directory; a run that fails removes it; a run
//! stopped by a signal keeps it (exit code
//! [`crate::io::cleanup::EXIT_RESUMABLE`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::comm::Comm;
use crate::config::usage;
use crate::io::cleanup;

/// Config keys that may differ between a run and its resumption: how it
/// runs, not what it computes.
pub const EXECUTION_KEYS: [&str; 5] = ["threads", "resume", "progress_interval", "out", "input"];

/// What a resumed run must match.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// Job name: mc, lightcurves, image.
    pub job: String,
    /// Resolved configuration (TOML), without [`EXECUTION_KEYS`].
    pub config: String,
    /// Fingerprint of the input ("none" for mc).
    pub input: String,
    /// Units of work in the whole run (tiles, blocks).
    pub units: u64,
}

impl Manifest {
    /// A manifest from the job's resolved config (TOML text); the execution
    /// keys are dropped.
    pub fn new(
        job: &str,
        config_toml: &str,
        input: Option<&Path>,
        units: u64,
    ) -> anyhow::Result<Manifest> {
        let mut t: toml::Table = config_toml
            .parse()
            .context("the resolved configuration is not valid TOML")?;
        for k in EXECUTION_KEYS {
            t.remove(k);
        }
        let input = match input {
            Some(p) => fingerprint(p)?,
            None => "none".into(),
        };
        Ok(Manifest {
            job: job.into(),
            config: toml::to_string(&t).unwrap_or_default(),
            input,
            units,
        })
    }

    fn to_toml(&self) -> String {
        let mut t = toml::Table::new();
        let s = |v: &str| toml::Value::String(v.to_string());
        t.insert("job".into(), s(&self.job));
        t.insert("tessera_version".into(), s(env!("CARGO_PKG_VERSION")));
        t.insert("git_commit".into(), s(env!("TESSERA_GIT_COMMIT")));
        t.insert("units".into(), toml::Value::Integer(self.units as i64));
        t.insert("input".into(), s(&self.input));
        t.insert("config".into(), s(&self.config));
        toml::to_string(&t).unwrap_or_default()
    }

    /// What differs between the manifest on disk (`old`, its TOML text) and
    /// this run, one line per difference; empty when they match.
    fn differences(&self, old: &str) -> Vec<String> {
        let Ok(t) = old.parse::<toml::Table>() else {
            return vec!["the checkpoint's manifest.toml is not valid TOML".into()];
        };
        let get = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let mut d = Vec::new();
        if get("job") != self.job {
            d.push(format!(
                "job: checkpoint '{}', now '{}'",
                get("job"),
                self.job
            ));
        }
        for (key, now) in [
            ("tessera_version", env!("CARGO_PKG_VERSION")),
            ("git_commit", env!("TESSERA_GIT_COMMIT")),
        ] {
            if get(key) != now {
                d.push(format!("{key}: checkpoint '{}', now '{now}'", get(key)));
            }
        }
        if get("input") != self.input {
            d.push(format!(
                "input: checkpoint {}, now {} (the input changed since the interrupted run)",
                get("input"),
                self.input
            ));
        }
        let units = t.get("units").and_then(|v| v.as_integer()).unwrap_or(-1);
        if units != self.units as i64 {
            d.push(format!(
                "units of work: checkpoint {units}, now {}",
                self.units
            ));
        }
        let old_cfg: toml::Table = get("config").parse().unwrap_or_default();
        let new_cfg: toml::Table = self.config.parse().unwrap_or_default();
        let keys: std::collections::BTreeSet<&String> =
            old_cfg.keys().chain(new_cfg.keys()).collect();
        for k in keys {
            let (a, b) = (old_cfg.get(k), new_cfg.get(k));
            if a != b {
                let show = |v: Option<&toml::Value>| {
                    v.map(|v| v.to_string()).unwrap_or_else(|| "(unset)".into())
                };
                d.push(format!(
                    "config key '{k}': checkpoint {}, now {}",
                    show(a),
                    show(b)
                ));
            }
        }
        d
    }
}

/// A fingerprint of an input file or directory: for each file (a directory
/// walked in sorted order) its path relative to the input, size and
/// modification time in nanoseconds, hashed (FNV-1a, 64 bits) with the
/// file count and total size spelled out.
pub fn fingerprint(path: &Path) -> anyhow::Result<String> {
    let mut files = Vec::new();
    walk(path, Path::new(""), &mut files)
        .with_context(|| format!("reading input '{}' for the checkpoint", path.display()))?;
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut total = 0u64;
    for (rel, size, mtime) in &files {
        total += size;
        for b in rel
            .as_bytes()
            .iter()
            .chain(&size.to_le_bytes())
            .chain(&mtime.to_le_bytes())
        {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(format!(
        "{} files, {total} bytes, hash {h:016x}",
        files.len()
    ))
}

fn walk(path: &Path, rel: &Path, out: &mut Vec<(String, u64, u128)>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        for e in std::fs::read_dir(path)? {
            let e = e?;
            walk(&e.path(), &rel.join(e.file_name()), out)?;
        }
    } else {
        let mtime = meta
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        out.push((rel.display().to_string(), meta.len(), mtime));
    }
    Ok(())
}

/// An integer key of the resolved configuration recorded in the checkpoint
/// of `target`, if there is one (e.g. the automatic `tile` in use).
pub fn recorded_int(target: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(dir_for(target).join("manifest.toml")).ok()?;
    let t: toml::Table = text.parse().ok()?;
    let cfg: toml::Table = t.get("config")?.as_str()?.parse().ok()?;
    u64::try_from(cfg.get(key)?.as_integer()?).ok()
}

/// The checkpoint directory of output `target`: `.NAME.resume` beside it.
pub fn dir_for(target: &Path) -> PathBuf {
    crate::io::output::hidden_beside(target, ".resume")
}

/// One rank's handle on the checkpoint of the run in progress.
pub struct Checkpoint {
    dir: PathBuf,
    target: PathBuf,
    rank: usize,
    run: u64,
    /// Units finished by earlier runs, with their partial results, in unit
    /// order (the same on every rank).
    pub done: BTreeMap<u64, Vec<f64>>,
    /// True when an earlier run's checkpoint was found and matched.
    pub resumed: bool,
    journal: Option<std::fs::File>,
    /// The data file whose writes a journal line vouches for (synced first).
    data: Option<std::fs::File>,
    manifest: Manifest,
    finished: bool,
}

impl Checkpoint {
    /// Opens (with `resume`) or starts the checkpoint of `target`,
    /// collectively. Without `resume`, an existing checkpoint is a usage
    /// error (it holds finished work: the user says whether to continue or
    /// remove it); with `resume` and none present the run starts from the
    /// beginning. A checkpoint that does not match `manifest` is a usage
    /// error listing every difference.
    pub fn open(
        comm: &impl Comm,
        target: &Path,
        manifest: Manifest,
        resume: bool,
    ) -> anyhow::Result<Checkpoint> {
        let dir = dir_for(target);
        // rank 0 decides and reads the journals; every rank gets the result
        let mut bytes = Vec::new();
        let mut run = [u64::from(std::process::id())];
        comm.broadcast_u64(&mut run);
        let found = if comm.rank() == 0 {
            inspect(&dir, &manifest, resume).map(|done| {
                bytes = encode(done.as_ref());
                done.is_some()
            })
        } else {
            Ok(false)
        };
        comm.agree(found)?;
        comm.broadcast_bytes(&mut bytes);
        let done = decode(&bytes);
        let resumed = done.is_some();
        cleanup::register_temp_file(dir.clone());
        // from here a signal stops the run cleanly: before the manifest is
        // written such a stop leaves nothing resumable, and the next run
        // starts afresh
        cleanup::set_checkpoint(Some(dir.clone()));
        Ok(Checkpoint {
            dir,
            target: target.to_path_buf(),
            rank: comm.rank(),
            run: run[0],
            done: done.unwrap_or_default(),
            resumed,
            journal: None,
            data: None,
            manifest,
            finished: false,
        })
    }

    /// The checkpoint directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parallel HDF5 file being written (lightcurves, image).
    pub fn partial_h5(&self) -> PathBuf {
        self.dir.join("partial.h5")
    }

    /// Units to compute in this run: `0..units` less those done, in order.
    pub fn todo(&self) -> Vec<u64> {
        (0..self.manifest.units)
            .filter(|u| !self.done.contains_key(u))
            .collect()
    }

    /// Rank 0, collectively agreed by the caller: writes the manifest once
    /// the partial output (if any) is valid on disk. From then on the
    /// directory is a checkpoint a later run can resume.
    pub fn commit_manifest(&self) -> anyhow::Result<()> {
        if self.rank == 0 && !self.resumed {
            let tmp = self.dir.join("manifest.toml.tmp");
            std::fs::write(&tmp, self.manifest.to_toml())
                .and_then(|()| std::fs::rename(&tmp, self.dir.join("manifest.toml")))
                .with_context(|| {
                    format!(
                        "writing the checkpoint manifest in '{}'",
                        self.dir.display()
                    )
                })?;
        }
        Ok(())
    }

    /// Rank 0 (before any other rank writes there): creates the directory.
    pub fn create_dir(&self) -> anyhow::Result<()> {
        if self.rank == 0 {
            let parent = self.dir.parent().expect("a checkpoint has a parent");
            if !parent.is_dir() {
                anyhow::bail!(
                    "cannot write output '{}': directory '{}' does not exist",
                    self.target.display(),
                    parent.display()
                );
            }
            std::fs::create_dir(&self.dir).with_context(|| {
                format!("creating the checkpoint directory '{}'", self.dir.display())
            })?;
        }
        Ok(())
    }

    /// Names `path` as the file whose data a journal line vouches for: it
    /// is synced to disk before each line is written.
    pub fn sync_before_record(&mut self, path: &Path) -> anyhow::Result<()> {
        self.data = Some(
            std::fs::OpenOptions::new()
                .read(true)
                .open(path)
                .with_context(|| format!("opening '{}' to sync it", path.display()))?,
        );
        Ok(())
    }

    /// Records finished units (index, partial results) on this rank's
    /// journal, after syncing the data file: durable from here on.
    pub fn record(&mut self, units: &[(u64, &[f64])]) -> anyhow::Result<()> {
        if units.is_empty() {
            return Ok(());
        }
        // fault injection for the tests: a unit written but not yet
        // recorded, so that a signal lands "during a write"
        if let Some(ms) = std::env::var("TESSERA_FAULT_RECORD_DELAY_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        if let Some(d) = &self.data {
            d.sync_data()
                .with_context(|| format!("syncing the output in '{}'", self.dir.display()))?;
        }
        if self.journal.is_none() {
            let path = self.dir.join(format!("journal-{}-{}", self.run, self.rank));
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("opening the journal '{}'", path.display()))?;
            self.journal = Some(f);
        }
        let mut text = String::new();
        for (u, vals) in units {
            text.push('U');
            text.push_str(&u.to_string());
            for v in *vals {
                text.push_str(&format!(" {:016x}", v.to_bits()));
            }
            text.push_str(";\n");
        }
        let j = self.journal.as_mut().expect("opened above");
        j.write_all(text.as_bytes())
            .and_then(|()| j.sync_data())
            .with_context(|| format!("writing the journal in '{}'", self.dir.display()))
    }

    /// The run completed and its output is in place: the checkpoint goes.
    pub fn finish(mut self) {
        self.finished = true;
        cleanup::set_checkpoint(None);
        self.journal = None;
        if self.rank == 0 {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        cleanup::unregister_temp_file(&self.dir);
    }

    /// A signal stopped the run: the checkpoint stays for `--resume`.
    pub fn keep(mut self) {
        self.finished = true;
        cleanup::mark_kept();
        cleanup::set_checkpoint(None);
        cleanup::unregister_temp_file(&self.dir);
    }

    /// The [`cleanup::Stopped`] error for a run stopped with `done` units
    /// durable in all.
    pub fn stopped(&self, done: u64, unit: &'static str) -> cleanup::Stopped {
        cleanup::Stopped {
            done,
            total: self.manifest.units,
            unit,
            checkpoint: self.dir.display().to_string(),
        }
    }
}

impl Drop for Checkpoint {
    /// A run that neither finished nor stopped resumably failed: nothing
    /// of it is left behind.
    fn drop(&mut self) {
        if !self.finished {
            cleanup::set_checkpoint(None);
            self.journal = None;
            if self.rank == 0 {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
            cleanup::unregister_temp_file(&self.dir);
        }
    }
}

/// Rank 0: the units an earlier run finished (`None`: start afresh, the
/// directory emptied and ready).
fn inspect(
    dir: &Path,
    manifest: &Manifest,
    resume: bool,
) -> anyhow::Result<Option<BTreeMap<u64, Vec<f64>>>> {
    let mpath = dir.join("manifest.toml");
    let old = match std::fs::read_to_string(&mpath) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading '{}'", mpath.display())),
    };
    let Some(old) = old else {
        // no checkpoint (or one stopped before it was valid): start afresh
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| {
                format!("removing the incomplete checkpoint '{}'", dir.display())
            })?;
        }
        if resume {
            crate::say0!(
                "resume: no interrupted run at '{}'; starting from the beginning",
                dir.display()
            );
        }
        return Ok(None);
    };
    let done = read_journals(dir)?;
    if !resume {
        return Err(usage(format!(
            "an interrupted run left its finished work ({} of {} units) in '{}': pass --resume (or resume = true) to continue it, or remove that directory to start again",
            done.len(),
            manifest.units,
            dir.display()
        )));
    }
    let diff = manifest.differences(&old);
    if !diff.is_empty() {
        return Err(usage(format!(
            "--resume: the interrupted run in '{}' does not match this one:\n  {}\nrun it with its own settings and input, or remove that directory to start again",
            dir.display(),
            diff.join("\n  ")
        )));
    }
    crate::say0!(
        "resume: {} of {} units already done in '{}'",
        done.len(),
        manifest.units,
        dir.display()
    );
    Ok(Some(done))
}

/// Every well-formed journal line of every run and rank.
fn read_journals(dir: &Path) -> anyhow::Result<BTreeMap<u64, Vec<f64>>> {
    let mut done = BTreeMap::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading '{}'", dir.display()))? {
        let e = e?;
        if !e.file_name().to_string_lossy().starts_with("journal-") {
            continue;
        }
        let bytes =
            std::fs::read(e.path()).with_context(|| format!("reading '{}'", e.path().display()))?;
        for line in bytes.split(|&b| b == b'\n') {
            if let Some((u, vals)) = parse_line(line) {
                done.insert(u, vals);
            }
        }
    }
    Ok(done)
}

/// `U<index> <hex>...;` or `None` (a torn or foreign line).
fn parse_line(line: &[u8]) -> Option<(u64, Vec<f64>)> {
    let s = std::str::from_utf8(line).ok()?;
    let body = s.strip_prefix('U')?.strip_suffix(';')?;
    let mut parts = body.split(' ');
    let u = parts.next()?.parse::<u64>().ok()?;
    let vals = parts
        .map(|p| {
            (p.len() == 16)
                .then(|| u64::from_str_radix(p, 16).ok().map(f64::from_bits))
                .flatten()
        })
        .collect::<Option<Vec<f64>>>()?;
    Some((u, vals))
}

fn encode(done: Option<&BTreeMap<u64, Vec<f64>>>) -> Vec<u8> {
    let Some(done) = done else {
        return Vec::new();
    };
    let mut b = vec![1u8];
    for (u, vals) in done {
        b.extend(u.to_le_bytes());
        b.extend((vals.len() as u64).to_le_bytes());
        for v in vals {
            b.extend(v.to_le_bytes());
        }
    }
    b
}

fn decode(b: &[u8]) -> Option<BTreeMap<u64, Vec<f64>>> {
    if b.first() != Some(&1) {
        return None;
    }
    let mut done = BTreeMap::new();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let mut i = 1;
    while i < b.len() {
        let u = word(i);
        let n = word(i + 8) as usize;
        i += 16;
        let vals = (0..n).map(|k| f64::from_bits(word(i + 8 * k))).collect();
        i += 8 * n;
        done.insert(u, vals);
    }
    Some(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_lines_round_trip_and_torn_lines_are_ignored() {
        let vals = [1.5, -0.0, f64::NAN, 1e300];
        let mut line = format!("U42");
        for v in vals {
            line.push_str(&format!(" {:016x}", v.to_bits()));
        }
        line.push(';');
        let (u, got) = parse_line(line.as_bytes()).unwrap();
        assert_eq!(u, 42);
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            vals.map(f64::to_bits)
        );
        // a line cut short, or two run together by a kill mid-write
        assert!(parse_line(&line.as_bytes()[..line.len() - 1]).is_none());
        assert!(parse_line(b"U4U43;").is_none());
        assert!(parse_line(b"U7 00;").is_none());
        assert_eq!(parse_line(b"U7;"), Some((7, vec![])));
    }

    #[test]
    fn encoded_progress_round_trips() {
        let mut m = BTreeMap::new();
        m.insert(3u64, vec![1.0, 2.0]);
        m.insert(9u64, vec![]);
        assert_eq!(decode(&encode(Some(&m))), Some(m));
        assert_eq!(decode(&encode(None)), None);
    }

    #[test]
    fn manifest_differences_name_each_key() {
        let a = Manifest::new("mc", "samples = 10\nseed = \"1\"\nthreads = 2\n", None, 5).unwrap();
        let b = Manifest::new("mc", "samples = 20\nseed = \"1\"\nthreads = 1\n", None, 5).unwrap();
        assert!(a.differences(&a.to_toml()).is_empty());
        let d = b.differences(&a.to_toml());
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].contains("'samples'") && d[0].contains("10") && d[0].contains("20"),
            "{d:?}"
        );
    }

    #[test]
    fn fingerprint_sees_size_and_time() {
        let dir = std::env::temp_dir().join(format!("tessera-fp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.csv"), "1,2\n").unwrap();
        let f1 = fingerprint(&dir).unwrap();
        assert_eq!(f1, fingerprint(&dir).unwrap());
        std::fs::write(dir.join("a.csv"), "1,2,3\n").unwrap();
        assert_ne!(f1, fingerprint(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
