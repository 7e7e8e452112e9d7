//! Colour features against light-curve's own `ColorOfMaximum`,
//! `ColorOfMedian`, `ColorOfMinimum` and `ColorSpread` on 40 real SDSS
//! Stripe 82 RR Lyrae (u g r i z), from tests/data/color_ref.json made by
//! tests/ref/make_color_ref.py.

use crate::json_ref::load;
use std::path::Path;

use tessera::numeric::lightcurve::color::{color_features, color_width, ColorScratch};

#[test]
fn colours_match_light_curve_on_sdss_stars() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let refs = load("color_ref.json");
    let bands: Vec<String> = refs["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect();
    let data = root.join("../shared/data/sdss-s82-rrlyrae/light-curves");
    let mut ws = ColorScratch::default();
    let mut checked = 0;
    for star in refs["stars"].as_array().unwrap() {
        let file = star["file"].as_str().unwrap();
        let text = std::fs::read_to_string(data.join(file)).unwrap();
        let (mut m, mut e, mut b) = (vec![], vec![], vec![]);
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (mi, ei): (f64, f64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            if !(mi.is_finite()
                && ei.is_finite()
                && ei > 0.0
                && f[0].parse::<f64>().unwrap().is_finite())
            {
                continue;
            }
            m.push(mi);
            e.push(ei);
            b.push(bands.iter().position(|x| x == f[3]).unwrap() as u8);
        }
        let mut out = vec![0.0; color_width(bands.len())];
        color_features(&m, &e, &b, bands.len(), &mut ws, &mut out);
        let close = |ours: f64, theirs: f64, what: &str| {
            let tol = 1e-9 * theirs.abs().max(1.0);
            assert!(
                (ours - theirs).abs() <= tol,
                "{file} {what}: tessera {ours} vs light-curve {theirs}"
            );
        };
        for (i, pair) in star["pairs"].as_array().unwrap().iter().enumerate() {
            for (j, kind) in ["max", "median", "min"].iter().enumerate() {
                close(
                    out[3 * i + j],
                    pair[j].as_f64().unwrap(),
                    &format!("pair {i} {kind}"),
                );
            }
        }
        close(
            out[3 * (bands.len() - 1)],
            star["spread"].as_f64().unwrap(),
            "spread",
        );
        checked += 1;
    }
    assert_eq!(checked, 40);
}
