//! Direct and FFT paths against the naive oracle, for every mode x boundary and a grid of
//! odd/even/degenerate image and kernel shapes (kernels larger than tiles and images,
//! 1xN and Nx1 images).
mod common;
use common::*;
use tessera::numeric::conv2d::*;

const IMAGES: [(usize, usize); 10] = [
    (1, 1),
    (1, 7),
    (7, 1),
    (1, 16),
    (2, 3),
    (5, 6),
    (8, 8),
    (9, 13),
    (16, 11),
    (31, 40),
];
const KERNELS: [(usize, usize); 11] = [
    (1, 1),
    (1, 4),
    (3, 1),
    (2, 2),
    (3, 3),
    (4, 5),
    (5, 4),
    (7, 7),
    (10, 3),
    (12, 17),
    (21, 20),
];

fn run<T: Real>(direct_tol: f64, fft_tol: f64) {
    let mut ws = ConvScratch::<T>::new();
    let (mut worst_d, mut worst_f, mut n) = (0.0f64, 0.0f64, 0);
    for (ii, &(h, w)) in IMAGES.iter().enumerate() {
        let ishape = Shape2::new(h, w);
        let img: Vec<T> = rand_vec(h * w, ii as u64)
            .into_iter()
            .map(T::of_f64)
            .collect();
        for (ki, &(kh, kw)) in KERNELS.iter().enumerate() {
            let kshape = Shape2::new(kh, kw);
            let k: Vec<T> = rand_vec(kh * kw, 100 + ki as u64)
                .into_iter()
                .map(T::of_f64)
                .collect();
            for mode in MODES {
                for b in BOUNDARIES {
                    let want = convolve_naive(&img, ishape, &k, kshape, mode, b).unwrap();
                    let oshape = output_shape(ishape, kshape, mode).unwrap();
                    assert_eq!(want.len(), oshape.len());
                    let ctx = format!("img {h}x{w} k {kh}x{kw} {mode:?} {b:?}");
                    let nv = convolve_image(
                        &img,
                        ishape,
                        &k,
                        kshape,
                        mode,
                        b,
                        ConvMethod::Naive,
                        &mut ws,
                    )
                    .unwrap();
                    assert!(rel_err(&nv, &want) <= 1e-15, "naive region {ctx}");
                    let d = convolve_image(
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
                    let ed = rel_err(&d, &want);
                    assert!(ed <= direct_tol, "direct {ctx}: {ed:e}");
                    let f =
                        convolve_image(&img, ishape, &k, kshape, mode, b, ConvMethod::Fft, &mut ws)
                            .unwrap();
                    let ef = rel_err(&f, &want);
                    assert!(ef <= fft_tol, "fft {ctx}: {ef:e}");
                    worst_d = worst_d.max(ed);
                    worst_f = worst_f.max(ef);
                    n += 1;
                }
            }
        }
    }
    eprintln!(
        "{} cases: worst direct {worst_d:e}, worst fft {worst_f:e}",
        n
    );
}

#[test]
fn f64_direct_and_fft_match_naive() {
    run::<f64>(1e-12, 1e-10);
}

#[test]
fn f32_direct_and_fft_match_naive() {
    // f32 oracle accumulates in f64; tolerances ~ a few hundred ulp of the largest output
    run::<f32>(2e-5, 1e-4);
}

#[test]
fn larger_random_case_f64() {
    // exercises several internal sub-blocks (64 x 512) and FFT overlap-save blocks
    let ishape = Shape2::new(150, 700);
    let img = rand_vec(ishape.len(), 7);
    for &(kh, kw) in &[(15usize, 15usize), (4, 9), (40, 33)] {
        let kshape = Shape2::new(kh, kw);
        let k = rand_vec(kshape.len(), 8);
        let mut ws = ConvScratch::new();
        for mode in MODES {
            for b in BOUNDARIES {
                let want = convolve_naive(&img, ishape, &k, kshape, mode, b).unwrap();
                let d = convolve_image(
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
                let f = convolve_image(&img, ishape, &k, kshape, mode, b, ConvMethod::Fft, &mut ws)
                    .unwrap();
                assert!(
                    rel_err(&d, &want) <= 1e-12,
                    "direct {kh}x{kw} {mode:?} {b:?}"
                );
                assert!(
                    rel_err(&f, &want) <= 1e-10,
                    "fft {kh}x{kw} {mode:?} {b:?} {:e}",
                    rel_err(&f, &want)
                );
            }
        }
    }
}

#[test]
fn auto_resolves_and_is_correct() {
    let ishape = Shape2::new(40, 50);
    let img = rand_vec(ishape.len(), 3);
    let mut ws = ConvScratch::new();
    for &ks in &[3usize, 31] {
        let kshape = Shape2::new(ks, ks);
        let k = rand_vec(kshape.len(), 4);
        let want =
            convolve_naive(&img, ishape, &k, kshape, ConvMode::Same, Boundary::Reflect).unwrap();
        let got = convolve_image(
            &img,
            ishape,
            &k,
            kshape,
            ConvMode::Same,
            Boundary::Reflect,
            ConvMethod::Auto,
            &mut ws,
        )
        .unwrap();
        assert!(rel_err(&got, &want) <= 1e-10);
    }
    let c = CostModel::for_type::<f64>();
    assert_eq!(
        c.choose(Shape2::new(512, 512), Shape2::new(3, 3)),
        ConvMethod::Direct
    );
    assert_eq!(
        c.choose(Shape2::new(512, 512), Shape2::new(101, 101)),
        ConvMethod::Fft
    );
}
