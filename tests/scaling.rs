//! End-to-end tests of `tessera scale` (local mpirun series) and
//! `tessera report` (tables and plots from HDF5 outputs alone).

mod util;

use std::process::Command;

use util::*;

fn tessera(args: &[&str]) -> Command {
    let mut c = plain(args);
    c.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl", "self,vader")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    c
}

#[test]
fn scale_runs_a_strong_and_weak_series_and_reports_it() {
    let dir = TestDir::new("scale");
    let out = dir.path("study");
    let out_s = out.to_str().unwrap();
    let o = run(
        tessera(&[
            "scale",
            "--job",
            "mc",
            "--ranks",
            "1,2",
            "--mode",
            "both",
            "--work",
            "2e6",
            "--out-dir",
            out_s,
            "--set",
            "dims=3",
        ]),
        &dir.0,
    );
    assert_success(&o);
    let md = std::fs::read_to_string(out.join("scaling.md")).unwrap();
    assert!(md.contains("## mc strong (samples = 2e6)"), "{md}");
    assert!(md.contains("## mc weak (samples = 2e6 per rank)"), "{md}");
    // 1 and 2 ranks: two points fit Amdahl's two parameters exactly
    assert!(
        md.contains("Amdahl fit: not made, so no bound on the speed-up is given"),
        "{md}"
    );
    assert!(!md.contains("can never exceed"), "{md}");
    assert!(
        md.contains("Communication (scatter + reduce) costs"),
        "{md}"
    );
    assert!(md.contains("Projection (strong scaling"), "{md}");
    assert_eq!(stdout(&o).trim(), md.trim(), "the report is printed too");
    // 2 strong + 2 weak rows; the weak run at 2 ranks had 4e6 samples
    let csv = std::fs::read_to_string(out.join("scaling.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv
        .lines()
        .any(|l| l.starts_with("mc,weak,") && l.contains("mc-weak-p2-r1.h5")));
    let png = std::fs::read(out.join("scaling.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(out.join("scaling.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("efficiency"));
    // the config passed with --set reached every run
    let f = hdf5::File::open(out.join("mc-weak-p2-r1.h5")).unwrap();
    let samples: u64 = f
        .dataset("montecarlo/samples")
        .unwrap()
        .read_scalar()
        .unwrap();
    let dims: u64 = f.dataset("montecarlo/dims").unwrap().read_scalar().unwrap();
    assert_eq!((samples, dims), (4_000_000, 3));

    // report again from the files alone, into another folder
    let again = dir.path("again");
    let files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(files.len(), 4);
    let mut args = vec![
        "report",
        "--out-dir",
        again.to_str().unwrap(),
        "--cores-per-node",
        "1",
    ];
    args.extend(files.iter().map(String::as_str));
    let o = run(tessera(&args), &dir.0);
    assert_success(&o);
    let md = std::fs::read_to_string(again.join("scaling.md")).unwrap();
    assert!(
        md.contains("| 2* |"),
        "2 ranks on 1 core are oversubscribed:\n{md}"
    );
}

#[test]
fn scale_and_report_reject_bad_input_with_the_right_exit_code() {
    let dir = TestDir::new("scale-bad");
    for (args, want) in [
        (vec!["scale", "--ranks", "0"], "--ranks"),
        (
            vec!["scale", "--job", "nope"],
            "no scaling knob for job 'nope'",
        ),
        (
            vec!["scale", "--set", "samples=1"],
            "the study sets 'samples' itself",
        ),
    ] {
        let o = run(tessera(&args), &dir.0);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let missing = dir.path("missing.h5");
    let o = run(tessera(&["report", missing.to_str().unwrap()]), &dir.0);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.h5"), "{}", stderr(&o));
    let not_h5 = dir.path("notes.h5");
    std::fs::write(&not_h5, "not HDF5").unwrap();
    let o = run(tessera(&["report", not_h5.to_str().unwrap()]), &dir.0);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("notes.h5"), "{}", stderr(&o));
    // dry run prints the plan and runs nothing
    let plan = dir.path("plan");
    let o = run(
        tessera(&[
            "scale",
            "--launcher",
            "sbatch",
            "--ranks",
            "2,4",
            "--dry-run",
            "--out-dir",
            plan.to_str().unwrap(),
        ]),
        &dir.0,
    );
    assert_success(&o);
    assert!(stderr(&o).contains("--ntasks=4"), "{}", stderr(&o));
    assert!(!plan.exists());
}
