import { ParsedArgs, stringFlag, UsageError } from '../args';
import { adminRequest } from './admin-client';

export const QUOTA_HELP = `usage: llm-inference quota get --tenant ID [--key KEY_ID]
       llm-inference quota set --tenant ID [--key KEY_ID] [--requests-per-minute N]
           [--tokens-per-minute N] [--user-tokens-per-minute N] [--user-daily-token-budget N]
           [--user-monthly-token-budget N] [--require-user true|false]
           [--max-concurrent N] [--daily-token-budget N]
           [--monthly-token-budget N] [--max-tokens-cap N] [--allowed-lanes L[,L...]]
           [--default-lane L] [--allowed-models M[,M...]] [--pii-input off|redact|block]
           [--pii-output off|redact] [--prompt-injection off|block] [--blocked-terms T[,T...]]
       A value of "inherit" clears the field (the tenant's value for a key, the default for a
       tenant); fields not given keep their stored value.`;

/** Policy fields: the flag and the admin API's name, numbers or comma-separated lists. */
const FIELDS: { flag: string; field: string; kind: 'int' | 'list' | 'text' | 'bool' }[] = [
  { flag: 'requests-per-minute', field: 'requests_per_minute', kind: 'int' },
  { flag: 'tokens-per-minute', field: 'tokens_per_minute', kind: 'int' },
  { flag: 'user-tokens-per-minute', field: 'user_tokens_per_minute', kind: 'int' },
  { flag: 'user-daily-token-budget', field: 'user_daily_token_budget', kind: 'int' },
  { flag: 'user-monthly-token-budget', field: 'user_monthly_token_budget', kind: 'int' },
  { flag: 'require-user', field: 'require_user', kind: 'bool' },
  { flag: 'max-concurrent', field: 'max_concurrent', kind: 'int' },
  { flag: 'daily-token-budget', field: 'daily_token_budget', kind: 'int' },
  { flag: 'monthly-token-budget', field: 'monthly_token_budget', kind: 'int' },
  { flag: 'max-tokens-cap', field: 'max_tokens_cap', kind: 'int' },
  { flag: 'allowed-lanes', field: 'allowed_lanes', kind: 'list' },
  { flag: 'default-lane', field: 'default_lane', kind: 'text' },
  { flag: 'allowed-models', field: 'allowed_models', kind: 'list' },
  { flag: 'pii-input', field: 'pii_input', kind: 'text' },
  { flag: 'pii-output', field: 'pii_output', kind: 'text' },
  { flag: 'prompt-injection', field: 'prompt_injection', kind: 'text' },
  { flag: 'blocked-terms', field: 'blocked_terms', kind: 'list' },
];

/** The changes asked for on the command line (null = inherit); a bad number is a usage error. */
export function policyChanges(args: ParsedArgs): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const { flag, field, kind } of FIELDS) {
    const v = stringFlag(args, flag);
    if (v === undefined) continue;
    if (v === 'inherit') changes[field] = null;
    else if (kind === 'int') {
      if (!/^\d+$/.test(v))
        throw new UsageError(`--${flag} must be a whole number or "inherit" (got "${v}")`);
      changes[field] = Number(v);
    } else if (kind === 'bool') {
      if (v !== 'true' && v !== 'false')
        throw new UsageError(`--${flag} must be true, false or "inherit" (got "${v}")`);
      changes[field] = v === 'true';
    } else if (kind === 'list')
      changes[field] = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else changes[field] = v;
  }
  return changes;
}

/**
 * `quota get` / `quota set` for a tenant or one of its keys (GET/PUT /admin/tenants/:id[/keys/:key]/quota).
 * `set` changes only the fields given: it reads the stored policy and writes it back with them.
 */
export async function quotaCommand(args: ParsedArgs): Promise<unknown> {
  const action = args.positional[1];
  if (action !== 'get' && action !== 'set') throw new UsageError(QUOTA_HELP);
  const tenant = stringFlag(args, 'tenant', true)!;
  const key = stringFlag(args, 'key');
  const path = `/admin/tenants/${tenant}${key ? `/keys/${key}` : ''}/quota`;
  if (action === 'get') return adminRequest(args, 'GET', path);
  const changes = policyChanges(args);
  if (Object.keys(changes).length === 0) throw new UsageError(`quota set: no field to change\n${QUOTA_HELP}`);
  const current = (await adminRequest(args, 'GET', path)) as { policy: Record<string, unknown> };
  return adminRequest(args, 'PUT', path, { ...current.policy, ...changes });
}
