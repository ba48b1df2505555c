import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'pino';
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
const active = Symbol('inFlight');
type Timed = FastifyRequest & { [started]?: bigint; [active]?: boolean };

function finishOnce(request: Timed, tracker: InFlightTracker): void {
  if (!request[active]) return;
  request[active] = false;
  tracker.finish();
}

/**
 * Fastify-level hooks: x-request-id echoed on every response, one JSON log line per request,
 * in-flight counting. (Fastify's own errors - body parsing, size - reach Nest's exception
 * handler and so the OpenAIExceptionFilter.)
 */
export function installHttpHooks(fastify: FastifyInstance, logger: Logger, tracker: InFlightTracker): void {
  // The request line's fields are fixed and none is a redact path, so it skips pino's redaction
  // (13 wildcard paths walked per line: ~9 us of the ~15 us a line costs). String arguments are
  // still masked by the logger's hook.
  const requestLog = logger.child({}, { redact: [] });
  fastify.addHook('onRequest', async (request: Timed, reply: FastifyReply) => {
    request[started] = process.hrtime.bigint();
    request[active] = true;
    tracker.start();
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  fastify.addHook('onResponse', async (request: Timed, reply: FastifyReply) => {
    finishOnce(request, tracker);
    const ms = request[started] ? Number(process.hrtime.bigint() - request[started]) / 1e6 : undefined;
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    requestLog[level]({
      msg: 'request',
      requestId: request.id,
      method: request.method,
      url: request.url.split('?')[0],
      statusCode: reply.statusCode,
      durationMs: ms === undefined ? undefined : Math.round(ms * 100) / 100,
    });
  });
  fastify.addHook('onRequestAbort', async (request: Timed) => {
    // onResponse may not run for requests the client aborted.
    finishOnce(request, tracker);
  });
}
