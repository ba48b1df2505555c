import { ApiError } from '@app/common';

/**
 * A page of a response's input items as OpenAI lists them: ?limit (1-100, default 20),
 * ?order (desc, the default, or asc), ?after (an item id: the page starts after it).
 */
export function itemsPage<T extends { id: string }>(items: T[], query: Record<string, unknown>) {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw ApiError.badRequest('limit must be an integer from 1 to 100.', 'limit');
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    throw ApiError.badRequest("order must be 'asc' or 'desc'.", 'order');
  const ordered = order === 'asc' ? items : [...items].reverse();
  let start = 0;
  if (typeof query.after === 'string' && query.after !== '') {
    start = ordered.findIndex((i) => i.id === query.after) + 1;
    if (start === 0) throw ApiError.badRequest(`No input item with id '${query.after}'.`, 'after');
  }
  const data = ordered.slice(start, start + limit);
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: start + limit < ordered.length,
  };
}
