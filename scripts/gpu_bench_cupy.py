#!/usr/bin/env python3
"""The peer figures for `tessera bench gpu`, on the same sizes, with CuPy.

- cupyx.scipy.signal.convolve2d: image x image, kernel x kernel, mode 'same',
  boundary 'fill' (zero), f64 and f32; host-to-device, kernel and
  device-to-host times apart (like tessera's conv2d line).
- CuPy's Philox random numbers (cupy.random.Generator(cupy.random.Philox4x3210))
  drawing 2 * samples f64 uniforms in slices, summed as x^2 + y^2 (the work of
  `mc n=2 norm2`), so the rate is comparable to tessera's samples/s.

Usage: python3 scripts/gpu_bench_cupy.py [--samples 1e10] [--image 4096] [--kernel 15] [--repeat 3]
"""
import argparse
import time

import cupy as cp
import numpy as np


def best_of(repeat, fn):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        cp.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_conv(side, k, repeat):
    from cupyx.scipy.signal import convolve2d

    rng = np.random.default_rng(1)
    for dtype in (np.float64, np.float32):
        img = rng.random((side, side)).astype(dtype)
        ker = rng.random((k, k)).astype(dtype)
        convolve2d(cp.asarray(img), cp.asarray(ker), mode="same", boundary="fill")  # warm-up
        h2d, (dimg, dker) = best_of(repeat, lambda: (cp.asarray(img), cp.asarray(ker)))
        kern, dout = best_of(repeat, lambda: convolve2d(dimg, dker, mode="same", boundary="fill"))
        d2h, _ = best_of(repeat, lambda: cp.asnumpy(dout))
        name = "f64" if dtype == np.float64 else "f32"
        print(f"cupy convolve2d {name} {side}x{side} image, {k}x{k} kernel: kernel {1e3 * kern:.2f} ms, "
              f"host-to-device {1e3 * h2d:.2f} ms, device-to-host {1e3 * d2h:.2f} ms")


def bench_philox(samples, repeat):
    gen = cp.random.Generator(cp.random.Philox4x3210(seed=1))
    per = 1 << 26  # samples per slice, bounded memory

    def run():
        acc = cp.zeros((), dtype=cp.float64)
        left = samples
        while left > 0:
            n = min(per, left)
            u = gen.random((n, 2), dtype=cp.float64)
            acc += (u * u).sum()
            left -= n
        return acc

    run()
    secs, _ = best_of(repeat, run)
    print(f"cupy Philox4x32-10 uniforms, n=2 norm2 sums f64: {samples} samples in {secs:.3f} s "
          f"= {samples / secs / 1e9:.1f} G samples/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", default="1e10")
    ap.add_argument("--image", type=int, default=4096)
    ap.add_argument("--kernel", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"cupy {cp.__version__} on {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    bench_philox(int(float(a.samples)), a.repeat)
    bench_conv(a.image, a.kernel, a.repeat)


if __name__ == "__main__":
    main()
