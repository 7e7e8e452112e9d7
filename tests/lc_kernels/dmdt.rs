//! dm-dt maps against light-curve's own `DmDt.points` and `DmDt.gausses`
//! (every normalisation) on real SDSS Stripe 82 RR Lyrae and ZTF SN Ia
//! curves, from tests/data/dmdt_ref.json made by tests/ref/make_dmdt_ref.py
//! (inputs embedded).

use crate::json_ref::{floats, load};

use tessera::numeric::lightcurve::dmdt::{
    dmdt_map, DmDtGrid, DmDtMode, DmDtNorm, DmDtOptions, DmDtPlan, DmDtScratch,
};

/// A reference curve's grid.
fn grid_of(c: &serde_json::Value) -> DmDtGrid {
    let g = &c["grid"];
    DmDtGrid {
        min_lgdt: g["min_lgdt"].as_f64().unwrap(),
        max_lgdt: g["max_lgdt"].as_f64().unwrap(),
        lgdt_size: g["lgdt_size"].as_u64().unwrap() as usize,
        max_abs_dm: g["max_abs_dm"].as_f64().unwrap(),
        dm_size: g["dm_size"].as_u64().unwrap() as usize,
    }
}

/// The plan of a reference curve's grid in `mode`, the default norm.
fn plan_of(c: &serde_json::Value, mode: DmDtMode) -> DmDtPlan {
    DmDtPlan::new(DmDtOptions {
        grid: grid_of(c),
        mode,
        norm: DmDtNorm::default(),
    })
    .unwrap()
}

#[test]
fn maps_match_light_curve_on_real_curves() {
    let refs = load("dmdt_ref.json");
    let mut ws = DmDtScratch::default();
    let (mut maps, mut worst) = (0, 0.0f64);
    for c in refs["curves"].as_array().unwrap() {
        let (grid, plan) = (grid_of(c), plan_of(c, DmDtMode::Points));
        assert_eq!(plan.dm_edges(), floats(&c["dm_edges"]).as_slice());
        for (a, b) in plan.lgdt_edges().iter().zip(floats(&c["lgdt_edges"])) {
            assert!((a - b).abs() < 1e-12, "lg dt edge {a} vs {b}");
        }
        let (t, m, e) = (floats(&c["t"]), floats(&c["m"]), floats(&c["e"]));
        for r in c["maps"].as_array().unwrap() {
            let names: Vec<&str> = r["norm"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            let mode = match r["mode"].as_str().unwrap() {
                "points" => DmDtMode::Points,
                _ => DmDtMode::Gausses,
            };
            let opts = DmDtOptions {
                grid,
                mode,
                norm: DmDtNorm {
                    dt: names.contains(&"dt"),
                    max: names.contains(&"max"),
                },
            };
            let plan = DmDtPlan::new(opts).unwrap();
            let want = floats(&r["values"]);
            let mut got = vec![0.0; opts.width()];
            assert!(dmdt_map(&plan, &t, &m, &e, &mut ws, &mut got));
            let what = format!("{} {:?} {:?}", c["file"], mode, names);
            if mode == DmDtMode::Points {
                // counts, and counts divided by counts: the same operations
                assert_eq!(got, want, "{what}");
            } else {
                for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                    let d = (a - b).abs();
                    worst = worst.max(d);
                    assert!(d <= 1e-9, "{what} cell {k}: {a} vs {b}");
                }
            }
            maps += 1;
        }
    }
    assert_eq!(maps, 48);
    println!("48 maps; largest gausses difference {worst:.3e}");
}

/// Time per map on the reference curves (their grids, points and gausses, no
/// normalisation), for the light-curve comparison printed by
/// `tests/ref/make_dmdt_ref.py --time`; run with `cargo test --release --test
/// lc_kernels dmdt_timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn dmdt_timing() {
    let refs = load("dmdt_ref.json");
    let mut ws = DmDtScratch::default();
    for mode in [DmDtMode::Points, DmDtMode::Gausses] {
        let mut total = 0.0;
        for c in refs["curves"].as_array().unwrap() {
            let plan = plan_of(c, mode);
            let (t, m, e) = (floats(&c["t"]), floats(&c["m"]), floats(&c["e"]));
            let mut out = vec![0.0; plan.width()];
            let reps = 2000;
            let start = std::time::Instant::now();
            for _ in 0..reps {
                std::hint::black_box(dmdt_map(
                    &plan,
                    std::hint::black_box(&t),
                    &m,
                    &e,
                    &mut ws,
                    &mut out,
                ));
            }
            total += start.elapsed().as_secs_f64() / reps as f64;
        }
        println!(
            "TIMING dmdt {mode:?}: {:.2} us per map (6 curves)",
            1e6 * total / 6.0
        );
    }
}
