import { Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

/** Rows of an UPDATE or DELETE ... RETURNING (TypeORM answers those as [rows, rowCount]). */
export async function updateReturning<T>(m: Queryable, sql: string, params: unknown[]): Promise<T[]> {
  const result: unknown = await m.query(sql, params);
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}

/**
 * Deletes the rows of `table` (alias `t`) matching `where`, `chunk` rows per statement so no
 * transaction holds many locks; returns how many were deleted.
 */
export async function deleteInChunks(
  m: Queryable,
  spec: { table: string; key: string; where: string; params?: unknown[]; chunk: number },
): Promise<number> {
  const { table, key, where, params = [], chunk } = spec;
  let total = 0;
  for (;;) {
    const rows: { n: number }[] = await m.query(
      `WITH gone AS (
         DELETE FROM ${table} WHERE ${key} IN (SELECT t.${key} FROM ${table} t WHERE ${where} LIMIT ${chunk})
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      params,
    );
    const n = Number(rows[0]?.n ?? 0);
    total += n;
    if (n < chunk) return total;
  }
}

/**
 * A retention job: `prune` a minute after start, then every `everyMs` (timers that do not hold
 * the process); a failure is a warning "<what> failed: ...", never thrown. Returns its stop.
 */
export function schedulePrune(
  prune: () => Promise<unknown>,
  everyMs: number,
  logger: Pick<Logger, 'warn'>,
  what: string,
): () => void {
  const run = () => prune().catch((err: Error) => logger.warn(`${what} failed: ${err.message}`));
  const every = setInterval(run, everyMs);
  every.unref();
  const first = setTimeout(run, 60_000);
  first.unref();
  return () => {
    clearInterval(every);
    clearTimeout(first);
  };
}
