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
// Per frequency the six sums are (ZK09 with the double-angle identities)
//   C = sum w cos, S = sum w sin, YC = sum wy cos, YS = sum wy sin,
//   C2 = sum w cos 2x, S2 = sum w sin 2x,   x = 2 pi f dt,
// and the power is (SS YC^2 + CC YS^2 - 2 CS YC YS) / (YY (CC SS - CS^2)).
// The phase is reduced to [-1/2, 1/2] cycles before sincospi, so large f t
// keeps its precision.
//
// REAL is double (lombscargle_f64) or float (lombscargle_f32; points and sums
// in f32, phase reduction in f64). No #include (NVRTC without CUDA headers).

typedef unsigned int u32;
typedef unsigned long long u64;

#define TILE_POINTS 256

template <typename REAL>
__device__ __forceinline__ void sincos_cycles(double cycles, REAL* s, REAL* c) {
    double r = cycles - rint(cycles);
    double sd, cd;
    sincospi(2.0 * r, &sd, &cd);
    *s = (REAL)sd;
    *c = (REAL)cd;
}

template <>
__device__ __forceinline__ void sincos_cycles<float>(double cycles, float* s, float* c) {
    float r = (float)(cycles - rint(cycles));
    sincospif(2.0f * r, s, c);
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
    REAL sc = 0, ss = 0, syc = 0, sys = 0, sc2 = 0, ss2 = 0;
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
                REAL s1, c1, s2, c2;
                sincos_cycles<REAL>(cycles, &s1, &c1);
                sincos_cycles<REAL>(2.0 * cycles, &s2, &c2);
                sc += sw[j] * c1;
                ss += sw[j] * s1;
                syc += swy[j] * c1;
                sys += swy[j] * s1;
                sc2 += sw[j] * c2;
                ss2 += sw[j] * s2;
            }
        }
        __syncthreads();
    }
    if (!active) return;
    REAL cc = (REAL)0.5 * ((REAL)1 + sc2) - sc * sc;
    REAL sss = (REAL)0.5 * ((REAL)1 - sc2) - ss * ss;
    REAL cs = (REAL)0.5 * ss2 - sc * ss;
    REAL d = cc * sss - cs * cs;
    REAL num = sss * syc * syc + cc * sys * sys - (REAL)2 * cs * syc * sys;
    REAL y2 = (REAL)yy[c];
    power[power_offsets[c] + k] = (d > (REAL)0 && y2 > (REAL)0) ? num / (y2 * d) : (REAL)0;
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
