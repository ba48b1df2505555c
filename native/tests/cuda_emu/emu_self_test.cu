// Tests of the CUDA emulator itself (built only by cmake/cuda_emu.cmake, as cuda_emu_self_test):
// that it runs kernels with CUDA's semantics (block barriers and shared memory, warp shuffles,
// WMMA tiles, grid indices), and that it reports what would be a bug on a GPU: a barrier no
// thread can pass, an access past an allocation, calls CUDA refuses during stream capture, bad
// copies and frees, and bad launch configurations. Faults abort, so those run in a forked child.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <thread>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "testing.h"

namespace {

// ---- kernels ------------------------------------------------------------------------------
__global__ void block_sum_kernel(const int* in, int* out) {
  __shared__ int part[256];
  const int t = threadIdx.x;
  part[t] = in[blockIdx.x * blockDim.x + t];
  __syncthreads();
  for (int stride = 128; stride > 0; stride >>= 1) {
    if (t < stride) part[t] += part[t + stride];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = part[0];
}

__global__ void warp_sum_kernel(const float* in, float* out) {
  float v = in[threadIdx.x];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  out[threadIdx.x] = v;
}

__global__ void index_kernel(int* out) {
  const int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const int per_block = blockDim.x * blockDim.y * blockDim.z;
  out[block * per_block + thread] = block * 1000 + thread;
}

__global__ void add_one_kernel(float* x, const float* delta, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] += 1.0f + delta[0];
}

__global__ void wmma_kernel(const __nv_bfloat16* a, const __nv_bfloat16* b, float* c) {
  using namespace nvcuda;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
  wmma::fill_fragment(fc, 0.5f);
  wmma::load_matrix_sync(fa, a, 16);
  wmma::load_matrix_sync(fb, b, 16);
  wmma::mma_sync(fc, fa, fb, fc);
  wmma::store_matrix_sync(c, fc, 16, wmma::mem_row_major);
}

// Threads 0-31 wait at the block barrier; in warp 1, lanes 0-15 shuffle (waiting for lanes
// 16-31) while lanes 16-31 wait at the block barrier (waiting for lanes 0-15): nobody can go on.
__global__ void deadlock_kernel(float* out) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x < 32 || threadIdx.x >= 48)
    __syncthreads();
  else
    v = __shfl_xor_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;
}

// mode 0 fills the block's shared array with -1; mode 1 reads a neighbour's entry without the
// barrier that should separate the write from the read.
__global__ void racy_kernel(int* out, int mode) {
  __shared__ int s[64];
  const int t = threadIdx.x;
  if (mode == 0) {
    s[t] = -1;
    return;
  }
  s[t] = t;
  out[t] = s[(t + 1) % 64];
}

__global__ void overrun_kernel(float* x, int n) {
  x[n + threadIdx.x] = 1.0f;  // one past the end and beyond
}

