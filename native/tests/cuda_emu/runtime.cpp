// CUDA emulator (tests only): the runtime API on the CPU.
// - Device memory: device_memory.h (poisoned, guarded allocations); copies and memsets must stay
//   inside one allocation; a double or foreign cudaFree is an error.
// - Streams run their work at once, in order. Capture records launches, copies, memsets and event
//   records; a graph launch replays them (kernels read their memory at replay, as on a GPU). The
//   calls CUDA refuses while a stream captures (allocation, synchronous copies and memsets,
//   synchronizing the capturing stream or the device) fail with cudaErrorStreamCaptureUnsupported
//   and invalidate the capture, so cudaStreamEndCapture fails as it would on a GPU.
// - Memory size: LLM_CUDA_EMU_MEMORY_MB (default 1024) for cudaMemGetInfo and allocation limits.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "block_runner.h"
#include "device_memory.h"
#include "fault_handler.h"
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

size_t emulated_memory_bytes() {
  const char* env = std::getenv("LLM_CUDA_EMU_MEMORY_MB");
  const long mb = env && *env ? std::atol(env) : 1024;
  return static_cast<size_t>(mb > 0 ? mb : 1024) << 20;
}

struct State {
  std::recursive_mutex mu;
  emu::DeviceMemory memory{emulated_memory_bytes()};
  CUstream_st legacy_stream;
  std::vector<CUstream_st*> capturing;
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

cudaError_t failed(const emu::MemoryError& e, const char* call) {
  return e.code == cudaSuccess ? cudaSuccess : fail(e.code, call, e.why);
}

}  // namespace

namespace emu {

void launch(const char* name, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
            std::function<void()> body) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  emu::install_fault_handler();
  CUstream_st* st = stream_of(stream);
  // CUDA refuses a bad configuration at the launch, also while capturing (which it invalidates).
  const char* refused = shared_bytes != 0 ? "dynamic shared memory is not emulated" : launch_config_error(grid, block);
  if (refused) {
    if (st->capturing) st->invalidated = true;
    fail(cudaErrorInvalidConfiguration, name, refused);
    return;
  }
  auto run = [name, grid, block, body = std::move(body)]() {
    if (const char* why = run_grid(name, grid, block, body)) fail(cudaErrorInvalidConfiguration, name, why);
  };
  if (st->capturing)
    st->ops.push_back(std::move(run));
  else
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
  prop->totalGlobalMem = state().memory.total_bytes();
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
  return failed(state().memory.allocate(ptr, size, false), "cudaMalloc");
}

cudaError_t cudaFree(void* ptr) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaFree")) return cudaErrorStreamCaptureUnsupported;
  return failed(state().memory.release(ptr, false), "cudaFree");
}

cudaError_t cudaMallocHost(void** ptr, size_t size) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaMallocHost")) return cudaErrorStreamCaptureUnsupported;
  return failed(state().memory.allocate(ptr, size, true), "cudaMallocHost");
}

cudaError_t cudaFreeHost(void* ptr) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaFreeHost")) return cudaErrorStreamCaptureUnsupported;
  return failed(state().memory.release(ptr, true), "cudaFreeHost");
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (!free || !total) return fail(cudaErrorInvalidValue, "cudaMemGetInfo", "null pointer");
  *total = state().memory.total_bytes();
  *free = state().memory.total_bytes() - state().memory.device_bytes();
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (refuse_during_capture("cudaMemcpy")) return cudaErrorStreamCaptureUnsupported;
  if (const cudaError_t e = failed(state().memory.check_copy(dst, src, count, kind), "cudaMemcpy")) return e;
  if (count) std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (const cudaError_t e = failed(state().memory.check_copy(dst, src, count, kind), "cudaMemcpyAsync")) {
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
  if (count && !state().memory.device_range(ptr, count))
    return fail(cudaErrorInvalidValue, "cudaMemset", "range is not inside one device allocation");
  if (count) std::memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mu);
  if (count && !state().memory.device_range(ptr, count))
    return fail(cudaErrorInvalidValue, "cudaMemsetAsync", "range is not inside one device allocation");
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
