import { ApiError } from '@app/common';

export type UsageGroup = 'day' | 'model' | 'key' | 'lane' | 'user' | 'kind';
export const USAGE_GROUPS: readonly UsageGroup[] = ['day', 'model', 'key', 'lane', 'user', 'kind'];
export type UsageFormat = 'json' | 'csv';

export interface UsageQuery {
  /** Inclusive UTC days, YYYY-MM-DD. */
  from: string;
  to: string;
  groupBy: UsageGroup[];
  format: UsageFormat;
  tenantId?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_RANGE_DAYS = 3660;

function single(value: unknown, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw ApiError.badRequest(`${name} must be given once.`, name);
  return value;
}

function parseDay(value: string | undefined, name: string, fallback: string): string {
  const text = value ?? fallback;
  const day = DAY.test(text) ? text : /^\d{4}-\d{2}-\d{2}T/.test(text) ? text.slice(0, 10) : '';
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (!day || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) {
    throw ApiError.badRequest(`${name} must be a date like 2025-01-31 (got "${text}").`, name);
  }
  return day;
}

/**
 * Parses the report parameters: from/to (inclusive UTC days; default: this month so far),
 * group_by (comma-separated day, model, key, lane, user, kind; default day; user only with day
 * and kind: the per-user rollup has no model, key or lane), format (json|csv).
 */
export function parseUsageQuery(
  q: Record<string, unknown>,
  opts: { allowTenant: boolean },
  now = new Date(),
): UsageQuery {
  const today = now.toISOString().slice(0, 10);
  const from = parseDay(single(q.from, 'from'), 'from', `${today.slice(0, 7)}-01`);
  const to = parseDay(single(q.to, 'to'), 'to', today);
  if (from > to) throw ApiError.badRequest('from must not be after to.', 'from');
  if ((Date.parse(to) - Date.parse(from)) / 86_400_000 > MAX_RANGE_DAYS)
    throw ApiError.badRequest(`The range may span at most ${MAX_RANGE_DAYS} days.`, 'to');
  const groupText = single(q.group_by, 'group_by') ?? 'day';
  const groupBy: UsageGroup[] = [];
  for (const part of groupText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(USAGE_GROUPS as readonly string[]).includes(part))
      throw ApiError.badRequest(
        `group_by must be a comma-separated list of ${USAGE_GROUPS.join(', ')} (got "${part}").`,
        'group_by',
      );
    if (!groupBy.includes(part as UsageGroup)) groupBy.push(part as UsageGroup);
  }
  if (groupBy.includes('user') && groupBy.some((g) => g !== 'user' && g !== 'day' && g !== 'kind'))
    throw ApiError.badRequest(
      'group_by user combines with day and kind only (usage per end user is kept per day and kind, not per model, key or lane).',
      'group_by',
    );
  const format = single(q.format, 'format') ?? 'json';
  if (format !== 'json' && format !== 'csv')
    throw ApiError.badRequest('format must be json or csv.', 'format');
  const query: UsageQuery = { from, to, groupBy: USAGE_GROUPS.filter((g) => groupBy.includes(g)), format };
  const tenant = single(q.tenant_id, 'tenant_id');
  if (tenant !== undefined) {
    if (!opts.allowTenant) throw ApiError.badRequest('tenant_id is not accepted here.', 'tenant_id');
    if (!UUID.test(tenant)) throw ApiError.badRequest('tenant_id must be a uuid.', 'tenant_id');
    query.tenantId = tenant.toLowerCase();
  }
  return query;
}
