import { ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { randomUUID } from 'node:crypto';
import { MeteringService } from '@app/metering';
import { Metrics } from '@app/observability';
import { quotaExceeded } from '../quota-errors';
import { ResolvedPolicy } from '../policy/effective-policy';
import { QuotaService } from '../quota.service';
import { formatReset } from '../windows';

/** Names of the two throttlers: the tenant's requests/min and a key's override. */
export const TENANT_THROTTLER = 'tenant';
export const KEY_THROTTLER = 'key';
export const RPM_WINDOW_MS = 60_000;

interface RateRequest {
  apiKey?: { tenantId: string; keyId: string };
  body?: unknown;
  /** x-ratelimit-*-requests of this request (also set on the reply). */
  rateLimitHeaders?: Record<string, string>;
}

interface Reply {
  header?(name: string, value: string): unknown;
}

/**
 * Requests per minute through @nestjs/throttler, per tenant (and per key where a key overrides
 * it), with the limits of the tenant's policy. Must run after ApiKeyGuard:
 * `@UseGuards(ApiKeyGuard, RequestRateGuard)`. Not global (so /metrics, /health are never limited).
 * Sets x-ratelimit-{limit,remaining,reset}-requests; rejects with 429 rate_limit_exceeded +
 * Retry-After and records a `rejected` usage event.
 */
@Injectable()
export class RequestRateGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(QuotaService) private readonly quotas: QuotaService,
    @Optional() @Inject(MeteringService) private readonly metering?: MeteringService,
    @Optional() private readonly metrics?: Metrics,
  ) {
    super(options, storage, reflector);
  }

  /**
   * The tenant's and the key's throttler, with the policy resolved once. Replaces the base
   * class's loop, which looks up five route decorators per throttler (@Throttle, @SkipThrottle:
   * no route under this guard uses them) and allocated ~3 KB per request.
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<RateRequest>();
    const key = req.apiKey;
    if (!key) throw new Error('RequestRateGuard must run after ApiKeyGuard');
    const resolved = await this.quotas.resolvedPolicy(key.tenantId, key.keyId);
    for (const throttler of this.throttlers)
      await this.hit(throttler.name!, req, http.getResponse<Reply>(), key, resolved);
    return true;
  }

  /** One throttler's window: counts the request, sets the headers, refuses past the limit. */
  private async hit(
    throttler: string,
    req: RateRequest,
    reply: Reply,
    key: { tenantId: string; keyId: string },
    resolved: ResolvedPolicy,
  ): Promise<void> {
    const isKey = throttler === KEY_THROTTLER;
    const limit = isKey ? resolved.keyOverrides.requestsPerMinute : resolved.tenant.requestsPerMinute;
    if (limit === null || limit === undefined) return;
    const tracker = isKey ? key.keyId : key.tenantId;
    const record = await this.storageService.increment(
      tracker,
      RPM_WINDOW_MS,
      limit,
      RPM_WINDOW_MS,
      throttler,
    );
    const headers = {
      'x-ratelimit-limit-requests': String(limit),
      'x-ratelimit-remaining-requests': String(Math.max(0, limit - record.totalHits)),
      'x-ratelimit-reset-requests': formatReset(record.timeToExpire * 1000),
    };
    // Report the tighter of the tenant and key windows.
    const previous = req.rateLimitHeaders;
    if (
      !previous ||
      Number(previous['x-ratelimit-remaining-requests']) > Number(headers['x-ratelimit-remaining-requests'])
    ) {
      req.rateLimitHeaders = headers;
      for (const [name, value] of Object.entries(headers)) reply.header?.(name, value);
    }
    if (record.isBlocked) {
      this.recordRejection(req, key);
      const who = isKey ? 'this API key' : 'this organization';
      throw quotaExceeded(
        'rate_limit_exceeded',
        `Rate limit reached for requests per minute (RPM) of ${who}: limit ${limit}. Please try again in ${formatReset(record.timeToBlockExpire * 1000)}.`,
        record.timeToBlockExpire,
        headers,
      );
    }
  }

  private recordRejection(req: RateRequest, key: { tenantId: string; keyId: string }): void {
    this.metrics?.quotaRejected('rpm');
    if (!this.metering) return;
    const body = (req.body ?? {}) as { model?: unknown };
    const now = new Date();
    this.metering.record({
      requestId: `rejected-${randomUUID()}`,
      tenantId: key.tenantId,
      apiKeyId: key.keyId,
      model: typeof body.model === 'string' ? body.model : 'unknown',
      lane: 'standard',
      promptTokens: 0,
      cachedTokens: 0,
      completionTokens: 0,
      status: 'rejected',
      ttftMs: null,
      durationMs: 0,
      startedAt: now,
      endedAt: now,
    });
  }
}

/** The x-ratelimit-*-requests headers RequestRateGuard computed for a request (for SSE writers). */
export function requestRateHeaders(req: unknown): Record<string, string> {
  return { ...((req as RateRequest | undefined)?.rateLimitHeaders ?? {}) };
}
