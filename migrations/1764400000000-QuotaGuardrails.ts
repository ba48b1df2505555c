import { MigrationInterface, QueryRunner } from 'typeorm';

/** Guardrails in tenant and key policies (NULL = inherit: the key's tenant, the tenant's default). */
export class QuotaGuardrails1764400000000 implements MigrationInterface {
  name = 'QuotaGuardrails1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE quota_policies
      ADD COLUMN pii_input text NULL CHECK (pii_input IN ('off', 'redact', 'block')),
      ADD COLUMN pii_output text NULL CHECK (pii_output IN ('off', 'redact')),
      ADD COLUMN prompt_injection text NULL CHECK (prompt_injection IN ('off', 'block')),
      ADD COLUMN blocked_terms text[] NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE quota_policies
      DROP COLUMN pii_input, DROP COLUMN pii_output, DROP COLUMN prompt_injection, DROP COLUMN blocked_terms`);
  }
}
