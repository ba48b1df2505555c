import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { ApiError, Lane } from '@app/common';
import { UsageTotals } from '@app/metering';
import { Metrics } from '@app/observability';
import { EffectivePolicy, ResolvedPolicy } from './policy/effective-policy';
import { PolicyResolver } from './policy/policy-resolver';
import { quotaExceeded } from './quota-errors';
import { QuotaReservation, ReservedCounter, StoreReservation } from './quota-reservation';
import { COUNTER_STORE, CounterSpec, CounterStore, KEY_PREFIX, SlotSpec } from './store/counter-store';
import { dayWindow, formatReset, minuteWindow, monthWindow, retryAfterSeconds } from './windows';

export interface ReserveContext {
  requestId: string;
  tenantId: string;
  apiKeyId: string;
  lane: Lane;
  promptTokens: number;
  maxTokens: number;
  /** The request's end user (OpenAI's `user`), for the per-user limit. */
  endUser?: string;
}

/** A concurrency slot is leased: a replica that dies mid-request frees it after this. */
export const SLOT_LEASE_MS = 15 * 60_000;
const HOUR_MS = 3_600_000;

type Kind = 'tpm' | 'daily' | 'monthly' | 'concurrency';
/** llm_quota_rejections_total's `reason` per limit kind (docs/metrics.md). */
const REJECTION_REASON = {
  tpm: 'tpm',
  daily: 'daily_budget',
  monthly: 'monthly_budget',
  concurrency: 'concurrency',
} as const;
/** The same for an end user's counters (no concurrency slots per user). */
const USER_REJECTION_REASON = {
  tpm: 'user_tpm',
  daily: 'user_daily_budget',
  monthly: 'user_monthly_budget',
  concurrency: 'concurrency',
} as const;

interface Planned {
  kind: Kind;
  scope: 'tenant' | 'key' | 'user';
  limit: number | null;
  resetAtMs: number;
  seedFrom?: () => Promise<number>;
}

/** An end user's counter id: a hash, so that any `user` string (up to 256 characters) makes a short, safe key. */
function endUserKey(user: string): string {
  return createHash('sha256').update(user).digest('base64url').slice(0, 22);
}

function nonNegativeInt(value: unknown, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw ApiError.badRequest(`${name} must be a non-negative integer.`, name);
  return Math.ceil(n);
}

/**
 * Token budgets by reservation: reserve() atomically checks and charges prompt + max_tokens
 * against tokens/min and the daily/monthly budgets (tenant-wide and, where a key overrides a
 * limit, per key) and takes a concurrency slot; the caller later commits the actual total or
 * releases. Concurrent requests can therefore never be granted more than the budget.
 */
