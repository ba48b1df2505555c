import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { OtelRuntime, Span, startOtel } from './otel';

export type SpanAttributes = Record<string, string | number | boolean>;

/** A started span; end() is idempotent. A no-op when tracing is off. */
export interface SpanHandle {
  setAttributes(attributes: SpanAttributes): void;
  end(error?: unknown): void;
}

const NOOP: SpanHandle = { setAttributes: () => undefined, end: () => undefined };

/** Standard span names: one trace per HTTP request, with these children. */
export const SPAN = {
  auth: 'auth',
  quota: 'quota.reserve',
  laneWait: 'lane.wait',
  prefill: 'engine.prefill',
  decode: 'engine.decode',
  metering: 'metering.record',
} as const;

/**
 * OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set: one trace per HTTP request
 * (the root span is opened by the HTTP hook and keyed by the request id, x-request-id), and
 * child spans that any library opens with that request id. Every method is a cheap no-op when
 * tracing is off, and never throws.
 */
export class Tracing implements OnApplicationShutdown {
  private readonly logger = new Logger('Tracing');
  private readonly otel: OtelRuntime | null;
  private readonly roots = new Map<string, { span: Span; startMs: number }>();
  /** The request whose handler is running (set by TracingInterceptor). */
  private readonly current = new AsyncLocalStorage<string>();
  /** Other ids (e.g. an engine request id) that belong to an HTTP request's trace. */
  private readonly aliases = new Map<string, string>();

  constructor(endpoint: string | null, serviceName = 'llm-inference') {
    this.otel = endpoint ? startOtel(endpoint, serviceName) : null;
    if (this.otel) this.logger.log(`exporting traces to ${endpoint}`);
  }

  get enabled(): boolean {
    return this.otel !== null;
  }

  /** Opens the root span of a request (the HTTP hook does this). */
  startRequest(requestId: string, name: string, attributes: SpanAttributes = {}): SpanHandle {
    if (!this.otel) return NOOP;
    const startMs = Date.now();
    const span = this.otel.tracer.startSpan(name, {
      kind: this.otel.api.SpanKind.SERVER,
      attributes,
      startTime: startMs,
    });
    this.roots.set(requestId, { span, startMs });
    return this.handle(span, () => {
      this.roots.delete(requestId);
      for (const [alias, id] of this.aliases) if (id === requestId) this.aliases.delete(alias);
    });
  }

  /** When the request's root span started (epoch ms); undefined when unknown or tracing is off. */
  requestStartedAt(requestId: string): number | undefined {
    return this.roots.get(requestId)?.startMs;
  }

  /** Runs fn with `requestId` as the current request: spans opened without an id join its trace. */
  runInRequest<T>(requestId: string, fn: () => T): T {
    return this.current.run(requestId, fn);
  }

  /** The request of the current async context (inside a handler), if any. */
  currentRequestId(): string | undefined {
    return this.current.getStore();
  }

  /** Makes `otherId` (e.g. the engine request id) part of request `requestId`'s trace. */
  link(otherId: string, requestId: string): void {
    if (this.otel && otherId !== requestId) this.aliases.set(otherId, requestId);
  }

  /** Starts a child span of the request's trace (a root of its own when the request is unknown). */
  startSpan(
    requestId: string | undefined,
    name: string,
    attributes: SpanAttributes = {},
    startMs?: number,
  ): SpanHandle {
    if (!this.otel) return NOOP;
    return this.handle(this.child(requestId, name, attributes, startMs));
  }

  /** Runs fn inside a child span; the span records fn's error, which is rethrown. */
  async span<T>(requestId: string | undefined, name: string, fn: () => Promise<T> | T): Promise<T> {
    const handle = this.startSpan(requestId, name);
    try {
      const result = await fn();
      handle.end();
      return result;
    } catch (err) {
      handle.end(err);
      throw err;
    }
  }

  /** Records a span that already happened (epoch milliseconds), e.g. the engine's prefill. */
  recordSpan(
    requestId: string | undefined,
    name: string,
    startMs: number,
    endMs: number,
    attributes: SpanAttributes = {},
  ): void {
    if (!this.otel || !(startMs > 0) || !(endMs >= startMs)) return;
    try {
      this.child(requestId, name, attributes, startMs).end(endMs);
    } catch {
      // tracing never breaks a request
    }
  }

  /** Exports everything buffered (tests, shutdown). */
  async flush(): Promise<void> {
    await this.otel?.flush();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.otel?.shutdown().catch(() => undefined);
  }

  private child(
    requestId: string | undefined,
    name: string,
    attributes: SpanAttributes,
    startMs?: number,
  ): Span {
    const otel = this.otel!;
    const root = this.rootOf(requestId) ?? this.rootOf(this.current.getStore());
    const ctx = root ? otel.api.trace.setSpan(otel.api.context.active(), root) : otel.api.context.active();
    return otel.tracer.startSpan(name, { attributes, startTime: startMs }, ctx);
  }

  /**
   * The root span of a request id, of an id linked to one, or of `<request id>-<n>` (the engine
   * request ids of the inference path: one per choice).
   */
  private rootOf(id: string | undefined): Span | undefined {
    if (id === undefined) return undefined;
    const direct = this.roots.get(this.aliases.get(id) ?? id);
    if (direct) return direct.span;
    const m = /^(.*)-\d+$/.exec(id);
    return m ? this.roots.get(m[1])?.span : undefined;
  }

  private handle(span: Span, onEnd?: () => void): SpanHandle {
    let ended = false;
    const api = this.otel!.api;
    return {
      setAttributes: (attributes) => {
        if (!ended) span.setAttributes(attributes);
      },
      end: (error?: unknown) => {
        if (ended) return;
        ended = true;
        if (error !== undefined) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({
            code: api.SpanStatusCode.ERROR,
            message: error instanceof Error ? error.message : String(error),
          });
        }
        span.end();
        onEnd?.();
      },
    };
  }
}
