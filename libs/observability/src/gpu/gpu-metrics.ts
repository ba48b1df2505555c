import { Gauge } from 'prom-client';
import { counter, gauge } from '../metrics/metric-catalog';

/** One device as the addon's gpuStats() reports it (NVML, loaded at run time). */
export interface GpuStat {
  index: number;
  name: string;
  /** 0..100 (NVML percent), or absent when NVML could not read it. */
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  temperatureCelsius?: number;
  powerWatts?: number;
  eccCorrected?: number;
  eccUncorrected?: number;
}

/** Where GPU readings come from: the native addon's gpuStats() ([] without NVML or GPU). */
export type GpuStatsSource = () => GpuStat[];

/**
 * llm_gpu_* series. A device's series exist only once NVML reported it, and each one only when
 * NVML could read that value: a CPU host has none of them, never zeros.
 */
export class GpuMetrics {
  private readonly utilization = gauge({
    name: 'llm_gpu_utilization_ratio',
    help: 'NVML GPU utilization, 0..1.',
    labelNames: ['gpu'],
  });
  private readonly memoryUsed = gauge({
    name: 'llm_gpu_memory_used_bytes',
    help: 'NVML device memory used.',
    labelNames: ['gpu'],
  });
  private readonly memoryTotal = gauge({
    name: 'llm_gpu_memory_total_bytes',
    help: 'NVML device memory total.',
    labelNames: ['gpu'],
  });
  private readonly temperature = gauge({
    name: 'llm_gpu_temperature_celsius',
    help: 'NVML GPU core temperature.',
    labelNames: ['gpu'],
  });
  private readonly power = gauge({
    name: 'llm_gpu_power_watts',
    help: 'NVML power draw.',
    labelNames: ['gpu'],
  });
  private readonly ecc = counter({
    name: 'llm_gpu_ecc_errors_total',
    help: 'NVML volatile ECC errors since driver load, by type; absent where ECC is unsupported.',
    labelNames: ['gpu', 'type'],
  });
  private readonly eccSeen = new Map<string, number>();
  private known = new Set<string>();
  private failed = false;

  constructor(private readonly source: GpuStatsSource) {}

  /** Reads the devices; a failing source turns the GPU series off (logged once by the caller). */
  refresh(): Error | null {
    if (this.failed) return null;
    let devices: GpuStat[];
    try {
      devices = this.source();
    } catch (err) {
      this.failed = true;
      return err instanceof Error ? err : new Error(String(err));
    }
    const seen = new Set<string>();
    for (const d of devices) {
      const gpu = String(d.index);
      seen.add(gpu);
      const set = (g: Gauge<'gpu'>, v: number | undefined): void => {
        if (v === undefined || !Number.isFinite(v)) g.remove({ gpu });
        else g.set({ gpu }, v);
      };
      set(this.utilization, d.utilizationPercent === undefined ? undefined : d.utilizationPercent / 100);
      set(this.memoryUsed, d.memoryUsedBytes);
      set(this.memoryTotal, d.memoryTotalBytes);
      set(this.temperature, d.temperatureCelsius);
      set(this.power, d.powerWatts);
      this.eccCount(gpu, 'corrected', d.eccCorrected);
      this.eccCount(gpu, 'uncorrected', d.eccUncorrected);
    }
    // A device NVML no longer reports (e.g. fallen off the bus): its series go away.
    for (const gpu of this.known) {
      if (seen.has(gpu)) continue;
      for (const g of [this.utilization, this.memoryUsed, this.memoryTotal, this.temperature, this.power])
        g.remove({ gpu });
      for (const type of ['corrected', 'uncorrected'] as const) {
        this.ecc.remove({ gpu, type });
        this.eccSeen.delete(`${gpu}/${type}`);
      }
    }
    this.known = seen;
    return null;
  }

  /** NVML reports a running total; the counter follows it (and restarts with the driver). */
  private eccCount(gpu: string, type: 'corrected' | 'uncorrected', total: number | undefined): void {
    if (total === undefined || !Number.isFinite(total)) return;
    const key = `${gpu}/${type}`;
    const prev = this.eccSeen.get(key);
    this.eccSeen.set(key, total);
    const delta = prev === undefined ? total : total >= prev ? total - prev : total;
    this.ecc.inc({ gpu, type }, delta);
  }
}

/**
 * The GPU source over the native addon: `load` returns the addon (e.g. @app/engine's loadAddon).
 * Throws (which turns the GPU series off, logged once) when the addon cannot load or predates
 * gpuStats().
 */
export function gpuStatsFromAddon(load: () => unknown): GpuStatsSource {
  return () => {
    const addon = load() as { gpuStats?: () => GpuStat[] };
    if (typeof addon.gpuStats !== 'function')
      throw new Error('the native addon has no gpuStats() (rebuild it: npm run build:native)');
    return addon.gpuStats();
  };
}
