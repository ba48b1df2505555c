import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'pino';
import { toOpenAIError } from '../errors/to-openai-error';
import { REQUEST_ID_HEADER } from './request-id';

/** Counts requests in flight, so a shutdown can wait for them. */
export class InFlightTracker {
  private count = 0;
  private waiters: (() => void)[] = [];

  get inFlight(): number {
    return this.count;
  }
  start(): void {
    this.count++;
  }
  finish(): void {
    this.count = Math.max(0, this.count - 1);
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }
  /** Resolves true when idle, false when the timeout passed first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

const started = Symbol('startedAt');
type Timed = FastifyRequest & { [started]?: bigint };

/**
 * Fastify-level hooks: x-request-id echoed on every response, one JSON log line per request,
 * in-flight counting, and OpenAI-shaped errors for failures Nest never sees (body parsing, size).
 */
export function installHttpHooks(fastify: FastifyInstance, logger: Logger, tracker: InFlightTracker): void {
  fastify.addHook('onRequest', async (request: Timed, reply: FastifyReply) => {
    request[started] = process.hrtime.bigint();
    tracker.start();
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  fastify.addHook('onResponse', async (request: Timed, reply: FastifyReply) => {
    tracker.finish();
    const ms = request[started] ? Number(process.hrtime.bigint() - request[started]) / 1e6 : undefined;
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    logger[level]({
      msg: 'request',
      requestId: request.id,
      method: request.method,
      url: request.url.split('?')[0],
      statusCode: reply.statusCode,
      durationMs: ms === undefined ? undefined : Math.round(ms * 100) / 100,
    });
  });
  fastify.addHook('onRequestAbort', async () => {
    // onResponse does not run for aborted requests.
    tracker.finish();
  });
  fastify.setErrorHandler((error, request, reply) => {
    const rendered = toOpenAIError(error);
    if (rendered.internal) logger.error({ err: error, requestId: request.id }, 'unhandled error');
    for (const [name, value] of Object.entries(rendered.headers)) void reply.header(name, value);
    void reply.status(rendered.status).send(rendered.body);
  });
}