@Injectable()
export class QuotaService {
  constructor(
    private readonly policies: PolicyResolver,
    private readonly totals: UsageTotals,
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  get storeKind(): 'memory' | 'redis' {
    return this.store.kind;
  }

  async policyFor(tenantId: string, apiKeyId: string): Promise<EffectivePolicy> {
    return (await this.policies.resolve(tenantId, apiKeyId)).effective;
  }

  resolvedPolicy(tenantId: string, apiKeyId: string): Promise<ResolvedPolicy> {
    return this.policies.resolve(tenantId, apiKeyId);
  }

  async reserve(ctx: ReserveContext): Promise<QuotaReservation> {
    const promptTokens = nonNegativeInt(ctx.promptTokens, 'prompt_tokens');
    const maxTokens = nonNegativeInt(ctx.maxTokens, 'max_tokens');
    const resolved = await this.policies.resolve(ctx.tenantId, ctx.apiKeyId);
    const policy = resolved.effective;
    if (!policy.allowedLanes.includes(ctx.lane)) {
      this.metrics?.quotaRejected('lane_not_allowed');
      throw new ApiError(
        403,
        `The ${ctx.lane} lane is not allowed for this API key (allowed: ${policy.allowedLanes.join(', ')}).`,
        {
          code: 'lane_not_allowed',
          param: 'service_tier',
        },
      );
    }
    if (policy.maxTokensCap !== null && maxTokens > policy.maxTokensCap) {
      this.metrics?.quotaRejected('max_tokens');
      throw ApiError.badRequest(
        `max_tokens is ${maxTokens}, above this key's limit of ${policy.maxTokensCap}.`,
        'max_tokens',
        'max_tokens_too_large',
      );
    }
    const amount = promptTokens + maxTokens;
    const now = Date.now();
    const planned = this.plan(resolved, now, ctx.endUser);
    const counters: CounterSpec[] = [];
    const counterPlans: Planned[] = [];
    const slots: SlotSpec[] = [];
    const slotPlans: Planned[] = [];
    for (const p of planned) {
      const scopeId =
        p.scope === 'tenant'
          ? `t:${ctx.tenantId}`
          : p.scope === 'key'
            ? `k:${ctx.apiKeyId}`
            : `u:${ctx.tenantId}:${endUserKey(ctx.endUser!)}`;
      if (p.kind === 'concurrency') {
        slots.push({
          key: `${KEY_PREFIX}conc:${scopeId}`,
          limit: p.limit!,
          member: ctx.requestId,
          leaseMs: SLOT_LEASE_MS,
        });
        slotPlans.push(p);
        continue;
      }
      const window =
        p.kind === 'tpm' ? minuteWindow(now) : p.kind === 'daily' ? dayWindow(now) : monthWindow(now);
      counters.push({
        key: `${KEY_PREFIX}${p.kind}:${scopeId}:${window.id}`,
        limit: p.limit,
        amount,
        ttlMs: window.endMs - now + (p.kind === 'tpm' ? 60_000 : HOUR_MS),
        seeded: p.seedFrom !== undefined,
      });
      counterPlans.push(p);
    }
    const outcome = await this.reserveWithSeeding(counters, counterPlans, slots, now);
    if (!outcome.ok) {
      const p =
        outcome.index < counters.length
          ? counterPlans[outcome.index]
          : slotPlans[outcome.index - counters.length];
      throw this.rejection(p, amount, outcome.current, now, ctx.endUser);
    }
    const tpmIndex = counterPlans.findIndex((p) => p.kind === 'tpm' && p.scope === 'tenant');
    const remaining =
      tpmIndex >= 0 ? Math.max(0, (counters[tpmIndex].limit ?? 0) - outcome.values[tpmIndex]) : 0;
    const headers = {
      'x-ratelimit-limit-tokens': String(policy.tokensPerMinute),
      'x-ratelimit-remaining-tokens': String(Math.min(remaining, policy.tokensPerMinute)),
      'x-ratelimit-reset-tokens': formatReset(minuteWindow(now).endMs - now),
    };
    const reserved: ReservedCounter[] = counters.map((c) => ({ key: c.key, amount: c.amount }));
    return new StoreReservation(
      this.store,
      ctx.requestId,
      amount,
      reserved,
      slots.map((s) => ({ key: s.key, member: s.member })),
      headers,
    );
  }

  private plan(resolved: ResolvedPolicy, now: number, endUser: string | undefined): Planned[] {
    const out: Planned[] = [];
    const day = dayWindow(now);
    const month = monthWindow(now);
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    // Each end user of the tenant has its own counters (limits: the tighter of tenant and key).
    const { userTokensPerMinute, userDailyTokenBudget, userMonthlyTokenBudget } = resolved.effective;
    if (endUser && userTokensPerMinute !== null)
      out.push({
        kind: 'tpm',
        scope: 'user',
        limit: userTokensPerMinute,
        resetAtMs: minuteWindow(now).endMs,
      });
    if (endUser && userDailyTokenBudget !== null)
      out.push({
        kind: 'daily',
        scope: 'user',
        limit: userDailyTokenBudget,
        resetAtMs: day.endMs,
        seedFrom: () =>
          this.totals.tokensUsedByEndUser(resolved.tenantId, endUser, iso(day.startMs), iso(day.endMs)),
      });
    if (endUser && userMonthlyTokenBudget !== null)
      out.push({
        kind: 'monthly',
        scope: 'user',
        limit: userMonthlyTokenBudget,
        resetAtMs: month.endMs,
        seedFrom: () =>
          this.totals.tokensUsedByEndUser(resolved.tenantId, endUser, iso(month.startMs), iso(month.endMs)),
      });
    const layers: { scope: 'tenant' | 'key'; p: Partial<EffectivePolicy> }[] = [
      { scope: 'tenant', p: resolved.tenant },
      { scope: 'key', p: resolved.keyOverrides as Partial<EffectivePolicy> },
    ];
    for (const { scope, p } of layers) {
      const keyId = scope === 'key' ? resolved.apiKeyId : null;
      if (p.tokensPerMinute != null)
        out.push({ kind: 'tpm', scope, limit: p.tokensPerMinute, resetAtMs: minuteWindow(now).endMs });
      if (p.dailyTokenBudget != null)
        out.push({
          kind: 'daily',
          scope,
          limit: p.dailyTokenBudget,
          resetAtMs: day.endMs,
          seedFrom: () => this.totals.tokensUsed(resolved.tenantId, keyId, iso(day.startMs), iso(day.endMs)),
        });
      if (p.monthlyTokenBudget != null)
        out.push({
          kind: 'monthly',
          scope,
          limit: p.monthlyTokenBudget,
          resetAtMs: month.endMs,
          seedFrom: () =>
            this.totals.tokensUsed(resolved.tenantId, keyId, iso(month.startMs), iso(month.endMs)),
        });
      if (p.maxConcurrent != null)
        out.push({ kind: 'concurrency', scope, limit: p.maxConcurrent, resetAtMs: now + 1000 });
    }
    return out;
  }

  /** Seeded counters (budgets) start from Postgres' rollup, set once (SET NX), then the reservation retries. */
  private async reserveWithSeeding(
    counters: CounterSpec[],
    plans: Planned[],
    slots: SlotSpec[],
    now: number,
  ) {
    for (let attempt = 0; ; attempt++) {
      let outcome;
      try {
        outcome = await this.store.reserve(counters, slots, now);
      } catch (err) {
        throw ApiError.unavailable(
          `Quota store unavailable: ${(err as Error).message}`,
          'quota_store_unavailable',
          {
            'retry-after': '1',
          },
        );
      }
      if (outcome.ok || !('needsSeed' in outcome)) return outcome;
      if (attempt >= 3)
        throw ApiError.unavailable('Quota counters could not be initialised.', 'quota_store_unavailable');
      const i = outcome.needsSeed;
      const used = await plans[i].seedFrom!();
      await this.store.seed(counters[i].key, used, counters[i].ttlMs);
    }
  }

  private rejection(p: Planned, amount: number, current: number, now: number, endUser?: string): ApiError {
    const who =
      p.scope === 'tenant'
        ? 'this organization'
        : p.scope === 'key'
          ? 'this API key'
          : `the end user ${JSON.stringify(endUser)}`;
    const waitMs = p.resetAtMs - now;
    this.metrics?.quotaRejected(
      p.scope === 'user' ? USER_REJECTION_REASON[p.kind] : REJECTION_REASON[p.kind],
    );
    switch (p.kind) {
      case 'tpm': {
        const headers = {
          'x-ratelimit-limit-tokens': String(p.limit),
          'x-ratelimit-remaining-tokens': String(Math.max(0, (p.limit ?? 0) - current)),
          'x-ratelimit-reset-tokens': formatReset(waitMs),
        };
        const never =
          amount > (p.limit ?? 0) ? ' This request alone needs more than the limit; lower max_tokens.' : '';
        return quotaExceeded(
          'rate_limit_exceeded',
          `Rate limit reached for tokens per minute (TPM) of ${who}: limit ${p.limit}, used ${current}, requested ${amount}.${never} Please try again in ${formatReset(waitMs)}.`,
          retryAfterSeconds(waitMs),
          headers,
        );
      }
      case 'daily':
      case 'monthly':
        return quotaExceeded(
          'insufficient_quota',
          `You exceeded the ${p.kind} token budget of ${who}: budget ${p.limit}, used or reserved ${current}, requested ${amount} (prompt + max_tokens).`,
          retryAfterSeconds(waitMs),
        );
      default:
        return quotaExceeded(
          'rate_limit_exceeded',
          `Too many concurrent requests for ${who}: limit ${p.limit}. Please retry when a request finishes.`,
          1,
        );
    }
  }
}
