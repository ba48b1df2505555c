import { AppConfig, Lane, LANES } from '@app/common';

/** Guardrail modes, from least to most strict (a key's override can only tighten its tenant's). */
export const PII_INPUT_MODES = ['off', 'redact', 'block'] as const;
export const PII_OUTPUT_MODES = ['off', 'redact'] as const;
export const PROMPT_INJECTION_MODES = ['off', 'block'] as const;
export type PiiInputMode = (typeof PII_INPUT_MODES)[number];
export type PiiOutputMode = (typeof PII_OUTPUT_MODES)[number];
export type PromptInjectionMode = (typeof PROMPT_INJECTION_MODES)[number];

/** The limits that apply to one request of a tenant's key. `null` budget/cap = unlimited. */
export interface EffectivePolicy {
  requestsPerMinute: number;
  tokensPerMinute: number;
  /** Tokens per minute of each end user (the request's `user`); null = no per-user limit. */
  userTokensPerMinute: number | null;
  /** Daily token budget of each end user (UTC days); null = none. */
  userDailyTokenBudget: number | null;
  /** Monthly token budget of each end user (UTC months); null = none. */
  userMonthlyTokenBudget: number | null;
  /** Every request must name its end user (`user`), so that no one escapes the per-user limits. */
  requireUser: boolean;
  maxConcurrent: number;
  dailyTokenBudget: number | null;
  monthlyTokenBudget: number | null;
  maxTokensCap: number | null;
  allowedLanes: Lane[];
  defaultLane: Lane;
  /** Model ids or aliases the caller may name in `model`; null = every served model. */
  allowedModels: string[] | null;
  /** Personal data in requests: passed, replaced by placeholders, or refused. */
  piiInput: PiiInputMode;
  /** Personal data in what the model writes: passed or replaced by placeholders. */
  piiOutput: PiiOutputMode;
  promptInjection: PromptInjectionMode;
  /** Words or phrases a request may not contain. */
  blockedTerms: string[];
}

/** One stored policy row (tenant level or key override). `null`/absent field = inherit. */
export interface PolicyFields {
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
  userTokensPerMinute?: number | null;
  userDailyTokenBudget?: number | null;
  userMonthlyTokenBudget?: number | null;
  requireUser?: boolean | null;
  maxConcurrent?: number | null;
  dailyTokenBudget?: number | null;
  monthlyTokenBudget?: number | null;
  maxTokensCap?: number | null;
  allowedLanes?: Lane[] | null;
  defaultLane?: Lane | null;
  allowedModels?: string[] | null;
  piiInput?: PiiInputMode | null;
  piiOutput?: PiiOutputMode | null;
  promptInjection?: PromptInjectionMode | null;
  blockedTerms?: string[] | null;
}

export const POLICY_FIELDS = [
  'requestsPerMinute',
  'tokensPerMinute',
  'userTokensPerMinute',
  'userDailyTokenBudget',
  'userMonthlyTokenBudget',
  'requireUser',
  'maxConcurrent',
  'dailyTokenBudget',
  'monthlyTokenBudget',
  'maxTokensCap',
  'allowedLanes',
  'defaultLane',
  'allowedModels',
  'piiInput',
  'piiOutput',
  'promptInjection',
  'blockedTerms',
] as const satisfies readonly (keyof PolicyFields)[];

/** The numeric limits that are enforced with counters (tenant-wide and, when overridden, per key). */
export const COUNTED_LIMITS = [
  'requestsPerMinute',
  'tokensPerMinute',
  'maxConcurrent',
  'dailyTokenBudget',
  'monthlyTokenBudget',
] as const;
export type CountedLimit = (typeof COUNTED_LIMITS)[number];

/**
 * The policy of a request in two layers: the tenant's limits (config defaults overridden by the
 * tenant row) apply to the tenant as a whole; a key's overrides add limits on that key's own
 * counters. `effective` is what the caller sees (the tighter of both for counted limits).
 */
export interface ResolvedPolicy {
  tenantId: string;
  apiKeyId: string;
  tenant: EffectivePolicy;
  keyOverrides: PolicyFields;
  effective: EffectivePolicy;
}

const PER_MINUTE: Record<string, number> = { second: 60, minute: 1, hour: 1 / 60, day: 1 / 1440 };

/** RATE_LIMIT ("N" or "N/second|minute|hour|day") as requests per minute (at least 1). */
export function requestsPerMinuteOf(rateLimit: string): number {
  const match = /^(\d+)(?:\/(second|minute|hour|day))?$/.exec(rateLimit.trim());
  if (!match) throw new Error(`RATE_LIMIT must look like "N" or "N/minute" (got "${rateLimit}")`);
  return Math.max(1, Math.ceil(Number(match[1]) * PER_MINUTE[match[2] ?? 'minute']));
}

function optionalInt(config: AppConfig, name: string): number | null {
  const v = config.raw?.[name];
  return typeof v === 'number' ? v : null;
}

function mode<T extends string>(config: AppConfig, name: string, modes: readonly T[]): T {
  const v = config.raw?.[name];
  return modes.includes(v as T) ? (v as T) : modes[0];
}

