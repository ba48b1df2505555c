import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each request was: `generation` (chat and text completions; every earlier event) or
 * `embedding`, on its usage event and as a dimension of the daily rollup per key, model and lane,
 * so that a bill can price embedding tokens apart from generation's.
 */
export class UsageKind1764700000000 implements MigrationInterface {
  name = 'UsageKind1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_events ADD COLUMN kind varchar(16) NOT NULL DEFAULT 'generation'`);
    await q.query(`ALTER TABLE usage_daily ADD COLUMN kind varchar(16) NOT NULL DEFAULT 'generation'`);
    await q.query(`ALTER TABLE usage_daily DROP CONSTRAINT usage_daily_pkey`);
    await q.query(`ALTER TABLE usage_daily ADD PRIMARY KEY (tenant_id, day, api_key_id, model, lane, kind)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The kinds of one key, model, lane and day are added together again.
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
    const keys = 'day, tenant_id, api_key_id, model, lane';
    await q.query(
      `CREATE TEMP TABLE usage_daily_merged AS SELECT ${keys}, ${sums.map((s) => `sum(${s})::bigint AS ${s}`).join(', ')}
         FROM usage_daily GROUP BY ${keys}`,
    );
    await q.query(`DELETE FROM usage_daily`);
    await q.query(`ALTER TABLE usage_daily DROP CONSTRAINT usage_daily_pkey`);
    await q.query(`ALTER TABLE usage_daily DROP COLUMN kind`);
    await q.query(`INSERT INTO usage_daily (${keys}, ${sums.join(', ')}) SELECT * FROM usage_daily_merged`);
    await q.query(`DROP TABLE usage_daily_merged`);
    await q.query(`ALTER TABLE usage_daily ADD PRIMARY KEY (tenant_id, day, api_key_id, model, lane)`);
    await q.query(`ALTER TABLE usage_events DROP COLUMN kind`);
  }
}
