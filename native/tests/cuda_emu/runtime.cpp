// CUDA emulator (tests only): the runtime API on the CPU.
// - Device memory: each cudaMalloc is its own mapping, filled with 0xff bytes (NaN as f32 and
//   bf16, -1 as int: a kernel that reads what nothing wrote shows it), and placed so that its end
//   (rounded up to 256 bytes) meets a PROT_NONE page: a kernel reading or writing past the end
//   faults, and the SIGSEGV handler names the kernel, block and thread. Copies and memsets must
//   stay inside one allocation; a double or foreign cudaFree is an error.
// - Streams run their work at once, in order. Capture records launches, copies, memsets and event
//   records; a graph launch replays them (kernels read their memory at replay, as on a GPU). The
//   calls CUDA refuses while a stream captures (allocation, synchronous copies and memsets,
//   synchronizing the capturing stream or the device) fail with cudaErrorStreamCaptureUnsupported
//   and invalidate the capture, so cudaStreamEndCapture fails as it would on a GPU.
// - Memory size: LLM_CUDA_EMU_MEMORY_MB (default 1024) for cudaMemGetInfo and allocation limits.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "block_runner.h"
#include "include/cuda_runtime_api.h"

struct CUstream_st {
  bool capturing = false;
  bool invalidated = false;
  std::vector<std::function<void()>> ops;
};
struct CUevent_st {
  double ms = 0;
  bool recorded = false;
};
struct CUgraph_st {
  std::vector<std::function<void()>> ops;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> ops;
};

namespace {

struct Allocation {
  char* map = nullptr;
  size_t map_bytes = 0;
  size_t bytes = 0;
  bool pinned_host = false;
};

struct State {
  std::recursive_mutex mu;
  std::map<uintptr_t, Allocation> allocations;  // by start address
  size_t device_bytes = 0;
  size_t total_bytes = 0;
  CUstream_st legacy_stream;
  std::vector<CUstream_st*> capturing;
  State() {
    const char* env = std::getenv("LLM_CUDA_EMU_MEMORY_MB");
    const long mb = env && *env ? std::atol(env) : 1024;
    total_bytes = static_cast<size_t>(mb > 0 ? mb : 1024) << 20;
  }
};

State& state() {
  static State* s = new State();  // never destroyed: destructors of statics may still free
  return *s;
}

thread_local cudaError_t last_error = cudaSuccess;

cudaError_t fail(cudaError_t err, const char* call, const std::string& why) {
  std::fprintf(stderr, "cuda emulator: %s: %s\n", call, why.c_str());
  last_error = err;
  return err;
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// ---- faults ---------------------------------------------------------------------------------
void on_segv(int sig, siginfo_t* info, void*) {
  char where[256];
  const char* kernel = emu::running_kernel_description(where, sizeof where);
  char msg[512];
  const int n = std::snprintf(msg, sizeof msg,
                              "cuda emulator: %s touched %p, outside every allocation (or overflowed its stack)\n",
                              kernel ? kernel : "host code (not a kernel)", info->si_addr);
  if (n > 0) (void)!write(2, msg, static_cast<size_t>(n));
  signal(sig, SIG_DFL);
  raise(sig);
}

void install_fault_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
  });
  // The handler runs on its own stack: a fiber stack overflow leaves none to run on.
  thread_local std::unique_ptr<char[]> alt;
  if (!alt) {
    const size_t bytes = 64 << 10;
    alt.reset(new char[bytes]);
    stack_t ss{};
    ss.ss_sp = alt.get();
    ss.ss_size = bytes;
    sigaltstack(&ss, nullptr);
  }
}

// ---- allocations ----------------------------------------------------------------------------
const Allocation* find_allocation(const void* p, size_t bytes) {
  State& s = state();
  const auto addr = reinterpret_cast<uintptr_t>(p);
  auto it = s.allocations.upper_bound(addr);
  if (it == s.allocations.begin()) return nullptr;
  --it;
  if (addr + bytes > it->first + it->second.bytes) return nullptr;
  return &it->second;
}

bool is_device(const void* p) {
  const Allocation* a = find_allocation(p, 0);
  return a && !a->pinned_host;
}

bool device_range(const void* p, size_t bytes) {
  const Allocation* a = find_allocation(p, bytes);
  return a && !a->pinned_host;
}