/** GUARDRAILS_BLOCKED_TERMS: comma-separated, blanks dropped. */
export function blockedTermsOf(list: string): string[] {
  return [
    ...new Set(
      list
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

/** The platform defaults (from the configuration). */
export function defaultPolicy(config: AppConfig): EffectivePolicy {
  return {
    requestsPerMinute: requestsPerMinuteOf(config.rateLimit),
    tokensPerMinute: optionalInt(config, 'QUOTA_TOKENS_PER_MINUTE') ?? 1_000_000,
    userTokensPerMinute: optionalInt(config, 'QUOTA_USER_TOKENS_PER_MINUTE'),
    userDailyTokenBudget: optionalInt(config, 'QUOTA_USER_DAILY_TOKEN_BUDGET'),
    userMonthlyTokenBudget: optionalInt(config, 'QUOTA_USER_MONTHLY_TOKEN_BUDGET'),
    requireUser: false,
    maxConcurrent: optionalInt(config, 'QUOTA_MAX_CONCURRENT') ?? 64,
    dailyTokenBudget: optionalInt(config, 'QUOTA_DAILY_TOKEN_BUDGET'),
    monthlyTokenBudget: optionalInt(config, 'QUOTA_MONTHLY_TOKEN_BUDGET'),
    maxTokensCap: optionalInt(config, 'QUOTA_MAX_TOKENS_CAP'),
    allowedLanes: [...LANES],
    defaultLane: 'standard',
    allowedModels: null,
    piiInput: mode(config, 'GUARDRAILS_PII_INPUT', PII_INPUT_MODES),
    piiOutput: mode(config, 'GUARDRAILS_PII_OUTPUT', PII_OUTPUT_MODES),
    promptInjection: mode(config, 'GUARDRAILS_PROMPT_INJECTION', PROMPT_INJECTION_MODES),
    blockedTerms: blockedTermsOf(String(config.raw?.GUARDRAILS_BLOCKED_TERMS ?? '')),
  };
}

/** `base` with every non-null field of `override` applied. */
export function applyOverrides(base: EffectivePolicy, override: PolicyFields): EffectivePolicy {
  const out: EffectivePolicy = {
    ...base,
    allowedLanes: [...base.allowedLanes],
    allowedModels: base.allowedModels && [...base.allowedModels],
    blockedTerms: [...base.blockedTerms],
  };
  for (const field of POLICY_FIELDS) {
    const value = override[field];
    if (value !== null && value !== undefined) (out as unknown as Record<string, unknown>)[field] = value;
  }
  if (!out.allowedLanes.includes(out.defaultLane)) out.defaultLane = out.allowedLanes[0] ?? out.defaultLane;
  return out;
}

function tighter(a: number | null, b: number | null | undefined): number | null {
  if (b === null || b === undefined) return a;
  if (a === null) return b;
  return Math.min(a, b);
}

/** Both lists apply: the models in both (null = no limit on that level). */
function bothAllow(tenant: string[] | null, key: string[] | null | undefined): string[] | null {
  if (key === null || key === undefined) return tenant;
  return tenant === null ? [...key] : key.filter((m) => tenant.includes(m));
}

/** The stricter of two guardrail modes (`modes` from least to most strict). */
function stricter<T extends string>(modes: readonly T[], tenant: T, key: T | null | undefined): T {
  if (key === null || key === undefined) return tenant;
  return modes.indexOf(key) > modes.indexOf(tenant) ? key : tenant;
}

/**
 * Tenant limits + key overrides: counted limits take the tighter value; cap/lanes the key's;
 * models the ones both allow (a key cannot widen its tenant's list); guardrails the stricter
 * mode and the terms of both.
 */
export function resolvePolicy(
  tenantId: string,
  apiKeyId: string,
  tenant: EffectivePolicy,
  keyOverrides: PolicyFields,
): ResolvedPolicy {
  const effective = applyOverrides(tenant, {
    maxTokensCap: keyOverrides.maxTokensCap,
    allowedLanes: keyOverrides.allowedLanes,
    defaultLane: keyOverrides.defaultLane,
  });
  effective.requestsPerMinute = tighter(tenant.requestsPerMinute, keyOverrides.requestsPerMinute)!;
  effective.tokensPerMinute = tighter(tenant.tokensPerMinute, keyOverrides.tokensPerMinute)!;
  effective.userTokensPerMinute = tighter(tenant.userTokensPerMinute, keyOverrides.userTokensPerMinute);
  effective.userDailyTokenBudget = tighter(tenant.userDailyTokenBudget, keyOverrides.userDailyTokenBudget);
  effective.userMonthlyTokenBudget = tighter(
    tenant.userMonthlyTokenBudget,
    keyOverrides.userMonthlyTokenBudget,
  );
  effective.requireUser = tenant.requireUser || keyOverrides.requireUser === true;
  effective.maxConcurrent = tighter(tenant.maxConcurrent, keyOverrides.maxConcurrent)!;
  effective.dailyTokenBudget = tighter(tenant.dailyTokenBudget, keyOverrides.dailyTokenBudget);
  effective.monthlyTokenBudget = tighter(tenant.monthlyTokenBudget, keyOverrides.monthlyTokenBudget);
  effective.allowedModels = bothAllow(tenant.allowedModels, keyOverrides.allowedModels);
  effective.piiInput = stricter(PII_INPUT_MODES, tenant.piiInput, keyOverrides.piiInput);
  effective.piiOutput = stricter(PII_OUTPUT_MODES, tenant.piiOutput, keyOverrides.piiOutput);
  effective.promptInjection = stricter(
    PROMPT_INJECTION_MODES,
    tenant.promptInjection,
    keyOverrides.promptInjection,
  );
  effective.blockedTerms = [...new Set([...tenant.blockedTerms, ...(keyOverrides.blockedTerms ?? [])])];
  return { tenantId, apiKeyId, tenant, keyOverrides, effective };
}
