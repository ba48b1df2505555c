import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Quota policies: one row per tenant (api_key_id NULL) and optional per-key overrides.
 * A NULL limit means "inherit" (tenant row: the configured default; key row: the tenant's).
 */
export class QuotaPolicies1764200000000 implements MigrationInterface {
  name = 'QuotaPolicies1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE quota_policies (
        id bigserial PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        api_key_id uuid NULL REFERENCES api_keys(id) ON DELETE CASCADE,
        requests_per_minute integer NULL CHECK (requests_per_minute >= 1),
        tokens_per_minute integer NULL CHECK (tokens_per_minute >= 1),
        max_concurrent integer NULL CHECK (max_concurrent >= 1),
        daily_token_budget bigint NULL CHECK (daily_token_budget >= 0),
        monthly_token_budget bigint NULL CHECK (monthly_token_budget >= 0),
        max_tokens_cap integer NULL CHECK (max_tokens_cap >= 1),
        allowed_lanes text[] NULL,
        default_lane varchar(16) NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by varchar(200) NULL
      )`);
    await q.query(
      `CREATE UNIQUE INDEX quota_policies_scope_key ON quota_policies (tenant_id, api_key_id) NULLS NOT DISTINCT`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE quota_policies');
  }
}
