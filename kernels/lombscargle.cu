// Generalised Lomb-Scargle periodogram (Zechmeister & Kuerster 2009, A&A 496,
// 577, eqs. 4-15; floating mean, weights 1/sigma^2, astropy's 'standard'
// normalisation), batched over many light curves of different lengths in one
// launch.
//
// The twin of src/numeric/lomb_scargle_direct.rs. The host prepares, per
// curve c: times relative to the curve's reference time dt = t - t_ref (so
// f32 keeps what precision it can), normalised weights w (sum 1), wy = w (y -
// ybar_w), YY = sum w (y - ybar_w)^2 and the grid f_k = f0 + k df, k < nf.
// Grid block (x, c) computes frequencies k = x * blockDim.x + threadIdx.x of
// curve c; the curve's points are staged through shared memory in tiles.
// Per frequency the power is (SS YC^2 + CC YS^2 - 2 CS YC YS) / (YY (CC SS
// - CS^2)), x = 2 pi f dt, with CC, SS, CS the weighted (co)variances of cos
// x and sin x and YC, YS the sums wy cos, wy sin (ZK09), formed in the
// covariance form below from one sincos of the half angle. The phase is
// reduced to [-1, 1] half-turns before sincospi, so large f t keeps its
// precision.
//
// REAL is double (lombscargle_f64) or float (lombscargle_f32; points and sums
// in f32, phase reduction and the final power formula in f64). No #include (NVRTC without CUDA headers).

typedef unsigned int u32;
typedef unsigned long long u64;

#define TILE_POINTS 256

// sin and cos of pi * cycles (half the angle 2 pi f dt), the argument
// reduced to [-1, 1] half-turns in double first.
template <typename REAL>
__device__ __forceinline__ void sincos_half(double cycles, REAL* s, REAL* c) {
    double r = cycles - 2.0 * rint(0.5 * cycles);
    double sd, cd;
    sincospi(r, &sd, &cd);
    *s = (REAL)sd;
    *c = (REAL)cd;
}

template <>
__device__ __forceinline__ void sincos_half<float>(double cycles, float* s, float* c) {
    float r = (float)(cycles - 2.0 * rint(0.5 * cycles));
    sincospif(r, s, c);
}

template <typename REAL>
__device__ void lombscargle_impl(
    const REAL* dt, const REAL* w, const REAL* wy, const u64* point_offsets,
    const double* yy, const double* f0, const double* df,
    const u64* nf, const u64* power_offsets, u32 first_curve, REAL* power)
{
    __shared__ REAL st[TILE_POINTS];
    __shared__ REAL sw[TILE_POINTS];
    __shared__ REAL swy[TILE_POINTS];
    u32 c = first_curve + blockIdx.y;
    u64 k = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    u64 n_freq = nf[c];
    // whole block leaves together: no thread may skip a __syncthreads
    if ((u64)blockIdx.x * blockDim.x >= n_freq) return;
    bool active = k < n_freq;
    double f = f0[c] + df[c] * (double)k;
    u64 p0 = point_offsets[c], p1 = point_offsets[c + 1];
    // Covariance form (stable at low frequencies, where cos x is near 1 and
    // CC = sum w cos^2 - C^2 would cancel): with h = sin^2(x/2), cos x =
    // 1 - 2h, sin x = 2 sin(x/2) cos(x/2), and the sums
    //   S = sum w sin x, A = sum w h, D = sum w h^2, B = sum w sin^2 x,
    //   E = sum w h sin x, YH = sum wy h, YS = sum wy sin x,
    // CC = 4 (D - A^2), SS = B - S^2, CS = 2 (A S - E), YC = -2 YH (sum wy
    // = 0: the values are centred).
    REAL s_s = 0, s_a = 0, s_d = 0, s_b = 0, s_e = 0, s_yh = 0, s_ys = 0;
    for (u64 base = p0; base < p1; base += TILE_POINTS) {
        u64 m = p1 - base < TILE_POINTS ? p1 - base : TILE_POINTS;
        for (u64 j = threadIdx.x; j < m; j += blockDim.x) {
            st[j] = dt[base + j];
            sw[j] = w[base + j];
            swy[j] = wy[base + j];
        }
        __syncthreads();
        if (active) {
            for (u64 j = 0; j < m; ++j) {
                double cycles = f * (double)st[j];
                REAL sh, ch;
                sincos_half<REAL>(cycles, &sh, &ch);
                REAL h = sh * sh;
                REAL s1 = (REAL)2 * sh * ch;
                REAL wh = sw[j] * h;
                s_s += sw[j] * s1;
                s_a += wh;
                s_d += wh * h;
                s_b += sw[j] * s1 * s1;
                s_e += wh * s1;
                s_yh += swy[j] * h;
                s_ys += swy[j] * s1;
            }
        }
        __syncthreads();
    }
    if (!active) return;
    // the finish in double for both precisions (a few operations per frequency)
    double S = s_s, A = s_a, D = s_d, B = s_b, E = s_e, YC = -2.0 * (double)s_yh, YS = s_ys;
    double cc = 4.0 * (D - A * A);
    double sss = B - S * S;
    double cs = 2.0 * (A * S - E);
    double d = cc * sss - cs * cs;
    double num = sss * YC * YC + cc * YS * YS - 2.0 * cs * YC * YS;
    double y2 = yy[c];
    power[power_offsets[c] + k] = (REAL)((d > 0.0 && y2 > 0.0) ? num / (y2 * d) : 0.0);
}

extern "C" __global__ void lombscargle_f64(
    const double* dt, const double* w, const double* wy, const u64* point_offsets,
    const double* yy, const double* f0, const double* df,
    const u64* nf, const u64* power_offsets, u32 first_curve, double* power)
{
    lombscargle_impl<double>(dt, w, wy, point_offsets, yy, f0, df, nf, power_offsets, first_curve, power);
}

extern "C" __global__ void lombscargle_f32(
    const float* dt, const float* w, const float* wy, const u64* point_offsets,
    const double* yy, const double* f0, const double* df,
    const u64* nf, const u64* power_offsets, u32 first_curve, float* power)
{
    lombscargle_impl<float>(dt, w, wy, point_offsets, yy, f0, df, nf, power_offsets, first_curve, power);
}
