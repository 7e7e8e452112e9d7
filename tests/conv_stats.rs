//! Per-tile pixel statistics merged with the Monte Carlo job's `Moments`
//! equal the whole-image statistics.
mod common;
use common::*;
use tessera::numeric::pixel_stats::*;

#[test]
fn tile_stats_merge_to_whole() {
    let (rows, cols) = (97, 131);
    let data: Vec<f64> = rand_vec(rows * cols, 5)
        .iter()
        .map(|v| 1000.0 + 3.0 * v)
        .collect();
    let whole = pixel_stats(&data);
    // exact reference in long form
    let n = data.len() as f64;
    let mean = data.iter().sum::<f64>() / n;
    let m2: f64 = data.iter().map(|x| (x - mean) * (x - mean)).sum();
    assert_eq!(whole.count(), data.len() as u64);
    assert!((whole.moments.mean - mean).abs() <= 1e-12 * mean);
    assert!((whole.moments.m2 - m2).abs() <= 1e-10 * m2);
    for &(tr, tc) in &[(10usize, 10usize), (97, 7), (1, 131), (33, 64)] {
        let mut acc = pixel_stats::<f64>(&[]);
        for r0 in (0..rows).step_by(tr) {
            for c0 in (0..cols).step_by(tc) {
                let (nr, nc) = (tr.min(rows - r0), tc.min(cols - c0));
                let s = pixel_stats_2d(&data[r0 * cols + c0..], nr, nc, cols);
                acc = acc.merge(&s);
            }
        }
        assert_eq!(acc.count(), whole.count());
        assert!((acc.moments.mean - whole.moments.mean).abs() <= 1e-12 * whole.moments.mean);
        assert!(
            (acc.moments.m2 - whole.moments.m2).abs() <= 1e-9 * whole.moments.m2,
            "{} vs {}",
            acc.moments.m2,
            whole.moments.m2
        );
        assert_eq!((acc.min, acc.max), (whole.min, whole.max));
    }
}

#[test]
fn nan_and_empty() {
    let e = pixel_stats::<f32>(&[]);
    assert_eq!(e, PixelStats::EMPTY);
    let s = pixel_stats(&[1.0f32, f32::NAN, 3.0]);
    assert_eq!(s.count(), 2);
    assert_eq!(
        (s.moments.mean, s.moments.m2, s.min, s.max, s.sum),
        (2.0, 2.0, 1.0, 3.0, 4.0)
    );
    assert_eq!(s.variance(), 1.0);
    assert_eq!(PixelStats::from_array(s.to_array()), s);
}
