//! End-to-end tests of `tessera plan`: the seeds' grid question against a
//! direct computation, and a plan made from real `lightcurves` runs against
//! the rate those runs measured.

mod util;

use util::*;

/// The smallest p with ceil(n / p) t <= d, trying every p.
fn brute_force_cores(n: u64, t: f64, d: f64) -> Option<u64> {
    (1..=n).find(|&p| n.div_ceil(p) as f64 * t <= d)
}

/// The number after `prefix` in `text`, up to the next space.
fn number_after(text: &str, prefix: &str) -> f64 {
    let i = text
        .find(prefix)
        .unwrap_or_else(|| panic!("'{prefix}' not in:\n{text}"));
    text[i + prefix.len()..]
        .split([' ', ','])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("after '{prefix}': {e}\n{text}"))
}

#[test]
fn plan_answers_the_grid_question_exactly() {
    let dir = TestDir::new("plan-grid");
    for (grid, n, t, deadline, secs) in [
        ("5x5x5", 125u64, 70.0, "20m", 1200.0),
        ("10x10", 100, 70.0, "20m", 1200.0),
        ("4x4x4x4", 256, 33.0, "1h", 3600.0),
        ("7", 7, 100.0, "150s", 150.0),
    ] {
        let o = run(
            plain(&[
                "plan",
                "--grid",
                grid,
                "--task-seconds",
                &t.to_string(),
                "--deadline",
                deadline,
                "--cores-per-node",
                "4",
            ]),
            &dir.0,
        );
        assert_success(&o);
        let text = stdout(&o);
        let want = brute_force_cores(n, t, secs).unwrap();
        let answer = text
            .lines()
            .find(|l| l.starts_with("answer:"))
            .unwrap_or_else(|| panic!("no answer:\n{text}"));
        let got = number_after(answer.rsplit_once("= ").unwrap().1, "");
        assert_eq!(got as u64, want, "{grid}:\n{text}");
        // and the makespan it prints is ceil(N / p) t
        let makespan = number_after(&text, "waves: makespan ");
        assert_eq!(makespan, n.div_ceil(want) as f64 * t, "{text}");
        assert!(
            text.contains(&format!("{} node", want.div_ceil(4))),
            "{text}"
        );
    }
    // the seeds' own numbers, spelled out
    let o = run(
        plain(&[
            "plan",
            "--grid",
            "5x5x5",
            "--task-seconds",
            "70",
            "--deadline",
            "20m",
        ]),
        &dir.0,
    );
    let text = stdout(&o);
    assert!(text.contains("floor(1200 / 70) = 17 waves"), "{text}");
    assert!(text.contains("ceil(125 / 17) = 8 cores"), "{text}");
    // a task longer than the deadline is impossible, not a number
    let o = run(
        plain(&[
            "plan",
            "--grid",
            "2x2",
            "--task-seconds",
            "70",
            "--deadline",
            "60",
        ]),
        &dir.0,
    );
    assert_success(&o);
    assert!(stdout(&o).contains("impossible"), "{}", stdout(&o));
    // usage errors exit 2
    for bad in [
        vec![
            "plan",
            "--grid",
            "5x0x5",
            "--task-seconds",
            "70",
            "--deadline",
            "20m",
        ],
        vec!["plan", "--grid", "5x5", "--deadline", "20m"],
        vec![
            "plan",
            "--grid",
            "5x5",
            "--task-seconds",
            "70",
            "--deadline",
            "soon",
        ],
        vec!["plan", "--work", "1e9", "--deadline", "24h"],
    ] {
        let o = run(plain(&bad), &dir.0);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
}

#[test]
fn plan_from_lightcurves_runs_matches_their_measured_rate() {
    let dir = TestDir::new("plan-lc");
    let mut outs = Vec::new();
    for n in ["120", "240"] {
        let lc = dir.path(&format!("lc{n}.h5"));
        let o = run(
            plain(&[
                "synth",
                "lightcurves",
                "-n",
                n,
                "--bands",
                "g",
                "--epochs",
                "100",
                "--out",
                lc.to_str().unwrap(),
            ]),
            &dir.0,
        );
        assert_success(&o);
        let out = dir.path(&format!("f{n}.h5"));
        let o = run(
            plain(&[
                "lightcurves",
                "--input",
                lc.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--threads",
                "1",
            ]),
            &dir.0,
        );
        assert_success(&o);
        outs.push(out);
    }
    let args: Vec<&str> = ["plan"]
        .into_iter()
        .chain(outs.iter().map(|p| p.to_str().unwrap()))
        .chain([
            "--work",
            "1e8",
            "--deadline",
            "2h",
            "--cores-per-node",
            "16",
        ])
        .collect();
    let o = run(plain(&args), &dir.0);
    assert_success(&o);
    let text = stdout(&o);
    // each run's rate is its compute core-seconds per object, from /timings
    let mut rates = Vec::new();
    for out in &outs {
        let f = hdf5::File::open(out).unwrap();
        let t = f.dataset("timings").unwrap().read_2d::<f64>().unwrap();
        let objects: u64 = f.dataset("summary/objects").unwrap().read_scalar().unwrap();
        let rate = t[[0, 2]] / objects as f64;
        rates.push(rate);
        assert!(
            text.contains(&format!("-> {rate:.4e} core-s per unit")),
            "{rate:.4e} not in:\n{text}"
        );
    }
    // two runs: no wall fit (two points fit two parameters exactly); t is
    // the median of the runs' compute rates and S of their time outside
    // compute, so the projection runs at the measured rate
    assert!(text.contains("no wall fit"), "{text}");
    let t = number_after(&text, "             t = ");
    let s = number_after(&text, "             S = ");
    let median = (rates[0] + rates[1]) / 2.0;
    assert!(
        (t - median).abs() <= 1e-4 * median,
        "t {t} vs {median}\n{text}"
    );
    let outside: Vec<f64> = outs
        .iter()
        .map(|p| {
            let f = hdf5::File::open(p).unwrap();
            let tm = f.dataset("timings").unwrap().read_2d::<f64>().unwrap();
            tm[[0, 5]] - tm[[0, 2]]
        })
        .collect();
    let s_want = (outside[0] + outside[1]) / 2.0;
    assert!((s - s_want).abs() < 1e-3, "S {s} vs {s_want}\n{text}");
    // its rate in objects per second per core is the measured one
    let per_core = number_after(&text, "core-s per object (");
    assert!((per_core - 1.0 / median).abs() <= 0.51, "{text}");
    let p = number_after(&text, "answer:      p = ") as u64;
    let time = |p: u64| {
        let ranks = p.div_ceil(16);
        s + 1e8 * t / p as f64 + tessera::scaling::plan::comm_seconds(ranks as f64)
    };
    // the printed t and S are rounded to 5 and 3 digits
    assert!(
        time(p) <= 7200.0 * 1.001 && time(p - 1) > 7200.0 * 0.999,
        "p {p}\n{text}"
    );
    assert!(
        text.contains("assumptions:") && text.contains("uncertainty:"),
        "{text}"
    );
}
