import type { Span, Tracer } from '@opentelemetry/api';

export interface OtelRuntime {
  tracer: Tracer;
  api: typeof import('@opentelemetry/api');
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The OTLP/HTTP traces URL for a base endpoint (as OTEL_EXPORTER_OTLP_ENDPOINT means it). */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Loads the OpenTelemetry SDK (only when tracing is enabled: nothing is required otherwise) and
 * starts a tracer provider exporting over OTLP/HTTP JSON in batches.
 */
export function startOtel(endpoint: string, serviceName: string): OtelRuntime {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { NodeTracerProvider } =
    require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } =
    require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const exporter = new OTLPTraceExporter({ url: tracesUrl(endpoint) });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  });
  return {
    api,
    tracer: provider.getTracer('llm-inference'),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

export type { Span };
