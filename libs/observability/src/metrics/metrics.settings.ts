import { InjectionToken } from '@nestjs/common';
import { AppConfig } from '@app/common';
import { basename } from 'node:path';
import { GpuStatsSource } from '../gpu/gpu-metrics';

export interface MetricsModuleOptions {
  /** DI token of the EngineProvider to observe (e.g. ENGINE_PROVIDER); optional at run time. */
  engineToken?: InjectionToken;
  /** `llm_engine_up{provider}`: native or remote. Default: ENGINE_PROVIDER, else 'native'. */
  engineProvider?: string;
  /** KV block size of the engine in tokens. Default 16 (the native engine's default). */
  engineBlockSize?: number;
  /** GPU readings (the addon's gpuStats()); without it there are no GPU series. */
  gpuStats?: GpuStatsSource;
  /** How often engine and GPU readings refresh between scrapes. Default 1000 ms. */
  pollIntervalMs?: number;
}

export interface ResolvedMetricsSettings {
  bearerToken: string | null;
  tenantLabels: boolean;
  modelName: string;
  otlpEndpoint: string | null;
  serviceName: string;
  /** ENGINE_PROVIDER (native | remote). */
  engineProvider: string;
}

export const METRICS_SETTINGS = Symbol('METRICS_SETTINGS');
export const METRICS_OPTIONS = Symbol('METRICS_OPTIONS');

/** METRICS_BEARER_TOKEN, METRICS_TENANT_LABELS, OTEL_* from the validated configuration. */
export function metricsSettingsFrom(config: AppConfig): ResolvedMetricsSettings {
  const raw = config.raw;
  const str = (name: string): string | null => {
    const v = raw[name];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
  };
  return {
    bearerToken: str('METRICS_BEARER_TOKEN'),
    tenantLabels: raw.METRICS_TENANT_LABELS !== false,
    modelName: config.modelName ?? (config.modelPath ? basename(config.modelPath) : 'unknown'),
    otlpEndpoint: str('OTEL_EXPORTER_OTLP_ENDPOINT'),
    serviceName: str('OTEL_SERVICE_NAME') ?? 'llm-inference',
    engineProvider: str('ENGINE_PROVIDER') ?? 'native',
  };
}
