import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usage events (one per request, request id primary key: exactly-once) and the daily rollup
 * incremented in the same statement from the rows actually inserted. No foreign keys: billing
 * data outlives deleted tenants and keys.
 */
export class UsageEvents1764200100000 implements MigrationInterface {
  name = 'UsageEvents1764200100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_events (
        request_id varchar(128) PRIMARY KEY,
        tenant_id uuid NOT NULL,
        api_key_id uuid NOT NULL,
        model varchar(200) NOT NULL,
        lane varchar(16) NOT NULL,
        prompt_tokens integer NOT NULL DEFAULT 0,
        cached_tokens integer NOT NULL DEFAULT 0,
        completion_tokens integer NOT NULL DEFAULT 0,
        status varchar(16) NOT NULL CHECK (status IN ('completed', 'aborted', 'error', 'rejected')),
        ttft_ms integer NULL,
        duration_ms integer NOT NULL DEFAULT 0,
        started_at timestamptz NOT NULL,
        ended_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX usage_events_tenant_started_idx ON usage_events (tenant_id, started_at)`);
    await q.query(`CREATE INDEX usage_events_started_idx ON usage_events (started_at)`);
    await q.query(`
      CREATE TABLE usage_daily (
        day date NOT NULL,
        tenant_id uuid NOT NULL,
        api_key_id uuid NOT NULL,
        model varchar(200) NOT NULL,
        lane varchar(16) NOT NULL,
        requests bigint NOT NULL DEFAULT 0,
        completed bigint NOT NULL DEFAULT 0,
        aborted bigint NOT NULL DEFAULT 0,
        errored bigint NOT NULL DEFAULT 0,
        rejected bigint NOT NULL DEFAULT 0,
        prompt_tokens bigint NOT NULL DEFAULT 0,
        cached_tokens bigint NOT NULL DEFAULT 0,
        completion_tokens bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, day, api_key_id, model, lane)
      )`);
    await q.query(`CREATE INDEX usage_daily_day_idx ON usage_daily (day)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE usage_daily');
    await q.query('DROP TABLE usage_events');
  }
}
