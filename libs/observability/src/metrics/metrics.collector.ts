import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';
import { GpuMetrics } from '../gpu/gpu-metrics';
import { EngineMetrics } from './engine-metrics';
import { MetricsModuleOptions, ResolvedMetricsSettings } from './metrics.settings';
import { ObservedEngine } from './observed-engine';
import { Tracing } from '../tracing/tracing';
import { Metrics } from './metrics';

/** Polls the engine and the GPUs into their series; also refreshed right before each scrape. */
export class MetricsCollector implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private readonly gpuMetrics: GpuMetrics | null;
  private timer: NodeJS.Timeout | null = null;
  /** Every observed engine (the primary one, then MODELS_FILE's), each with its model_name label. */
  private readonly engines: { engine: ObservedEngine; metrics: EngineMetrics; restore: () => void }[] = [];

  constructor(
    settings: ResolvedMetricsSettings,
    private readonly options: MetricsModuleOptions,
    engine: ObservedEngine | null,
    private readonly tracing?: Tracing,
    private readonly metrics?: Metrics,
  ) {
    // prom-client's process_* and nodejs_* metrics, once per process.
    if (!register.getSingleMetric('process_resident_memory_bytes')) collectDefaultMetrics();
    if (engine)
      this.observeEngine(engine, settings.modelName, options.engineProvider ?? settings.engineProvider);
    this.gpuMetrics = options.gpuStats ? new GpuMetrics(options.gpuStats) : null;
  }

  onModuleInit(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.options.pollIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Observes a served model's engine: its series carry `model_name`; every stream it runs is observed. */
  observeEngine(engine: ObservedEngine, modelName: string, provider: string): void {
    const metrics = new EngineMetrics(
      engine,
      { modelName, provider, blockSize: this.options.engineBlockSize ?? 16 },
      this.tracing,
    );
    this.engines.push({ engine, metrics, restore: metrics.instrument() });
  }

  /**
   * Stops observing an engine taken out of service (call before closing it: its last counts are
   * read). `stillServed`: another engine now serves its model_name, whose series it leaves alone;
   * otherwise the model's gauges go to 0 (llm_engine_up among them).
   */
  unobserveEngine(engine: ObservedEngine, stillServed: boolean): void {
    const i = this.engines.findIndex((e) => e.engine === engine);
    if (i < 0) return;
    const [e] = this.engines.splice(i, 1);
    e.metrics.refresh();
    if (stillServed) {
      // The new engine's reading, not the old one's, stays in the shared gauges.
      for (const other of this.engines) other.metrics.refresh();
    } else e.metrics.markDown();
    e.restore();
  }

  refresh(): void {
    this.metrics?.refresh();
    for (const e of this.engines) e.metrics.refresh();
    const gpuError = this.gpuMetrics?.refresh();
    if (gpuError) this.logger.warn(`GPU metrics disabled: ${gpuError.message}`);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A last reading: llm_engine_up goes to 0 once the engine is closed.
    for (const e of this.engines) {
      e.metrics.refresh();
      e.restore();
    }
  }
}
