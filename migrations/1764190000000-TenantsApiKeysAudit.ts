import { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants, their API keys (hash only) and the admin audit log. */
export class TenantsApiKeysAudit1764190000000 implements MigrationInterface {
  name = 'TenantsApiKeysAudit1764190000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(200) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT tenants_name_key UNIQUE (name)
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        prefix varchar(32) NOT NULL,
        secret_hash char(64) NOT NULL,
        name varchar(200) NOT NULL,
        scopes text[] NOT NULL DEFAULT '{}',
        expires_at timestamptz NULL,
        revoked_at timestamptz NULL,
        last_used_at timestamptz NULL,
        rotated_from_id uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT api_keys_prefix_key UNIQUE (prefix)
      )`);
    await q.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at)`);
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor varchar(200) NOT NULL,
        actor_role varchar(32) NOT NULL,
        action varchar(64) NOT NULL,
        target_type varchar(32) NOT NULL,
        target_id varchar(64) NULL,
        tenant_id uuid NULL,
        details jsonb NOT NULL DEFAULT '{}',
        request_id varchar(128) NULL
      )`);
    await q.query(`CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at)`);
    await q.query(`CREATE INDEX audit_log_at_idx ON audit_log (at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE audit_log');
    await q.query('DROP TABLE api_keys');
    await q.query('DROP TABLE tenants');
  }
}
