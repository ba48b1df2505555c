// Seeds for requests that give no sampling seed. std::random_device is costly to construct on
// every request (libstdc++ probes the CPU with CPUID, a VM exit under a hypervisor: ~20 us on
// the JS thread inside engine.add()), so the process draws one entropy seed once and hands out
// splitmix64 of a shared counter: distinct per call, unpredictable across processes, lock-free.
#pragma once

#include <cstdint>

namespace llm {

uint64_t next_request_seed();

}  // namespace llm
