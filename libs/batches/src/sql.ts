import { EntityManager } from 'typeorm';

/** Rows of an UPDATE ... RETURNING (TypeORM answers UPDATE and DELETE as [rows, rowCount]). */
export async function updateReturning<T>(
  m: Pick<EntityManager, 'query'>,
  sql: string,
  params: unknown[],
): Promise<T[]> {
  const result: unknown = await m.query(sql, params);
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}
