//! Progress lines in a batch log (stderr not a terminal) under `mpirun -n
//! 2`, and the automatic light-curve tile that gives every rank work.

mod util;

use util::*;

/// The `[rank 0] JOB: done/total UNIT` lines of a log, as (done, total, finished).
fn progress_lines(log: &str, job: &str) -> Vec<(u64, u64, bool)> {
    let prefix = format!("[rank 0] {job}: ");
    log.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (counts, tail) = rest.split_once(' ')?;
            let (done, total) = counts.split_once('/')?;
            Some((
                done.parse().ok()?,
                total.parse().ok()?,
                tail.ends_with(", done"),
            ))
        })
        .collect()
}

#[test]
fn mc_prints_aggregated_progress_every_interval_under_mpirun() {
    let dir = TestDir::new("progress-mc");
    let out = dir.path("mc.h5");
    let log = dir.path("stderr.log");
    // stderr goes to a file, as in a batch job
    let mut cmd = mpirun(
        2,
        &[
            "mc",
            "--samples",
            "1.2e10",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--set",
            "progress_interval=1",
        ],
    );
    cmd.stderr(std::fs::File::create(&log).unwrap());
    let status = cmd.current_dir(&dir.0).status().unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = progress_lines(&text, "mc");
    let seconds: f64 = {
        let f = hdf5::File::open(&out).unwrap();
        let t = f.dataset("timings").unwrap().read_2d::<f64>().unwrap();
        t[[0, 2]]
    };
    // one line per second of compute (give or take the first and a busy
    // machine), then the final one
    assert!(
        lines.len() >= 3 && lines.len() as f64 <= seconds + 3.0,
        "{} lines in {seconds:.1} s of compute:\n{text}",
        lines.len()
    );
    let (last, firsts) = lines.split_last().unwrap();
    assert!(last.2 && last.0 == last.1, "final line: {text}");
    assert!(firsts.iter().all(|l| !l.2 && l.0 <= l.1));
    assert!(
        firsts.windows(2).all(|w| w[0].0 <= w[1].0) && firsts.last().unwrap().0 < last.0,
        "counts increase: {text}"
    );
    // the final count is every block, rank 1's half included (rank 0 only
    // knows it from rank 1's messages), and only rank 0 prints
    assert!(!text.contains("[rank 1] mc:"), "{text}");
    // progress changes nothing: the same estimate with progress off
    let out2 = dir.path("mc-quiet.h5");
    let o = run(
        mpirun(
            2,
            &[
                "mc",
                "--samples",
                "1.2e10",
                "--threads",
                "1",
                "--out",
                out2.to_str().unwrap(),
                "--progress-interval",
                "0",
            ],
        ),
        &dir.0,
    );
    assert_success(&o);
    assert!(
        progress_lines(&stderr(&o), "mc").is_empty(),
        "{}",
        stderr(&o)
    );
    for name in ["montecarlo/estimate", "montecarlo/variance"] {
        assert_eq!(
            read_f64(&out, name).to_bits(),
            read_f64(&out2, name).to_bits(),
            "{name}"
        );
    }
}

#[test]
fn lightcurves_tiles_adapt_so_both_ranks_work_and_progress_ends_done() {
    let dir = TestDir::new("progress-lc");
    let lc = dir.path("lc.h5");
    let o = run(
        plain(&[
            "synth",
            "lightcurves",
            "-n",
            "242",
            "--bands",
            "g,r",
            "--epochs",
            "50",
            "--out",
            lc.to_str().unwrap(),
        ]),
        &dir.0,
    );
    assert_success(&o);
    let out = dir.path("f.h5");
    let o = run(
        mpirun(
            2,
            &[
                "lightcurves",
                "--input",
                lc.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--threads",
                "1",
                "--progress-interval",
                "0.2",
            ],
        ),
        &dir.0,
    );
    assert_success(&o);
    let err = stderr(&o);
    // ceil(242 / (4 x 2 ranks)) = 31 objects per tile: 8 tiles
    assert!(err.contains("in 8 tiles of 31 (auto)"), "{err}");
    let f = hdf5::File::open(&out).unwrap();
    let tile: u64 = f.dataset("provenance/tile").unwrap().read_scalar().unwrap();
    assert_eq!(tile, 31);
    let per_rank: Vec<u64> = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("tiles/rank"))
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(per_rank.len(), 2);
    assert!(
        per_rank.iter().all(|&t| t > 0),
        "every rank gets tiles: {per_rank:?}"
    );
    assert_eq!(per_rank.iter().sum::<u64>(), 8);
    let lines = progress_lines(&err, "lightcurves");
    let last = lines
        .last()
        .unwrap_or_else(|| panic!("no progress line:\n{err}"));
    assert_eq!((last.0, last.1, last.2), (8, 8, true), "{err}");
    // the same rows as a fixed tile of 256 on one rank
    let fixed = dir.path("fixed.h5");
    let o = run(
        plain(&[
            "lightcurves",
            "--input",
            lc.to_str().unwrap(),
            "--out",
            fixed.to_str().unwrap(),
            "--tile",
            "256",
        ]),
        &dir.0,
    );
    assert_success(&o);
    let read = |p: &std::path::Path| -> Vec<u64> {
        let f = hdf5::File::open(p).unwrap();
        let v = f
            .dataset("features/values")
            .unwrap()
            .read_raw::<f64>()
            .unwrap();
        v.iter().map(|x| x.to_bits()).collect()
    };
    assert!(
        read(&out) == read(&fixed),
        "auto tile changed /features/values"
    );
}
