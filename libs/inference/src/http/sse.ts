import { FastifyReply } from 'fastify';

/** Server-sent events over Fastify's raw response (hijacked: Nest and Fastify stay out of it). */
export class SseWriter {
  private closed = false;

  constructor(
    private readonly reply: FastifyReply,
    headers: Record<string, string>,
  ) {
    reply.hijack();
    const raw = reply.raw;
    const set: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) set[k] = String(v);
    raw.writeHead(200, {
      ...set,
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(reply.request.id),
    });
    raw.on('close', () => (this.closed = true));
  }

  get isClosed(): boolean {
    return this.closed || this.reply.raw.destroyed;
  }

  data(payload: unknown): void {
    if (this.isClosed) return;
    this.reply.raw.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** A named event (`event:` line), as the Responses API streams them. */
  event(name: string, payload: unknown): void {
    if (this.isClosed) return;
    this.reply.raw.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
  }

  /** Ends the stream; chat and completions streams end with `data: [DONE]`, Responses ones do not. */
  end(done = true): void {
    if (this.isClosed) return;
    this.reply.raw.end(done ? 'data: [DONE]\n\n' : undefined);
    this.closed = true;
  }
}

/** Calls `onGone` when the client disconnects before the response is complete. */
export function onClientGone(reply: FastifyReply, onGone: () => void): void {
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) onGone();
  });
}
