//! Fault classes: inputs and outputs that must never be lost. Each test
//! asserts the exit code, the message, that every input is byte-identical
//! afterwards and that no output or temporary file is left behind.

mod util;

use std::path::Path;
use std::time::Duration;

use util::*;

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Runs `args` in `dir` and asserts: exit 2, a message naming the clash,
/// and the directory exactly as before (inputs intact, nothing added).
fn refused_without_loss(dir: &TestDir, args: &[&str]) {
    let before = snapshot(&dir.0);
    let listing = dir.listing();
    let o = run_limited(plain(args), Duration::from_secs(60), &dir.0);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains("same file") && err.contains("never overwrites its input"),
        "{args:?}: {err}"
    );
    assert_eq!(dir.listing(), listing, "{args:?}: files added or removed");
    assert!(snapshot(&dir.0) == before, "{args:?}: an input changed");
}

#[test]
fn an_output_that_is_an_input_is_refused_through_any_path_or_link() {
    let dir = TestDir::new("faults-out-is-in");
    let ok = |args: &[&str]| assert_success(&run(plain(args), &dir.0));
    ok(&["synth", "lightcurves", "-n", "20", "--epochs", "30", "--out", "lc.h5"]);
    ok(&["lightcurves", "--input", "lc.h5", "--out", "features.h5", "--threads", "1"]);
    ok(&["synth", "image", "--size", "64", "--out", "img.h5"]);
    ok(&["synth", "image", "--size", "64", "--format", "fits", "--out", "img.fits"]);
    std::os::unix::fs::symlink("lc.h5", dir.path("link.h5")).unwrap();
    std::os::unix::fs::symlink("img.fits", dir.path("link.fits")).unwrap();
    std::fs::create_dir(dir.path("csv")).unwrap();
    std::fs::write(dir.path("csv/a.csv"), "time,mag,magerr\n1,17,0.1\n2,17.2,0.1\n3,17.1,0.1\n").unwrap();

    // the same file by another name, through a symbolic link, and from the config file
    refused_without_loss(&dir, &["lightcurves", "--input", "lc.h5", "--out", "./lc.h5"]);
    refused_without_loss(&dir, &["lightcurves", "--input", "lc.h5", "--out", "link.h5"]);
    let abs = dir.path("lc.h5").display().to_string();
    refused_without_loss(&dir, &["lightcurves", "--input", "link.h5", "--set", &format!("out={abs:?}")]);
    refused_without_loss(&dir, &["image", "--input", "img.h5", "--out", "../tessera-it-faults-out-is-in-{}/img.h5".replace("{}", &std::process::id().to_string()).as_str()]);
    refused_without_loss(&dir, &["image", "--input", "img.fits", "--out", "link.fits"]);
    refused_without_loss(&dir, &["export", "features.h5", "--csv", "./features.h5"]);
    refused_without_loss(&dir, &["ingest", "csv", "csv", "--out", "csv/a.csv"]);

    // under mpirun the refusal is the same and no rank hangs
    let before = snapshot(&dir.0);
    let o = run_limited(
        mpirun(2, &["lightcurves", "--input", "lc.h5", "--out", "link.h5"]),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(snapshot(&dir.0) == before);
}
