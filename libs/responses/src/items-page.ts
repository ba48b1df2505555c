import { ApiError, listPage, readListQuery } from '@app/common';

/**
 * A page of a response's input items as OpenAI lists them: ?limit (1-100, default 20),
 * ?order (desc, the default, or asc), ?after (an item id: the page starts after it).
 */
export function itemsPage<T extends { id: string }>(items: T[], query: Record<string, unknown>) {
  const { limit, after } = readListQuery(query, 100);
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    throw ApiError.badRequest("order must be 'asc' or 'desc'.", 'order');
  const ordered = order === 'asc' ? items : [...items].reverse();
  let start = 0;
  if (after !== null) {
    start = ordered.findIndex((i) => i.id === after) + 1;
    if (start === 0) throw ApiError.badRequest(`No input item with id '${after}'.`, 'after');
  }
  return listPage(ordered.slice(start, start + limit + 1), limit);
}
