// NVML loaded at run time: a missing library is "unavailable" with a reason and no devices
// (never fake readings); on a GPU host every device reports its memory.
#include "testing.h"

#include "runtime/nvml.h"

TEST(missing_library_is_unavailable_with_no_devices) {
  llm::Nvml nvml("libnvidia-ml-does-not-exist.so.1");
  EXPECT(!nvml.available());
  EXPECT(nvml.reason().find("cannot load libnvidia-ml-does-not-exist.so.1") != std::string::npos);
  EXPECT(nvml.read().empty());
}

TEST(library_without_nvml_symbols_is_unavailable) {
  llm::Nvml nvml("libm.so.6");
  EXPECT(!nvml.available());
  EXPECT(nvml.reason().find("lacks the NVML entry points") != std::string::npos);
  EXPECT(nvml.read().empty());
}

TEST(shared_instance_reads_every_device_or_none) {
  const llm::Nvml& nvml = llm::Nvml::shared();
  const std::vector<llm::GpuStat> gpus = nvml.read();
  if (!nvml.available()) {
    EXPECT(gpus.empty());
    EXPECT(!nvml.reason().empty());
    SKIP("no NVML here: " + nvml.reason());
  }
  EXPECT(nvml.reason().empty());
  for (size_t i = 0; i < gpus.size(); ++i) {
    const llm::GpuStat& g = gpus[i];
    EXPECT_EQ(g.index, static_cast<unsigned>(i));
    EXPECT(!g.name.empty());
    CHECK(g.memory_total_bytes.has_value() && g.memory_used_bytes.has_value());
    EXPECT(*g.memory_total_bytes > 0);
    EXPECT(*g.memory_used_bytes <= *g.memory_total_bytes);
    if (g.utilization_percent) EXPECT(*g.utilization_percent <= 100);
    if (g.temperature_celsius) EXPECT(*g.temperature_celsius > 0 && *g.temperature_celsius < 130);
    if (g.power_watts) EXPECT(*g.power_watts > 0 && *g.power_watts < 2000);
    std::printf("  gpu %u %s: util %u%% mem %llu/%llu MiB temp %u C power %.1f W\n", g.index, g.name.c_str(),
                g.utilization_percent.value_or(0),
                static_cast<unsigned long long>(*g.memory_used_bytes >> 20),
                static_cast<unsigned long long>(*g.memory_total_bytes >> 20), g.temperature_celsius.value_or(0),
                g.power_watts.value_or(0));
  }
}
