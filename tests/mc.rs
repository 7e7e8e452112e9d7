//! End-to-end tests of `tessera mc`: the real binary under `mpirun -n 1, 2,
//! 4` and with 1 and 2 threads, its HDF5 output, and its failure modes.

mod util;

use std::time::Duration;

use util::*;

const MONTECARLO_SCALARS: [&str; 7] = [
    "/montecarlo/estimate",
    "/montecarlo/variance",
    "/montecarlo/stderr",
    "/montecarlo/zscore",
    "/montecarlo/mean",
    "/montecarlo/m2",
    "/montecarlo/exact",
];

fn mc_args<'a>(out: &'a str, threads: &'a str) -> Vec<&'a str> {
    vec![
        "mc",
        "--integrand",
        "norm2",
        "--dims",
        "2",
        "--samples",
        "100000000",
        "--seed",
        "7",
        "--threads",
        threads,
        "--out",
        out,
    ]
}

#[test]
fn estimate_is_bit_identical_for_any_ranks_and_threads() {
    let dir = TestDir::new("bitident");
    let mut runs = Vec::new();
    let plain_out = dir.path("plain.h5");
    let o = run(plain(&mc_args(plain_out.to_str().unwrap(), "2")), &dir.0);
    assert_success(&o);
    runs.push(("plain, 2 threads".to_string(), plain_out));
    for ranks in [1usize, 2, 4] {
        for threads in ["1", "2"] {
            let out = dir.path(&format!("n{ranks}-t{threads}.h5"));
            let o = run(
                mpirun(ranks, &mc_args(out.to_str().unwrap(), threads)),
                &dir.0,
            );
            assert_success(&o);
            runs.push((format!("mpirun -n {ranks}, {threads} threads"), out));
        }
    }
    let (ref_name, ref_file) = &runs[0];
    let exact = read_f64(ref_file, "/montecarlo/exact");
    assert_eq!(exact, 2.0 / 3.0);
    let z = read_f64(ref_file, "/montecarlo/zscore");
    assert!(z.abs() < 5.0, "z-score {z}");
    for (name, file) in &runs[1..] {
        for ds in MONTECARLO_SCALARS {
            let a = read_f64(ref_file, ds);
            let b = read_f64(file, ds);
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{ds}: {ref_name} gives {a:e}, {name} gives {b:e}"
            );
        }
    }
    // the decomposition did change: 4 ranks record 4 partials
    let f = hdf5::File::open(dir.path("n4-t2.h5")).unwrap();
    let partials = f
        .dataset("/montecarlo/rank_partials")
        .unwrap()
        .read_2d::<f64>()
        .unwrap();
    assert_eq!(partials.shape(), &[4, 3]);
    let counted: f64 = partials.column(0).sum();
    assert_eq!(counted, 1e8);
}

#[test]
fn output_has_timings_and_provenance_and_no_temp_file() {
    let dir = TestDir::new("layout");
    let out = dir.path("mc.h5");
    let o = run(
        mpirun(
            2,
            &[
                "mc",
                "--integrand",
                "pi",
                "--samples",
                "2e7",
                "--seed",
                "3",
                "--out",
                out.to_str().unwrap(),
            ],
        ),
        &dir.0,
    );
    assert_success(&o);
    assert_eq!(dir.listing(), vec!["mc.h5".to_string()]);
    let f = hdf5::File::open(&out).unwrap();
    let t = f.dataset("timings").unwrap();
    let table = t.read_2d::<f64>().unwrap();
    assert_eq!(table.shape(), &[2, 6]);
    let phases: Vec<String> = t
        .attr("phases")
        .unwrap()
        .read_1d::<hdf5::types::VarLenUnicode>()
        .unwrap()
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    assert_eq!(
        phases,
        ["read", "scatter", "compute", "reduce", "write", "total"]
    );
    for row in table.rows() {
        assert!(row.iter().all(|&s| s >= 0.0 && s.is_finite()));
        assert!(row[2] > 0.0, "compute time recorded");
        assert!(row[5] >= row[2], "total covers compute");
    }
    let ranks: u64 = f
        .dataset("provenance/ranks")
        .unwrap()
        .read_scalar()
        .unwrap();
    assert_eq!(ranks, 2);
    let config: hdf5::types::VarLenUnicode = f
        .dataset("provenance/config")
        .unwrap()
        .read_scalar()
        .unwrap();
    assert!(
        config.as_str().contains("integrand = \"pi\""),
        "{}",
        config.as_str()
    );
    let mpi: hdf5::types::VarLenUnicode = f
        .dataset("provenance/mpi_library")
        .unwrap()
        .read_scalar()
        .unwrap();
    assert!(mpi.as_str().contains("Open MPI"), "{}", mpi.as_str());
    let est = read_f64(&out, "/montecarlo/estimate");
    let se = read_f64(&out, "/montecarlo/stderr");
    assert!((est - std::f64::consts::PI).abs() < 5.0 * se);
    // stdout has the summary, every stderr line the rank prefix
    assert!(stdout(&o).contains("estimate"));
    for line in stderr(&o).lines() {
        assert!(line.starts_with("[rank "), "unprefixed log line: {line}");
    }
}

