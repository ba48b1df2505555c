import { ApiError } from '../errors/openai-error';

/** OpenAI's cursor pagination (files, batches, a response's input items): ?limit=&after=<id>. */
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
