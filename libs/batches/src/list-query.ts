import { ApiError } from '@app/common';

/** OpenAI's cursor pagination of files and batches: ?limit=&after=<id>, newest first. */
export interface ListQuery {
  limit: number;
  after: string | null;
}

export function readListQuery(
  query: Record<string, unknown>,
  maxLimit: number,
  defaultLimit = 20,
): ListQuery {
  let limit = defaultLimit;
  if (query.limit !== undefined) {
    limit = Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit)
      throw ApiError.badRequest(`limit must be an integer from 1 to ${maxLimit}.`, 'limit');
  }
  const after = typeof query.after === 'string' && query.after !== '' ? query.after : null;
  return { limit, after };
}

/** A page of `limit + 1` rows fetched → OpenAI's list object. */
export function listPage<T extends { id: string }>(rows: T[], limit: number) {
  const data = rows.slice(0, limit);
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: rows.length > limit,
  };
}

/**
 * SQL: rows of a tenant (every tenant when $1 is null: operators' lists) older than the `after`
 * cursor (same created_at: smaller id), newest first. $1 = tenant id or null, $2 = after id or
 * null, $3 = limit + 1; `extraWhere` may use $4 on.
 */
export function pageSql(table: string, columns: string, extraWhere = ''): string {
  return `SELECT ${columns} FROM ${table} t
     WHERE ($1::uuid IS NULL OR t.tenant_id = $1) ${extraWhere}
       AND ($2::varchar IS NULL OR (t.created_at, t.id) <
            (SELECT c.created_at, c.id FROM ${table} c WHERE c.id = $2 AND ($1::uuid IS NULL OR c.tenant_id = $1)))
     ORDER BY t.created_at DESC, t.id DESC
     LIMIT $3`;
}
