import { FastifyInstance, FastifyRequest } from 'fastify';
import { BUCKETS, counter, gauge, histogram } from './metric-catalog';

export const METRICS_PATH = '/metrics';

/** The matched route template (`/admin/tenants/:id`), never the raw URL; `unmatched` for 404s. */
export function routeLabel(request: FastifyRequest): string {
  const url = request.routeOptions?.url;
  return url ? url : 'unmatched';
}

/**
 * Gateway HTTP series (llm_http_*) from Fastify hooks. The request counts as finished when its
 * raw response closes: this covers hijacked SSE streams (to the last byte) and client aborts.
 * GET /metrics itself is not counted.
 */
export function installHttpMetrics(fastify: FastifyInstance): void {
  const requests = counter({
    name: 'llm_http_requests_total',
    help: 'HTTP requests finished by the gateway (all routes except /metrics).',
    labelNames: ['method', 'route', 'status'],
  });
  const duration = histogram({
    name: 'llm_http_request_duration_seconds',
    help: 'Time from request received to response finished (for SSE: to the last byte).',
    labelNames: ['method', 'route', 'status'],
    buckets: BUCKETS.latency,
  });
  const inFlight = gauge({
    name: 'llm_http_requests_in_flight',
    help: 'HTTP requests being processed right now (streams included until they end).',
    labelNames: ['method', 'route'],
  });

  fastify.addHook('onRequest', (request, reply, done) => {
    const route = routeLabel(request);
    if (route === METRICS_PATH) return done();
    const method = request.method;
    const started = process.hrtime.bigint();
    inFlight.inc({ method, route });
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      inFlight.dec({ method, route });
      // A client that went away before any status was sent: 499, as nginx logs it.
      const status = String(reply.raw.headersSent || reply.raw.writableFinished ? reply.raw.statusCode : 499);
      const labels = { method, route, status };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    reply.raw.once('close', end);
    reply.raw.once('finish', end);
    done();
  });
}
