import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The usage `kind` (generation | embedding) as a dimension of the per-end-user daily rollup too,
 * so that a bill per end user can price embedding tokens apart, as the per-key one can.
 */
export class UsageUserKind1764900000000 implements MigrationInterface {
  name = 'UsageUserKind1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_daily_users ADD COLUMN kind varchar(16) NOT NULL DEFAULT 'generation'`);
    await q.query(`ALTER TABLE usage_daily_users DROP CONSTRAINT usage_daily_users_pkey`);
    await q.query(`ALTER TABLE usage_daily_users ADD PRIMARY KEY (tenant_id, day, end_user, kind)`);
    // Embedding events still stored (USAGE_RETENTION_DAYS) move out of 'generation' (the UPDATE
    // CTE runs to completion although nothing reads it).
    await q.query(`
      WITH emb AS (
        SELECT (started_at AT TIME ZONE 'UTC')::date AS day, tenant_id, end_user,
               count(*) AS requests,
               count(*) FILTER (WHERE status = 'completed') AS completed,
               count(*) FILTER (WHERE status = 'aborted') AS aborted,
               count(*) FILTER (WHERE status = 'error') AS errored,
               count(*) FILTER (WHERE status = 'rejected') AS rejected,
               sum(prompt_tokens) AS prompt_tokens, sum(cached_tokens) AS cached_tokens,
               sum(completion_tokens) AS completion_tokens
          FROM usage_events WHERE kind = 'embedding' AND end_user IS NOT NULL GROUP BY 1, 2, 3),
      moved AS (
        UPDATE usage_daily_users d SET requests = d.requests - e.requests, completed = d.completed - e.completed,
               aborted = d.aborted - e.aborted, errored = d.errored - e.errored, rejected = d.rejected - e.rejected,
               prompt_tokens = d.prompt_tokens - e.prompt_tokens, cached_tokens = d.cached_tokens - e.cached_tokens,
               completion_tokens = d.completion_tokens - e.completion_tokens
          FROM emb e
         WHERE d.tenant_id = e.tenant_id AND d.day = e.day AND d.end_user = e.end_user AND d.kind = 'generation'
        RETURNING 1)
      INSERT INTO usage_daily_users (day, tenant_id, end_user, kind, requests, completed, aborted, errored, rejected,
                                     prompt_tokens, cached_tokens, completion_tokens)
      SELECT day, tenant_id, end_user, 'embedding', requests, completed, aborted, errored, rejected,
             prompt_tokens, cached_tokens, completion_tokens
        FROM emb`);
    await q.query(`DELETE FROM usage_daily_users WHERE kind = 'generation' AND requests = 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The kinds of one end user and day are added together again.
    const sums = [
      'requests',
      'completed',
      'aborted',
      'errored',
      'rejected',
      'prompt_tokens',
      'cached_tokens',
      'completion_tokens',
    ];
    const keys = 'day, tenant_id, end_user';
    await q.query(
      `CREATE TEMP TABLE usage_daily_users_merged AS SELECT ${keys}, ${sums.map((s) => `sum(${s})::bigint AS ${s}`).join(', ')}
         FROM usage_daily_users GROUP BY ${keys}`,
    );
    await q.query(`DELETE FROM usage_daily_users`);
    await q.query(`ALTER TABLE usage_daily_users DROP CONSTRAINT usage_daily_users_pkey`);
    await q.query(`ALTER TABLE usage_daily_users DROP COLUMN kind`);
    await q.query(
      `INSERT INTO usage_daily_users (${keys}, ${sums.join(', ')}) SELECT * FROM usage_daily_users_merged`,
    );
    await q.query(`DROP TABLE usage_daily_users_merged`);
    await q.query(`ALTER TABLE usage_daily_users ADD PRIMARY KEY (tenant_id, day, end_user)`);
  }
}
