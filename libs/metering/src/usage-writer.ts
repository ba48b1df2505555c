import { DataSource } from 'typeorm';
import { UsageEventRecord } from './usage-event';

/** The summed columns of both daily rollups (usage_daily, usage_daily_users). */
export const ROLLUP_SUMS = [
  'requests',
  'completed',
  'aborted',
  'errored',
  'rejected',
  'prompt_tokens',
  'cached_tokens',
  'completion_tokens',
] as const;

/**
 * Two CTEs that add the inserted rows (`ins`) to a daily rollup keyed by day, tenant_id and `keys`:
 * `<name>_agg` sums them, `<name>` upserts (rows in key order, so concurrent writers lock alike).
 */
function rollup(name: string, table: string, keys: string[], where = ''): string {
  const dims = ['tenant_id', ...keys];
  return `${name}_agg AS (
  SELECT (started_at AT TIME ZONE 'UTC')::date AS day, ${dims.join(', ')},
         count(*) AS requests,
         count(*) FILTER (WHERE status = 'completed') AS completed,
         count(*) FILTER (WHERE status = 'aborted') AS aborted,
         count(*) FILTER (WHERE status = 'error') AS errored,
         count(*) FILTER (WHERE status = 'rejected') AS rejected,
         sum(prompt_tokens) AS prompt_tokens, sum(cached_tokens) AS cached_tokens,
         sum(completion_tokens) AS completion_tokens
    FROM ins ${where} GROUP BY ${dims.map((_d, i) => i + 1).join(', ')}, ${dims.length + 1}
), ${name} AS (
  INSERT INTO ${table} AS d (day, ${dims.join(', ')}, ${ROLLUP_SUMS.join(', ')})
  SELECT * FROM ${name}_agg ORDER BY tenant_id, day, ${keys.join(', ')}
  ON CONFLICT (tenant_id, day, ${keys.join(', ')}) DO UPDATE SET
    ${ROLLUP_SUMS.map((c) => `${c} = d.${c} + EXCLUDED.${c}`).join(',\n    ')}
  RETURNING 1
)`;
}

/**
 * One statement (so one transaction): insert the events, skipping request ids already stored,
 * and add exactly the rows actually inserted to the daily rollups (per key, model, lane and kind; and
 * per end user and kind for requests that named one). Replaying a batch therefore never double counts.
 */
const INSERT_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::varchar[], $2::uuid[], $3::uuid[], $4::varchar[], $5::varchar[], $6::int[],
                       $7::int[], $8::int[], $9::varchar[], $10::int[], $11::int[], $12::timestamptz[],
                       $13::timestamptz[], $14::varchar[], $15::varchar[])
    AS t(request_id, tenant_id, api_key_id, model, lane, prompt_tokens, cached_tokens, completion_tokens,
         status, ttft_ms, duration_ms, started_at, ended_at, end_user, kind)
), ins AS (
  INSERT INTO usage_events (request_id, tenant_id, api_key_id, model, lane, prompt_tokens, cached_tokens,
                            completion_tokens, status, ttft_ms, duration_ms, started_at, ended_at, end_user, kind)
  SELECT DISTINCT ON (request_id) * FROM input ORDER BY request_id
  ON CONFLICT (request_id) DO NOTHING
  RETURNING *
), ${rollup('up', 'usage_daily', ['api_key_id', 'model', 'lane', 'kind'])},
${rollup('user_up', 'usage_daily_users', ['end_user', 'kind'], 'WHERE end_user IS NOT NULL')}
SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM up)::int AS rollups,
       (SELECT count(*) FROM user_up)::int AS user_rollups`;

export class UsageWriter {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes the events; returns how many were new (the rest were already stored). */
  async write(events: UsageEventRecord[]): Promise<number> {
    if (events.length === 0) return 0;
    const col = <K extends keyof UsageEventRecord>(k: K) => events.map((e) => e[k]);
    const rows: { inserted: number }[] = await this.dataSource.query(INSERT_SQL, [
      col('requestId'),
      col('tenantId'),
      col('apiKeyId'),
      col('model'),
      col('lane'),
      col('promptTokens'),
      col('cachedTokens'),
      col('completionTokens'),
      col('status'),
      col('ttftMs'),
      col('durationMs'),
      col('startedAt'),
      col('endedAt'),
      col('endUser'),
      col('kind'),
    ]);
    return Number(rows[0]?.inserted ?? 0);
  }
}
