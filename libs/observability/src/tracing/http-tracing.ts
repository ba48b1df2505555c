import { FastifyInstance } from 'fastify';
import { METRICS_PATH, routeLabel } from '../metrics/http-metrics';
import { Tracing } from './tracing';

/** Opens one root span per HTTP request (keyed by its request id), closed when the response ends. */
export function installHttpTracing(fastify: FastifyInstance, tracing: Tracing): void {
  if (!tracing.enabled) return;
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = routeLabel(request);
    if (route === METRICS_PATH) return done();
    const span = tracing.startRequest(String(request.id), `${request.method} ${route}`, {
      'http.request.method': request.method,
      'http.route': route,
      'llm.request_id': String(request.id),
    });
    const end = (): void => {
      const status = reply.raw.statusCode;
      span.setAttributes({ 'http.response.status_code': status });
      span.end(status >= 500 ? new Error(`HTTP ${status}`) : undefined);
    };
    reply.raw.once('close', end);
    done();
  });
}