cudaError_t allocate(void** ptr, size_t bytes, bool pinned_host, const char* call) {
  if (!ptr) return fail(cudaErrorInvalidValue, call, "null pointer argument");
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  State& s = state();
  if (!pinned_host && s.device_bytes + bytes > s.total_bytes)
    return fail(cudaErrorMemoryAllocation, call,
                "out of emulated device memory (" + std::to_string(bytes >> 20) + " MiB asked, " +
                    std::to_string((s.total_bytes - s.device_bytes) >> 20) + " MiB free)");
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t rounded = (bytes + 255) / 256 * 256;
  const size_t map_bytes = (rounded + page - 1) / page * page + page;
  void* map = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) return fail(cudaErrorMemoryAllocation, call, "mmap failed");
  char* base = static_cast<char*>(map);
  mprotect(base + map_bytes - page, page, PROT_NONE);
  char* user = base + map_bytes - page - rounded;
  std::memset(user, 0xff, rounded);
  s.allocations[reinterpret_cast<uintptr_t>(user)] = {base, map_bytes, bytes, pinned_host};
  if (!pinned_host) s.device_bytes += bytes;
  *ptr = user;
  return cudaSuccess;
}

cudaError_t release(void* ptr, bool pinned_host, const char* call) {
  if (!ptr) return cudaSuccess;
  State& s = state();
  auto it = s.allocations.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == s.allocations.end())
    return fail(cudaErrorInvalidDevicePointer, call, "not the start of a live allocation (double or foreign free)");
  if (it->second.pinned_host != pinned_host)
    return fail(cudaErrorInvalidValue, call, pinned_host ? "device memory passed to cudaFreeHost" : "pinned host memory passed to cudaFree");
  if (!pinned_host) s.device_bytes -= it->second.bytes;
  munmap(it->second.map, it->second.map_bytes);
  s.allocations.erase(it);
  return cudaSuccess;
}

// ---- capture --------------------------------------------------------------------------------
CUstream_st* stream_of(cudaStream_t s) { return s ? s : &state().legacy_stream; }

// CUDA refuses "unsafe" calls while any stream captures (global and thread-local modes): the call
// fails and the capture is invalidated.
bool refuse_during_capture(const char* call) {
  State& s = state();
  if (s.capturing.empty()) return false;
  for (CUstream_st* st : s.capturing) st->invalidated = true;
  fail(cudaErrorStreamCaptureUnsupported, call, "not permitted while a stream is being captured");
  return true;
}

// Runs `op` now, or records it when `stream` captures.
void enqueue(cudaStream_t stream, std::function<void()> op) {
  CUstream_st* st = stream_of(stream);
  if (st->capturing)
    st->ops.push_back(std::move(op));
  else
    op();
}

cudaError_t check_copy(const char* call, void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  if (count == 0) return cudaSuccess;
  if (!dst || !src) return fail(cudaErrorInvalidValue, call, "null pointer");
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind == cudaMemcpyDefault) return cudaSuccess;
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return fail(cudaErrorInvalidMemcpyDirection, call, "bad direction");
  if (dst_dev && !device_range(dst, count))
    return fail(cudaErrorInvalidValue, call, "destination range is not inside one device allocation");
  if (src_dev && !device_range(src, count))
    return fail(cudaErrorInvalidValue, call, "source range is not inside one device allocation");
  if (!dst_dev && is_device(dst)) return fail(cudaErrorInvalidValue, call, "destination is device memory, kind says host");
  if (!src_dev && is_device(src)) return fail(cudaErrorInvalidValue, call, "source is device memory, kind says host");
  return cudaSuccess;
}

}  // namespace

namespace emu {

void launch(const char* name, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
            std::function<void()> body) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  install_fault_handler();
  if (shared_bytes != 0) {
    fail(cudaErrorInvalidConfiguration, name, "dynamic shared memory is not emulated");
    return;
  }
  auto run = [name, grid, block, body = std::move(body)]() {
    if (const char* why = run_grid(name, grid, block, body)) fail(cudaErrorInvalidConfiguration, name, why);
  };
  CUstream_st* st = stream_of(stream);
  if (st->capturing) {
    // Validate now (CUDA refuses a bad configuration at the launch, also while capturing).
    const unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || grid.y > 65535 || grid.z > 65535) {
      st->invalidated = true;
      fail(cudaErrorInvalidConfiguration, name, "bad launch configuration during capture");
      return;
    }
    st->ops.push_back(std::move(run));
    return;
  }
  run();
}

}  // namespace emu

extern "C" {

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return fail(cudaErrorInvalidValue, "cudaGetDeviceCount", "null pointer");
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice, "cudaSetDevice", "the emulator has device 0 only");
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop || device != 0) return fail(cudaErrorInvalidDevice, "cudaGetDeviceProperties", "device 0 only");
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "CUDA emulator (CPU, tests only)");
  prop->totalGlobalMem = state().total_bytes;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 132;
  prop->maxThreadsPerBlock = 1024;
  prop->warpSize = 32;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaDeviceSynchronize")) return cudaErrorStreamCaptureUnsupported;
  return cudaSuccess;
}

