// Elementwise, normalisation, RoPE + KV-cache write and paged attention kernels.
#include "backend/cuda/ops.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "llm/error.h"

namespace llm {
namespace cuda {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw Error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(err) + " (" +
                cudaGetErrorString(err) + ")");
}

void check_last(const char* what) { check(cudaGetLastError(), what); }

bf16_t float_to_bf16_host(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<bf16_t>(u >> 16);
}

float bf16_to_float_host(bf16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace {

__device__ __forceinline__ float bf(bf16_t v) { return __uint_as_float(static_cast<uint32_t>(v) << 16); }
__device__ __forceinline__ bf16_t to_bf(float f) {
  __nv_bfloat16 h = __float2bfloat16_rn(f);
  return *reinterpret_cast<bf16_t*>(&h);
}

template <int THREADS>
__device__ float block_sum(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = 0.f;
  for (int w = 0; w < THREADS / 32; ++w) total += shared[w];
  __syncthreads();
  return total;
}

__global__ void embedding_kernel(const bf16_t* __restrict__ embed, const int32_t* __restrict__ ids,
                                 float* __restrict__ out, int hidden, int vocab) {
  const int t = blockIdx.x;
  const int id = ids[t];
  float* row = out + static_cast<size_t>(t) * hidden;
  if (id < 0 || id >= vocab) {
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) row[i] = 0.f;
    return;
  }
  const bf16_t* src = embed + static_cast<size_t>(id) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) row[i] = bf(src[i]);
}

constexpr int kNormThreads = 256;

__global__ void add_rmsnorm_kernel(float* __restrict__ residual, const float* __restrict__ delta,
                                   const bf16_t* __restrict__ weight, float* __restrict__ out,
                                   int hidden, float eps) {
  __shared__ float red[kNormThreads / 32];
  const size_t base = static_cast<size_t>(blockIdx.x) * hidden;
  float ss = 0.f;
  for (int i = threadIdx.x; i < hidden; i += kNormThreads) {
    float r = residual[base + i];
    if (delta) {
      r += delta[base + i];
      residual[base + i] = r;
    }
    ss += r * r;
  }
  const float total = block_sum<kNormThreads>(ss, red);
  const float inv = rsqrtf(total / static_cast<float>(hidden) + eps);
  for (int i = threadIdx.x; i < hidden; i += kNormThreads)
    out[base + i] = residual[base + i] * inv * bf(weight[i]);
}

__global__ void gather_rows_kernel(const float* __restrict__ in, const int32_t* __restrict__ rows,
                                   float* __restrict__ out, int width) {
  const float* src = in + static_cast<size_t>(rows[blockIdx.x]) * width;
  float* dst = out + static_cast<size_t>(blockIdx.x) * width;
  for (int i = threadIdx.x; i < width; i += blockDim.x) dst[i] = src[i];
}

__global__ void rope_kv_write_kernel(const float* __restrict__ qkv, const int32_t* __restrict__ positions,
                                     const int32_t* __restrict__ slot_mapping,
                                     const float* __restrict__ inv_freq, float* __restrict__ q_out,
                                     bf16_t* __restrict__ k_cache, bf16_t* __restrict__ v_cache,
                                     int num_heads, int num_kv_heads, int head_dim) {
  const int t = blockIdx.x;
  const int half = head_dim / 2;
  const int width = (num_heads + 2 * num_kv_heads) * head_dim;
  const float* row = qkv + static_cast<size_t>(t) * width;
  const float pos = static_cast<float>(positions[t]);
  const int slot = slot_mapping[t];
  const size_t cache_base = static_cast<size_t>(slot < 0 ? 0 : slot) * num_kv_heads * head_dim;
  // Rotations: q heads then k heads, head_dim/2 pairs each.
  const int pairs = (num_heads + num_kv_heads) * half;
  for (int p = threadIdx.x; p < pairs; p += blockDim.x) {
    const int head = p / half, i = p % half;
    const float* x = row + head * head_dim;
    float s, c;
    sincosf(pos * inv_freq[i], &s, &c);
    const float x1 = x[i], x2 = x[i + half];
    const float o1 = x1 * c - x2 * s;
    const float o2 = x2 * c + x1 * s;
    if (head < num_heads) {
      float* q = q_out + static_cast<size_t>(t) * num_heads * head_dim + head * head_dim;
      q[i] = o1;
      q[i + half] = o2;
    } else if (slot >= 0) {
      bf16_t* k = k_cache + cache_base + (head - num_heads) * head_dim;
      k[i] = to_bf(o1);
      k[i + half] = to_bf(o2);
    }
  }
  if (slot >= 0) {
    const float* v = row + (num_heads + num_kv_heads) * head_dim;
    for (int i = threadIdx.x; i < num_kv_heads * head_dim; i += blockDim.x)
      v_cache[cache_base + i] = to_bf(v[i]);
  }
}

