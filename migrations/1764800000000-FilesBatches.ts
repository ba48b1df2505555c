import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenAI's Files and Batch APIs: uploaded files (their bytes in Postgres, so every replica serves
 * them), batches with the lease of the replica running them, and one result row per input line
 * (written once: a line done before a crash is not run again; deleted when the output file is
 * written). A line's answer is kept as JSON
 * text, not jsonb: generated text may hold U+0000, which jsonb refuses.
 */
export class FilesBatches1764800000000 implements MigrationInterface {
  name = 'FilesBatches1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE files (
        id varchar(64) PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        api_key_id uuid NULL,
        purpose varchar(32) NOT NULL,
        filename varchar(255) NOT NULL,
        bytes integer NOT NULL,
        content bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NULL
      )`);
    await q.query(`CREATE INDEX files_tenant_idx ON files (tenant_id, created_at, id)`);
    await q.query(`CREATE INDEX files_expires_idx ON files (expires_at) WHERE expires_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE batches (
        id varchar(64) PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        api_key_id uuid NOT NULL,
        endpoint varchar(64) NOT NULL,
        input_file_id varchar(64) NOT NULL,
        completion_window varchar(16) NOT NULL,
        status varchar(16) NOT NULL,
        metadata jsonb NULL,
        errors jsonb NULL,
        usage jsonb NULL,
        output_file_id varchar(64) NULL,
        error_file_id varchar(64) NULL,
        total integer NOT NULL DEFAULT 0,
        completed integer NOT NULL DEFAULT 0,
        failed integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        in_progress_at timestamptz NULL,
        finalizing_at timestamptz NULL,
        completed_at timestamptz NULL,
        failed_at timestamptz NULL,
        expired_at timestamptz NULL,
        cancelling_at timestamptz NULL,
        cancelled_at timestamptz NULL,
        lease_owner varchar(64) NULL,
        lease_until timestamptz NULL
      )`);
    await q.query(`CREATE INDEX batches_tenant_idx ON batches (tenant_id, created_at, id)`);
    await q.query(
      `CREATE INDEX batches_open_idx ON batches (created_at) WHERE status IN ('validating', 'in_progress', 'cancelling')`,
    );
    await q.query(`
      CREATE TABLE batch_results (
        batch_id varchar(64) NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        line integer NOT NULL,
        custom_id text NOT NULL,
        status_code integer NULL,
        request_id varchar(128) NULL,
        body text NULL,
        error text NULL,
        PRIMARY KEY (batch_id, line)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE batch_results`);
    await q.query(`DROP TABLE batches`);
    await q.query(`DROP TABLE files`);
  }
}
