import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { FastifyInstance } from 'fastify';
import { APP_CONFIG, AppConfig } from '@app/common';
import { installHttpMetrics } from './metrics/http-metrics';
import { Metrics } from './metrics/metrics';
import { MetricsCollector } from './metrics/metrics.collector';
import { MetricsController } from './metrics/metrics.controller';
import {
  METRICS_OPTIONS,
  METRICS_SETTINGS,
  MetricsModuleOptions,
  metricsSettingsFrom,
  ResolvedMetricsSettings,
} from './metrics/metrics.settings';
import { ObservedEngine } from './metrics/observed-engine';
import { installHttpTracing } from './tracing/http-tracing';
import { Tracing } from './tracing/tracing';
import { TracingInterceptor } from './tracing/tracing.interceptor';

const ENGINE = Symbol('OBSERVED_ENGINE');
const HTTP_HOOKS = Symbol('OBSERVABILITY_HTTP_HOOKS');

/**
 * GET /metrics (docs/metrics.md), HTTP series from Fastify hooks, engine and GPU series, the
 * `Metrics` facade for lanes/quotas/metering/tenants and `Tracing` (OpenTelemetry when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set). Global: libraries inject `Metrics`/`Tracing` with
 * @Optional() and work without this module.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(options: MetricsModuleOptions = {}): DynamicModule {
    const engineProvider: Provider = options.engineToken
      ? {
          provide: ENGINE,
          inject: [{ token: options.engineToken, optional: true }],
          useFactory: (engine?: ObservedEngine) => engine ?? null,
        }
      : { provide: ENGINE, useValue: null };
    return {
      module: MetricsModule,
      imports: [
        PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: false } }),
      ],
      providers: [
        { provide: METRICS_OPTIONS, useValue: options },
        {
          provide: METRICS_SETTINGS,
          inject: [APP_CONFIG],
          useFactory: (c: AppConfig) => metricsSettingsFrom(c),
        },
        {
          provide: Metrics,
          inject: [METRICS_SETTINGS, Tracing],
          useFactory: (s: ResolvedMetricsSettings, t: Tracing) =>
            new Metrics({ tenantLabels: s.tenantLabels }, t),
        },
        {
          provide: Tracing,
          inject: [METRICS_SETTINGS],
          useFactory: (s: ResolvedMetricsSettings) => new Tracing(s.otlpEndpoint, s.serviceName),
        },
        engineProvider,
        {
          // Only when tracing is on: any global interceptor puts every request through Nest's
          // rxjs pipeline (defer/mergeAll/lastValueFrom, ~4 % of a short request's CPU). A null
          // global interceptor is skipped by Nest.
          provide: APP_INTERCEPTOR,
          inject: [Tracing],
          useFactory: (t: Tracing) => (t.enabled ? new TracingInterceptor(t) : null),
        },
        {
          provide: MetricsCollector,
          inject: [METRICS_SETTINGS, METRICS_OPTIONS, ENGINE, Tracing, Metrics],
          useFactory: (
            s: ResolvedMetricsSettings,
            o: MetricsModuleOptions,
            e: ObservedEngine | null,
            t: Tracing,
            m: Metrics,
          ) => new MetricsCollector(s, o, e, t, m),
        },
        {
          // Fastify hooks must exist before Nest registers the routes (app.init()).
          provide: HTTP_HOOKS,
          inject: [HttpAdapterHost, Tracing],
          useFactory: (host: HttpAdapterHost, tracing: Tracing) => {
            const fastify = host.httpAdapter?.getInstance<FastifyInstance>();
            if (!fastify) return false;
            installHttpMetrics(fastify);
            installHttpTracing(fastify, tracing);
            return true;
          },
        },
      ],
      // METRICS_SETTINGS and MetricsCollector: for MetricsController, which lives in PrometheusModule.
      exports: [Metrics, Tracing, METRICS_SETTINGS, MetricsCollector],
    };
  }
}
