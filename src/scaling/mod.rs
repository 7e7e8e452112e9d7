//! Scaling studies (`tessera scale`) and reports (`tessera report`), driver
//! layer: starts other tessera runs (with `mpirun` or `sbatch`, never MPI
//! itself) and reads their `/provenance` and `/timings`.
//!
//! [`WORK_KNOBS`] is the only job-specific table: adding a job to both
//! commands is one entry there.

pub mod amdahl;
pub mod model;
pub mod plan;
pub mod plot;
pub mod report;
pub mod series;
pub mod study;

/// How a job's work knob grows with the number of ranks in weak scaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Growth {
    /// The knob counts work items (samples, light curves): value × ranks.
    Linear,
    /// The knob is a side length of a square (an image of size × size
    /// pixels): value × sqrt(ranks), so the area grows with the ranks.
    Sqrt,
}

impl Growth {
    /// Work units (proportional to compute time) for a knob value.
    pub fn work(self, value: f64) -> f64 {
        match self {
            Growth::Linear => value,
            Growth::Sqrt => value * value,
        }
    }

    /// The knob value that gives `ranks` times the work of `base`.
    pub fn scaled(self, base: f64, ranks: usize) -> f64 {
        match self {
            Growth::Linear => base * ranks as f64,
            Growth::Sqrt => (base * (ranks as f64).sqrt()).round(),
        }
    }
}

/// How a study makes the input of a job whose work is the size of its input
/// file: `tessera synth ...` once per knob value, into `<out-dir>/inputs/`,
/// then `tessera <job> --input FILE`.
#[derive(Clone, Copy, Debug)]
pub struct InputPrep {
    /// `tessera synth` arguments (after `tessera`, without `--out`) that make
    /// the input for a knob value.
    pub synth: fn(f64) -> Vec<String>,
    /// Reads the knob value back from a run's output (the report has no
    /// config key to read it from).
    pub value_in_output: fn(&hdf5::File) -> Option<f64>,
}

/// The setting that sets a job's amount of work, with sizes for studies
/// and for smoke tests: either a config key passed as `--set KEY=VALUE`
/// (mc: samples), or the size of an input file that the study synthesises
/// first, once per distinct value, with `tessera synth` ([`InputPrep`];
/// lightcurves: objects, image: side).
#[derive(Clone, Copy, Debug)]
pub struct WorkKnob {
    /// The subcommand (`tessera <job>`).
    pub job: &'static str,
    /// Config key, passed as `--set KEY=VALUE`; with [`WorkKnob::input`],
    /// only the knob's name in reports (the input is passed as `--input`).
    pub key: &'static str,
    /// Default total work of a strong series and work per rank of a weak one.
    pub default: f64,
    /// How the knob grows with the ranks in weak scaling.
    pub growth: Growth,
    /// A size that runs in about a second on one core (SLURM smoke test).
    pub small: f64,
    /// Partial results rank 0 gathers and merges for this much work (work
    /// units): the serial part of the reduction, used by the multi-node
    /// projection ([`model`]).
    pub partials: fn(f64) -> f64,
    /// Some: the study synthesises an input file per knob value.
    pub input: Option<InputPrep>,
    /// `--set KEY=VALUE` a study passes before the user's own `--set`s
    /// (which win); reports show them in the series headings.
    pub study_sets: &'static [&'static str],
}

impl WorkKnob {
    /// The prepared input for a knob value, under a study's output folder
    /// (`None` when the knob is a config key).
    pub fn input_path(&self, dir: &std::path::Path, value: f64) -> Option<std::path::PathBuf> {
        self.input.map(|_| {
            dir.join("inputs").join(format!(
                "{}-{}-{}.h5",
                self.job,
                self.key,
                format_value(value)
            ))
        })
    }

    /// The job arguments that set the amount of work: `--set KEY=VALUE`, or
    /// `--input FILE` for a prepared input.
    pub fn size_args(&self, value: f64, input: Option<&std::path::Path>) -> Vec<String> {
        match (self.input, input) {
            (Some(_), Some(f)) => vec!["--input".into(), f.display().to_string()],
            _ => vec![
                "--set".into(),
                format!("{}={}", self.key, format_value(value)),
            ],
        }
    }

    /// Synthesises the input for `value` at `file` with `bin synth ...`,
    /// unless it is already there (a cache shared by every repeat and by
    /// strong and weak points of equal size). Written under a temporary
    /// name and renamed, so an interrupted run leaves no half file.
    pub fn prepare_input(
        &self,
        bin: &std::path::Path,
        value: f64,
        file: &std::path::Path,
    ) -> anyhow::Result<()> {
        use anyhow::Context;
        let Some(prep) = self.input else {
            return Ok(());
        };
        if file.is_file() {
            return Ok(());
        }
        if let Some(d) = file.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("creating '{}'", d.display()))?;
        }
        let tmp = file.with_extension("partial.h5");
        let o = std::process::Command::new(bin)
            .args((prep.synth)(value))
            .arg("--out")
            .arg(&tmp)
            .stdout(std::process::Stdio::null())
            .output()
            .context("running tessera synth")?;
        if !o.status.success() {
            anyhow::bail!(
                "tessera synth for {} = {} failed with {}:\n{}",
                self.key,
                format_value(value),
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::fs::rename(&tmp, file).with_context(|| format!("renaming to '{}'", file.display()))
    }
}

