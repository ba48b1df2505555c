import { register } from 'prom-client';
import { parsePromText, sampleSum } from '../metrics/prom-text';
import { GpuMetrics, GpuStat, gpuStatsFromAddon } from './gpu-metrics';

// The mapping from the addon's gpuStats() readings to the llm_gpu_* series.
describe('GpuMetrics', () => {
  const scrape = async () =>
    parsePromText(await register.metrics()).filter((s) => s.name.startsWith('llm_gpu_'));
  let readings: GpuStat[] = [];
  const gpu = new GpuMetrics(() => readings);

  it('no devices: no series at all (never zeros)', async () => {
    readings = [];
    expect(gpu.refresh()).toBeNull();
    expect(await scrape()).toEqual([]);
  });

  it('maps NVML readings; values NVML could not read stay absent', async () => {
    readings = [
      {
        index: 0,
        name: 'H100',
        utilizationPercent: 37,
        memoryUsedBytes: 5e9,
        memoryTotalBytes: 80e9,
        temperatureCelsius: 41,
        powerWatts: 123.5,
        eccCorrected: 2,
        eccUncorrected: 0,
      },
      { index: 1, name: 'no-ecc', memoryUsedBytes: 1, memoryTotalBytes: 2 },
    ];
    gpu.refresh();
    const s = await scrape();
    expect(sampleSum(s, 'llm_gpu_utilization_ratio', { gpu: '0' })).toBeCloseTo(0.37);
    expect(sampleSum(s, 'llm_gpu_memory_used_bytes', { gpu: '0' })).toBe(5e9);
    expect(sampleSum(s, 'llm_gpu_memory_total_bytes', { gpu: '0' })).toBe(80e9);
    expect(sampleSum(s, 'llm_gpu_temperature_celsius', { gpu: '0' })).toBe(41);
    expect(sampleSum(s, 'llm_gpu_power_watts', { gpu: '0' })).toBe(123.5);
    expect(sampleSum(s, 'llm_gpu_ecc_errors_total', { gpu: '0', type: 'corrected' })).toBe(2);
    expect(sampleSum(s, 'llm_gpu_ecc_errors_total', { gpu: '0', type: 'uncorrected' })).toBe(0);
    expect(sampleSum(s, 'llm_gpu_memory_total_bytes', { gpu: '1' })).toBe(2);
    expect(sampleSum(s, 'llm_gpu_utilization_ratio', { gpu: '1' })).toBeUndefined();
    expect(sampleSum(s, 'llm_gpu_ecc_errors_total', { gpu: '1' })).toBeUndefined();
  });

  it('the ECC counter follows NVML totals and a value that disappears is removed', async () => {
    readings = [{ index: 0, name: 'H100', memoryUsedBytes: 6e9, memoryTotalBytes: 80e9, eccCorrected: 5 }];
    gpu.refresh();
    const s = await scrape();
    expect(sampleSum(s, 'llm_gpu_ecc_errors_total', { gpu: '0', type: 'corrected' })).toBe(5);
    expect(sampleSum(s, 'llm_gpu_utilization_ratio', { gpu: '0' })).toBeUndefined();
    expect(sampleSum(s, 'llm_gpu_memory_used_bytes', { gpu: '0' })).toBe(6e9);
    expect(s.filter((x) => x.labels.gpu === '1')).toEqual([]);
  });

  it('a failing source reports its error once and turns the GPU series off', () => {
    const broken = new GpuMetrics(gpuStatsFromAddon(() => ({})));
    expect(broken.refresh()?.message).toMatch(/no gpuStats\(\)/);
    expect(broken.refresh()).toBeNull();
  });
});