cudaError_t cudaGetLastError(void) {
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    default: return cudaGetErrorName(error);
  }
}

cudaError_t cudaMalloc(void** ptr, size_t size) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaMalloc")) return cudaErrorStreamCaptureUnsupported;
  return allocate(ptr, size, false, "cudaMalloc");
}

cudaError_t cudaFree(void* ptr) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaFree")) return cudaErrorStreamCaptureUnsupported;
  return release(ptr, false, "cudaFree");
}

cudaError_t cudaMallocHost(void** ptr, size_t size) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaMallocHost")) return cudaErrorStreamCaptureUnsupported;
  return allocate(ptr, size, true, "cudaMallocHost");
}

cudaError_t cudaFreeHost(void* ptr) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaFreeHost")) return cudaErrorStreamCaptureUnsupported;
  return release(ptr, true, "cudaFreeHost");
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (!free || !total) return fail(cudaErrorInvalidValue, "cudaMemGetInfo", "null pointer");
  *total = state().total_bytes;
  *free = state().total_bytes - state().device_bytes;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaMemcpy")) return cudaErrorStreamCaptureUnsupported;
  if (const cudaError_t e = check_copy("cudaMemcpy", dst, src, count, kind)) return e;
  if (count) std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (const cudaError_t e = check_copy("cudaMemcpyAsync", dst, src, count, kind)) {
    if (stream_of(stream)->capturing) stream_of(stream)->invalidated = true;
    return e;
  }
  enqueue(stream, [dst, src, count] {
    if (count) std::memmove(dst, src, count);
  });
  return cudaSuccess;
}

cudaError_t cudaMemset(void* ptr, int value, size_t count) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaMemset")) return cudaErrorStreamCaptureUnsupported;
  if (count && !find_allocation(ptr, count))
    return fail(cudaErrorInvalidValue, "cudaMemset", "range is not inside one allocation");
  if (count) std::memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (count && !find_allocation(ptr, count))
    return fail(cudaErrorInvalidValue, "cudaMemsetAsync", "range is not inside one allocation");
  enqueue(stream, [ptr, value, count] {
    if (count) std::memset(ptr, value, count);
  });
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  if (!stream) return fail(cudaErrorInvalidValue, "cudaStreamCreate", "null pointer");
  *stream = new CUstream_st();
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (!stream) return fail(cudaErrorInvalidResourceHandle, "cudaStreamDestroy", "null stream");
  if (stream->capturing) return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamDestroy", "stream is capturing");
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (stream_of(stream)->capturing) {
    stream_of(stream)->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamSynchronize", "the stream is being captured");
  }
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (!stream) return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamBeginCapture", "the legacy stream cannot capture");
  if (stream->capturing) return fail(cudaErrorInvalidValue, "cudaStreamBeginCapture", "already capturing");
  stream->capturing = true;
  stream->invalidated = false;
  stream->ops.clear();
  state().capturing.push_back(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (!stream || !stream->capturing) return fail(cudaErrorInvalidValue, "cudaStreamEndCapture", "not capturing");
  stream->capturing = false;
  auto& cap = state().capturing;
  for (auto it = cap.begin(); it != cap.end(); ++it)
    if (*it == stream) {
      cap.erase(it);
      break;
    }
  if (graph) *graph = nullptr;
  if (stream->invalidated) {
    stream->ops.clear();
    return fail(cudaErrorStreamCaptureInvalidated, "cudaStreamEndCapture", "the capture was invalidated");
  }
  if (!graph) return fail(cudaErrorInvalidValue, "cudaStreamEndCapture", "null graph pointer");
  *graph = new CUgraph_st{std::move(stream->ops)};
  stream->ops.clear();
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph) return fail(cudaErrorInvalidValue, "cudaGraphInstantiate", "null argument");
  *exec = new CUgraphExec_st{graph->ops};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (!exec) return fail(cudaErrorInvalidResourceHandle, "cudaGraphLaunch", "null graph");
  enqueue(stream, [exec] {
    for (const auto& op : exec->ops) op();
  });
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  if (!event) return fail(cudaErrorInvalidValue, "cudaEventCreate", "null pointer");
  *event = new CUevent_st();
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (!event) return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord", "null event");
  enqueue(stream, [event] {
    event->ms = now_ms();
    event->recorded = true;
  });
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (!event) return fail(cudaErrorInvalidResourceHandle, "cudaEventSynchronize", "null event");
  if (refuse_during_capture("cudaEventSynchronize")) return cudaErrorStreamCaptureUnsupported;
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms || !start || !end) return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime", "null argument");
  if (!start->recorded || !end->recorded)
    return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime", "event not recorded");
  *ms = static_cast<float>(end->ms - start->ms);
  return cudaSuccess;
}

}  // extern "C"