// ---- paged attention ------------------------------------------------------------------------
constexpr int kAttnThreads = 128;  // also the key tile
constexpr int kMaxGroup = 8;       // query heads per kv head
constexpr int kMaxHeadDim = 256;
constexpr int kPerThread = kMaxGroup * kMaxHeadDim / kAttnThreads;

__device__ __forceinline__ int splits_for(int context, int partition) {
  return (context + partition - 1) / partition;
}

// grid (tokens, kv_heads, max_splits); one block handles the `group` query heads of one kv head
// for one token over one partition of its context.
__global__ void __launch_bounds__(kAttnThreads)
paged_attention_kernel(AttentionArgs a, int group, int partition, int max_splits) {
  const int t = blockIdx.x, kh = blockIdx.y, z = blockIdx.z;
  const int D = a.head_dim;
  const int context = a.positions[t] + 1;
  const int nsplit = splits_for(context, partition);
  if (z >= nsplit) return;
  const int begin = z * partition;
  const int end = min(context, begin + partition);
  const int seq = a.token_seq[t];
  const int32_t* table = a.block_tables + static_cast<size_t>(seq) * a.max_blocks_per_seq;

  __shared__ float q_s[kMaxGroup][kMaxHeadDim];
  __shared__ float p_s[kMaxGroup][kAttnThreads];
  __shared__ int slot_s[kAttnThreads];
  __shared__ float m_s[kMaxGroup], l_s[kMaxGroup], alpha_s[kMaxGroup];

  const int tid = threadIdx.x;
  for (int e = tid; e < group * D; e += kAttnThreads) {
    const int g = e / D, d = e % D;
    q_s[g][d] = a.q[(static_cast<size_t>(t) * a.num_heads + kh * group + g) * D + d] * a.scale;
  }
  if (tid < kMaxGroup) {
    m_s[tid] = -INFINITY;
    l_s[tid] = 0.f;
  }
  float acc[kPerThread];
#pragma unroll
  for (int j = 0; j < kPerThread; ++j) acc[j] = 0.f;
  __syncthreads();

  const int kv_stride = a.num_kv_heads * D;  // elements per slot
  for (int t0 = begin; t0 < end; t0 += kAttnThreads) {
    const int j = t0 + tid;
    int slot = -1;
    if (j < end) {
      const int block = table[j / a.block_size];
      slot = block * a.block_size + j % a.block_size;
    }
    slot_s[tid] = slot;
    float s[kMaxGroup];
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) s[g] = 0.f;
    if (slot >= 0) {
      const bf16_t* k = a.k_cache + static_cast<size_t>(slot) * kv_stride + kh * D;
      for (int d = 0; d < D; d += 8) {
        const uint4 raw = *reinterpret_cast<const uint4*>(k + d);
        const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
        float kf[8];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          kf[2 * i] = __uint_as_float(w[i] << 16);
          kf[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
        }
#pragma unroll
        for (int g = 0; g < kMaxGroup; ++g) {
          if (g < group) {
#pragma unroll
            for (int i = 0; i < 8; ++i) s[g] += q_s[g][d + i] * kf[i];
          }
        }
      }
    }
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g)
      if (g < group) p_s[g][tid] = slot >= 0 ? s[g] : -INFINITY;
    __syncthreads();

    // Online softmax: warp w updates heads w, w + 4, ...
    const int warp = tid / 32, lane = tid % 32;
    for (int g = warp; g < group; g += kAttnThreads / 32) {
      float mx = -INFINITY;
      for (int i = lane; i < kAttnThreads; i += 32) mx = fmaxf(mx, p_s[g][i]);
      for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
      const float m_old = m_s[g];
      const float m_new = fmaxf(m_old, mx);  // finite: the tile has at least one key
      float sum = 0.f;
      for (int i = lane; i < kAttnThreads; i += 32) {
        const float p = __expf(p_s[g][i] - m_new);  // exp(-inf) = 0 for padding
        p_s[g][i] = p;
        sum += p;
      }
      for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      __syncwarp();
      if (lane == 0) {
        const float alpha = __expf(m_old - m_new);
        alpha_s[g] = alpha;
        l_s[g] = l_s[g] * alpha + sum;
        m_s[g] = m_new;
      }
    }
    __syncthreads();

    const int n_valid = min(kAttnThreads, end - t0);
