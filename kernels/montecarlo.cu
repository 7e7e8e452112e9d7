// Monte Carlo block kernel: one CUDA thread block per tessera MC block.
//
// The twin of src/numeric/montecarlo.rs (block_moments), written to give the
// same bits for the integrands whose arithmetic is +, * and compare (norm2, pi):
//  - Philox4x32-10 (Salmon et al. 2011, Random123 constants), counter
//    [j_lo, j_hi, b_lo, b_hi], key [seed_lo, seed_hi], key bumped before
//    rounds 1..9; uniform word k of block b is word k % 4 of call j = k / 4;
//  - coordinate = lo + scale * (word + 0.5) with scale = width * 2^-32 (from
//    the host), f summed over dimensions left to right;
//  - samples in chunks of CHUNK = 256; a full chunk with dims dividing 4 keeps
//    its values in the CPU's planar order; each chunk is summarised with a
//    two-pass mean/M2 whose sums use 8 lanes combined as
//    ((a0+a4)+(a2+a6))+((a1+a5)+(a3+a7)); chunks merge in order with
//    Chan-Golub-LeVeque.
// Compiled with --fmad=false so no multiply-add is contracted (the CPU never
// contracts either). gaussian/cosprod call exp/cos, whose CUDA and Rust libm
// results may differ in the last bit: a tolerance, not bit equality.
//
// No #include: NVRTC compiles this without the CUDA headers.

typedef unsigned int u32;
typedef unsigned long long u64;

#define CHUNK 256
#define LANES 8

__device__ __forceinline__ void philox4x32_10(u32 c[4], u32 k0, u32 k1) {
    const u32 M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    const u32 W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) { k0 += W0; k1 += W1; }
        u32 hi0 = __umulhi(M0, c[0]), lo0 = M0 * c[0];
        u32 hi1 = __umulhi(M1, c[2]), lo1 = M1 * c[2];
        u32 n0 = hi1 ^ c[1] ^ k0;
        u32 n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

// integrand codes shared with src/gpu/mc.rs
#define NORM2 0
#define PI_DISC 1
#define GAUSSIAN 2
#define COSPROD 3

// The 8-lane sum of n values (see the file header), computed by threads 0..7
// of the block into lane[], then combined by thread 0.
__device__ double lane_sum(const double* v, int n, double center, bool centred, double* lane) {
    int t = threadIdx.x;
    if (t < LANES) {
        double a = 0.0;
        for (int j = t; j < n; j += LANES) {
            double x = v[j];
            if (centred) { double d = x - center; a = a + d * d; } else { a = a + x; }
        }
        lane[t] = a;
    }
    __syncthreads();
    double total = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
    __syncthreads();
    return total;
}

// out[3 * i] = count, out[3 * i + 1] = mean, out[3 * i + 2] = M2 of block
// first_block + i. Launch with blockDim.x = CHUNK and gridDim.x = number of
// blocks; lo/scale hold dims entries.
extern "C" __global__ void mc_blocks(
    int integrand, int dims, const double* lo, const double* scale,
    u32 key0, u32 key1, u64 first_block, u64 nblocks, u64 block_size,
    u64 total_samples, double* out)
{
    __shared__ double vals[CHUNK];
    __shared__ double lane[LANES];
    u64 bi = (u64)blockIdx.x;
    if (bi >= nblocks) return;
    u64 b = first_block + bi;
    u64 begin = b * block_size;
    u64 len = total_samples - begin < block_size ? total_samples - begin : block_size;
    u32 b_lo = (u32)b, b_hi = (u32)(b >> 32);
    bool planar_ok = (4 % dims) == 0;
    int per_call = planar_ok ? 4 / dims : 1;

    double acc_n = 0.0, acc_mean = 0.0, acc_m2 = 0.0;
    u64 acc_count = 0;
    for (u64 start = 0; start < len; start += CHUNK) {
        int n = (int)(len - start < CHUNK ? len - start : CHUNK);
        int i = threadIdx.x;
        if (i < n) {
            u64 k0 = (start + (u64)i) * (u64)dims;
            u64 cached = ~0ull;
            u32 w[4];
            double s = (integrand == COSPROD) ? 1.0 : 0.0;
            for (int d = 0; d < dims; ++d) {
                u64 k = k0 + (u64)d;
                u64 j = k >> 2;
                if (j != cached) {
                    w[0] = (u32)j; w[1] = (u32)(j >> 32); w[2] = b_lo; w[3] = b_hi;
                    philox4x32_10(w, key0, key1);
                    cached = j;
                }
                double u = (double)w[k & 3] + 0.5;
                double x = lo[d] + scale[d] * u;
                if (integrand == COSPROD) s = s * cos(x); else s = s + x * x;
            }
            double f;
            if (integrand == PI_DISC) f = s <= 1.0 ? 4.0 : 0.0;
            else if (integrand == GAUSSIAN) f = exp(-0.5 * s);
            else f = s;
            int pos = i;
            if (planar_ok && n == CHUNK) {
                // planar slot of sample i: call c = i / per_call, slot i % per_call,
                // group c / 16, lane c % 16 (src/numeric/integrands.rs eval_planar)
                int c = i / per_call, slot = i % per_call;
                pos = (c / 16) * 16 * per_call + slot * 16 + (c % 16);
            }
            vals[pos] = f;
        }
        __syncthreads();
        double sum = lane_sum(vals, n, 0.0, false, lane);
        double mean = sum / (double)n;
        double m2 = lane_sum(vals, n, mean, true, lane);
        if (threadIdx.x == 0) {
            if (acc_count == 0) {
                acc_mean = mean; acc_m2 = m2;
            } else {
                double na = (double)acc_count, nb = (double)n;
                u64 cnt = acc_count + (u64)n;
                double nn = (double)cnt;
                double delta = mean - acc_mean;
                acc_mean = acc_mean + delta * (nb / nn);
                acc_m2 = acc_m2 + m2 + delta * delta * (na * nb / nn);
            }
            acc_count += (u64)n;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        acc_n = (double)acc_count;
        out[3 * bi] = acc_n;
        out[3 * bi + 1] = acc_mean;
        out[3 * bi + 2] = acc_m2;
    }
}