/// Asserts exit code 2, a message containing `needle`, and no output.
fn assert_usage_error(args: &[&str], needle: &str) {
    let dir = TestDir::new("usage");
    let mut full = args.to_vec();
    full.extend(["--out", "x.h5"]);
    let o = run_limited(plain(&full), Duration::from_secs(30), &dir.0);
    assert_eq!(
        o.status.code(),
        Some(2),
        "args {args:?}\nstderr: {}",
        stderr(&o)
    );
    let e = stderr(&o);
    assert!(
        e.contains(needle),
        "args {args:?}: message lacks '{needle}':\n{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "one clear message, got:\n{e}");
    assert!(
        dir.listing().is_empty(),
        "nothing written for {args:?}: {:?}",
        dir.listing()
    );
}

#[test]
fn bad_config_values_exit_2_with_a_clear_message() {
    assert_usage_error(
        &["mc", "--dims", "0"],
        "config key 'dims' (from --dims): must be a whole number >= 1",
    );
    assert_usage_error(&["mc", "--dims", "-3"], "got -3");
    assert_usage_error(&["mc", "--samples", "0"], "config key 'samples'");
    assert_usage_error(&["mc", "--samples", "-100"], "got -100");
    assert_usage_error(
        &["mc", "--bounds", "1:0"],
        "dimension 0 is inverted or empty: lower 1 >= upper 0",
    );
    assert_usage_error(
        &["mc", "--dims", "2", "--bounds", "0:1,3:2"],
        "dimension 1 is inverted",
    );
    assert_usage_error(
        &["mc", "--set", "colour=blue"],
        "unknown config key 'colour' (from --set colour)",
    );
    assert_usage_error(
        &["mc", "--integrand", "banana"],
        "unknown integrand 'banana'; choose one of: norm2, pi, gaussian, cosprod",
    );
    assert_usage_error(
        &["mc", "--block-size", "0"],
        "config key 'block_size' (from --block-size)",
    );
    assert_usage_error(
        &["mc", "--integrand", "pi", "--dims", "3"],
        "integrand 'pi' is the quarter disc in 2 dimensions",
    );
    assert_usage_error(
        &["mc", "--config", "/nonexistent/mc.toml"],
        "cannot read config file '/nonexistent/mc.toml'",
    );
}

#[test]
fn unknown_key_in_config_file_names_the_file() {
    let dir = TestDir::new("cfgkey");
    let cfg = dir.path("bad.toml");
    std::fs::write(&cfg, "dims = 2\nsampels = 1000\n").unwrap();
    let o = run(
        plain(&["mc", "--config", cfg.to_str().unwrap(), "--out", "x.h5"]),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("unknown config key 'sampels'") && e.contains("bad.toml"),
        "{e}"
    );
    assert_eq!(dir.listing(), vec!["bad.toml".to_string()]);
}

#[test]
fn usage_error_under_mpirun_is_printed_once_and_exits_2() {
    let dir = TestDir::new("usage-mpi");
    let o = run_limited(
        mpirun(2, &["mc", "--dims", "0", "--out", "x.h5"]),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("config key 'dims'").count(),
        1,
        "{}",
        stderr(&o)
    );
}

#[test]
fn unwritable_output_fails_before_computing() {
    let dir = TestDir::new("unwritable");
    // 10^12 samples would take many minutes: failing within the limit shows
    // the check comes first
    let o = run_limited(
        mpirun(
            2,
            &["mc", "--samples", "1e12", "--out", "/nonexistent-dir/mc.h5"],
        ),
        Duration::from_secs(60),
        &dir.0,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("directory '/nonexistent-dir' does not exist"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_panic_on_one_rank_aborts_the_whole_job() {
    let dir = TestDir::new("panic");
    let mut cmd = mpirun(2, &["mc", "--samples", "1e9", "--out", "mc.h5"]);
    cmd.env("TESSERA_FAULT_PANIC_RANK", "1");
    let o = run_limited(cmd, Duration::from_secs(120), &dir.0);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("[rank 1] fatal") && e.contains("fault injected"),
        "{e}"
    );
    assert!(
        !dir.listing().iter().any(|f| f.contains("mc.h5")),
        "left behind: {:?}",
        dir.listing()
    );
}

#[test]
fn help_teaches_and_starts_no_mpi() {
    let dir = TestDir::new("help");
    let o = run_limited(plain(&["mc", "--help"]), Duration::from_secs(10), &dir.0);
    assert_success(&o);
    let h = stdout(&o);
    for word in [
        "--integrand",
        "--samples",
        "--config",
        "--set",
        "V^2 s^2 / M",
        "bit-identical",
    ] {
        assert!(h.contains(word), "--help lacks {word}");
    }
    let o = run_limited(plain(&["--version"]), Duration::from_secs(10), &dir.0);
    assert_success(&o);
    assert!(stdout(&o).starts_with("tessera "));
}

#[test]
fn shipped_config_runs() {
    let dir = TestDir::new("shipped");
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/mc.toml");
    let o = run(
        plain(&[
            "mc",
            "--config",
            cfg,
            "--set",
            "samples=4e6",
            "--out",
            "a.h5",
        ]),
        &dir.0,
    );
    assert_success(&o);
    assert!(read_f64(&dir.path("a.h5"), "/montecarlo/zscore").abs() < 5.0);
}

#[test]
fn bench_prints_unit_on_last_line() {
    let dir = TestDir::new("bench");
    let o = run(
        plain(&["bench", "mc", "--samples", "2e6", "--repeat", "1"]),
        &dir.0,
    );
    assert_success(&o);
    let out = stdout(&o);
    let last = out.trim_end().lines().last().unwrap();
    assert!(
        last.contains("M samples/s/core") && last.contains("n=2") && last.contains("n=10"),
        "{last}"
    );
}