#pragma unroll
    for (int jj = 0; jj < kPerThread; ++jj) {
      const int e = tid + jj * kAttnThreads;
      if (e < group * D) {
        const int g = e / D, d = e % D;
        float v_acc = acc[jj] * alpha_s[g];
        const bf16_t* v = a.v_cache + kh * D + d;
#pragma unroll 8
        for (int i = 0; i < n_valid; ++i)
          v_acc += p_s[g][i] * bf(v[static_cast<size_t>(slot_s[i]) * kv_stride]);
        acc[jj] = v_acc;
      }
    }
    __syncthreads();
  }

  const size_t hd = static_cast<size_t>(a.num_heads) * D;
#pragma unroll
  for (int jj = 0; jj < kPerThread; ++jj) {
    const int e = tid + jj * kAttnThreads;
    if (e < group * D) {
      const int g = e / D, d = e % D;
      const int h = kh * group + g;
      if (nsplit == 1) {
        a.out[static_cast<size_t>(t) * hd + h * D + d] = acc[jj] / l_s[g];
      } else {
        const size_t idx = (static_cast<size_t>(t) * a.num_heads + h) * max_splits + z;
        a.scratch[idx * D + d] = acc[jj];
        if (d == 0) {
          float* ml = a.scratch + static_cast<size_t>(a.num_tokens) * a.num_heads * max_splits * D;
          ml[idx * 2] = m_s[g];
          ml[idx * 2 + 1] = l_s[g];
        }
      }
    }
  }
}

// grid (tokens, heads): merges the partitions of tokens whose context was split.
__global__ void attention_combine_kernel(AttentionArgs a, int partition, int max_splits) {
  const int t = blockIdx.x, h = blockIdx.y, D = a.head_dim;
  const int nsplit = splits_for(a.positions[t] + 1, partition);
  if (nsplit <= 1) return;
  const size_t base = (static_cast<size_t>(t) * a.num_heads + h) * max_splits;
  const float* ml = a.scratch + static_cast<size_t>(a.num_tokens) * a.num_heads * max_splits * D;
  float m = -INFINITY;
  for (int z = 0; z < nsplit; ++z) m = fmaxf(m, ml[(base + z) * 2]);
  float l = 0.f;
  for (int z = 0; z < nsplit; ++z) l += ml[(base + z) * 2 + 1] * __expf(ml[(base + z) * 2] - m);
  const float inv_l = 1.f / l;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.f;
    for (int z = 0; z < nsplit; ++z) o += a.scratch[(base + z) * D + d] * __expf(ml[(base + z) * 2] - m);
    a.out[(static_cast<size_t>(t) * a.num_heads + h) * D + d] = o * inv_l;
  }
}

__global__ void swiglu_kernel(const float* __restrict__ gate_up, float* __restrict__ out, int ffn) {
  const size_t t = blockIdx.y;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= ffn) return;
  const float g = gate_up[t * 2 * ffn + i];
  const float u = gate_up[t * 2 * ffn + ffn + i];
  out[t * ffn + i] = g / (1.f + expf(-g)) * u;
}

__global__ void f32_to_bf16_kernel(const float* __restrict__ in, bf16_t* __restrict__ out, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    out[i] = to_bf(in[i]);
}

__global__ void sum_halves_kernel(const float* __restrict__ in, float* __restrict__ out, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    out[i] = in[i] + in[n + i];
}

__global__ void split_hi_lo_kernel(const float* __restrict__ in, bf16_t* __restrict__ hi,
                                   bf16_t* __restrict__ lo, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float x = in[i];
    const bf16_t h = to_bf(x);
    hi[i] = h;
    lo[i] = to_bf(x - bf(h));
  }
}

}  // namespace

void split_hi_lo(const float* in, bf16_t* hi, bf16_t* lo, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  const int blocks = static_cast<int>(std::min<size_t>((n + 255) / 256, 8192));
  split_hi_lo_kernel<<<blocks, 256, 0, stream>>>(in, hi, lo, n);
  check_last("split_hi_lo");
}

