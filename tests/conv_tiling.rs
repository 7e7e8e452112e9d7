//! Tile decomposition: each tile reads only its `input_window`; reassembly equals the
//! whole-image result (bit-identical for the direct method).
mod common;
use common::*;
use tessera::numeric::conv2d::*;

fn check<T: Real>(ishape: Shape2, kshape: Shape2, tiles: &[(usize, usize)]) {
    let img: Vec<T> = rand_vec(ishape.len(), 11)
        .into_iter()
        .map(T::of_f64)
        .collect();
    let k: Vec<T> = rand_vec(kshape.len(), 12)
        .into_iter()
        .map(T::of_f64)
        .collect();
    let mut ws = ConvScratch::<T>::new();
    for mode in MODES {
        for b in BOUNDARIES {
            let whole = convolve_image(
                &img,
                ishape,
                &k,
                kshape,
                mode,
                b,
                ConvMethod::Direct,
                &mut ws,
            )
            .unwrap();
            let want = convolve_naive(&img, ishape, &k, kshape, mode, b).unwrap();
            for &(tr, tc) in tiles {
                let d = tiled(
                    &img,
                    ishape,
                    &k,
                    kshape,
                    mode,
                    b,
                    tr,
                    tc,
                    ConvMethod::Direct,
                    &mut ws,
                );
                assert!(
                    d.iter().zip(&whole).all(|(a, b)| a.as_f64().to_bits() == b.as_f64().to_bits()),
                    "direct tiled {tr}x{tc} not bit-identical: {ishape:?} {kshape:?} {mode:?} {b:?}"
                );
                let f = tiled(
                    &img,
                    ishape,
                    &k,
                    kshape,
                    mode,
                    b,
                    tr,
                    tc,
                    ConvMethod::Fft,
                    &mut ws,
                );
                let tol = if T::LANES_512 == 8 { 1e-10 } else { 1e-4 };
                assert!(
                    rel_err(&f, &want) <= tol,
                    "fft tiled {tr}x{tc} {ishape:?} {kshape:?} {mode:?} {b:?}"
                );
            }
        }
    }
}

const TILES: [(usize, usize); 6] = [(1, 1), (3, 5), (7, 7), (16, 16), (33, 20), (64, 100)];

#[test]
fn tiles_f64_odd_kernel() {
    check::<f64>(Shape2::new(45, 70), Shape2::new(15, 15), &TILES);
}

#[test]
fn tiles_f64_even_kernel_larger_than_tiles() {
    check::<f64>(Shape2::new(37, 52), Shape2::new(10, 12), &TILES);
}

#[test]
fn tiles_f32() {
    check::<f32>(Shape2::new(40, 81), Shape2::new(7, 6), &TILES);
}

#[test]
fn tiles_kernel_larger_than_image() {
    check::<f64>(
        Shape2::new(6, 9),
        Shape2::new(11, 14),
        &[(1, 1), (2, 3), (5, 5), (30, 30)],
    );
}

#[test]
fn tiles_wide_image_crossing_internal_blocks() {
    // > 64 rows and > 512 columns so internal sub-blocks and tile edges interleave
    check::<f64>(
        Shape2::new(70, 600),
        Shape2::new(5, 5),
        &[(50, 300), (64, 512), (70, 600)],
    );
}

#[test]
fn input_window_is_minimal_and_required() {
    let ishape = Shape2::new(30, 40);
    let kshape = Shape2::new(5, 4);
    let img = rand_vec(ishape.len(), 1);
    let k = rand_vec(kshape.len(), 2);
    let mut ws = ConvScratch::new();
    for mode in MODES {
        for b in BOUNDARIES {
            let t = Region::new(3, 5, 6, 7);
            let w = input_window(ishape, kshape, mode, b, t).unwrap();
            // dropping the first row of the window must be rejected (as it is needed)
            if w.rows > 1 {
                let w2 = Region::new(w.row0 + 1, w.col0, w.rows - 1, w.cols);
                let src = window(&img, ishape.cols, w2);
                let mut out = vec![0.0; t.len()];
                let r = convolve_region(
                    &src,
                    w2,
                    ishape,
                    &k,
                    kshape,
                    mode,
                    b,
                    t,
                    &mut out,
                    ConvMethod::Direct,
                    &mut ws,
                );
                assert!(matches!(r, Err(ConvError::SourceWindow { .. })));
            }
            // the whole image as source is always accepted and gives the same pixels
            let mut a = vec![0.0; t.len()];
            let mut c = vec![0.0; t.len()];
            let src = window(&img, ishape.cols, w);
            convolve_region(
                &src,
                w,
                ishape,
                &k,
                kshape,
                mode,
                b,
                t,
                &mut a,
                ConvMethod::Direct,
                &mut ws,
            )
            .unwrap();
            convolve_region(
                &img,
                Region::whole(ishape),
                ishape,
                &k,
                kshape,
                mode,
                b,
                t,
                &mut c,
                ConvMethod::Direct,
                &mut ws,
            )
            .unwrap();
            assert_eq!(a, c);
        }
    }
    // same mode, odd kernel, interior tile: window is the tile plus the kernel radius
    let w = input_window(
        Shape2::new(100, 100),
        Shape2::new(15, 15),
        ConvMode::Same,
        Boundary::Zero,
        Region::new(32, 48, 16, 16),
    )
    .unwrap();
    assert_eq!(w, Region::new(25, 41, 30, 30));
    // reflect at the top-left corner in full mode pulls in reflected rows
    let w = input_window(
        Shape2::new(100, 100),
        Shape2::new(9, 9),
        ConvMode::Full,
        Boundary::Reflect,
        Region::new(0, 0, 2, 2),
    )
    .unwrap();
    assert_eq!(w, Region::new(0, 0, 8, 8));
}

#[test]
fn shapes_and_errors() {
    let i = Shape2::new(10, 7);
    assert_eq!(
        output_shape(i, Shape2::new(3, 4), ConvMode::Full).unwrap(),
        Shape2::new(12, 10)
    );
    assert_eq!(
        output_shape(i, Shape2::new(3, 4), ConvMode::Same).unwrap(),
        i
    );
    assert_eq!(
        output_shape(i, Shape2::new(3, 4), ConvMode::Valid).unwrap(),
        Shape2::new(8, 4)
    );
    assert_eq!(
        output_shape(i, Shape2::new(13, 9), ConvMode::Valid).unwrap(),
        Shape2::new(4, 3)
    );
    assert_eq!(
        full_offset(i, Shape2::new(4, 6), ConvMode::Same).unwrap(),
        (1, 2)
    );
    assert_eq!(
        output_shape(Shape2::new(0, 3), Shape2::new(1, 1), ConvMode::Full),
        Err(ConvError::EmptyInput)
    );
    let r = input_window(
        i,
        Shape2::new(3, 3),
        ConvMode::Same,
        Boundary::Zero,
        Region::new(8, 0, 3, 1),
    );
    assert!(matches!(r, Err(ConvError::TileOutOfRange { .. })));
}
