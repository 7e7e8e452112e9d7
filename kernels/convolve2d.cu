// Direct 2-D convolution of one padded tile, tiled through shared memory.
//
// The twin of src/gpu/conv.rs `convolve_padded_cpu` and of the CPU image
// job's direct path: the host synthesises the boundary-extended input E of
// an output tile (tile plus halo: (rows + kh - 1) x (cols + kw - 1), boundary
// rule zero/reflect/nearest already applied, scipy.signal.convolve2d
// semantics) and passes the kernel flipped in both axes, so
//   out[i][j] = sum_{p < kh} sum_{q < kw} kflip[p][q] * E[i + p][j + q]
// accumulated p ascending, then q ascending, one fused multiply-add per term
// (the same order and the same FMA as the CPU's vectorised direct path).
//
// conv2d_shared_*: each 16 x 16 thread block loads its (16 + kh - 1) x
// (16 + kw - 1) input patch and the kernel into dynamic shared memory once,
// then every thread computes one output pixel from shared memory.
// conv2d_global_*: the same sum read straight from global memory, for
// kernels whose patch does not fit in shared memory.
//
// No #include (NVRTC without CUDA headers).

typedef unsigned int u32;

#define TILE 16

template <typename REAL>
__device__ void conv2d_shared_impl(const REAL* ext, u32 ext_stride, const REAL* kflip,
                                   u32 kh, u32 kw, u32 rows, u32 cols, REAL* out, u32 out_stride)
{
    extern __shared__ __align__(16) unsigned char smem_raw[];
    REAL* patch = reinterpret_cast<REAL*>(smem_raw);
    u32 pw = TILE + kw - 1, ph = TILE + kh - 1;
    REAL* kern = patch + pw * ph;
    u32 r0 = blockIdx.y * TILE, c0 = blockIdx.x * TILE;
    u32 tid = threadIdx.y * TILE + threadIdx.x;
    // rows of the padded input that exist: rows + kh - 1; columns: cols + kw - 1
    u32 ext_rows = rows + kh - 1, ext_cols = cols + kw - 1;
    for (u32 idx = tid; idx < pw * ph; idx += TILE * TILE) {
        u32 pr = idx / pw, pc = idx % pw;
        u32 er = r0 + pr, ec = c0 + pc;
        patch[idx] = (er < ext_rows && ec < ext_cols) ? ext[(unsigned long long)er * ext_stride + ec] : (REAL)0;
    }
    for (u32 idx = tid; idx < kh * kw; idx += TILE * TILE) kern[idx] = kflip[idx];
    __syncthreads();
    u32 i = r0 + threadIdx.y, j = c0 + threadIdx.x;
    if (i >= rows || j >= cols) return;
    REAL acc = (REAL)0;
    for (u32 p = 0; p < kh; ++p) {
        const REAL* prow = patch + (threadIdx.y + p) * pw + threadIdx.x;
        const REAL* krow = kern + p * kw;
        for (u32 q = 0; q < kw; ++q) acc = fma(krow[q], prow[q], acc);
    }
    out[(unsigned long long)i * out_stride + j] = acc;
}

template <typename REAL>
__device__ void conv2d_global_impl(const REAL* ext, u32 ext_stride, const REAL* kflip,
                                   u32 kh, u32 kw, u32 rows, u32 cols, REAL* out, u32 out_stride)
{
    u32 i = blockIdx.y * TILE + threadIdx.y, j = blockIdx.x * TILE + threadIdx.x;
    if (i >= rows || j >= cols) return;
    REAL acc = (REAL)0;
    for (u32 p = 0; p < kh; ++p) {
        const REAL* prow = ext + (unsigned long long)(i + p) * ext_stride + j;
        const REAL* krow = kflip + p * kw;
        for (u32 q = 0; q < kw; ++q) acc = fma(krow[q], prow[q], acc);
    }
    out[(unsigned long long)i * out_stride + j] = acc;
}

#define CONV_ENTRY(NAME, IMPL, REAL)                                                        \
    extern "C" __global__ void NAME(const REAL* ext, u32 ext_stride, const REAL* kflip,    \
                                    u32 kh, u32 kw, u32 rows, u32 cols, REAL* out,         \
                                    u32 out_stride) {                                      \
        IMPL<REAL>(ext, ext_stride, kflip, kh, kw, rows, cols, out, out_stride);           \
    }

CONV_ENTRY(conv2d_shared_f64, conv2d_shared_impl, double)
CONV_ENTRY(conv2d_shared_f32, conv2d_shared_impl, float)
CONV_ENTRY(conv2d_global_f64, conv2d_global_impl, double)
CONV_ENTRY(conv2d_global_f32, conv2d_global_impl, float)
