import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenAI's Responses API: responses created with store: true, each with the conversation it
 * answered (its chain's earlier turns, then its input), so `previous_response_id` continues it on
 * any replica. JSON text, not jsonb: generated text may hold U+0000, which jsonb refuses.
 */
export class Responses1765000000000 implements MigrationInterface {
  name = 'Responses1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE responses (
        id varchar(64) PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        api_key_id uuid NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NULL,
        context text NOT NULL,
        response text NOT NULL
      )`);
    await q.query(`CREATE INDEX responses_tenant_idx ON responses (tenant_id, created_at)`);
    await q.query(
      `CREATE INDEX responses_expires_idx ON responses (expires_at) WHERE expires_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE responses`);
  }
}
