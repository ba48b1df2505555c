import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The end user of each request (OpenAI's `user`, as the client sent it) on its usage event, and a
 * daily rollup per tenant and end user, incremented in the same statement as usage_daily (reports
 * by user, per-user budgets). Requests without a `user` are not in the per-user rollup.
 */
export class UsageEndUser1764600000000 implements MigrationInterface {
  name = 'UsageEndUser1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_events ADD COLUMN end_user varchar(256) NULL`);
    await q.query(`
      CREATE TABLE usage_daily_users (
        day date NOT NULL,
        tenant_id uuid NOT NULL,
        end_user varchar(256) NOT NULL,
        requests bigint NOT NULL DEFAULT 0,
        completed bigint NOT NULL DEFAULT 0,
        aborted bigint NOT NULL DEFAULT 0,
        errored bigint NOT NULL DEFAULT 0,
        rejected bigint NOT NULL DEFAULT 0,
        prompt_tokens bigint NOT NULL DEFAULT 0,
        cached_tokens bigint NOT NULL DEFAULT 0,
        completion_tokens bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, day, end_user)
      )`);
    await q.query(`CREATE INDEX usage_daily_users_day_idx ON usage_daily_users (day)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE usage_daily_users');
    await q.query('ALTER TABLE usage_events DROP COLUMN end_user');
  }
}