// ---- helpers --------------------------------------------------------------------------------
template <class T>
T* device_copy(const std::vector<T>& host) {
  T* p = nullptr;
  CHECK_EQ(cudaMalloc(&p, host.size() * sizeof(T)), cudaSuccess);
  CHECK_EQ(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  return p;
}

template <class T>
std::vector<T> host_copy(const T* p, size_t n) {
  std::vector<T> host(n);
  CHECK_EQ(cudaMemcpy(host.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return host;
}

struct ChildResult {
  int signal = 0;  // the signal that ended the child, 0 if it exited
  std::string err;
};

// Runs `body` in a forked child; returns how it ended and what it wrote to stderr.
template <class F>
ChildResult run_in_child(F body) {
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    body();
    std::_Exit(0);
  }
  close(fds[1]);
  ChildResult r;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) r.err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace

TEST(emu_block_barrier_and_shared_memory) {
  const int blocks = 3, threads = 256;
  std::vector<int> in(blocks * threads);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i % 97);
  int* d_in = device_copy(in);
  int* d_out = device_copy(std::vector<int>(blocks, 0));
  block_sum_kernel<<<blocks, threads>>>(d_in, d_out);
  CHECK_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<int> out = host_copy(d_out, blocks);
  for (int b = 0; b < blocks; ++b) {
    int want = 0;
    for (int t = 0; t < threads; ++t) want += in[b * threads + t];
    EXPECT_EQ(out[b], want);
  }
  cudaFree(d_in);
  cudaFree(d_out);
}

TEST(emu_warp_shuffle_butterfly) {
  std::vector<float> in(64);
  for (int i = 0; i < 64; ++i) in[i] = static_cast<float>(i);
  float* d_in = device_copy(in);
  float* d_out = device_copy(std::vector<float>(64, 0.f));
  warp_sum_kernel<<<1, 64>>>(d_in, d_out);
  const std::vector<float> out = host_copy(d_out, 64);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(out[i], i < 32 ? 496.f : 1520.f);  // sum of 0..31, of 32..63
  cudaFree(d_in);
  cudaFree(d_out);
}

TEST(emu_grid_and_block_indices) {
  const dim3 grid(3, 2, 2), block(4, 2, 3);
  const int n = 12 * 24;
  int* d = device_copy(std::vector<int>(n, -1));
  index_kernel<<<grid, block>>>(d);
  const std::vector<int> out = host_copy(d, n);
  for (int i = 0; i < n; ++i) EXPECT_EQ(out[i], (i / 24) * 1000 + i % 24);
  cudaFree(d);
}

TEST(emu_wmma_tile_product) {
  std::vector<__nv_bfloat16> a(256), b(256);
  std::vector<float> af(256), bf(256);
  for (int i = 0; i < 256; ++i) {
    a[i] = __float2bfloat16(static_cast<float>(i % 7) - 3.f);
    b[i] = __float2bfloat16(static_cast<float>(i % 5) * 0.5f);
    af[i] = __bfloat162float(a[i]);
    bf[i] = __bfloat162float(b[i]);
  }
  __nv_bfloat16* d_a = device_copy(a);
  __nv_bfloat16* d_b = device_copy(b);
  float* d_c = device_copy(std::vector<float>(256, 0.f));
  wmma_kernel<<<1, 32>>>(d_a, d_b, d_c);
  const std::vector<float> c = host_copy(d_c, 256);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      float want = 0.5f;
      for (int k = 0; k < 16; ++k) want += af[i * 16 + k] * bf[j * 16 + k];  // b is column-major
      EXPECT_EQ(c[i * 16 + j], want);
    }
  cudaFree(d_a);
  cudaFree(d_b);
  cudaFree(d_c);
}

TEST(emu_new_allocations_are_poisoned) {
  float* d = nullptr;
  CHECK_EQ(cudaMalloc(&d, 100 * sizeof(float)), cudaSuccess);
  const std::vector<float> host = host_copy(d, 100);
  for (float v : host) EXPECT(std::isnan(v));
  cudaFree(d);
}

TEST(emu_capture_records_and_graph_replays) {
  cudaStream_t stream;
  CHECK_EQ(cudaStreamCreate(&stream), cudaSuccess);
  const int n = 300;
  float* x = device_copy(std::vector<float>(n, 0.f));
  float* delta = device_copy(std::vector<float>(1, 0.f));
  float* pinned = nullptr;
  CHECK_EQ(cudaMallocHost(&pinned, sizeof(float)), cudaSuccess);
  *pinned = 0.f;

  CHECK_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  CHECK_EQ(cudaMemcpyAsync(delta, pinned, sizeof(float), cudaMemcpyHostToDevice, stream), cudaSuccess);
  add_one_kernel<<<(n + 127) / 128, 128, 0, stream>>>(x, delta, n);
  CHECK_EQ(cudaGetLastError(), cudaSuccess);
  cudaGraph_t graph = nullptr;
  CHECK_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  const std::vector<float> before = host_copy(x, n);
  EXPECT_EQ(before[0], 0.f);  // recorded, not run

  cudaGraphExec_t exec = nullptr;
  CHECK_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  CHECK_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  *pinned = 10.f;  // the copy node reads the host memory when the graph runs
  CHECK_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  CHECK_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  const std::vector<float> out = host_copy(x, n);
  EXPECT_EQ(out[0], 12.f);
  EXPECT_EQ(out[n - 1], 12.f);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaFree(x);
  cudaFree(delta);
  cudaFreeHost(pinned);
  cudaStreamDestroy(stream);
}

