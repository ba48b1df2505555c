import { ApiError, isLane, Lane } from '@app/common';
import {
  EffectivePolicy,
  PII_INPUT_MODES,
  PII_OUTPUT_MODES,
  PolicyFields,
  PROMPT_INJECTION_MODES,
} from './effective-policy';

/** snake_case names of the REST API. */
export const SNAKE: Record<keyof PolicyFields, string> = {
  requestsPerMinute: 'requests_per_minute',
  tokensPerMinute: 'tokens_per_minute',
  userTokensPerMinute: 'user_tokens_per_minute',
  userDailyTokenBudget: 'user_daily_token_budget',
  userMonthlyTokenBudget: 'user_monthly_token_budget',
  requireUser: 'require_user',
  maxConcurrent: 'max_concurrent',
  dailyTokenBudget: 'daily_token_budget',
  monthlyTokenBudget: 'monthly_token_budget',
  maxTokensCap: 'max_tokens_cap',
  allowedLanes: 'allowed_lanes',
  defaultLane: 'default_lane',
  allowedModels: 'allowed_models',
  piiInput: 'pii_input',
  piiOutput: 'pii_output',
  promptInjection: 'prompt_injection',
  blockedTerms: 'blocked_terms',
};

const MODES: { field: 'piiInput' | 'piiOutput' | 'promptInjection'; modes: readonly string[] }[] = [
  { field: 'piiInput', modes: PII_INPUT_MODES },
  { field: 'piiOutput', modes: PII_OUTPUT_MODES },
  { field: 'promptInjection', modes: PROMPT_INJECTION_MODES },
];
const MAX_BLOCKED_TERMS = 500;
const MAX_TERM_LENGTH = 200;

/** A served model id or alias, as MODELS_FILE spells them. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

const INTS: { field: keyof PolicyFields; min: number; max: number }[] = [
  { field: 'requestsPerMinute', min: 1, max: 100_000_000 },
  { field: 'tokensPerMinute', min: 1, max: 2_000_000_000 },
  { field: 'userTokensPerMinute', min: 1, max: 2_000_000_000 },
  { field: 'userDailyTokenBudget', min: 0, max: Number.MAX_SAFE_INTEGER },
  { field: 'userMonthlyTokenBudget', min: 0, max: Number.MAX_SAFE_INTEGER },
  { field: 'maxConcurrent', min: 1, max: 1_000_000 },
  { field: 'dailyTokenBudget', min: 0, max: Number.MAX_SAFE_INTEGER },
  { field: 'monthlyTokenBudget', min: 0, max: Number.MAX_SAFE_INTEGER },
  { field: 'maxTokensCap', min: 1, max: 10_000_000 },
];

/**
 * Parses a PUT body: every field optional, `null` or absent = inherit (the tenant's value for a
 * key override, the configured default for a tenant). Unknown fields are rejected.
 */
export function parsePolicyInput(body: unknown): PolicyFields {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw ApiError.badRequest('The body must be a JSON object of quota fields.');
  const input = body as Record<string, unknown>;
  const known = new Set(Object.values(SNAKE));
  for (const name of Object.keys(input)) {
    if (!known.has(name))
      throw ApiError.badRequest(`Unknown quota field "${name}". Known: ${[...known].join(', ')}.`, name);
  }
  const out: PolicyFields = {};
  for (const { field, min, max } of INTS) {
    const name = SNAKE[field];
    const v = input[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw ApiError.badRequest(
        `${name} must be an integer between ${min} and ${max}, or null to inherit.`,
        name,
      );
    (out as Record<string, number>)[field] = v;
  }
  const lanes = input.allowed_lanes;
  if (lanes !== undefined && lanes !== null) {
    if (!Array.isArray(lanes) || lanes.length === 0 || !lanes.every(isLane))
      throw ApiError.badRequest(
        'allowed_lanes must be a non-empty array of interactive, standard, batch.',
        'allowed_lanes',
      );
    out.allowedLanes = [...new Set(lanes as Lane[])];
  }
  const lane = input.default_lane;
  if (lane !== undefined && lane !== null) {
    if (!isLane(lane))
      throw ApiError.badRequest('default_lane must be interactive, standard or batch.', 'default_lane');
    out.defaultLane = lane;
  }
  const models = input.allowed_models;
  if (models !== undefined && models !== null) {
    if (
      !Array.isArray(models) ||
      models.length === 0 ||
      !models.every((m) => typeof m === 'string' && MODEL_NAME.test(m))
    )
      throw ApiError.badRequest(
        'allowed_models must be a non-empty array of model ids or aliases (1-128 of A-Z a-z 0-9 . _ : / -), or null for every model.',
        'allowed_models',
      );
    out.allowedModels = [...new Set(models as string[])];
  }
  for (const { field, modes } of MODES) {
    const name = SNAKE[field];
    const v = input[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !modes.includes(v))
      throw ApiError.badRequest(`${name} must be one of ${modes.join(', ')}, or null to inherit.`, name);
    (out as Record<string, string>)[field] = v;
  }
  const requireUser = input.require_user;
  if (requireUser !== undefined && requireUser !== null) {
    if (typeof requireUser !== 'boolean')
      throw ApiError.badRequest('require_user must be true, false, or null to inherit.', 'require_user');
    out.requireUser = requireUser;
  }
  const terms = input.blocked_terms;
  if (terms !== undefined && terms !== null) {
    if (
      !Array.isArray(terms) ||
      terms.length > MAX_BLOCKED_TERMS ||
      !terms.every((t) => typeof t === 'string' && t.trim().length > 0 && t.length <= MAX_TERM_LENGTH)
    )
      throw ApiError.badRequest(
        `blocked_terms must be an array of at most ${MAX_BLOCKED_TERMS} non-blank strings of up to ${MAX_TERM_LENGTH} characters, or null to inherit.`,
        'blocked_terms',
      );
    out.blockedTerms = [...new Set((terms as string[]).map((t) => t.trim()))];
  }
  if (out.defaultLane && out.allowedLanes && !out.allowedLanes.includes(out.defaultLane))
    throw ApiError.badRequest('default_lane must be one of allowed_lanes.', 'default_lane');
  return out;
}

/** PolicyFields → snake_case object with every field (null = inherit). */
export function policyFieldsView(f: PolicyFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(SNAKE)) out[name] = f[field as keyof PolicyFields] ?? null;
  return out;
}

export function effectivePolicyView(p: EffectivePolicy): Record<string, unknown> {
  return policyFieldsView(p);
}
