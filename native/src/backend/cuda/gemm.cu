// bf16 GEMMs: a bandwidth-bound kernel for decode-sized M, a tensor-core (WMMA) tiled kernel,
// and cuBLAS loaded with dlopen() at run time when present (no build-time dependency).
#include "backend/cuda/gemm.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <library_types.h>
#include <mma.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "llm/error.h"

namespace llm {
namespace cuda {

namespace {

// ---- skinny: split-K within a block, deterministic ---------------------------------------------
// A block has kSkinnyWarps warps: kGroups row groups of kRowsPerWarp output columns, and each
// group's kSplitK warps take consecutive K slices of those columns. Splitting K keeps thousands of
// warps with loads in flight even at N = 2048 (one warp per 2 full rows gave too few); the warp
// partials are summed through shared memory in slice order, so an output's summation order depends
// only on k and these constants (never on M, N or the other rows): bit-identical run to run.
constexpr int kSkinnyWarps = 8;
constexpr int kRowsPerWarp = 2;
constexpr int kSplitK = 4;                             // warps per output column (K slices)
constexpr int kGroups = kSkinnyWarps / kSplitK;        // row groups per block
constexpr int kRowsPerBlock = kGroups * kRowsPerWarp;  // output columns per block
constexpr int kSkinnyUnroll = 4;                       // K steps loaded before use: 8 16-byte loads per lane
static_assert(kSkinnyWarps % kSplitK == 0, "the warps of a block form whole row groups");

__device__ __forceinline__ void bf16x8_to_float(const uint4& raw, float* f) {
  const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}

// K slice length per warp: ceil(k / kSplitK) rounded up to 8 elements, so every slice starts
// 16-byte aligned for the bf16x8 loads (when k % 8 == 0); trailing slices may be short or empty.
__device__ __forceinline__ int skinny_slice(int k) { return ((k + kSplitK - 1) / kSplitK + 7) / 8 * 8; }

template <int M, bool VEC>
__global__ void __launch_bounds__(kSkinnyWarps * 32)
gemm_skinny_kernel(const float* __restrict__ x, const bf16_t* __restrict__ w, float* __restrict__ y,
                   int n_total, int k) {
  __shared__ float part[kSplitK][kRowsPerBlock][M];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int group = warp / kSplitK, split = warp % kSplitK;
  const int nb = blockIdx.x * kRowsPerBlock;  // first output column of the block
  const int n0 = nb + group * kRowsPerWarp;   // first output column of this warp
  const int slice = skinny_slice(k);
  const int begin = min(split * slice, k), end = min(begin + slice, k);
  float acc[kRowsPerWarp][M];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = 0.f;
  // No early return: every warp reaches the __syncthreads below (a group past N just adds nothing).
  if (n0 < n_total) {
    const bf16_t* wrow[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      wrow[r] = w + static_cast<size_t>(n0 + r < n_total ? n0 + r : n0) * k;  // past N: re-read row n0, dropped
    if (VEC) {
      constexpr int kStep = 32 * 8;  // K elements per warp per step
      for (int k0 = begin + lane * 8; k0 < end; k0 += kSkinnyUnroll * kStep) {
        uint4 raw[kSkinnyUnroll][kRowsPerWarp];
#pragma unroll
        for (int u = 0; u < kSkinnyUnroll; ++u)
#pragma unroll
          for (int r = 0; r < kRowsPerWarp; ++r)
            raw[u][r] = k0 + u * kStep < end ? __ldg(reinterpret_cast<const uint4*>(wrow[r] + k0 + u * kStep))
                                             : make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
        for (int u = 0; u < kSkinnyUnroll; ++u) {
          const int kk = k0 + u * kStep;
          if (kk >= end) break;
          float wf[kRowsPerWarp][8];
#pragma unroll
          for (int r = 0; r < kRowsPerWarp; ++r) bf16x8_to_float(raw[u][r], wf[r]);
#pragma unroll
          for (int m = 0; m < M; ++m) {
            const float4* xp = reinterpret_cast<const float4*>(x + static_cast<size_t>(m) * k + kk);
            const float4 a = __ldg(xp), b = __ldg(xp + 1);
            const float xf[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
            for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
              for (int i = 0; i < 8; ++i) acc[r][m] += wf[r][i] * xf[i];
          }
        }
      }
    } else {
      for (int kk = begin + lane; kk < end; kk += 32) {
        float wf[kRowsPerWarp];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) wf[r] = __uint_as_float(static_cast<uint32_t>(wrow[r][kk]) << 16);
#pragma unroll
        for (int m = 0; m < M; ++m) {
          const float xv = x[static_cast<size_t>(m) * k + kk];
#pragma unroll
          for (int r = 0; r < kRowsPerWarp; ++r) acc[r][m] += wf[r] * xv;
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float v = acc[r][m];
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
      if (lane == 0) part[split][group * kRowsPerWarp + r][m] = v;
    }
  __syncthreads();
  // Fixed-order reduction of the kSplitK slice partials: slice 0 first, then 1, ...
  for (int t = threadIdx.x; t < kRowsPerBlock * M; t += kSkinnyWarps * 32) {
    const int row = t / M, m = t % M;
    float v = part[0][row][m];
#pragma unroll
    for (int s = 1; s < kSplitK; ++s) v += part[s][row][m];
    if (nb + row < n_total) y[static_cast<size_t>(m) * n_total + nb + row] = v;
  }
}

template <int M>
void launch_skinny(const float* x, const bf16_t* w, float* y, int n, int k, cudaStream_t stream) {
  const int blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  const bool vec = k % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(w) % 16 == 0;
  if (vec)
    gemm_skinny_kernel<M, true><<<blocks, kSkinnyWarps * 32, 0, stream>>>(x, w, y, n, k);
  else
    gemm_skinny_kernel<M, false><<<blocks, kSkinnyWarps * 32, 0, stream>>>(x, w, y, n, k);
}

// ---- tiled tensor-core kernel: 64x64 tile, 4 warps of 32x32, K step 32 ---------------------
constexpr int kTile = 64, kTileK = 32, kPad = 8;

__global__ void __launch_bounds__(128)
gemm_tiled_kernel(const bf16_t* __restrict__ x, const bf16_t* __restrict__ w, float* __restrict__ y,
                  int m_total, int n_total, int k, bool accumulate) {
  using namespace nvcuda;
  __shared__ __align__(32) __nv_bfloat16 a_s[kTile][kTileK + kPad];
  __shared__ __align__(32) __nv_bfloat16 b_s[kTile][kTileK + kPad];
  __shared__ __align__(32) float c_s[kTile][kTile + 4];
  const int m0 = blockIdx.y * kTile, n0 = blockIdx.x * kTile;
  const int warp = threadIdx.x / 32;
  const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> c[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(c[i][j], 0.f);

  const __nv_bfloat16* xb = reinterpret_cast<const __nv_bfloat16*>(x);
  const __nv_bfloat16* wb = reinterpret_cast<const __nv_bfloat16*>(w);
  for (int k0 = 0; k0 < k; k0 += kTileK) {
    for (int e = threadIdx.x; e < kTile * kTileK; e += 128) {
      const int r = e / kTileK, cc = e % kTileK;
      const int kk = k0 + cc;
      const int gm = m0 + r, gn = n0 + r;
      a_s[r][cc] = (gm < m_total && kk < k) ? xb[static_cast<size_t>(gm) * k + kk] : __float2bfloat16(0.f);
      b_s[r][cc] = (gn < n_total && kk < k) ? wb[static_cast<size_t>(gn) * k + kk] : __float2bfloat16(0.f);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> af[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> bfr[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(af[i], &a_s[wm + i * 16][kk], kTileK + kPad);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(bfr[j], &b_s[wn + j * 16][kk], kTileK + kPad);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(c[i][j], af[i], bfr[j], c[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(&c_s[wm + i * 16][wn + j * 16], c[i][j], kTile + 4, wmma::mem_row_major);
  __syncthreads();
  for (int e = threadIdx.x; e < kTile * kTile; e += 128) {
    const int r = e / kTile, cc = e % kTile;
    const int gm = m0 + r, gn = n0 + cc;
    if (gm < m_total && gn < n_total) {
      float* dst = y + static_cast<size_t>(gm) * n_total + gn;
      *dst = accumulate ? *dst + c_s[r][cc] : c_s[r][cc];
    }
  }
}

// ---- cuBLAS through dlopen ------------------------------------------------------------------
using CublasCreate = int (*)(void**);
using CublasDestroy = int (*)(void*);
using CublasSetStream = int (*)(void*, cudaStream_t);
using CublasSetWorkspace = int (*)(void*, void*, size_t);
using CublasGemmEx = int (*)(void*, int, int, int, int, int, const void*, const void*, int, int,
                             const void*, int, int, const void*, void*, int, int, int, int);
constexpr int kOpN = 0, kOpT = 1, kCompute32F = 68, kGemmDefault = -1;

struct CublasApi {
  void* lib = nullptr;
  CublasCreate create = nullptr;
  CublasDestroy destroy = nullptr;
  CublasSetStream set_stream = nullptr;
  CublasSetWorkspace set_workspace = nullptr;  // optional (cuBLAS >= 11.4)
  CublasGemmEx gemm_ex = nullptr;
  std::string status;
};

const CublasApi& cublas_api() {
  static CublasApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    if (const char* off = std::getenv("LLM_CUDA_NO_CUBLAS"); off && *off && std::string(off) != "0") {
      api.status = "disabled by LLM_CUDA_NO_CUBLAS";
      return;
    }
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("LLM_CUBLAS_LIBRARY"); env && *env) candidates.push_back(env);
#ifdef LLM_CUBLAS_HINT
    candidates.push_back(LLM_CUBLAS_HINT);
#endif
    candidates.push_back("libcublas.so.13");
    candidates.push_back("libcublas.so.12");
    candidates.push_back("libcublas.so");
    std::string tried;
    for (const std::string& c : candidates) {
      void* lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!lib) {
        const char* e = dlerror();
        tried += "\n  " + c + ": " + (e ? e : "not found");
        continue;
      }
      api.create = reinterpret_cast<CublasCreate>(dlsym(lib, "cublasCreate_v2"));
      api.destroy = reinterpret_cast<CublasDestroy>(dlsym(lib, "cublasDestroy_v2"));
      api.set_stream = reinterpret_cast<CublasSetStream>(dlsym(lib, "cublasSetStream_v2"));
      api.set_workspace = reinterpret_cast<CublasSetWorkspace>(dlsym(lib, "cublasSetWorkspace_v2"));
      api.gemm_ex = reinterpret_cast<CublasGemmEx>(dlsym(lib, "cublasGemmEx"));
      if (api.create && api.destroy && api.set_stream && api.gemm_ex) {
        api.lib = lib;
        api.status = "cuBLAS loaded from " + c;
        return;
      }
      tried += "\n  " + c + ": missing symbols";
      dlclose(lib);
    }
    api.status = "cuBLAS not found, using our GEMM kernels; tried:" + tried;
  });
  return api;
}

}  // namespace

void gemm_skinny(const float* x, const bf16_t* w, float* y, int m, int n, int k, cudaStream_t stream) {
  if (m <= 0 || n <= 0) return;
  for (int m0 = 0; m0 < m; m0 += kSkinnyMaxM) {
    const int mm = std::min(kSkinnyMaxM, m - m0);
    const float* xm = x + static_cast<size_t>(m0) * k;
    float* ym = y + static_cast<size_t>(m0) * n;
    switch (mm) {
      case 1: launch_skinny<1>(xm, w, ym, n, k, stream); break;
      case 2: launch_skinny<2>(xm, w, ym, n, k, stream); break;
      case 3: launch_skinny<3>(xm, w, ym, n, k, stream); break;
      case 4: launch_skinny<4>(xm, w, ym, n, k, stream); break;
      case 5: launch_skinny<5>(xm, w, ym, n, k, stream); break;
      case 6: launch_skinny<6>(xm, w, ym, n, k, stream); break;
      case 7: launch_skinny<7>(xm, w, ym, n, k, stream); break;
      default: launch_skinny<8>(xm, w, ym, n, k, stream); break;
    }
    check_last("gemm_skinny");
  }
}

void gemm_tiled(const bf16_t* x, const bf16_t* w, float* y, int m, int n, int k, bool accumulate,
                cudaStream_t stream) {
  if (m <= 0 || n <= 0) return;
  dim3 grid((n + kTile - 1) / kTile, (m + kTile - 1) / kTile);
  gemm_tiled_kernel<<<grid, 128, 0, stream>>>(x, w, y, m, n, k, accumulate);
  check_last("gemm_tiled");
}

Gemm::Gemm() = default;

Gemm::~Gemm() {
  if (handle_) cublas_api().destroy(handle_);
  if (workspace_) cudaFree(workspace_);
  if (split_) cudaFree(split_);
  if (stacked_) cudaFree(stacked_);
}

void Gemm::init(cudaStream_t stream) {
  stream_ = stream;
  if (const char* v = std::getenv("LLM_CUDA_SPLIT_ACTIVATIONS"); v && std::string(v) == "0") split_activations_ = false;
  const CublasApi& api = cublas_api();
  cublas_status_ = api.status;
  if (!api.lib) return;
  void* h = nullptr;
  int st = api.create(&h);
  if (st != 0 || !h) {
    cublas_status_ = "cublasCreate failed (status " + std::to_string(st) + "), using our GEMM kernels";
    return;
  }
  st = api.set_stream(h, stream);
  if (st != 0) {
    api.destroy(h);
    cublas_status_ = "cublasSetStream failed (status " + std::to_string(st) + "), using our GEMM kernels";
    return;
  }
  handle_ = h;
  // A workspace of our own (set after the stream, which resets it), so cuBLAS does not allocate
  // while a decode step is being captured into a CUDA graph.
  constexpr size_t kWorkspaceBytes = 32u << 20;
  if (api.set_workspace && cudaMalloc(&workspace_, kWorkspaceBytes) == cudaSuccess) {
    if (api.set_workspace(h, workspace_, kWorkspaceBytes) != 0) {
      cudaFree(workspace_);
      workspace_ = nullptr;
    }
  } else {
    cudaGetLastError();
    workspace_ = nullptr;
  }
}

void Gemm::bf16_gemm(const bf16_t* x, const bf16_t* w, float* y, int m, int n, int k, bool accumulate,
                     bool cublas) {
  if (!cublas) {
    gemm_tiled(x, w, y, m, n, k, accumulate, stream_);
    return;
  }
  // Column-major view: Y^T [N x M] = W [K x N]^T * X^T [K x M].
  const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
  const int st = cublas_api().gemm_ex(handle_, kOpT, kOpN, n, m, k, &alpha, w, CUDA_R_16BF, k, x,
                                      CUDA_R_16BF, k, &beta, y, CUDA_R_32F, n, kCompute32F, kGemmDefault);
  if (st != 0)
    throw Error("cublasGemmEx failed with status " + std::to_string(st) + " (m=" + std::to_string(m) +
                " n=" + std::to_string(n) + " k=" + std::to_string(k) + ")");
}

void Gemm::reserve(size_t elems) {
  if (2 * elems <= split_cap_) return;
  if (split_) {
    check(cudaStreamSynchronize(stream_), "gemm split buffer");
    cudaFree(split_);
    split_ = nullptr;
    split_cap_ = 0;
  }
  check(cudaMalloc(reinterpret_cast<void**>(&split_), 2 * elems * sizeof(bf16_t)), "cudaMalloc gemm split buffer");
  split_cap_ = 2 * elems;
  ++generation_;
}

void Gemm::run(const float* x, const bf16_t* w, float* y, int m, int n, int k, GemmPath path) {
  if (m <= 0 || n <= 0) return;
  if (path == GemmPath::Auto) path = m <= kSkinnyMaxM ? GemmPath::Skinny : (handle_ ? GemmPath::Cublas : GemmPath::Tiled);
  if (path == GemmPath::Cublas && !handle_) path = GemmPath::Tiled;
  if (path == GemmPath::Skinny) {
    gemm_skinny(x, w, y, m, n, k, stream_);
    return;
  }
  const size_t elems = static_cast<size_t>(m) * k;
  const size_t lo_offset = (elems + 7) / 8 * 8;  // keep the lo part 16-byte aligned
  reserve(lo_offset);
  const bool cublas = path == GemmPath::Cublas;
  if (!split_activations_) {  // one pass over bf16-rounded activations (faster prefill, ~1e-2 logits error)
    f32_to_bf16(x, split_, elems, stream_);
    bf16_gemm(split_, w, y, m, n, k, false, cublas);
    return;
  }
  split_hi_lo(x, split_, split_ + lo_offset, elems, stream_);
  const size_t stacked = 2 * static_cast<size_t>(m) * n;
  if (lo_offset == elems && m <= kStackedMaxM && 4 * m < k && stacked <= stacked_cap_) {
    ++stacked_runs_;
    // [hi; lo] is one [2M, K] matrix: one GEMM reads W once, then y = top half + bottom half.
    bf16_gemm(split_, w, stacked_, 2 * m, n, k, false, cublas);
    sum_halves(stacked_, y, static_cast<size_t>(m) * n, stream_);
    return;
  }
  bf16_gemm(split_, w, y, m, n, k, false, cublas);
  bf16_gemm(split_ + lo_offset, w, y, m, n, k, true, cublas);
}

void Gemm::reserve_stacked(size_t floats) {
  if (floats <= stacked_cap_) return;
  if (stacked_) {
    check(cudaStreamSynchronize(stream_), "gemm stacked buffer");
    cudaFree(stacked_);
    stacked_ = nullptr;
    stacked_cap_ = 0;
  }
  check(cudaMalloc(reinterpret_cast<void**>(&stacked_), floats * sizeof(float)), "cudaMalloc gemm stacked buffer");
  stacked_cap_ = floats;
  ++generation_;
}

}  // namespace cuda
}  // namespace llm