TEST(emu_capture_refuses_what_cuda_refuses) {
  cudaStream_t stream;
  CHECK_EQ(cudaStreamCreate(&stream), cudaSuccess);
  for (int which = 0; which < 4; ++which) {
    CHECK_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    void* p = nullptr;
    float host = 0.f;
    cudaError_t refused = cudaSuccess;
    if (which == 0) refused = cudaMalloc(&p, 64);
    if (which == 1) refused = cudaStreamSynchronize(stream);
    if (which == 2) refused = cudaDeviceSynchronize();
    if (which == 3) refused = cudaMemcpy(&host, &host, 4, cudaMemcpyHostToHost);
    EXPECT_EQ(refused, cudaErrorStreamCaptureUnsupported);
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT(graph == nullptr);
    cudaGetLastError();
  }
  cudaStreamDestroy(stream);
}

TEST(emu_bad_copies_frees_and_launches_are_errors) {
  float* d = nullptr;
  CHECK_EQ(cudaMalloc(&d, 64 * sizeof(float)), cudaSuccess);
  std::vector<float> host(65, 0.f);
  EXPECT_EQ(cudaMemcpy(d, host.data(), 65 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading the error clears it
  EXPECT_EQ(cudaMemcpy(host.data(), host.data() + 1, 4, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemset(d + 1, 0, 64 * sizeof(float)), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(d + 1), cudaErrorInvalidDevicePointer);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaErrorInvalidDevicePointer);  // double free
  cudaGetLastError();
  add_one_kernel<<<1, 2048>>>(d, d, 1);  // more than 1024 threads: nothing runs
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  add_one_kernel<<<dim3(1, 70000), 32>>>(d, d, 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
}

TEST(emu_reports_a_barrier_deadlock) {
  const ChildResult r = run_in_child([] {
    float* d = nullptr;
    cudaMalloc(&d, 64 * sizeof(float));
    deadlock_kernel<<<1, 64>>>(d);
  });
  EXPECT_EQ(r.signal, SIGABRT);
  EXPECT(r.err.find("deadlock_kernel") != std::string::npos);
  EXPECT(r.err.find("deadlock") != std::string::npos);
  EXPECT(r.err.find("a warp shuffle") != std::string::npos);
  EXPECT(r.err.find("__syncthreads") != std::string::npos);
}

TEST(emu_reports_an_access_past_an_allocation) {
  const ChildResult r = run_in_child([] {
    float* d = nullptr;
    cudaMalloc(&d, 64 * sizeof(float));  // 256 bytes: the guard page starts right after
    overrun_kernel<<<1, 32>>>(d, 64);
  });
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT(r.err.find("overrun_kernel, block (0,0,0), thread (") != std::string::npos);
}

TEST(emu_reverse_order_exposes_a_missing_barrier) {
  int* d = device_copy(std::vector<int>(64, 7));
  auto run = [d] {
    racy_kernel<<<1, 64>>>(d, 0);
    racy_kernel<<<1, 64>>>(d, 1);
  };
  // The order is read when an OS thread first launches: each run gets its own thread.
  unsetenv("LLM_CUDA_EMU_ORDER");
  std::thread(run).join();  // first to last: thread 0 reads entry 1 before thread 1 wrote it
  std::vector<int> out = host_copy(d, 64);
  EXPECT_EQ(out[0], -1);
  EXPECT_EQ(out[63], 0);
  setenv("LLM_CUDA_EMU_ORDER", "reverse", 1);
  std::thread(run).join();  // last to first
  unsetenv("LLM_CUDA_EMU_ORDER");
  out = host_copy(d, 64);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[63], -1);
  cudaFree(d);
}
