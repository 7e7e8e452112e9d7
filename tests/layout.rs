//! The source layout's rules, checked on the source text: dependencies point
//! one way (no file imports a file that imports it back), the numeric layer
//! imports nothing outside itself, and only the command-line layer and the
//! binary see clap.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, with its module path (`["jobs", "mc"]`).
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let mut p = prefix.to_vec();
            p.push(path.file_name().unwrap().to_string_lossy().into_owned());
            modules(&path, &p, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let mut p = prefix.to_vec();
            if !matches!(stem.as_str(), "mod" | "lib" | "main") {
                p.push(stem);
            }
            out.insert(p, path);
        }
    }
}

/// The source without its `#[cfg(test)] mod tests { ... }` tail and comments.
fn code(path: &Path) -> String {
    let src = std::fs::read_to_string(path).unwrap();
    let src = match src.find("#[cfg(test)]\nmod tests") {
        Some(i) => &src[..i],
        None => &src[..],
    };
    src.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module paths named by `crate::`, `super::` and `self::` paths in `src`,
/// with `use a::{b, c::d}` groups expanded one level.
fn referenced(src: &str, me: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes: Vec<char> = src.chars().collect();
    let text: String = bytes.iter().collect();
    for head in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(head) {
            let at = from + i;
            from = at + head.len();
            if at > 0 {
                let c = text[..at].chars().last().unwrap();
                if c.is_alphanumeric() || c == '_' || c == '$' {
                    continue;
                }
            }
            let base: Vec<String> = match head {
                "crate::" => Vec::new(),
                "super::" => {
                    let up = if is_mod_file {
                        me.len().saturating_sub(1)
                    } else {
                        me.len().saturating_sub(1)
                    };
                    me[..up].to_vec()
                }
                _ => me.to_vec(),
            };
            let rest = &text[from..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path: Vec<String> = rest[..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let mut full = base.clone();
            full.extend(path.iter().cloned());
            found.push(full.clone());
            // a group: crate::a::{b, c::d}
            if rest[end..].starts_with('{') {
                if let Some(close) = rest[end..].find('}') {
                    for item in rest[end + 1..end + close].split(',') {
                        let mut g = full.clone();
                        g.extend(
                            item.trim()
                                .split("::")
                                .map(|s| s.trim().trim_start_matches('{').to_string())
                                .filter(|s| !s.is_empty() && s != "self"),
                        );
                        found.push(g);
                    }
                }
            }
        }
    }
    found
}

/// The longest prefix of `path` that is a module file.
fn resolve<'a>(
    path: &[String],
    mods: &'a BTreeMap<Vec<String>, PathBuf>,
) -> Option<&'a Vec<String>> {
    (1..=path.len())
        .rev()
        .find_map(|k| mods.get_key_value(&path[..k]).map(|(k, _)| k))
}

fn graph() -> (
    BTreeMap<Vec<String>, PathBuf>,
    BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
) {
    let mut mods = BTreeMap::new();
    modules(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &[],
        &mut mods,
    );
    let mut edges = BTreeMap::new();
    for (m, path) in &mods {
        let is_mod = path.file_name().is_some_and(|f| f == "mod.rs");
        let mut to = BTreeSet::new();
        for r in referenced(&code(path), m, is_mod) {
            if let Some(t) = resolve(&r, &mods) {
                if t != m {
                    to.insert(t.clone());
                }
            }
        }
        edges.insert(m.clone(), to);
    }
    (mods, edges)
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let (mods, edges) = graph();
    assert!(mods.len() > 50, "found only {} source files", mods.len());
    // every cycle passes through some pair (a, b) with b reachable from a and a from b
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(v) = stack.pop() {
            for w in &edges[&v] {
                if seen.insert(w.clone()) {
                    stack.push(w.clone());
                }
            }
        }
        seen
    };
    let mut cycles = Vec::new();
    for (a, out) in &edges {
        for b in out {
            if reach(b).contains(a) {
                cycles.push(format!("{} -> {}", mods[a].display(), mods[b].display()));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn numeric_imports_nothing_outside_numeric() {
    let (mods, edges) = graph();
    let mut bad = Vec::new();
    for (m, out) in &edges {
        if m.first().is_some_and(|s| s == "numeric") {
            for t in out {
                if t.first().is_none_or(|s| s != "numeric") {
                    bad.push(format!("{} uses {}", mods[m].display(), t.join("::")));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn only_the_cli_layer_sees_clap() {
    let (mods, edges) = graph();
    let mut bad = Vec::new();
    for (m, path) in &mods {
        let in_cli = m.first().is_some_and(|s| s == "cli") || m.is_empty();
        if in_cli {
            continue;
        }
        if code(path).contains("clap::") {
            bad.push(format!("{} uses clap", path.display()));
        }
        for t in &edges[m] {
            if t.first().is_some_and(|s| s == "cli") {
                bad.push(format!("{} uses {}", path.display(), t.join("::")));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