/// lightcurves input: `value` objects in bands g,r,i with 60 epochs, seed 1.
pub fn synth_lightcurves(value: f64) -> Vec<String> {
    [
        "synth",
        "lightcurves",
        "-n",
        &format_value(value.round()),
        "--bands",
        "g,r,i",
        "--epochs",
        "60",
        "--seed",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

/// image input: the lecture's delta grid, `value` x `value` pixels of f64.
pub fn synth_image(value: f64) -> Vec<String> {
    [
        "synth",
        "image",
        "--kind",
        "deltas",
        "--size",
        &format_value(value.round()),
        "--dtype",
        "f64",
    ]
    .map(String::from)
    .to_vec()
}

/// Objects in a lightcurves output (`/summary/objects`).
pub fn objects_in_output(f: &hdf5::File) -> Option<f64> {
    let n: u64 = f.dataset("summary/objects").ok()?.read_scalar().ok()?;
    Some(n as f64)
}

/// Image side from an image output: sqrt of the pixels of `/convolved`
/// (the input's side in mode `same`, which the study uses).
pub fn side_in_output(f: &hdf5::File) -> Option<f64> {
    let shape = f.dataset("convolved").ok()?.shape();
    let pixels: usize = shape.iter().product();
    (shape.len() == 2 && pixels > 0).then(|| (pixels as f64).sqrt().round())
}

/// Partials proportional to the work (the default for a new job).
pub fn partials_proportional(work: f64) -> f64 {
    work
}

/// mc gathers one (count, mean, M2) per block; blocks are `samples /
/// auto_block_size(samples)`, at most about 2^20.
pub fn mc_blocks(samples: f64) -> f64 {
    let s = samples.max(1.0) as u64;
    s.div_ceil(crate::jobs::mc::auto_block_size(s)) as f64
}

/// Per-job work knobs. Defaults: a strong point at one rank takes about
/// 1-3 s on one core of the development machine.
pub const WORK_KNOBS: &[WorkKnob] = &[
    WorkKnob {
        job: "mc",
        key: "samples",
        default: 4e8,
        growth: Growth::Linear,
        small: 2e6,
        partials: mc_blocks,
        input: None,
        study_sets: &[],
    },
    // ~11 ms per 3-band object on one core without structure functions
    // (they are O(N^2) per band and would dominate); tiles of 8 objects so
    // a few hundred objects still spread over the ranks
    WorkKnob {
        job: "lightcurves",
        key: "objects",
        default: 200.0,
        growth: Growth::Linear,
        small: 32.0,
        partials: partials_proportional,
        input: Some(InputPrep {
            synth: synth_lightcurves,
            value_in_output: objects_in_output,
        }),
        study_sets: &["structure_function=false", "tile=8"],
    },
    // 4096^2 f64 pixels: ~0.6 s convolution with radial:15 plus ~0.7 s of
    // HDF5 read and write on one core
    WorkKnob {
        job: "image",
        key: "side",
        default: 4096.0,
        growth: Growth::Sqrt,
        small: 512.0,
        partials: partials_proportional,
        input: Some(InputPrep {
            synth: synth_image,
            value_in_output: side_in_output,
        }),
        study_sets: &[
            "dataset=/image",
            "kernel=radial:15",
            "mode=same",
            "boundary=zero",
        ],
    },
];

/// The work knob of `job`, or a usage error listing the known jobs.
pub fn knob_for(job: &str) -> anyhow::Result<&'static WorkKnob> {
    WORK_KNOBS.iter().find(|k| k.job == job).ok_or_else(|| {
        crate::config::usage(format!(
            "no scaling knob for job '{job}'; known jobs: {}",
            WORK_KNOBS
                .iter()
                .map(|k| k.job)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// A knob value as text for `--set`: whole numbers without a fraction.
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e18 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A knob value as short text for headings: 400000000 -> "4e8"; 1536 -> "1536".
pub fn short_number(v: f64) -> String {
    if v >= 1e5 && v.fract() == 0.0 {
        let e = v.log10().floor() as i32;
        let m = v / 10f64.powi(e);
        if (m - m.round()).abs() < 1e-9 {
            return format!("{}e{e}", m.round());
        }
        return format!("{m}e{e}");
    }
    format_value(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_growth_keeps_work_per_rank() {
        for g in [Growth::Linear, Growth::Sqrt] {
            let base = 1024.0;
            for p in [1usize, 4, 16] {
                let per_rank = g.work(g.scaled(base, p)) / p as f64;
                assert!((per_rank / g.work(base) - 1.0).abs() < 1e-9, "{g:?} {p}");
            }
        }
        assert_eq!(format_value(4e8), "400000000");
        assert_eq!(format_value(2.5), "2.5");
        assert!(knob_for("mc").is_ok());
        let lc = knob_for("lightcurves").unwrap();
        let dir = std::path::Path::new("/o");
        let f = lc.input_path(dir, 200.0).unwrap();
        assert_eq!(
            f,
            std::path::Path::new("/o/inputs/lightcurves-objects-200.h5")
        );
        assert_eq!(lc.size_args(200.0, Some(&f))[0], "--input");
        assert!(knob_for("mc").unwrap().input_path(dir, 1.0).is_none());
        assert_eq!(knob_for("image").unwrap().growth, Growth::Sqrt);
        assert!(synth_image(4096.0).contains(&"4096".to_string()));
        assert!(knob_for("nope").is_err());
        assert_eq!(mc_blocks(1e9), 15259.0);
        assert!(mc_blocks(1e12) <= (1u64 << 20) as f64);
    }
}
