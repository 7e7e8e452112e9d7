//! Values computed by scipy (tests/ref/make_scipy_ref.py) embedded in scipy_ref_data.rs.
mod common;
#[allow(clippy::all)]
#[path = "data/scipy_ref_data.rs"]
mod scipy_ref_data;
use common::*;
use scipy_ref_data::*;
use tessera::numeric::conv2d::*;

#[test]
fn matches_scipy_convolve2d_and_ndimage() {
    let mut ws = ConvScratch::new();
    for c in CASES {
        let ishape = Shape2::new(c.ishape.0, c.ishape.1);
        let kshape = Shape2::new(c.kshape.0, c.kshape.1);
        let mode = match c.mode {
            "full" => ConvMode::Full,
            "same" => ConvMode::Same,
            _ => ConvMode::Valid,
        };
        let b = match c.boundary {
            "fill" => Boundary::Zero,
            "symm" | "ndreflect" => Boundary::Reflect,
            "ndnearest" => Boundary::Nearest,
            o => panic!("{o}"),
        };
        assert_eq!(
            output_shape(ishape, kshape, mode).unwrap(),
            Shape2::new(c.oshape.0, c.oshape.1)
        );
        for m in [ConvMethod::Naive, ConvMethod::Direct, ConvMethod::Fft] {
            let got = convolve_image(c.img, ishape, c.k, kshape, mode, b, m, &mut ws).unwrap();
            let e = rel_err(&got, c.expect);
            assert!(
                e <= 1e-12,
                "{:?} {} {} {:?}: {e:e}",
                c.kshape,
                c.mode,
                c.boundary,
                m
            );
        }
    }
}

#[test]
fn lecture_case_small_matches_scipy() {
    let k = build_kernel::<f64>(KernelSpec::Radial { size: 15 }, false).unwrap();
    assert_eq!(k.shape, Shape2::new(15, 15));
    assert_eq!(
        k.data, RADIAL15,
        "radial kernel must equal numpy bit for bit"
    );
    let ishape = Shape2::new(64, 64);
    let mut img = vec![0.0f64; 64 * 64];
    for r in (8..64).step_by(16) {
        for c in (8..64).step_by(16) {
            img[r * 64 + c] = 1.0;
        }
    }
    let mut ws = ConvScratch::new();
    for m in [ConvMethod::Direct, ConvMethod::Fft] {
        let out = convolve_image(
            &img,
            ishape,
            &k.data,
            k.shape,
            ConvMode::Same,
            Boundary::Zero,
            m,
            &mut ws,
        )
        .unwrap();
        for &(i, j, v) in LECTURE64_POINTS {
            assert!(
                (out[i * 64 + j] - v).abs() <= 1e-12 * v.abs().max(1.0),
                "{m:?} ({i},{j})"
            );
        }
        let s: f64 = out.iter().sum();
        let s2: f64 = out.iter().map(|v| v * v).sum();
        assert!((s - LECTURE64_SUM).abs() <= 1e-10 * LECTURE64_SUM);
        assert!((s2 - LECTURE64_SUMSQ).abs() <= 1e-10 * LECTURE64_SUMSQ);
    }
}

#[test]
fn builtin_kernels() {
    let g = build_kernel::<f64>(
        KernelSpec::Gaussian {
            sigma: 1.2,
            size: 5,
        },
        true,
    )
    .unwrap();
    assert!(rel_err(&g.data, GAUSS5_S1_2_NORM) <= 1e-15);
    for spec in [
        KernelSpec::Radial { size: 4 },
        KernelSpec::Gaussian {
            sigma: 1.0,
            size: 6,
        },
        KernelSpec::Box { size: 2 },
        KernelSpec::TopHat {
            radius: 2.0,
            size: Some(8),
        },
    ] {
        assert!(
            matches!(
                build_kernel::<f32>(spec, false),
                Err(ConvError::EvenKernelSize(_))
            ),
            "{spec:?}"
        );
    }
    let b = build_kernel::<f32>(KernelSpec::Box { size: 3 }, true).unwrap();
    assert!(b.data.iter().all(|&v| (v - 1.0 / 9.0).abs() < 1e-7));
    let t = build_kernel::<f64>(
        KernelSpec::TopHat {
            radius: 1.5,
            size: None,
        },
        false,
    )
    .unwrap();
    assert_eq!(t.shape, Shape2::new(3, 3));
    assert_eq!(t.data, vec![1.0; 9]); // corners: 2 <= 1.5^2
    let t = build_kernel::<f64>(
        KernelSpec::TopHat {
            radius: 1.0,
            size: Some(5),
        },
        true,
    )
    .unwrap();
    let expect: Vec<f64> = (0..25)
        .map(|i| {
            let (r, c) = (i / 5, i % 5);
            let (r, c): (i32, i32) = (r, c);
            if (r - 2).pow(2) + (c - 2).pow(2) <= 1 {
                0.2
            } else {
                0.0
            }
        })
        .collect();
    assert_eq!(t.data, expect);
    let r = build_kernel::<f64>(KernelSpec::Radial { size: 15 }, true).unwrap();
    assert!((r.data.iter().sum::<f64>() - 1.0).abs() < 1e-14);
}
