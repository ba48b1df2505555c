import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { SPAN, Tracing } from './tracing';

/**
 * Runs each HTTP handler inside its request's trace context (AsyncLocalStorage), so spans that
 * libraries open without a request id (quota, lane wait, engine, metering) join that trace; and
 * records the `auth` span: from the request's arrival to the end of its guards (API key,
 * request rate), which Nest runs before interceptors.
 */
@Injectable()
export class TracingInterceptor implements NestInterceptor {
  constructor(private readonly tracing: Tracing) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.tracing.enabled || context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<{ id?: unknown }>();
    const requestId = request?.id === undefined ? undefined : String(request.id);
    if (requestId === undefined) return next.handle();
    const started = this.tracing.requestStartedAt(requestId);
    if (started !== undefined) this.tracing.recordSpan(requestId, SPAN.auth, started, Date.now());
    return new Observable((subscriber) =>
      this.tracing.runInRequest(requestId, () => next.handle().subscribe(subscriber)),
    );
  }
}