void sum_halves(const float* in, float* out, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  const int blocks = static_cast<int>(std::min<size_t>((n + 255) / 256, 8192));
  sum_halves_kernel<<<blocks, 256, 0, stream>>>(in, out, n);
  check_last("sum_halves");
}

void embedding(const bf16_t* embed, const int32_t* ids, float* out, int num_tokens, int hidden,
               int vocab, cudaStream_t stream) {
  if (num_tokens <= 0) return;
  embedding_kernel<<<num_tokens, 256, 0, stream>>>(embed, ids, out, hidden, vocab);
  check_last("embedding");
}

void add_rmsnorm(float* residual, const float* delta, const bf16_t* weight, float* out,
                 int num_tokens, int hidden, float eps, cudaStream_t stream) {
  if (num_tokens <= 0) return;
  add_rmsnorm_kernel<<<num_tokens, kNormThreads, 0, stream>>>(residual, delta, weight, out, hidden, eps);
  check_last("add_rmsnorm");
}

void gather_rows(const float* in, const int32_t* rows, float* out, int num_rows, int width,
                 cudaStream_t stream) {
  if (num_rows <= 0) return;
  gather_rows_kernel<<<num_rows, 256, 0, stream>>>(in, rows, out, width);
  check_last("gather_rows");
}

void rope_kv_write(const float* qkv, const int32_t* positions, const int32_t* slot_mapping,
                   const float* inv_freq, float* q_out, bf16_t* k_cache, bf16_t* v_cache,
                   int num_tokens, int num_heads, int num_kv_heads, int head_dim,
                   cudaStream_t stream) {
  if (num_tokens <= 0) return;
  rope_kv_write_kernel<<<num_tokens, 128, 0, stream>>>(qkv, positions, slot_mapping, inv_freq, q_out,
                                                      k_cache, v_cache, num_heads, num_kv_heads,
                                                      head_dim);
  check_last("rope_kv_write");
}


size_t attention_scratch_floats(int num_tokens, int num_heads, int head_dim, int max_splits) {
  return static_cast<size_t>(num_tokens) * num_heads * max_splits * (head_dim + 2);
}

void paged_attention(const AttentionArgs& a, cudaStream_t stream) {
  if (a.num_tokens <= 0) return;
  if (a.head_dim % 8 != 0 || a.head_dim > kMaxHeadDim)
    throw Error("paged_attention: head_dim must be a multiple of 8 and at most 256");
  if (a.num_kv_heads <= 0 || a.num_heads % a.num_kv_heads != 0 ||
      a.num_heads / a.num_kv_heads > kMaxGroup)
    throw Error("paged_attention: num_heads / num_kv_heads must be an integer of at most 8");
  const int group = a.num_heads / a.num_kv_heads;
  int splits = (std::max(a.max_context, 1) + kAttentionPartition - 1) / kAttentionPartition;
  int partition = kAttentionPartition;
  if (splits > 1 && (a.scratch == nullptr || splits > a.max_splits)) {
    // Not enough scratch for this batch: use fewer, longer partitions.
    splits = std::max(1, a.scratch ? a.max_splits : 1);
    partition = (std::max(a.max_context, 1) + splits - 1) / splits;
    partition = (partition + kAttnThreads - 1) / kAttnThreads * kAttnThreads;
    splits = (a.max_context + partition - 1) / partition;
  }
  dim3 grid(a.num_tokens, a.num_kv_heads, splits);
  paged_attention_kernel<<<grid, kAttnThreads, 0, stream>>>(a, group, partition, splits);
  check_last("paged_attention");
  if (splits > 1) {
    attention_combine_kernel<<<dim3(a.num_tokens, a.num_heads), 64, 0, stream>>>(a, partition, splits);
    check_last("attention_combine");
  }
}

void swiglu(const float* gate_up, float* out, int num_tokens, int ffn, cudaStream_t stream) {
  if (num_tokens <= 0) return;
  dim3 grid((ffn + 255) / 256, num_tokens);
  swiglu_kernel<<<grid, 256, 0, stream>>>(gate_up, out, ffn);
  check_last("swiglu");
}

void f32_to_bf16(const float* in, bf16_t* out, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  const int blocks = static_cast<int>(std::min<size_t>((n + 255) / 256, 4096));
  f32_to_bf16_kernel<<<blocks, 256, 0, stream>>>(in, out, n);
  check_last("f32_to_bf16");
}

}  // namespace cuda
}  // namespace llm
