import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError, APP_CONFIG, AppConfig } from '@app/common';
import {
  applyOverrides,
  defaultPolicy,
  EffectivePolicy,
  ResolvedPolicy,
  resolvePolicy,
} from './effective-policy';
import { QuotaPolicyRepository } from './quota-policy.repository';

/** How long a resolved policy is cached (a PUT on another replica is visible after this). */
export const POLICY_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  policy: ResolvedPolicy;
  fetchedAt: number;
}

/**
 * Resolves the policy of (tenant, key): config defaults ← tenant row ← key overrides. Cached
 * briefly; concurrent misses share one query. When Postgres is unreachable a stale entry is served
 * for as long as the key itself is (API_KEY_STALE_IF_ERROR_MS after its last successful lookup);
 * past that, or with nothing cached, the request gets a retryable 503, never a 500.
 */
@Injectable()
export class PolicyResolver {
  private readonly logger = new Logger(PolicyResolver.name);
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ResolvedPolicy>>();
  private readonly staleIfErrorMs: number;
  private staleWarnedAt = 0;
  readonly defaults: EffectivePolicy;

  constructor(
    private readonly repository: QuotaPolicyRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.defaults = defaultPolicy(config);
    this.staleIfErrorMs = config.apiKeyStaleIfErrorMs;
  }

  async resolve(tenantId: string, apiKeyId: string): Promise<ResolvedPolicy> {
    const cacheKey = `${tenantId}:${apiKeyId}`;
    const cached = this.cache.get(cacheKey);
    if (cached && Date.now() - cached.fetchedAt < POLICY_CACHE_TTL_MS) return cached.policy;
    let pending = this.inflight.get(cacheKey);
    if (!pending) {
      pending = this.fetch(tenantId, apiKeyId).finally(() => this.inflight.delete(cacheKey));
      this.inflight.set(cacheKey, pending);
    }
    try {
      const policy = await pending;
      if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(cacheKey, { policy, fetchedAt: Date.now() });
      return policy;
    } catch (err) {
      const now = Date.now();
      if (cached && now - cached.fetchedAt < this.staleIfErrorMs) {
        if (now - this.staleWarnedAt >= 10_000) {
          this.staleWarnedAt = now;
          this.logger.warn(`quota policy lookup failed, serving cached policies: ${(err as Error).message}`);
        }
        return cached.policy;
      }
      this.logger.error(`quota policy lookup failed: ${(err as Error).message}`);
      throw ApiError.unavailable(
        'Quota policies cannot be read right now (the database is unreachable). Retry shortly.',
        'service_unavailable',
        { 'retry-after': '5' },
      );
    }
  }

  /** The tenant-level policy (defaults ← tenant row). */
  async tenantPolicy(tenantId: string): Promise<EffectivePolicy> {
    const rows = await this.repository.load(tenantId, null);
    return applyOverrides(this.defaults, rows.tenant);
  }

  /** Forget cached policies of a tenant (after a change in this process). */
  invalidate(tenantId: string): void {
    for (const key of this.cache.keys()) if (key.startsWith(`${tenantId}:`)) this.cache.delete(key);
  }

  private async fetch(tenantId: string, apiKeyId: string): Promise<ResolvedPolicy> {
    const rows = await this.repository.load(tenantId, apiKeyId);
    return resolvePolicy(tenantId, apiKeyId, applyOverrides(this.defaults, rows.tenant), rows.key);
  }
}
